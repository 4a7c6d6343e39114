package access

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
)

// Target is the repository a URL names.
type Target struct {
	Origin origin.Origin
	// Server is Origin, plus the path of the served server URL the
	// repository lives below (a GitLab at https://example.org/gitlab).
	Server     string
	Repository string // the path below Server, without ".git"
	Username   string // the URL's user name, if any
}

// ParseURL reads a repository URL, https or http to this machine.
// servers are the URLs the helper serves (config.ServedHosts): the longest
// one on the URL's origin whose path starts the URL's path is the server;
// else the server is the origin itself. A password in the URL is ignored
// and never shown.
func ParseURL(raw string, servers []string) (Target, error) {
	shown := safetext.Short(userinfo().ReplaceAllString(raw, "://"), 200)
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Target{}, fmt.Errorf("%q is not a repository URL such as https://HOST/OWNER/NAME", shown)
	}
	o, err := origin.Parse(u.Scheme, u.Host)
	if err != nil {
		return Target{}, fmt.Errorf("%q: %v", shown, err)
	}
	if !o.SecureEnough() {
		return Target{}, fmt.Errorf("%q: a token travels only over https, or over http to this machine", shown)
	}
	t := Target{Origin: o, Server: o.String()}
	if u.User != nil {
		t.Username = u.User.Username()
	}
	path := strings.Trim(u.Path, "/")
	best := ""
	for _, s := range servers {
		if base, ok := basePath(s, o); ok && len(base) > len(best) && (path == base || strings.HasPrefix(path, base+"/")) {
			best = base
		}
	}
	if best != "" {
		t.Server += "/" + best
		path = strings.TrimPrefix(strings.TrimPrefix(path, best), "/")
	}
	// A GitLab web address of a project's page: group/project/-/tree/main.
	if i := strings.Index(path, "/-/"); i >= 0 {
		path = path[:i]
	}
	t.Repository = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	if !strings.Contains(t.Repository, "/") {
		return Target{}, fmt.Errorf("%q names no repository; give one such as https://HOST/OWNER/NAME", shown)
	}
	return t, nil
}

// basePath is the path of server, a served URL, without its slashes, when
// server is on o.
func basePath(server string, o origin.Origin) (string, bool) {
	so, err := origin.ParseURL(server)
	if err != nil || so != o {
		return "", false
	}
	_, rest, _ := strings.Cut(server, "://")
	_, base, _ := strings.Cut(rest, "/")
	return strings.Trim(base, "/"), true
}

// userinfo matches the user information of a URL, which may hold a
// password. Compiled on first use: every git command starts the program.
var userinfo = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`://[^/?#]*@`) })
