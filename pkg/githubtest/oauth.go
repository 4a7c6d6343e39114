package githubtest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefresh    = "refresh_token"

	refreshTokenLifetime = 15897600 * time.Second // what GitHub sends: about six months
	// pollJitter is how much sooner than the interval a poll may come
	// without earning slow_down: timers and networks are not exact.
	pollJitter = 500 * time.Millisecond
	errorURI   = "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app#using-the-device-flow-to-generate-a-user-access-token"
)

// The error_description GitHub sends with each error.
var errorDescriptions = map[string]string{
	"authorization_pending":        "The authorization request is still pending.",
	"slow_down":                    "Too many requests have been made in the same timeframe.",
	"expired_token":                "The device_code has expired.",
	"access_denied":                "The authorization request was denied.",
	"incorrect_device_code":        "The device_code provided is not valid.",
	"incorrect_client_credentials": "The client_id and/or client_secret passed are incorrect.",
	"unsupported_grant_type":       "The grant type is not supported.",
	"device_flow_disabled":         "Device Flow must be explicitly enabled for this App",
	"bad_refresh_token":            "The refresh token passed is incorrect or expired.",
}

type codeState int

const (
	codePending codeState = iota
	codeApproved
	codeDenied
	codeRedeemed
)

type deviceCode struct {
	device, user string
	expires      time.Time
	lastPoll     time.Time // issue time until the first poll
	interval     int       // seconds; grows by 5 with each slow_down
	state        codeState
	login        string // who authorized it
}

func (c *deviceCode) pending(now time.Time) bool {
	return c.state == codePending && now.Before(c.expires)
}

type token struct {
	login   string
	refresh bool
	expires time.Time // zero: never
	revoked bool
	access  *token // for a refresh token: the access token issued with it
}

func (t *token) live(now time.Time) bool {
	return t != nil && !t.revoked && (t.expires.IsZero() || now.Before(t.expires))
}

func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("client_id") != s.opts.ClientID {
		s.logf("device code refused: unknown client ID %q", r.FormValue("client_id"))
		oauthReply(w, r, http.StatusNotFound, map[string]any{"error": "Not Found"})
		return
	}
	if s.opts.RateLimitDeviceCodes {
		s.logf("device code refused: %s is rate-limited (HTTP 429)", s.opts.AppSlug)
		w.Header().Set("Retry-After", "60")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"error":             "rate_limited",
			"error_description": "Too many device codes have been requested for this application. Try again later.",
		})
		return
	}
	if s.opts.DeviceFlowDisabled {
		s.logf("device code refused: Device Flow is disabled for %s", s.opts.AppSlug)
		s.oauthError(w, r, "device_flow_disabled", nil)
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	c := &deviceCode{
		device:   hex.EncodeToString(randomBytes(20)),
		expires:  now.Add(s.opts.CodeLifetime),
		lastPoll: now,
		interval: s.opts.Interval,
	}
	for c.user == "" || s.userCodes[c.user] != nil {
		c.user = randomString(userCodeAlphabet, 4) + "-" + randomString(userCodeAlphabet, 4)
	}
	s.codes[c.device], s.userCodes[c.user] = c, c
	s.codeOrder = append(s.codeOrder, c)
	switch {
	case s.autoDeny:
		c.state = codeDenied
	case s.autoApprove != "":
		c.state, c.login = codeApproved, s.accountLocked(s.autoApprove).login
	}
	hook := s.onCode
	s.mu.Unlock()

	s.logf("device code %s issued, valid for %s", c.user, s.opts.CodeLifetime)
	switch c.state {
	case codeDenied:
		s.logf("device code %s denied (auto-deny)", c.user)
	case codeApproved:
		s.logf("device code %s authorized by %s (auto-approve)", c.user, c.login)
	}
	// Synchronous, so that the hook has seen the code before the client has.
	if hook != nil {
		hook(c.user)
	}
	oauthReply(w, r, http.StatusOK, map[string]any{
		"device_code":      c.device,
		"user_code":        c.user,
		"verification_uri": s.URL + "/login/device",
		"expires_in":       seconds(s.opts.CodeLifetime),
		"interval":         c.interval,
	})
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("client_id") != s.opts.ClientID {
		s.logf("token request refused: unknown client ID %q", r.FormValue("client_id"))
		s.oauthError(w, r, "incorrect_client_credentials", nil)
		return
	}
	switch r.FormValue("grant_type") {
	case grantDeviceCode:
		s.redeemDeviceCode(w, r)
	case grantRefresh:
		s.refresh(w, r)
	default:
		s.oauthError(w, r, "unsupported_grant_type", nil)
	}
}

func (s *Server) redeemDeviceCode(w http.ResponseWriter, r *http.Request) {
	if s.opts.DeviceFlowDisabled {
		s.oauthError(w, r, "device_flow_disabled", nil)
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	c := s.codes[r.FormValue("device_code")]
	var (
		errCode string
		extra   map[string]any
		reply   map[string]any
	)
	switch {
	case c == nil || c.state == codeRedeemed:
		errCode = "incorrect_device_code"
	case !now.Before(c.expires):
		errCode = "expired_token"
	case now.Sub(c.lastPoll) < time.Duration(c.interval)*time.Second-pollJitter:
		c.interval += 5
		errCode, extra = "slow_down", map[string]any{"interval": c.interval}
	case s.slowDownsSent < s.opts.SlowDownPolls:
		s.slowDownsSent++
		c.interval += 5
		errCode, extra = "slow_down", map[string]any{"interval": c.interval}
	case c.state == codeDenied:
		errCode = "access_denied"
	case c.state == codePending:
		errCode = "authorization_pending"
	default:
		c.state = codeRedeemed
		reply = s.issueLocked(c.login, now)
	}
	if c != nil {
		c.lastPoll = now
	}
	s.mu.Unlock()

	if errCode != "" {
		if errCode == "slow_down" {
			s.logf("device code %s polled too fast: slow_down, interval now %ds", c.user, c.interval)
		}
		s.oauthError(w, r, errCode, extra)
		return
	}
	s.logf("device code %s redeemed: access token issued for %s", c.user, c.login)
	oauthReply(w, r, http.StatusOK, reply)
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	s.mu.Lock()
	old := s.tokens[r.FormValue("refresh_token")]
	if !old.live(now) || !old.refresh {
		s.mu.Unlock()
		s.logf("refresh refused: bad refresh token")
		s.oauthError(w, r, "bad_refresh_token", nil)
		return
	}
	// Refresh tokens rotate: the used one and its access token die.
	old.revoked, old.access.revoked = true, true
	reply := s.issueLocked(old.login, now)
	s.mu.Unlock()
	s.logf("token of %s refreshed; the old pair is revoked", old.login)
	oauthReply(w, r, http.StatusOK, reply)
}

// issueLocked mints an access token (and, when tokens expire, a refresh
// token) for login and returns the token endpoint's answer.
func (s *Server) issueLocked(login string, now time.Time) map[string]any {
	access := &token{login: login}
	reply := map[string]any{"access_token": s.mintLocked("ghu_", access), "token_type": "bearer", "scope": ""}
	if s.opts.NoTokenExpiry {
		return reply
	}
	access.expires = now.Add(s.tokenLifetime)
	refresh := &token{login: login, refresh: true, expires: now.Add(refreshTokenLifetime), access: access}
	reply["expires_in"] = seconds(s.tokenLifetime)
	reply["refresh_token"] = s.mintLocked("ghr_", refresh)
	reply["refresh_token_expires_in"] = seconds(refreshTokenLifetime)
	return reply
}

func (s *Server) mintLocked(prefix string, t *token) string {
	v := prefix + randomString(alphanumerics, 36)
	s.tokens[v] = t
	s.issued = append(s.issued, v)
	return v
}

// oauthError answers as GitHub's OAuth endpoints do: HTTP 200 with an error.
func (s *Server) oauthError(w http.ResponseWriter, r *http.Request, code string, extra map[string]any) {
	fields := map[string]any{"error": code, "error_description": errorDescriptions[code], "error_uri": errorURI}
	for k, v := range extra {
		fields[k] = v
	}
	oauthReply(w, r, http.StatusOK, fields)
}

// oauthReply answers form-encoded unless the client asked for JSON, as
// GitHub does.
func oauthReply(w http.ResponseWriter, r *http.Request, status int, fields map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, status, fields)
		return
	}
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, fmt.Sprint(x))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(v.Encode()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// seconds rounds up, so that a sub-second lifetime set by a test is not
// sent as 0, which clients read as "never expires".
func seconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// AutoApprove makes every device code issued from now on authorized as
// login at once, as if the person typed it in immediately; the client's
// first poll after the interval succeeds. login becomes a user if it was
// not one. "" turns auto-approval off. It turns AutoDeny off.
func (s *Server) AutoApprove(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login != "" {
		s.accountLocked(login).user = true
		s.autoDeny = false
	}
	s.autoApprove = login
}

// AutoDeny makes every device code issued from now on refused by the
// person. Turning it on turns AutoApprove off.
func (s *Server) AutoDeny(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoDeny = on
	if on {
		s.autoApprove = ""
	}
}

// Approve authorizes a pending device code as login, as the person would on
// the /login/device page. The code's case and dash do not matter.
func (s *Server) Approve(userCode, login string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	user := s.userLocked(login)
	if user == nil {
		return fmt.Errorf("githubtest: no user %q (add it with AddUser)", login)
	}
	c, err := s.pendingCodeLocked(userCode)
	if err != nil {
		return err
	}
	c.state, c.login = codeApproved, user.login
	s.logf("device code %s authorized by %s", c.user, user.login)
	return nil
}

// Deny refuses a pending device code, as the person pressing Cancel would.
func (s *Server) Deny(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.pendingCodeLocked(userCode)
	if err != nil {
		return err
	}
	c.state = codeDenied
	s.logf("device code %s denied", c.user)
	return nil
}

func (s *Server) pendingCodeLocked(userCode string) (*deviceCode, error) {
	c := s.userCodes[normalizeUserCode(userCode)]
	if c == nil {
		return nil, fmt.Errorf("githubtest: no device code %q was issued", userCode)
	}
	if !c.pending(s.opts.Now()) {
		return nil, fmt.Errorf("githubtest: device code %s is no longer pending (authorized, denied or expired)", c.user)
	}
	return c, nil
}

// normalizeUserCode accepts "wdjbmjht", "WDJB MJHT" and "WDJB-MJHT" alike.
func normalizeUserCode(code string) string {
	code = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	if len(code) == 8 {
		code = code[:4] + "-" + code[4:]
	}
	return code
}

// PendingCodes returns the user codes not yet authorized, denied or
// expired, oldest first.
func (s *Server) PendingCodes() []string {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.codeOrder {
		if c.pending(now) {
			out = append(out, c.user)
		}
	}
	return out
}

// OnDeviceCode sets a hook called with each user code as it is issued,
// before the client receives it, on the request's goroutine: a hook that
// blocks delays the answer. nil removes it.
func (s *Server) OnDeviceCode(f func(userCode string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCode = f
}

// SignIn makes login a user and mints an access token for it, as the
// device flow would, without the flow's round trips and waiting. It is a
// test convenience, as httptest's helpers are: for tests that need a
// signed-in token, not the flow. The token counts in IssuedTokens.
func (s *Server) SignIn(login string) (accessToken string, err error) {
	if login == "" {
		return "", fmt.Errorf("githubtest: SignIn needs a login")
	}
	now := s.opts.Now()
	s.mu.Lock()
	s.accountLocked(login).user = true
	reply := s.issueLocked(login, now)
	s.mu.Unlock()
	s.logf("%s signed in directly: access token issued", login)
	return reply["access_token"].(string), nil
}

// DeviceCodesIssued returns how many device codes have been issued.
func (s *Server) DeviceCodesIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.codeOrder)
}

// IssuedDeviceCodes returns every device code ever issued (the secret
// the client polls with, not the user code people type), oldest first,
// so that tests can look for them where they must not be.
func (s *Server) IssuedDeviceCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.codeOrder))
	for i, c := range s.codeOrder {
		out[i] = c.device
	}
	return out
}

// IssuedTokens returns every access and refresh token ever issued, oldest
// first, so that tests can look for them where they must not be.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Revoke kills one access or refresh token; unknown tokens are ignored.
// Revoking an access token leaves its refresh token alive.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil && !t.revoked {
		t.revoked = true
		s.logf("a token of %s was revoked", t.login)
	}
}

// RevokeAll kills every token issued so far.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.revoked = true
	}
	s.logf("all tokens revoked")
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

const (
	alphanumerics    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ" // no vowels, so no words (RFC 8628 §6.1)
)

// randomString uses math/rand/v2's global generator: ChaCha8 seeded from
// the operating system, unpredictable enough for a stand-in's tokens.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

var devicePage = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Device Activation</title></head>
<body>
<h1>Device Activation</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if not .Done}}<form method="post" action="/login/device">
<p>Enter the code displayed on your device to authorize <strong>{{.App}}</strong>.</p>
<p><label>Code <input name="user_code" value="{{.Code}}" placeholder="XXXX-XXXX" autocomplete="off" autofocus></label></p>
<p><label>Signed in as <input name="login" value="{{.Login}}" placeholder="login"></label></p>
<p><button name="action" value="authorize">Authorize {{.App}}</button>
<button name="action" value="cancel">Cancel</button></p>
</form>{{end}}
</body></html>
`))

type devicePageData struct {
	App, Code, Login, Message string
	Done                      bool
}

func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	s.renderDevicePage(w, http.StatusOK, devicePageData{Code: r.FormValue("user_code")})
}

// handleDeviceForm is the person pressing Authorize or Cancel.
func (s *Server) handleDeviceForm(w http.ResponseWriter, r *http.Request) {
	d := devicePageData{Code: r.FormValue("user_code"), Login: r.FormValue("login")}
	var err error
	if r.FormValue("action") == "cancel" {
		if err = s.Deny(d.Code); err == nil {
			d.Message, d.Done = "Authorization cancelled. You can close this window.", true
		}
	} else if err = s.Approve(d.Code, d.Login); err == nil {
		d.Message, d.Done = "Congratulations, you're all set! Your device is now connected to "+s.opts.AppSlug+".", true
	}
	status := http.StatusOK
	if err != nil {
		d.Message, status = strings.TrimPrefix(err.Error(), "githubtest: "), http.StatusUnprocessableEntity
	}
	s.renderDevicePage(w, status, d)
}

func (s *Server) renderDevicePage(w http.ResponseWriter, status int, d devicePageData) {
	d.App = s.opts.AppSlug
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	devicePage.Execute(w, d)
}
