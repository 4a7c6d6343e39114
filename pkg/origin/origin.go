// Package origin names the server a credential is for — scheme, host and
// port — in one canonical spelling, so that a token minted for one server
// is never handed to another that merely looks alike.
package origin

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Origin is a normalized scheme://host[:port]. Host is lower case; IPv6
// literals keep their brackets; Port is empty when it is the scheme's default.
type Origin struct {
	Scheme string
	Host   string
	Port   string
}

var defaultPorts = map[string]string{"https": "443", "http": "80"}

// Parse normalizes git's protocol and host attributes (host may carry
// ":port"). It accepts only http and https and rejects anything that is
// not a plain host name or IP literal.
func Parse(scheme, hostport string) (Origin, error) {
	scheme = strings.ToLower(scheme)
	if _, ok := defaultPorts[scheme]; !ok {
		return Origin{}, fmt.Errorf("protocol %q is not http or https", scheme)
	}
	host, port := hostport, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return Origin{}, errors.New("unterminated IPv6 literal")
		}
		if rest := host[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return Origin{}, errors.New("junk after IPv6 literal")
			}
			port = rest[1:]
		}
		ip := net.ParseIP(host[1:end])
		if ip == nil || ip.To4() != nil {
			return Origin{}, errors.New("invalid IPv6 literal")
		}
		host = "[" + ip.String() + "]"
	} else {
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host, port = host[:i], host[i+1:]
		}
		// Checked before lower-casing: Unicode case folding turns some
		// non-ASCII letters (the Kelvin sign) into ASCII ones.
		if !validHostName(host) {
			return Origin{}, fmt.Errorf("invalid host name %q", host)
		}
		host = strings.ToLower(host)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return Origin{}, fmt.Errorf("invalid port %q", port)
		}
		if port == defaultPorts[scheme] {
			port = ""
		}
	}
	return Origin{Scheme: scheme, Host: host, Port: port}, nil
}

// validHostName accepts ASCII letters, digits, '-', '_' and '.' — what DNS names
// and IPv4 literals use — and nothing that could change a URL's meaning.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// String returns scheme://host[:port], the spelling used as a store key
// and for git's URL matching.
func (o Origin) String() string {
	return o.Scheme + "://" + o.HostPort()
}

// HostPort returns host[:port].
func (o Origin) HostPort() string {
	if o.Port == "" {
		return o.Host
	}
	return o.Host + ":" + o.Port
}

// IsLoopback reports whether the host is this machine: localhost,
// 127.0.0.0/8 or ::1.
func (o Origin) IsLoopback() bool {
	if o.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(o.Host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// IsGitHub reports whether o is https://github.com itself.
func (o Origin) IsGitHub() bool {
	return o == Origin{Scheme: "https", Host: "github.com"}
}

// SecureEnough reports whether a token may travel to o: over https, or
// over plain http only to this machine.
func (o Origin) SecureEnough() bool {
	return o.Scheme == "https" || o.IsLoopback()
}

// Endpoints are where a GitHub server takes the device flow and its API.
type Endpoints struct {
	DeviceCode string
	Token      string
	API        string // REST API base, without a trailing slash
	Web        string // the web root, for links shown to people
}

// Endpoints returns github.com's well-known endpoints for github.com, and
// the GitHub Enterprise Server layout (…/login/…, …/api/v3) for any other host.
func (o Origin) Endpoints() Endpoints {
	if o.IsGitHub() {
		return Endpoints{
			DeviceCode: "https://github.com/login/device/code",
			Token:      "https://github.com/login/oauth/access_token",
			API:        "https://api.github.com",
			Web:        "https://github.com",
		}
	}
	web := o.String()
	return Endpoints{
		DeviceCode: web + "/login/device/code",
		Token:      web + "/login/oauth/access_token",
		API:        web + "/api/v3",
		Web:        web,
	}
}

// ParseURL accepts what people type for --host: a URL or a bare host
// (taken as https://HOST). A path is ignored.
func ParseURL(s string) (Origin, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "https", s
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return Parse(scheme, rest)
}
