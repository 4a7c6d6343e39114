package main

// End-to-end tests against the GitLab stand-in: the real git, set up with
// `setup --provider gitlab`, signs in through GitLab's device grant,
// clones and pushes with username oauth2, renews 2-hour tokens in the
// memory daemon, and signs out with a revocation.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
)

const gitLabUser = "ada"

// glEnv is one person's machine set up for one GitLab stand-in. It shares
// env's process handling; its server is a GitLab.
type glEnv struct {
	*env
	gl *gitlabtest.Server
}

// newGitLabEnv starts a GitLab stand-in (git over HTTP only with the
// username oauth2, as older GitLab versions) with the project ada/notes,
// and sets git up for it with setup --provider gitlab.
func newGitLabEnv(t *testing.T, store string, opts gitlabtest.Options) *glEnv {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 1
	}
	opts.OAuth2UsernameOnly = true
	gl := gitlabtest.NewServer(opts)
	t.Cleanup(gl.Close)
	gl.AddUser(gitLabUser)
	if err := gl.AddProject(gitLabUser+"/notes", "private"); err != nil {
		t.Fatal(err)
	}
	gl.AutoApprove(gitLabUser)

	e := &glEnv{env: &env{t: t, store: store, bin: binDir, home: t.TempDir(), work: t.TempDir(), runtime: shmDir(t)}, gl: gl}
	e.tokens = gl.IssuedTokens
	e.gitConfig("user.name", "Ada")
	e.gitConfig("user.email", "ada@example.com")
	e.gitConfig("init.defaultBranch", "main")
	if out, stderr, err := e.helper("", "setup", "--provider", "gitlab", "--host", gl.URL, "--client-id", gl.ClientID()); err != nil {
		t.Fatalf("setup: %v\n%s%s", err, out, stderr)
	}
	t.Cleanup(e.assertNoTokenOnDisk)
	t.Cleanup(func() { e.helper("", "logout", "--all") })
	return e
}

func (e *glEnv) repoURL(name string) string { return e.gl.URL + "/" + name + ".git" }

func (e *glEnv) clone(repo string) (dir, stderr string) {
	e.t.Helper()
	dir = filepath.Join(e.work, strings.ReplaceAll(repo, "/", "-")+fmt.Sprint(time.Now().UnixNano()))
	_, stderr, err := e.run("git", "clone", "-q", e.repoURL(repo), dir)
	if err != nil {
		e.t.Fatalf("clone: %v\n%s", err, stderr)
	}
	return dir, stderr
}

// getLine is git's request for the project's URL, path included (setup
// turned credential.useHttpPath on).
func (e *glEnv) getLine(repo string) string {
	o, err := origin.ParseBase(e.gl.URL)
	if err != nil {
		e.t.Fatal(err)
	}
	return "protocol=http\nhost=" + o.HostPort() + "\npath=" + strings.TrimPrefix(o.Path+"/"+repo+".git", "/") + "\n"
}

// password returns the token a get hands out for repo.
func (e *glEnv) password(repo string) string {
	e.t.Helper()
	out, stderr, err := e.helper(e.getLine(repo), "get")
	if err != nil {
		e.t.Fatalf("get: %v\n%s", err, stderr)
	}
	if !strings.HasPrefix(out, "username=oauth2\npassword="+gitlabtest.TokenPrefix) {
		e.t.Fatalf("get did not answer oauth2 and a GitLab token:\n%s", e.redact(out))
	}
	pw, _, _ := strings.Cut(strings.TrimPrefix(out, "username=oauth2\npassword="), "\n")
	return pw
}

func TestGitLabCloneAndPush(t *testing.T) {
	eachStoreOf(t, []string{"memory", "tmpfs"}, func(t *testing.T, store string) {
		e := newGitLabEnv(t, store, gitlabtest.Options{})
		dir, stderr := e.clone(gitLabUser + "/notes")
		if n := e.gl.DeviceCodesIssued(); n != 1 {
			t.Fatalf("the clone issued %d device codes, want 1", n)
		}
		host := strings.TrimPrefix(e.gl.URL, "http://")
		for _, want := range []string{"to sign in to " + host + " (GitLab application " + e.gl.ClientID() + "), open " + e.gl.URL + "/oauth/device", "signed in to " + host + " as ada for 2h"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("the sign-in lacks %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stderr, "GitHub") {
			t.Errorf("a GitLab sign-in speaks of GitHub:\n%s", stderr)
		}
		if said := strings.Contains(stderr, "the sign-in lasts 2h: refresh needs the memory store"); said != (store == "tmpfs") {
			t.Errorf("%s store: said that refresh needs the memory store: %v\n%s", store, said, stderr)
		}
		e.commit(dir)
		if stderr, err := e.push(dir); err != nil {
			t.Fatalf("push: %v\n%s", err, stderr)
		}
		if n := e.gl.DeviceCodesIssued(); n != 1 {
			t.Errorf("the push issued a device code (%d in all)", n)
		}
	})
}

// A GitLab below a path: setup writes useHttpPath for the base URL, so
// git tells the helper the path and the helper finds the server by it.
// status reports the account, and logout revokes its token.
func TestGitLabBelowAPathStatusAndLogout(t *testing.T) {
	e := newGitLabEnv(t, "memory", gitlabtest.Options{BasePath: "/gitlab"})
	if got := strings.TrimSpace(e.git(e.work, "config", "--global", "credential."+e.gl.URL+".useHttpPath")); got != "true" {
		t.Fatalf("setup wrote useHttpPath %q for %s", got, e.gl.URL)
	}
	dir, _ := e.clone(gitLabUser + "/notes")
	e.commit(dir)
	if stderr, err := e.push(dir); err != nil {
		t.Fatalf("push: %v\n%s", err, stderr)
	}
	if n := e.gl.DeviceCodesIssued(); n != 1 {
		t.Fatalf("%d device codes, want 1", n)
	}

	out, stderr, err := e.helper("", "status", "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, stderr)
	}
	var r struct {
		Accounts []struct {
			URL, Provider, Login string
			Installations        []any
			RefreshUntil         string `json:"refresh_until"`
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("status --json: %v\n%s", err, e.redact(out))
	}
	if len(r.Accounts) != 1 || r.Accounts[0].URL != e.gl.URL || r.Accounts[0].Provider != "gitlab" || r.Accounts[0].Login != gitLabUser || len(r.Accounts[0].Installations) != 0 || r.Accounts[0].RefreshUntil == "" {
		t.Errorf("status --json: %s", e.redact(out))
	}
	text, _, _ := e.helper("", "status", "--host", e.gl.URL+"/ada/notes")
	if !strings.Contains(text, strings.TrimPrefix(e.gl.URL, "http://")+": signed in as ada on GitLab") {
		t.Errorf("status --host below the base:\n%s", e.redact(text))
	}

	// check finds the kept token under the base URL; the default scopes
	// let git push but not read the API, which check says, undecided.
	_, stderr, err = e.helper("", "check", e.gl.URL+"/"+gitLabUser+"/notes.git")
	if relExitCode(err) != 2 || !strings.Contains(stderr, "read_api") {
		t.Errorf("check with the kept token: %v\n%s", err, e.redact(stderr))
	}

	token := e.password(gitLabUser + "/notes")
	out, stderr, err = e.helper("", "logout", "--host", e.gl.URL)
	if err != nil || !strings.Contains(out, "(ada); the token is revoked") {
		t.Fatalf("logout: %v\n%s%s", err, out, stderr)
	}
	_, err = (&gitlabapi.Client{Base: e.gl.URL, Token: token}).User(context.Background())
	var se *gitlabapi.StatusError
	if !errors.As(err, &se) || se.Status != 401 {
		t.Errorf("the API after logout: %v; want 401", err)
	}
}

// With 2-second tokens the daemon renews before expiry: a push after the
// first token died needs no new code.
func TestGitLabRefreshBeforeExpiry(t *testing.T) {
	e := newGitLabEnv(t, "memory", gitlabtest.Options{TokenLifetime: 4 * time.Second})
	e.gitConfig("ghapp.minLifetime", "1s")
	dir, _ := e.clone(gitLabUser + "/notes")
	first := e.password(gitLabUser + "/notes")
	time.Sleep(5 * time.Second) // past the first token's expiry
	e.commit(dir)
	if stderr, err := e.push(dir); err != nil {
		t.Fatalf("push after the first token's expiry: %v\n%s", err, stderr)
	}
	if n := e.gl.DeviceCodesIssued(); n != 1 {
		t.Fatalf("%d device codes; the daemon should have renewed without one", n)
	}
	if e.password(gitLabUser+"/notes") == first {
		t.Error("the token was not renewed")
	}
}

// When GitLab refuses the refresh token (reused, or revoked), the daemon
// drops the token and the next git command signs in again cleanly.
func TestGitLabRefusedRefreshSignsInAgain(t *testing.T) {
	e := newGitLabEnv(t, "memory", gitlabtest.Options{TokenLifetime: 4 * time.Second})
	e.gitConfig("ghapp.minLifetime", "1s")
	dir, _ := e.clone(gitLabUser + "/notes")
	e.gl.RevokeAll() // every refresh token the daemon holds is refused from now on
	// Past the renewal (at half the token's life), before the token would
	// run out: only a dropped token makes the push sign in, a kept one
	// would be refused.
	time.Sleep(2500 * time.Millisecond)
	e.commit(dir)
	stderr, err := e.push(dir)
	if err != nil {
		t.Fatalf("push after a refused refresh: %v\n%s", err, stderr)
	}
	if n := e.gl.DeviceCodesIssued(); n != 2 {
		t.Fatalf("%d device codes; want a new sign-in after the refused refresh", n)
	}
	if !strings.Contains(stderr, "signed in to ") {
		t.Errorf("the push did not sign in again:\n%s", stderr)
	}
}

// A confidential application refuses the device grant: one line says so.
func TestGitLabConfidentialApplication(t *testing.T) {
	e := newGitLabEnv(t, "memory", gitlabtest.Options{Confidential: true})
	_, stderr, err := e.run("git", "clone", "-q", e.repoURL(gitLabUser+"/notes"), filepath.Join(e.work, "notes"))
	if err == nil {
		t.Fatal("a clone through a confidential application succeeded")
	}
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "git-credential-ghapp: ") && (strings.Contains(l, "invalid_client") || strings.Contains(l, "onfidential")) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Errorf("want one line naming invalid_client or the confidential application:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(e.work, "notes", ".git")); err == nil {
		t.Error("the clone left a repository")
	}
}
