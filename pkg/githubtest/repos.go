package githubtest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

// What a person may do with a repository, as GitHub's REST API names it.
const (
	Pull  = "pull"
	Push  = "push"
	Admin = "admin"
)

// Permission levels, ordered.
const (
	permNone = iota
	permPull
	permPush
	permAdmin
)

var permLevels = map[string]int{"": permNone, "none": permNone, Pull: permPull, Push: permPush, Admin: permAdmin}

// SetPublic makes a repository public (anyone may read it) or private.
// Repositories start private.
func (s *Server) SetPublic(fullName string, public bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(strings.TrimSuffix(fullName, ".git"))]
	if r == nil {
		return fmt.Errorf("githubtest: no repository %s", fullName)
	}
	r.public = public
	return nil
}

// Grant gives login permission (Pull, Push, Admin, or "none") on a
// repository, in place of what it would have otherwise: admin on its own
// repositories, push on those of the installations it can see (Install).
// The user is created if need be. A user sees the installations that
// cover a repository granted to it, as on GitHub.
func (s *Server) Grant(login, fullName, permission string) error {
	level, ok := permLevels[permission]
	if !ok {
		return fmt.Errorf("githubtest: %q is not pull, push, admin or none", permission)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[strings.ToLower(strings.TrimSuffix(fullName, ".git"))]
	if r == nil {
		return fmt.Errorf("githubtest: no repository %s", fullName)
	}
	s.accountLocked(login).user = true
	if r.roles == nil {
		r.roles = map[string]int{}
	}
	r.roles[strings.ToLower(login)] = level
	s.logf("%s has %s on %s", login, permission, r.fullName())
	return nil
}

// SetInstallationContents sets the app's "contents" permission on an
// installation: "write" (the default) or "read", which lets the app's
// tokens fetch but not push.
func (s *Server) SetInstallationContents(id int64, access string) error {
	if access != "read" && access != "write" {
		return fmt.Errorf("githubtest: contents access %q is not read or write", access)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.installations {
		if in.id == id {
			in.contents = access
			s.logf("installation %d may %s contents", id, access)
			return nil
		}
	}
	return fmt.Errorf("githubtest: no installation %d", id)
}

// permLocked is login's own permission on r, the app aside.
func (s *Server) permLocked(login string, r *repo) int {
	key := strings.ToLower(login)
	level, granted := r.roles[key]
	if !granted {
		switch {
		case r.owner.user && strings.ToLower(r.owner.login) == key:
			level = permAdmin
		case s.viewerCoversLocked(key, r):
			level = permPush
		}
	}
	if r.public {
		level = max(level, permPull)
	}
	return level
}

func (s *Server) viewerCoversLocked(key string, r *repo) bool {
	for _, in := range s.installations {
		if in.viewers[key] && in.covers(r.key, r) {
			return true
		}
	}
	return false
}

// grantedInLocked reports whether Grant gave login a repository that in
// covers.
func (s *Server) grantedInLocked(login string, in *installation) bool {
	key := strings.ToLower(login)
	for k, r := range s.repos {
		if r.roles[key] > permNone && in.covers(k, r) {
			return true
		}
	}
	return false
}

// installationForLocked is the installation login can see that covers r,
// or nil: a user token reaches only what the app is installed on.
func (s *Server) installationForLocked(login string, r *repo) *installation {
	for _, in := range s.visibleLocked(login) {
		if in.covers(r.key, r) {
			return in
		}
	}
	return nil
}

// reachableLocked reports whether login's token can see r at all: a public
// repository, or one both login and an installation it can see reach.
func (s *Server) reachableLocked(login string, r *repo) bool {
	return r.public || s.permLocked(login, r) >= permPull && s.installationForLocked(login, r) != nil
}

// gitRefusalLocked says why git over HTTP is refused to login on r, or "".
func (s *Server) gitRefusalLocked(login string, r *repo, push bool) string {
	in := s.installationForLocked(login, r)
	perm := s.permLocked(login, r)
	switch {
	case !push && r.public:
		return ""
	case in == nil:
		return s.opts.AppSlug + " is not installed on it"
	case perm < permPull:
		return login + " has no access to it"
	case push && perm < permPush:
		return login + " may only read it"
	case push && in.contents != "write":
		return s.opts.AppSlug + " may only read contents there"
	}
	return ""
}

// handleRepo is GET /repos/{owner}/{repo}: 404, as GitHub answers, for a
// repository the token cannot see; else the repository with the user's
// permissions on it. Without a token only public repositories show, with
// no permissions.
func (s *Server) handleRepo(w http.ResponseWriter, r *http.Request) {
	login := ""
	if r.Header.Get("Authorization") != "" {
		if login = s.apiLogin(w, r); login == "" {
			return
		}
	}
	key := strings.ToLower(r.PathValue("owner") + "/" + r.PathValue("repo"))
	s.mu.Lock()
	rp := s.repos[key]
	if rp == nil || !rp.public && (login == "" || !s.reachableLocked(login, rp)) {
		s.mu.Unlock()
		s.logf("GET /repos/%s by %s: 404 (no such repository, or the token cannot see it)", key, login)
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository"})
		return
	}
	perm := s.permLocked(login, rp)
	visibility := "private"
	if rp.public {
		visibility = "public"
	}
	body := map[string]any{
		"id":             rp.id,
		"name":           rp.name,
		"full_name":      rp.fullName(),
		"owner":          accountJSON(rp.owner),
		"private":        !rp.public,
		"visibility":     visibility,
		"default_branch": "main",
		"html_url":       s.URL + "/" + rp.fullName(),
		"clone_url":      s.URL + "/" + rp.fullName() + ".git",
	}
	if login != "" {
		body["permissions"] = map[string]bool{
			"admin":    perm >= permAdmin,
			"maintain": perm >= permAdmin,
			"push":     perm >= permPush,
			"triage":   perm >= permPush,
			"pull":     perm >= permPull,
		}
	}
	s.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, body)
}
