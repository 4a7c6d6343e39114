package access

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// client bounds every request, so a test that hangs fails fast.
var client = &http.Client{Timeout: 10 * time.Second}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// githubServer holds ada's world: acme's app installation on tools, site,
// open and ro-less repositories, and repositories the app is not on.
func githubServer(t *testing.T) (*githubtest.Server, string) {
	t.Helper()
	s := githubtest.NewServer(githubtest.Options{AppSlug: "hub-app"})
	t.Cleanup(s.Close)
	for _, r := range []string{"acme/tools", "acme/site", "acme/secret", "acme/open", "other/lib", "ro/app"} {
		must(t, s.AddRepo(r))
	}
	s.Install("admin", "acme", "tools", "site", "open")
	ro := s.Install("admin", "ro")
	must(t, s.SetInstallationContents(ro, "read"))
	must(t, s.SetPublic("acme/open", true))
	must(t, s.SetPublic("other/lib", true))
	must(t, s.Grant("ada", "acme/tools", githubtest.Push))
	must(t, s.Grant("ada", "acme/site", githubtest.Pull))
	must(t, s.Grant("ada", "acme/secret", githubtest.Admin))
	must(t, s.Grant("ada", "other/lib", githubtest.Push))
	must(t, s.Grant("ada", "ro/app", githubtest.Push))
	tok, err := s.SignIn("ada")
	must(t, err)
	return s, tok
}

func TestGitHub(t *testing.T) {
	s, tok := githubServer(t)
	install := s.URL + "/github-apps/hub-app/installations/new"
	for _, c := range []struct {
		repo    string
		need    Need
		allowed bool
		access  string
		reason  []string
	}{
		{"acme/tools", Push, true, PushAccess, []string{"ada has push access and the GitHub App may write there"}},
		{"acme/tools", Read, true, PushAccess, nil},
		{"ACME/Tools", Push, true, PushAccess, nil},
		{"acme/site", Push, false, ReadAccess, []string{"ada has read access only"}},
		{"acme/site", Read, true, ReadAccess, nil},
		{"acme/open", Read, true, ReadAccess, []string{"it is public"}},
		{"acme/open", Push, false, ReadAccess, []string{"it is public, and ada may only read it"}},
		// ada may push, the app is not installed there.
		{"other/lib", Push, false, ReadAccess, []string{"the GitHub App is not installed there; install it: " + install}},
		{"other/lib", Read, true, ReadAccess, nil},
		// Private and not installed: the API answers 404.
		{"acme/secret", Read, false, None, []string{"it does not exist, or it is private and not open to both ada and the GitHub App", install}},
		{"acme/absent", Push, false, None, []string{"does not exist", install}},
		{"ro/app", Push, false, ReadAccess, []string{"the GitHub App may only read contents there (its installation on ro has contents: read)"}},
		{"ro/app", Read, true, ReadAccess, nil},
	} {
		res, err := Check(context.Background(), Request{Provider: GitHub, Server: s.URL, Repository: c.repo, Need: c.need, Token: tok, HTTP: client})
		if err != nil {
			t.Errorf("%s %s: cannot decide: %v", c.need, c.repo, err)
			continue
		}
		if res.Allowed != c.allowed || res.Access != c.access || res.Login != "ada" || res.Need != c.need {
			t.Errorf("%s %s: %+v; want allowed %v, access %s", c.need, c.repo, res, c.allowed, c.access)
		}
		for _, want := range c.reason {
			if !strings.Contains(res.Reason, want) {
				t.Errorf("%s %s: reason %q lacks %q", c.need, c.repo, res.Reason, want)
			}
		}
		if strings.ContainsAny(res.Reason, "\n\r") {
			t.Errorf("%s %s: reason is not one line: %q", c.need, c.repo, res.Reason)
		}
	}
	res, _ := Check(context.Background(), Request{Provider: GitHub, Server: s.URL, Repository: "acme/tools", Need: Push, Token: tok, HTTP: client})
	if res.Repository != "acme/tools" || res.Host != strings.TrimPrefix(s.URL, "http://") {
		t.Errorf("result names %q on %q", res.Repository, res.Host)
	}
}

func TestLine(t *testing.T) {
	r := Result{Allowed: false, Need: Push, Repository: "org/repo", Login: "ada", Reason: "the GitHub App is not installed there; install it: LINK"}
	if got, want := r.Line(), "ada may not push to org/repo: the GitHub App is not installed there; install it: LINK"; got != want {
		t.Errorf("Line() = %q, want %q", got, want)
	}
	r = Result{Allowed: true, Need: Read, Repository: "g/p", Login: "bo\x1b[31m"}
	if got := r.Line(); strings.ContainsRune(got, 0x1b) || !strings.HasSuffix(got, " may read g/p") {
		t.Errorf("Line() = %q", got)
	}
}

// TestGitHubWithoutInstallations: an install link needs the app's name,
// which an installation or the configuration gives.
func TestGitHubWithoutInstallations(t *testing.T) {
	s := githubtest.NewServer(githubtest.Options{})
	t.Cleanup(s.Close)
	must(t, s.AddRepo("other/lib"))
	must(t, s.SetPublic("other/lib", true))
	must(t, s.Grant("ada", "other/lib", githubtest.Push))
	tok, _ := s.SignIn("ada")
	res, err := Check(context.Background(), Request{Provider: GitHub, Server: s.URL, Repository: "other/lib", Need: Push, Token: tok, HTTP: client})
	if err != nil || res.Allowed || !strings.HasSuffix(res.Reason, "the GitHub App is not installed there; install the app on it") || strings.Contains(res.Reason, "http") {
		t.Errorf("%+v, %v; want a denial that says to install the app, without a link", res, err)
	}
	// Configuration that names the app (ghapp.appUrl) gives the link.
	link := "https://github.example/github-apps/hub-app/installations/new"
	res, err = Check(context.Background(), Request{Provider: GitHub, Server: s.URL, Repository: "other/lib", Need: Push, Token: tok, HTTP: client, AppInstall: link})
	if err != nil || res.Allowed || !strings.HasSuffix(res.Reason, "the GitHub App is not installed there; install it: "+link) {
		t.Errorf("%+v, %v; want a denial with the configured install link", res, err)
	}
}

func gitlabServer(t *testing.T, opts gitlabtest.Options) *gitlabtest.Server {
	t.Helper()
	s := gitlabtest.NewServer(opts)
	t.Cleanup(s.Close)
	s.AddUser("ada")
	for _, p := range []struct{ path, vis string }{
		{"g/sub/proj", gitlabtest.Private},
		{"g2/dev", gitlabtest.Private},
		{"g3/rep", gitlabtest.Private},
		{"g4/guest", gitlabtest.Private},
		{"pub/open", gitlabtest.Public},
		{"int/inside", gitlabtest.Internal},
		{"g5/direct", gitlabtest.Private},
	} {
		must(t, s.AddProject(p.path, p.vis))
	}
	must(t, s.AddMember("g", "ada", gitlabtest.Developer)) // inherited by g/sub/proj
	must(t, s.AddMember("g2/dev", "ada", gitlabtest.Developer))
	must(t, s.AddMember("g3/rep", "ada", gitlabtest.Reporter))
	must(t, s.AddMember("g4/guest", "ada", gitlabtest.Guest))
	must(t, s.AddMember("g5", "ada", gitlabtest.Maintainer)) // the project's own group
	return s
}

func TestGitLab(t *testing.T) {
	for _, base := range []string{"", "/gitlab"} {
		s := gitlabServer(t, gitlabtest.Options{BasePath: base})
		tok, err := s.SignIn("ada", "read_api", "write_repository")
		must(t, err)
		var members atomic.Int32
		s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/members/all/") {
				members.Add(1)
			}
			return false
		})
		for _, c := range []struct {
			repo    string
			need    Need
			allowed bool
			access  string
			reason  string
		}{
			{"g/sub/proj", Push, true, PushAccess, "ada is a Developer of it (protected branches are not considered)"},
			{"g2/dev", Push, true, PushAccess, "ada is a Developer of it (protected branches are not considered)"},
			{"g5/direct", Push, true, PushAccess, "ada is a Maintainer of it (protected branches are not considered)"},
			{"g3/rep", Push, false, ReadAccess, "ada is a Reporter of it; pushing needs Developer or higher"},
			{"g3/rep", Read, true, ReadAccess, "ada is a Reporter of it"},
			{"g4/guest", Read, false, None, "ada is a Guest of it; reading a private project needs Reporter or higher"},
			{"pub/open", Read, true, ReadAccess, "it is public"},
			{"pub/open", Push, false, ReadAccess, "it is public, and ada is not a member who may push (Developer or higher)"},
			{"int/inside", Read, true, ReadAccess, "it is internal"},
			{"x/absent", Read, false, None, "it does not exist, or it is private and ada cannot see it"},
		} {
			members.Store(0)
			res, err := Check(context.Background(), Request{Provider: GitLab, Server: s.URL, Repository: c.repo, Need: c.need, Token: tok, HTTP: client})
			if err != nil {
				t.Errorf("base %q, %s %s: cannot decide: %v", base, c.need, c.repo, err)
				continue
			}
			// Only a level too low for the need, or none named (inherited),
			// sends the check to the members API; a 404 project never does.
			if asked := members.Load() > 0; asked != (c.repo != "x/absent" && (c.repo == "g/sub/proj" || !c.allowed || c.repo == "pub/open" || c.repo == "int/inside")) {
				t.Errorf("base %q, %s %s: members API asked: %v", base, c.need, c.repo, asked)
			}
			if res.Allowed != c.allowed || res.Access != c.access || res.Login != "ada" || res.Reason != c.reason {
				t.Errorf("base %q, %s %s: %+v; want allowed %v, access %s, reason %q", base, c.need, c.repo, res, c.allowed, c.access, c.reason)
			}
		}
	}
}

// TestCannotDecide: whatever keeps the server from answering is an error,
// never a refusal, and no error carries the token.
func TestCannotDecide(t *testing.T) {
	gh, ghTok := githubServer(t)
	gl := gitlabServer(t, gitlabtest.Options{})
	glTok, _ := gl.SignIn("ada", "read_api")
	noAPI, _ := gl.SignIn("ada", "read_user", "write_repository")

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := "http://" + ln.Addr().String()
	ln.Close()

	// A server that never answers.
	stop := make(chan struct{})
	hang := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	})}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go hang.Serve(hl)
	t.Cleanup(func() { close(stop); hang.Close() })
	hanging := "http://" + hl.Addr().String()
	short := &http.Client{Timeout: 300 * time.Millisecond}

	fail := func(status int) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.Path, "/repos/") || strings.Contains(r.URL.Path, "/projects/") {
				w.WriteHeader(status)
				return true
			}
			return false
		}
	}

	for _, c := range []struct {
		name      string
		req       Request
		intercept func(w http.ResponseWriter, r *http.Request) bool
		want      string
	}{
		{"github 502", Request{Provider: GitHub, Server: gh.URL, Repository: "acme/tools", Token: ghTok}, fail(502), "HTTP 502"},
		{"github 403", Request{Provider: GitHub, Server: gh.URL, Repository: "acme/tools", Token: ghTok}, fail(403), "HTTP 403"},
		{"github bad token", Request{Provider: GitHub, Server: gh.URL, Repository: "acme/tools", Token: "ghu_0000000000000000000000000000000000bad"}, nil, "refused the token (HTTP 401"},
		{"github closed port", Request{Provider: GitHub, Server: closed, Repository: "acme/tools", Token: ghTok}, nil, "cannot reach " + closed},
		{"github timeout", Request{Provider: GitHub, Server: hanging, Repository: "acme/tools", Token: ghTok, HTTP: short}, nil, "did not answer in time"},
		{"gitlab 500", Request{Provider: GitLab, Server: gl.URL, Repository: "g3/rep", Token: glTok}, fail(500), "HTTP 500"},
		{"gitlab bad token", Request{Provider: GitLab, Server: gl.URL, Repository: "g3/rep", Token: "not-a-token"}, nil, "refused the token (HTTP 401"},
		{"gitlab no read_api", Request{Provider: GitLab, Server: gl.URL, Repository: "g3/rep", Token: noAPI}, nil, "add read_api to git config ghapp." + gl.URL + ".scopes"},
		{"gitlab timeout", Request{Provider: GitLab, Server: hanging, Repository: "g3/rep", Token: glTok, HTTP: short}, nil, "did not answer in time"},
		{"gitlab closed port", Request{Provider: GitLab, Server: closed, Repository: "g3/rep", Token: glTok}, nil, "cannot reach"},
		{"unknown provider", Request{Provider: "gitea", Server: gh.URL, Repository: "acme/tools", Token: ghTok}, nil, `provider "gitea" is not github or gitlab`},
		{"bad github name", Request{Provider: GitHub, Server: gh.URL, Repository: "a/b/c", Token: ghTok}, nil, "is not a GitHub repository name"},
		{"bad gitlab path", Request{Provider: GitLab, Server: gl.URL, Repository: "a b/c", Token: glTok}, nil, "is not a GitLab project path"},
		{"empty token", Request{Provider: GitLab, Server: gl.URL, Repository: "g3/rep"}, nil, "the token is empty"},
		{"token with a newline", Request{Provider: GitLab, Server: gl.URL, Repository: "g3/rep", Token: glTok + "\nX-Evil: 1"}, nil, "not one word of printable characters"},
	} {
		for _, need := range []Need{Read, Push} {
			gh.Intercept(c.intercept)
			gl.Intercept(c.intercept)
			req := c.req
			req.Need = need
			if req.HTTP == nil {
				req.HTTP = client
			}
			start := time.Now()
			res, err := Check(context.Background(), req)
			if err == nil {
				t.Errorf("%s, %s: decided %+v; want an error", c.name, need, res)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("%s, %s: %q lacks %q", c.name, need, testsupport.Redact(msg), c.want)
			}
			for _, tok := range []string{ghTok, glTok, noAPI} {
				if strings.Contains(msg, tok) {
					t.Errorf("%s, %s: the error holds a token: %s", c.name, need, testsupport.Redact(msg))
				}
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("%s, %s: error is not one line: %q", c.name, need, testsupport.Redact(msg))
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("%s, %s: took %v", c.name, need, time.Since(start))
			}
		}
	}
}

func TestParseNeed(t *testing.T) {
	for in, want := range map[string]Need{"read": Read, "push": Push, " PUSH ": Push} {
		if got, err := ParseNeed(in); got != want || err != nil {
			t.Errorf("ParseNeed(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseNeed("write"); err == nil {
		t.Error("ParseNeed(write) succeeded")
	}
}

// longestServer stands in for config's Settings.Base: the longest of
// servers that url is at or below, else url's origin.
func longestServer(servers []string) func(string) (string, error) {
	return func(url string) (string, error) {
		best := ""
		for _, s := range servers {
			if b, err := origin.ParseBase(s); err == nil && b.Under(url) && len(s) > len(best) {
				best = b.String()
			}
		}
		return best, nil
	}
}

func TestParseURL(t *testing.T) {
	servers := []string{"https://github.com", "https://example.org/gitlab", "https://example.org/gitlab/deeper", "http://127.0.0.1:8080"}
	for _, c := range []struct {
		in                         string
		server, repo, user, failed string
	}{
		{in: "https://github.com/org/repo", server: "https://github.com", repo: "org/repo"},
		{in: "https://ada@github.com/org/repo.git", server: "https://github.com", repo: "org/repo", user: "ada"},
		{in: "https://GitHub.com:443/org/repo/", server: "https://github.com", repo: "org/repo"},
		{in: "https://gitlab.com/g/sub/p.git", server: "https://gitlab.com", repo: "g/sub/p"},
		{in: "https://gitlab.com/g/p/-/tree/main", server: "https://gitlab.com", repo: "g/p"},
		{in: "https://example.org/gitlab/g/p.git", server: "https://example.org/gitlab", repo: "g/p"},
		{in: "https://example.org/gitlab/deeper/g/p", server: "https://example.org/gitlab/deeper", repo: "g/p"},
		{in: "https://example.org/gitlabx/g/p", server: "https://example.org", repo: "gitlabx/g/p"},
		{in: "http://127.0.0.1:8080/o/r", server: "http://127.0.0.1:8080", repo: "o/r"},
		{in: "http://localhost/o/r", server: "http://localhost", repo: "o/r"},
		{in: "https://oauth2:glpat-secret@gitlab.com/g/p", server: "https://gitlab.com", repo: "g/p", user: "oauth2"},
		{in: "http://example.org/o/r", failed: "a token travels only over https"},
		{in: "ssh://git@github.com/o/r", failed: `protocol "ssh" is not http or https`},
		{in: "git@github.com:o/r.git", failed: "is not a repository URL"},
		{in: "https://github.com/org", failed: "names no repository"},
		{in: "https://github.com/", failed: "names no repository"},
		{in: "https://ada:hunter2@exa mple.org/o/r", failed: "is not a repository URL"},
		{in: "https://ada:hunter2@github.com", failed: "names no repository"},
	} {
		got, err := ParseURL(c.in, longestServer(servers))
		if c.failed != "" {
			if err == nil || !strings.Contains(err.Error(), c.failed) {
				t.Errorf("ParseURL(%q) = %+v, %v; want an error saying %q", c.in, got, err, c.failed)
			} else if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseURL(%q): the error shows the password: %v", c.in, err)
			}
			continue
		}
		if err != nil || got.Server != c.server || got.Repository != c.repo || got.Username != c.user {
			t.Errorf("ParseURL(%q) = %+v, %v; want server %s, repository %s, user %q", c.in, got, err, c.server, c.repo, c.user)
		}
	}
}
