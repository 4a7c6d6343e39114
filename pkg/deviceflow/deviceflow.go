// Package deviceflow obtains a user access token through the OAuth device
// flow (RFC 8628), which needs no client secret: from a GitHub App, or
// from a GitLab application through GitLab's device authorization grant.
// It turns every way the flow can end into one line that says what
// happened and what to do.
//
// The flow asks for a code, shows it, and polls the token endpoint itself
// rather than through golang.org/x/oauth2: its own loop reads the clock
// through Flow.Now and Flow.Sleep, so that tests run the whole wait on a
// fake clock, and it sees each answer's status and headers, which rate
// limits are told by. It waits the server's interval before every poll,
// adds 5 s on each slow_down (or takes the server's interval when that is
// larger), and ends when the person authorizes the app, refuses, or the
// code runs out, which the clock decides, never an error's type.
package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// Code is what the person must see to authorize the app. Its text came
// from the server and has been through safetext: one printable line each.
type Code struct {
	UserCode        string
	VerificationURI string // an http or https URL
	// VerificationURIComplete has the code filled in, when the server
	// offers one on the same host as VerificationURI; otherwise "".
	VerificationURIComplete string
	Expiry                  time.Time
	// OffServer is set when VerificationURI is on another host (or port)
	// than the device-code endpoint: the person is sent somewhere other
	// than the server they sign in to, which deserves a warning.
	OffServer bool
}

// Flow is one app on one server.
type Flow struct {
	ClientID      string
	DeviceCodeURL string
	TokenURL      string
	HTTP          *http.Client // nil means http.DefaultClient; redirects are refused either way
	// Show is called once the code is known; it must not block.
	Show func(Code)

	// Provider is "gitlab" for a GitLab application (its device grant
	// answers errors with HTTP 400 or 401, and refuses a confidential
	// application with invalid_client); anything else, "" and "github"
	// included, is a GitHub App.
	Provider string
	// Scopes, space-separated, are sent as scope with the device-code
	// request when not empty (GitLab; GitHub Apps take none).
	Scopes string

	// Now and Sleep are the flow's clock: when the code expires, when to
	// poll next, when a rate limit ends. nil means the real clock. Sleep
	// returns ctx's error if ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

const (
	// defaultCodeLife bounds the wait when a server sends no expires_in
	// (GitHub's codes last 15 minutes, GitLab's 5).
	defaultCodeLife = 15 * time.Minute
	maxCodeLife     = 30 * time.Minute
	// defaultInterval is RFC 8628's, for a server that sends none.
	defaultInterval = 5 * time.Second
	// maxInterval keeps a bogus interval from stalling the flow; polling
	// sooner than asked only earns slow_down, which the flow honours.
	maxInterval = 60 * time.Second
	// slowDownStep is what RFC 8628 adds to the interval on slow_down.
	slowDownStep = 5 * time.Second
	// A user code is a few characters (GitHub: WDJB-MJHT) and an address
	// one line; a server sending more gets it cut.
	maxUserCode = 64
	maxURI      = 1000
	// maxDescription bounds a server's error text shown in a message.
	maxDescription = 160
	// stormSlowDowns is how many slow_down answers make a code's expiry
	// the server's doing rather than the person's.
	stormSlowDowns = 2

	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// Errors the flow ends with. Each wraps into a message with the fix.
var (
	ErrDenied   = errors.New("access denied")
	ErrExpired  = errors.New("device code expired")
	ErrDisabled = errors.New("device flow disabled")
	ErrClientID = errors.New("client ID not recognized")
	// ErrRateLimited: the server refused a device-code request or a poll
	// for its rate limit (HTTP 429, or 403 with X-RateLimit-Remaining: 0),
	// or a code expired while the server kept slowing the polls down.
	ErrRateLimited = errors.New("sign-ins are rate-limited")
)

func (f *Flow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Flow) sleep(ctx context.Context, d time.Duration) error {
	if f.Sleep != nil {
		return f.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Flow) gitlab() bool { return strings.EqualFold(f.Provider, "gitlab") }

// appKind and serverKind name what the person or an administrator fixes.
func (f *Flow) appKind() string {
	if f.gitlab() {
		return "GitLab application"
	}
	return "GitHub App"
}

func (f *Flow) serverKind() string {
	if f.gitlab() {
		return "GitLab"
	}
	return "GitHub"
}

// Token runs the flow: it asks for a code, shows it, and polls until the
// person authorizes the app, refuses, or the code expires. Neither
// request follows a redirect: the polls carry the device code.
func (f *Flow) Token(ctx context.Context) (*oauth2.Token, error) {
	dc, err := f.deviceCode(ctx)
	if err != nil {
		return nil, err
	}
	code, err := f.code(dc)
	if err != nil {
		return nil, err
	}
	if f.Show != nil {
		f.Show(code)
	}
	return f.poll(ctx, dc)
}

// deviceCode is the server's answer to the device-code request, with its
// expiry and interval made sane.
type deviceCode struct {
	device, user, verify, complete string
	expiry                         time.Time
	interval                       time.Duration
}

// deviceCode asks the server for a code.
func (f *Flow) deviceCode(ctx context.Context) (*deviceCode, error) {
	form := url.Values{"client_id": {f.ClientID}}
	if f.Scopes != "" {
		form.Set("scope", f.Scopes)
	}
	a, err := f.post(ctx, f.DeviceCodeURL, form)
	if err != nil {
		return nil, githubapi.Unreachable(f.DeviceCodeURL, err)
	}
	if limited, at := rateLimited(a, f.now()); limited {
		return nil, f.rateLimitError(at)
	}
	fs, ok := a.fields()
	if !ok || a.status/100 != 2 || fs["error"] != "" || fs["device_code"] == "" || fs["user_code"] == "" || verificationURI(fs) == "" {
		// GitHub answers some errors with HTTP 200: the cause is in the body.
		return nil, f.codeError(a)
	}
	now := f.now()
	dc := &deviceCode{device: fs["device_code"], user: fs["user_code"], verify: verificationURI(fs), complete: fs["verification_uri_complete"]}
	// A missing, zero or negative expires_in gets the default; a huge one
	// is held to maxCodeLife without overflowing a Duration.
	switch secs, ok := seconds(fs["expires_in"]); {
	case !ok || secs <= 0:
		dc.expiry = now.Add(defaultCodeLife)
	case secs >= int64(maxCodeLife/time.Second):
		dc.expiry = now.Add(maxCodeLife)
	default:
		dc.expiry = now.Add(time.Duration(secs) * time.Second)
	}
	dc.interval = interval(fs["interval"], defaultInterval)
	return dc, nil
}

// verificationURI is verification_uri, or verification_url as some servers
// spell it.
func verificationURI(fs map[string]string) string {
	if v := fs["verification_uri"]; v != "" {
		return v
	}
	return fs["verification_url"]
}

// interval reads a server's interval in seconds, held between 1 s and
// maxInterval; fallback when missing, zero or negative.
func interval(raw string, fallback time.Duration) time.Duration {
	secs, ok := seconds(raw)
	switch {
	case !ok || secs <= 0:
		return fallback
	case secs >= int64(maxInterval/time.Second):
		return maxInterval
	}
	return time.Duration(secs) * time.Second
}

// throttle counts how often the server held the polls back.
type throttle struct {
	slowDowns, limited int
}

// storm says whether the server, not the person, is why a code ran out.
func (t throttle) storm() bool { return t.slowDowns >= stormSlowDowns || t.limited > 0 }

func (t throttle) String() string {
	var parts []string
	if t.slowDowns > 0 {
		parts = append(parts, "slow_down "+times(t.slowDowns))
	}
	if t.limited > 0 {
		parts = append(parts, "rate-limited "+times(t.limited))
	}
	return strings.Join(parts, ", ")
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// poll asks for the token every interval until the flow ends. A poll
// that would come after the code's expiry is not made: the flow waits
// out the code's life and ends, so that "expired" is true when said.
func (f *Flow) poll(ctx context.Context, dc *deviceCode) (*oauth2.Token, error) {
	form := url.Values{"client_id": {f.ClientID}, "device_code": {dc.device}, "grant_type": {grantDeviceCode}}
	every := dc.interval
	wait := every
	var held throttle
	for {
		if !f.now().Add(wait).Before(dc.expiry) {
			if err := f.sleep(ctx, max(dc.expiry.Sub(f.now()), 0)); err != nil {
				return nil, interrupted(err)
			}
			return nil, f.expired(held)
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, interrupted(err)
		}
		wait = every
		a, err := f.post(ctx, f.TokenURL, form)
		if err != nil {
			var rd *githubapi.RedirectError
			switch {
			case errors.As(err, &rd):
				return nil, rd
			case !f.now().Before(dc.expiry):
				// A timeout and a dead code look alike; the clock tells.
				return nil, f.expired(held)
			case ctx.Err() != nil:
				return nil, interrupted(ctx.Err())
			}
			return nil, githubapi.Unreachable(f.TokenURL, err)
		}
		if limited, at := rateLimited(a, f.now()); limited {
			// Someone may have entered the code already: when the server
			// says when to come back and the code still lives then, wait
			// and poll on.
			if at.IsZero() || !at.Before(dc.expiry) {
				return nil, f.rateLimitError(at)
			}
			held.limited++
			wait = max(at.Sub(f.now()), every)
			continue
		}
		fs, ok := a.fields()
		code, desc := fs["error"], fs["error_description"]
		if !ok {
			code, desc = errorFields(a.body)
		}
		switch {
		case code == "authorization_pending":
			continue
		case code == "slow_down":
			held.slowDowns++
			every = min(max(every+slowDownStep, interval(fs["interval"], 0)), maxInterval)
			wait = every
			continue
		case code != "":
			return nil, f.pollError(code, desc)
		case a.status >= 500:
			return nil, fmt.Errorf("%s answered HTTP %d while waiting for authorization: the server is having trouble; try again later", host(f.TokenURL), a.status)
		case a.status/100 != 2:
			return nil, fmt.Errorf("%s answered HTTP %d while waiting for authorization; run the git command again", host(f.TokenURL), a.status)
		case !ok:
			return nil, fmt.Errorf("%s answered the token request with a body that is not a token response; run the git command again", host(f.TokenURL))
		}
		return f.token(a, fs)
	}
}

func interrupted(err error) error {
	return fmt.Errorf("sign-in interrupted: %w", err)
}

// token turns a successful answer into the token.
func (f *Flow) token(a *answer, fs map[string]string) (*oauth2.Token, error) {
	if fs["access_token"] == "" {
		return nil, fmt.Errorf("%s answered without an access token: the server misbehaved; run the git command again", host(f.TokenURL))
	}
	tok := &oauth2.Token{AccessToken: fs["access_token"], TokenType: fs["token_type"], RefreshToken: fs["refresh_token"]}
	if raw, present := fs["expires_in"]; present && raw != "" {
		secs, ok := seconds(raw)
		if !ok {
			return nil, fmt.Errorf("%s answered the token request with a body that is not a token response; run the git command again", host(f.TokenURL))
		}
		if secs != 0 {
			tok.Expiry = f.now().Add(time.Duration(secs) * time.Second)
		}
	}
	// expires_in is relative, so a clock skew cannot cause this: only a
	// zero-or-negative expires_in can. git 2.39 ignores
	// password_expiry_utc, so such a token must not be handed out.
	if !tok.Expiry.IsZero() && !tok.Expiry.After(f.now()) {
		return nil, fmt.Errorf("%s answered with a token that has already expired (its expires_in is not a positive number of seconds): the server misbehaved; run the git command again", host(f.TokenURL))
	}
	return tok.WithExtra(a.raw()), nil
}

// code checks what the server sent for the person to see and makes it
// safe to show. The raw values never appear in a message.
func (f *Flow) code(dc *deviceCode) (Code, error) {
	verify, ok := webURL(dc.verify)
	if !ok {
		return Code{}, fmt.Errorf("%s sent a verification address that is not an http or https URL; check that it is a %s server", host(f.DeviceCodeURL), f.serverKind())
	}
	c := Code{
		UserCode:        safetext.Short(dc.user, maxUserCode),
		VerificationURI: safetext.Short(dc.verify, maxURI),
		Expiry:          dc.expiry,
	}
	// The complete address is shown instead of the plain one when present,
	// so it must not lead anywhere else.
	if complete, ok := webURL(dc.complete); ok && sameHost(complete, verify) {
		c.VerificationURIComplete = safetext.Short(dc.complete, maxURI)
	}
	endpoint, err := url.Parse(f.DeviceCodeURL)
	c.OffServer = err != nil || !sameHost(verify, endpoint)
	return c, nil
}

// webURL parses raw as an absolute http or https URL.
func webURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

// sameHost reports whether a and b name the same host and port, a missing
// port being the scheme's default.
func sameHost(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "http" {
			return "80"
		}
		return "443"
	}
	name := func(u *url.URL) string { return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".") }
	return name(a) == name(b) && port(a) == port(b)
}
