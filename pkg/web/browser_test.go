package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport/browser"
)

// prefix is where the hub serves the page, as jupyter-server-proxy does
// for a server named ghapp; it is stripped before the page sees it.
const prefix = "/user/alice/ghapp/"

// hub serves the page for b on a Unix socket behind a prefix-stripping
// proxy.
func hub(t *testing.T, b Backend) (page string, stray func() []string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "ghapp.sock")
	serveUnix(t, sock, b)
	return browser.Hub(t, sock, prefix)
}

var (
	do      = browser.Do
	visible = browser.Visible
	waitJS  = browser.WaitJS
)

func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	return browser.Get(t, ctx, what, a)
}

// TestBrowser signs in and out in a real browser, through a proxy that
// serves the page under a prefix: the code appears, the account appears
// once the code is approved, and goes on sign-out, all without a reload.
func TestBrowser(t *testing.T) {
	f := newFake()
	page, stray := hub(t, f)
	ctx, problems := browser.Start(t)
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
	bctx, problems := browser.Start(t)
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
