package gitlabtest

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type accessJSONShape struct {
	AccessLevel       int `json:"access_level"`
	NotificationLevel int `json:"notification_level"`
}

type projectJSONShape struct {
	ID                int64  `json:"id"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	Visibility        string `json:"visibility"`
	HTTPURLToRepo     string `json:"http_url_to_repo"`
	Namespace         struct {
		Kind     string `json:"kind"`
		FullPath string `json:"full_path"`
	} `json:"namespace"`
	Permissions *struct {
		ProjectAccess *accessJSONShape `json:"project_access"`
		GroupAccess   *accessJSONShape `json:"group_access"`
	} `json:"permissions"`
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
	t.Parallel()
	s, clock := newTestServer(t, Options{BasePath: "/gitlab"})
	id := s.AddUser("alice")
	f := signIn(t, s, clock, "alice", "read_user")
	for _, scheme := range []string{"Bearer ", "bearer "} {
		var u struct {
			ID                    int64
			Username, Name, State string
		}
		decode(t, apiGet(t, s, "/api/v4/user", scheme+f["access_token"]), &u)
		if u.Username != "alice" || u.ID != id || u.Name == "" || u.State != "active" {
			t.Errorf("%q: /user = %+v", scheme, u)
		}
	}
	for _, scope := range []string{"read_api", "api"} {
		g := signIn(t, s, clock, "alice", scope)
		if r := apiGet(t, s, "/api/v4/user", "Bearer "+g["access_token"]); r.status != 200 {
			t.Errorf("/user with scope %s: HTTP %d", scope, r.status)
		}
	}
	for name, auth := range map[string]string{
		"no token":       "",
		"unknown token":  "Bearer gloas-0000",
		"refresh token":  "Bearer " + f["refresh_token"],
		"basic scheme":   "Basic " + f["access_token"],
		"scheme missing": f["access_token"],
	} {
		r := apiGet(t, s, "/api/v4/user", auth)
		if r.status != 401 || strings.TrimSpace(string(r.body)) != `{"message":"401 Unauthorized"}` {
			t.Errorf("%s: HTTP %d %s; want 401 Unauthorized", name, r.status, r.body)
		}
	}

	repoOnly := signIn(t, s, clock, "alice", "read_repository write_repository")
	r := apiGet(t, s, "/api/v4/user", "Bearer "+repoOnly["access_token"])
	if g := r.fields(t); r.status != 403 || g["error"] != "insufficient_scope" || g["error_description"] == "" ||
		g["scope"] != "read_user read_api api" || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Errorf("/user without read_user: HTTP %d %v, WWW-Authenticate %q", r.status, g, r.header.Get("WWW-Authenticate"))
	}

	clock.Advance(2 * time.Hour)
	if r := apiGet(t, s, "/api/v4/user", "Bearer "+f["access_token"]); r.status != 401 {
		t.Errorf("a token two hours old: HTTP %d, want 401", r.status)
	}
	g := signIn(t, s, clock, "alice", "api")
	s.Revoke(g["access_token"])
	if r := apiGet(t, s, "/api/v4/user", "Bearer "+g["access_token"]); r.status != 401 {
		t.Errorf("a revoked token: HTTP %d, want 401", r.status)
	}
}

// accessServer holds, below /gitlab:
//
//	acme (group; lead is Maintainer)
//	  acme/tools    private; dev is a Developer of the project
//	  acme/site     public
//	  acme/wiki     internal
//	  acme/sub (subgroup; rep is Reporter)
//	    acme/sub/widgets  private; dev is a Guest of the project
//	alice/notes     private, alice's own
func accessServer(t *testing.T) (*Server, func(username string) string) {
	t.Helper()
	requireGit(t)
	s, clock := newTestServer(t, Options{BasePath: "/gitlab"})
	for _, p := range []struct{ path, visibility string }{
		{"acme/tools", Private}, {"acme/site", Public}, {"acme/wiki", Internal}, {"acme/sub/widgets", Private},
	} {
		if err := s.AddProject(p.path, p.visibility); err != nil {
			t.Fatal(err)
		}
	}
	s.AddUser("alice")
	if err := s.AddProject("alice/notes", Private); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		path, username string
		level          int
	}{
		{"acme", "lead", Maintainer}, {"acme/sub", "rep", Reporter},
		{"acme/tools", "dev", Developer}, {"acme/sub/widgets", "dev", Guest},
	} {
		if err := s.AddMember(m.path, m.username, m.level); err != nil {
			t.Fatal(err)
		}
	}
	s.AddUser("stranger")
	tokens := map[string]string{}
	return s, func(username string) string {
		if tokens[username] == "" {
			tokens[username] = signIn(t, s, clock, username, "read_api")["access_token"]
		}
		return tokens[username]
	}
}

func TestProjectPermissions(t *testing.T) {
	t.Parallel()
	s, tokenOf := accessServer(t)
	const inherited = -1 // both permissions null although the user has access
	for _, tc := range []struct {
		username, path string
		status         int
		project, group int // 0: null
		effective      int // from members/all; 0: 404
	}{
		{"dev", "acme/tools", 200, Developer, 0, Developer},
		{"dev", "acme/sub/widgets", 200, Guest, 0, Guest},
		{"lead", "acme/tools", 200, 0, Maintainer, Maintainer},
		{"lead", "acme/sub/widgets", 200, 0, 0, Maintainer}, // from the parent group: both null
		{"rep", "acme/sub/widgets", 200, 0, Reporter, Reporter},
		{"rep", "acme/tools", 404, 0, 0, 0},
		{"stranger", "acme/tools", 404, 0, 0, 0},
		{"stranger", "acme/site", 200, 0, 0, 0},
		{"stranger", "acme/wiki", 200, 0, 0, 0},
		{"alice", "alice/notes", 200, Owner, 0, Owner},
		{"lead", "alice/notes", 404, 0, 0, 0},
	} {
		name := tc.username + " on " + tc.path
		encoded := strings.ReplaceAll(tc.path, "/", "%2F")
		r := apiGet(t, s, "/api/v4/projects/"+encoded, "Bearer "+tokenOf(tc.username))
		if r.status != tc.status {
			t.Errorf("%s: HTTP %d %s, want %d", name, r.status, r.body, tc.status)
			continue
		}
		if tc.status == 404 {
			if strings.TrimSpace(string(r.body)) != `{"message":"404 Project Not Found"}` {
				t.Errorf("%s: body %s", name, r.body)
			}
		} else {
			var p projectJSONShape
			decode(t, r, &p)
			if p.PathWithNamespace != tc.path || p.ID == 0 || p.Permissions == nil {
				t.Fatalf("%s: %s", name, r.body)
			}
			if !strings.Contains(string(r.body), `"project_access":`) || !strings.Contains(string(r.body), `"group_access":`) {
				t.Errorf("%s: permissions lack a key: %s", name, r.body)
			}
			checkAccess(t, name+": project_access", p.Permissions.ProjectAccess, tc.project)
			checkAccess(t, name+": group_access", p.Permissions.GroupAccess, tc.group)
		}

		uid := s.AddUser(tc.username)
		r = apiGet(t, s, fmt.Sprintf("/api/v4/projects/%s/members/all/%d", encoded, uid), "Bearer "+tokenOf(tc.username))
		switch {
		case tc.status == 404:
			if r.status != 404 || !strings.Contains(string(r.body), "404 Project Not Found") {
				t.Errorf("%s: members/all: HTTP %d %s; want 404 Project Not Found", name, r.status, r.body)
			}
		case tc.effective == 0:
			if r.status != 404 || strings.TrimSpace(string(r.body)) != `{"message":"404 Not found"}` {
				t.Errorf("%s: members/all: HTTP %d %s; want 404 Not found", name, r.status, r.body)
			}
		default:
			var m struct {
				ID          int64  `json:"id"`
				Username    string `json:"username"`
				AccessLevel int    `json:"access_level"`
			}
			decode(t, r, &m)
			if m.ID != uid || m.Username != tc.username || m.AccessLevel != tc.effective {
				t.Errorf("%s: members/all = %+v, want level %d", name, m, tc.effective)
			}
		}
	}
}

func checkAccess(t *testing.T, what string, got *accessJSONShape, want int) {
	t.Helper()
	switch {
	case want == 0 && got != nil:
		t.Errorf("%s = %+v, want null", what, *got)
	case want != 0 && got == nil:
		t.Errorf("%s = null, want %d", what, want)
	case want != 0 && (got.AccessLevel != want || got.NotificationLevel == 0):
		t.Errorf("%s = %+v, want level %d", what, *got, want)
	}
}

func TestProjectPaths(t *testing.T) {
	t.Parallel()
	s, tokenOf := accessServer(t)
	auth := "Bearer " + tokenOf("lead")
	var byPath projectJSONShape
	decode(t, apiGet(t, s, "/api/v4/projects/acme%2Fsub%2Fwidgets", auth), &byPath)
	if byPath.Path != "widgets" || byPath.Visibility != Private || byPath.Namespace.FullPath != "acme/sub" ||
		byPath.Namespace.Kind != "group" || byPath.HTTPURLToRepo != s.URL+"/acme/sub/widgets.git" {
		t.Errorf("project = %+v", byPath)
	}
	var byID projectJSONShape
	decode(t, apiGet(t, s, fmt.Sprintf("/api/v4/projects/%d", byPath.ID), auth), &byID)
	if byID.PathWithNamespace != "acme/sub/widgets" {
		t.Errorf("by ID: %+v", byID)
	}
	if r := apiGet(t, s, "/api/v4/projects/ACME%2Fsub%2FWidgets", auth); r.status != 200 {
		t.Errorf("another case of the path: HTTP %d", r.status)
	}
	for _, p := range []string{"acme/sub/widgets", "acme%2Fsub/widgets", "acme/tools"} {
		r := apiGet(t, s, "/api/v4/projects/"+p, auth)
		if r.status != 404 || strings.TrimSpace(string(r.body)) != `{"error":"404 Not Found"}` {
			t.Errorf("unencoded path %s: HTTP %d %s; want the router's 404", p, r.status, r.body)
		}
	}
	if s.Requests("/gitlab/api/v4/projects/acme%2Fsub%2Fwidgets") != 1 || s.Requests("/gitlab/api/v4/projects/acme/sub/widgets") != 1 {
		t.Errorf("Requests does not tell encoded from unencoded paths: %d, %d",
			s.Requests("/gitlab/api/v4/projects/acme%2Fsub%2Fwidgets"), s.Requests("/gitlab/api/v4/projects/acme/sub/widgets"))
	}
	for _, p := range []string{"widgets", "999999", "acme%2Fnope", "acme%2Fsub%2F..%2Ftools", "acme%252Ftools"} {
		if r := apiGet(t, s, "/api/v4/projects/"+p, auth); r.status != 404 || !strings.Contains(string(r.body), "404 Project Not Found") {
			t.Errorf("%s: HTTP %d %s; want 404 Project Not Found", p, r.status, r.body)
		}
	}
	var personal projectJSONShape
	decode(t, apiGet(t, s, "/api/v4/projects/alice%2Fnotes", "Bearer "+tokenOf("alice")), &personal)
	if personal.Namespace.Kind != "user" || personal.Namespace.FullPath != "alice" {
		t.Errorf("personal project namespace: %+v", personal.Namespace)
	}
	// Outside the base path nothing answers.
	host := strings.TrimSuffix(s.URL, "/gitlab")
	if r := apiGetURL(t, host+"/api/v4/projects/acme%2Ftools", auth); r.status != 404 || strings.Contains(string(r.body), "acme") {
		t.Errorf("outside the base path: HTTP %d %s", r.status, r.body)
	}
}

func TestProjectsAnonymouslyAndScopes(t *testing.T) {
	t.Parallel()
	s, tokenOf := accessServer(t)
	r := apiGet(t, s, "/api/v4/projects/acme%2Fsite", "")
	if r.status != 200 || strings.Contains(string(r.body), `"permissions"`) {
		t.Errorf("public project anonymously: HTTP %d %s; want 200 without permissions", r.status, r.body)
	}
	for _, p := range []string{"acme%2Ftools", "acme%2Fwiki"} {
		if r := apiGet(t, s, "/api/v4/projects/"+p, ""); r.status != 404 {
			t.Errorf("%s anonymously: HTTP %d, want 404", p, r.status)
		}
	}
	uid := s.AddUser("lead")
	if r := apiGet(t, s, fmt.Sprintf("/api/v4/projects/acme%%2Fsite/members/all/%d", uid), ""); r.status != 200 || !strings.Contains(string(r.body), `"access_level":40`) {
		t.Errorf("members of a public project anonymously: HTTP %d %s", r.status, r.body)
	}
	if r := apiGet(t, s, "/api/v4/projects/acme%2Fsite", "Bearer gloas-dead"); r.status != 401 {
		t.Errorf("public project with a dead token: HTTP %d, want 401", r.status)
	}
	if r := apiGet(t, s, "/api/v4/projects/acme%2Fsite/members/all/abc", "Bearer "+tokenOf("lead")); r.status != 400 {
		t.Errorf("non-numeric user ID: HTTP %d, want 400", r.status)
	}
	if r := apiGet(t, s, "/api/v4/projects/acme%2Fsite/members/all/424242", "Bearer "+tokenOf("lead")); r.status != 404 || !strings.Contains(string(r.body), "404 Not found") {
		t.Errorf("unknown user ID: HTTP %d %s", r.status, r.body)
	}

	for _, scope := range []string{"read_user", "read_repository write_repository"} {
		tok := signInAgain(t, s, "lead", scope)
		for _, p := range []string{"/api/v4/projects/acme%2Fsite", fmt.Sprintf("/api/v4/projects/acme%%2Ftools/members/all/%d", uid)} {
			r := apiGet(t, s, p, "Bearer "+tok)
			if f := r.fields(t); r.status != 403 || f["error"] != "insufficient_scope" || f["scope"] != "read_api api" {
				t.Errorf("%s with scope %q: HTTP %d %v; want 403 insufficient_scope", p, scope, r.status, f)
			}
		}
	}
	for _, scope := range []string{"read_api", "api"} {
		if r := apiGet(t, s, "/api/v4/projects/acme%2Ftools", "Bearer "+signInAgain(t, s, "lead", scope)); r.status != 200 {
			t.Errorf("scope %s: HTTP %d, want 200", scope, r.status)
		}
	}
}

// signInAgain signs username in through AutoApprove, needing no clock.
func signInAgain(t *testing.T, s *Server, username, scope string) string {
	t.Helper()
	s.AutoApprove(username)
	defer s.AutoApprove("")
	device, _ := requestCode(t, s, scope)
	f := poll(t, s, device)
	if f["access_token"] == "" {
		t.Fatalf("sign-in as %s: %v", username, f["error"])
	}
	return f["access_token"]
}

func TestInheritedAccessFollowsMembershipChanges(t *testing.T) {
	t.Parallel()
	s, tokenOf := accessServer(t)
	auth := "Bearer " + tokenOf("rep")
	uid := s.AddUser("rep")
	members := fmt.Sprintf("/api/v4/projects/acme%%2Fsub%%2Fwidgets/members/all/%d", uid)
	if err := s.AddMember("acme", "rep", Owner); err != nil {
		t.Fatal(err)
	}
	var p projectJSONShape
	decode(t, apiGet(t, s, "/api/v4/projects/acme%2Fsub%2Fwidgets", auth), &p)
	checkAccess(t, "group_access", p.Permissions.GroupAccess, Reporter)
	if r := apiGet(t, s, members, auth); !strings.Contains(string(r.body), `"access_level":50`) {
		t.Errorf("effective level with Owner on the parent group: %s", r.body)
	}
	if err := s.AddMember("acme/sub", "rep", 0); err != nil {
		t.Fatal(err)
	}
	decode(t, apiGet(t, s, "/api/v4/projects/acme%2Fsub%2Fwidgets", auth), &p)
	checkAccess(t, "group_access", p.Permissions.GroupAccess, 0)
	checkAccess(t, "project_access", p.Permissions.ProjectAccess, 0)
	if err := s.AddMember("acme", "rep", 0); err != nil {
		t.Fatal(err)
	}
	if r := apiGet(t, s, "/api/v4/projects/acme%2Fsub%2Fwidgets", auth); r.status != 404 {
		t.Errorf("after every membership is gone: HTTP %d, want 404", r.status)
	}
}

func TestAddProjectGroupMember(t *testing.T) {
	t.Parallel()
	requireGit(t)
	s, _ := newTestServer(t, Options{})
	if err := s.AddProject("acme/widgets.git", Private); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "--git-dir", s.repoDir("acme/widgets"), "ls-tree", "--name-only", "main").Output()
	if err != nil || string(out) != "README.md\n" {
		t.Errorf("main has %q (%v), want README.md", out, err)
	}
	s.AddUser("alice")
	for _, tc := range []struct{ path, visibility, want string }{
		{"ACME/Widgets", Private, "already exists"},
		{"acme", Private, "NAMESPACE/NAME"},
		{"acme/x", "secret", "visibility"},
		{"a/b c", Public, "NAMESPACE/NAME"},
		{"../x", Public, "NAMESPACE/NAME"},
		{"a//b", Public, "NAMESPACE/NAME"},
		{"acme/widgets/deeper", Public, "is a project"},
		{"alice/sub/x", Public, "user's namespace"},
	} {
		if err := s.AddProject(tc.path, tc.visibility); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddProject(%q, %q) = %v; want an error saying %q", tc.path, tc.visibility, err, tc.want)
		}
	}
	if err := s.AddGroup("acme/sub/deep"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroup("acme/sub"); err != nil {
		t.Errorf("adding a group twice: %v", err)
	}
	if err := s.AddProject("acme/sub", Public); err == nil || !strings.Contains(err.Error(), "is a group") {
		t.Errorf("a project where a group is: %v", err)
	}
	if err := s.AddGroup("alice"); err == nil {
		t.Error("a group took a user's name")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("AddUser took a group's name")
			}
		}()
		s.AddUser("acme")
	}()
	for _, tc := range []struct {
		path  string
		level int
	}{{"acme/nope", Developer}, {"acme/widgets", 35}, {"acme/widgets", -1}} {
		if err := s.AddMember(tc.path, "bob", tc.level); err == nil {
			t.Errorf("AddMember(%q, bob, %d) succeeded", tc.path, tc.level)
		}
	}
	for _, path := range []string{"acme/widgets", "acme/widgets.git", "acme/sub/deep", "ACME"} {
		if err := s.AddMember(path, "bob", Reporter); err != nil {
			t.Errorf("AddMember(%q): %v", path, err)
		}
	}
}
