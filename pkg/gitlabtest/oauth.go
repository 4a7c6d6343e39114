package gitlabtest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// TokenPrefix starts every access and refresh token the server issues,
// so that a token is easy to spot where it must not be.
const TokenPrefix = "gloas-"

const (
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	grantRefresh    = "refresh_token"

	// pollJitter is how much sooner than the interval a poll may come
	// without earning slow_down: timers and networks are not exact.
	pollJitter = 500 * time.Millisecond
)

// The error_description doorkeeper sends with each error.
var errorDescriptions = map[string]string{
	"invalid_client":         "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
	"invalid_grant":          "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
	"invalid_scope":          "The requested scope is invalid, unknown, or malformed.",
	"invalid_request":        "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.",
	"unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
	"authorization_pending":  "The authorization request is still pending as the end user hasn't yet completed the user-interaction steps.",
	"slow_down":              "The authorization request is still pending and polling should continue, but the interval must be increased by 5 seconds for this and all subsequent requests.",
	"expired_token":          "The device_code has expired, and the device authorization session has concluded.",
	"access_denied":          "The resource owner or authorization server denied the request.",
	"unauthorized_client":    "You are not authorized to revoke this token",
}

// knownScopes are the scopes GitLab knows for OAuth applications.
var knownScopes = map[string]bool{
	"api": true, "read_api": true, "read_user": true, "create_runner": true, "manage_runner": true,
	"k8s_proxy": true, "self_rotate": true, "read_repository": true, "write_repository": true,
	"read_virtual_registry": true, "write_virtual_registry": true, "read_registry": true,
	"write_registry": true, "read_observability": true, "write_observability": true,
	"ai_features": true, "sudo": true, "admin_mode": true, "openid": true, "profile": true, "email": true,
}

// defaultScope is what GitLab grants when a client asks for none.
const defaultScope = "api"

type codeState int

const (
	codePending codeState = iota
	codeApproved
	codeDenied
	codeGone // redeemed, or reported expired or denied: doorkeeper has deleted it
)

type deviceCode struct {
	device, user string
	scopes       []string
	expires      time.Time
	lastPoll     time.Time // zero until the first poll that was not too fast
	state        codeState
	approver     *user
}

func (c *deviceCode) pending(now time.Time) bool {
	return c.state == codePending && now.Before(c.expires)
}

// grant is one doorkeeper access token record: the access token and its
// refresh token live and die together.
type grant struct {
	access, refresh string
	user            *user
	scopes          []string
	created         time.Time
	expires         time.Time
	revoked         bool
}

func (g *grant) live(now time.Time) bool {
	return g != nil && !g.revoked && now.Before(g.expires)
}

func (g *grant) has(scopes ...string) bool {
	for _, sc := range scopes {
		if slices.Contains(g.scopes, sc) {
			return true
		}
	}
	return false
}

// clientOK says whether the request names the application and the
// application may be used without a secret.
func (s *Server) clientOK(r *http.Request) bool {
	return r.FormValue("client_id") == s.opts.ClientID && !s.opts.Confidential
}

// parseScopes checks a space-separated scope list against the scopes the
// application is registered with.
func (s *Server) parseScopes(list string) ([]string, bool) {
	var out []string
	for _, sc := range strings.Fields(list) {
		if !knownScopes[sc] || !slices.Contains(s.opts.Scopes, sc) {
			return nil, false
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		if !slices.Contains(s.opts.Scopes, defaultScope) {
			return nil, false
		}
		out = []string{defaultScope}
	}
	return out, true
}

func (s *Server) handleAuthorizeDevice(w http.ResponseWriter, r *http.Request) {
	if !s.clientOK(r) {
		s.logf("device code refused: %s", s.clientProblem(r))
		s.oauthError(w, "invalid_client", http.StatusUnauthorized)
		return
	}
	scopes, ok := s.parseScopes(r.FormValue("scope"))
	if !ok {
		s.logf("device code refused: scope %q is not one the application may grant", logSafe(r.FormValue("scope")))
		s.oauthError(w, "invalid_scope", http.StatusBadRequest)
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	c := &deviceCode{
		device:  hex.EncodeToString(randomBytes(32)),
		scopes:  scopes,
		expires: now.Add(s.opts.CodeLifetime),
	}
	for c.user == "" || s.userCodes[c.user] != nil {
		c.user = randomString(userCodeAlphabet, 8)
	}
	s.codes[c.device], s.userCodes[c.user] = c, c
	s.codeOrder = append(s.codeOrder, c)
	switch {
	case s.autoDeny:
		c.state = codeDenied
	case s.autoApprove != "":
		c.state, c.approver = codeApproved, s.userLocked(s.autoApprove)
	}
	hook := s.onCode
	s.mu.Unlock()

	s.logf("device code %s issued for scopes %s, valid for %s", c.user, strings.Join(scopes, " "), s.opts.CodeLifetime)
	switch c.state {
	case codeDenied:
		s.logf("device code %s denied (auto-deny)", c.user)
	case codeApproved:
		s.logf("device code %s authorized by %s (auto-approve)", c.user, c.approver.username)
	}
	// Synchronous, so that the hook has seen the code before the client has.
	if hook != nil {
		hook(c.user)
	}
	verify := s.URL + "/oauth/device"
	writeOAuth(w, http.StatusOK, map[string]any{
		"device_code":               c.device,
		"user_code":                 c.user,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(c.user),
		"expires_in":                seconds(s.opts.CodeLifetime),
		"interval":                  s.opts.Interval,
	})
}

// clientProblem says, for the log, why clientOK refused a request.
func (s *Server) clientProblem(r *http.Request) string {
	if r.FormValue("client_id") != s.opts.ClientID {
		return fmt.Sprintf("unknown client ID %q", logSafe(r.FormValue("client_id")))
	}
	return "the application is confidential and no secret was sent"
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !s.clientOK(r) {
		s.logf("token request refused: %s", s.clientProblem(r))
		s.tokenError(w, "invalid_client")
		return
	}
	switch r.FormValue("grant_type") {
	case grantDeviceCode:
		s.redeemDeviceCode(w, r)
	case grantRefresh:
		s.refresh(w, r)
	case "":
		s.tokenError(w, "invalid_request")
	default:
		s.tokenError(w, "unsupported_grant_type")
	}
}

// redeemDeviceCode follows doorkeeper's device grant: an expired code is
// deleted once reported, a poll too soon after the last one earns
// slow_down without moving the last poll time, and a redeemed code is
// deleted.
func (s *Server) redeemDeviceCode(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	s.mu.Lock()
	c := s.codes[r.FormValue("device_code")]
	var (
		errCode string
		reply   map[string]any
	)
	switch {
	case c == nil || c.state == codeGone:
		errCode = "invalid_grant"
	case !now.Before(c.expires):
		errCode, c.state = "expired_token", codeGone
	case !c.lastPoll.IsZero() && now.Sub(c.lastPoll) < time.Duration(s.opts.Interval)*time.Second-pollJitter:
		errCode = "slow_down"
	case c.state == codeDenied:
		errCode, c.state = "access_denied", codeGone
	case c.state == codePending:
		errCode = "authorization_pending"
	default:
		c.state = codeGone
		reply = s.issueLocked(c.approver, c.scopes, now)
	}
	if c != nil && errCode != "slow_down" {
		c.lastPoll = now
	}
	s.mu.Unlock()

	switch errCode {
	case "":
		s.logf("device code %s redeemed: access token issued for %s", c.user, c.approver.username)
		writeOAuth(w, http.StatusOK, reply)
		return
	case "slow_down":
		s.logf("device code %s polled too fast: slow_down", c.user)
	case "expired_token", "access_denied":
		s.logf("device code %s: %s", c.user, errCode)
	}
	s.tokenError(w, errCode)
}

// issueLocked mints an access token and its refresh token for u and
// returns the token endpoint's answer.
func (s *Server) issueLocked(u *user, scopes []string, now time.Time) map[string]any {
	g := &grant{
		access:  s.mintLocked(),
		refresh: s.mintLocked(),
		user:    u,
		scopes:  scopes,
		created: now,
		expires: now.Add(s.tokenLifetime),
	}
	s.byAccess[g.access], s.byRefresh[g.refresh] = g, g
	return map[string]any{
		"access_token":  g.access,
		"token_type":    "Bearer",
		"expires_in":    seconds(s.tokenLifetime),
		"refresh_token": g.refresh,
		"scope":         strings.Join(scopes, " "),
		"created_at":    now.Unix(),
	}
}

func (s *Server) mintLocked() string {
	v := TokenPrefix + hex.EncodeToString(randomBytes(32))
	s.issued = append(s.issued, v)
	return v
}

// tokenError answers an /oauth/token request with doorkeeper's status for
// code unless Options.TokenErrorStatus overrides it.
func (s *Server) tokenError(w http.ResponseWriter, code string) {
	status := http.StatusBadRequest
	if code == "invalid_client" || code == "unauthorized_client" {
		status = http.StatusUnauthorized
	}
	if st, ok := s.opts.TokenErrorStatus[code]; ok {
		status = st
	}
	s.oauthError(w, code, status)
}

func (s *Server) oauthError(w http.ResponseWriter, code string, status int) {
	writeOAuth(w, status, map[string]any{"error": code, "error_description": errorDescriptions[code]})
}

// writeOAuth answers in JSON with the caching headers doorkeeper sends.
func writeOAuth(w http.ResponseWriter, status int, fields map[string]any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, fields)
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
// username at once, as if the person confirmed it immediately; the
// client's first poll succeeds. username becomes a user if it was not one.
// "" turns auto-approval off. It turns AutoDeny off.
func (s *Server) AutoApprove(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if username != "" {
		if _, err := s.addUserLocked(username); err != nil {
			panic(err)
		}
		s.autoDeny = false
	}
	s.autoApprove = username
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

// Approve authorizes a pending device code as username, as the person
// would on the /oauth/device page. The code's case and spaces do not
// matter.
func (s *Server) Approve(userCode, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(username)
	if u == nil {
		return fmt.Errorf("gitlabtest: no user %q (add it with AddUser)", username)
	}
	c, err := s.pendingCodeLocked(userCode)
	if err != nil {
		return err
	}
	c.state, c.approver = codeApproved, u
	s.logf("device code %s authorized by %s", c.user, u.username)
	return nil
}

// Deny refuses a pending device code; the client's next poll gets
// access_denied.
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
		return nil, fmt.Errorf("gitlabtest: no device code %q was issued", userCode)
	}
	if !c.pending(s.opts.Now()) {
		return nil, fmt.Errorf("gitlabtest: device code %s is no longer pending (authorized, denied or expired)", c.user)
	}
	return c, nil
}

func normalizeUserCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
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

// DeviceCodesIssued returns how many device codes have been issued.
func (s *Server) DeviceCodesIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.codeOrder)
}

// IssuedTokens returns every access and refresh token ever issued, oldest
// first, so that tests can look for them where they must not be.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

var tokenLike = regexp.MustCompile(regexp.QuoteMeta(TokenPrefix) + `[^\s"]*`)

// logSafe cuts anything that looks like one of the server's tokens out of
// a string a client sent, for clients that send a token where it does not
// belong.
func logSafe(s string) string {
	return tokenLike.ReplaceAllString(s, TokenPrefix+"…")
}

// userCodeAlphabet is doorkeeper's: a random number written in base 36.
const userCodeAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

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
<html lang="en"><head><meta charset="utf-8"><title>Authorize device · GitLab</title></head>
<body>
<h1>Authorize device</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if not .Done}}<form method="post" action="{{.Action}}">
<p>Enter the code shown on your device to let <strong>{{.App}}</strong> use your account.</p>
<p><label>User code <input name="user_code" value="{{.Code}}" placeholder="XXXXXXXX" autocomplete="off" autofocus></label></p>
<p><label>Signed in as <input name="username" value="{{.Username}}" placeholder="username"></label></p>
<p><button name="action" value="authorize">Authorize</button>
<button name="action" value="deny">Deny</button></p>
</form>{{end}}
</body></html>
`))

type devicePageData struct {
	App, Action, Code, Username, Message string
	Done                                 bool
}

func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	s.renderDevicePage(w, http.StatusOK, devicePageData{Code: r.FormValue("user_code")})
}

// handleDeviceForm is the person pressing Authorize or Deny.
func (s *Server) handleDeviceForm(w http.ResponseWriter, r *http.Request) {
	d := devicePageData{Code: r.PostFormValue("user_code"), Username: r.PostFormValue("username")}
	var err error
	if r.PostFormValue("action") == "deny" {
		if err = s.Deny(d.Code); err == nil {
			d.Message, d.Done = "The device was denied access. You can close this window.", true
		}
	} else if err = s.Approve(d.Code, d.Username); err == nil {
		d.Message, d.Done = "Device successfully authorized. You can close this window.", true
	}
	status := http.StatusOK
	if err != nil {
		d.Message, status = strings.TrimPrefix(err.Error(), "gitlabtest: "), http.StatusUnprocessableEntity
	}
	s.renderDevicePage(w, status, d)
}

func (s *Server) renderDevicePage(w http.ResponseWriter, status int, d devicePageData) {
	d.App, d.Action = s.opts.AppName, s.base+"/oauth/device"
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	devicePage.Execute(w, d)
}

// SignIn makes username a user and mints an access token for it with
// scopes (the application's when none are given), as the device grant
// would, without its round trips: for tests that need a signed-in token,
// not the flow. The token counts in IssuedTokens.
func (s *Server) SignIn(username string, scopes ...string) (accessToken string, err error) {
	if len(scopes) == 0 {
		scopes = s.opts.Scopes
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.addUserLocked(username)
	if err != nil {
		return "", err
	}
	return s.issueLocked(u, slices.Clone(scopes), now)["access_token"].(string), nil
}
