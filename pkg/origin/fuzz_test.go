package origin

import (
	"net"
	"strings"
	"testing"
)

var originSeeds = [][2]string{
	{"https", "github.com"}, {"HTTPS", "GitHub.COM"}, {"https", "github.com:443"}, {"https", "github.com:"},
	{"https", "github.com."}, {"https", "github.com.evil.example"}, {"http", "github.com"},
	{"https", "api.github.com"}, {"https", "github.com:8443"}, {"https", "github.com:0443"},
	{"http", "127.0.0.1:8080"}, {"http", "127.3.4.5"}, {"http", "localhost:80"}, {"http", "LOCALHOST"},
	{"http", "localhost."}, {"http", "127.1"}, {"http", "0x7f.0.0.1"}, {"http", "[::1]:9000"},
	{"https", "[0:0::1]"}, {"http", "[::ffff:127.0.0.1]"}, {"http", "[fe80::1%25eth0]"}, {"https", "[::1"},
	{"https", "[::1]x"}, {"https", "user@github.com"}, {"https", "evil.example/@github.com"},
	{"https", "\u212aelvin.example"}, {"https", "xn--80ak6aa92e.com"}, {"ssh", "github.com"},
	{"http", "10.0.0.1"}, {"http", "[::]"}, {"http", "0.0.0.0"},
}

// FuzzParse checks what git's protocol and host may be: Parse never
// panics, its Origin survives a round trip through String, only
// https://github.com itself is github.com, and plain http is secure
// enough only for this machine.
func FuzzParse(f *testing.F) {
	for _, s := range originSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, scheme, hostport string) {
		o, err := Parse(scheme, hostport)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		checkOrigin(t, o)
		// The host is the one asked for, only lower-cased: nothing that
		// Unicode case folding turns into ASCII (the Kelvin sign) slips in.
		if !strings.HasPrefix(o.Host, "[") {
			h, _, _ := strings.Cut(hostport, ":")
			if asciiLower(h) != o.Host {
				t.Fatalf("Parse(%q, %q) gave host %q, not the one asked for", scheme, hostport, o.Host)
			}
		}
	})
}

// FuzzParseURL does the same for what people type for --host.
func FuzzParseURL(f *testing.F) {
	for _, s := range originSeeds {
		f.Add(s[0] + "://" + s[1] + "/o/r.git")
		f.Add(s[1])
	}
	for _, s := range []string{
		"https://alice@github.com/o/r", "https://github.com@evil.example/", "https://evil.example#@github.com",
		"https://evil.example?@github.com", "https://a:b@[::1]:8443/x", "HTTP://LOCALHOST:9/", "://x", "https://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		checkOrigin(t, o)
	})
}

func checkOrigin(t *testing.T, o Origin) {
	t.Helper()
	again, err := ParseURL(o.String())
	if err != nil || again != o {
		t.Fatalf("%s does not parse back to itself: %+v, %v", o, again, err)
	}
	if again, err := Parse(o.Scheme, o.HostPort()); err != nil || again != o {
		t.Fatalf("Parse(%q, %q) = %+v, %v; want %+v", o.Scheme, o.HostPort(), again, err, o)
	}
	if o.IsGitHub() != (o.String() == "https://github.com") {
		t.Fatalf("%s: IsGitHub = %v", o, o.IsGitHub())
	}
	if o.Scheme != "https" && o.Scheme != "http" {
		t.Fatalf("%s: scheme %q", o, o.Scheme)
	}
	if o.Host != strings.ToLower(o.Host) || o.Host == "" {
		t.Fatalf("%s: host %q is not lower case", o, o.Host)
	}
	if o.Scheme == "http" && o.SecureEnough() && !loopback(o.Host) {
		t.Fatalf("%s: plain http to a host that is not this machine counts as secure enough", o)
	}
	if o.Port != "" && (o.Port == "443" && o.Scheme == "https" || o.Port == "80" && o.Scheme == "http") {
		t.Fatalf("%s: default port kept", o)
	}
}

// loopback is an independent spelling of "this machine": the name
// localhost, 127.0.0.0/8 written as four decimal octets, or [::1].
func loopback(host string) bool {
	if host == "localhost" || host == "[::1]" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.To4()[0] == 127 && strings.Count(host, ".") == 3
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
