package githubtest

import (
	"net/http"
	"strings"
	"testing"
)

// addRecord registers one repository without creating it on disk.
func addRecord(s *Server, fullName string) {
	owner, name, _ := strings.Cut(fullName, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(fullName)
	s.repos[key] = &repo{id: s.newIDLocked(), key: key, owner: s.accountLocked(owner), name: name}
}

type repoJSON struct {
	FullName    string          `json:"full_name"`
	Private     bool            `json:"private"`
	Visibility  string          `json:"visibility"`
	Permissions map[string]bool `json:"permissions"`
}

func TestRepoPermissions(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, r := range []string{"acme/tools", "acme/site", "acme/secret", "acme/open", "octocat/own"} {
		addRecord(s, r)
	}
	s.Install("octocat", "octocat")
	s.Install("admin", "acme", "tools", "site", "open")
	if err := s.SetPublic("acme/open", true); err != nil {
		t.Fatal(err)
	}
	for _, g := range [][3]string{{"ada", "acme/tools", Push}, {"ada", "acme/site", Pull}, {"ada", "acme/secret", Admin}} {
		if err := s.Grant(g[0], g[1], g[2]); err != nil {
			t.Fatal(err)
		}
	}
	ada, _ := s.SignIn("ada")
	octo, _ := s.SignIn("octocat")
	for _, c := range []struct {
		token, repo string
		status      int
		pull, push  bool
		visibility  string
	}{
		{ada, "acme/tools", 200, true, true, "private"},
		{ada, "ACME/Tools", 200, true, true, "private"},
		{ada, "acme/site", 200, true, false, "private"},
		{ada, "acme/secret", 404, false, false, ""}, // admin, but the app is not installed there
		{ada, "acme/open", 200, true, false, "public"},
		{ada, "acme/absent", 404, false, false, ""},
		{octo, "octocat/own", 200, true, true, "private"},
		{octo, "acme/tools", 404, false, false, ""},
		{"", "acme/open", 200, false, false, "public"},
		{"", "acme/tools", 404, false, false, ""},
	} {
		auth := ""
		if c.token != "" {
			auth = "Bearer " + c.token
		}
		r := apiGet(t, s, "/api/v3/repos/"+c.repo, auth)
		if r.status != c.status {
			t.Errorf("%s as %s: HTTP %d, want %d: %s", c.repo, redact(c.token), r.status, c.status, r.body)
			continue
		}
		if r.status != 200 {
			continue
		}
		var got repoJSON
		decode(t, r, &got)
		if got.Visibility != c.visibility || got.Private != (c.visibility == "private") {
			t.Errorf("%s: visibility %q private %v, want %q", c.repo, got.Visibility, got.Private, c.visibility)
		}
		if got.Permissions["pull"] != c.pull || got.Permissions["push"] != c.push {
			t.Errorf("%s as %s: permissions %v, want pull %v push %v", c.repo, redact(c.token), got.Permissions, c.pull, c.push)
		}
	}
	if r := apiGet(t, s, "/api/v3/repos/acme/open", "Bearer ghu_000000000000000000000000000000000000"); r.status != 401 {
		t.Errorf("a bad token: HTTP %d, want 401", r.status)
	}
}

func TestGrantShowsInstallationAndContents(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	addRecord(s, "acme/tools")
	id := s.Install("admin", "acme")
	if err := s.Grant("ada", "acme/tools", Pull); err != nil {
		t.Fatal(err)
	}
	if err := s.SetInstallationContents(id, "read"); err != nil {
		t.Fatal(err)
	}
	tok, _ := s.SignIn("ada")
	var got installationsJSON
	decode(t, apiGet(t, s, "/api/v3/user/installations", "Bearer "+tok), &got)
	if len(got.Installations) != 1 || got.Installations[0].ID != id || got.Installations[0].Permissions["contents"] != "read" {
		t.Errorf("ada sees %+v; want installation %d with contents read", got.Installations, id)
	}
	for _, bad := range []error{
		s.Grant("ada", "acme/tools", "write"),
		s.Grant("ada", "acme/none", Pull),
		s.SetInstallationContents(id, "admin"),
		s.SetInstallationContents(id+1000, "read"),
		s.SetPublic("acme/none", true),
	} {
		if bad == nil {
			t.Error("a mistaken call was accepted")
		}
	}
}

func TestGitHonoursPermissions(t *testing.T) {
	requireGit(t)
	s, tok := gitServer(t, nil)
	refs := func(path, service string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+path+"/info/refs?service="+service, nil)
		req.SetBasicAuth("x-access-token", tok)
		return do(t, req).status
	}
	if got := refs("/octocat/hello-world", "git-receive-pack"); got != 200 {
		t.Fatalf("push to an installed repository: HTTP %d, want 200", got)
	}
	id := s.Install("octocat", "octocat", "hello-world")
	if err := s.SetInstallationContents(id, "read"); err != nil {
		t.Fatal(err)
	}
	if got := refs("/octocat/hello-world", "git-receive-pack"); got != 403 {
		t.Errorf("push through a read-only installation: HTTP %d, want 403", got)
	}
	if got := refs("/octocat/hello-world", "git-upload-pack"); got != 200 {
		t.Errorf("fetch through a read-only installation: HTTP %d, want 200", got)
	}
	s.SetInstallationContents(id, "write")
	if err := s.Grant("octocat", "octocat/hello-world", Pull); err != nil {
		t.Fatal(err)
	}
	if got := refs("/octocat/hello-world", "git-receive-pack"); got != 403 {
		t.Errorf("push with pull permission: HTTP %d, want 403", got)
	}
	if err := s.SetPublic("octocat/private-notes", true); err != nil {
		t.Fatal(err)
	}
	if got := refs("/octocat/private-notes", "git-upload-pack"); got != 200 {
		t.Errorf("fetch of a public repository without the app: HTTP %d, want 200", got)
	}
	if got := refs("/octocat/private-notes", "git-receive-pack"); got != 403 {
		t.Errorf("push to a public repository without the app: HTTP %d, want 403", got)
	}
}
