package main

// End-to-end tests: the real git binary, configured only through git
// config, clones and pushes through the built helper against the GitHub
// stand-in on loopback.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

var (
	binDir         string // holds the built git-credential-ghapp
	keychainBinDir string // the same, built with a keychain that outlives a process
)

// stores are the token stores every end-to-end test runs against.
var stores = []string{"memory", "tmpfs", "keyring"}

func TestMain(m *testing.M) {
	if argv := os.Getenv(rssArgv); argv != "" {
		os.Exit(rssWrapper(strings.Split(argv, "\n")))
	}
	var err error
	if binDir, err = build(); err == nil {
		keychainBinDir, err = build("ghapp_testkeychain")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.RemoveAll(keychainBinDir)
	os.Exit(code)
}

func build(tags ...string) (string, error) {
	dir, err := os.MkdirTemp("", "ghapp-bin-")
	if err != nil {
		return "", err
	}
	// urfave_cli_no_docs leaves out the man-page generator, whose package
	// initialisation would otherwise run on every cache hit.
	tags = append(tags, "urfave_cli_no_docs")
	cmd := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", filepath.Join(dir, "git-credential-ghapp"), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the helper: %v\n%s", err, out)
	}
	return dir, nil
}

// eachStore runs test once per store, in parallel.
func eachStore(t *testing.T, test func(t *testing.T, store string)) { eachStoreOf(t, stores, test) }

// eachStoreOf runs test once for each of names, in parallel.
func eachStoreOf(t *testing.T, names []string, test func(t *testing.T, store string)) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, name)
		})
	}
}

// env is one person's machine: a HOME, a runtime dir on tmpfs, and a git
// configured to use the helper against one stand-in server.
type env struct {
	t       *testing.T
	store   string
	bin     string // the directory holding the helper binary
	srv     *githubtest.Server
	home    string
	work    string
	runtime string
	extra   []string // more environment, e.g. GIT_TERMINAL_PROMPT=0
	// tokens lists every token the server issued; nil means srv's.
	tokens func() []string
}

const testUser = "octocat"

func newEnv(t *testing.T, store string, opts githubtest.Options) *env {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 1
	}
	srv := githubtest.NewServer(opts)
	t.Cleanup(srv.Close)
	srv.AddUser(testUser)
	for _, r := range []string{"octocat/hello", "octocat/private-notes"} {
		if err := srv.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	srv.Install(testUser, testUser, "octocat/hello")
	srv.AutoApprove(testUser)

	e := &env{t: t, store: store, bin: binDir, srv: srv, home: t.TempDir(), work: t.TempDir(), runtime: shmDir(t)}
	if store == "keyring" {
		e.bin = keychainBinDir
		e.extra = append(e.extra, "GHAPP_TEST_KEYCHAIN="+shmDir(t))
	}
	e.gitConfig("user.name", "Octo Cat")
	e.gitConfig("user.email", "octocat@example.com")
	e.gitConfig("init.defaultBranch", "main")
	e.gitConfig("credential.helper", "ghapp")
	e.gitConfig("ghapp."+srv.URL+".clientId", srv.ClientID())
	t.Cleanup(e.assertNoTokenOnDisk)
	// Runs first: ends the memory daemon, so no test leaves one behind.
	t.Cleanup(func() { e.helper("", "logout", "--all") })
	return e
}

// shmDir makes a runtime dir on tmpfs, as the store demands.
func shmDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("/dev/shm", "ghapp-e2e-")
	if err != nil {
		t.Skipf("no /dev/shm here: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	return filepath.Join(parent, "rt")
}

func (e *env) environ() []string {
	env := []string{
		"PATH=" + e.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GHAPP_STORE=" + e.store,
		"HOME=" + e.home,
		"XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GHAPP_RUNTIME_DIR=" + e.runtime,
		"LANG=C",
	}
	return append(env, e.extra...)
}

func (e *env) gitConfig(kv ...string) {
	e.t.Helper()
	if _, stderr, err := e.run("git", append([]string{"config", "--global"}, kv...)...); err != nil {
		e.t.Fatalf("git config %v: %v\n%s", kv, err, stderr)
	}
}

// run starts a command in its own session, so it has no controlling
// terminal and the device-code prompt goes to stderr, where tests read it.
func (e *env) run(name string, args ...string) (stdout, stderr string, err error) {
	return e.runIn(e.work, "", name, args...)
}

func (e *env) runIn(dir, stdin, name string, args ...string) (string, string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), e.redact(errb.String()), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("%s %v did not finish in 60s; stderr:\n%s", name, args, e.redact(errb.String()))
		return "", "", nil
	}
}

// git runs git in dir and fails the test if it fails.
func (e *env) git(dir string, args ...string) string {
	e.t.Helper()
	out, stderr, err := e.runIn(dir, "", "git", args...)
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, stderr)
	}
	return out + stderr
}

func (e *env) repoURL(name string) string { return e.srv.URL + "/" + name + ".git" }

// clone clones repo into the work dir and returns the checkout.
func (e *env) clone(repo string) string {
	e.t.Helper()
	dir := filepath.Join(e.work, strings.ReplaceAll(repo, "/", "-")+fmt.Sprint(time.Now().UnixNano()))
	e.git(e.work, "clone", "-q", e.repoURL(repo), dir)
	return dir
}

// commit adds a commit to the checkout.
func (e *env) commit(dir string) {
	e.t.Helper()
	name := fmt.Sprintf("f%d", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.git(dir, "add", name)
	e.git(dir, "commit", "-qm", name)
}

func (e *env) push(dir string) (string, error) {
	_, stderr, err := e.runIn(dir, "", "git", "push", "-q", "origin", "HEAD:main")
	return stderr, err
}

func (e *env) codes() int { return e.srv.DeviceCodesIssued() }

// redact hides every token the stand-in issued, so failure output cannot
// leak one.
func (e *env) redact(s string) string {
	for _, tok := range e.issued() {
		s = strings.ReplaceAll(s, tok, tok[:4]+"…")
	}
	return s
}

// issued returns every token the server issued.
func (e *env) issued() []string {
	if e.tokens != nil {
		return e.tokens()
	}
	return e.srv.IssuedTokens()
}

// assertNoTokenOnDisk checks that no issued token is in any file under
// HOME or the work trees.
func (e *env) assertNoTokenOnDisk() { e.assertNoTokenIn(e.home, e.work) }

// assertNoTokenIn checks that no issued token is in any regular file under
// roots.
func (e *env) assertNoTokenIn(roots ...string) {
	toks := e.issued()
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > 16<<20 {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			for _, tok := range toks {
				if bytes.Contains(data, []byte(tok)) {
					e.t.Errorf("token %s… found on disk in %s", tok[:4], path)
				}
			}
			return nil
		})
	}
}

func TestColdThenWarmPush(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		dir := e.clone("octocat/hello")
		if e.codes() != 1 {
			t.Fatalf("cold clone issued %d device codes, want 1", e.codes())
		}
		e.commit(dir)
		if stderr, err := e.push(dir); err != nil {
			t.Fatalf("warm push failed: %v\n%s", err, stderr)
		} else if strings.Contains(stderr, "enter the code") {
			t.Errorf("warm push showed a device code:\n%s", stderr)
		}
		if e.codes() != 1 {
			t.Fatalf("warm push issued a new device code (%d in all)", e.codes())
		}
	})
}

func TestColdCloneShowsTheCode(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		var code string
		e.srv.OnDeviceCode(func(c string) { code = c })
		_, stderr, err := e.run("git", "clone", e.repoURL("octocat/hello"), filepath.Join(e.work, "hello"))
		if err != nil {
			t.Fatalf("clone: %v\n%s", err, stderr)
		}
		if e.codes() != 1 || code == "" {
			t.Fatalf("%d device codes issued, want 1", e.codes())
		}
		for _, want := range []string{e.srv.URL + "/login/device", code, "signed in to " + strings.TrimPrefix(e.srv.URL, "http://") + " as octocat"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("the prompt lacks %q:\n%s", want, stderr)
			}
		}
	})
}

func TestPushOutsideInstallationFails(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		dir := e.clone("octocat/hello")
		e.git(dir, "remote", "set-url", "origin", e.repoURL("octocat/private-notes"))
		e.commit(dir)
		stderr, err := e.push(dir)
		if err == nil {
			t.Fatal("push to a repository outside the installation succeeded")
		}
		if !strings.Contains(stderr, "403") && !strings.Contains(stderr, "denied") {
			t.Errorf("push failed without saying it was refused:\n%s", stderr)
		}
		if e.codes() != 1 {
			t.Errorf("a refused push started a new device flow (%d codes)", e.codes())
		}
	})
}

func TestExpiredTokenStartsNewFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{TokenLifetime: 3 * time.Second})
		e.gitConfig("ghapp.minLifetime", "1s")
		dir := e.clone("octocat/hello")
		time.Sleep(2500 * time.Millisecond) // past expiry minus minLifetime
		e.commit(dir)
		if stderr, err := e.push(dir); err != nil {
			t.Fatalf("push after expiry: %v\n%s", err, stderr)
		}
		if e.codes() != 2 {
			t.Errorf("%d device codes, want 2 (one per token lifetime)", e.codes())
		}
	})
}

func TestRevokedTokenIsErasedThenRenewed(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		dir := e.clone("octocat/hello")
		e.srv.RevokeAll()
		e.commit(dir)
		if _, err := e.push(dir); err == nil {
			t.Fatal("push with a revoked token succeeded")
		}
		if e.codes() != 1 {
			t.Fatalf("the failed push started a device flow (%d codes)", e.codes())
		}
		if stderr, err := e.push(dir); err != nil {
			t.Fatalf("push after git erased the revoked token: %v\n%s", err, stderr)
		}
		if e.codes() != 2 {
			t.Errorf("%d device codes, want 2", e.codes())
		}
	})
}

func TestConcurrentGetsShareOneFlow(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		const n = 10
		var wg sync.WaitGroup
		errs := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, stderr, err := e.run("git", "ls-remote", e.repoURL("octocat/hello")); err != nil {
					errs[i] = fmt.Sprintf("%v: %s", err, stderr)
				}
			}()
		}
		wg.Wait()
		for i, msg := range errs {
			if msg != "" {
				t.Errorf("ls-remote %d failed: %s", i, msg)
			}
		}
		if e.codes() != 1 {
			t.Errorf("%d concurrent ls-remote issued %d device codes, want 1", n, e.codes())
		}
	})
}

func TestNonInteractiveSaysHowToSignIn(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
		// With the memory store the daemon would sign in in the background
		// (background_test.go); this is what happens without that.
		e.gitConfig("ghapp.backgroundSignIn", "false")
		_, stderr, err := e.run("git", "ls-remote", e.repoURL("octocat/hello"))
		if err == nil {
			t.Fatal("ls-remote without a token and without prompting succeeded")
		}
		if !strings.Contains(stderr, "git-credential-ghapp login --host "+e.srv.URL) {
			t.Errorf("stderr does not say how to sign in:\n%s", stderr)
		}
		if n := e.srv.Requests("/login/device/code"); n != 0 {
			t.Errorf("%d device-code requests while prompting is off", n)
		}
	})
}

func TestUnconfiguredHostIsLeftToOtherHelpers(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		e.gitConfig("--unset", "ghapp."+e.srv.URL+".clientId")
		e.gitConfig("ghapp.clientId", e.srv.ClientID()) // a plain client ID serves github.com only
		out, stderr, err := e.runIn(e.work, "protocol=http\nhost="+strings.TrimPrefix(e.srv.URL, "http://")+"\n\n", filepath.Join(e.bin, "git-credential-ghapp"), "get")
		if err != nil || out != "" || stderr != "" {
			t.Errorf("get for an unconfigured host: out=%q stderr=%q err=%v; want silence", out, stderr, err)
		}
		if e.srv.Requests("/login/device/code") != 0 {
			t.Error("the helper contacted an unconfigured host")
		}
	})
}

func TestURLUserMustMatchLogin(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		url := strings.Replace(e.repoURL("octocat/hello"), "http://", "http://bob@", 1)
		_, stderr, err := e.run("git", "ls-remote", url)
		if err == nil {
			t.Fatal("ls-remote as bob succeeded with octocat's sign-in")
		}
		if !strings.Contains(stderr, "signed in as octocat, but the remote URL asks for bob") {
			t.Errorf("stderr does not explain the mismatch:\n%s", stderr)
		}
		if out, _, _ := e.runIn(e.work, "protocol=http\nhost="+strings.TrimPrefix(e.srv.URL, "http://")+"\n\n", filepath.Join(e.bin, "git-credential-ghapp"), "get"); out == "" {
			// nothing was cached, so this is a fresh flow that succeeds as octocat
			t.Error("no token after a fresh sign-in")
		}
		if e.codes() != 2 {
			t.Errorf("the mismatched token was cached (%d codes, want 2)", e.codes())
		}
	})
}

func TestLoginAndLogout(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		out, stderr, err := e.run(filepath.Join(e.bin, "git-credential-ghapp"), "login", "--host", e.srv.URL)
		if err != nil {
			t.Fatalf("login: %v\n%s", err, stderr)
		}
		if !strings.Contains(out+stderr, "as octocat for 8h (until ") {
			t.Errorf("login did not say who signed in until when:\n%s%s", out, stderr)
		}
		e.git(e.work, "ls-remote", e.repoURL("octocat/hello"))
		if e.codes() != 1 {
			t.Fatalf("ls-remote after login issued a new code (%d)", e.codes())
		}
		tok := e.srv.IssuedTokens()[0]
		out, stderr, err = e.run(filepath.Join(e.bin, "git-credential-ghapp"), "logout", "--host", e.srv.URL)
		if err != nil || !strings.Contains(out, "token is revoked") {
			t.Fatalf("logout: %v\n%s%s", err, out, stderr)
		}
		if e.srv.Requests("/api/v3/credentials/revoke") != 1 {
			t.Error("logout did not revoke the token at the server")
		}
		_ = tok
		e.git(e.work, "ls-remote", e.repoURL("octocat/hello"))
		if e.codes() != 2 {
			t.Errorf("after logout, git did not sign in again (%d codes)", e.codes())
		}
	})
}

// helper runs the built helper directly with a request on stdin.
func (e *env) helper(stdin string, args ...string) (string, string, error) {
	return e.runIn(e.work, stdin, filepath.Join(e.bin, "git-credential-ghapp"), args...)
}

func (e *env) hostLine() string {
	return "protocol=http\nhost=" + strings.TrimPrefix(e.srv.URL, "http://") + "\n"
}

func TestGetAnswersInGitsFormat(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		out, stderr, err := e.helper(e.hostLine(), "get")
		if err != nil {
			t.Fatalf("get: %v\n%s", err, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 || lines[0] != "username=octocat" || !strings.HasPrefix(lines[1], "password=ghu_") || !strings.HasPrefix(lines[2], "password_expiry_utc=") {
			t.Fatalf("answer is not username, password, password_expiry_utc:\n%s", e.redact(out))
		}
		var expiry int64
		fmt.Sscanf(lines[2], "password_expiry_utc=%d", &expiry)
		if left := time.Until(time.Unix(expiry, 0)); left < 7*time.Hour || left > 8*time.Hour {
			t.Errorf("token expires in %v, want about 8h", left)
		}
		again, _, _ := e.helper(e.hostLine(), "get")
		if again != out || e.codes() != 1 {
			t.Errorf("second get did not answer from the cache (%d codes)", e.codes())
		}
	})
}

func TestTokenWithoutExpiryIsCapped(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{NoTokenExpiry: true})
		out, stderr, err := e.helper(e.hostLine(), "get")
		if err != nil {
			t.Fatalf("get: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "Expire user authorization tokens") {
			t.Errorf("no warning to turn expiry on:\n%s", stderr)
		}
		var expiry int64
		for _, l := range strings.Split(out, "\n") {
			fmt.Sscanf(l, "password_expiry_utc=%d", &expiry)
		}
		if left := time.Until(time.Unix(expiry, 0)); left < 7*time.Hour || left > 8*time.Hour {
			t.Errorf("token without expiry kept for %v, want 8h", left)
		}
	})
}

func TestEraseOnlyForgetsTheSameToken(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		first, _, err := e.helper(e.hostLine(), "get")
		if err != nil {
			t.Fatal(err)
		}
		// A different password is another helper's credential: keep ours.
		e.helper(e.hostLine()+"username=octocat\npassword=ghu_somethingelse\n", "erase")
		if again, _, _ := e.helper(e.hostLine(), "get"); again != first || e.codes() != 1 {
			t.Fatal("erase with another password forgot the cached token")
		}
		// The same password: forget it.
		password := strings.Split(first, "\n")[1]
		e.helper(e.hostLine()+"username=octocat\n"+password+"\n", "erase")
		if e.helper(e.hostLine(), "get"); e.codes() != 2 {
			t.Fatalf("erase with the cached password kept it (%d codes)", e.codes())
		}
		// Only protocol and host: forget every account on the host.
		e.helper(e.hostLine(), "erase")
		if e.helper(e.hostLine(), "get"); e.codes() != 3 {
			t.Fatalf("erase with protocol and host only kept the token (%d codes)", e.codes())
		}
	})
}

func TestBadInputIsOneLineAndExit1(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		for _, in := range []string{"protocol=https\nthis line has no equals sign\n", "host=a\x00b\n", "password=" + strings.Repeat("x", 70000) + "\n"} {
			out, stderr, err := e.helper(in, "get")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("exit = %v, want 1", err)
			}
			if out != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "git-credential-ghapp: ") {
				t.Errorf("want one line on stderr and nothing on stdout; got out=%q stderr=%q", out, stderr)
			}
		}
	})
}

func TestUnknownOperationIsIgnored(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		out, stderr, err := e.helper(e.hostLine(), "frobnicate")
		if err != nil || out != "" || stderr != "" {
			t.Errorf("unknown operation: out=%q stderr=%q err=%v; want silence and exit 0", out, stderr, err)
		}
		if out, _, err := e.helper(e.hostLine()+"username=x\npassword=y\n", "store"); err != nil || out != "" {
			t.Errorf("store: out=%q err=%v", out, err)
		}
		if e.codes() != 0 {
			t.Error("store or an unknown operation started a sign-in")
		}
	})
}

func TestMissingClientIDForGitHub(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		_, stderr, err := e.helper("protocol=https\nhost=github.com\n", "get")
		if err == nil {
			t.Fatal("get for github.com without a client ID succeeded")
		}
		for _, way := range []string{"--client-id", "GHAPP_CLIENT_ID", "GH_SCOPED_CREDS_CLIENT_ID", "ghapp.clientId"} {
			if !strings.Contains(stderr, way) {
				t.Errorf("error does not name %s: %s", way, stderr)
			}
		}
		if strings.Count(stderr, "\n") != 1 {
			t.Errorf("error is not one line: %q", stderr)
		}
	})
}

func TestPlainHTTPToRemoteHostGetsNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		e.gitConfig("ghapp.http://example.com.clientId", "Iv1.x")
		out, stderr, err := e.helper("protocol=http\nhost=example.com\n", "get")
		if out != "" || stderr != "" || err != nil {
			t.Errorf("plain http to a remote host: out=%q stderr=%q err=%v; want silence", out, stderr, err)
		}
	})
}
