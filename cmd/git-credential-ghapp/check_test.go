package main

// End-to-end tests of `check`: the built helper asks the GitHub and GitLab
// stand-ins whether an account may read or push, with its own kept token
// or one on standard input.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// checkRun is one run of check: its exit status and both outputs.
type checkRun struct {
	code           int
	stdout, stderr string
}

func (e *env) check(stdin string, args ...string) checkRun {
	e.t.Helper()
	out, errOut, err := e.helper(stdin, append([]string{"check"}, args...)...)
	r := checkRun{stdout: out, stderr: errOut}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		e.t.Fatalf("check %v: %v", args, err)
	}
	return r
}

// expect checks the status, that stdout holds exactly wantOut's line (""
// for none) and stderr exactly one line containing wantErr ("" for none).
func (r checkRun) expect(t *testing.T, what string, code int, wantOut, wantErr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	switch {
	case wantOut == "" && r.stdout != "":
		t.Errorf("%s: stdout %q, want nothing", what, r.stdout)
	case wantOut != "" && (strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, wantOut)):
		t.Errorf("%s: stdout %q, want one line with %q", what, r.stdout, wantOut)
	}
	switch {
	case wantErr == "" && r.stderr != "":
		t.Errorf("%s: stderr %q, want nothing", what, r.stderr)
	case wantErr != "" && (strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "git-credential-ghapp: ") || !strings.Contains(r.stderr, wantErr)):
		t.Errorf("%s: stderr %q, want one line with %q", what, r.stderr, wantErr)
	}
}

type checkJSON struct {
	Allowed                                       bool
	Need, Host, Repository, Login, Access, Reason string
}

func (r checkRun) json(t *testing.T) checkJSON {
	t.Helper()
	var v checkJSON
	if strings.Count(r.stdout, "\n") != 1 || json.Unmarshal([]byte(r.stdout), &v) != nil {
		t.Fatalf("stdout is not one JSON object on one line: %q", r.stdout)
	}
	return v
}

func TestCheckGitHubWithTheKeptToken(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{AppSlug: "hub-app"})
	if err := e.srv.AddRepo("octocat/lib"); err != nil {
		t.Fatal(err)
	}
	e.srv.SetPublic("octocat/lib", true)
	host := strings.TrimPrefix(e.srv.URL, "http://")

	e.check("", "--need", "push", e.repoURL("octocat/hello")).expect(t, "before signing in", 2, "",
		"not signed in to "+host+"; sign in with git-credential-ghapp login --host "+e.srv.URL)
	if _, stderr, err := e.helper("", "login", "--host", e.srv.URL); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}

	e.check("", "--need", "push", e.repoURL("octocat/hello")).expect(t, "push, installed", 0, "octocat may push to octocat/hello", "")
	e.check("", e.srv.URL+"/octocat/hello").expect(t, "read, installed", 0, "octocat may read octocat/hello", "")
	install := e.srv.URL + "/github-apps/hub-app/installations/new"
	e.check("", "--need", "push", e.repoURL("octocat/lib")).expect(t, "push, app not installed", 1,
		"octocat may not push to octocat/lib: the GitHub App is not installed there; install it: "+install, "")
	e.check("", "--need", "push", e.repoURL("octocat/private-notes")).expect(t, "private, app not installed (404)", 1,
		"octocat may not push to octocat/private-notes: it does not exist, or it is private and not open to both octocat and the GitHub App; if it exists, install it: "+install, "")
	e.check("", e.repoURL("octocat/absent")).expect(t, "absent (404)", 1, "octocat may not read octocat/absent: it does not exist", "")

	r := e.check("", "--json", "--need", "push", e.repoURL("octocat/lib"))
	r.expect(t, "--json, denied", 1, `"allowed":false`, "")
	want := checkJSON{Need: "push", Host: host, Repository: "octocat/lib", Login: "octocat", Access: "read",
		Reason: "the GitHub App is not installed there; install it: " + install}
	if got := r.json(t); got != want {
		t.Errorf("--json: %+v\nwant %+v", got, want)
	}
	if got := e.check("", "--json", e.repoURL("octocat/hello")).json(t); !got.Allowed || got.Access != "push" {
		t.Errorf("--json, allowed: %+v", got)
	}

	// The kept token is picked by the URL's user name, as get picks it.
	e.check("", "--need", "push", "http://someone-else@"+host+"/octocat/hello.git").expect(t, "another account", 2, "",
		"not signed in to "+host+" as someone-else; sign in with git-credential-ghapp login --host "+e.srv.URL)
}

func TestCheckCannotDecide(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{})
	tok, err := e.srv.SignIn(testUser)
	if err != nil {
		t.Fatal(err)
	}
	url := e.repoURL("octocat/hello")
	r := e.check(tok+"\n", "--token-stdin", "--need", "push", url)
	r.expect(t, "a working token", 0, "octocat may push to octocat/hello", "")

	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/api/v3/repos/") {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	e.check(tok+"\n", "--token-stdin", url).expect(t, "HTTP 502", 2, "", "cannot tell whether the token may read octocat/hello: "+e.srv.URL+"/api/v3/repos/octocat/hello answered HTTP 502")

	// A server that never answers: --timeout bounds the wait.
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/api/v3/repos/") {
			<-r.Context().Done()
			return true
		}
		return false
	})
	start := time.Now()
	e.check(tok+"\n", "--token-stdin", "--timeout", "1s", url).expect(t, "no answer", 2, "", "did not answer in time")
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("a server that never answers held check for %v", d)
	}
	// --json prints its object even so, with the exit status unchanged.
	r = e.check(tok+"\n", "--token-stdin", "--json", "--timeout", "1s", url)
	r.expect(t, "no answer, --json", 2, `"access":"unknown"`, "did not answer in time")
	if got := r.json(t); got.Allowed || got.Access != "unknown" || !strings.Contains(got.Reason, "did not answer in time") {
		t.Errorf("--json without an answer: %+v", got)
	}
	e.srv.Intercept(nil)

	e.check("ghu_000000000000000000000000000000000000\n", "--token-stdin", url).expect(t, "a bad token", 2, "", "refused the token (HTTP 401")
	e.srv.RevokeAll()
	e.check(tok+"\n", "--token-stdin", url).expect(t, "a revoked token", 2, "", "refused the token (HTTP 401")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	e.check(tok+"\n", "--token-stdin", closed+"/o/r").expect(t, "a closed port", 2, "", "cannot reach "+closed)

	e.check("", "--token-stdin", url).expect(t, "an empty stdin", 2, "", "no token on standard input")
	e.check("", "http://example.org/o/r").expect(t, "plain http elsewhere", 2, "", "a token travels only over https")
	e.check("", "git@github.com:o/r.git").expect(t, "an scp-like address", 2, "", "is not a repository URL")
	e.check("", "https://example.org/o/r").expect(t, "a host not served", 2, "", "example.org is not set up for this helper")
	e.check("", "--need", "write", url).expect(t, "a bad --need", 2, "", `--need "write" is not read or push`)
	e.check("").expect(t, "no URL", 2, "", "check takes one repository URL")
	e.check("", "--nedd", "push", url).expect(t, "a mistyped flag", 2, "", "unknown flag --nedd (see git-credential-ghapp check --help)")
	e.gitConfig("ghapp."+e.srv.URL+".provider", "gitea")
	e.check("", url).expect(t, "an unknown provider", 2, "", `ghapp.provider "gitea" is not github or gitlab`)
}

// gitlabWorld serves ada's projects on a GitLab below /gitlab, set up for
// the helper in e's git config.
func gitlabWorld(t *testing.T, e *env) *gitlabtest.Server {
	t.Helper()
	gl := gitlabtest.NewServer(gitlabtest.Options{BasePath: "/gitlab"})
	t.Cleanup(gl.Close)
	for _, p := range []struct{ path, vis string }{{"g/sub/proj", gitlabtest.Private}, {"g3/rep", gitlabtest.Private}, {"pub/open", gitlabtest.Public}} {
		if err := gl.AddProject(p.path, p.vis); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		path  string
		level int
	}{{"g", gitlabtest.Developer}, {"g3/rep", gitlabtest.Reporter}} {
		if err := gl.AddMember(m.path, "ada", m.level); err != nil {
			t.Fatal(err)
		}
	}
	e.gitConfig("ghapp."+gl.URL+".clientId", gl.ClientID())
	e.gitConfig("ghapp."+gl.URL+".provider", "gitlab")
	return gl
}

func TestCheckGitLabWithATokenOnStdin(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{})
	gl := gitlabWorld(t, e)
	tok, err := gl.SignIn("ada", "read_api", "write_repository")
	if err != nil {
		t.Fatal(err)
	}
	noAPI, _ := gl.SignIn("ada", "read_user", "write_repository")
	var outputs []string
	run := func(stdin string, args ...string) checkRun {
		r := e.check(stdin, append([]string{"--token-stdin"}, args...)...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	run(tok+"\n", "--need", "push", gl.URL+"/g/sub/proj.git").expect(t, "inherited Developer", 0, "ada may push to g/sub/proj", "")
	run(tok+"\n", "--need", "push", gl.URL+"/g3/rep.git").expect(t, "Reporter, push", 1,
		"ada may not push to g3/rep: ada is a Reporter of it; pushing needs Developer or higher", "")
	run(tok+"\n", gl.URL+"/g3/rep").expect(t, "Reporter, read", 0, "ada may read g3/rep", "")
	run(tok+"\n", gl.URL+"/pub/open/-/tree/main").expect(t, "public", 0, "ada may read pub/open", "")
	run(tok+"\n", gl.URL+"/x/absent.git").expect(t, "absent (404)", 1, "ada may not read x/absent: it does not exist, or it is private and ada cannot see it", "")
	run(noAPI+"\n", gl.URL+"/g3/rep").expect(t, "no read_api", 2, "", "the token lacks the read_api scope an access check needs: add read_api to git config ghapp."+gl.URL+".scopes and sign in again")
	r := run("  "+tok+"  \r\nmore\n", "--json", "--need", "push", gl.URL+"/g/sub/proj")
	if got := r.json(t); !got.Allowed || got.Login != "ada" || got.Access != "push" || got.Repository != "g/sub/proj" || got.Host != strings.TrimPrefix(gl.URL, "http://")[:len(strings.TrimPrefix(gl.URL, "http://"))-len("/gitlab")] {
		t.Errorf("--json: %+v", got)
	}

	// The token from stdin shows nowhere: not in any output, nor in any
	// file under HOME or the work directory.
	for _, secret := range []string{tok, noAPI} {
		for _, out := range outputs {
			if strings.Contains(out, secret) || strings.Contains(out, secret[:20]) {
				t.Errorf("a token from stdin shows in the output: %s", e.redact(strings.ReplaceAll(out, secret, "TOKEN")))
			}
		}
		for _, root := range []string{e.home, e.work} {
			filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return nil
				}
				if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(secret)) {
					t.Errorf("a token from stdin was written to %s", path)
				}
				return nil
			})
		}
	}
}

// TestCheckGitLabWithTheKeptToken: GitLab's user name in a URL, oauth2,
// stands for any account, as it does for get.
func TestCheckGitLabWithTheKeptToken(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{})
	gl := gitlabWorld(t, e)
	tok, err := gl.SignIn("ada", "read_api", "write_repository")
	if err != nil {
		t.Fatal(err)
	}
	hostPath := strings.TrimPrefix(gl.URL, "http://")
	e.check("", "--need", "push", gl.URL+"/g/sub/proj.git").expect(t, "before signing in", 2, "",
		"not signed in to "+hostPath+"; sign in with git-credential-ghapp login --host "+gl.URL)
	// As a sign-in keeps it: under the server's base URL, path and all.
	now := time.Now()
	e.plant(store.Token{Origin: gl.URL, Login: "ada", AccessToken: tok, Expiry: now.Add(time.Hour), Minted: now, API: gl.URL, Provider: "gitlab"})
	e.check("", "--need", "push", "http://oauth2@"+hostPath+"/g/sub/proj.git").expect(t, "oauth2", 0, "ada may push to g/sub/proj", "")
	e.check("", "--need", "push", "http://ada@"+hostPath+"/g3/rep.git").expect(t, "as ada", 1, "ada may not push to g3/rep: ada is a Reporter of it", "")
}
