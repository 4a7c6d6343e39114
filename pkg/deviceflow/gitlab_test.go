package deviceflow

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

const gitlabScopes = "read_repository write_repository read_user"

// gitlab is a GitLab stand-in on the fake clock, under a base path as a
// self-managed GitLab may be.
type gitlab struct {
	*gitlabtest.Server
	clock *fakeClock
}

func newGitLab(t *testing.T, opts gitlabtest.Options) *gitlab {
	t.Helper()
	clock := newClock()
	opts.Now = clock.Now
	if opts.BasePath == "" {
		opts.BasePath = "/gitlab"
	}
	s := gitlabtest.NewServer(opts)
	t.Cleanup(s.Close)
	s.AddUser("octocat")
	return &gitlab{s, clock}
}

func gitlabFlow(s *gitlab, shown *Code) *Flow {
	return &Flow{
		Provider:      "gitlab",
		Scopes:        gitlabScopes,
		ClientID:      s.ClientID(),
		DeviceCodeURL: s.URL + "/oauth/authorize_device",
		TokenURL:      s.URL + "/oauth/token",
		HTTP:          &http.Client{Timeout: 5 * time.Second},
		Show:          func(c Code) { *shown = c },
		Now:           s.clock.Now,
		Sleep:         s.clock.Sleep,
	}
}

// approveAfter has the person confirm the code after the n-th wait.
func (s *gitlab) approveAfter(n int) {
	var mu sync.Mutex
	var code string
	s.OnDeviceCode(func(c string) { mu.Lock(); code = c; mu.Unlock() })
	s.clock.onSleep = func(i int) {
		if i == n {
			mu.Lock()
			defer mu.Unlock()
			s.Approve(code, "octocat")
		}
	}
}

// GitLab's polling errors come with HTTP 400 (doorkeeper) or 401 (some
// versions); both are read as GitHub's HTTP-200 ones.
func TestGitLabPendingWithErrorStatuses(t *testing.T) {
	for _, status := range []int{400, 401} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := newGitLab(t, gitlabtest.Options{TokenErrorStatus: map[string]int{"authorization_pending": status, "slow_down": status}})
			s.approveAfter(3)
			var shown Code
			tok, err := gitlabFlow(s, &shown).Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok.AccessToken, gitlabtest.TokenPrefix) || !strings.HasPrefix(tok.RefreshToken, gitlabtest.TokenPrefix) {
				t.Errorf("no GitLab token pair")
			}
			if !tok.Expiry.Equal(s.clock.Now().Add(2 * time.Hour)) {
				t.Errorf("token expiry %v, want GitLab's 2 hours", tok.Expiry)
			}
			if n := s.Requests(s.BasePath() + "/oauth/token"); n != 3 {
				t.Errorf("%d polls, want 3 (two pending)", n)
			}
			if shown.VerificationURI != s.URL+"/oauth/device" || !strings.HasPrefix(shown.VerificationURIComplete, s.URL+"/oauth/device?user_code=") || shown.OffServer {
				t.Errorf("shown %+v", shown)
			}
		})
	}
}

func TestGitLabScopeIsSent(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{})
	s.AutoApprove("octocat")
	var scope []string
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/oauth/authorize_device") {
			r.ParseForm()
			scope = r.PostForm["scope"]
		}
		return false
	})
	var shown Code
	tok, err := gitlabFlow(s, &shown).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(scope) != 1 || scope[0] != gitlabScopes {
		t.Errorf("scope sent %q, want %q", scope, gitlabScopes)
	}
	// The server granted what was asked (its default would be api).
	if got := tok.Extra("scope"); got != gitlabScopes {
		t.Errorf("granted scope %v, want %q", got, gitlabScopes)
	}
}

// GitLab's codes live 5 minutes; the flow takes that from expires_in.
func TestGitLabCodeExpiresAfterFiveMinutes(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{})
	var shown Code
	err := run(t, gitlabFlow(s, &shown), "device code expired before it was entered")
	if !errors.Is(err, ErrExpired) {
		t.Errorf("err = %v, want ErrExpired", err)
	}
	if !shown.Expiry.Equal(testsupport.Epoch.Add(300 * time.Second)) {
		t.Errorf("code shown as valid until %v, want 300 s after the start", shown.Expiry)
	}
	if got := s.clock.slept(); got != 300*time.Second {
		t.Errorf("waited %v, want 300 s", got)
	}
	if n := s.Requests(s.BasePath() + "/oauth/token"); n != 59 {
		t.Errorf("%d polls in 300 s at 5 s, want 59", n)
	}
}

func gitlabClientMessage(s *gitlab, clientID string) string {
	return fmt.Sprintf(`%s refused the application %s (invalid_client): the GitLab application must be non-confidential (untick "Confidential") and allow the device authorization grant; fix it under Preferences > Applications (or Admin > Applications) and check ghapp.<url>.clientId`,
		strings.TrimPrefix(s.URL[:strings.Index(s.URL, "/gitlab")], "http://"), clientID)
}

func TestGitLabConfidentialApplication(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{Confidential: true})
	var shown Code
	_, err := gitlabFlow(s, &shown).Token(t.Context())
	if want := gitlabClientMessage(s, s.ClientID()); err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if !errors.Is(err, ErrClientID) {
		t.Error("not ErrClientID")
	}
	if shown.UserCode != "" {
		t.Error("a code was shown")
	}
}

// The application turned confidential (or lost the grant) mid-flow.
func TestGitLabInvalidClientWhilePolling(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/oauth/token") {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid_client","error_description":"Client authentication failed"}`))
		return true
	})
	var shown Code
	_, err := gitlabFlow(s, &shown).Token(t.Context())
	if want := gitlabClientMessage(s, s.ClientID()); err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	if !errors.Is(err, ErrClientID) {
		t.Error("not ErrClientID")
	}
}

func TestGitLabDenied(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{})
	s.AutoDeny(true)
	var shown Code
	if err := run(t, gitlabFlow(s, &shown), "cancelled"); !errors.Is(err, ErrDenied) {
		t.Errorf("err = %v, want ErrDenied", err)
	}
}

// A GitLab without the device grant answers 404, which is not a wrong
// client ID there.
func TestGitLabWithoutDeviceGrant(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{})
	var shown Code
	f := gitlabFlow(s, &shown)
	f.DeviceCodeURL = s.URL + "/oauth/no_such_endpoint"
	err := run(t, f, "HTTP 404 to the device-code request", "17.3")
	if errors.Is(err, ErrClientID) {
		t.Errorf("err = %v, want no ErrClientID", err)
	}
}

// Messages about the app name a GitLab application.
func TestGitLabMessagesNameTheApplication(t *testing.T) {
	s := newGitLab(t, gitlabtest.Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"message":"Retry later"}`))
		return true
	})
	var shown Code
	run(t, gitlabFlow(s, &shown), "is rate-limiting sign-ins for this GitLab application; try again in a few minutes")
}
