package githubapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// elsewhere is a server a hostile one points at; it counts what reaches it.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"login":"thief","installations":[],"repositories":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// Every call that carries the token refuses every kind of redirect, even
// when the caller's client would follow it.
func TestRedirectsAreNotFollowed(t *testing.T) {
	s := newServer(t)
	s.Install("octocat", "acme", "acme/site")
	if err := s.AddRepo("acme/site"); err != nil {
		t.Fatal(err)
	}
	api := signIn(t, s, "octocat")
	insts, _, err := api.Installations(context.Background())
	if err != nil || len(insts) != 1 {
		t.Fatalf("installations %v, err %v", insts, err)
	}
	id := insts[0].ID
	other, hits := elsewhere(t)
	// A caller's client that follows everything: the package must not.
	followAll := func(*http.Request, []*http.Request) error { return nil }
	api.HTTP = &http.Client{Timeout: 5 * time.Second, CheckRedirect: followAll}

	calls := []struct {
		name, path string
		call       func() error
	}{
		{"user", "/api/v3/user", func() error { _, err := api.User(context.Background()); return err }},
		{"installations", "/api/v3/user/installations", func() error { _, _, err := api.Installations(context.Background()); return err }},
		{"repositories", fmt.Sprintf("/api/v3/user/installations/%d/repositories", id), func() error {
			_, _, err := api.InstallationRepositories(context.Background(), id)
			return err
		}},
		{"revoke", "/api/v3/credentials/revoke", func() error {
			return Revoke(context.Background(), api.HTTP, api.API, api.Token)
		}},
	}
	for _, call := range calls {
		for _, status := range []int{301, 302, 303, 307, 308, 300} {
			t.Run(fmt.Sprintf("%s %d", call.name, status), func(t *testing.T) {
				s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					if r.URL.Path != call.path {
						return false
					}
					u := strings.Replace(other.URL, "http://", "http://user:pass@", 1)
					http.Redirect(w, r, u+"/steal?token=yes#frag", status)
					return true
				})
				defer s.Intercept(nil)
				err := call.call()
				var re *RedirectError
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want a *RedirectError", err)
				}
				want := "the server redirected to " + other.URL + "/steal; the helper sends tokens only to the server they were minted for"
				if err.Error() != want {
					t.Errorf("err = %q\nwant  %q", err, want)
				}
				if n := hits.Load(); n != 0 {
					t.Fatalf("the other server received %d requests", n)
				}
			})
		}
	}
	if api.HTTP.CheckRedirect(nil, nil) != nil {
		t.Error("the caller's client was changed")
	}
}

// A listing's second page that redirects is refused too.
func TestRedirectOnALaterPage(t *testing.T) {
	s := newServer(t)
	for i := range 3 {
		s.Install("octocat", fmt.Sprintf("org-%d", i))
	}
	api := signIn(t, s, "octocat")
	other, hits := elsewhere(t)
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/v3/user/installations" {
			return false
		}
		if r.URL.Query().Get("page") == "2" {
			http.Redirect(w, r, other.URL+"/page2", http.StatusTemporaryRedirect)
			return true
		}
		q := r.URL.Query()
		q.Set("per_page", "2")
		r.URL.RawQuery = q.Encode()
		return false
	})
	got, _, err := api.Installations(context.Background())
	var re *RedirectError
	if !errors.As(err, &re) || re.Location != other.URL+"/page2" {
		t.Fatalf("err = %v, want a redirect to %s/page2", err, other.URL)
	}
	if len(got) != 2 {
		t.Errorf("kept %d installations of the first page, want 2", len(got))
	}
	if hits.Load() != 0 {
		t.Error("the other server received a request")
	}
}

// NoRedirects leaves the caller's client alone and copes with nil.
func TestNoRedirects(t *testing.T) {
	orig := &http.Client{Timeout: time.Second}
	c := NoRedirects(orig)
	if c == orig || orig.CheckRedirect != nil || c.Timeout != time.Second || c.CheckRedirect == nil {
		t.Errorf("NoRedirects changed or lost the caller's settings")
	}
	if NoRedirects(nil).CheckRedirect == nil || http.DefaultClient.CheckRedirect != nil {
		t.Error("NoRedirects(nil) is not a copy of the default client")
	}
}

// An answer with a control sequence or a bidi override shows them escaped.
func TestServerMessageIsMadeSafe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"Bad\u001b[2J\ncredentials \u202eevil\u0085"}`))
	}))
	defer srv.Close()
	_, err := (&Client{API: srv.URL, Token: "ghu_x"}).User(context.Background())
	want := srv.URL + `/user answered HTTP 403 (Bad\x1b[2J\x0acredentials \u202eevil\u0085)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

// hostilePage streams {"total_count":N,"FIELD":[item(0), ..., item(n-1)]}
// from a reused buffer, so the server itself allocates almost nothing,
// and stops when the client hangs up.
func hostilePage(w http.ResponseWriter, field string, n int, item func(b []byte, i int) []byte) {
	w.Header().Set("Content-Type", "application/json")
	buf := make([]byte, 0, 512)
	buf = append(buf, `{"total_count":`...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, `,"`+field+`":[`...)
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = item(buf, i)
		if _, err := w.Write(buf); err != nil {
			return
		}
		buf = buf[:0]
	}
	w.Write([]byte(`]}`))
}

func installationItem(b []byte, i int) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(i+1), 10)
	return append(b, `,"app_slug":"hostile","account":{"login":"org-many","type":"Organization"},"repository_selection":"all","permissions":{"contents":"write","metadata":"read","issues":"write","pull_requests":"write"}}`...)
}

func repositoryItem(b []byte, i int) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(i+1), 10)
	b = append(b, `,"full_name":"acme/repository-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, `","private":true,"description":"padding padding padding padding padding padding padding padding padding padding padding padding padding padding"}`...)
}

// allocated runs f and returns the bytes allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A page of 30,000 entries is read only as far as the cap: the client
// allocates little, takes no time, and asks for no further page.
func TestHugePagesAreReadOnlyToTheCap(t *testing.T) {
	const n = 30000
	// Less than one whole body: reading a page before decoding it would
	// not fit.
	const budget = MaxBody
	var requests atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		// Always another page, on the same server.
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=2>; rel="next"`, srv.URL, r.URL.Path))
		if strings.HasSuffix(r.URL.Path, "/repositories") {
			hostilePage(w, "repositories", n, repositoryItem)
		} else {
			hostilePage(w, "installations", n, installationItem)
		}
	}))
	defer srv.Close()
	api := &Client{API: srv.URL, Token: "ghu_x", HTTP: &http.Client{Timeout: 10 * time.Second}}

	t.Run("installations", func(t *testing.T) {
		requests.Store(0)
		var insts []Installation
		var cut bool
		var err error
		start := time.Now()
		used := allocated(func() { insts, cut, err = api.Installations(context.Background()) })
		took := time.Since(start)
		if err != nil || !cut || len(insts) != MaxInstallations {
			t.Fatalf("kept %d, cut %v, err %v; want %d and cut", len(insts), cut, err, MaxInstallations)
		}
		if insts[MaxInstallations-1].ID != MaxInstallations {
			t.Errorf("last kept installation has id %d", insts[MaxInstallations-1].ID)
		}
		if used > budget || took > 5*time.Second || requests.Load() != 1 {
			t.Errorf("allocated %d KiB in %v over %d requests; want under %d KiB, 5s, 1 request", used>>10, took, requests.Load(), budget>>10)
		}
		t.Logf("allocated %d KiB in %v", used>>10, took)
	})
	t.Run("repositories", func(t *testing.T) {
		requests.Store(0)
		var repos []Repository
		var cut bool
		var err error
		start := time.Now()
		used := allocated(func() { repos, cut, err = api.InstallationRepositories(context.Background(), 7) })
		took := time.Since(start)
		if err != nil || !cut || len(repos) != MaxRepositories {
			t.Fatalf("kept %d, cut %v, err %v; want %d and cut", len(repos), cut, err, MaxRepositories)
		}
		if used > budget || took > 5*time.Second || requests.Load() != 1 {
			t.Errorf("allocated %d KiB in %v over %d requests; want under %d KiB, 5s, 1 request", used>>10, took, requests.Load(), budget>>10)
		}
		t.Logf("allocated %d KiB in %v", used>>10, took)
	})
}

// Across pages the repository cap holds too, and stops asking once reached.
func TestRepositoryCapAcrossPages(t *testing.T) {
	var requests atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := requests.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=%d>; rel="next"`, srv.URL, r.URL.Path, page+1))
		hostilePage(w, "repositories", perPage, func(b []byte, i int) []byte { return repositoryItem(b, int(page-1)*perPage+i) })
	}))
	defer srv.Close()
	repos, cut, err := (&Client{API: srv.URL, Token: "ghu_x"}).InstallationRepositories(context.Background(), 7)
	if err != nil || !cut || len(repos) != MaxRepositories {
		t.Fatalf("kept %d, cut %v, err %v", len(repos), cut, err)
	}
	if n := requests.Load(); n != MaxRepositories/perPage {
		t.Errorf("%d requests, want %d", n, MaxRepositories/perPage)
	}
	if repos[MaxRepositories-1].FullName != fmt.Sprintf("acme/repository-%d", MaxRepositories-1) {
		t.Errorf("last kept repository is %s", repos[MaxRepositories-1].FullName)
	}
}

// Endless pages of one repository stop at maxPages, below the cap.
func TestEndlessRepositoryPagesAreBounded(t *testing.T) {
	var requests atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=2>; rel="next"`, srv.URL, r.URL.Path))
		hostilePage(w, "repositories", 1, repositoryItem)
	}))
	defer srv.Close()
	_, _, err := (&Client{API: srv.URL, Token: "ghu_x"}).InstallationRepositories(context.Background(), 7)
	if err == nil || !strings.Contains(err.Error(), "more than 100 pages") {
		t.Errorf("err = %v, want the listing stopped at %d pages", err, maxPages)
	}
	if n := requests.Load(); n != maxPages {
		t.Errorf("%d requests, want %d", n, maxPages)
	}
}

// An answer past MaxBody is an error that says so, not a silent cut; one
// of exactly MaxBody is read.
func TestOversizedAnswer(t *testing.T) {
	pad := func(n int) string { return strings.Repeat("x", MaxBody-n) }
	for _, tt := range []struct {
		body string
		call func(*Client) error
		want string
	}{
		{`{"padding":"` + pad(0) + `","installations":[]}`, func(c *Client) error { _, _, err := c.Installations(context.Background()); return err }, "/user/installations answered with more than 4 MiB; stopped reading"},
		{`{"login":"octocat","padding":"` + pad(0) + `"}`, func(c *Client) error { _, err := c.User(context.Background()); return err }, "/user answered with more than 4 MiB; stopped reading"},
		{`{"login":"octocat","padding":"` + pad(len(`{"login":"octocat","padding":""}`)) + `"}`, func(c *Client) error { _, err := c.User(context.Background()); return err }, ""},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, tt.body)
		}))
		err := tt.call(&Client{API: srv.URL, Token: "ghu_x"})
		srv.Close()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%d bytes: %v", len(tt.body), err)
		case tt.want != "" && (err == nil || err.Error() != srv.URL+tt.want):
			t.Errorf("%d bytes: err = %v, want %q", len(tt.body), err, srv.URL+tt.want)
		}
	}
}

// What a page holds besides the list, and a list that is null or not a
// list, are handled without trusting the shape.
func TestPageShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"total_count":1,"extra":{"a":[1,{"b":[]}]},"installations":[{"id":5}]}`: "1",
		`{"installations":null}`:            "0",
		`{}`:                                "0",
		`{"installations":{"id":5}}`:        "not the expected JSON",
		`[{"id":5}]`:                        "not the expected JSON",
		`{"installations":[{"id":"five"}]}`: "not the expected JSON",
		`{"installations":[{"id":5}`:        "not the expected JSON",
		``:                                  "not the expected JSON",
		`<html>`:                            "not the expected JSON",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, body)
		}))
		insts, _, err := (&Client{API: srv.URL, Token: "ghu_x"}).Installations(context.Background())
		srv.Close()
		got := fmt.Sprint(len(insts))
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
}
