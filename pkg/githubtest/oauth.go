package githubtest

import (
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

const (
	grantDeviceCode = standin.GrantDeviceCode
	grantRefresh    = standin.GrantRefresh

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
		standin.WriteJSON(w, http.StatusTooManyRequests, map[string]any{
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
	c := &deviceCode{
		Device:   hex.EncodeToString(standin.RandomBytes(20)),
		Expires:  now.Add(s.opts.CodeLifetime),
		LastPoll: now,
		Interval: s.opts.Interval,
	}
	s.devices.Issue(c, fmt.Sprintf("issued, valid for %s", s.opts.CodeLifetime))
	oauthReply(w, r, http.StatusOK, map[string]any{
		"device_code":      c.Device,
		"user_code":        c.User,
		"verification_uri": s.URL + "/login/device",
		"expires_in":       standin.Seconds(s.opts.CodeLifetime),
		"interval":         c.Interval,
	})
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("client_id") != s.opts.ClientID {
		s.logf("token request refused: unknown client ID %q", r.FormValue("client_id"))
		s.oauthError(w, r, "incorrect_client_credentials", nil)
		return
	}
	standin.ByGrant(w, r, s.redeemDeviceCode, s.refresh, func(w http.ResponseWriter, r *http.Request) {
		s.oauthError(w, r, "unsupported_grant_type", nil)
	})
}

func (s *Server) redeemDeviceCode(w http.ResponseWriter, r *http.Request) {
	if s.opts.DeviceFlowDisabled {
		s.oauthError(w, r, "device_flow_disabled", nil)
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	c := s.devices.CodeLocked(r.FormValue("device_code"))
	var (
		errCode string
		extra   map[string]any
		reply   map[string]any
	)
	switch {
	case c == nil || c.State == standin.CodeUsed:
		errCode = "incorrect_device_code"
	case !now.Before(c.Expires):
		errCode = "expired_token"
	case now.Sub(c.LastPoll) < time.Duration(c.Interval)*time.Second-pollJitter:
		c.Interval += 5
		errCode, extra = "slow_down", map[string]any{"interval": c.Interval}
	case s.slowDownsSent < s.opts.SlowDownPolls:
		s.slowDownsSent++
		c.Interval += 5
		errCode, extra = "slow_down", map[string]any{"interval": c.Interval}
	case c.State == standin.CodeDenied:
		errCode = "access_denied"
	case c.State == standin.CodePending:
		errCode = "authorization_pending"
	default:
		c.State = standin.CodeUsed
		reply = s.issueLocked(c.Approver.login, now)
	}
	if c != nil {
		c.LastPoll = now
	}
	s.mu.Unlock()

	if errCode != "" {
		if errCode == "slow_down" {
			s.logf("device code %s polled too fast: slow_down, interval now %ds", c.User, c.Interval)
		}
		s.oauthError(w, r, errCode, extra)
		return
	}
	s.logf("device code %s redeemed: access token issued for %s", c.User, c.Approver.login)
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
	lifetime := s.devices.TokenLifetimeLocked()
	access.expires = now.Add(lifetime)
	refresh := &token{login: login, refresh: true, expires: now.Add(refreshTokenLifetime), access: access}
	reply["expires_in"] = standin.Seconds(lifetime)
	reply["refresh_token"] = s.mintLocked("ghr_", refresh)
	reply["refresh_token_expires_in"] = standin.Seconds(refreshTokenLifetime)
	return reply
}

func (s *Server) mintLocked(prefix string, t *token) string {
	v := prefix + standin.RandomString(alphanumerics, 36)
	s.tokens[v] = t
	s.devices.MintedLocked(v)
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
		standin.WriteJSON(w, status, fields)
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

// normalizeUserCode accepts "wdjbmjht", "WDJB MJHT" and "WDJB-MJHT" alike.
func normalizeUserCode(code string) string {
	code = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	if len(code) == 8 {
		code = code[:4] + "-" + code[4:]
	}
	return code
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

// IssuedDeviceCodes returns every device code ever issued (the secret
// the client polls with, not the user code people type), oldest first,
// so that tests can look for them where they must not be.
func (s *Server) IssuedDeviceCodes() []string { return s.devices.DeviceSecrets() }

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

const (
	alphanumerics    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ" // no vowels, so no words (RFC 8628 §6.1)
)

var devicePage = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Device Activation</title></head>
<body>
<h1>Device Activation</h1>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if not .Done}}<form method="post" action="{{.Action}}">
<p>Enter the code displayed on your device to authorize <strong>{{.App}}</strong>.</p>
<p><label>Code <input name="user_code" value="{{.Code}}" placeholder="XXXX-XXXX" autocomplete="off" autofocus></label></p>
<p><label>Signed in as <input name="login" value="{{.Name}}" placeholder="login"></label></p>
<p><button name="action" value="authorize">Authorize {{.App}}</button>
<button name="action" value="cancel">Cancel</button></p>
</form>{{end}}
</body></html>
`))
