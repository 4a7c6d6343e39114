package main

// Untrusted input: what a hostile repository, a hostile or broken server
// and a crafted remote URL can send the helper. Nothing they send may
// reach a terminal as a control sequence, carry a token elsewhere, grow
// the helper without bound, or outlive the helper's promises.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

const relTrust = "untrusted input"

// noControls fails the test when s holds an ESC or another C0 or C1
// control that could move the cursor, recolour or hide text.
func noControls(t *testing.T, what, s string) {
	t.Helper()
	for i, r := range s {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Errorf("%s holds control %U at byte %d: %q", what, r, i, relHide(s))
			return
		}
	}
}

// A submodule URL can carry %1B escapes that git decodes into the path it
// hands the helper: none may come out as an ESC byte.
func TestTrustEscapesInASubmoduleURL(t *testing.T) {
	e := newEnv(t, faultStore, githubtest.Options{})
	rc := e.relCase(relTrust, "submodule URL with %1B escapes in its path", "no ESC or other control byte on the helper's output (git fails the submodule, which does not exist)")
	e.gitConfig("credential.useHttpPath", "true")
	// The first get signs in, so the reach is known and a warning could fire.
	if _, stderr, err := e.helper(e.hostLine()+"path=octocat/hello.git\n", "get"); err != nil {
		t.Fatalf("sign-in: %v\n%s", err, stderr)
	}
	evil := e.srv.URL + "/%1B%5B2K%1B%5B1Ggit-credential-ghapp%3A%20your%20token%20expired%1B%5B8m/x.git"
	dir := e.clone("octocat/hello")
	if err := os.WriteFile(filepath.Join(dir, ".gitmodules"), []byte("[submodule \"notes\"]\n\tpath = notes\n\turl = "+evil+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	head := strings.TrimSpace(e.git(dir, "rev-parse", "HEAD"))
	e.git(dir, "update-index", "--add", "--cacheinfo", "160000,"+head+",notes")
	e.git(dir, "add", ".gitmodules")
	e.git(dir, "commit", "-qm", "add a submodule")
	e.git(dir, "push", "-q", "origin", "HEAD")

	target := filepath.Join(e.work, "recursive")
	_, stderr, err := e.runIn(e.work, "", "git", "clone", "--recurse-submodules", e.repoURL("octocat/hello"), target)
	rc.Measured("git clone --recurse-submodules: exit %d; %d bytes on stderr, %d ESC bytes", relExitCode(err), len(stderr), strings.Count(stderr, "\x1b"))
	if strings.Contains(stderr, "\x1b") {
		t.Errorf("an ESC byte reached stderr: %q", relHide(stderr))
	}
	// And asked directly, with the path git would send.
	_, stderr, _ = e.helper(e.hostLine()+"path=\x1b[2K\x1b[1Gevil/x.git\n", "get")
	noControls(t, "the helper's stderr for an escaped path", stderr)
	rc.Measured("helper get with the decoded path: stderr %q", stderr)
}

// A user name in the remote URL is shown back only with its controls
// made visible.
func TestTrustEscapesInTheUserName(t *testing.T) {
	e := newEnv(t, faultStore, githubtest.Options{})
	rc := e.relCase(relTrust, "remote URL user name with escapes", "the helper's one error line shows the escapes as text; no control byte reaches stderr")
	_, stderr, err := e.run("git", "ls-remote", strings.Replace(e.repoURL("octocat/hello"), "http://", "http://%1B%5B31mhubot@", 1))
	rc.Measured("git ls-remote: exit %d; helper said: %s", relExitCode(err), strings.Join(relErrorLines(stderr), " / "))
	noControls(t, "git's stderr", stderr)
	if !strings.Contains(stderr, `\x1b[31mhubot`) {
		t.Errorf("the user name is not shown with its escape made visible:\n%s", relHide(stderr))
	}
}

// A server may put escapes in what it sends: the user code, the
// verification URI and the names of accounts the app is installed on.
func TestTrustEscapesFromTheServer(t *testing.T) {
	e := newEnv(t, faultStore, githubtest.Options{})
	rc := e.relCase(relTrust, "escapes in user_code, verification_uri and account names", "the prompt, the signed-in line and status show them as text; no control byte on stderr or stdout")
	e.srv.Install(testUser, "evil\x1b[8morg")
	e.srv.Intercept(faultOnce(relDeviceCodePath, faultRewrite(e.srv, func(f map[string]any) {
		f["user_code"] = fmt.Sprint(f["user_code"]) + "\x1b[2K"
		f["verification_uri"] = fmt.Sprint(f["verification_uri"]) + "\x9b31m"
	})))
	out, stderr, err := e.helper(e.hostLine(), "get")
	if err != nil || !strings.Contains(out, "password=ghu_") {
		t.Fatalf("get: %v\n%s", err, relHide(stderr))
	}
	noControls(t, "the sign-in's stderr", stderr)
	st, sterr := e.ghapp("status")
	noControls(t, "status", st+sterr)
	if !strings.Contains(st, `evil\x1b[8morg`) {
		t.Errorf("status does not show the account name with its escape made visible:\n%s", st)
	}
	rc.Measured("sign-in stderr: %d ESC bytes; status: %d ESC bytes, shows %q", strings.Count(stderr, "\x1b"), strings.Count(st, "\x1b"), `evil\x1b[8morg`)
}

// redirectTarget is a server on another port that records whatever
// reaches it.
type redirectTarget struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // method, path, Authorization and body of each request
}

func newRedirectTarget(t *testing.T) *redirectTarget {
	rt := &redirectTarget{}
	rt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		body.ReadFrom(r.Body)
		rt.mu.Lock()
		rt.seen = append(rt.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+body.String())
		rt.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"login":"octocat","installations":[]}`))
	}))
	t.Cleanup(rt.Close)
	return rt
}

func (rt *redirectTarget) requests() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.seen...)
}

// No request that carries a token follows a redirect: not to another
// port, not to plain http, not in a POST body.
func TestTrustRedirects(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		code       int
		run        func(e *env) (string, string, error)
		want       string // where the redirect error must show
	}{
		{"/user at sign-in", relUserPath, http.StatusFound, func(e *env) (string, string, error) { return e.helper(e.hostLine(), "get") }, "stderr"},
		{"installation listing in status", "/api/v3/user/installations", http.StatusMovedPermanently, func(e *env) (string, string, error) { return e.helper("", "status") }, "stdout"},
		{"credentials/revoke at logout", "/api/v3/credentials/revoke", http.StatusTemporaryRedirect, func(e *env) (string, string, error) { return e.helper("", "logout", "--host", e.srv.URL) }, "stdout"},
	} {
		t.Run(strings.ReplaceAll(tc.name, "/", ""), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, faultStore, githubtest.Options{})
			rc := e.relCase(relTrust, "HTTP "+strconv.Itoa(tc.code)+" redirect of "+tc.name+" to another port",
				"the other port receives no request (so no token in a header or body); the command ends with the one-line redirect error")
			target := newRedirectTarget(t)
			if tc.path != relUserPath {
				// Sign in first: the redirect is on what follows.
				if _, stderr, err := e.helper(e.hostLine(), "get"); err != nil {
					t.Fatalf("sign-in: %v\n%s", err, relHide(stderr))
				}
			}
			e.srv.Intercept(faultOn(tc.path, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+tc.path, tc.code)
			}))
			out, stderr, err := tc.run(e)
			got := map[string]string{"stdout": out, "stderr": stderr}[tc.want]
			line := ""
			for _, l := range strings.Split(got, "\n") {
				if strings.Contains(l, "redirected to") {
					line = l
				}
			}
			rc.Measured("exit %d; other port saw %d requests; line: %s", relExitCode(err), len(target.requests()), strings.ReplaceAll(line, strings.TrimPrefix(target.URL, "http://"), "127.0.0.1:OTHER"))
			if n := len(target.requests()); n != 0 {
				t.Errorf("the other port received %d requests", n)
			}
			if !strings.Contains(line, "the server redirected to "+target.URL) || !strings.Contains(line, "the helper sends tokens only to the server they were minted for") {
				t.Errorf("%s lacks the redirect line:\n%s", tc.want, relHide(got))
			}
			noControls(t, "stderr", stderr)
		})
	}
}

const (
	rssArgv = "GHAPP_TEST_RSS_ARGV" // the command for rssWrapper, one argument a line
	rssFile = "GHAPP_TEST_RSS_FILE" // where rssWrapper writes the peak, in KiB
)

// rssWrapper runs argv and writes its peak resident size to $GHAPP_TEST_RSS_FILE.
// It runs in a fresh, small copy of the test binary: a child started
// straight from the test process would be charged the test process's own
// peak (the kernel counts the parent's memory for a vfork child until it
// execs), so the figure would say nothing about the helper.
func rssWrapper(argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, rssArgv+"=") && !strings.HasPrefix(kv, rssFile+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	err := cmd.Run()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		os.WriteFile(os.Getenv(rssFile), []byte(strconv.FormatInt(ru.Maxrss, 10)), 0o600)
	}
	if err != nil {
		return 1
	}
	return 0
}

// childRSS runs the built helper and returns its peak resident size: an
// upper bound, since the small wrapper's own peak counts too.
func (e *env) childRSS(stdin string, args ...string) (stdout string, rssMB float64, took time.Duration, err error) {
	file := filepath.Join(e.t.TempDir(), "rss")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(e.environ(), rssArgv+"="+strings.Join(append([]string{filepath.Join(e.bin, "git-credential-ghapp")}, args...), "\n"), rssFile+"="+file)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start := time.Now()
	err = cmd.Run()
	took = time.Since(start)
	kb, _ := strconv.ParseFloat(strings.TrimSpace(string(readFileOr(file))), 64)
	return out.String(), kb / 1024, took, err
}

func readFileOr(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// A server that lists 30,000 installations in one page gets at most what
// the helper reads, and the helper stays small and quick.
func TestTrustHugeListings(t *testing.T) {
	e := newEnv(t, faultStore, githubtest.Options{})
	rc := e.relCase(relTrust, "30,000 installations in one page", "get and status each stay under 50 MB of RSS and 5 s; status says the listing was cut")
	var page bytes.Buffer
	page.WriteString(`{"total_count":30000,"installations":[`)
	for i := range 30000 {
		if i > 0 {
			page.WriteByte(',')
		}
		fmt.Fprintf(&page, `{"id":%d,"app_slug":"ghapp-stand-in","account":{"login":"org%05d","type":"Organization"},"repository_selection":"all","permissions":{"contents":"write","metadata":"read"}}`, i+1, i)
	}
	page.WriteString(`]}`)
	body := page.Bytes()
	e.srv.Intercept(faultOn("/api/v3/user/installations", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	out, rss, took, err := e.childRSS(e.hostLine(), "get")
	if err != nil || !strings.Contains(out, "password=ghu_") {
		t.Fatalf("get: %v", err)
	}
	st, srss, stook, err := e.childRSS("", "status")
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	rc.Measured("get (sign-in): %.1f MB RSS in %.2f s; status: %.1f MB RSS in %.2f s (%d KB page)", rss, took.Seconds(), srss, stook.Seconds(), len(body)>>10)
	for _, m := range []struct {
		what string
		rss  float64
		took time.Duration
	}{{"get", rss, took}, {"status", srss, stook}} {
		if m.rss > 50 || m.took > 5*time.Second {
			t.Errorf("%s used %.1f MB and %v, want under 50 MB and 5 s", m.what, m.rss, m.took)
		}
	}
	if !strings.Contains(st, "org00099") || strings.Contains(st, "org00100") {
		t.Errorf("status does not stop at 100 installations")
	}
	if !strings.Contains(st, "cut") {
		t.Errorf("status does not say the listing was cut:\n%.400s", st)
	}
}

// An installation list too large for the daemon's frame is trimmed, not a
// reason to write the token to a file: the token stays in memory even
// when the runtime directory is on a persistent disk.
func TestTrustOversizedReachStaysInMemory(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	rc := e.relCase(relTrust, "70 kB installation list, runtime directory on a persistent disk", "the token stays in the daemon (the next get is a hit, no new code); no file anywhere holds it")
	e.runtime = filepath.Join(t.TempDir(), "rt") // /tmp: a disk here, not tmpfs
	var list bytes.Buffer
	list.WriteString(`{"total_count":1000,"repositories":[`)
	for i := range 1000 {
		if i > 0 {
			list.WriteByte(',')
		}
		fmt.Fprintf(&list, `{"full_name":"octocat/a-repository-with-a-rather-long-name-number-%04d","private":false}`, i)
	}
	list.WriteString(`]}`)
	body := list.Bytes()
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/repositories") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return true
	})
	for i := range 2 {
		out, stderr, err := e.helper(e.hostLine(), "get")
		if err != nil || !strings.Contains(out, "password=ghu_") {
			t.Fatalf("get %d: %v\n%s", i+1, err, relHide(stderr))
		}
		if strings.Contains(stderr, "tmpfs") {
			t.Errorf("get %d fell back to files: %s", i+1, stderr)
		}
	}
	rc.Measured("%d KB listing; %d device codes for two gets; files in the runtime dir: %s", len(body)>>10, e.codes(), filesIn(e.runtime))
	if e.codes() != 1 {
		t.Errorf("%d device codes, want 1: the token was not kept", e.codes())
	}
	e.assertNoTokenIn(e.runtime, e.home, e.work, os.TempDir())
}

func filesIn(dir string) string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, d := range entries {
		names = append(names, d.Name())
	}
	return strings.Join(names, ", ")
}

// GitHub logins are case-insensitive: a URL naming the account in another
// case is the same account.
func TestTrustLoginCase(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		rc := e.relCase(relTrust, "remote URL names the account as OctoCat after signing in as octocat ("+store+")", "cache hits, no new device code")
		if _, stderr, err := e.helper(e.hostLine(), "get"); err != nil {
			t.Fatalf("sign-in: %v\n%s", err, stderr)
		}
		for _, u := range []string{"OctoCat", "OCTOCAT"} {
			out, stderr, err := e.helper(e.hostLine()+"username="+u+"\n", "get")
			if err != nil || !strings.Contains(out, "password=ghu_") {
				t.Fatalf("get as %s: %v\n%s", u, err, stderr)
			}
		}
		rc.Measured("%d device codes for three gets", e.codes())
		if e.codes() != 1 {
			t.Errorf("%d device codes, want 1", e.codes())
		}
	})
}

// Whatever expires_in a server sends, nothing outlives 8 hours; and a
// login that could break git's answer is never kept.
func TestTrustServerValues(t *testing.T) {
	t.Run("expiry", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, faultStore, githubtest.Options{TokenLifetime: 10 * 365 * 24 * time.Hour})
		rc := e.relCase(relTrust, "expires_in of 10 years", "password_expiry_utc at most now + 8 h")
		out, stderr, err := e.helper(e.hostLine(), "get")
		if err != nil {
			t.Fatalf("get: %v\n%s", err, stderr)
		}
		var expiry int64
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "password_expiry_utc="); ok {
				expiry, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		left := time.Until(time.Unix(expiry, 0))
		rc.Measured("password_expiry_utc is now + %s", left.Round(time.Minute))
		if expiry == 0 || left > 8*time.Hour {
			t.Errorf("password_expiry_utc %d is %v away, want at most 8h", expiry, left)
		}
	})
	t.Run("login with a newline", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, faultStore, githubtest.Options{})
		rc := e.relCase(relTrust, "login containing \\nquit=1", "the sign-in fails with one line; nothing is kept")
		e.srv.Intercept(faultOn(relUserPath, func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"login": "octocat\nquit=1\nhost=evil.example", "id": 1})
		}))
		line := e.relFailedGet(rc, relNoHang, "not a valid account name")
		noControls(t, "the error line", line)
		e.srv.Intercept(nil)
		st, _ := e.ghapp("status", "--json")
		var r status.Report
		if err := json.Unmarshal([]byte(st), &r); err != nil || len(r.Accounts) != 0 {
			t.Errorf("something was kept: %v %s", err, st)
		}
		rc.Measured("accounts kept afterwards: %d", len(r.Accounts))
	})
}
