package main

// End-to-end tests of `setup` and `status` through the built binary, and
// unit tests of how status is worded.

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

// emptyHome is a person who has never configured git: no ~/.gitconfig.
// The identity commits need comes from the environment instead.
func emptyHome(t *testing.T, store string) *env {
	t.Helper()
	e := newEnv(t, store, githubtest.Options{})
	if err := os.Remove(e.globalConfig()); err != nil {
		t.Fatal(err)
	}
	e.extra = append(e.extra,
		"GIT_AUTHOR_NAME=Octo Cat", "GIT_AUTHOR_EMAIL=octocat@example.com",
		"GIT_COMMITTER_NAME=Octo Cat", "GIT_COMMITTER_EMAIL=octocat@example.com")
	return e
}

func (e *env) globalConfig() string { return filepath.Join(e.home, ".gitconfig") }

// ghapp runs the built helper with args and fails the test unless it
// exits 0.
func (e *env) ghapp(args ...string) (stdout, stderr string) {
	e.t.Helper()
	out, errOut, err := e.helper("", args...)
	if err != nil {
		e.t.Fatalf("git-credential-ghapp %s: %v\n%s%s", strings.Join(args, " "), err, e.redact(out), errOut)
	}
	return out, errOut
}

func (e *env) setupArgs(extra ...string) []string {
	return append([]string{"setup", "--host", e.srv.URL, "--client-id", e.srv.ClientID()}, extra...)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSetupGlobalThenCloneAndPush(t *testing.T) { eachStore(t, testSetupGlobalThenCloneAndPush) }

func testSetupGlobalThenCloneAndPush(t *testing.T, store string) {
	e := emptyHome(t, store)
	out, _ := e.ghapp(e.setupArgs("--global")...)
	for _, want := range []string{
		"set ghapp." + e.srv.URL + ".clientId = " + e.srv.ClientID(),
		"set credential." + e.srv.URL + ".useHttpPath = true",
		`set credential.` + e.srv.URL + `.helper = ""`,
		"add credential." + e.srv.URL + ".helper = ghapp",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("setup did not print %q:\n%s", want, out)
		}
	}
	dir := e.clone("octocat/hello")
	e.commit(dir)
	if stderr, err := e.push(dir); err != nil {
		t.Fatalf("push after setup: %v\n%s", err, stderr)
	}
	if e.codes() != 1 {
		t.Errorf("%d device codes for a clone and a push, want 1", e.codes())
	}
}

func TestSetupTwiceChangesNothing(t *testing.T) {
	e := emptyHome(t, "tmpfs")
	e.ghapp(e.setupArgs()...)
	before := readFile(t, e.globalConfig())
	out, stderr := e.ghapp(e.setupArgs()...)
	if !strings.Contains(out, "already set up") {
		t.Errorf("second setup printed %q, want already set up", out)
	}
	// The stand-in server is plain http on loopback.
	if note := "note: " + e.srv.URL + " is plain http: use it only for tests and demos on a single-user machine; on a shared host another user can take the port when the server stops and receive the token\n"; !strings.Contains(stderr, note) {
		t.Errorf("setup for %s did not say it is plain http: %q", e.srv.URL, stderr)
	}
	if after := readFile(t, e.globalConfig()); !bytes.Equal(before, after) {
		t.Errorf("second setup changed the file:\n%s\n---\n%s", before, after)
	}
}

func TestSetupUndoRestoresTheFile(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{})
	// What newEnv wrote for the stand-in is what setup writes: start without it.
	e.gitConfig("--unset", "ghapp."+e.srv.URL+".clientId")
	e.gitConfig("--add", "credential."+e.srv.URL+".helper", "cache --timeout=60")
	before := readFile(t, e.globalConfig())
	e.ghapp(e.setupArgs()...)
	if bytes.Equal(before, readFile(t, e.globalConfig())) {
		t.Fatal("setup did not change the file")
	}
	out, _ := e.ghapp(e.setupArgs("--undo")...)
	if !strings.Contains(out, "remove credential."+e.srv.URL+".helper = ghapp\n") {
		t.Errorf("undo did not say what it removed:\n%s", out)
	}
	if after := readFile(t, e.globalConfig()); !bytes.Equal(before, after) {
		t.Errorf("undo left\n%s\nwant\n%s", after, before)
	}
	if out, _ := e.ghapp(e.setupArgs("--undo")...); !strings.Contains(out, "nothing to undo") {
		t.Errorf("second undo printed %q", out)
	}

	// A file setup created ends up empty.
	e = emptyHome(t, "tmpfs")
	e.ghapp(e.setupArgs()...)
	e.ghapp(e.setupArgs("--undo")...)
	if b, err := os.ReadFile(e.globalConfig()); err == nil && len(bytes.TrimSpace(b)) != 0 {
		t.Errorf("undo of a created file left\n%s", b)
	}
}

func TestSetupFileAndSystemScopes(t *testing.T) {
	e := emptyHome(t, "tmpfs")
	f := filepath.Join(e.work, "image-gitconfig")
	e.ghapp(e.setupArgs("--file", f, "--store", "tmpfs")...)
	if !bytes.Contains(readFile(t, f), []byte("helper = ghapp --store tmpfs")) {
		t.Errorf("--file --store wrote\n%s", readFile(t, f))
	}
	if _, err := os.Stat(e.globalConfig()); err == nil {
		t.Error("setup --file also wrote the global config")
	}

	// --system where the system file cannot be written: one line with the fix.
	e.extra = append(e.extra, "GIT_CONFIG_SYSTEM="+filepath.Join(e.work, "no-such-dir", "gitconfig"))
	_, stderr, err := e.helper("", e.setupArgs("--system")...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("setup --system into a missing directory: %v", err)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "as root") {
		t.Errorf("error is not one line with the fix: %q", stderr)
	}

	_, stderr, err = e.helper("", e.setupArgs("--store", "bogus")...)
	if err == nil || !strings.Contains(stderr, "unknown store") {
		t.Errorf("--store bogus: err %v, %q", err, stderr)
	}

	_, stderr, err = e.helper("", e.setupArgs("--system", "--global")...)
	if err == nil || !strings.Contains(stderr, "only one of") {
		t.Errorf("--system --global: err %v, %q", err, stderr)
	}
}

func TestSetupForGitHubWithoutClientIDSaysOneIsNeeded(t *testing.T) {
	e := emptyHome(t, "tmpfs")
	out, stderr := e.ghapp("setup")
	if !strings.Contains(out, "add credential.https://github.com.helper = ghapp") {
		t.Errorf("setup printed %q", out)
	}
	if !strings.Contains(stderr, "--client-id") || strings.Contains(out, "clientId") {
		t.Errorf("no note about the client ID, or one was written: out %q, stderr %q", out, stderr)
	}
}

func TestStatusJSONListsTheGrantedRepositories(t *testing.T) {
	eachStore(t, testStatusJSONListsTheGrantedRepositories)
}

func testStatusJSONListsTheGrantedRepositories(t *testing.T, store string) {
	e := newEnv(t, store, githubtest.Options{})
	e.ghapp("login", "--host", e.srv.URL)
	out, _ := e.ghapp("status", "--json")
	for _, tok := range e.srv.IssuedTokens() {
		if strings.Contains(out, tok) {
			t.Fatalf("status --json printed a token (%s…)", tok[:4])
		}
	}
	var r status.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, out)
	}
	if len(r.Accounts) != 1 {
		t.Fatalf("%d accounts, want 1:\n%s", len(r.Accounts), out)
	}
	a := r.Accounts[0]
	if a.URL != e.srv.URL || a.Login != testUser || a.Error != "" {
		t.Errorf("account %s / %s, error %q", a.URL, a.Login, a.Error)
	}
	if left := time.Duration(a.ExpiresInSeconds) * time.Second; left < 7*time.Hour || left > 8*time.Hour {
		t.Errorf("expires in %v, want about 8h", left)
	}
	if len(a.Installations) != 1 || a.Installations[0].RepositorySelection != "selected" ||
		strings.Join(a.Installations[0].Repositories, ",") != "octocat/hello" {
		t.Errorf("installations %+v, want octocat/hello selected", a.Installations)
	}
	if want := e.srv.URL + "/github-apps/" + e.srv.AppSlug() + "/installations/new"; a.InstallURL != want {
		t.Errorf("install link %q, want %q", a.InstallURL, want)
	}

	text, _ := e.ghapp("status")
	for _, want := range []string{"signed in as octocat", "token expires in 7h", "      octocat/hello\n", a.InstallURL} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
}

func TestStatusWithoutTokenSaysHowToSignIn(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{})
	out, _ := e.ghapp("status")
	if !strings.Contains(out, "not signed in") || !strings.Contains(out, "git-credential-ghapp login") {
		t.Errorf("status without a token printed %q", out)
	}
	out, _ = e.ghapp("status", "--host", e.srv.URL)
	if !strings.Contains(out, "git-credential-ghapp login --host "+e.srv.URL) {
		t.Errorf("status --host without a token printed %q", out)
	}
	out, _ = e.ghapp("status", "--json")
	var r status.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Accounts == nil || len(r.Accounts) != 0 || r.SignIn == "" {
		t.Errorf("status --json without a token: %v\n%s", err, out)
	}
}
