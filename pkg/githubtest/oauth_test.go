package githubtest

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

var (
	userCodeRE   = regexp.MustCompile(`^[A-Z]{4}-[A-Z]{4}$`)
	deviceCodeRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	accessRE     = regexp.MustCompile(`^ghu_[A-Za-z0-9]{36}$`)
	refreshRE    = regexp.MustCompile(`^ghr_[A-Za-z0-9]{36}$`)
)

func TestDeviceCodeAnswer(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, asJSON := range []bool{true, false} {
		r := postForm(t, s, "/login/device/code", url.Values{"client_id": {DefaultClientID}, "scope": {""}}, asJSON)
		wantType := "application/x-www-form-urlencoded"
		if asJSON {
			wantType = "application/json"
		}
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), wantType) {
			t.Fatalf("json=%v: HTTP %d, Content-Type %q; want 200 %s", asJSON, r.status, r.header.Get("Content-Type"), wantType)
		}
		f := r.fields(t)
		if !deviceCodeRE.MatchString(f["device_code"]) || !userCodeRE.MatchString(f["user_code"]) {
			t.Errorf("json=%v: device_code %q / user_code %q have the wrong shape", asJSON, f["device_code"], f["user_code"])
		}
		if f["verification_uri"] != s.URL+"/login/device" || f["expires_in"] != "900" || f["interval"] != "5" {
			t.Errorf("json=%v: got %v", asJSON, f)
		}
		if _, ok := f["verification_uri_complete"]; ok {
			t.Errorf("verification_uri_complete sent; GitHub does not send it")
		}
	}
	if got := s.DeviceCodesIssued(); got != 2 {
		t.Errorf("DeviceCodesIssued = %d, want 2", got)
	}
	if got := s.Requests("/login/device/code"); got != 2 {
		t.Errorf("Requests = %d, want 2", got)
	}
}

func TestDeviceCodeUnknownClient(t *testing.T) {
	s, _ := newTestServer(t, Options{ClientID: "Iv23liOther"})
	for _, asJSON := range []bool{true, false} {
		r := postForm(t, s, "/login/device/code", url.Values{"client_id": {DefaultClientID}}, asJSON)
		if f := r.fields(t); r.status != 404 || f["error"] != "Not Found" || len(f) != 1 {
			t.Errorf("json=%v: HTTP %d %v; want 404 error=Not Found", asJSON, r.status, f)
		}
	}
	if s.DeviceCodesIssued() != 0 {
		t.Error("a code was issued for an unknown client")
	}
}

func TestDeviceFlowDisabled(t *testing.T) {
	s, _ := newTestServer(t, Options{DeviceFlowDisabled: true})
	r := postForm(t, s, "/login/device/code", url.Values{"client_id": {DefaultClientID}}, true)
	f := r.fields(t)
	if r.status != 200 || f["error"] != "device_flow_disabled" ||
		f["error_description"] != "Device Flow must be explicitly enabled for this App" || f["error_uri"] == "" {
		t.Errorf("device code: HTTP %d %v", r.status, f)
	}
	if f := poll(t, s, "0123"); f["error"] != "device_flow_disabled" {
		t.Errorf("access token: %v", f)
	}
}

func TestPollingStates(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	s.AddUser("octocat")
	device, user := requestCode(t, s)

	if f := poll(t, s, device); f["error"] != "slow_down" || f["interval"] != "10" {
		t.Fatalf("poll at once: %v; want slow_down with interval 10", f)
	}
	clock.Advance(10*time.Second - pollJitter/2) // a little early is tolerated
	if f := poll(t, s, device); f["error"] != "authorization_pending" {
		t.Fatalf("poll after the interval: %v; want authorization_pending", f)
	}
	if got := s.PendingCodes(); !slices.Equal(got, []string{user}) {
		t.Errorf("PendingCodes = %v, want [%s]", got, user)
	}
	if err := s.Approve(user, "octocat"); err != nil {
		t.Fatal(err)
	}
	if len(s.PendingCodes()) != 0 {
		t.Error("an approved code is still pending")
	}
	clock.Advance(10 * time.Second)
	f := poll(t, s, device)
	if !accessRE.MatchString(f["access_token"]) || !refreshRE.MatchString(f["refresh_token"]) {
		t.Fatalf("tokens have the wrong shape: %s / %s", redact(f["access_token"]), redact(f["refresh_token"]))
	}
	if f["expires_in"] != "28800" || f["refresh_token_expires_in"] != "15897600" || f["token_type"] != "bearer" {
		t.Errorf("token answer fields: expires_in %q, refresh_token_expires_in %q, token_type %q",
			f["expires_in"], f["refresh_token_expires_in"], f["token_type"])
	}
	if scope, ok := f["scope"]; !ok || scope != "" {
		t.Errorf("scope = %q (sent: %v); want an empty scope", scope, ok)
	}
	clock.Advance(10 * time.Second)
	if f := poll(t, s, device); f["error"] != "incorrect_device_code" {
		t.Errorf("second redemption: %v; want incorrect_device_code", f["error"])
	}
}

func TestPollErrorsAreFormEncodedByDefault(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	r := postForm(t, s, "/login/oauth/access_token", url.Values{
		"client_id": {DefaultClientID}, "device_code": {"nope"}, "grant_type": {grantDeviceCode},
	}, false)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("HTTP %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	if f := r.fields(t); f["error"] != "incorrect_device_code" || f["error_description"] == "" {
		t.Errorf("got %v", f)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	device, _ := requestCode(t, s)
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"client_id": {"Iv23liWrong"}, "device_code": {device}, "grant_type": {grantDeviceCode}}, "incorrect_client_credentials"},
		{url.Values{"client_id": {DefaultClientID}, "device_code": {device}, "grant_type": {"password"}}, "unsupported_grant_type"},
		{url.Values{"client_id": {DefaultClientID}, "device_code": {"0000"}, "grant_type": {grantDeviceCode}}, "incorrect_device_code"},
		{url.Values{"client_id": {DefaultClientID}, "refresh_token": {"ghr_nope"}, "grant_type": {grantRefresh}}, "bad_refresh_token"},
	} {
		r := postForm(t, s, "/login/oauth/access_token", tc.form, true)
		if f := r.fields(t); r.status != 200 || f["error"] != tc.want {
			t.Errorf("%v: HTTP %d error %q; want 200 %s", tc.form.Get("grant_type"), r.status, f["error"], tc.want)
		}
	}
}

func TestCodeExpires(t *testing.T) {
	s, clock := newTestServer(t, Options{CodeLifetime: time.Minute})
	s.AddUser("octocat")
	device, user := requestCode(t, s)
	clock.Advance(time.Minute)
	if f := poll(t, s, device); f["error"] != "expired_token" {
		t.Errorf("poll after expiry: %v; want expired_token", f)
	}
	if err := s.Approve(user, "octocat"); err == nil {
		t.Error("Approve accepted an expired code")
	}
	if len(s.PendingCodes()) != 0 {
		t.Error("an expired code is still pending")
	}
}

func TestShortCodeLifetimeIsAdvertisedRoundedUp(t *testing.T) {
	s, _ := newTestServer(t, Options{CodeLifetime: 1500 * time.Millisecond})
	r := postForm(t, s, "/login/device/code", url.Values{"client_id": {DefaultClientID}}, true)
	if f := r.fields(t); f["expires_in"] != "2" {
		t.Errorf("expires_in = %q, want 2", f["expires_in"])
	}
}

func TestDeny(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	device, user := requestCode(t, s)
	if err := s.Deny(strings.ToLower(strings.ReplaceAll(user, "-", ""))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["error"] != "access_denied" {
		t.Errorf("poll after Deny: %v; want access_denied", f)
	}
	if err := s.Deny(user); err == nil {
		t.Error("denying twice succeeded")
	}

	s.AutoDeny(true)
	device, _ = requestCode(t, s)
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["error"] != "access_denied" {
		t.Errorf("poll with AutoDeny: %v; want access_denied", f)
	}
}

func TestAutoApprove(t *testing.T) {
	s, clock := newTestServer(t, Options{Interval: 1})
	s.AutoApprove("octocat")
	device, _ := requestCode(t, s)
	if len(s.PendingCodes()) != 0 {
		t.Error("an auto-approved code is pending")
	}
	clock.Advance(time.Second)
	f := poll(t, s, device)
	if f["access_token"] == "" {
		t.Fatalf("first poll after the interval: %v", f["error"])
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+f["access_token"]); !strings.Contains(string(r.body), `"login":"octocat"`) {
		t.Errorf("/user = %s", r.body)
	}

	s.AutoApprove("")
	device, _ = requestCode(t, s)
	clock.Advance(time.Second)
	if f := poll(t, s, device); f["error"] != "authorization_pending" {
		t.Errorf("after AutoApprove(\"\"): %v; want authorization_pending", f["error"])
	}
	s.AutoDeny(true)
	s.AutoApprove("octocat") // turns AutoDeny off
	device, _ = requestCode(t, s)
	clock.Advance(time.Second)
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Errorf("AutoApprove after AutoDeny: %v", f["error"])
	}
}

func TestSignIn(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	tok, err := s.SignIn("octocat")
	if err != nil {
		t.Fatal(err)
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+tok); !strings.Contains(string(r.body), `"login":"octocat"`) {
		t.Errorf("/user = %s", r.body)
	}
	if got := s.IssuedTokens(); !slices.Contains(got, tok) {
		t.Errorf("IssuedTokens does not hold the signed-in token (%s)", redact(tok))
	}
	if n := s.DeviceCodesIssued(); n != 0 {
		t.Errorf("SignIn issued %d device codes", n)
	}
	if _, err := s.SignIn(""); err == nil {
		t.Error("SignIn(\"\") gave a token")
	}
}

func TestApproveErrors(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.AddUser("octocat")
	_, user := requestCode(t, s)
	if err := s.Approve(user, "nobody"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Approve as an unknown user: %v", err)
	}
	if err := s.Approve("BCDF-GHJK", "octocat"); err == nil {
		t.Error("Approve of a code never issued succeeded")
	}
	if err := s.Approve(" "+strings.ToLower(user)+" ", "OctoCat"); err != nil {
		t.Errorf("Approve with another spelling of the code and login: %v", err)
	}
	if err := s.Approve(user, "octocat"); err == nil {
		t.Error("approving twice succeeded")
	}
}

func TestNoTokenExpiry(t *testing.T) {
	s, clock := newTestServer(t, Options{NoTokenExpiry: true})
	f := signIn(t, s, clock, "octocat")
	for _, k := range []string{"expires_in", "refresh_token", "refresh_token_expires_in"} {
		if _, ok := f[k]; ok {
			t.Errorf("%s sent although tokens do not expire", k)
		}
	}
	clock.Advance(24 * 365 * time.Hour)
	if r := apiGet(t, s, "/api/v3/user", "token "+f["access_token"]); r.status != 200 {
		t.Errorf("a non-expiring token failed a year later: HTTP %d", r.status)
	}
}

func TestTokenLifetime(t *testing.T) {
	s, clock := newTestServer(t, Options{TokenLifetime: time.Hour})
	f := signIn(t, s, clock, "octocat")
	if f["expires_in"] != "3600" {
		t.Errorf("expires_in = %q, want 3600", f["expires_in"])
	}
	s.SetTokenLifetime(10 * time.Minute)
	g := signIn(t, s, clock, "octocat")
	if g["expires_in"] != "600" {
		t.Errorf("after SetTokenLifetime: expires_in = %q, want 600", g["expires_in"])
	}
	clock.Advance(10 * time.Minute)
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+g["access_token"]); r.status != 401 {
		t.Errorf("an expired token: HTTP %d, want 401", r.status)
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+f["access_token"]); r.status != 200 {
		t.Errorf("a token with time left: HTTP %d, want 200", r.status)
	}
}

func TestRefreshRotates(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	first := signIn(t, s, clock, "octocat")
	refresh := func(rt string, asJSON bool) map[string]string {
		return postForm(t, s, "/login/oauth/access_token", url.Values{
			"client_id": {DefaultClientID}, "grant_type": {"refresh_token"}, "refresh_token": {rt},
		}, asJSON).fields(t)
	}
	second := refresh(first["refresh_token"], false) // form-encoded success, as GitHub's default
	if !accessRE.MatchString(second["access_token"]) || !refreshRE.MatchString(second["refresh_token"]) || second["expires_in"] != "28800" {
		t.Fatalf("refresh answer: error %q, access %s, refresh %s, expires_in %q",
			second["error"], redact(second["access_token"]), redact(second["refresh_token"]), second["expires_in"])
	}
	if second["access_token"] == first["access_token"] || second["refresh_token"] == first["refresh_token"] {
		t.Error("refresh returned an old token")
	}
	if f := refresh(first["refresh_token"], true); f["error"] != "bad_refresh_token" {
		t.Errorf("reusing a refresh token: %v; want bad_refresh_token", f["error"])
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+first["access_token"]); r.status != 401 {
		t.Errorf("the old access token after refresh: HTTP %d, want 401", r.status)
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+second["access_token"]); r.status != 200 {
		t.Errorf("the new access token: HTTP %d, want 200", r.status)
	}
	if f := refresh(second["access_token"], true); f["error"] != "bad_refresh_token" {
		t.Errorf("an access token as refresh token: %v; want bad_refresh_token", f["error"])
	}
	issued := s.IssuedTokens()
	for _, tok := range []string{first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]} {
		if !slices.Contains(issued, tok) {
			t.Errorf("IssuedTokens lacks %s", redact(tok))
		}
	}
	if len(issued) != 4 {
		t.Errorf("IssuedTokens has %d tokens, want 4", len(issued))
	}
}

func TestRevoke(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	a := signIn(t, s, clock, "octocat")
	b := signIn(t, s, clock, "hubot")
	s.Revoke(a["access_token"])
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+a["access_token"]); r.status != 401 {
		t.Errorf("a revoked token: HTTP %d, want 401", r.status)
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+b["access_token"]); r.status != 200 {
		t.Errorf("another user's token after Revoke: HTTP %d, want 200", r.status)
	}
	s.RevokeAll()
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+b["access_token"]); r.status != 401 {
		t.Errorf("a token after RevokeAll: HTTP %d, want 401", r.status)
	}
}

func TestOnDeviceCodeRunsBeforeTheClientHasTheCode(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	s.AddUser("octocat")
	var seen []string
	s.OnDeviceCode(func(code string) {
		seen = append(seen, code)
		if err := s.Approve(code, "octocat"); err != nil {
			t.Error(err)
		}
	})
	device, user := requestCode(t, s)
	if !slices.Equal(seen, []string{user}) {
		t.Fatalf("hook saw %v, want [%s]", seen, user)
	}
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Errorf("code approved by the hook: %v", f["error"])
	}
	s.OnDeviceCode(nil)
	requestCode(t, s)
	if len(seen) != 1 {
		t.Error("the hook ran after being removed")
	}
}

func TestDevicePage(t *testing.T) {
	s, clock := newTestServer(t, Options{AppSlug: "my-app"})
	s.AddUser("octocat")
	r := apiGet(t, s, "/login/device", "")
	if r.status != 200 || !strings.Contains(string(r.body), "my-app") || !strings.Contains(string(r.body), `name="user_code"`) {
		t.Fatalf("GET /login/device: HTTP %d\n%s", r.status, r.body)
	}

	device, user := requestCode(t, s)
	r = postForm(t, s, "/login/device", url.Values{"user_code": {user}, "login": {"octocat"}, "action": {"authorize"}}, false)
	if r.status != 200 || !strings.Contains(string(r.body), "Congratulations") {
		t.Fatalf("authorizing through the page: HTTP %d\n%s", r.status, r.body)
	}
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Errorf("code authorized through the page: %v", f["error"])
	}

	device, user = requestCode(t, s)
	postForm(t, s, "/login/device", url.Values{"user_code": {user}, "action": {"cancel"}}, false)
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["error"] != "access_denied" {
		t.Errorf("code cancelled through the page: %v; want access_denied", f["error"])
	}

	r = postForm(t, s, "/login/device", url.Values{"user_code": {"BCDF-GHJK"}, "login": {"octocat"}, "action": {"authorize"}}, false)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "BCDF-GHJK") {
		t.Errorf("a wrong code through the page: HTTP %d\n%s", r.status, r.body)
	}
}

func TestIntercept(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/device/code" {
			return false
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	})
	r := postForm(t, s, "/login/device/code", url.Values{"client_id": {DefaultClientID}}, true)
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("intercepted request: HTTP %d, want 503", r.status)
	}
	if r := apiGet(t, s, "/api/v3/user", ""); r.status != 401 {
		t.Errorf("request the interceptor passed on: HTTP %d, want 401", r.status)
	}
	s.Intercept(nil)
	requestCode(t, s)
	if got := s.Requests("/login/device/code"); got != 2 {
		t.Errorf("Requests = %d, want 2 (intercepted ones count)", got)
	}
	if s.DeviceCodesIssued() != 1 {
		t.Errorf("DeviceCodesIssued = %d, want 1", s.DeviceCodesIssued())
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, clockA := newTestServer(t, Options{ClientID: "Iv23liHostA"})
	b, _ := newTestServer(t, Options{ClientID: "Iv23liHostB"})
	if a.URL == b.URL {
		t.Fatal("two servers share a URL")
	}
	tok := signIn(t, a, clockA, "octocat")["access_token"]
	if r := apiGet(t, b, "/api/v3/user", "Bearer "+tok); r.status != 401 {
		t.Errorf("host B accepted host A's token: HTTP %d", r.status)
	}
	r := postForm(t, b, "/login/device/code", url.Values{"client_id": {"Iv23liHostA"}}, true)
	if r.status != 404 {
		t.Errorf("host B accepted host A's client ID: HTTP %d", r.status)
	}
}

func TestLogNamesEventsButNoTokens(t *testing.T) {
	var log testsupport.SyncBuffer
	s, clock := newTestServer(t, Options{Log: &log})
	f := signIn(t, s, clock, "octocat")
	postForm(t, s, "/login/oauth/access_token", url.Values{
		"client_id": {DefaultClientID}, "grant_type": {"refresh_token"}, "refresh_token": {f["refresh_token"]},
	}, true)
	apiGet(t, s, "/api/v3/user", "Bearer ghu_wrong")
	s.RevokeAll()
	out := log.String()
	for _, want := range []string{"issued", "authorized by octocat", "refreshed", "401"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, tok := range append(s.IssuedTokens(), "ghu_wrong") {
		if strings.Contains(out, tok) {
			t.Errorf("log contains token %s", redact(tok))
		}
	}
}
