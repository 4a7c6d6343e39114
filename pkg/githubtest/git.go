package githubtest

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// maxBufferedBody bounds a chunked git request body, which the server reads
// into memory because CGI needs its length.
const maxBufferedBody = 64 << 20

type repo struct {
	id    int64
	key   string // lower-case "owner/name"
	owner *account
	name  string
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
	dir := s.repoDir(key)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("githubtest: %v", err)
	}
	// Mkdir, not MkdirAll: it fails if the repository exists, even when
	// two AddRepo calls race.
	if err := os.Mkdir(dir, 0o755); err != nil {
		if os.IsExist(err) {
			return fmt.Errorf("githubtest: repository %s already exists", fullName)
		}
		return fmt.Errorf("githubtest: %v", err)
	}
	if err := s.initRepo(dir, name); err != nil {
		os.RemoveAll(dir)
		return err
	}
	s.mu.Lock()
	r := &repo{id: s.newIDLocked(), key: key, owner: s.accountLocked(owner), name: name}
	s.repos[key] = r
	s.mu.Unlock()
	s.logf("repository %s created", r.fullName())
	return nil
}

// initRepo writes the first commit with plumbing commands, so no work
// tree is needed.
func (s *Server) initRepo(dir, name string) error {
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(s.gitEnv(),
			"GIT_DIR="+dir,
			"GIT_AUTHOR_NAME=GitHub", "GIT_AUTHOR_EMAIL=noreply@github.com", "GIT_AUTHOR_DATE=1704067200 +0000",
			"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com", "GIT_COMMITTER_DATE=1704067200 +0000",
		)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("githubtest: git %s failed: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := run("", "init", "--quiet", "--bare", "--initial-branch=main", dir); err != nil {
		return err
	}
	blob, err := run("# "+name+"\n", "hash-object", "-w", "--stdin")
	if err != nil {
		return err
	}
	tree, err := run("100644 blob "+blob+"\tREADME.md\n", "mktree")
	if err != nil {
		return err
	}
	commit, err := run("", "commit-tree", tree, "-m", "Initial commit")
	if err != nil {
		return err
	}
	_, err = run("", "update-ref", "refs/heads/main", commit)
	return err
}

// gitEnv is the whole environment of every git the server runs: PATH, and
// a HOME of its own so the user's git configuration plays no part.
func (s *Server) gitEnv() []string {
	home := filepath.Join(s.root, "home")
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
	}
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
		gitError(w, http.StatusUnauthorized, "Invalid username or token. Password authentication is not supported for Git operations.")
		return
	}
	rp := s.repos[strings.ToLower(full)]
	if rp == nil {
		s.mu.Unlock()
		s.logf("git %s by %s: 404 (no such repository)", full, t.login)
		gitError(w, http.StatusNotFound, "Repository not found.")
		return
	}
	allowed := false
	for _, in := range s.visibleLocked(t.login) {
		allowed = allowed || in.covers(rp.key, rp)
	}
	s.mu.Unlock()
	if !allowed {
		s.logf("git %s by %s: 403 (%s is not installed on it)", rp.fullName(), t.login, s.opts.AppSlug)
		gitError(w, http.StatusForbidden, fmt.Sprintf("Permission to %s.git denied to %s.", rp.fullName(), t.login))
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

// gitError answers in text/plain, which git shows the user as "remote: ...".
func gitError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
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
	if r2.ContentLength < 0 { // chunked: CGI needs a length
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		if err != nil || len(body) > maxBufferedBody {
			gitError(w, http.StatusRequestEntityTooLarge, "Request too large.")
			return
		}
		r2.Body, r2.ContentLength, r2.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	}
	backend := s.backend
	if backend == nil {
		git, err := exec.LookPath("git")
		if err != nil {
			gitError(w, http.StatusInternalServerError, "git is not installed on the server.")
			return
		}
		backend = []string{git, "http-backend"}
	}
	h := &cgi.Handler{
		Path:   backend[0],
		Args:   backend[1:],
		Dir:    s.root,
		Root:   "/",
		Env:    append(s.gitEnv(), "GIT_PROJECT_ROOT="+filepath.Join(s.root, "repos"), "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER="+login),
		Logger: log.New(s.logWriter(), "[github] git http-backend: ", 0),
		Stderr: s.logWriter(),
	}
	h.ServeHTTP(w, r2)
}

// afterRepo returns what follows "/owner/repo/" in p, e.g. "info/refs".
func afterRepo(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	return parts[len(parts)-1]
}
