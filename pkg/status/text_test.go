package status

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
)

func TestPrintStatus(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	gh, _ := origin.ParseURL("github.com")
	for _, tt := range []struct {
		name   string
		report Report
		host   *origin.Origin
		want   []string
	}{
		{"none", Report{Accounts: []Account{}, SignIn: "git-credential-ghapp login"}, &gh,
			[]string{"not signed in to github.com; sign in with: git-credential-ghapp login\n"}},
		{"not installed", Report{Accounts: []Account{{
			Host: "github.com", Login: "octocat", Store: "auto", ExpiresAt: now.Add(7*time.Hour + 42*time.Minute + 10*time.Second),
			Installations: []Installation{},
		}}}, nil, []string{
			"github.com: signed in as octocat (store auto)\n",
			"  token expires in 7h42m, at ",
			"installed on no account you can reach",
		}},
		{"not installed, with the app's page", Report{Accounts: []Account{{
			Host: "github.com", Login: "octocat", Store: "auto", ExpiresAt: now.Add(time.Hour),
			AppSlug: "octo-hub", InstallURL: "https://github.com/apps/octo-hub/installations/new",
			Installations: []Installation{},
		}}}, nil, []string{
			"installed on no account you can reach",
			"  install it on your repositories: https://github.com/apps/octo-hub/installations/new\n",
		}},
		{"error", Report{Accounts: []Account{{
			Host: "github.com", Login: "octocat", Store: "auto", ExpiresAt: now.Add(30 * time.Second),
			Installations: []Installation{}, Error: "could not list\nthe installations",
		}}}, nil, []string{"expires in 30s", "  error: could not list the installations\n"}},
	} {
		var b bytes.Buffer
		tt.report.WriteText(&b, tt.host, now)
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, b.String())
			}
		}
		if tt.name == "error" && strings.Contains(b.String(), "installed on no account") {
			t.Errorf("error: claims the app is not installed when the listing failed:\n%s", b.String())
		}
	}
}

func TestRelative(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7*time.Hour + 42*time.Minute + 59*time.Second: "in 7h42m",
		8 * time.Hour:                 "in 8h00m",
		5*time.Minute + 3*time.Second: "in 5m",
		30 * time.Second:              "in 30s",
	} {
		if got := relative(d); got != want {
			t.Errorf("relative(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestWriteTextShowsPendingCodes(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := Report{Accounts: []Account{}, Pending: []Pending{{Host: "github.com", URL: "https://github.com", UserCode: "WDJB-MJHT\x1b[2K", VerificationURI: "https://github.com/login/device", ExpiresAt: now.Add(10 * time.Minute)}}}
	var b bytes.Buffer
	r.WriteText(&b, nil, now)
	want := `github.com: waiting for the code WDJB-MJHT\x1b[2K to be entered at https://github.com/login/device (valid until `
	if !strings.HasPrefix(b.String(), want) || strings.Contains(b.String(), "not signed in") {
		t.Errorf("got %q, want a line starting %q and no sign-in hint", b.String(), want)
	}
}
