package main

// The repository-coverage hint: git sends the path when
// credential.useHttpPath is on (setup turns it on), and the helper says
// when the app is not installed on that repository.

import (
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func TestPushToUninstalledRepositoryPrintsInstallLink(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		e.gitConfig("credential.useHttpPath", "true")
		link := e.srv.URL + "/github-apps/ghapp-stand-in/installations/new"

		_, stderr, err := e.run("git", "clone", e.repoURL("octocat/hello"), e.work+"/hello")
		if err != nil {
			t.Fatalf("clone: %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "octocat can push to: octocat/hello; grant more at "+link) {
			t.Errorf("no coverage summary after the sign-in:\n%s", stderr)
		}
		dir := e.work + "/hello"
		e.commit(dir)
		if stderr, err := e.push(dir); err != nil || strings.Contains(stderr, "not among") {
			t.Fatalf("push to a covered repository: %v\n%s", err, stderr)
		}
		e.git(dir, "remote", "set-url", "origin", e.repoURL("octocat/private-notes"))
		stderr, err = e.push(dir)
		if err == nil {
			t.Fatal("push to an uninstalled repository succeeded")
		}
		if !strings.Contains(stderr, "octocat/private-notes is not among the repositories the GitHub App lets octocat reach") || !strings.Contains(stderr, link) {
			t.Errorf("no install hint for the uninstalled repository:\n%s", stderr)
		}
		if e.codes() != 1 {
			t.Errorf("%d device codes, want 1", e.codes())
		}
		// The installation list is cached with the token: the hint on a hit
		// costs no request within the cache time.
		before := e.srv.Requests("/api/v3/user/installations")
		e.push(dir)
		if after := e.srv.Requests("/api/v3/user/installations"); after != before {
			t.Errorf("a cache hit asked for the installations again (%d → %d)", before, after)
		}
	})
}
