package origin

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		scheme, host, want string
		loopback           bool
	}{
		{"https", "github.com", "https://github.com", false},
		{"HTTPS", "GitHub.COM", "https://github.com", false},
		{"https", "github.com:443", "https://github.com", false},
		{"https", "github.com:8443", "https://github.com:8443", false},
		{"https", "github.com:", "https://github.com", false},
		{"http", "127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http", "127.3.4.5", "http://127.3.4.5", true},
		{"http", "localhost:80", "http://localhost", true},
		{"http", "[::1]:9000", "http://[::1]:9000", true},
		{"https", "[0:0::1]", "https://[::1]", true},
		{"https", "github.com.", "https://github.com.", false},
		{"https", "10.0.0.1", "https://10.0.0.1", false},
	}
	for _, tt := range tests {
		o, err := Parse(tt.scheme, tt.host)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tt.scheme, tt.host, err)
			continue
		}
		if o.String() != tt.want || o.IsLoopback() != tt.loopback {
			t.Errorf("Parse(%q, %q) = %s loopback=%v, want %s loopback=%v", tt.scheme, tt.host, o, o.IsLoopback(), tt.want, tt.loopback)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range [][2]string{
		{"ssh", "github.com"}, {"https", ""}, {"https", "a b"}, {"https", "evil.com/@github.com"},
		{"https", "github.com:0"}, {"https", "github.com:65536"}, {"https", "github.com:x"},
		{"https", "github.com:0443"}, {"https", "[::1"}, {"https", "[::1]x"}, {"https", "[127.0.0.1]"},
		{"https", "user@github.com"},
	} {
		if o, err := Parse(in[0], in[1]); err == nil {
			t.Errorf("Parse(%q, %q) = %s, want an error", in[0], in[1], o)
		}
	}
}

func TestLookalikesDiffer(t *testing.T) {
	gh, _ := Parse("https", "github.com")
	for _, in := range [][2]string{
		{"http", "github.com"}, {"https", "github.com:8443"}, {"https", "github.com.evil.example"},
		{"https", "api.github.com"}, {"https", "github.com."},
	} {
		o, err := Parse(in[0], in[1])
		if err != nil {
			continue
		}
		if o == gh || o.IsGitHub() {
			t.Errorf("%s://%s is taken for github.com", in[0], in[1])
		}
	}
	if !gh.IsGitHub() {
		t.Error("github.com is not github.com")
	}
}

func TestSecureEnough(t *testing.T) {
	for in, want := range map[[2]string]bool{
		{"https", "example.com"}: true, {"http", "example.com"}: false,
		{"http", "127.0.0.1:1"}: true, {"http", "192.168.1.1"}: false, {"http", "localhost"}: true,
	} {
		o, _ := Parse(in[0], in[1])
		if o.SecureEnough() != want {
			t.Errorf("%s SecureEnough = %v", o, !want)
		}
	}
}

func TestEndpoints(t *testing.T) {
	gh, _ := Parse("https", "github.com")
	if e := gh.Endpoints(); e.API != "https://api.github.com" || e.DeviceCode != "https://github.com/login/device/code" || e.Token != "https://github.com/login/oauth/access_token" {
		t.Errorf("github.com endpoints: %+v", e)
	}
	ghes, _ := Parse("http", "127.0.0.1:9999")
	if e := ghes.Endpoints(); e.API != "http://127.0.0.1:9999/api/v3" || e.DeviceCode != "http://127.0.0.1:9999/login/device/code" || e.Token != "http://127.0.0.1:9999/login/oauth/access_token" {
		t.Errorf("GHES endpoints: %+v", e)
	}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"github.com": "https://github.com", "https://github.com/": "https://github.com",
		"ghe.example.com:8443": "https://ghe.example.com:8443", "http://127.0.0.1:5/x/y": "http://127.0.0.1:5",
		"https://alice@github.com/o/r": "https://github.com",
	} {
		o, err := ParseURL(in)
		if err != nil || o.String() != want {
			t.Errorf("ParseURL(%q) = %s, %v; want %s", in, o, err, want)
		}
	}
}

func TestParseBase(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.org/gitlab":  "https://example.org/gitlab",
		"https://example.org/gitlab/": "https://example.org/gitlab",
		"HTTPS://Example.ORG/a/b":     "https://example.org/a/b",
		"gitlab.com":                  "https://gitlab.com",
		"https://gitlab.com/":         "https://gitlab.com",
		"http://127.0.0.1:5/gl":       "http://127.0.0.1:5/gl",
	} {
		o, err := ParseBase(in)
		if err != nil || o.String() != want {
			t.Errorf("ParseBase(%q) = %s, %v; want %s", in, o, err, want)
			continue
		}
		if again, err := ParseBase(o.String()); err != nil || again != o {
			t.Errorf("ParseBase(%q) does not parse back: %+v, %v", o, again, err)
		}
	}
	for _, in := range []string{"https://example.org/a//b", "https://example.org/a/../b", "https://example.org/a?x=1", "https://example.org/a#f", "https://example.org/a b", "https://example.org/%2e"} {
		if o, err := ParseBase(in); err == nil {
			t.Errorf("ParseBase(%q) = %s, want an error", in, o)
		}
	}
	gh, _ := ParseBase("https://github.com/")
	if !gh.IsGitHub() {
		t.Error("https://github.com/ is not github.com")
	}
}

func TestUnder(t *testing.T) {
	base, _ := ParseBase("https://example.org/gitlab")
	for url, want := range map[string]bool{
		"https://example.org/gitlab":              true,
		"https://example.org/gitlab/":             true,
		"https://example.org/gitlab/group/p.git":  true,
		"https://ada@example.org/gitlab/group/p":  true,
		"https://example.org/gitlabx/group/p.git": false,
		"https://example.org/":                    false,
		"https://example.org":                     false,
		"http://example.org/gitlab/p":             false,
		"https://example.org:8443/gitlab/p":       false,
	} {
		if got := base.Under(url); got != want {
			t.Errorf("%s.Under(%q) = %v, want %v", base, url, got, want)
		}
	}
	root, _ := ParseBase("https://example.org")
	if !root.Under("https://example.org/gitlab/p") || !root.Under("https://example.org") {
		t.Error("a server without a path does not hold its own URLs")
	}
}

func TestEndpointsFor(t *testing.T) {
	base, _ := ParseBase("https://example.org/gitlab")
	e := base.EndpointsFor(GitLab)
	if e.DeviceCode != "https://example.org/gitlab/oauth/authorize_device" || e.Token != "https://example.org/gitlab/oauth/token" ||
		e.Revoke != "https://example.org/gitlab/oauth/revoke" || e.API != "https://example.org/gitlab/api/v4" || e.Web != "https://example.org/gitlab" {
		t.Errorf("GitLab endpoints: %+v", e)
	}
	gh, _ := Parse("https", "github.com")
	if gh.EndpointsFor("") != gh.Endpoints() || gh.EndpointsFor(GitHub) != gh.Endpoints() {
		t.Error("GitHub's endpoints depend on how the provider is spelled")
	}
}
