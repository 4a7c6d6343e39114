package main

// A person's first day: a misconfigured app, a refused or forgotten code,
// an app installed nowhere yet. git must never fall back to asking for a
// password, and every line must point somewhere useful.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

// TestFailedSignInNeverPrompts: whatever ends a sign-in without a token,
// git stops at the helper's one line and never asks for a password.
func TestFailedSignInNeverPrompts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		opts  githubtest.Options
		setup func(e *env)
		line  string // the helper's error line holds it
	}{
		{
			name:  "a wrong client ID",
			setup: func(e *env) { e.gitConfig("ghapp."+e.srv.URL+".clientId", "Iv23liNotTheAppsID") },
			line:  `client ID not recognized: "Iv23liNotTheAppsID" is not the client ID of a GitHub App on `,
		},
		{
			name:  "a denial",
			setup: func(e *env) { e.srv.AutoDeny(true) },
			line:  "access denied: the sign-in was cancelled on ",
		},
		{
			name:  "an expired code",
			opts:  githubtest.Options{CodeLifetime: 2 * time.Second},
			setup: func(e *env) { e.srv.AutoApprove("") },
			line:  "device code expired before it was entered",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, store string) {
				e := newEnv(t, store, tt.opts)
				tt.setup(e)
				asked := e.askpassRecorder()
				_, stderr, err := e.run("git", "ls-remote", e.repoURL("octocat/hello"))
				if err == nil {
					t.Fatal("ls-remote without a token succeeded")
				}
				if a := asked(); a != "" {
					t.Errorf("git asked for a password (GIT_ASKPASS ran for %q)", strings.TrimSpace(a))
				}
				var errLines []string
				for _, l := range strings.Split(stderr, "\n") {
					if strings.Contains(l, tt.line) {
						errLines = append(errLines, l)
					}
				}
				if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "git-credential-ghapp: ") {
					t.Errorf("want one line from the helper holding %q; stderr:\n%s", tt.line, stderr)
				}
				if !strings.Contains(stderr, "told us to quit") {
					t.Errorf("git did not stop at the helper's quit=1:\n%s", stderr)
				}
				if strings.Contains(stderr, "Username for") || strings.Contains(stderr, "could not read Username") {
					t.Errorf("git went on to ask for a user name:\n%s", stderr)
				}
			})
		})
	}
}

// TestAppURLGivesTheInstallLink: with ghapp.appUrl set and the app
// installed nowhere the person can reach, the prompt names the app and
// the prompt, the signed-in line and status (text and JSON) give its
// install page, whichever store keeps the token.
func TestAppURLGivesTheInstallLink(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		appURL := e.srv.URL + "/github-apps/first-day-app"
		link := appURL + "/installations/new"
		e.gitConfig("ghapp."+e.srv.URL+".appUrl", appURL+"/")
		e.srv.AddUser("newbie")
		e.srv.AutoApprove("newbie")

		out, stderr, err := e.runIn(e.work, e.hostLine()+"\n", "git", "credential", "fill")
		if err != nil {
			t.Fatalf("git credential fill: %v\n%s", err, stderr)
		}
		if !strings.Contains(out, "username=newbie\n") {
			t.Fatalf("git credential fill did not answer as newbie:\n%s", e.redact(out))
		}
		for _, want := range []string{
			"(GitHub App first-day-app), open ",
			"git-credential-ghapp: install the app on your repositories first: " + link + "\n",
			"signed in to " + strings.TrimPrefix(e.srv.URL, "http://") + " as newbie for 8h",
			"newbie cannot push anywhere yet: the GitHub App is not installed on any repository newbie can reach; install the app on your repositories at " + link + "\n",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}

		text, stderr, err := e.helper("", "status")
		if err != nil {
			t.Fatalf("status: %v\n%s", err, stderr)
		}
		if !strings.Contains(text, "installed on no account you can reach") || !strings.Contains(text, "  install it on your repositories: "+link+"\n") {
			t.Errorf("status lacks the install link:\n%s", text)
		}
		js, stderr, err := e.helper("", "status", "--json")
		if err != nil {
			t.Fatalf("status --json: %v\n%s", err, stderr)
		}
		var r status.Report
		if err := json.Unmarshal([]byte(js), &r); err != nil || len(r.Accounts) != 1 {
			t.Fatalf("status --json: %v\n%s", err, js)
		}
		if a := r.Accounts[0]; a.AppSlug != "first-day-app" || a.InstallURL != link || len(a.Installations) != 0 {
			t.Errorf("status --json: app_slug %q, install_url %q, %d installations; want first-day-app, %s, none", a.AppSlug, a.InstallURL, len(a.Installations), link)
		}
	})
}
