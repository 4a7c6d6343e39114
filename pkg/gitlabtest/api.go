package gitlabtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

const insufficientScopeDescription = "The request requires higher privileges than provided by the access token."

// apiCaller returns the grant behind the request's bearer token, or nil
// for a request without an Authorization header, which GitLab serves as
// anonymous. Any other credential that is not a live access token gets
// 401, and ok is false.
func (s *Server) apiCaller(w http.ResponseWriter, r *http.Request) (g *grant, ok bool) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, true
	}
	scheme, tok, _ := strings.Cut(header, " ")
	now := s.opts.Now()
	s.mu.Lock()
	g = s.byAccess[strings.TrimSpace(tok)]
	ok = strings.EqualFold(scheme, "bearer") && g.live(now)
	s.mu.Unlock()
	if !ok {
		s.logf("%s %s: 401 (invalid, expired or revoked token)", r.Method, r.URL.EscapedPath())
		standin.WriteJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return nil, false
	}
	return g, true
}

// scopeOK answers 403 insufficient_scope, as GitLab's API guard does, when
// the caller's token has none of scopes. Anonymous callers pass.
func (s *Server) scopeOK(w http.ResponseWriter, r *http.Request, g *grant, scopes ...string) bool {
	if g == nil || g.has(scopes...) {
		return true
	}
	want := strings.Join(scopes, " ")
	s.logf("%s %s by %s: 403 (token scopes %q lack %s)", r.Method, r.URL.EscapedPath(), g.user.username,
		strings.Join(g.scopes, " "), strings.Join(scopes, " or "))
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(
		`Bearer realm="Protected by OAuth 2.0", error="insufficient_scope", error_description=%q, scope=%q`,
		insufficientScopeDescription, want))
	standin.WriteJSON(w, http.StatusForbidden, map[string]any{
		"error":             "insufficient_scope",
		"error_description": insufficientScopeDescription,
		"scope":             want,
	})
	return false
}

func (g *grant) caller() *user {
	if g == nil {
		return nil
	}
	return g.user
}

func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) {
	g, ok := s.apiCaller(w, r)
	if !ok {
		return
	}
	if g == nil {
		standin.WriteJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	if !s.scopeOK(w, r, g, "read_user", "read_api", "api") {
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.userJSON(g.user))
}

func (s *Server) userJSON(u *user) map[string]any {
	return map[string]any{
		"id":       u.id,
		"username": u.username,
		"name":     u.name,
		"state":    "active",
		"web_url":  s.URL + "/" + u.username,
	}
}

// lookupProject finds the project named by the {id} path segment, a
// numeric ID or a full path that was URL-encoded, and answers 404 as
// GitLab does when there is none or caller may not see it.
func (s *Server) lookupProject(w http.ResponseWriter, r *http.Request, caller *user) *project {
	id := r.PathValue("id")
	s.mu.Lock()
	var p *project
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		p = s.projectByIDLocked(n)
	} else {
		p = s.projects[strings.ToLower(id)]
	}
	visible := p != nil && p.visibleTo(caller)
	s.mu.Unlock()
	if !visible {
		who := "anonymous"
		if caller != nil {
			who = caller.username
		}
		s.logf("%s %s by %s: 404 (no such project, or not visible)", r.Method, r.URL.EscapedPath(), who)
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "404 Project Not Found"})
		return nil
	}
	return p
}

// apiProject checks the request's token and scope and finds the project
// it names, or answers as GitLab does and returns a nil project.
func (s *Server) apiProject(w http.ResponseWriter, r *http.Request) (*grant, *project) {
	g, ok := s.apiCaller(w, r)
	if !ok || !s.scopeOK(w, r, g, "read_api", "api") {
		return g, nil
	}
	return g, s.lookupProject(w, r, g.caller())
}

func (s *Server) handleProject(w http.ResponseWriter, r *http.Request) {
	g, p := s.apiProject(w, r)
	if p == nil {
		return
	}
	s.mu.Lock()
	body := s.projectJSONLocked(p, g.caller())
	s.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, body)
}

// projectJSONLocked describes p as GitLab's single-project endpoint does;
// permissions come only for a signed-in caller.
func (s *Server) projectJSONLocked(p *project, caller *user) map[string]any {
	var ns map[string]any
	if p.group != nil {
		ns = map[string]any{"id": p.group.id, "name": p.group.name(), "path": p.group.name(), "kind": "group", "full_path": p.group.path}
	} else {
		ns = map[string]any{"id": p.owner.id, "name": p.owner.name, "path": p.owner.username, "kind": "user", "full_path": p.owner.username}
	}
	out := map[string]any{
		"id":                  p.id,
		"name":                p.name(),
		"path":                p.name(),
		"path_with_namespace": p.path,
		"name_with_namespace": strings.ReplaceAll(p.path, "/", " / "),
		"visibility":          p.visibility,
		"default_branch":      "main",
		"web_url":             s.URL + "/" + p.path,
		"http_url_to_repo":    s.URL + "/" + p.path + ".git",
		"namespace":           ns,
	}
	if caller != nil {
		direct, viaGroup, _ := p.access(caller)
		out["permissions"] = map[string]any{"project_access": accessJSON(direct), "group_access": accessJSON(viaGroup)}
	}
	return out
}

// accessJSON is null when there is no membership, as in GitLab's answer.
func accessJSON(level int) any {
	if level == 0 {
		return nil
	}
	return map[string]any{"access_level": level, "notification_level": 3}
}

// handleMember is GET /projects/:id/members/all/:user_id: the user's
// level in effect, inherited memberships included.
func (s *Server) handleMember(w http.ResponseWriter, r *http.Request) {
	_, p := s.apiProject(w, r)
	if p == nil {
		return
	}
	uid, err := strconv.ParseInt(r.PathValue("user_id"), 10, 64)
	if err != nil {
		standin.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "user_id is invalid"})
		return
	}
	s.mu.Lock()
	u := s.userByIDLocked(uid)
	_, _, level := p.access(u)
	s.mu.Unlock()
	if level == 0 {
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "404 Not found"})
		return
	}
	body := s.userJSON(u)
	body["access_level"] = level
	standin.WriteJSON(w, http.StatusOK, body)
}
