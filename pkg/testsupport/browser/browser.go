// Package browser drives Debian's chromium from tests, through chromedp,
// and serves a page the way a hub does: under a path prefix that a proxy
// strips, from a Unix socket. scripts/test.sh installs chromium.
package browser

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// DefaultPath is where Debian's chromium lives; $GHAPP_CHROMIUM wins.
	DefaultPath = "/usr/bin/chromium"
	// StepWait bounds each step in the browser.
	StepWait = 30 * time.Second
)

// Start starts a headless chromium for the test and returns its context
// and what the page reported as a problem so far: uncaught exceptions and
// console errors (a Content-Security-Policy violation among them).
func Start(t *testing.T) (ctx context.Context, problems func() []string) {
	t.Helper()
	path := os.Getenv("GHAPP_CHROMIUM")
	if path == "" {
		path = DefaultPath
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

// Do runs steps in the browser, bounded by StepWait.
func Do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, StepWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Get runs one action that reads a value, bounded by StepWait.
func Get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, StepWait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// WaitJS waits until a JavaScript condition holds.
func WaitJS(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(StepWait))
}

// Visible waits until the element sel selects is visible.
func Visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// UnixClient talks HTTP over the socket at path.
func UnixClient(path string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}
}

// Hub serves the page on the Unix socket sock under prefix on loopback
// TCP, stripping the prefix and keeping the browser's Host, as
// jupyter-server-proxy does. It returns the page's address and the paths
// asked for outside the prefix, which a page with relative links never
// asks for.
func Hub(t *testing.T, sock, prefix string) (page string, stray func() []string) {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: "ghapp.invalid"}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = "/" + strings.TrimPrefix(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
			pr.Out.Host = pr.In.Host
		},
		Transport: UnixClient(sock).Transport,
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
