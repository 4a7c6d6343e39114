package githubtest

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestWorksWithOAuth2Client runs golang.org/x/oauth2's device flow, with
// the real clock, against the stand-in.
func TestWorksWithOAuth2Client(t *testing.T) {
	s := NewServer(Options{Interval: 1})
	defer s.Close()
	s.AutoApprove("octocat")
	conf := &oauth2.Config{
		ClientID: s.ClientID(),
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: s.URL + "/login/device/code",
			TokenURL:      s.URL + "/login/oauth/access_token",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := conf.DeviceAuth(ctx)
	if err != nil || da.DeviceCode == "" || da.Interval != 1 {
		t.Fatalf("DeviceAuth: %v (interval %d)", err, da.Interval)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if !accessRE.MatchString(tok.AccessToken) || !refreshRE.MatchString(tok.RefreshToken) || tok.Expiry.IsZero() {
		t.Errorf("token %s, refresh %s, expiry %v", redact(tok.AccessToken), redact(tok.RefreshToken), tok.Expiry)
	}
	if got := s.Requests("/login/oauth/access_token"); got != 1 {
		t.Errorf("%d polls, want 1: the first poll after the interval succeeds", got)
	}

	// GitHub's HTTP-200 device_flow_disabled reaches x/oauth2 as an empty
	// answer without error; the stand-in must reproduce that.
	off := NewServer(Options{DeviceFlowDisabled: true})
	defer off.Close()
	conf.Endpoint.DeviceAuthURL = off.URL + "/login/device/code"
	if da, err := conf.DeviceAuth(ctx); err != nil || da.DeviceCode != "" {
		t.Errorf("device flow disabled: DeviceAuth = %+v, %v; want an empty answer and no error", da, err)
	}
}
