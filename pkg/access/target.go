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
// serverOf names the served server a URL is at or below (config's
// Settings.Base: a GitLab at https://example.org/gitlab has its
// repositories below that path); the repository is the rest of the path.
// A password in the URL is ignored and never shown.
func ParseURL(raw string, serverOf func(url string) (string, error)) (Target, error) {
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
	path := "/" + strings.Trim(u.Path, "/")
	server, err := serverOf(o.String() + path)
	if err != nil {
		return Target{}, err
	}
	if b, err := origin.ParseBase(server); err == nil && b.Path != "" && b.Under(o.String()+path) {
		t.Server, path = b.String(), strings.TrimPrefix(path, b.Path)
	}
	path = strings.Trim(path, "/")
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

// userinfo matches the user information of a URL, which may hold a
// password. Compiled on first use: every git command starts the program.
var userinfo = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`://[^/?#]*@`) })
