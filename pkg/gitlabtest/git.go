package gitlabtest

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

// What GitLab answers git, which shows it as "remote: ...".
const (
	msgAccessDenied = "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped."
	msgNotFound     = "The project you were looking for could not be found or you don't have permission to view it."
	msgNoDownload   = "You are not allowed to download code from this project."
	msgNoPush       = "You are not allowed to push code to this project."
)

// gitEndpoints are the smart HTTP paths below a project, with the method
// each takes.
var gitEndpoints = []struct{ suffix, method string }{
	{"/info/refs", http.MethodGet},
	{"/git-upload-pack", http.MethodPost},
	{"/git-receive-pack", http.MethodPost},
}

// gitRequest splits a path below the base path into the project's path
// and the endpoint ("info/refs", ...), if it is a smart HTTP request.
func gitRequest(r *http.Request, rest string) (projectPath, endpoint string, ok bool) {
	for _, e := range gitEndpoints {
		if p, found := strings.CutSuffix(rest, e.suffix); found && r.Method == e.method && p != "" {
			return strings.TrimSuffix(p, ".git"), e.suffix[1:], true
		}
	}
	return "", "", false
}

// handleGit checks the credentials git sends as HTTP Basic auth (any
// username, the access token as password) and what they may do with the
// project, as GitLab does, then hands the request to git http-backend.
func (s *Server) handleGit(w http.ResponseWriter, r *http.Request, path, endpoint string) {
	push := endpoint == "git-receive-pack" || (endpoint == "info/refs" && r.URL.Query().Get("service") == "git-receive-pack")
	username, tok, hasAuth := r.BasicAuth()
	now := s.opts.Now()
	s.mu.Lock()
	g := s.byAccess[tok]
	live := g.live(now)
	badAuth := hasAuth && (!live || (s.opts.OAuth2UsernameOnly && username != "oauth2"))
	var caller *user
	if hasAuth && !badAuth {
		caller = g.user
	}
	p := s.projects[strings.ToLower(path)]
	visible := p != nil && p.visibleTo(caller)
	readable := visible && p.readableBy(caller)
	pushable := visible && p.pushableBy(caller)
	s.mu.Unlock()

	what := "fetch from " + path
	if push {
		what = "push to " + path
	}
	if caller != nil {
		what += " by " + caller.username
	}
	deny := func(status int, why, msg string) {
		s.logf("%s: %d (%s)", what, status, why)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
		}
		standin.GitError(w, status, msg)
	}
	switch {
	case badAuth:
		why := "invalid, expired or revoked token"
		if live {
			why = "an OAuth token needs the username oauth2"
		}
		deny(http.StatusUnauthorized, why, msgAccessDenied)
	case caller == nil && (!visible || push):
		// Nobody signed in: ask for credentials rather than tell whether
		// the project exists.
		deny(http.StatusUnauthorized, "no credentials", msgAccessDenied)
	case !visible:
		deny(http.StatusNotFound, "no such project, or not visible", msgNotFound)
	case push && !g.has("write_repository", "api"):
		deny(http.StatusForbidden, "the token lacks write_repository", msgNoPush)
	case push && !pushable:
		deny(http.StatusForbidden, "below Developer", msgNoPush)
	case caller != nil && !g.has("read_repository", "write_repository", "api"):
		deny(http.StatusForbidden, "the token lacks read_repository", msgNoDownload)
	case !readable:
		deny(http.StatusForbidden, "below Reporter", msgNoDownload)
	default:
		if endpoint != "info/refs" {
			s.logf("%s", what)
		}
		name := ""
		if caller != nil {
			name = caller.username
		}
		s.serveGit(w, r, p, endpoint, name)
	}
}

// backendHeaders are the only request headers git http-backend gets: CGI
// turns headers into the child's environment, and any other header could
// carry a token there.
var backendHeaders = []string{"Content-Type", "Content-Encoding", "Git-Protocol", "Accept", "User-Agent"}

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, p *project, endpoint, username string) {
	r2 := r.Clone(r.Context())
	r2.Header = http.Header{}
	for _, h := range backendHeaders {
		if v, ok := r.Header[h]; ok {
			r2.Header[h] = v
		}
	}
	// One path on disk whatever the base path, case and ".git" suffix of
	// the URL; of the query, only the service.
	r2.URL.Path = "/" + p.key + ".git/" + endpoint
	r2.URL.RawPath = ""
	r2.URL.RawQuery = ""
	if svc := r.URL.Query().Get("service"); svc != "" {
		r2.URL.RawQuery = url.Values{"service": {svc}}.Encode()
	}
	var env []string
	if username != "" {
		// http-backend allows receive-pack only to a named user.
		env = append(env, "REMOTE_USER="+username)
	}
	s.host.Backend(s.backend).Serve(w, r2, env...)
}
