package gitlabtest

import (
	"fmt"
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
	userCodeRE   = regexp.MustCompile(`^[0-9A-Z]{8}$`)
	deviceCodeRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	tokenRE      = regexp.MustCompile(`^gloas-[0-9a-f]{64}$`)
)

const invalidClientDescription = "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."

func TestDeviceCodeAnswer(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	r := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}, "scope": {"read_repository write_repository"}})
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("HTTP %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
	f := r.fields(t)
	if !deviceCodeRE.MatchString(f["device_code"]) || !userCodeRE.MatchString(f["user_code"]) {
		t.Errorf("device_code %q / user_code %q have the wrong shape", f["device_code"], f["user_code"])
	}
	if f["verification_uri"] != s.URL+"/oauth/device" ||
		f["verification_uri_complete"] != s.URL+"/oauth/device?user_code="+f["user_code"] ||
		f["expires_in"] != "300" || f["interval"] != "5" || len(f) != 6 {
		t.Errorf("got %v", f)
	}
	if got := s.DeviceCodesIssued(); got != 1 {
		t.Errorf("DeviceCodesIssued = %d, want 1", got)
	}
	if got := s.Requests("/oauth/authorize_device"); got != 1 {
		t.Errorf("Requests = %d, want 1", got)
	}
}

func TestBasePath(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"/gitlab", "gitlab/", "/gitlab/"} {
		s, clock := newTestServer(t, Options{BasePath: base})
		if !strings.HasSuffix(s.URL, "/gitlab") || strings.Count(s.URL, "/gitlab") != 1 || s.BasePath() != "/gitlab" {
			t.Fatalf("BasePath %q: URL %q, BasePath() %q", base, s.URL, s.BasePath())
		}
		host := strings.TrimSuffix(s.URL, "/gitlab")
		req, _ := http.NewRequest("POST", host+"/oauth/authorize_device", strings.NewReader("client_id="+DefaultClientID))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if r := do(t, req); r.status != 404 {
			t.Errorf("BasePath %q: device code request outside the base path: HTTP %d, want 404", base, r.status)
		}
		f := signIn(t, s, clock, "alice", "read_user")
		if !tokenRE.MatchString(f["access_token"]) {
			t.Errorf("BasePath %q: sign-in below the base path gave %s", base, testsupport.Redact(f["access_token"]))
		}
		if f := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}}).fields(t); f["verification_uri"] != host+"/gitlab/oauth/device" {
			t.Errorf("BasePath %q: verification_uri %q", base, f["verification_uri"])
		}
		if s.Requests("/gitlab/oauth/token") != 1 || s.Requests("/oauth/authorize_device") != 1 {
			t.Errorf("BasePath %q: Requests counts paths with the base path: %d token, %d outside",
				base, s.Requests("/gitlab/oauth/token"), s.Requests("/oauth/authorize_device"))
		}
	}
	for _, bad := range []string{"/a b", "/../x", "/a//b"} {
		if _, err := Start(Options{BasePath: bad}); err == nil {
			t.Errorf("Start accepted base path %q", bad)
		}
	}
	s, _ := newTestServer(t, Options{BasePath: "/"})
	if s.BasePath() != "" || strings.HasSuffix(s.URL, "/") {
		t.Errorf(`BasePath "/": URL %q`, s.URL)
	}
}

func TestUnknownClient(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{ClientID: "other"})
	for _, form := range []url.Values{
		{"client_id": {DefaultClientID}, "scope": {"api"}},
		{"scope": {"api"}},
	} {
		r := postForm(t, s, "/oauth/authorize_device", form)
		if f := r.fields(t); r.status != 401 || f["error"] != "invalid_client" || f["error_description"] != invalidClientDescription {
			t.Errorf("%v: HTTP %d %v; want 401 invalid_client", form, r.status, f)
		}
	}
	r := postForm(t, s, "/oauth/token", url.Values{"client_id": {DefaultClientID}, "grant_type": {grantDeviceCode}, "device_code": {"x"}})
	if f := r.fields(t); r.status != 401 || f["error"] != "invalid_client" {
		t.Errorf("token endpoint: HTTP %d %v; want 401 invalid_client", r.status, f)
	}
	if s.DeviceCodesIssued() != 0 {
		t.Error("a code was issued for an unknown client")
	}
}

func TestConfidentialApplication(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{Confidential: true})
	r := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}, "scope": {"api"}})
	if f := r.fields(t); r.status != 401 || f["error"] != "invalid_client" || f["error_description"] != invalidClientDescription {
		t.Errorf("device code: HTTP %d %v; want 401 invalid_client", r.status, f)
	}
	r = postForm(t, s, "/oauth/token", url.Values{"client_id": {DefaultClientID}, "grant_type": {grantDeviceCode}, "device_code": {"x"}})
	if f := r.fields(t); r.status != 401 || f["error"] != "invalid_client" {
		t.Errorf("token endpoint: HTTP %d %v; want 401 invalid_client", r.status, f)
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	for _, tc := range []struct{ asked, want string }{
		{"read_repository write_repository", "read_repository write_repository"},
		{"write_repository read_repository read_repository", "write_repository read_repository"},
		{"", "api"},
		{"  read_api  ", "read_api"},
	} {
		if f := signIn(t, s, clock, "alice", tc.asked); f["scope"] != tc.want {
			t.Errorf("scope %q: token has scope %q, want %q", tc.asked, f["scope"], tc.want)
		}
	}
	for _, bad := range []string{"repo", "read_repository nope", "READ_API"} {
		r := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}, "scope": {bad}})
		if f := r.fields(t); r.status != 400 || f["error"] != "invalid_scope" || f["error_description"] == "" {
			t.Errorf("scope %q: HTTP %d %v; want 400 invalid_scope", bad, r.status, f)
		}
	}

	narrow, _ := newTestServer(t, Options{Scopes: []string{"read_repository"}})
	for _, scope := range []string{"api", ""} {
		r := postForm(t, narrow, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}, "scope": {scope}})
		if f := r.fields(t); r.status != 400 || f["error"] != "invalid_scope" {
			t.Errorf("scope %q the application lacks: HTTP %d %v; want invalid_scope", scope, r.status, f)
		}
	}
	if _, err := Start(Options{Scopes: []string{"repo"}}); err == nil {
		t.Error("Start accepted an application scope GitLab does not have")
	}
}

func TestPollingStates(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	s.AddUser("alice")
	device, user := requestCode(t, s, "read_repository write_repository")

	// doorkeeper does not hold the first poll against the client.
	r := pollReply(t, s, device)
	if f := r.fields(t); r.status != 400 || f["error"] != "authorization_pending" || f["error_description"] == "" {
		t.Fatalf("first poll at once: HTTP %d %v; want 400 authorization_pending", r.status, f)
	}
	clock.Advance(2 * time.Second)
	r = pollReply(t, s, device)
	if f := r.fields(t); r.status != 400 || f["error"] != "slow_down" || f["interval"] != "" {
		t.Fatalf("poll 2s later: HTTP %d %v; want 400 slow_down, no interval", r.status, f)
	}
	// slow_down does not move the last poll: 5s after the pending poll
	// is on time, though only 3s after the slow_down.
	clock.Advance(3*time.Second - pollJitter/2)
	if f := poll(t, s, device); f["error"] != "authorization_pending" {
		t.Fatalf("poll an interval after the last counted one: %v; want authorization_pending", f)
	}
	if got := s.PendingCodes(); !slices.Equal(got, []string{user}) {
		t.Errorf("PendingCodes = %v, want [%s]", got, user)
	}
	if err := s.Approve(user, "alice"); err != nil {
		t.Fatal(err)
	}
	if len(s.PendingCodes()) != 0 {
		t.Error("an approved code is still pending")
	}
	clock.Advance(5 * time.Second)
	r = pollReply(t, s, device)
	f := r.fields(t)
	if r.status != 200 || !tokenRE.MatchString(f["access_token"]) || !tokenRE.MatchString(f["refresh_token"]) || f["access_token"] == f["refresh_token"] {
		t.Fatalf("HTTP %d; tokens have the wrong shape: %s / %s", r.status, testsupport.Redact(f["access_token"]), testsupport.Redact(f["refresh_token"]))
	}
	want := map[string]string{
		"token_type": "Bearer", "expires_in": "7200", "scope": "read_repository write_repository",
		"created_at": fmt.Sprint(clock.Now().Unix()),
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	if len(f) != 6 {
		t.Errorf("token answer has %d fields, want 6", len(f))
	}
	clock.Advance(5 * time.Second)
	r = pollReply(t, s, device)
	if f := r.fields(t); r.status != 400 || f["error"] != "invalid_grant" {
		t.Errorf("second redemption: HTTP %d %v; want 400 invalid_grant", r.status, f["error"])
	}
}

func TestTokenErrorStatusOverride(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{TokenErrorStatus: map[string]int{
		"authorization_pending": 401, "slow_down": 401, "expired_token": 401,
	}})
	device, _ := requestCode(t, s, "api")
	for _, want := range []string{"authorization_pending", "slow_down"} {
		r := pollReply(t, s, device)
		if f := r.fields(t); r.status != 401 || f["error"] != want {
			t.Errorf("HTTP %d %v; want 401 %s", r.status, f, want)
		}
	}
	clock.Advance(5 * time.Minute)
	r := pollReply(t, s, device)
	if f := r.fields(t); r.status != 401 || f["error"] != "expired_token" {
		t.Errorf("HTTP %d %v; want 401 expired_token", r.status, f)
	}
	r = pollReply(t, s, device)
	if f := r.fields(t); r.status != 400 || f["error"] != "invalid_grant" {
		t.Errorf("errors not overridden keep 400: HTTP %d %v", r.status, f)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	device, _ := requestCode(t, s, "api")
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"client_id": {DefaultClientID}, "device_code": {device}, "grant_type": {"password"}}, "unsupported_grant_type"},
		{url.Values{"client_id": {DefaultClientID}, "device_code": {device}}, "invalid_request"},
		{url.Values{"client_id": {DefaultClientID}, "device_code": {"0000"}, "grant_type": {grantDeviceCode}}, "invalid_grant"},
		{url.Values{"client_id": {DefaultClientID}, "grant_type": {grantDeviceCode}}, "invalid_grant"},
	} {
		r := postForm(t, s, "/oauth/token", tc.form)
		if f := r.fields(t); r.status != 400 || f["error"] != tc.want || f["error_description"] == "" {
			t.Errorf("%v: HTTP %d %v; want 400 %s", tc.form, r.status, f, tc.want)
		}
	}
	if r := apiGet(t, s, "/oauth/token", ""); r.status != 404 {
		t.Errorf("GET /oauth/token: HTTP %d, want 404 (the route is POST only)", r.status)
	}
}

func TestCodeExpires(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{CodeLifetime: time.Minute})
	s.AddUser("alice")
	device, user := requestCode(t, s, "api")
	clock.Advance(time.Minute)
	if f := poll(t, s, device); f["error"] != "expired_token" {
		t.Errorf("poll after expiry: %v; want expired_token", f)
	}
	// doorkeeper deletes an expired code once it has said so.
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["error"] != "invalid_grant" {
		t.Errorf("poll after expired_token: %v; want invalid_grant", f)
	}
	if err := s.Approve(user, "alice"); err == nil {
		t.Error("Approve accepted an expired code")
	}
	if len(s.PendingCodes()) != 0 {
		t.Error("an expired code is still pending")
	}
}

func TestShortCodeLifetimeIsAdvertisedRoundedUp(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{CodeLifetime: 1500 * time.Millisecond, Interval: 1})
	r := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}})
	if f := r.fields(t); f["expires_in"] != "2" || f["interval"] != "1" {
		t.Errorf("expires_in = %q, interval = %q; want 2 and 1", f["expires_in"], f["interval"])
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	device, user := requestCode(t, s, "api")
	if err := s.Deny(" " + strings.ToLower(user) + " "); err != nil {
		t.Fatal(err)
	}
	r := pollReply(t, s, device)
	if f := r.fields(t); r.status != 400 || f["error"] != "access_denied" {
		t.Errorf("poll after Deny: HTTP %d %v; want 400 access_denied", r.status, f)
	}
	clock.Advance(5 * time.Second)
	if f := poll(t, s, device); f["error"] != "invalid_grant" {
		t.Errorf("poll after access_denied: %v; want invalid_grant", f)
	}
	if err := s.Deny(user); err == nil {
		t.Error("denying twice succeeded")
	}

	s.AutoDeny(true)
	device, _ = requestCode(t, s, "api")
	if f := poll(t, s, device); f["error"] != "access_denied" {
		t.Errorf("poll with AutoDeny: %v; want access_denied", f)
	}
}

func TestAutoApprove(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	s.AutoApprove("alice")
	device, _ := requestCode(t, s, "read_user")
	if len(s.PendingCodes()) != 0 {
		t.Error("an auto-approved code is pending")
	}
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Fatalf("first poll: %v", f["error"])
	}

	s.AutoApprove("")
	device, _ = requestCode(t, s, "read_user")
	if f := poll(t, s, device); f["error"] != "authorization_pending" {
		t.Errorf("after AutoApprove(\"\"): %v; want authorization_pending", f["error"])
	}
	s.AutoDeny(true)
	s.AutoApprove("alice") // turns AutoDeny off
	device, _ = requestCode(t, s, "read_user")
	clock.Advance(time.Second)
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Errorf("AutoApprove after AutoDeny: %v", f["error"])
	}
}

func TestApproveErrors(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	s.AddUser("alice")
	_, user := requestCode(t, s, "api")
	if err := s.Approve(user, "nobody"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("Approve as an unknown user: %v", err)
	}
	if err := s.Approve("0A44L90H", "alice"); err == nil {
		t.Error("Approve of a code never issued succeeded")
	}
	if err := s.Approve(" "+strings.ToLower(user)+" ", "Alice"); err != nil {
		t.Errorf("Approve with another spelling of the code and username: %v", err)
	}
	if err := s.Approve(user, "alice"); err == nil {
		t.Error("approving twice succeeded")
	}
}

func TestOnDeviceCodeRunsBeforeTheClientHasTheCode(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	s.AddUser("alice")
	var seen []string
	s.OnDeviceCode(func(code string) {
		seen = append(seen, code)
		if err := s.Approve(code, "alice"); err != nil {
			t.Error(err)
		}
	})
	device, user := requestCode(t, s, "api")
	if !slices.Equal(seen, []string{user}) {
		t.Fatalf("hook saw %v, want [%s]", seen, user)
	}
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Errorf("code approved by the hook: %v", f["error"])
	}
	s.OnDeviceCode(nil)
	requestCode(t, s, "api")
	if len(seen) != 1 {
		t.Error("the hook ran after being removed")
	}
}

func TestDevicePage(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{AppName: "my-app", BasePath: "/gitlab"})
	s.AddUser("alice")
	device, user := requestCode(t, s, "api")
	r := apiGet(t, s, "/oauth/device?user_code="+user, "")
	page := string(r.body)
	if r.status != 200 || !strings.Contains(page, "my-app") || !strings.Contains(page, `value="`+user+`"`) ||
		!strings.Contains(page, `action="/gitlab/oauth/device"`) {
		t.Fatalf("GET /oauth/device: HTTP %d\n%s", r.status, page)
	}

	r = postForm(t, s, "/oauth/device", url.Values{"user_code": {user}, "username": {"alice"}, "action": {"authorize"}})
	if r.status != 200 || !strings.Contains(string(r.body), "successfully authorized") {
		t.Fatalf("authorizing through the page: HTTP %d\n%s", r.status, r.body)
	}
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Errorf("code authorized through the page: %v", f["error"])
	}

	device, user = requestCode(t, s, "api")
	postForm(t, s, "/oauth/device", url.Values{"user_code": {user}, "action": {"deny"}})
	if f := poll(t, s, device); f["error"] != "access_denied" {
		t.Errorf("code denied through the page: %v; want access_denied", f["error"])
	}

	r = postForm(t, s, "/oauth/device", url.Values{"user_code": {"0A44L90H"}, "username": {"alice"}, "action": {"authorize"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "0A44L90H") {
		t.Errorf("a wrong code through the page: HTTP %d\n%s", r.status, r.body)
	}
}

func TestIntercept(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/oauth/authorize_device" {
			return false
		}
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return true
	})
	r := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}})
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("intercepted request: HTTP %d, want 503", r.status)
	}
	if f := poll(t, s, "nope"); f["error"] != "invalid_grant" {
		t.Errorf("request the interceptor passed on: %v, want invalid_grant", f)
	}
	s.Intercept(nil)
	requestCode(t, s, "api")
	if got := s.Requests("/oauth/authorize_device"); got != 2 {
		t.Errorf("Requests = %d, want 2 (intercepted ones count)", got)
	}
	if s.DeviceCodesIssued() != 1 {
		t.Errorf("DeviceCodesIssued = %d, want 1", s.DeviceCodesIssued())
	}
}

func TestTokenLifetime(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{TokenLifetime: time.Hour})
	if f := signIn(t, s, clock, "alice", "api"); f["expires_in"] != "3600" {
		t.Errorf("expires_in = %q, want 3600", f["expires_in"])
	}
	s.SetTokenLifetime(10 * time.Minute)
	if f := signIn(t, s, clock, "alice", "api"); f["expires_in"] != "600" {
		t.Errorf("after SetTokenLifetime: expires_in = %q, want 600", f["expires_in"])
	}
}

func TestAddUser(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{})
	a := s.AddUser("alice")
	if b := s.AddUser("Alice"); b != a || a == 0 {
		t.Errorf("AddUser twice: %d then %d", a, b)
	}
	if s.AddUser("bob") == a {
		t.Error("two users share an ID")
	}
	for _, bad := range []string{"", "a b", "-x", "x.git", "a/b", "x.", "a..b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddUser(%q) did not panic", bad)
				}
			}()
			s.AddUser(bad)
		}()
	}
}
