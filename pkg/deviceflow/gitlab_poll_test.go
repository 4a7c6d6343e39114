package deviceflow

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
)

// GitLab answers authorization_pending with HTTP 400 (doorkeeper), and
// some versions with 401: x/oauth2 reads the error code from either, so
// the flow keeps polling, and the scopes reach the server.
func TestGitLabPendingWithErrorStatuses(t *testing.T) {
	for _, status := range []int{0, http.StatusUnauthorized} {
		opts := gitlabtest.Options{Interval: 1, BasePath: "/gitlab"}
		if status != 0 {
			opts.TokenErrorStatus = map[string]int{"authorization_pending": status}
		}
		s := gitlabtest.NewServer(opts)
		t.Cleanup(s.Close)
		s.AddUser("ada")
		s.OnDeviceCode(func(code string) {
			go func() {
				time.Sleep(1500 * time.Millisecond) // at least one pending poll first
				s.Approve(code, "ada")
			}()
		})
		f := &Flow{
			ClientID: s.ClientID(), DeviceCodeURL: s.URL + "/oauth/authorize_device", TokenURL: s.URL + "/oauth/token",
			HTTP: &http.Client{Timeout: 5 * time.Second}, Provider: "gitlab", Scopes: "write_repository read_user",
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		tok, err := f.Token(ctx)
		cancel()
		if err != nil {
			t.Fatalf("status %d: %v", status, err)
		}
		if !strings.HasPrefix(tok.AccessToken, gitlabtest.TokenPrefix) || tok.RefreshToken == "" {
			t.Fatalf("status %d: not a GitLab token with a refresh token", status)
		}
		if got, _ := tok.Extra("scope").(string); got != "write_repository read_user" {
			t.Errorf("status %d: granted scope %q, want the scopes asked for", status, got)
		}
		if n := s.Requests("/gitlab/oauth/token"); n < 2 {
			t.Errorf("status %d: %d token requests; want a pending poll before the token", status, n)
		}
	}
}
