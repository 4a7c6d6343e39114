package gitlabtest

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// gitServer is accessServer's layout with tokens of the given scopes.
func gitServer(t *testing.T, opts Options) (s *Server, tokenOf func(username, scope string) string) {
	t.Helper()
	requireGit(t)
	if opts.BasePath == "" {
		opts.BasePath = "/gitlab"
	}
	s, _ = newTestServer(t, opts)
	for _, p := range []struct{ path, visibility string }{
		{"acme/tools", Private}, {"acme/site", Public}, {"acme/wiki", Internal}, {"acme/sub/widgets", Private},
	} {
		if err := s.AddProject(p.path, p.visibility); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		path, username string
		level          int
	}{
		{"acme", "lead", Maintainer}, {"acme/tools", "dev", Developer},
		{"acme/tools", "rep", Reporter}, {"acme/tools", "guest", Guest},
	} {
		if err := s.AddMember(m.path, m.username, m.level); err != nil {
			t.Fatal(err)
		}
	}
	s.AddUser("stranger")
	return s, func(username, scope string) string { return signInAgain(t, s, username, scope) }
}

// gitGet asks for path's ref advertisement for service as git would,
// with HTTP Basic auth when password is set.
func gitGet(t *testing.T, s *Server, path, service, username, password string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path+"/info/refs?service="+service, nil)
	if password != "" {
		req.SetBasicAuth(username, password)
	}
	return do(t, req)
}

func TestGitAccess(t *testing.T) {
	t.Parallel()
	s, tokenOf := gitServer(t, Options{})
	const (
		read = "git-upload-pack"
		push = "git-receive-pack"
		rw   = "read_repository write_repository"
	)
	dev, lead, rep, guest, stranger := tokenOf("dev", rw), tokenOf("lead", rw), tokenOf("rep", rw), tokenOf("guest", rw), tokenOf("stranger", rw)
	for _, tc := range []struct {
		name, path, service, password string
		status                        int
		body                          string
	}{
		{"no credentials", "/acme/tools.git", read, "", 401, msgAccessDenied},
		{"unknown token", "/acme/tools.git", read, "gloas-0000", 401, msgAccessDenied},
		{"refresh token", "/acme/tools.git", read, "refresh", 401, msgAccessDenied},
		{"stranger on a private project", "/acme/tools.git", read, stranger, 404, msgNotFound},
		{"unknown project", "/acme/nope.git", read, dev, 404, msgNotFound},
		{"unknown project anonymously", "/acme/nope.git", read, "", 401, msgAccessDenied},
		{"guest reads", "/acme/tools.git", read, guest, 403, msgNoDownload},
		{"reporter reads", "/acme/tools.git", read, rep, 200, "refs/heads/main"},
		{"reporter pushes", "/acme/tools.git", push, rep, 403, msgNoPush},
		{"developer pushes", "/acme/tools.git", push, dev, 200, "refs/heads/main"},
		{"parent group maintainer pushes", "/acme/sub/widgets.git", push, lead, 200, "refs/heads/main"},
		{"developer elsewhere", "/acme/sub/widgets.git", read, dev, 404, msgNotFound},
		{"public anonymously", "/acme/site.git", read, "", 200, "refs/heads/main"},
		{"public push anonymously", "/acme/site.git", push, "", 401, msgAccessDenied},
		{"public push by a stranger", "/acme/site.git", push, stranger, 403, msgNoPush},
		{"internal by a stranger", "/acme/wiki.git", read, stranger, 200, "refs/heads/main"},
		{"internal anonymously", "/acme/wiki.git", read, "", 401, msgAccessDenied},
		{"without .git", "/acme/tools", read, rep, 200, "refs/heads/main"},
		{"other case", "/ACME/Tools.git", read, rep, 200, "refs/heads/main"},
		{"read_repository only pushes", "/acme/tools.git", push, tokenOf("dev", "read_repository"), 403, msgNoPush},
		{"read_repository only reads", "/acme/tools.git", read, tokenOf("dev", "read_repository"), 200, "refs/heads/main"},
		{"write_repository only reads", "/acme/tools.git", read, tokenOf("dev", "write_repository"), 200, "refs/heads/main"},
		{"api pushes", "/acme/tools.git", push, tokenOf("dev", "api"), 200, "refs/heads/main"},
		{"read_api reads", "/acme/tools.git", read, tokenOf("dev", "read_api"), 403, msgNoDownload},
		{"read_user reads public", "/acme/site.git", read, tokenOf("dev", "read_user"), 403, msgNoDownload},
	} {
		password := tc.password
		if password == "refresh" {
			password = s.IssuedTokens()[1]
		}
		r := gitGet(t, s, tc.path, tc.service, "oauth2", password)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.body) {
			t.Errorf("%s: HTTP %d %q; want %d containing %q", tc.name, r.status, testsupport.Redact(string(r.body)), tc.status, tc.body)
		}
		if (tc.status == 401) != (r.header.Get("WWW-Authenticate") == `Basic realm="GitLab"`) {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, r.header.Get("WWW-Authenticate"))
		}
		if tc.status == 200 && r.header.Get("Content-Type") != "application/x-"+tc.service+"-advertisement" {
			t.Errorf("%s: Content-Type %q", tc.name, r.header.Get("Content-Type"))
		}
	}

	// Outside the base path, nothing.
	host := strings.TrimSuffix(s.URL, "/gitlab")
	if r := apiGetURL(t, host+"/acme/site.git/info/refs?service=git-upload-pack", ""); r.status != 404 {
		t.Errorf("git outside the base path: HTTP %d, want 404", r.status)
	}
	// Any username goes with the token, unless the server says otherwise.
	if r := gitGet(t, s, "/acme/tools.git", read, "rep", rep); r.status != 200 {
		t.Errorf("username rep: HTTP %d, want 200", r.status)
	}
	old, tokenOfOld := gitServer(t, Options{OAuth2UsernameOnly: true})
	tok := tokenOfOld("rep", rw)
	if r := gitGet(t, old, "/acme/tools.git", read, "rep", tok); r.status != 401 {
		t.Errorf("OAuth2UsernameOnly, username rep: HTTP %d, want 401", r.status)
	}
	if r := gitGet(t, old, "/acme/tools.git", read, "oauth2", tok); r.status != 200 {
		t.Errorf("OAuth2UsernameOnly, username oauth2: HTTP %d, want 200", r.status)
	}
}

func TestGitBackendNeverSeesTheToken(t *testing.T) {
	t.Parallel()
	s, tokenOf := gitServer(t, Options{})
	tok := tokenOf("dev", "write_repository")
	s.backend = []string{"/bin/sh", "-c", `printf 'Content-Type: text/plain\r\n\r\n'; env`}
	req, _ := http.NewRequest("GET", s.URL+"/acme/tools.git/info/refs?service=git-upload-pack&private_token="+tok, nil)
	req.SetBasicAuth("oauth2", tok)
	req.Header.Set("Cookie", "_gitlab_session="+tok)
	req.Header.Set("Private-Token", tok)
	req.Header.Set("X-Anything", tok)
	req.Header.Set("Git-Protocol", "version=2")
	r := do(t, req)
	env := string(r.body)
	for _, want := range []string{"REMOTE_USER=dev", "GIT_CONFIG_NOSYSTEM=1", "QUERY_STRING=service=git-upload-pack\n", "HTTP_GIT_PROTOCOL=version=2", "PATH_INFO=/acme/tools.git/info/refs"} {
		if r.status != 200 || !strings.Contains(env, want) {
			t.Errorf("backend environment (HTTP %d) lacks %q", r.status, want)
		}
	}
	if strings.Contains(env, tok) || strings.Contains(env, "HTTP_AUTHORIZATION") || strings.Contains(env, TokenPrefix) {
		t.Errorf("the token reached the backend's environment")
	}
}

// gitClient runs the real git with a credential helper snippet that
// answers username oauth2 and the token from $TOKEN, which is set only in
// the environment of the git it runs.
type gitClient struct {
	t    *testing.T
	home string
}

func (c *gitClient) run(dir, token string, args ...string) (string, bool) {
	c.t.Helper()
	args = append([]string{
		"-c", "credential.helper=",
		"-c", "credential.helper=!f() { echo username=oauth2; echo password=$TOKEN; }; f",
		"-c", "user.name=Dev", "-c", "user.email=dev@example.com",
	}, args...)
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "TOKEN=" + token}
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func TestRealGitCloneAndPush(t *testing.T) {
	t.Parallel()
	var log testsupport.SyncBuffer
	s, tokenOf := gitServer(t, Options{Log: &log})
	chunkedPush := make(chan bool, 10)
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/git-receive-pack") {
			select {
			case chunkedPush <- r.ContentLength < 0:
			default: // never block the server
			}
		}
		return false
	})
	dev := tokenOf("dev", "read_repository write_repository")
	git := &gitClient{t: t, home: t.TempDir()}
	work := t.TempDir()
	checkNoToken := func(out string) {
		t.Helper()
		for _, issued := range s.IssuedTokens() {
			if strings.Contains(out, issued) {
				t.Fatalf("output contains token %s", testsupport.Redact(issued))
			}
		}
	}

	out, ok := git.run(work, dev, "clone", s.URL+"/acme/tools.git", "tools")
	checkNoToken(out)
	if !ok {
		t.Fatalf("clone failed:\n%s", out)
	}
	clone := filepath.Join(work, "tools")
	if b, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || string(b) != "# tools\n" {
		t.Fatalf("README.md = %q, %v", b, err)
	}

	// A file larger than git's 1 MiB post buffer makes git send the pack
	// chunked, which the server must buffer for CGI.
	big := make([]byte, 2<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(clone, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "big.bin"}, {"commit", "-q", "-m", "Add big.bin"}} {
		if out, ok := git.run(clone, "", args...); !ok {
			t.Fatalf("git %s:\n%s", args[0], out)
		}
	}
	out, ok = git.run(clone, dev, "push", "origin", "main")
	checkNoToken(out)
	if !ok {
		t.Fatalf("push failed:\n%s", out)
	}
	sawChunked := false
	for len(chunkedPush) > 0 {
		sawChunked = sawChunked || <-chunkedPush
	}
	if !sawChunked {
		t.Error("the push was not sent chunked; the chunked path went untested")
	}
	local, _ := git.run(clone, "", "rev-parse", "HEAD")
	remote, err := exec.Command("git", "--git-dir", s.repoDir("acme/tools"), "rev-parse", "main").Output()
	if err != nil || string(remote) != local {
		t.Errorf("server has main at %q (%v), pushed %q", remote, err, local)
	}

	// A Reporter reads but may not push.
	rep := tokenOf("rep", "read_repository write_repository")
	out, ok = git.run(work, rep, "clone", s.URL+"/acme/tools.git", "tools-rep")
	checkNoToken(out)
	if !ok {
		t.Fatalf("clone as a Reporter failed:\n%s", out)
	}
	repClone := filepath.Join(work, "tools-rep")
	git.run(repClone, "", "commit", "-q", "--allow-empty", "-m", "empty")
	out, ok = git.run(repClone, rep, "push", "origin", "main")
	checkNoToken(out)
	if ok || !strings.Contains(out, msgNoPush) || !strings.Contains(out, "403") {
		t.Errorf("push as a Reporter: ok=%v\n%s", ok, out)
	}

	out, ok = git.run(work, dev, "clone", s.URL+"/acme/sub/widgets.git", "widgets")
	checkNoToken(out)
	if ok || !strings.Contains(out, msgNotFound) {
		t.Errorf("clone of a project the user cannot see: ok=%v\n%s", ok, out)
	}

	s.Revoke(dev)
	out, ok = git.run(clone, dev, "fetch", "origin")
	checkNoToken(out)
	if ok || !strings.Contains(out, "Authentication failed") {
		t.Errorf("fetch with a revoked token: ok=%v\n%s", ok, out)
	}

	logged := log.String()
	for _, want := range []string{"fetch from acme/tools by dev", "push to acme/tools by dev", "push to acme/tools by rep: 403", "404", "401"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, testsupport.Redact(logged))
		}
	}
	checkNoToken(logged)
	if bytes.Contains([]byte(logged), big[:64]) {
		t.Error("log contains pushed data")
	}
}
