package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func newServer(t *testing.T) *githubtest.Server {
	t.Helper()
	s := githubtest.NewServer(githubtest.Options{Interval: 1})
	t.Cleanup(s.Close)
	return s
}

// signIn returns an API client holding a token of login's.
func signIn(t *testing.T, s *githubtest.Server, login string) *Client {
	t.Helper()
	access, err := s.SignIn(login)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{API: s.URL + "/api/v3", Token: access}
}

// addRepos creates owner/r000… in parallel: each is a real repository.
func addRepos(t *testing.T, s *githubtest.Server, owner string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := s.AddRepo(fmt.Sprintf("%s/r%03d", owner, i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestInstallationsAllAndSelected(t *testing.T) {
	s := newServer(t)
	for _, r := range []string{"octocat/hello", "octocat/notes", "acme/site"} {
		if err := s.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	mine := s.Install("octocat", "octocat", "hello")
	org := s.Install("octocat", "acme")
	s.Install("someone-else", "elsewhere") // not visible to octocat
	api := signIn(t, s, "octocat")

	insts, cut, err := api.Installations(context.Background())
	if err != nil || cut {
		t.Fatalf("cut %v, err %v", cut, err)
	}
	if len(insts) != 2 {
		t.Fatalf("got %d installations, want 2: %+v", len(insts), insts)
	}
	want := []struct {
		id                int64
		account, typ, sel string
	}{{mine, "octocat", "User", "selected"}, {org, "acme", "Organization", "all"}}
	for i, w := range want {
		got := insts[i]
		if got.ID != w.id || got.Account.Login != w.account || got.Account.Type != w.typ || got.RepositorySelection != w.sel {
			t.Errorf("installation %d = %+v, want id %d on %s (%s), %s", i, got, w.id, w.account, w.typ, w.sel)
		}
		if got.AppSlug != s.AppSlug() {
			t.Errorf("installation %d: app_slug %q, want %q", i, got.AppSlug, s.AppSlug())
		}
		if got.Permissions["contents"] != "write" {
			t.Errorf("installation %d: permissions %v lack contents: write", i, got.Permissions)
		}
	}

	repos, cut, err := api.InstallationRepositories(context.Background(), mine)
	if err != nil || cut {
		t.Fatalf("cut %v, err %v", cut, err)
	}
	if len(repos) != 1 || repos[0].FullName != "octocat/hello" {
		t.Errorf("selected installation lists %+v, want only octocat/hello", repos)
	}
	repos, cut, err = api.InstallationRepositories(context.Background(), org)
	if err != nil || cut {
		t.Fatalf("cut %v, err %v", cut, err)
	}
	if len(repos) != 1 || repos[0].FullName != "acme/site" {
		t.Errorf("installation on all of acme lists %+v, want acme/site", repos)
	}
}

func TestRepositoriesBeyondOnePage(t *testing.T) {
	s := newServer(t)
	const n = 101 // one more than a page holds
	addRepos(t, s, "acme", n)
	selected := make([]string, n)
	for i := range selected {
		selected[i] = fmt.Sprintf("acme/r%03d", i)
	}
	id := s.Install("octocat", "acme", selected...)
	api := signIn(t, s, "octocat")

	repos, cut, err := api.InstallationRepositories(context.Background(), id)
	if err != nil || cut {
		t.Fatalf("cut %v, err %v", cut, err)
	}
	if len(repos) != n {
		t.Fatalf("listed %d repositories, want %d", len(repos), n)
	}
	seen := map[string]bool{}
	for _, r := range repos {
		seen[r.FullName] = true
	}
	for _, name := range selected {
		if !seen[name] {
			t.Errorf("%s missing from the listing", name)
		}
	}
	if got := s.Requests(fmt.Sprintf("/api/v3/user/installations/%d/repositories", id)); got != 2 {
		t.Errorf("%d requests for %d repositories, want 2 pages", got, n)
	}
}

func TestInstallationsBeyondOnePage(t *testing.T) {
	s := newServer(t)
	const n = 70
	for i := range n {
		s.Install("octocat", fmt.Sprintf("org-%03d", i))
	}
	api := signIn(t, s, "octocat")
	// Pages of 30, as a server that ignores per_page would serve them.
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		q := r.URL.Query()
		q.Set("per_page", "30")
		r.URL.RawQuery = q.Encode()
		return false
	})
	insts, cut, err := api.Installations(context.Background())
	if err != nil || cut {
		t.Fatalf("cut %v, err %v", cut, err)
	}
	if len(insts) != n {
		t.Fatalf("listed %d installations, want %d", len(insts), n)
	}
	if insts[n-1].Account.Login != fmt.Sprintf("org-%03d", n-1) {
		t.Errorf("last installation is on %s", insts[n-1].Account.Login)
	}
	if got := s.Requests("/api/v3/user/installations"); got != 3 {
		t.Errorf("%d requests, want 3 pages", got)
	}
}

// Past MaxInstallations the listing stops and says it was cut, without
// asking for the next page.
func TestInstallationsAreCapped(t *testing.T) {
	s := newServer(t)
	const n = MaxInstallations + 1
	for i := range n {
		s.Install("octocat", fmt.Sprintf("org-%03d", i))
	}
	api := signIn(t, s, "octocat")
	insts, cut, err := api.Installations(context.Background())
	if err != nil || !cut {
		t.Fatalf("cut %v, err %v; want cut", cut, err)
	}
	if len(insts) != MaxInstallations {
		t.Errorf("kept %d installations, want %d", len(insts), MaxInstallations)
	}
	if got := s.Requests("/api/v3/user/installations"); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestBadTokenIsAStatusError(t *testing.T) {
	s := newServer(t)
	api := &Client{API: s.URL + "/api/v3", Token: "ghu_notissued000000000000000000000000"}
	_, _, err := api.Installations(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 StatusError", err)
	}
	if strings.Contains(err.Error(), api.Token) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one token-free line: %q", err)
	}
}

// A "next" link to another server must not get the token.
func TestNextPageOnAnotherServerIsNotFollowed(t *testing.T) {
	s := newServer(t)
	s.Install("octocat", "acme")
	api := signIn(t, s, "octocat")
	var stolen atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.Write([]byte(`{"installations":[]}`))
	}))
	defer other.Close()
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v3/user/installations" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/user/installations?page=2>; rel="next"`, other.URL))
		}
		return false
	})
	_, _, err := api.Installations(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another server") {
		t.Errorf("err = %v, want a refusal to follow the link", err)
	}
	if stolen.Load() != 0 {
		t.Error("the client followed a next link to another server")
	}
}

func TestEndlessPagesAreBounded(t *testing.T) {
	s := newServer(t)
	s.Install("octocat", "acme")
	api := signIn(t, s, "octocat")
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v3/user/installations" {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, s.URL, r.URL.RequestURI()))
		}
		return false
	})
	_, _, err := api.Installations(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pages") {
		t.Errorf("err = %v, want the listing cut off", err)
	}
	if got := s.Requests("/api/v3/user/installations"); got != maxPages {
		t.Errorf("%d requests, want %d", got, maxPages)
	}
}

func TestNextLink(t *testing.T) {
	for header, want := range map[string]string{
		``: ``,
		`<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`: `https://api.github.com/x?page=2`,
		`<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"`: `https://api.github.com/x?page=3`,
		`<https://api.github.com/x?page=1>; rel="first"`:                                               ``,
		`<https://h/x?q=a,b&page=2>; rel=next`:                                                         `https://h/x?q=a,b&page=2`,
		`<https://h/x?page=2>; type="text/html"; rel="prev next"`:                                      `https://h/x?page=2`,
	} {
		if got := nextLink(header); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestInstallURL(t *testing.T) {
	for _, tt := range []struct{ web, slug, want string }{
		{"https://github.com", "my-app", "https://github.com/apps/my-app/installations/new"},
		{"https://ghe.example.com", "my-app", "https://ghe.example.com/github-apps/my-app/installations/new"},
		{"http://127.0.0.1:8080", "my-app", "http://127.0.0.1:8080/github-apps/my-app/installations/new"},
	} {
		if got := InstallURL(tt.web, tt.slug); got != tt.want {
			t.Errorf("InstallURL(%q, %q) = %q, want %q", tt.web, tt.slug, got, tt.want)
		}
	}
}
