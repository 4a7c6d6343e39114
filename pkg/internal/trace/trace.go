// Package trace writes, when $GHAPP_TRACE is set, one line to stderr for
// each decision the helper makes and each HTTP call it sends: which host
// is served and why, which store, a hit or a miss, the sign-in, the
// server's answers. It is for a person finding out why git got what it
// got, so it never writes a secret: no token, device code, refresh token
// or header, whole or in part. Callers pass only what may be shown; every
// line goes through safetext, so outside text cannot reach the terminal
// raw.
package trace

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// Prefix starts every trace line.
const Prefix = "git-credential-ghapp: trace: "

// Variable turns tracing on: any value but "", "0" and "false".
const Variable = "GHAPP_TRACE"

// enabled reads the environment once, when first asked: a cache hit pays
// one lookup, and nothing at start-up.
var enabled = sync.OnceValue(func() bool { return on(os.Getenv(Variable)) })

func on(v string) bool { return v != "" && v != "0" && v != "false" }

// Enabled reports whether $GHAPP_TRACE asks for tracing.
func Enabled() bool { return enabled() }

// Printf writes one trace line to w when tracing is on. The line is made
// safe to show whole, so a caller may pass outside text as it came; it
// must never pass a secret.
func Printf(w io.Writer, format string, args ...any) {
	if !enabled() || w == nil {
		return
	}
	fmt.Fprint(w, Prefix+safetext.Line(fmt.Sprintf(format, args...))+"\n")
}

// Transport wraps next so that each request is traced to w: its method,
// its URL without query string or user info, the status and how long it
// took. Headers and bodies, where tokens travel, are never looked at.
// With tracing off it returns next itself.
func Transport(next http.RoundTripper, w io.Writer) http.RoundTripper {
	if !enabled() {
		return next
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{next: next, w: w}
}

type transport struct {
	next http.RoundTripper
	w    io.Writer
	mu   sync.Mutex // one line at a time from concurrent requests
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	took := duration(time.Since(start))
	where := Where(r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		// A transport's error is about the connection (refused, a
		// certificate, a timeout), never the request's headers or body.
		Printf(t.w, "http %s %s failed after %s: %v", r.Method, where, took, err)
		return resp, err
	}
	Printf(t.w, "http %s %s -> %d in %s", r.Method, where, resp.StatusCode, took)
	return resp, err
}

// duration is how long a call took, to the millisecond.
func duration(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// Where is the request's URL as a trace shows it: scheme, host and path,
// without user info, query string or fragment.
func Where(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	u := *r.URL
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
