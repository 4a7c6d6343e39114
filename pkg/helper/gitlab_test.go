package helper

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/credential"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/prompt"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// glRig is a helper wired to a GitLab stand-in below basePath, with real
// configuration (config.Load on an isolated git config) and a fake store.
type glRig struct {
	h      *Helper
	srv    *gitlabtest.Server
	st     *fakeStore
	reads  int
	stdout strings.Builder
	stderr testsupport.SyncBuffer
}

func newGitLabRig(t *testing.T, basePath string, extra ...string) *glRig {
	t.Helper()
	testsupport.Isolate(t)
	r := &glRig{st: &fakeStore{}}
	clock := testsupport.NewClock()
	clock.Set(time.Now())
	r.srv = gitlabtest.NewServer(gitlabtest.Options{Interval: 1, BasePath: basePath, Now: clock.Now})
	t.Cleanup(r.srv.Close)
	r.srv.AutoApprove("ada")
	gitSet(t, append([]string{
		"ghapp." + r.srv.URL + ".clientId", r.srv.ClientID(),
		"ghapp." + r.srv.URL + ".provider", "gitlab",
	}, extra...)...)
	r.h = &Helper{
		Settings: func(url string) (config.Settings, error) {
			r.reads++
			return config.Load(url, "", false)
		},
		Stores: func(string, bool) (store.Store, error) { return r.st, nil },
		HTTP:   &http.Client{Timeout: 10 * time.Second},
		Stdout: &r.stdout,
		Stderr: &r.stderr,
		Screen: func() *prompt.Screen { return prompt.Plain(&r.stderr) },
		Now:    clock.Now,
		Sleep:  func(_ context.Context, d time.Duration) error { clock.Advance(d); return nil },
	}
	return r
}

func gitSet(t *testing.T, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if out, err := exec.Command("git", "config", "--global", kv[i], kv[i+1]).CombinedOutput(); err != nil {
			t.Fatalf("git config %s: %v %s", kv[i], err, out)
		}
	}
}

// get asks for a credential for path (below the stand-in's host) as user.
func (r *glRig) get(t *testing.T, path, user string) credential.Answer {
	t.Helper()
	r.stdout.Reset()
	o, err := origin.ParseBase(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	req := "protocol=http\nhost=" + o.HostPort()
	req += "\n"
	if path != "" {
		req += "path=" + path + "\n"
	}
	if user != "" {
		req += "username=" + user + "\n"
	}
	parsed, err := credential.Read(strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.Get(context.Background(), parsed); err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	return parseAnswer(r.stdout.String())
}

func TestGitLabGetAnswersOAuth2(t *testing.T) {
	r := newGitLabRig(t, "")
	a := r.get(t, "", "")
	if a.Username != "oauth2" || !strings.HasPrefix(a.Password, gitlabtest.TokenPrefix) {
		t.Fatalf("answer: username %q, a GitLab token: %v", a.Username, strings.HasPrefix(a.Password, gitlabtest.TokenPrefix))
	}
	out := r.stderr.String()
	for _, want := range []string{"(GitLab application " + r.srv.ClientID() + ")", "signed in to ", " as ada for 2h", "the sign-in lasts 2h: refresh needs the memory store"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, testsupport.Redact(out))
		}
	}
	for _, not := range []string{"GitHub", "never expire", "installed"} {
		if strings.Contains(out, not) {
			t.Errorf("stderr says %q for GitLab:\n%s", not, testsupport.Redact(out))
		}
	}
	toks, _ := r.st.List()
	if len(toks) != 1 || toks[0].Provider != "gitlab" || toks[0].Login != "ada" || toks[0].Origin != r.srv.URL || toks[0].Reach != nil || toks[0].RefreshToken != "" {
		t.Fatalf("kept %+v", toks)
	}

	// A hit reads no configuration; "oauth2" in the remote URL picks any
	// account, and the login picks that one.
	for _, user := range []string{"", "oauth2", "ADA"} {
		r.reads = 0
		if b := r.get(t, "", user); b.Password != a.Password || b.Username != "oauth2" || r.reads != 0 {
			t.Errorf("hit as %q: same token %v, username %q, %d configuration reads", user, b.Password == a.Password, b.Username, r.reads)
		}
	}
	if n := r.srv.DeviceCodesIssued(); n != 1 {
		t.Errorf("%d device codes; want 1", n)
	}
}

// A GitLab below a path keeps its tokens under its base URL, the longest
// configured URL the request is below; a miss on the plain origin reads
// configuration once and finds them.
func TestGitLabBelowAPath(t *testing.T) {
	r := newGitLabRig(t, "/gitlab")
	plain := r.srv.URL[:len(r.srv.URL)-len("/gitlab")]
	// A shorter configured prefix (a GitHub Enterprise on the same host)
	// loses to the longer one.
	gitSet(t, "ghapp."+plain+".clientId", "Iv23liOtherApp")

	a := r.get(t, "gitlab/group/p.git", "")
	if a.Username != "oauth2" || !strings.HasPrefix(a.Password, gitlabtest.TokenPrefix) {
		t.Fatalf("answer: username %q", a.Username)
	}
	toks, _ := r.st.List()
	if len(toks) != 1 || toks[0].Origin != r.srv.URL || toks[0].API != r.srv.URL+"/api/v4" {
		t.Fatalf("kept %+v; want the base %s", toks, r.srv.URL)
	}
	if !strings.Contains(r.stderr.String(), "signed in to "+strings.TrimPrefix(r.srv.URL, "http://")+" as ada") {
		t.Errorf("stderr does not name the server with its path:\n%s", testsupport.Redact(r.stderr.String()))
	}
	r.reads = 0
	if b := r.get(t, "gitlab/other/q.git", "oauth2"); b.Password != a.Password || r.reads != 1 {
		t.Errorf("second get: same token %v, %d configuration reads; want the kept token after one", b.Password == a.Password, r.reads)
	}

	// --host with a URL below the base names the base.
	o, err := r.h.Host(r.srv.URL + "/group/p")
	if err != nil || o.String() != r.srv.URL {
		t.Errorf("Host = %s, %v; want %s", o, err, r.srv.URL)
	}
	if o, _ := r.h.Host(plain + "/elsewhere"); o.String() != plain {
		t.Errorf("Host of a URL outside the base = %s; want %s", o, plain)
	}

	// erase, as git sends it after a 401, finds the token below the path.
	req, _ := credential.Read(strings.NewReader("protocol=http\nhost=" + strings.TrimPrefix(plain, "http://") + "\npath=gitlab/group/p.git\nusername=oauth2\npassword=" + a.Password + "\n"))
	if err := r.h.Erase(req); err != nil {
		t.Fatal(err)
	}
	if toks, _ := r.st.List(); len(toks) != 0 {
		t.Errorf("erase left %d tokens", len(toks))
	}
}

// The daemon renews GitLab tokens at the provider's own token endpoint;
// refresh tokens rotate and a used one is refused.
func TestGitLabRenewRotates(t *testing.T) {
	r := newGitLabRig(t, "/gitlab")
	tok, err := r.h.RunSignIn(context.Background(), store.SignInRequest{
		Origin: r.srv.URL, ClientID: r.srv.ClientID(), MinLifetime: time.Minute,
		Refresh: true, RefreshFor: 8 * time.Hour, Provider: "gitlab", Scopes: config.DefaultGitLabScopes,
	}, func(store.SignIn) {})
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Provider != "gitlab" {
		t.Fatalf("sign-in kept no refresh token (provider %q)", tok.Provider)
	}
	fresh, err := r.h.Renew(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.Provider != "gitlab" || fresh.Login != "ada" {
		t.Fatal("the renewal did not rotate both tokens, or lost the account")
	}
	if _, err := r.h.Renew(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("reusing a refresh token: %v; want invalid_grant", err)
	}
	api := &gitlabapi.Client{Base: r.srv.URL, Token: fresh.AccessToken}
	if _, err := api.User(context.Background()); err != nil {
		t.Errorf("the renewed token does not work: %v", err)
	}
}

func TestGitLabLogoutRevokes(t *testing.T) {
	r := newGitLabRig(t, "")
	a := r.get(t, "", "")
	o, _ := origin.ParseBase(r.srv.URL)
	if err := r.h.Logout(context.Background(), &o, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stdout.String(), "(ada); the token is revoked") {
		t.Errorf("logout said %q", r.stdout.String())
	}
	_, err := (&gitlabapi.Client{Base: r.srv.URL, Token: a.Password}).User(context.Background())
	if se, ok := err.(*gitlabapi.StatusError); !ok || se.Status != http.StatusUnauthorized {
		t.Errorf("the API after logout: %v; want 401", err)
	}
}

func TestGitLabErrorsAreOneLine(t *testing.T) {
	r := newGitLabRig(t, "", "ghapp.https://gitlab.example.org.provider", "gitlab", "ghapp.https://gitlab.example.org.clientid", "",
		"ghapp.https://odd.example.org.provider", "forgejo")
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s: %v; want one line containing %q", what, err, want)
		}
	}
	o, _ := origin.ParseBase("https://gitlab.example.org")
	check("a GitLab host without a client ID", r.h.Login(context.Background(), o), "set git config ghapp.https://gitlab.example.org.clientId to its GitLab application's ID")
	com, _ := origin.ParseBase("https://gitlab.com")
	check("gitlab.com without a client ID", r.h.Login(context.Background(), com), "GitLab application")
	odd, _ := origin.ParseBase("https://odd.example.org")
	check("an unknown provider", r.h.Login(context.Background(), odd), `ghapp.provider "forgejo" is not github or gitlab`)
	_, err := r.h.Host("https://bad host.example.org/x")
	check("a malformed host URL", err, "invalid host name")
	_, err = config.Load("https://gitlab.example.org", "", false)
	if err != nil {
		t.Errorf("loading a GitLab host without a client ID: %v", err)
	}
	check("no client ID at all", noClientID(o, config.Settings{Provider: config.GitLab}), "no GitLab application ID for gitlab.example.org")

	// A confidential application is refused with invalid_client.
	conf := gitlabtest.NewServer(gitlabtest.Options{Interval: 1, Confidential: true})
	t.Cleanup(conf.Close)
	_, err = r.h.RunSignIn(context.Background(), store.SignInRequest{Origin: conf.URL, ClientID: conf.ClientID(), Provider: "gitlab", Scopes: config.DefaultGitLabScopes}, func(store.SignIn) {})
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") || !strings.Contains(err.Error(), "invalid_client") && !strings.Contains(err.Error(), "confidential") {
		t.Errorf("confidential application: %v; want one line naming invalid_client", err)
	}
}
