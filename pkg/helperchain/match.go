package helperchain

import (
	"net/url"
	"path"
	"strings"
)

// target is the URL git asks credentials for, split as git's urlmatch
// splits it.
type target struct {
	scheme, user, host, port, path string
}

// parseTarget splits a scheme://[user@]host[:port][/path] URL, normalized
// as git normalizes one: scheme and host in lower case, the scheme's
// default port dropped, the path cleaned and starting with "/".
// ok is false for anything git's url_normalize would refuse.
func parseTarget(raw string) (t target, ok bool) {
	scheme, rest, found := strings.Cut(raw, "://")
	if !found || scheme == "" || strings.ContainsAny(scheme, "/?#@") {
		return t, false
	}
	t.scheme = strings.ToLower(scheme)
	hostPart := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostPart, t.path = rest[:i], rest[i:]
	}
	if at := strings.LastIndexByte(hostPart, '@'); at >= 0 {
		t.user, _, _ = strings.Cut(hostPart[:at], ":")
		if u, err := url.PathUnescape(t.user); err == nil {
			t.user = u
		}
		hostPart = hostPart[at+1:]
	}
	t.host = hostPart
	if i := strings.LastIndexByte(hostPart, ':'); i >= 0 && !strings.HasSuffix(hostPart, "]") {
		t.host, t.port = hostPart[:i], hostPart[i+1:]
	}
	t.host = strings.ToLower(t.host)
	if t.host == "" && t.scheme != "file" {
		return t, false
	}
	t.port = strings.TrimLeft(t.port, "0")
	if (t.scheme == "https" && t.port == "443") || (t.scheme == "http" && t.port == "80") {
		t.port = ""
	}
	if i := strings.IndexAny(t.path, "?#"); i >= 0 {
		t.path = t.path[:i]
	}
	t.path = cleanPath(t.path)
	return t, true
}

// cleanPath is git's path normalization, near enough: escapes of
// unreserved characters decoded and the others in upper case, "." and
// ".." resolved, "/" when empty, and a trailing slash kept.
func cleanPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			c := unhex(p[i+1])<<4 | unhex(p[i+2])
			if unreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteString(strings.ToUpper(p[i : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	p = b.String()
	if p == "" || p == "/" {
		return "/"
	}
	trailing := strings.HasSuffix(p, "/")
	p = path.Clean("/" + p)
	if trailing && p != "/" {
		p += "/"
	}
	return p
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

// match is how a credential.<url>.* key applies to a URL.
type match int

const (
	never     match = iota
	always          // for every request to the URL
	sometimes       // only for some: a longer path, or a user name the URL lacks
)

// matchKey says how the subsection of credential.<sub>.helper applies to
// t, by git's rules: a subsection git can normalize as a URL matches by
// scheme, user (when it names one), host (each "*" label matching any one
// label), port and path prefix at a "/"; any other (a bare host, say)
// matches field by field, its path exactly. t's path "/" stands for the
// whole host: a key with a longer path then applies sometimes.
func matchKey(sub string, t target) match {
	if k, ok := parseTarget(sub); ok {
		return matchURL(k, t)
	}
	return matchPartial(sub, t)
}

func matchURL(k, t target) match {
	if k.scheme != t.scheme || !matchHost(k.host, t.host) || k.port != t.port {
		return never
	}
	m := always
	if k.user != "" && k.user != t.user {
		if t.user != "" {
			return never
		}
		m = sometimes
	}
	switch {
	case prefixAtSlash(k.path, t.path):
	case t.path == "/":
		m = sometimes
	default:
		return never
	}
	return m
}

// matchHost is git's match_host: the same number of labels, each equal
// or "*" in the key.
func matchHost(key, host string) bool {
	kl, hl := strings.Split(key, "."), strings.Split(host, ".")
	if len(kl) != len(hl) {
		return false
	}
	for i := range kl {
		if kl[i] != "*" && kl[i] != hl[i] {
			return false
		}
	}
	return true
}

// prefixAtSlash reports whether the key path p covers the URL path u:
// equal, or a prefix ending at a "/".
func prefixAtSlash(p, u string) bool {
	if p == "/" || p == u {
		return true
	}
	if strings.HasSuffix(p, "/") {
		return strings.HasPrefix(u, p)
	}
	return strings.HasPrefix(u, p+"/")
}

// matchPartial is git's match for a subsection that is not a full URL,
// such as "github.com" or "https://": each field it names must equal
// the URL's (the host with its port, the path without its slashes).
func matchPartial(sub string, t target) match {
	var scheme string
	rest := sub
	if s, r, ok := strings.Cut(sub, "://"); ok {
		scheme, rest = s, r
	}
	hostPart, p := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		hostPart, p = rest[:i], rest[i:]
	}
	var user string
	if at := strings.IndexByte(hostPart, '@'); at >= 0 {
		user, _, _ = strings.Cut(hostPart[:at], ":")
		hostPart = hostPart[at+1:]
	}
	host := t.host
	if t.port != "" {
		host += ":" + t.port
	}
	if (scheme != "" && scheme != t.scheme) || (hostPart != "" && hostPart != host) {
		return never
	}
	m := always
	if user != "" && user != t.user {
		if t.user != "" {
			return never
		}
		m = sometimes
	}
	if p = strings.Trim(p, "/"); p != "" && p != strings.Trim(t.path, "/") {
		if t.path != "/" {
			return never
		}
		m = sometimes
	}
	return m
}
