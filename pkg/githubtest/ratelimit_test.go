package githubtest

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitDeviceCodes(t *testing.T) {
	s, _ := newTestServer(t, Options{RateLimitDeviceCodes: true})
	for _, asJSON := range []bool{true, false} {
		r := postForm(t, s, "/login/device/code", url.Values{"client_id": {DefaultClientID}}, asJSON)
		if r.status != 429 || r.header.Get("Retry-After") != "60" {
			t.Errorf("json=%v: HTTP %d, Retry-After %q; want 429 with Retry-After: 60", asJSON, r.status, r.header.Get("Retry-After"))
		}
		if f := r.fields(t); f["error"] == "" {
			t.Errorf("json=%v: no error in the body: %v", asJSON, f)
		}
	}
	if s.DeviceCodesIssued() != 0 {
		t.Error("a code was issued while rate-limited")
	}
	// An unknown client is still told so first.
	r := postForm(t, s, "/login/device/code", url.Values{"client_id": {"Iv23liOther"}}, true)
	if r.status != 404 {
		t.Errorf("unknown client while rate-limited: HTTP %d, want 404", r.status)
	}
}

func TestSlowDownPolls(t *testing.T) {
	s, clock := newTestServer(t, Options{SlowDownPolls: 3})
	s.AddUser("octocat")
	device, user := requestCode(t, s)
	if err := s.Approve(user, "octocat"); err != nil {
		t.Fatal(err)
	}
	interval := 5
	for i := range 3 {
		interval += 5
		clock.Advance(time.Minute) // well spaced, and still told to slow down
		if f := poll(t, s, device); f["error"] != "slow_down" || f["interval"] != strconv.Itoa(interval) {
			t.Fatalf("poll %d: %v; want slow_down with interval %d", i+1, f, interval)
		}
	}
	clock.Advance(time.Minute)
	if f := poll(t, s, device); f["access_token"] == "" {
		t.Fatalf("poll 4: %v; want the token", f["error"])
	}
}
