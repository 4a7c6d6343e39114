package githubtest

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func requireGit(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("git smart HTTP through CGI is tested on unix only")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// gitServer serves octocat/hello-world (installed for octocat) and
// octocat/private-notes (not installed), and returns octocat's token.
func gitServer(t *testing.T, log *testsupport.SyncBuffer) (*Server, string) {
	t.Helper()
	opts := Options{}
	if log != nil {
		opts.Log = log
	}
	s, clock := newTestServer(t, opts)
	for _, r := range []string{"octocat/hello-world", "octocat/private-notes"} {
		if err := s.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	s.Install("octocat", "octocat", "hello-world")
	return s, signIn(t, s, clock, "octocat")["access_token"]
}

func infoRefs(t *testing.T, s *Server, path, password string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path+"/info/refs?service=git-upload-pack", nil)
	if password != "" {
		req.SetBasicAuth("x-access-token", password)
	}
	return do(t, req)
}

func TestAddRepo(t *testing.T) {
	requireGit(t)
	s, _ := newTestServer(t, Options{})
	if err := s.AddRepo("acme/widgets.git"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRepo("ACME/Widgets"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("adding a repository twice: %v", err)
	}
	for _, bad := range []string{"widgets", "a/b/c", "../x", "a/..", "a/b c", "/x"} {
		if err := s.AddRepo(bad); err == nil {
			t.Errorf("AddRepo(%q) succeeded", bad)
		}
	}
	out, err := exec.Command("git", "--git-dir", s.repoDir("acme/widgets"), "ls-tree", "--name-only", "main").Output()
	if err != nil || string(out) != "README.md\n" {
		t.Errorf("main has %q (%v), want README.md", out, err)
	}
}

func TestGitAuth(t *testing.T) {
	requireGit(t)
	s, tok := gitServer(t, nil)
	for _, tc := range []struct {
		name, path, password string
		status               int
		body                 string
	}{
		{"no credentials", "/octocat/hello-world.git", "", 401, "Invalid username or token"},
		{"unknown token", "/octocat/hello-world.git", "ghu_000000000000000000000000000000000000", 401, ""},
		{"not installed", "/octocat/private-notes.git", tok, 403, "Permission to octocat/private-notes.git denied to octocat."},
		{"unknown repo", "/octocat/nope.git", tok, 404, "Repository not found."},
		{"allowed", "/octocat/hello-world.git", tok, 200, "refs/heads/main"},
		{"without .git", "/octocat/hello-world", tok, 200, "refs/heads/main"},
		{"other case", "/OctoCat/Hello-World.git", tok, 200, "refs/heads/main"},
	} {
		r := infoRefs(t, s, tc.path, tc.password)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.body) {
			t.Errorf("%s: HTTP %d %q; want %d containing %q", tc.name, r.status, r.body, tc.status, tc.body)
		}
		if tc.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="GitHub"` {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, r.header.Get("WWW-Authenticate"))
		}
		if tc.status == 200 && r.header.Get("Content-Type") != "application/x-git-upload-pack-advertisement" {
			t.Errorf("%s: Content-Type %q", tc.name, r.header.Get("Content-Type"))
		}
	}
}

func TestGitBackendNeverSeesTheToken(t *testing.T) {
	requireGit(t)
	s, tok := gitServer(t, nil)
	s.backend = []string{"/bin/sh", "-c", `printf 'Content-Type: text/plain\r\n\r\n'; env`}
	req, _ := http.NewRequest("GET", s.URL+"/octocat/hello-world.git/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("x-access-token", tok)
	req.Header.Set("Cookie", "session="+tok)
	r := do(t, req)
	env := string(r.body)
	if r.status != 200 || !strings.Contains(env, "REMOTE_USER=octocat") || !strings.Contains(env, "GIT_CONFIG_NOSYSTEM=1") {
		t.Fatalf("backend environment (HTTP %d) lacks the expected variables", r.status)
	}
	if strings.Contains(env, tok) || strings.Contains(env, "HTTP_AUTHORIZATION") {
		t.Errorf("the token reached the backend's environment")
	}
}

// gitClient runs the real git with a credential helper script that reads
// the token from a 0600 file, so the token is in no command line or
// environment.
type gitClient struct {
	t         *testing.T
	home      string
	tokenFile string
	helper    string
}

func newGitClient(t *testing.T) *gitClient {
	secrets := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "githubtest-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		secrets = d
	}
	c := &gitClient{t: t, home: t.TempDir(), tokenFile: filepath.Join(secrets, "token"), helper: filepath.Join(secrets, "helper")}
	script := "#!/bin/sh\ntest \"$1\" = get || exit 0\necho username=x-access-token\nprintf 'password=%s\\n' \"$(cat '" + c.tokenFile + "')\"\n"
	if err := os.WriteFile(c.helper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *gitClient) useToken(tok string) {
	if err := os.WriteFile(c.tokenFile, []byte(tok), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// run runs git in dir and returns its combined output and whether it
// succeeded.
func (c *gitClient) run(dir string, args ...string) (string, bool) {
	c.t.Helper()
	args = append([]string{"-c", "credential.helper=", "-c", "credential.helper=" + c.helper,
		"-c", "user.name=Octo Cat", "-c", "user.email=octocat@example.com"}, args...)
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func TestRealGitCloneAndPush(t *testing.T) {
	requireGit(t)
	var log testsupport.SyncBuffer
	s, tok := gitServer(t, &log)
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
	git := newGitClient(t)
	git.useToken(tok)
	work := t.TempDir()
	checkNoToken := func(out string) {
		t.Helper()
		for _, issued := range s.IssuedTokens() {
			if strings.Contains(out, issued) {
				t.Fatalf("git output contains token %s", redact(issued))
			}
		}
	}

	out, ok := git.run(work, "clone", s.URL+"/octocat/hello-world.git", "hello")
	checkNoToken(out)
	if !ok {
		t.Fatalf("clone failed:\n%s", out)
	}
	clone := filepath.Join(work, "hello")
	if b, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || string(b) != "# hello-world\n" {
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
		if out, ok := git.run(clone, args...); !ok {
			t.Fatalf("git %s:\n%s", args[0], out)
		}
	}
	out, ok = git.run(clone, "push", "origin", "main")
	checkNoToken(out)
	if !ok {
		t.Fatalf("push failed:\n%s", out)
	}
	// git probes with a small request before sending a large pack.
	sawChunked := false
	for len(chunkedPush) > 0 {
		sawChunked = sawChunked || <-chunkedPush
	}
	if !sawChunked {
		t.Error("the push was not sent chunked; the chunked path went untested")
	}
	local, _ := git.run(clone, "rev-parse", "HEAD")
	remote, err := exec.Command("git", "--git-dir", s.repoDir("octocat/hello-world"), "rev-parse", "main").Output()
	if err != nil || string(remote) != local {
		t.Errorf("server has main at %q (%v), pushed %q", remote, err, local)
	}

	out, ok = git.run(work, "clone", s.URL+"/octocat/private-notes.git", "notes")
	checkNoToken(out)
	if ok || !strings.Contains(out, "Permission to octocat/private-notes.git denied to octocat.") || !strings.Contains(out, "403") {
		t.Errorf("clone of a repository the app is not installed on: ok=%v\n%s", ok, out)
	}

	out, ok = git.run(work, "clone", s.URL+"/octocat/nope", "nope")
	if ok || !strings.Contains(out, "Repository not found.") {
		t.Errorf("clone of an unknown repository: ok=%v\n%s", ok, out)
	}

	s.Revoke(tok)
	out, ok = git.run(clone, "fetch", "origin")
	checkNoToken(out)
	if ok || !strings.Contains(out, "Authentication failed") {
		t.Errorf("fetch with a revoked token: ok=%v\n%s", ok, out)
	}

	logged := log.String()
	for _, want := range []string{"fetch from octocat/hello-world by octocat", "push to octocat/hello-world by octocat", "403", "401"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
	checkNoToken(logged)
	if bytes.Contains([]byte(logged), big[:64]) {
		t.Error("log contains pushed data")
	}
}
