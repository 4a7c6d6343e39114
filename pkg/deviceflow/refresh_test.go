package deviceflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func TestRefreshRotates(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	var shown Code
	f := flowFor(s, &shown)
	first, err := f.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.Refresh(context.Background(), first.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken || time.Until(second.Expiry) < 7*time.Hour {
		t.Error("refresh did not hand out a fresh pair")
	}
	// The old refresh token died with the rotation.
	_, err = f.Refresh(context.Background(), first.RefreshToken)
	if err == nil || !strings.Contains(err.Error(), "refused to renew") || strings.Contains(err.Error(), first.RefreshToken) {
		t.Errorf("reusing a rotated refresh token: %v", err)
	}
	if n := s.Requests("/login/device/code"); n != 1 {
		t.Errorf("refresh asked for a device code (%d)", n)
	}
}
