package githubtest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

type repo struct {
	id     int64
	key    string // lower-case "owner/name"
	owner  *account
	name   string
	public bool
	roles  map[string]int // lower-case login → permission Grant gave (permNone to permAdmin)
}

func (r *repo) fullName() string { return r.owner.login + "/" + r.name }

var repoNamePart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// splitRepo splits "owner/name" (a trailing ".git" is dropped).
func splitRepo(fullName string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(strings.TrimSuffix(fullName, ".git"), "/")
	ok = ok && repoNamePart.MatchString(owner) && repoNamePart.MatchString(name) &&
		owner != "." && owner != ".." && name != "." && name != ".."
	return owner, name, ok
}

// AddRepo creates "owner/name": a bare repository with one commit on
// branch main that adds a README.md. The owner becomes an account (an
// organization unless AddUser made it a user).
func (s *Server) AddRepo(fullName string) error {
	owner, name, ok := splitRepo(fullName)
	if !ok {
		return fmt.Errorf("githubtest: repository name %q is not OWNER/NAME", fullName)
	}
	key := strings.ToLower(owner + "/" + name)
	if err := s.host.CreateRepo(key, "repository "+fullName, name, "GitHub", "noreply@github.com"); err != nil {
		return err
	}
	s.mu.Lock()
	r := &repo{id: s.newIDLocked(), key: key, owner: s.accountLocked(owner), name: name}
	s.repos[key] = r
	s.mu.Unlock()
	s.logf("repository %s created", r.fullName())
	return nil
}

// handleGit checks the token in HTTP Basic auth as GitHub does, then hands
// the request to git http-backend.
func (s *Server) handleGit(w http.ResponseWriter, r *http.Request) {
	full := r.PathValue("owner") + "/" + strings.TrimSuffix(r.PathValue("repo"), ".git")
	_, tok, hasAuth := r.BasicAuth()
	now := s.opts.Now()
	s.mu.Lock()
	t := s.tokens[tok]
	if !hasAuth || !t.live(now) || t.refresh {
		s.mu.Unlock()
		reason := "no credentials"
		if hasAuth {
			reason = "invalid, expired or revoked token"
		}
		s.logf("git %s: 401 (%s)", full, reason)
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		standin.GitError(w, http.StatusUnauthorized, "Invalid username or token. Password authentication is not supported for Git operations.")
		return
	}
	rp := s.repos[strings.ToLower(full)]
	if rp == nil {
		s.mu.Unlock()
		s.logf("git %s by %s: 404 (no such repository)", full, t.login)
		standin.GitError(w, http.StatusNotFound, "Repository not found.")
		return
	}
	push := strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack"
	why := s.gitRefusalLocked(t.login, rp, push)
	s.mu.Unlock()
	if why != "" {
		s.logf("git %s by %s: 403 (%s)", rp.fullName(), t.login, why)
		standin.GitError(w, http.StatusForbidden, fmt.Sprintf("Permission to %s.git denied to %s.", rp.fullName(), t.login))
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
		s.logf("push to %s by %s", rp.fullName(), t.login)
	case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		s.logf("fetch from %s by %s", rp.fullName(), t.login)
	}
	s.serveGit(w, r, rp, t.login)
}

func (s *Server) serveGit(w http.ResponseWriter, r *http.Request, rp *repo, login string) {
	r2 := r.Clone(r.Context())
	// CGI turns request headers into the child's environment: the token
	// must not go there.
	r2.Header.Del("Authorization")
	r2.Header.Del("Cookie")
	// One path on disk whatever the case and ".git" suffix of the URL.
	r2.URL.Path = "/" + rp.key + ".git/" + afterRepo(r.URL.Path)
	r2.URL.RawPath = ""
	s.host.Backend(s.backend).Serve(w, r2, "REMOTE_USER="+login)
}

// afterRepo returns what follows "/owner/repo/" in p, e.g. "info/refs".
func afterRepo(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	return parts[len(parts)-1]
}
