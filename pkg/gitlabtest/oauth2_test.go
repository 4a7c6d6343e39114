package gitlabtest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
	"golang.org/x/oauth2"
)

func oauth2Config(s *Server, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: s.ClientID(),
		Scopes:   scopes,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: s.URL + "/oauth/authorize_device",
			TokenURL:      s.URL + "/oauth/token",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
}

// TestWorksWithOAuth2Client runs golang.org/x/oauth2's device flow, with
// the real clock (x/oauth2 waits on its own timer, one interval of at
// least a second), against the stand-in below a base path.
func TestWorksWithOAuth2Client(t *testing.T) {
	t.Parallel()
	// The cases wait on x/oauth2's timer, not on the CPU: run them all at
	// once, whatever -parallel says.
	var wg sync.WaitGroup
	defer wg.Wait()
	run := func(name string, f func(t *testing.T)) {
		wg.Go(func() { t.Run(name, f) })
	}
	for _, status := range []int{400, 401} {
		run(http.StatusText(status)+"/approved", func(t *testing.T) {
			s, conf := oauth2Server(t, status)
			// The first poll finds the code pending; the person confirms
			// it just before the second.
			var polls atomic.Int32
			s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == "/gitlab/oauth/token" && polls.Add(1) == 2 {
					for _, code := range s.PendingCodes() {
						if err := s.Approve(code, "alice"); err != nil {
							t.Error(err)
						}
					}
				}
				return false
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			da, err := conf.DeviceAuth(ctx)
			if err != nil || da.DeviceCode == "" || da.Interval != 1 || da.VerificationURIComplete == "" {
				t.Fatalf("DeviceAuth: %v (%+v)", err, da)
			}
			tok, err := conf.DeviceAccessToken(ctx, da)
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			if !tokenRE.MatchString(tok.AccessToken) || !tokenRE.MatchString(tok.RefreshToken) ||
				tok.Type() != "Bearer" || time.Until(tok.Expiry) < time.Hour {
				t.Errorf("token %s, refresh %s, type %s, expiry %v",
					testsupport.Redact(tok.AccessToken), testsupport.Redact(tok.RefreshToken), tok.Type(), tok.Expiry)
			}
			if scope := tok.Extra("scope"); scope != "read_repository write_repository" {
				t.Errorf("scope %v", scope)
			}
			if got := polls.Load(); got != 2 {
				t.Errorf("%d polls, want 2", got)
			}
		})
		run(http.StatusText(status)+"/denied", func(t *testing.T) {
			s, conf := oauth2Server(t, status)
			s.AutoDeny(true)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			da, err := conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = conf.DeviceAccessToken(ctx, da)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "access_denied" || re.Response.StatusCode != status {
				t.Errorf("denied: %v; want a RetrieveError access_denied with HTTP %d", err, status)
			}
		})
	}
}

// oauth2Server serves below a base path on the real clock with a 1s
// interval, sending status with the polling errors.
func oauth2Server(t *testing.T, status int) (*Server, *oauth2.Config) {
	s := NewServer(Options{Interval: 1, BasePath: "/gitlab", TokenErrorStatus: map[string]int{
		"authorization_pending": status, "slow_down": status, "expired_token": status, "access_denied": status,
	}})
	t.Cleanup(s.Close)
	s.AddUser("alice")
	return s, oauth2Config(s, "read_repository", "write_repository")
}

func TestOAuth2ClientSeesInvalidClient(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, Options{Confidential: true})
	_, err := oauth2Config(s, "api").DeviceAuth(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Errorf("DeviceAuth with a confidential application: %v; want invalid_client", err)
	}
}
