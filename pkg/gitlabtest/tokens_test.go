package gitlabtest

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
	"golang.org/x/oauth2"
)

// accessLive says whether tok is an access token the server would accept.
func accessLive(s *Server, tok string) bool {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byAccess[tok].live(now)
}

func refreshWith(t *testing.T, s *Server, rt string, extra url.Values) reply {
	t.Helper()
	form := url.Values{"client_id": {s.ClientID()}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return postForm(t, s, "/oauth/token", form)
}

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{BasePath: "/gitlab"})
	first := signIn(t, s, clock, "alice", "read_repository write_repository")
	clock.Advance(time.Hour)
	r := refreshWith(t, s, first["refresh_token"], nil)
	second := r.fields(t)
	if r.status != 200 || !tokenRE.MatchString(second["access_token"]) || !tokenRE.MatchString(second["refresh_token"]) {
		t.Fatalf("refresh: HTTP %d, error %q, access %s, refresh %s", r.status, second["error"],
			testsupport.Redact(second["access_token"]), testsupport.Redact(second["refresh_token"]))
	}
	if second["expires_in"] != "7200" || second["scope"] != "read_repository write_repository" ||
		second["token_type"] != "Bearer" || second["created_at"] == first["created_at"] {
		t.Errorf("refresh answer: %v", second)
	}
	if second["access_token"] == first["access_token"] || second["refresh_token"] == first["refresh_token"] {
		t.Error("refresh returned an old token")
	}
	r = refreshWith(t, s, first["refresh_token"], nil)
	if f := r.fields(t); r.status != 400 || f["error"] != "invalid_grant" {
		t.Errorf("reusing a refresh token: HTTP %d %v; want 400 invalid_grant", r.status, f["error"])
	}
	if accessLive(s, first["access_token"]) {
		t.Error("the old access token is alive after the refresh")
	}
	if !accessLive(s, second["access_token"]) {
		t.Error("the new access token is dead")
	}
	if f := refreshWith(t, s, second["access_token"], nil).fields(t); f["error"] != "invalid_grant" {
		t.Errorf("an access token as refresh token: %v; want invalid_grant", f["error"])
	}
	r = refreshWith(t, s, second["refresh_token"], url.Values{"client_id": {"other"}})
	if f := r.fields(t); r.status != 401 || f["error"] != "invalid_client" {
		t.Errorf("refresh with another client ID: HTTP %d %v; want 401 invalid_client", r.status, f["error"])
	}
	// A refused refresh leaves the token usable.
	if f := refreshWith(t, s, second["refresh_token"], nil).fields(t); f["access_token"] == "" {
		t.Errorf("refresh after a refused attempt: %v", f["error"])
	}
	issued := s.IssuedTokens()
	for _, tok := range []string{first["access_token"], first["refresh_token"], second["access_token"], second["refresh_token"]} {
		if !slices.Contains(issued, tok) {
			t.Errorf("IssuedTokens lacks %s", testsupport.Redact(tok))
		}
	}
	if len(issued) != 6 {
		t.Errorf("IssuedTokens has %d tokens, want 6", len(issued))
	}
}

func TestRefreshKeepsOrNarrowsScopes(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	f := signIn(t, s, clock, "alice", "read_api write_repository")
	r := refreshWith(t, s, f["refresh_token"], url.Values{"scope": {"api"}})
	if g := r.fields(t); r.status != 400 || g["error"] != "invalid_scope" {
		t.Errorf("widening the scopes: HTTP %d %v; want invalid_scope", r.status, g)
	}
	g := refreshWith(t, s, f["refresh_token"], url.Values{"scope": {"read_api"}}).fields(t)
	if g["scope"] != "read_api" {
		t.Errorf("narrowed scope %q, want read_api", g["scope"])
	}
}

func TestRefreshTokenOutlivesItsAccessToken(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	f := signIn(t, s, clock, "alice", "api")
	clock.Advance(30 * 24 * time.Hour)
	if accessLive(s, f["access_token"]) {
		t.Fatal("the access token outlived its two hours")
	}
	if g := refreshWith(t, s, f["refresh_token"], nil).fields(t); g["access_token"] == "" {
		t.Errorf("refresh a month later: %v", g["error"])
	}
}

func TestRevokeEndpoint(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{BasePath: "/gitlab"})
	a := signIn(t, s, clock, "alice", "api")
	b := signIn(t, s, clock, "bob", "api")
	revoke := func(tok, clientID string) reply {
		return postForm(t, s, "/oauth/revoke", url.Values{"token": {tok}, "client_id": {clientID}})
	}
	r := revoke(a["access_token"], DefaultClientID)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != "{}" {
		t.Fatalf("revoke: HTTP %d %s, want 200 {}", r.status, r.body)
	}
	if accessLive(s, a["access_token"]) {
		t.Error("a revoked access token is alive")
	}
	if f := refreshWith(t, s, a["refresh_token"], nil).fields(t); f["error"] != "invalid_grant" {
		t.Errorf("the refresh token of a revoked access token: %v; want invalid_grant", f["error"])
	}
	if !accessLive(s, b["access_token"]) {
		t.Error("another user's token died")
	}

	// Revoking the refresh token kills its access token too.
	if r := revoke(b["refresh_token"], DefaultClientID); r.status != 200 {
		t.Errorf("revoking a refresh token: HTTP %d", r.status)
	}
	if accessLive(s, b["access_token"]) {
		t.Error("the access token of a revoked refresh token is alive")
	}

	for _, tok := range []string{"gloas-unknown", "", a["access_token"]} {
		if r := revoke(tok, DefaultClientID); r.status != 200 {
			t.Errorf("revoking an unknown, empty or dead token: HTTP %d, want 200", r.status)
		}
	}
	c := signIn(t, s, clock, "carol", "api")
	r = revoke(c["access_token"], "other")
	if f := r.fields(t); r.status != 403 || f["error"] != "unauthorized_client" {
		t.Errorf("revoke with another client ID: HTTP %d %v; want 403 unauthorized_client", r.status, f)
	}
	if !accessLive(s, c["access_token"]) {
		t.Error("a refused revocation killed the token")
	}
}

func TestRevokeMethods(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	a := signIn(t, s, clock, "alice", "api")
	b := signIn(t, s, clock, "bob", "api")
	s.Revoke(a["refresh_token"])
	if accessLive(s, a["access_token"]) || !accessLive(s, b["access_token"]) {
		t.Error("Revoke of alice's refresh token: wrong tokens alive")
	}
	s.Revoke("gloas-unknown")
	s.RevokeAll()
	if accessLive(s, b["access_token"]) {
		t.Error("a token alive after RevokeAll")
	}
	if f := refreshWith(t, s, b["refresh_token"], nil).fields(t); f["error"] != "invalid_grant" {
		t.Errorf("refresh after RevokeAll: %v", f["error"])
	}
}

// TestOAuth2ClientRefreshes lets golang.org/x/oauth2 refresh an expired
// token, and checks that its copy of the old refresh token is then dead.
func TestOAuth2ClientRefreshes(t *testing.T) {
	t.Parallel()
	s, clock := newTestServer(t, Options{})
	f := signIn(t, s, clock, "alice", "read_api")
	conf := oauth2Config(s, "read_api")
	old := &oauth2.Token{AccessToken: f["access_token"], RefreshToken: f["refresh_token"], Expiry: time.Now().Add(-time.Minute)}
	tok, err := conf.TokenSource(context.Background(), old).Token()
	if err != nil {
		t.Fatalf("refresh through x/oauth2: %v", err)
	}
	if tok.AccessToken == old.AccessToken || tok.RefreshToken == old.RefreshToken || !accessLive(s, tok.AccessToken) {
		t.Errorf("x/oauth2 got access %s refresh %s", testsupport.Redact(tok.AccessToken), testsupport.Redact(tok.RefreshToken))
	}
	if _, err := conf.TokenSource(context.Background(), old).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("second refresh with the same token: %v; want invalid_grant", err)
	}
}

func TestLogNamesEventsButNoTokens(t *testing.T) {
	t.Parallel()
	var log testsupport.SyncBuffer
	s, clock := newTestServer(t, Options{Log: &log})
	f := signIn(t, s, clock, "alice", "api")
	refreshWith(t, s, f["refresh_token"], nil)
	refreshWith(t, s, f["refresh_token"], nil)
	// A client that sends a token where it does not belong.
	g := signIn(t, s, clock, "bob", "api")
	postForm(t, s, "/oauth/revoke", url.Values{"token": {g["access_token"]}, "client_id": {g["refresh_token"]}})
	postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {DefaultClientID}, "scope": {"api " + g["access_token"]}})
	refreshWith(t, s, g["refresh_token"], url.Values{"scope": {g["access_token"]}})
	s.RevokeAll()
	out := log.String()
	for _, want := range []string{"issued", "authorized by alice", "refreshed", "refresh refused", "revocation refused", "revoked", "scope"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, testsupport.Redact(out))
		}
	}
	for _, tok := range s.IssuedTokens() {
		if strings.Contains(out, tok) {
			t.Errorf("log contains token %s", testsupport.Redact(tok))
		}
	}
}
