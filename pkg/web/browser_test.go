package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

// The browser tests drive Debian's chromium; scripts/test.sh installs it.
const (
	chromiumPath = "/usr/bin/chromium"
	// prefix is where the hub serves the page, as jupyter-server-proxy does
	// for a server named ghapp; it is stripped before the page sees it.
	prefix = "/user/alice/ghapp/"
	// stepWait bounds each step in the browser.
	stepWait = 30 * time.Second
)

// browser starts a headless chromium for the test and returns its context
// and what the page reported as a problem so far: uncaught exceptions and
// console or browser-log errors (a CSP violation among them).
func browser(t *testing.T) (ctx context.Context, problems func() []string) {
	t.Helper()
	path := os.Getenv("GHAPP_CHROMIUM")
	if path == "" {
		path = chromiumPath
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("chromium is not installed at %s: run scripts/test.sh, which installs it (apt-get install -y chromium), or set GHAPP_CHROMIUM to a Chrome or Chromium binary", path)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(1000, 900),
		chromedp.Flag("disable-gpu", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // chromium refuses to run as root with its sandbox
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first call starts the browser for the whole test, so it runs
	// without a timeout of its own; chromium starts in a second or two.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}

	var mu sync.Mutex
	var seen []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				seen = append(seen, m.String())
				mu.Unlock()
			}
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// do runs steps in the browser, bounded by stepWait.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that reads a value, bounded by stepWait.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepWait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// hub serves the page from a Unix socket under prefix on loopback TCP,
// stripping the prefix and keeping the browser's Host, as
// jupyter-server-proxy does. It returns the page's address and the paths
// asked for outside the prefix, which a relative page never asks for.
func hub(t *testing.T, b Backend) (page string, stray func() []string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ghapp.sock")
	serveUnix(t, sock, b)
	target := &url.URL{Scheme: "http", Host: "ghapp.invalid"}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = "/" + strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
			pr.Out.Host = pr.In.Host
		},
		Transport: unixClient(sock).Transport,
	}
	var mu sync.Mutex
	var outside []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			mu.Lock()
			outside = append(outside, r.Method+" "+r.URL.Path)
			mu.Unlock()
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + prefix, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.DeleteFunc(slices.Clone(outside), func(s string) bool { return s == "GET /favicon.ico" })
	}
}

// waitJS waits until a JavaScript condition holds.
func waitJS(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepWait))
}

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// TestBrowser signs in and out in a real browser, through a proxy that
// serves the page under a prefix: the code appears, the account appears
// once the code is approved, and goes on sign-out, all without a reload.
func TestBrowser(t *testing.T) {
	f := newFake()
	page, stray := hub(t, f)
	ctx, problems := browser(t)
	// Reported even when a step fails, since they often say why.
	t.Cleanup(func() {
		if s := stray(); len(s) > 0 {
			t.Errorf("the page asked for paths outside its prefix: %q", s)
		}
		if p := problems(); len(p) > 0 {
			t.Errorf("the browser reported problems: %q", p)
		}
	})

	signIn := `button[data-action="signin"][data-host="https://github.com"]`
	do(t, ctx, "open the page", chromedp.Navigate(page), visible(signIn), visible(`#accounts .empty`))
	if !get(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.__testMarker = 'kept'; window.__loadedOnce === true`)) {
		t.Fatal("app.js did not run (window.__loadedOnce is not set)")
	}
	if loc := get(t, ctx, "location", chromedp.Location()); loc != page {
		t.Errorf("the browser is at %s, want %s", loc, page)
	}

	do(t, ctx, "sign in", chromedp.Click(chromedp.CSS(signIn)), visible(`#pending .code`))
	if code := get(t, ctx, "read the code", chromedp.Text(chromedp.CSS(`#pending .code`))); code != "WDJB-MJHT" {
		t.Errorf("code shown %q, want WDJB-MJHT", code)
	}
	size := get(t, ctx, "the code's size", chromedp.Evaluate[float64](`parseFloat(getComputedStyle(document.querySelector('#pending .code')).fontSize)`))
	if size < 32 {
		t.Errorf("the code is %.0fpx high, want large type (at least 32px)", size)
	}
	link := get(t, ctx, "the verification link", chromedp.Attributes(chromedp.CSS(`#pending a.button`)))
	if link["href"] != "https://github.com/login/device" || link["target"] != "_blank" || !strings.Contains(link["rel"], "noopener") {
		t.Errorf("verification link %v, want github.com/login/device, target=_blank, rel=noopener", link)
	}
	do(t, ctx, "the countdown shows", waitJS(`/^Expires in 1[45]:\d\d$/.test(document.querySelector('#pending .countdown').textContent)`))
	countdown := get(t, ctx, "read the countdown", chromedp.Text(chromedp.CSS(`#pending .countdown`)))
	do(t, ctx, "the countdown ticks", waitJS(fmt.Sprintf(`document.querySelector('#pending .countdown').textContent !== %q`, countdown)))
	copyButton := `#pending button[data-action="copy"]`
	do(t, ctx, "copy the code", chromedp.Click(chromedp.CSS(copyButton)),
		waitJS(fmt.Sprintf(`document.querySelector(%q).textContent !== 'Copy'`, copyButton)))
	if copied := get(t, ctx, "read the copy button", chromedp.Text(chromedp.CSS(copyButton))); copied != "Copied" && copied != "Press Ctrl+C" {
		t.Errorf("after Copy the button reads %q", copied)
	}

	// The person enters the code on GitHub.
	if !f.Approve("https://github.com", "octocat") {
		t.Fatal("the page's sign-in did not reach the backend")
	}
	account := `.account[data-login="octocat"]`
	do(t, ctx, "see the account appear", visible(account), waitJS(`document.getElementById('pending-section').hidden`))
	card := get(t, ctx, "read the account", chromedp.Text(chromedp.CSS(account)))
	for _, want := range []string{"octocat", "on github.com", "octo-org", "octo-org/analysis", "octo-org/course-notes", "Install octo-hub-git on more repositories", "Sign out"} {
		if !strings.Contains(card, want) {
			t.Errorf("the account card lacks %q:\n%s", want, card)
		}
	}
	if !regexp.MustCompile(`Token valid for (7 h 59 min|8 h)`).MatchString(card) {
		t.Errorf("the account card does not show the time left:\n%s", card)
	}
	if marker := get(t, ctx, "read the marker", chromedp.Evaluate[string](`window.__testMarker`)); marker != "kept" {
		t.Fatal("the page reloaded: the marker set by the test is gone")
	}
	repos := get(t, ctx, "repository links", chromedp.AttributesAll(chromedp.CSSAll(account+` .repos a`)))
	if len(repos) != 2 || repos[0]["href"] != "https://github.com/octo-org/analysis" || repos[0]["target"] != "_blank" {
		t.Errorf("repository links %v", repos)
	}

	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(account+` button[data-action="signout"]`)),
		visible(`#accounts .empty`),
		waitJS(`document.querySelectorAll('.account').length === 0`))
	if marker := get(t, ctx, "read the marker", chromedp.Evaluate[string](`window.__testMarker`)); marker != "kept" {
		t.Error("the page reloaded on sign-out")
	}
	logins, logouts := f.calls()
	if !slices.Equal(logins, []string{"https://github.com"}) || !slices.Equal(logouts, []string{"https://github.com octocat"}) {
		t.Errorf("the backend saw sign-ins %q and sign-outs %q", logins, logouts)
	}
}

// TestScreenshot writes a picture of the page, with one account and one
// code waiting, to the file GHAPP_SCREENSHOT names; scripts/screenshot.sh
// runs it to regenerate docs/web/page.png.
func TestScreenshot(t *testing.T) {
	out := os.Getenv("GHAPP_SCREENSHOT")
	if out == "" {
		t.Skip("set GHAPP_SCREENSHOT to a PNG path (scripts/screenshot.sh does)")
	}
	f := newFake()
	ctx := context.Background()
	f.Login(ctx, "github.com")
	f.Approve("https://github.com", "octocat")
	f.mu.Lock()
	f.accounts[0].Installations = append(f.accounts[0].Installations, status.Installation{
		ID: 7, Account: "octocat", AccountType: "User", RepositorySelection: "selected",
		Repositories: []string{"octocat/dotfiles"},
	})
	f.mu.Unlock()
	f.Login(ctx, "ghe.example.org")
	page, _ := hub(t, f)
	bctx, problems := browser(t)
	do(t, bctx, "open the page",
		chromedp.EmulateViewport(900, 1000),
		chromedp.Navigate(page),
		visible(`#pending .code`),
		visible(`.account`),
		waitJS(`/^Expires in/.test(document.querySelector('#pending .countdown').textContent)`))
	png := get(t, bctx, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("the browser reported problems: %q", p)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}
