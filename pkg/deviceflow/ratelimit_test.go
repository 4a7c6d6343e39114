package deviceflow

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// hhmm is how the messages show a time.
func hhmm(t time.Time) string { return t.Local().Format("15:04") }

func TestRateLimitedDeviceCodeMessage(t *testing.T) {
	s := newServer(t, githubtest.Options{RateLimitDeviceCodes: true})
	var shown Code
	_, err := flowFor(s, &shown).Token(t.Context())
	srv := strings.TrimPrefix(s.URL, "http://")
	want := fmt.Sprintf("%s is rate-limiting sign-ins for this GitHub App; try again at %s (in 1 minute); administrators: see docs/github-app.md#sizing", srv, hhmm(testsupport.Epoch.Add(time.Minute)))
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if !errors.Is(err, ErrRateLimited) {
		t.Error("not ErrRateLimited")
	}
	if shown.UserCode != "" || s.Requests("/login/device/code") != 1 {
		t.Errorf("shown %+v after %d requests; want no code after one", shown, s.Requests("/login/device/code"))
	}
}

// Every way a server says "rate limited" to the device-code request.
func TestRateLimitSignals(t *testing.T) {
	reset := testsupport.Epoch.Add(17*time.Minute + 20*time.Second)
	for _, tt := range []struct {
		name    string
		status  int
		headers []string
		when    string // "" means not rate-limited
	}{
		{"429 with Retry-After seconds", 429, []string{"Retry-After", "600"}, fmt.Sprintf("at %s (in 10 minutes)", hhmm(testsupport.Epoch.Add(10*time.Minute)))},
		{"429 with Retry-After date", 429, []string{"Retry-After", reset.UTC().Format(http.TimeFormat)}, fmt.Sprintf("at %s (in 18 minutes)", hhmm(reset))},
		{"429 with X-RateLimit-Reset", 429, []string{"X-RateLimit-Reset", fmt.Sprint(reset.Unix())}, fmt.Sprintf("at %s (in 18 minutes)", hhmm(reset))},
		{"429 bare", 429, nil, "in a few minutes"},
		{"429 with a reset in the past", 429, []string{"X-RateLimit-Reset", "1000"}, "in a few minutes"},
		{"429 with a Retry-After of years", 429, []string{"Retry-After", "99999999"}, "in a few minutes"},
		{"403 with no requests left", 403, []string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", fmt.Sprint(reset.Unix())}, fmt.Sprintf("at %s (in 18 minutes)", hhmm(reset))},
		{"403 with GitLab's headers", 403, []string{"RateLimit-Remaining", "0", "RateLimit-Reset", fmt.Sprint(reset.Unix())}, fmt.Sprintf("at %s (in 18 minutes)", hhmm(reset))},
		{"403 with requests left", 403, []string{"X-RateLimit-Remaining", "12"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, githubtest.Options{})
			answerOn(s, "/login/device/code", tt.status, "application/json", `{"message":"slow down"}`, tt.headers...)
			var shown Code
			_, err := flowFor(s, &shown).Token(t.Context())
			if tt.when == "" {
				if errors.Is(err, ErrRateLimited) {
					t.Errorf("err = %v, want no rate limit", err)
				}
				return
			}
			if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "try again "+tt.when+";") {
				t.Errorf("err = %v, want ErrRateLimited with %q", err, tt.when)
			}
		})
	}
}

// limitPolls answers the first n polls with HTTP 429 and Retry-After.
func limitPolls(s *stand, n int, retryAfter string) *[]time.Duration {
	return pollTimes(s, func(i int, w http.ResponseWriter) bool {
		if i > n {
			return false
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"too many requests"}`))
		return true
	})
}

// A poll refused with a Retry-After inside the code's life waits and polls
// on: the person may have entered the code already.
func TestRateLimitedPollWaitsWhenItFits(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	at := limitPolls(s, 2, "30")
	var shown Code
	run(t, flowFor(s, &shown))
	want := []time.Duration{1 * time.Second, 31 * time.Second, 61 * time.Second}
	if fmt.Sprint(*at) != fmt.Sprint(want) {
		t.Errorf("polls at %v, want %v", *at, want)
	}
}

func TestRateLimitedPollEnds(t *testing.T) {
	for _, tt := range []struct{ name, retryAfter, when string }{
		{"past the code's life", "3600", fmt.Sprintf("at %s (in 60 minutes)", hhmm(testsupport.Epoch.Add(time.Second+time.Hour)))},
		{"no time given", "", "in a few minutes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, githubtest.Options{})
			s.AutoApprove("octocat")
			limitPolls(s, 1, tt.retryAfter)
			var shown Code
			err := run(t, flowFor(s, &shown), "is rate-limiting sign-ins for this GitHub App; try again "+tt.when+"; administrators: see docs/github-app.md#sizing")
			if !errors.Is(err, ErrRateLimited) || errors.Is(err, ErrExpired) {
				t.Errorf("err = %v, want ErrRateLimited alone", err)
			}
			if n := s.Requests("/login/oauth/access_token"); n != 1 {
				t.Errorf("%d polls, want 1", n)
			}
		})
	}
}

// A slow_down storm: the flow keeps polling at the raised interval, and
// when the code runs out says whose doing that was.
func TestSlowDownStormExpiry(t *testing.T) {
	s := newServer(t, githubtest.Options{SlowDownPolls: 1000, CodeLifetime: time.Minute})
	at := pollTimes(s, func(int, http.ResponseWriter) bool { return false })
	var shown Code
	_, err := flowFor(s, &shown).Token(t.Context())
	srv := strings.TrimPrefix(s.URL, "http://")
	// Polls at 1 s, then every 6, 11, 16, 21 s; the next would be past 60 s.
	want := fmt.Sprintf("device code expired while %s was slowing sign-ins down (slow_down 5 times); run the git command again for a new code, and if this keeps happening, too many people sign in to this GitHub App at once (administrators: see docs/github-app.md#sizing)", srv)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrRateLimited) {
		t.Error("want both ErrExpired and ErrRateLimited")
	}
	if fmt.Sprint(*at) != "[1s 7s 18s 34s 55s]" || s.clock.slept() != time.Minute {
		t.Errorf("polls at %v, waited %v", *at, s.clock.slept())
	}
}

// One slow_down before the code runs out is the person's delay, not a
// storm.
func TestOneSlowDownIsNoStorm(t *testing.T) {
	s := newServer(t, githubtest.Options{SlowDownPolls: 1, CodeLifetime: 5 * time.Second})
	var shown Code
	err := run(t, flowFor(s, &shown), "device code expired before it was entered")
	if errors.Is(err, ErrRateLimited) {
		t.Errorf("err = %v, want a plain expiry", err)
	}
}

func TestSlowDownStormThenApproved(t *testing.T) {
	s := newServer(t, githubtest.Options{SlowDownPolls: 4})
	s.AutoApprove("octocat")
	var shown Code
	run(t, flowFor(s, &shown))
	if n := s.Requests("/login/oauth/access_token"); n != 5 {
		t.Errorf("%d polls, want 5", n)
	}
}

// Rate limits on polls count towards the storm too.
func TestRateLimitedPollsThenExpiry(t *testing.T) {
	s := newServer(t, githubtest.Options{CodeLifetime: time.Minute})
	limitPolls(s, 2, "20")
	var shown Code
	err := run(t, flowFor(s, &shown), "was slowing sign-ins down (rate-limited 2 times)")
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrRateLimited) {
		t.Errorf("err = %v, want both ErrExpired and ErrRateLimited", err)
	}
}
