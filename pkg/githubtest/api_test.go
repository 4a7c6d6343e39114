package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// addRepoRecords registers repositories without creating them on disk, for
// tests that only list them.
func addRepoRecords(s *Server, owner string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("repo-%03d", i)
		key := strings.ToLower(owner + "/" + name)
		s.repos[key] = &repo{id: s.newIDLocked(), key: key, owner: s.accountLocked(owner), name: name}
	}
}

type installationsJSON struct {
	TotalCount    int `json:"total_count"`
	Installations []struct {
		ID      int64  `json:"id"`
		AppSlug string `json:"app_slug"`
		Account struct {
			Login string `json:"login"`
			ID    int64  `json:"id"`
			Type  string `json:"type"`
		} `json:"account"`
		RepositorySelection string            `json:"repository_selection"`
		Permissions         map[string]string `json:"permissions"`
	} `json:"installations"`
}

type reposJSON struct {
	TotalCount   int `json:"total_count"`
	Repositories []struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		FullName string `json:"full_name"`
		Private  bool   `json:"private"`
		Owner    struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"repositories"`
}

func decode(t *testing.T, r reply, v any) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("HTTP %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v in %s", err, r.body)
	}
}

func TestUser(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	f := signIn(t, s, clock, "octocat")
	for _, scheme := range []string{"Bearer ", "token ", "bearer "} {
		var u struct {
			Login, Type string
			ID          int64
		}
		decode(t, apiGet(t, s, "/api/v3/user", scheme+f["access_token"]), &u)
		if u.Login != "octocat" || u.Type != "User" || u.ID == 0 {
			t.Errorf("%q: /user = %+v", scheme, u)
		}
	}
	for name, auth := range map[string]string{
		"no token":       "",
		"unknown token":  "Bearer ghu_000000000000000000000000000000000000",
		"refresh token":  "Bearer " + f["refresh_token"],
		"basic scheme":   "Basic " + f["access_token"],
		"scheme missing": f["access_token"],
	} {
		r := apiGet(t, s, "/api/v3/user", auth)
		if r.status != 401 || !strings.Contains(string(r.body), `"message":"Bad credentials"`) {
			t.Errorf("%s: HTTP %d %s; want 401 Bad credentials", name, r.status, r.body)
		}
	}
}

func TestInstallations(t *testing.T) {
	s, clock := newTestServer(t, Options{AppSlug: "my-app"})
	personal := s.Install("octocat", "octocat")
	org := s.Install("octocat", "acme", "acme/tools", "docs")
	s.Install("hubot", "hubot")
	tok := signIn(t, s, clock, "octocat")["access_token"]

	var got installationsJSON
	decode(t, apiGet(t, s, "/api/v3/user/installations", "Bearer "+tok), &got)
	if got.TotalCount != 2 || len(got.Installations) != 2 {
		t.Fatalf("octocat sees %d installations (total_count %d), want 2", len(got.Installations), got.TotalCount)
	}
	p, o := got.Installations[0], got.Installations[1]
	if p.ID != personal || p.Account.Login != "octocat" || p.Account.Type != "User" || p.RepositorySelection != "all" {
		t.Errorf("personal installation = %+v", p)
	}
	if o.ID != org || o.Account.Login != "acme" || o.Account.Type != "Organization" || o.RepositorySelection != "selected" {
		t.Errorf("organization installation = %+v", o)
	}
	if p.AppSlug != "my-app" || p.Permissions["contents"] != "write" || p.Permissions["metadata"] != "read" {
		t.Errorf("app_slug %q, permissions %v", p.AppSlug, p.Permissions)
	}

	if again := s.Install("mona", "acme"); again != org {
		t.Errorf("a second Install on acme made installation %d, want the same %d", again, org)
	}
	var none installationsJSON
	r := apiGet(t, s, "/api/v3/user/installations", "Bearer "+signIn(t, s, clock, "nobody")["access_token"])
	decode(t, r, &none)
	if none.TotalCount != 0 || !strings.Contains(string(r.body), `"installations":[]`) {
		t.Errorf("a user without installations got %s", r.body)
	}
}

func TestInstallationRepositories(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	addRepoRecords(s, "acme", 3)
	addRepoRecords(s, "other", 1)
	all := s.Install("octocat", "acme")
	hidden := s.Install("hubot", "other")
	tok := "Bearer " + signIn(t, s, clock, "octocat")["access_token"]

	var got reposJSON
	decode(t, apiGet(t, s, fmt.Sprintf("/api/v3/user/installations/%d/repositories", all), tok), &got)
	if got.TotalCount != 3 || len(got.Repositories) != 3 {
		t.Fatalf("got %d repositories (total_count %d), want 3", len(got.Repositories), got.TotalCount)
	}
	r0 := got.Repositories[0]
	if r0.FullName != "acme/repo-001" || r0.Name != "repo-001" || r0.Owner.Login != "acme" || !r0.Private || r0.ID == 0 {
		t.Errorf("first repository = %+v", r0)
	}

	s.Install("octocat", "acme", "repo-002")
	decode(t, apiGet(t, s, fmt.Sprintf("/api/v3/user/installations/%d/repositories", all), tok), &got)
	if got.TotalCount != 1 || got.Repositories[0].FullName != "acme/repo-002" {
		t.Errorf("selected repositories = %+v", got)
	}

	for _, id := range []string{fmt.Sprint(hidden), "999999", "abc"} {
		r := apiGet(t, s, "/api/v3/user/installations/"+id+"/repositories", tok)
		if r.status != 404 {
			t.Errorf("installation %s: HTTP %d, want 404", id, r.status)
		}
	}
	if r := apiGet(t, s, fmt.Sprintf("/api/v3/user/installations/%d/repositories", all), ""); r.status != 401 {
		t.Errorf("without a token: HTTP %d, want 401", r.status)
	}
}

func TestPagination(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	addRepoRecords(s, "acme", 150)
	id := s.Install("octocat", "acme")
	tok := "Bearer " + signIn(t, s, clock, "octocat")["access_token"]
	base := fmt.Sprintf("/api/v3/user/installations/%d/repositories", id)

	for _, tc := range []struct {
		query     string
		wantCount int
		wantFirst string
		wantLink  []string
	}{
		{"", 30, "repo-001", []string{`page=2&per_page=30>; rel="next"`, `page=5&per_page=30>; rel="last"`}},
		{"?per_page=500", 100, "repo-001", []string{`page=2&per_page=100>; rel="next"`, `page=2&per_page=100>; rel="last"`}},
		{"?per_page=40&page=2", 40, "repo-041", []string{`page=1&per_page=40>; rel="prev"`, `page=3&per_page=40>; rel="next"`, `page=4&per_page=40>; rel="last"`, `page=1&per_page=40>; rel="first"`}},
		{"?per_page=40&page=4", 30, "repo-121", []string{`page=3&per_page=40>; rel="prev"`, `page=1&per_page=40>; rel="first"`}},
		{"?per_page=40&page=9", 0, "", []string{`page=4&per_page=40>; rel="prev"`, `page=1&per_page=40>; rel="first"`}},
	} {
		r := apiGet(t, s, base+tc.query, tok)
		var got reposJSON
		decode(t, r, &got)
		if got.TotalCount != 150 || len(got.Repositories) != tc.wantCount {
			t.Errorf("%q: %d repositories (total_count %d), want %d", tc.query, len(got.Repositories), got.TotalCount, tc.wantCount)
			continue
		}
		if tc.wantCount > 0 && got.Repositories[0].Name != tc.wantFirst {
			t.Errorf("%q: first is %s, want %s", tc.query, got.Repositories[0].Name, tc.wantFirst)
		}
		link := r.header.Get("Link")
		if !strings.HasPrefix(link, "<"+s.URL+base+"?") {
			t.Errorf("%q: Link %q does not point at %s", tc.query, link, base)
		}
		for _, want := range tc.wantLink {
			if !strings.Contains(link, want) {
				t.Errorf("%q: Link %q lacks %q", tc.query, link, want)
			}
		}
		if strings.Count(link, "rel=") != len(tc.wantLink) {
			t.Errorf("%q: Link %q has %d relations, want %d", tc.query, link, strings.Count(link, "rel="), len(tc.wantLink))
		}
	}
	if r := apiGet(t, s, base+"?per_page=150", tok); strings.Contains(r.header.Get("Link"), "per_page=150") {
		t.Error("per_page above 100 was not capped")
	}
	if r := apiGet(t, s, base+"?per_page=100&page=2", tok); strings.Contains(r.header.Get("Link"), `rel="next"`) {
		t.Errorf("last page has a next link: %s", r.header.Get("Link"))
	}
}

func TestRevokeEndpoint(t *testing.T) {
	s, clock := newTestServer(t, Options{})
	a := signIn(t, s, clock, "octocat")["access_token"]
	b := signIn(t, s, clock, "hubot")["access_token"]
	post := func(body string) reply {
		req, _ := http.NewRequest("POST", s.URL+"/api/v3/credentials/revoke", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	if r := post(`{"credentials":["` + a + `","ghu_unknown"]}`); r.status != http.StatusAccepted {
		t.Fatalf("revoke: HTTP %d %s, want 202", r.status, r.body)
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+a); r.status != 401 {
		t.Errorf("revoked token: HTTP %d, want 401", r.status)
	}
	if r := apiGet(t, s, "/api/v3/user", "Bearer "+b); r.status != 200 {
		t.Errorf("token not in the list: HTTP %d, want 200", r.status)
	}
	for _, body := range []string{`not json`, `{}`, `{"credentials":[]}`} {
		if r := post(body); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: HTTP %d, want 422", body, r.status)
		}
	}
}

func TestUnknownPathsAre404(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, p := range []string{"/api/v3/repos/a/b", "/nope", "/octocat/hello-world.git/HEAD"} {
		if r := apiGet(t, s, p, ""); r.status != 404 {
			t.Errorf("%s: HTTP %d, want 404", p, r.status)
		}
	}
	r := postForm(t, s, "/login/device/code", nil, true)
	if r.status != 404 {
		t.Errorf("device code without client_id: HTTP %d, want 404", r.status)
	}
}
