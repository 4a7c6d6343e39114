// Package origin names the server a credential is for — scheme, host,
// port and, for a server that lives below a path (a GitLab at
// https://example.org/gitlab), that path — in one canonical spelling, so
// that a token minted for one server is never handed to another that
// merely looks alike.
package origin

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Origin is a normalized scheme://host[:port][/path]. Host is lower case;
// IPv6 literals keep their brackets; Port is empty when it is the scheme's
// default. Path is empty but for a server that lives below a path: then it
// is that path, "/a/b", without a trailing slash.
type Origin struct {
	Scheme string
	Host   string
	Port   string
	Path   string
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

// String returns scheme://host[:port][/path], the spelling used as a store
// key and for git's URL matching.
func (o Origin) String() string {
	return o.Scheme + "://" + o.HostPort() + o.Path
}

// Name is what messages call the server: host[:port][/path].
func (o Origin) Name() string {
	return o.HostPort() + o.Path
}

// Server returns o without its path: the scheme://host[:port] git names.
func (o Origin) Server() Origin {
	o.Path = ""
	return o
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

// Endpoints are where a server takes the device flow and its API.
type Endpoints struct {
	DeviceCode string
	Token      string
	API        string // REST API base, without a trailing slash
	Web        string // the web root, for links shown to people
	Revoke     string // where a token is revoked
}

// The providers a server may be, as config.Settings.Provider names them;
// "" is GitHub.
const (
	GitHub = "github"
	GitLab = "gitlab"
)

// EndpointsFor returns the endpoints of o as the provider lays them out:
// GitLab's below the base URL (…/oauth/authorize_device, …/oauth/token,
// …/oauth/revoke, …/api/v4), else GitHub's (see Endpoints). This is the
// one place that knows either layout.
func (o Origin) EndpointsFor(provider string) Endpoints {
	if provider == GitLab {
		base := o.String()
		return Endpoints{
			DeviceCode: base + "/oauth/authorize_device",
			Token:      base + "/oauth/token",
			API:        base + "/api/v4",
			Web:        base,
			Revoke:     base + "/oauth/revoke",
		}
	}
	return o.Endpoints()
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
			Revoke:     "https://api.github.com/credentials/revoke",
		}
	}
	web := o.String()
	return Endpoints{
		DeviceCode: web + "/login/device/code",
		Token:      web + "/login/oauth/access_token",
		API:        web + "/api/v3",
		Web:        web,
		Revoke:     web + "/api/v3/credentials/revoke",
	}
}

// ParseURL accepts what people type for --host: a URL or a bare host
// (taken as https://HOST). A path is ignored.
func ParseURL(s string) (Origin, error) {
	o, _, err := split(s)
	return o, err
}

// ParseBase is ParseURL keeping the path, for a server's base URL (a
// GitLab below https://example.org/gitlab) and for what Origin.String
// wrote. The path is cleaned of a trailing slash; one with a query, a
// fragment, an empty, "." or ".." segment, or a character outside
// letters, digits and "-._~" is refused.
func ParseBase(s string) (Origin, error) {
	o, path, err := split(s)
	if err != nil {
		return o, err
	}
	path = strings.TrimRight(path, "/")
	if path == "" {
		return o, nil
	}
	if strings.ContainsAny(path, "?#") {
		return Origin{}, fmt.Errorf("a server's base URL has no query or fragment: %q", path)
	}
	for _, seg := range strings.Split(path[1:], "/") {
		if !validPathSegment(seg) {
			return Origin{}, fmt.Errorf("invalid path %q in a server's base URL", path)
		}
	}
	o.Path = path
	return o, nil
}

// split parses s as ParseURL does and returns the rest: a path, query or
// fragment, or "".
func split(s string) (Origin, string, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "https", s
	}
	tail := ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	o, err := Parse(scheme, rest)
	return o, tail, err
}

func validPathSegment(seg string) bool {
	if seg == "" || seg == "." || seg == ".." || len(seg) > 255 {
		return false
	}
	for _, c := range seg {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// Under reports whether url (scheme://host[:port][/path…], as git or a
// person writes it) is o or below it: the same server, and o's path a
// prefix of url's at a segment boundary.
func (o Origin) Under(url string) bool {
	u, tail, err := split(url)
	if err != nil || u.Server() != o.Server() {
		return false
	}
	if i := strings.IndexAny(tail, "?#"); i >= 0 {
		tail = tail[:i]
	}
	rest, ok := strings.CutPrefix(tail, o.Path)
	return ok && (rest == "" || rest[0] == '/')
}
