package deviceflow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// fakeClock is the flow's clock in tests: Sleep moves it on at once, so
// a wait of minutes takes no time. The stand-in reads the same clock, so
// its expiry and poll spacing agree with the flow's.
type fakeClock struct {
	*testsupport.Clock
	mu     sync.Mutex
	sleeps []time.Duration
	// onSleep, if set, runs after the n-th sleep (from 1) has moved the
	// clock: what the person does while the flow waits.
	onSleep func(n int)
}

func newClock() *fakeClock { return &fakeClock{Clock: testsupport.NewClock()} }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	n, hook := len(c.sleeps), c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return ctx.Err()
}

// slept is the fake time the flow has waited so far.
func (c *fakeClock) slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum time.Duration
	for _, d := range c.sleeps {
		sum += d
	}
	return sum
}

// stand is a GitHub stand-in on the fake clock.
type stand struct {
	*githubtest.Server
	clock *fakeClock
}

func newServer(t *testing.T, opts githubtest.Options) *stand {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 1
	}
	clock := newClock()
	opts.Now = clock.Now
	s := githubtest.NewServer(opts)
	t.Cleanup(s.Close)
	s.AddUser("octocat")
	return &stand{s, clock}
}

func flowFor(s *stand, shown *Code) *Flow {
	return &Flow{
		ClientID:      s.ClientID(),
		DeviceCodeURL: s.URL + "/login/device/code",
		TokenURL:      s.URL + "/login/oauth/access_token",
		HTTP:          &http.Client{Timeout: 5 * time.Second},
		Show:          func(c Code) { *shown = c },
		Now:           s.clock.Now,
		Sleep:         s.clock.Sleep,
	}
}

// run runs the flow and checks the error, when one is expected, is one line
// that contains every want.
func run(t *testing.T, f *Flow, want ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := f.Token(ctx)
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("flow failed: %v", err)
		}
		if !strings.HasPrefix(tok.AccessToken, "ghu_") && !strings.HasPrefix(tok.AccessToken, "gloas-") {
			t.Fatalf("no user access token")
		}
		return nil
	}
	if err == nil {
		t.Fatal("flow succeeded, want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	return err
}

// answerOn makes s answer path with status, headers and body.
func answerOn(s *stand, path string, status int, ctype, body string, headers ...string) {
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write([]byte(body))
		return true
	})
}

func TestSuccess(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	var shown Code
	f := flowFor(s, &shown)
	ctx := context.Background()
	tok, err := f.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if shown.UserCode == "" || shown.VerificationURI != s.URL+"/login/device" || !shown.Expiry.Equal(testsupport.Epoch.Add(15*time.Minute)) {
		t.Errorf("shown %+v", shown)
	}
	// One poll at the interval, not two.
	if n := s.Requests("/login/oauth/access_token"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if got := s.clock.slept(); got != time.Second {
		t.Errorf("waited %v, want the 1 s interval", got)
	}
	if !tok.Expiry.Equal(s.clock.Now().Add(8*time.Hour)) || !strings.HasPrefix(tok.RefreshToken, "ghr_") || tok.TokenType != "bearer" {
		t.Errorf("token expiry %v, refresh %q…, type %q", tok.Expiry, tok.RefreshToken[:min(4, len(tok.RefreshToken))], tok.TokenType)
	}
	if v := tok.Extra("refresh_token_expires_in"); v == nil {
		t.Error("Extra(refresh_token_expires_in) is nil")
	}
}

// The requests are what RFC 8628 and GitHub ask for.
func TestRequests(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	var mu sync.Mutex
	seen := map[string]url.Values{}
	accept := map[string]string{}
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		r.ParseForm()
		mu.Lock()
		seen[r.URL.Path], accept[r.URL.Path] = r.PostForm, r.Header.Get("Accept")
		mu.Unlock()
		return false
	})
	var shown Code
	run(t, flowFor(s, &shown))
	code, poll := seen["/login/device/code"], seen["/login/oauth/access_token"]
	if code.Get("client_id") != s.ClientID() || code.Has("scope") || len(code) != 1 {
		t.Errorf("device-code request %v; want client_id alone", code)
	}
	if poll.Get("client_id") != s.ClientID() || poll.Get("grant_type") != grantDeviceCode || poll.Get("device_code") == "" || len(poll) != 3 {
		t.Errorf("poll %v; want client_id, device_code and grant_type", poll)
	}
	for path, a := range accept {
		if a != "application/json" {
			t.Errorf("%s: Accept %q, want application/json", path, a)
		}
	}
}

func TestFormEncodedAnswers(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if r.URL.Path == "/login/device/code" {
			w.Write([]byte("device_code=d&user_code=WDJB-MJHT&verification_uri=" + url.QueryEscape(s.URL+"/login/device") + "&expires_in=600&interval=7"))
			return true
		}
		if s.Requests(r.URL.Path) == 1 {
			w.Write([]byte("error=authorization_pending"))
			return true
		}
		w.Write([]byte("access_token=ghu_form&expires_in=28800&refresh_token=ghr_form&refresh_token_expires_in=15897600&token_type=bearer&scope="))
		return true
	})
	var shown Code
	tok, err := flowFor(s, &shown).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if shown.UserCode != "WDJB-MJHT" || !shown.Expiry.Equal(testsupport.Epoch.Add(10*time.Minute)) {
		t.Errorf("shown %+v", shown)
	}
	if tok.AccessToken != "ghu_form" || tok.RefreshToken != "ghr_form" || !tok.Expiry.Equal(s.clock.Now().Add(8*time.Hour)) || fmt.Sprint(tok.Extra("refresh_token_expires_in")) != "15897600" {
		t.Errorf("token %q %q %v %v", tok.AccessToken, tok.RefreshToken, tok.Expiry, tok.Extra("refresh_token_expires_in"))
	}
	if got := s.clock.slept(); got != 14*time.Second {
		t.Errorf("waited %v, want two intervals of 7 s", got)
	}
}

func TestPendingThenApproved(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	var code string
	s.OnDeviceCode(func(c string) { code = c })
	s.clock.onSleep = func(n int) {
		if n == 3 { // after a couple of authorization_pending polls
			s.Approve(code, "octocat")
		}
	}
	var shown Code
	run(t, flowFor(s, &shown))
	if n := s.Requests("/login/oauth/access_token"); n != 3 {
		t.Errorf("%d token requests; want the flow to keep polling while pending (3)", n)
	}
}

func TestAccessDenied(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoDeny(true)
	var shown Code
	err := run(t, flowFor(s, &shown), "cancelled", "run the git command again")
	if !errors.Is(err, ErrDenied) {
		t.Errorf("err = %v, want ErrDenied", err)
	}
}

func TestCodeExpires(t *testing.T) {
	s := newServer(t, githubtest.Options{CodeLifetime: 15 * time.Minute, Interval: 5})
	var shown Code
	err := run(t, flowFor(s, &shown), "expired", "run the git command again")
	if !errors.Is(err, ErrExpired) || errors.Is(err, ErrRateLimited) {
		t.Errorf("err = %v, want ErrExpired alone", err)
	}
	if err.Error() != "device code expired before it was entered; run the git command again for a new code" {
		t.Errorf("err = %q", err)
	}
	// The flow waits out the code's life, polling every 5 s but never at
	// or past the expiry.
	if got := s.clock.slept(); got != 15*time.Minute {
		t.Errorf("waited %v, want the code's 15 minutes", got)
	}
	if n := s.Requests("/login/oauth/access_token"); n != 179 {
		t.Errorf("%d polls, want 179", n)
	}
}

// Whether a failed request means a dead code or a dead network is the
// clock's call, not the error's.
func TestClockDecidesExpiry(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/oauth/access_token" {
			return false
		}
		s.clock.Advance(16 * time.Minute) // the request took past the code's life
		panic(http.ErrAbortHandler)
	})
	var shown Code
	if err := run(t, flowFor(s, &shown), "expired"); !errors.Is(err, ErrExpired) {
		t.Errorf("err = %v, want ErrExpired", err)
	}
	// Within the code's life the same failure is the network's.
	s2 := newServer(t, githubtest.Options{})
	s2.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/oauth/access_token" {
			return false
		}
		panic(http.ErrAbortHandler)
	})
	if err := run(t, flowFor(s2, &shown), "cannot reach "+s2.URL); errors.Is(err, ErrExpired) {
		t.Errorf("err = %v, want a network error", err)
	}
}

func TestCancelledWhileWaiting(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.clock.onSleep = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	var shown Code
	_, err := flowFor(s, &shown).Token(ctx)
	if !errors.Is(err, context.Canceled) || err.Error() != "sign-in interrupted: context canceled" {
		t.Errorf("err = %v, want the sign-in interrupted", err)
	}
	if n := s.Requests("/login/oauth/access_token"); n != 1 {
		t.Errorf("%d polls, want 1 before the cancel", n)
	}
}

func TestExpiredTokenAnswer(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	answerOn(s, "/login/oauth/access_token", 200, "application/x-www-form-urlencoded", "error=expired_token&error_description=gone")
	var shown Code
	if err := run(t, flowFor(s, &shown), "expired"); !errors.Is(err, ErrExpired) {
		t.Errorf("err = %v, want ErrExpired", err)
	}
}

func TestDeviceFlowDisabled(t *testing.T) {
	s := newServer(t, githubtest.Options{DeviceFlowDisabled: true})
	var shown Code
	err := run(t, flowFor(s, &shown), "Device Flow", "enable", "for this GitHub App on")
	if !errors.Is(err, ErrDisabled) {
		t.Errorf("err = %v, want ErrDisabled", err)
	}
	if shown.UserCode != "" {
		t.Error("a code was shown")
	}
}

func TestWrongClientID(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	var shown Code
	f := flowFor(s, &shown)
	f.ClientID = "Iv1.not-this-app"
	err := run(t, f, `"Iv1.not-this-app" is not the client ID of a GitHub App`, "ghapp.clientId")
	if !errors.Is(err, ErrClientID) {
		t.Errorf("err = %v, want ErrClientID", err)
	}
}

func TestIncorrectClientCredentialsWhilePolling(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	answerOn(s, "/login/oauth/access_token", 200, "application/json", `{"error":"incorrect_client_credentials"}`)
	var shown Code
	if err := run(t, flowFor(s, &shown), "not the client ID"); !errors.Is(err, ErrClientID) {
		t.Errorf("err = %v, want ErrClientID", err)
	}
}

// pollTimes records when (on the fake clock, from Epoch) each poll came.
func pollTimes(s *stand, answer func(n int, w http.ResponseWriter) bool) *[]time.Duration {
	var at []time.Duration
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/oauth/access_token" {
			return false
		}
		at = append(at, s.clock.Now().Sub(testsupport.Epoch))
		return answer(len(at), w)
	})
	return &at
}

func TestSlowDownIsHonoured(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       time.Duration // the gap after the slow_down
	}{
		{"interval in the body", `{"error":"slow_down","interval":6}`, 6 * time.Second},
		{"no interval: +5 s", `{"error":"slow_down"}`, 6 * time.Second},
		{"a larger interval is taken", `{"error":"slow_down","interval":20}`, 20 * time.Second},
		{"a smaller interval is not", `{"error":"slow_down","interval":2}`, 6 * time.Second},
		{"a huge interval is clamped", `{"error":"slow_down","interval":99999999999}`, maxInterval},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, githubtest.Options{})
			s.AutoApprove("octocat")
			at := pollTimes(s, func(n int, w http.ResponseWriter) bool {
				if n > 1 {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tt.body))
				return true
			})
			var shown Code
			run(t, flowFor(s, &shown))
			if len(*at) != 2 || (*at)[1]-(*at)[0] != tt.want {
				t.Errorf("polls at %v; want the second %v after the first", *at, tt.want)
			}
		})
	}
}

// The raised interval stays raised.
func TestSlowDownStaysRaised(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	var code string
	s.OnDeviceCode(func(c string) { code = c })
	at := pollTimes(s, func(n int, w http.ResponseWriter) bool {
		if n == 4 {
			s.Approve(code, "octocat")
		}
		if n != 1 {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"error":"slow_down"}`))
		return true
	})
	var shown Code
	run(t, flowFor(s, &shown))
	want := []time.Duration{1 * time.Second, 7 * time.Second, 13 * time.Second, 19 * time.Second}
	if len(*at) != len(want) {
		t.Fatalf("polls at %v, want %v", *at, want)
	}
	for i := range want {
		if (*at)[i] != want[i] {
			t.Fatalf("polls at %v, want %v", *at, want)
		}
	}
}

func TestServerErrors(t *testing.T) {
	for _, tt := range []struct {
		name, path, ctype, body string
		status                  int
		want                    []string
	}{
		{"device code 503", "/login/device/code", "text/html", "<html>down</html>", 503, []string{"HTTP 503", "try again later"}},
		{"device code 403 without rate limit", "/login/device/code", "text/html", "<html>no</html>", 403, []string{"HTTP 403 to the device-code request; check that it is a GitHub server"}},
		{"device code not JSON", "/login/device/code", "text/html", "<html>hello</html>", 200, []string{"not a device code"}},
		{"device code JSON null", "/login/device/code", "application/json", "null", 200, []string{"not a device code"}},
		{"device code unknown error in 200", "/login/device/code", "application/json", `{"error":"rate_limited","error_description":"too many\ncodes"}`, 200, []string{"rate_limited", `too many\x0acodes`}},
		{"token 502", "/login/oauth/access_token", "text/html", "bad gateway", 502, []string{"HTTP 502", "try again later"}},
		{"token 404", "/login/oauth/access_token", "text/html", "not here", 404, []string{"HTTP 404 while waiting for authorization; run the git command again"}},
		{"token not JSON", "/login/oauth/access_token", "application/json", "{{{", 200, []string{"not a token response"}},
		{"token bad expires_in", "/login/oauth/access_token", "application/json", `{"access_token":"ghu_x","expires_in":"soon"}`, 200, []string{"not a token response"}},
		{"token access_token not a string", "/login/oauth/access_token", "application/json", `{"access_token":{}}`, 200, []string{"not a token response"}},
		{"token past the size bound", "/login/oauth/access_token", "application/json", `{"access_token":"ghu_x","pad":"` + strings.Repeat("a", githubapi.MaxBody) + `"}`, 200, []string{"not a token response"}},
		{"token without access_token", "/login/oauth/access_token", "application/json", `{"token_type":"bearer"}`, 200, []string{"without an access token"}},
		{"token expired on arrival", "/login/oauth/access_token", "application/json", `{"access_token":"ghu_x","expires_in":-60}`, 200, []string{"already expired"}},
		{"token unknown grant", "/login/oauth/access_token", "application/json", `{"error":"unsupported_grant_type"}`, 200, []string{"unsupported_grant_type", "run the git command again"}},
		{"token unknown error", "/login/oauth/access_token", "application/json", `{"error":"teapot","error_description":"short\u001band stout"}`, 418, []string{"ended the sign-in: teapot (short\\x1band stout); run the git command again"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, githubtest.Options{})
			s.AutoApprove("octocat")
			answerOn(s, tt.path, tt.status, tt.ctype, tt.body)
			var shown Code
			run(t, flowFor(s, &shown), tt.want...)
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := &Flow{ClientID: "x", DeviceCodeURL: "http://" + addr + "/login/device/code", TokenURL: "http://" + addr + "/login/oauth/access_token"}
	run(t, f, "cannot reach http://"+addr, "network")
}

func TestHangingServerIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	addr := ln.Addr().String()
	f := &Flow{ClientID: "x", DeviceCodeURL: "http://" + addr + "/login/device/code", TokenURL: "http://" + addr + "/x",
		HTTP: &http.Client{Timeout: 200 * time.Millisecond}}
	run(t, f, "did not answer in time")
}

func TestBogusIntervalIsClamped(t *testing.T) {
	for _, tt := range []struct{ interval, expiresIn, want string }{
		// Polls after the default 5 s; the stand-in does not know code "d".
		{"-3", "30", "incorrect_device_code"},
		{"0", "30", "incorrect_device_code"},
		{`"soon"`, "30", "incorrect_device_code"},
		// Clamped to 60 s, past the code's life: ends as expired, no overflow.
		{"999999999999", "2", "expired"},
		{"1e300", "2", "expired"},
	} {
		s := newServer(t, githubtest.Options{})
		answerOn(s, "/login/device/code", 200, "application/json", `{"device_code":"d","user_code":"U-1","verification_uri":"http://x/login/device","expires_in":`+tt.expiresIn+`,"interval":`+tt.interval+`}`)
		var shown Code
		run(t, flowFor(s, &shown), tt.want)
		wait := 5 * time.Second
		if tt.want == "expired" {
			wait = 2 * time.Second
		}
		if got := s.clock.slept(); got != wait {
			t.Errorf("interval %s: waited %v, want %v", tt.interval, got, wait)
		}
	}
}

func TestCodeLifeIsBounded(t *testing.T) {
	for _, tt := range []struct {
		expiresIn string
		want      time.Duration
	}{
		{"300", 5 * time.Minute},
		{"0", defaultCodeLife},
		{"-5", defaultCodeLife},
		{`null`, defaultCodeLife},
		{"9223372036854775807", maxCodeLife},
		{"1e30", maxCodeLife},
	} {
		s := newServer(t, githubtest.Options{})
		answerOn(s, "/login/device/code", 200, "application/json", `{"device_code":"d","user_code":"U-1","verification_uri":"http://x/login/device","interval":5,"expires_in":`+tt.expiresIn+`}`)
		s.clock.onSleep = func(int) {}
		var shown Code
		f := flowFor(s, &shown)
		f.Token(context.Background())
		if got := shown.Expiry.Sub(testsupport.Epoch); got != tt.want {
			t.Errorf("expires_in %s: code lives %v, want %v", tt.expiresIn, got, tt.want)
		}
	}
}
