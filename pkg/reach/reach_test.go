package reach

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/deviceflow"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

func TestRepo(t *testing.T) {
	for path, want := range map[string]string{
		"octocat/hello.git":            "octocat/hello",
		"octocat/hello":                "octocat/hello",
		"/octocat/hello.git/info/refs": "octocat/hello",
		"octocat":                      "",
		"":                             "",
		"/x/":                          "",
	} {
		if got := Repo(path); got != want {
			t.Errorf("Repo(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestCovers(t *testing.T) {
	cv := &store.Reach{Accounts: []string{"octo-org"}, Repos: []string{"octocat/hello"}}
	for repo, want := range map[string]bool{
		"octocat/hello": true, "OctoCat/Hello": true, "octo-org/anything": true,
		"octocat/private-notes": false, "octo-orgx/a": false, "evil/octocat/hello": false,
	} {
		if got := Covers(cv, repo); got != want {
			t.Errorf("Covers(%q) = %v, want %v", repo, got, want)
		}
	}
	if !Covers(&store.Reach{Omitted: 1}, "any/repo") {
		t.Error("a partial list claimed to know a repository is outside it")
	}
}

func TestFresh(t *testing.T) {
	now := time.Now()
	if Fresh(nil, now) || Fresh(&store.Reach{Checked: now.Add(-TTL)}, now) || Fresh(&store.Reach{Checked: now.Add(time.Hour)}, now) {
		t.Error("stale, missing or future coverage taken as fresh")
	}
	if !Fresh(&store.Reach{Checked: now.Add(-time.Minute)}, now) {
		t.Error("a minute-old coverage is not fresh")
	}
}

func TestMessages(t *testing.T) {
	cv := &store.Reach{AppSlug: "my-app", Accounts: []string{"octo-org"}, Repos: []string{"octocat/hello"}}
	s := Summary(cv, "octocat", "https://github.com", "https://github.com/apps/configured/installations/new")
	for _, want := range []string{"octocat can push to: all of octo-org/*, octocat/hello", "https://github.com/apps/my-app/installations/new"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q lacks %q", s, want)
		}
	}
	w := Warning(cv, "octocat/private", "octocat", "https://ghe.example.com", "")
	if !strings.Contains(w, "octocat/private is not among") || !strings.Contains(w, "https://ghe.example.com/github-apps/my-app/installations/new") {
		t.Errorf("warning: %q", w)
	}
	if s := Summary(&store.Reach{}, "octocat", "https://github.com", ""); !strings.Contains(s, "cannot push anywhere yet") || !strings.Contains(s, "from its page on https://github.com") {
		t.Errorf("empty summary: %q", s)
	}
}

// Without an installation the server names no app: the link made from
// ghapp.appUrl stands in, and an installation's own link outranks it.
func TestMessagesWithTheConfiguredApp(t *testing.T) {
	const link = "https://github.com/apps/octo-hub/installations/new"
	s := Summary(&store.Reach{}, "octocat", "https://github.com", link)
	if want := "octocat cannot push anywhere yet: the GitHub App is not installed on any repository octocat can reach; install the app on your repositories at " + link; s != want {
		t.Errorf("summary %q, want %q", s, want)
	}
	w := Warning(&store.Reach{}, "octocat/hello", "octocat", "https://github.com", link)
	if !strings.HasSuffix(w, "; grant it at "+link) {
		t.Errorf("warning %q lacks the link", w)
	}
	if got := InstallLink(&store.Reach{AppSlug: "octo-app"}, "https://github.com", link); got != "https://github.com/apps/octo-app/installations/new" {
		t.Errorf("InstallLink = %q, want the installation's app", got)
	}
	if got := InstallLink(nil, "https://github.com", link); got != link {
		t.Errorf("InstallLink without a reach = %q", got)
	}
}

func TestFetchFromTheStandIn(t *testing.T) {
	srv := githubtest.NewServer(githubtest.Options{Interval: 1})
	defer srv.Close()
	srv.AddUser("octocat")
	for _, r := range []string{"octocat/hello", "octocat/notes", "octo-org/tools"} {
		if err := srv.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	srv.Install("octocat", "octocat", "octocat/hello")
	srv.Install("octocat", "octo-org")
	srv.AutoApprove("octocat")
	flow := &deviceflow.Flow{ClientID: srv.ClientID(), DeviceCodeURL: srv.URL + "/login/device/code", TokenURL: srv.URL + "/login/oauth/access_token"}
	tok, err := flow.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cv, err := Fetch(context.Background(), &githubapi.Client{API: srv.URL + "/api/v3", Token: tok.AccessToken}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s %v %v", cv.AppSlug, cv.Accounts, cv.Repos); got != "ghapp-stand-in [octo-org] [octocat/hello]" {
		t.Errorf("coverage = %s", got)
	}
	if Covers(cv, "octocat/notes") || !Covers(cv, "octo-org/tools") {
		t.Error("coverage does not match the installations")
	}
}
