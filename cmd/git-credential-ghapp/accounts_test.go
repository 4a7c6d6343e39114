package main

// Several accounts on one host, and a GitHub Enterprise Server beside the
// first host, each kept apart.

import (
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func TestAccountsOnOneHostAreKeptApart(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		for _, u := range []string{"alice", "bob"} {
			e.srv.AddUser(u)
			e.srv.Install(u, "octocat", "octocat/hello")
		}
		asUser := func(u string) string {
			return strings.Replace(e.repoURL("octocat/hello"), "http://", "http://"+u+"@", 1)
		}
		e.srv.AutoApprove("alice")
		e.git(e.work, "ls-remote", asUser("alice"))
		e.srv.AutoApprove("bob")
		e.git(e.work, "ls-remote", asUser("bob"))
		if e.codes() != 2 {
			t.Fatalf("%d device codes for two accounts, want 2", e.codes())
		}
		e.srv.AutoApprove("")
		e.git(e.work, "ls-remote", asUser("alice"))
		e.git(e.work, "ls-remote", asUser("bob"))
		if e.codes() != 2 {
			t.Fatalf("an account's cached token was not used (%d codes)", e.codes())
		}
		for u, want := range map[string]string{"alice": "username=alice\n", "bob": "username=bob\n", "": "username=bob\n"} {
			req := e.hostLine()
			if u != "" {
				req += "username=" + u + "\n"
			}
			if out, _, _ := e.helper(req, "get"); !strings.HasPrefix(out, want) {
				t.Errorf("get for %q answered %q, want %q", u, strings.SplitN(out, "\n", 2)[0], want)
			}
		}
		// Signing one account out leaves the other.
		if out, _, err := e.helper("", "logout", "--host", e.srv.URL, "--user", "bob"); err != nil || !strings.Contains(out, "(bob)") {
			t.Fatalf("logout --user bob: %v %s", err, out)
		}
		if out, _, _ := e.helper(e.hostLine(), "get"); !strings.HasPrefix(out, "username=alice\n") {
			t.Errorf("after bob signed out, get answered %q, want alice", strings.SplitN(out, "\n", 2)[0])
		}
	})
}

func TestEnterpriseServerBesideAnotherHost(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		ghes := githubtest.NewServer(githubtest.Options{Interval: 1, ClientID: "Iv23liEnterprise0002"})
		t.Cleanup(ghes.Close)
		ghes.AddUser("octocat")
		if err := ghes.AddRepo("octocat/hello"); err != nil {
			t.Fatal(err)
		}
		ghes.Install("octocat", "octocat", "octocat/hello")
		ghes.AutoApprove("octocat")
		e.gitConfig("ghapp."+ghes.URL+".clientId", ghes.ClientID())

		e.git(e.work, "ls-remote", e.repoURL("octocat/hello"))
		e.git(e.work, "ls-remote", ghes.URL+"/octocat/hello.git")
		if e.codes() != 1 || ghes.DeviceCodesIssued() != 1 {
			t.Fatalf("device codes: first host %d, second host %d; want 1 each", e.codes(), ghes.DeviceCodesIssued())
		}
		first, _, _ := e.helper(e.hostLine(), "get")
		second, _, _ := e.helper("protocol=http\nhost="+strings.TrimPrefix(ghes.URL, "http://")+"\n", "get")
		if first == "" || second == "" || first == second {
			t.Fatal("the two hosts did not each get a token of their own")
		}
		for _, tok := range ghes.IssuedTokens() {
			if strings.Contains(first, tok) {
				t.Error("the second host's token was handed to the first")
			}
		}
		// The second host's own client ID was used there.
		if n := ghes.Requests("/login/device/code"); n != 1 {
			t.Errorf("%d device-code requests at the second host", n)
		}
	})
}
