// Package deviceflow obtains a GitHub App user access token through the
// OAuth device flow (RFC 8628), which needs no client secret. It drives
// golang.org/x/oauth2 and turns every way the flow can end into one line
// that says what happened and what to do.
package deviceflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
	// Provider is "gitlab" for a GitLab server; "" or "github" is GitHub.
	Provider string
	// Scopes, space-separated, are sent as the device-code request's
	// scope when set (GitLab's applications need them; GitHub Apps take
	// none).
	Scopes string
}

const (
	// defaultCodeLife bounds the wait when a server sends no expires_in
	// (GitHub's codes last 15 minutes).
	defaultCodeLife = 15 * time.Minute
	maxCodeLife     = 30 * time.Minute
	// maxInterval keeps a bogus interval from stalling the flow; polling
	// sooner than asked only earns slow_down, which the flow honours.
	maxInterval = 60
	// A user code is a few characters (GitHub: WDJB-MJHT) and an address
	// one line; a server sending more gets it cut.
	maxUserCode = 64
	maxURI      = 1000
	// maxDescription bounds a server's error text shown in a message.
	maxDescription = 160
)

// Errors the flow ends with. Each wraps into a message with the fix.
var (
	ErrDenied   = errors.New("access denied")
	ErrExpired  = errors.New("device code expired")
	ErrDisabled = errors.New("device flow disabled")
	ErrClientID = errors.New("client ID not recognized")
)

// Token runs the flow: it asks for a code, shows it, and polls until the
// person authorizes the app, refuses, or the code expires. Neither
// request follows a redirect: the polls carry the device code.
func (f *Flow) Token(ctx context.Context) (*oauth2.Token, error) {
	hc := githubapi.NoRedirects(f.HTTP)
	rec := &recorder{next: hc.Transport, url: f.DeviceCodeURL}
	hc.Transport = rec
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)

	cfg := &oauth2.Config{
		ClientID: f.ClientID,
		Scopes:   strings.Fields(f.Scopes),
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: f.DeviceCodeURL,
			TokenURL:      f.TokenURL,
			// The default auto-detection retries every failed poll with the
			// other style: two requests per interval, which earns slow_down.
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		// A body that arrived but did not parse is the server's fault, not
		// the network's.
		return nil, f.codeError(err, rec.body())
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		// GitHub answers some errors with HTTP 200, which x/oauth2 turns
		// into an empty response: the cause is in the body.
		return nil, f.codeError(nil, rec.body())
	}
	now := time.Now()
	if da.Expiry.IsZero() || da.Expiry.After(now.Add(maxCodeLife)) {
		life := defaultCodeLife
		if !da.Expiry.IsZero() {
			life = maxCodeLife
		}
		da.Expiry = now.Add(life)
	}
	if da.Interval <= 0 {
		da.Interval = 5
	}
	da.Interval = min(da.Interval, maxInterval)
	code, err := f.code(da)
	if err != nil {
		return nil, err
	}
	if f.Show != nil {
		f.Show(code)
	}

	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err == nil {
		// expires_in is relative, so a clock skew cannot cause this: only
		// a zero-or-negative expires_in (or one that overflows) can. git
		// 2.39 ignores password_expiry_utc, so such a token must not be
		// handed out.
		if !tok.Expiry.IsZero() && !tok.Expiry.After(time.Now()) {
			return nil, fmt.Errorf("%s answered with a token that has already expired (its expires_in is not a positive number of seconds): the server misbehaved; run the git command again", host(f.TokenURL))
		}
		return tok, nil
	}
	// The library usually ends on its own deadline, not expired_token, when
	// the code runs out; and a timeout error alone cannot tell a dead code
	// from a dead network. The clock can.
	if rd := redirect(err); rd != nil {
		return nil, rd
	}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		return nil, f.pollError(re)
	case !time.Now().Before(da.Expiry):
		return nil, expired()
	case ctx.Err() != nil:
		return nil, fmt.Errorf("sign-in interrupted: %w", ctx.Err())
	}
	if strings.Contains(err.Error(), "missing access_token") {
		return nil, fmt.Errorf("%s answered without an access token: the server misbehaved; run the git command again", host(f.TokenURL))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || strings.Contains(err.Error(), "cannot parse") {
		return nil, fmt.Errorf("%s answered the token request with a body that is not a token response; run the git command again", host(f.TokenURL))
	}
	return nil, githubapi.Unreachable(f.TokenURL, err)
}

// code checks what the server sent for the person to see and makes it
// safe to show. The raw values never appear in a message.
func (f *Flow) code(da *oauth2.DeviceAuthResponse) (Code, error) {
	verify, ok := webURL(da.VerificationURI)
	if !ok {
		return Code{}, fmt.Errorf("%s sent a verification address that is not an http or https URL; check that it is a GitHub server", host(f.DeviceCodeURL))
	}
	c := Code{
		UserCode:        safetext.Short(da.UserCode, maxUserCode),
		VerificationURI: safetext.Short(da.VerificationURI, maxURI),
		Expiry:          da.Expiry,
	}
	// The complete address is shown instead of the plain one when present,
	// so it must not lead anywhere else.
	if complete, ok := webURL(da.VerificationURIComplete); ok && sameHost(complete, verify) {
		c.VerificationURIComplete = safetext.Short(da.VerificationURIComplete, maxURI)
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

// redirect returns the redirect that ended a request, or nil: one refused
// by the client, or a 3xx answer net/http left alone.
func redirect(err error) *githubapi.RedirectError {
	var rd *githubapi.RedirectError
	if errors.As(err, &rd) {
		return rd
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return githubapi.Redirected(re.Response)
	}
	return nil
}

func expired() error {
	return fmt.Errorf("%w before it was entered; run the git command again for a new code", ErrExpired)
}

// codeError explains a failed device-code request from the library's error
// or from the body of an HTTP-200 answer.
func (f *Flow) codeError(err error, body []byte) error {
	if rd := redirect(err); rd != nil {
		return rd
	}
	var re *oauth2.RetrieveError
	status := http.StatusOK
	var code, desc string
	switch {
	case errors.As(err, &re):
		status = re.Response.StatusCode
		code, desc = re.ErrorCode, re.ErrorDescription
		if code == "" {
			code, desc = errorFields(re.Body)
		}
	case err != nil && body == nil:
		return githubapi.Unreachable(f.DeviceCodeURL, err)
	default:
		code, desc = errorFields(body)
	}
	srv := host(f.DeviceCodeURL)
	switch {
	case code == "device_flow_disabled":
		return fmt.Errorf("%w for this GitHub App on %s: enable \"Device Flow\" in the app's settings (General > Identifying and authorizing users)", ErrDisabled, srv)
	case status == http.StatusNotFound || code == "Not Found" || code == "incorrect_client_credentials":
		return f.clientIDError(srv)
	case status >= 500:
		return fmt.Errorf("%s answered HTTP %d to the device-code request: the server is having trouble; try again later", srv, status)
	case code != "":
		return fmt.Errorf("%s refused the device-code request: %s; check ghapp.clientId and the app's settings", srv, describe(code, desc))
	case status != http.StatusOK:
		return fmt.Errorf("%s answered HTTP %d to the device-code request; check that it is a GitHub server", srv, status)
	}
	return fmt.Errorf("%s answered the device-code request with something that is not a device code; check that it is a GitHub server", srv)
}

func (f *Flow) clientIDError(srv string) error {
	return fmt.Errorf("%w: %q is not the client ID of a GitHub App on %s; copy the Client ID (not the App ID) from the app's settings into ghapp.clientId", ErrClientID, f.ClientID, srv)
}

// pollError explains how polling for the token ended.
func (f *Flow) pollError(re *oauth2.RetrieveError) error {
	srv := host(f.TokenURL)
	switch re.ErrorCode {
	case "access_denied":
		return fmt.Errorf("%w: the sign-in was cancelled on %s; run the git command again to retry", ErrDenied, srv)
	case "expired_token":
		return expired()
	case "device_flow_disabled":
		return fmt.Errorf("%w for this GitHub App on %s: enable \"Device Flow\" in the app's settings (General > Identifying and authorizing users)", ErrDisabled, srv)
	case "incorrect_client_credentials":
		return f.clientIDError(srv)
	case "incorrect_device_code", "unsupported_grant_type":
		return fmt.Errorf("%s rejected the device code (%s); run the git command again", srv, re.ErrorCode)
	case "":
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return fmt.Errorf("%s answered HTTP %d while waiting for authorization: the server is having trouble; try again later", srv, re.Response.StatusCode)
		}
		if re.Response != nil {
			return fmt.Errorf("%s answered HTTP %d while waiting for authorization; run the git command again", srv, re.Response.StatusCode)
		}
	}
	return fmt.Errorf("%s ended the sign-in: %s; run the git command again", srv, describe(re.ErrorCode, re.ErrorDescription))
}

// describe shows a server's error code and description as one short,
// printable line.
func describe(code, desc string) string {
	code, desc = safetext.Short(code, maxDescription), safetext.Short(desc, maxDescription)
	if desc == "" {
		return code
	}
	return code + " (" + desc + ")"
}

// errorFields reads "error" and "error_description" from a JSON or
// form-encoded body.
func errorFields(body []byte) (code, desc string) {
	var j struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &j) == nil {
		return j.Error, j.Description
	}
	if v, err := url.ParseQuery(string(body)); err == nil {
		return v.Get("error"), v.Get("error_description")
	}
	return "", ""
}

// host names the server of a configured URL, safe to show.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return safetext.Short(raw, maxURI)
	}
	return safetext.Line(u.Host)
}

// recorder keeps a copy of the device-code answer, which x/oauth2 drops
// when the status is 200.
type recorder struct {
	next http.RoundTripper
	url  string

	mu   sync.Mutex
	last []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	next := r.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || req.URL.String() != r.url {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, githubapi.MaxBody))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.last = body
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (r *recorder) body() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}
