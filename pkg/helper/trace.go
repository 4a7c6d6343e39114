package helper

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/credential"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/trace"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// The $GHAPP_TRACE lines: what the helper decided and why, one line each.
// Nothing here may show a token: tokens are described by their login and
// expiry only. trace.Printf makes each line safe to show.

func (h *Helper) traceRequest(op string, req *credential.Request) {
	if !trace.Enabled() {
		return
	}
	line := op + " request: protocol=" + req.Protocol + " host=" + req.Host
	if req.Path != "" {
		line += " path=" + req.Path
	}
	if req.Username != "" {
		line += " username=" + req.Username
	}
	if req.Password != "" {
		line += " (with a password, not shown)"
	}
	trace.Printf(h.Stderr, "%s", line)
}

func (h *Helper) traceUnservable(req *credential.Request) {
	trace.Printf(h.Stderr, "not served: %s://%s is neither https nor http to this machine, left to other helpers", req.Protocol, req.Host)
}

// traceServed says whether o is served and what made it so.
func (h *Helper) traceServed(o origin.Origin, s config.Settings) {
	switch {
	case o.IsGitHub():
		trace.Printf(h.Stderr, "served: %s, always served", o)
	case s.HostConfigured:
		trace.Printf(h.Stderr, "served: a ghapp.<url>.clientId matches %s", o)
	default:
		trace.Printf(h.Stderr, "not served: no ghapp.<url>.clientId matches %s, left to other helpers", o)
	}
}

func (h *Helper) traceSettings(url string, s config.Settings) {
	if !trace.Enabled() {
		return
	}
	from := s.ClientIDSource
	if from == "" {
		from = "nowhere (none set)"
	}
	trace.Printf(h.Stderr, "config for %s: client ID %s from %s, store %s, interactive %t, background sign-in %t, minLifetime %s",
		url, s.ClientID, from, s.Store, s.Interactive, s.BackgroundSignIn, s.MinLifetime)
}

func (h *Helper) traceStoreChoice(name string, s *config.Settings) {
	why := "the default"
	switch {
	case h.StoreFlag != "":
		why = "--store or $GHAPP_STORE"
	case s != nil && s.Store != "" && s.Store != "auto":
		why = "ghapp.store"
	}
	when := "configuration read"
	if s == nil {
		when = "before reading configuration"
	}
	trace.Printf(h.Stderr, "store %s opened (%s; %s)", name, why, when)
}

// traceLookup says whether a lookup in st was a hit, and why not when it
// was a miss.
func (h *Helper) traceLookup(st store.Store, o origin.Origin, login string, tok store.Token, err error) {
	if !trace.Enabled() {
		return
	}
	name := "?"
	if ns, ok := st.(namedStore); ok {
		name = ns.name
	}
	kept := func() (store.Token, error) { return st.Get(o.String(), "") }
	trace.Printf(h.Stderr, "store %s: %s", name, lookupVerdict(o, login, tok, err, kept, h.now()))
}

// lookupVerdict is a hit, or a miss and why: nothing kept, kept for
// another account, expired, or too little life left. kept returns the
// token kept for o whatever its account.
func lookupVerdict(o origin.Origin, login string, tok store.Token, err error, kept func() (store.Token, error), now time.Time) string {
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "lookup for " + o.String() + " failed"
	case err == nil && tok.Usable(now):
		return fmt.Sprintf("hit for %s: %s, %s left", o, tok.Login, roughly(tok.Expiry.Sub(now)))
	case err != nil && login != "":
		if other, err := kept(); err == nil && !equalFold(other.Login, login) {
			return fmt.Sprintf("miss for %s: login mismatch, the token kept is %s's, the request names %s", o, other.Login, login)
		}
		return fmt.Sprintf("miss for %s as %s: none kept", o, login)
	case err != nil, tok.AccessToken == "":
		return fmt.Sprintf("miss for %s: none kept", o)
	case !now.Before(tok.Expiry):
		return fmt.Sprintf("miss for %s: %s's token expired at %s", o, tok.Login, tok.Expiry.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("miss for %s: too little life left in %s's token (%s, minLifetime %s)", o, tok.Login, roughly(tok.Expiry.Sub(now)), tok.MinLifetime)
}

// roughly rounds a duration for a trace line.
func roughly(d time.Duration) string { return d.Round(time.Second).String() }

// traceSignInEnd says how a sign-in ended; its error is printed anyway.
func (h *Helper) traceSignInEnd(o origin.Origin, tok store.Token, err error) {
	if err != nil {
		trace.Printf(h.Stderr, "sign-in to %s: ended without a token", o)
		return
	}
	trace.Printf(h.Stderr, "sign-in to %s: ended, signed in as %s until %s", o, tok.Login, tok.Expiry.UTC().Format(time.RFC3339))
}

// TraceHTTP wraps an HTTP transport so that, under $GHAPP_TRACE, each
// call is traced to w (method, URL without query, status, duration); it
// returns next itself otherwise.
func TraceHTTP(next http.RoundTripper, w io.Writer) http.RoundTripper {
	return trace.Transport(next, w)
}
