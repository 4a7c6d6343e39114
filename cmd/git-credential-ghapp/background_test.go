package main

// Signing in where git runs without a terminal: the JupyterLab git panel,
// RStudio and VS Code run git with GIT_TERMINAL_PROMPT=0 and read its
// stderr only when it ends. The memory daemon runs the sign-in in the
// background; git is told the code and stops at once, without asking for
// a password; the next git command after approval is a cache hit.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport/browser"
)

// askpassRecorder points GIT_ASKPASS at a script that records each call,
// and returns a function that reads the record.
func (e *env) askpassRecorder() func() string {
	dir := e.t.TempDir()
	log := filepath.Join(dir, "asked")
	script := filepath.Join(dir, "askpass")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+log+"\necho nothing\n"), 0o700); err != nil {
		e.t.Fatal(err)
	}
	e.extra = append(e.extra, "GIT_ASKPASS="+script, "SSH_ASKPASS="+script)
	return func() string { return string(readFileOr(log)) }
}

var codeLine = regexp.MustCompile(`git-credential-ghapp: to sign in to (\S+), open (\S+) and enter the code ([A-Z0-9-]+) \(valid until \d\d:\d\d\)\n`)

// shownCode returns the code a background sign-in printed, or "".
func shownCode(stderr string) string {
	if m := codeLine.FindStringSubmatch(stderr); m != nil {
		return m[3]
	}
	return ""
}

func TestBackgroundSignInWithoutATerminal(t *testing.T) {
	for _, how := range []string{"GIT_TERMINAL_PROMPT=0", "ghapp.interactive=false"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "memory", githubtest.Options{})
			e.srv.AutoApprove("") // a person enters the code, later
			if how == "GIT_TERMINAL_PROMPT=0" {
				e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
			} else {
				e.gitConfig("ghapp.interactive", "false")
			}
			asked := e.askpassRecorder()
			dir := filepath.Join(e.work, "hello")
			start := time.Now()
			_, stderr, err := e.runIn(e.work, "", "git", "clone", e.repoURL("octocat/hello"), dir)
			took := time.Since(start)
			if err == nil {
				t.Fatal("the clone succeeded before anyone signed in")
			}
			if took > 5*time.Second {
				t.Errorf("git took %v to fail, want under 5 s", took)
			}
			code := shownCode(stderr)
			if pending := e.srv.PendingCodes(); code == "" || len(pending) != 1 || pending[0] != code {
				t.Fatalf("stderr shows code %q, the stand-in issued %q:\n%s", code, pending, stderr)
			}
			if !strings.Contains(stderr, "to sign in to "+e.hostPort()+", open "+e.srv.URL+"/login/device and enter the code "+code) ||
				!strings.Contains(stderr, "\ngit-credential-ghapp: then run the git command again\n") {
				t.Errorf("stderr lacks the two lines:\n%s", stderr)
			}
			for _, bad := range []string{"Username for", "Password for", "could not read Username"} {
				if strings.Contains(stderr, bad) {
					t.Errorf("git asked for a password (%q):\n%s", bad, stderr)
				}
			}
			if a := asked(); a != "" {
				t.Errorf("git ran GIT_ASKPASS: %q", a)
			}
			// The person enters the code; the next git command is a hit.
			approved := time.Now()
			if err := e.srv.Approve(code, testUser); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the daemon to keep the token", func() bool {
				out, _, _ := e.helper(e.hostLine(), "get")
				return strings.Contains(out, "password=ghu_")
			})
			t.Logf("approval to cache hit: %v (the stand-in's polling interval is 1 s)", time.Since(approved).Round(10*time.Millisecond))
			e.git(e.work, "clone", "-q", e.repoURL("octocat/hello"), dir)
			e.commit(dir)
			if stderr, err := e.push(dir); err != nil {
				t.Fatalf("push after approval: %v\n%s", err, stderr)
			}
			if e.codes() != 1 {
				t.Errorf("%d device codes, want 1", e.codes())
			}
		})
	}
}

func (e *env) hostPort() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// Ten git commands at once, none of which may wait: one code, shown to all.
func TestBackgroundSignInConcurrent(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	e.srv.AutoApprove("")
	e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
	const n = 10
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, stderr, _ := e.run("git", "ls-remote", e.repoURL("octocat/hello"))
			codes[i] = shownCode(stderr)
		}()
	}
	wg.Wait()
	if e.codes() != 1 {
		t.Errorf("%d device codes for %d commands, want 1", e.codes(), n)
	}
	for i, c := range codes {
		if c == "" || c != codes[0] {
			t.Errorf("command %d showed %q, command 0 %q", i, c, codes[0])
		}
	}
}

// After a denial or an expiry, the next command says which, in one line,
// and shows a fresh code.
func TestBackgroundSignInAfterDenialOrExpiry(t *testing.T) {
	for _, tc := range []struct{ name, word string }{{"denied", "denied"}, {"expired", "expired"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := githubtest.Options{}
			if tc.name == "expired" {
				opts.CodeLifetime = 2 * time.Second
			}
			e := newEnv(t, "memory", opts)
			e.srv.AutoApprove("")
			e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
			_, stderr, _ := e.helper(e.hostLine(), "get")
			first := shownCode(stderr)
			if first == "" {
				t.Fatalf("no code:\n%s", stderr)
			}
			if tc.name == "denied" {
				if err := e.srv.Deny(first); err != nil {
					t.Fatal(err)
				}
			}
			var out string
			waitFor(t, "a fresh code", func() bool {
				out, stderr, _ = e.helper(e.hostLine(), "get")
				return shownCode(stderr) != "" && shownCode(stderr) != first
			})
			var ended []string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "did not finish") {
					ended = append(ended, l)
				}
			}
			if len(ended) != 1 || !strings.Contains(ended[0], tc.word) {
				t.Errorf("want one line saying %s, got %q", tc.word, ended)
			}
			if out != "quit=1\n" {
				t.Errorf("answered %q, want quit=1", out)
			}
			if e.codes() != 2 {
				t.Errorf("%d device codes, want 2", e.codes())
			}
		})
	}
}

// A daemon killed while a code is pending: the next command starts cleanly.
func TestBackgroundSignInAfterTheDaemonIsKilled(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	e.srv.AutoApprove("")
	e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
	_, stderr, _ := e.helper(e.hostLine(), "get")
	if shownCode(stderr) == "" {
		t.Fatalf("no code:\n%s", stderr)
	}
	syscall.Kill(daemonPID(t, e.runtime), syscall.SIGKILL)
	out, stderr, err := e.helper(e.hostLine(), "get")
	if err != nil || out != "quit=1\n" || shownCode(stderr) == "" {
		t.Fatalf("get after the daemon was killed: %v, %q\n%s", err, out, stderr)
	}
	if e.codes() != 2 {
		t.Errorf("%d device codes, want 2: the dead daemon's and a fresh one", e.codes())
	}
	code := shownCode(stderr)
	if err := e.srv.Approve(code, testUser); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the token", func() bool {
		out, _, _ := e.helper(e.hostLine(), "get")
		return strings.Contains(out, "password=ghu_")
	})
}

// With ghapp.webUrl, the lines point at the sign-in page for this person.
func TestBackgroundSignInNamesThePage(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	e.srv.AutoApprove("")
	e.gitConfig("ghapp.webUrl", "https://hub.example.org/user/{user}/ghapp/")
	e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0", "JUPYTERHUB_USER=ada")
	_, stderr, _ := e.helper(e.hostLine(), "get")
	if !strings.Contains(stderr, "git-credential-ghapp: or sign in on the page https://hub.example.org/user/ada/ghapp/\n") {
		t.Errorf("no line names the page:\n%s", stderr)
	}
	st, _ := e.ghapp("status", "--json")
	if !strings.Contains(st, `"user_code": "`+shownCode(stderr)+`"`) {
		t.Errorf("status --json does not list the pending code:\n%s", st)
	}
}

// The sign-in page, served by the helper on a Unix socket behind a proxy
// that strips the hub's prefix, in a real browser: sign in, approve at the
// stand-in, see the account and its repositories appear without a reload,
// sign out.
func TestWebPageInABrowser(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	e.srv.AutoApprove("")
	sock := filepath.Join(shmDir(t)+"-web", "page.sock")
	os.MkdirAll(filepath.Dir(sock), 0o700)
	cmd, _, errb := e.startHelper("web", "--listen", "unix:"+sock)
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	waitFor(t, "the page's socket", func() bool { _, err := os.Stat(sock); return err == nil })
	page, stray := browser.Hub(t, sock, "/user/ada/ghapp/")
	ctx, problems := browser.Start(t)
	t.Cleanup(func() {
		if s := stray(); len(s) > 0 {
			t.Errorf("the page asked for paths outside its prefix: %q", s)
		}
		if p := problems(); len(p) > 0 {
			t.Errorf("the browser reported problems: %q", p)
		}
		if t.Failed() {
			t.Logf("web's stderr:\n%s", errb.String())
		}
	})
	signIn := fmt.Sprintf(`button[data-action="signin"][data-host=%q]`, e.srv.URL)
	browser.Do(t, ctx, "open the page", chromedp.Navigate(page), browser.Visible(signIn))
	browser.Get(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__testMarker = 'kept'; true`))
	browser.Do(t, ctx, "sign in", chromedp.Click(chromedp.CSS(signIn)), browser.Visible(`#pending .code`))
	code := browser.Get(t, ctx, "read the code", chromedp.Text(chromedp.CSS(`#pending .code`)))
	if pending := e.srv.PendingCodes(); len(pending) != 1 || pending[0] != code {
		t.Fatalf("the page shows %q, the stand-in issued %q", code, pending)
	}
	if err := e.srv.Approve(code, testUser); err != nil {
		t.Fatal(err)
	}
	account := `.account[data-login="octocat"]`
	browser.Do(t, ctx, "see the account appear", browser.Visible(account))
	card := browser.Get(t, ctx, "read the account", chromedp.Text(chromedp.CSS(account)))
	if !strings.Contains(card, "octocat/hello") {
		t.Errorf("the account lacks the repository the app reaches:\n%s", card)
	}
	if marker := browser.Get(t, ctx, "read the marker", chromedp.Evaluate[string](`window.__testMarker`)); marker != "kept" {
		t.Error("the page reloaded")
	}
	// git, meanwhile, is a cache hit.
	if out, _, _ := e.helper(e.hostLine(), "get"); !strings.Contains(out, "password=ghu_") {
		t.Error("the page's sign-in left no token for git")
	}
	browser.Do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(account+` button[data-action="signout"]`)),
		browser.WaitJS(`document.querySelectorAll('.account').length === 0`))
	if st, _ := e.ghapp("status", "--json"); !strings.Contains(st, `"accounts": []`) {
		t.Errorf("an account is still kept after signing out on the page:\n%s", st)
	}
	if got := e.srv.Requests("/api/v3/credentials/revoke"); got != 1 {
		t.Errorf("%d revocations, want 1", got)
	}
}
