package gitlabtest

import (
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

// TokenPrefix starts every access and refresh token the server issues,
// so that a token is easy to spot where it must not be.
const TokenPrefix = "gloas-"

const (
	grantDeviceCode = standin.GrantDeviceCode
	grantRefresh    = standin.GrantRefresh

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
	c := &deviceCode{
		Device:  hex.EncodeToString(standin.RandomBytes(32)),
		Scopes:  scopes,
		Expires: now.Add(s.opts.CodeLifetime),
	}
	s.devices.Issue(c, fmt.Sprintf("issued for scopes %s, valid for %s", strings.Join(scopes, " "), s.opts.CodeLifetime))
	verify := s.URL + "/oauth/device"
	writeOAuth(w, http.StatusOK, map[string]any{
		"device_code":               c.Device,
		"user_code":                 c.User,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(c.User),
		"expires_in":                standin.Seconds(s.opts.CodeLifetime),
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
	standin.ByGrant(w, r, s.redeemDeviceCode, s.refresh, func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("grant_type") == "" {
			s.tokenError(w, "invalid_request")
		} else {
			s.tokenError(w, "unsupported_grant_type")
		}
	})
}

// redeemDeviceCode follows doorkeeper's device grant: an expired code is
// deleted once reported, a poll too soon after the last one earns
// slow_down without moving the last poll time, and a redeemed code is
// deleted.
func (s *Server) redeemDeviceCode(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	s.mu.Lock()
	c := s.devices.CodeLocked(r.FormValue("device_code"))
	var (
		errCode string
		reply   map[string]any
	)
	switch {
	case c == nil || c.State == standin.CodeUsed:
		errCode = "invalid_grant"
	case !now.Before(c.Expires):
		errCode, c.State = "expired_token", standin.CodeUsed
	case !c.LastPoll.IsZero() && now.Sub(c.LastPoll) < time.Duration(s.opts.Interval)*time.Second-pollJitter:
		errCode = "slow_down"
	case c.State == standin.CodeDenied:
		errCode, c.State = "access_denied", standin.CodeUsed
	case c.State == standin.CodePending:
		errCode = "authorization_pending"
	default:
		c.State = standin.CodeUsed
		reply = s.issueLocked(c.Approver, c.Scopes, now)
	}
	if c != nil && errCode != "slow_down" {
		c.LastPoll = now
	}
	s.mu.Unlock()

	switch errCode {
	case "":
		s.logf("device code %s redeemed: access token issued for %s", c.User, c.Approver.username)
		writeOAuth(w, http.StatusOK, reply)
		return
	case "slow_down":
		s.logf("device code %s polled too fast: slow_down", c.User)
	case "expired_token", "access_denied":
		s.logf("device code %s: %s", c.User, errCode)
	}
	s.tokenError(w, errCode)
}

// issueLocked mints an access token and its refresh token for u and
// returns the token endpoint's answer.
func (s *Server) issueLocked(u *user, scopes []string, now time.Time) map[string]any {
	lifetime := s.devices.TokenLifetimeLocked()
	g := &grant{
		access:  s.mintLocked(),
		refresh: s.mintLocked(),
		user:    u,
		scopes:  scopes,
		created: now,
		expires: now.Add(lifetime),
	}
	s.byAccess[g.access], s.byRefresh[g.refresh] = g, g
	return map[string]any{
		"access_token":  g.access,
		"token_type":    "Bearer",
		"expires_in":    standin.Seconds(lifetime),
		"refresh_token": g.refresh,
		"scope":         strings.Join(scopes, " "),
		"created_at":    now.Unix(),
	}
}

func (s *Server) mintLocked() string {
	v := TokenPrefix + hex.EncodeToString(standin.RandomBytes(32))
	s.devices.MintedLocked(v)
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
	standin.WriteJSON(w, status, fields)
}

func normalizeUserCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
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

var devicePage = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize device · GitLab</title></head>
<body>
<h1>Authorize device</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if not .Done}}<form method="post" action="{{.Action}}">
<p>Enter the code shown on your device to let <strong>{{.App}}</strong> use your account.</p>
<p><label>User code <input name="user_code" value="{{.Code}}" placeholder="XXXXXXXX" autocomplete="off" autofocus></label></p>
<p><label>Signed in as <input name="username" value="{{.Name}}" placeholder="username"></label></p>
<p><button name="action" value="authorize">Authorize</button>
<button name="action" value="deny">Deny</button></p>
</form>{{end}}
</body></html>
`))

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
