package gitlabtest

import (
	"fmt"
	"strings"
)

// GitLab's access levels.
const (
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
	Owner      = 50
)

// Project visibilities.
const (
	Private  = "private"
	Internal = "internal"
	Public   = "public"
)

type group struct {
	id      int64
	path    string // full path, spelled as first added
	parent  *group
	members map[*user]int
}

func (g *group) name() string { return g.path[strings.LastIndex(g.path, "/")+1:] }

type project struct {
	id         int64
	path       string // full path, spelled as added
	key        string // lower-case full path
	group      *group // the namespace; nil for a personal project
	owner      *user  // a personal project's namespace
	visibility string
	members    map[*user]int
}

func (p *project) name() string { return p.path[strings.LastIndex(p.path, "/")+1:] }

// access returns u's direct project membership, its membership in the
// project's own group, and the level it has in effect, which also counts
// every ancestor group.
func (p *project) access(u *user) (direct, viaGroup, effective int) {
	if u == nil {
		return 0, 0, 0
	}
	direct = p.members[u]
	effective = direct
	if p.group != nil {
		viaGroup = p.group.members[u]
		for g := p.group; g != nil; g = g.parent {
			effective = max(effective, g.members[u])
		}
	}
	return direct, viaGroup, effective
}

// visibleTo says whether u (nil: nobody signed in) can see the project at
// all; GitLab answers 404 where it cannot.
func (p *project) visibleTo(u *user) bool {
	switch p.visibility {
	case Public:
		return true
	case Internal:
		return u != nil
	}
	_, _, level := p.access(u)
	return level >= Guest
}

// readableBy says whether u may fetch the project's code.
func (p *project) readableBy(u *user) bool {
	if p.visibility != Private {
		return p.visibleTo(u)
	}
	_, _, level := p.access(u)
	return level >= Reporter
}

// pushableBy says whether u may push to an unprotected branch.
func (p *project) pushableBy(u *user) bool {
	_, _, level := p.access(u)
	return u != nil && level >= Developer
}

// splitPath checks a group or project path and returns its segments; a
// trailing ".git" is dropped first.
func splitPath(fullPath string) ([]string, bool) {
	parts := strings.Split(strings.TrimSuffix(fullPath, ".git"), "/")
	for _, p := range parts {
		if !validName(p) {
			return nil, false
		}
	}
	return parts, true
}

// AddGroup creates the group at path ("group" or "group/sub") and any
// parent groups it lacks. Adding a group twice is harmless.
func (s *Server) AddGroup(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.addGroupLocked(path)
	return err
}

func (s *Server) addGroupLocked(path string) (*group, error) {
	parts, ok := splitPath(path)
	if !ok || strings.HasSuffix(path, ".git") {
		return nil, fmt.Errorf("gitlabtest: %q is not a valid group path", path)
	}
	var parent *group
	for i := range parts {
		full := strings.Join(parts[:i+1], "/")
		key := strings.ToLower(full)
		if g := s.groups[key]; g != nil {
			parent = g
			continue
		}
		if i == 0 && s.users[key] != nil {
			return nil, fmt.Errorf("gitlabtest: %s is a user's namespace, not a group", full)
		}
		if s.projects[key] != nil {
			return nil, fmt.Errorf("gitlabtest: %s is a project, not a group", full)
		}
		g := &group{id: s.newIDLocked(), path: full, parent: parent, members: map[*user]int{}}
		s.groups[key] = g
		s.logf("group %s created", full)
		parent = g
	}
	return parent, nil
}

// AddProject creates the project at fullPath with visibility Private,
// Internal or Public: a bare repository with one commit on branch main
// that adds a README.md. The namespace is a user's when it names one
// ("alice/notes"), and that user then owns the project; otherwise it is a
// group, created with its parents if need be.
func (s *Server) AddProject(fullPath, visibility string) error {
	if visibility != Private && visibility != Internal && visibility != Public {
		return fmt.Errorf("gitlabtest: visibility %q is not private, internal or public", visibility)
	}
	parts, ok := splitPath(fullPath)
	if !ok || len(parts) < 2 {
		return fmt.Errorf("gitlabtest: project path %q is not NAMESPACE/NAME", fullPath)
	}
	path := strings.Join(parts, "/")
	key := strings.ToLower(path)
	s.mu.Lock()
	err := s.checkProjectPathLocked(key, path)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.host.CreateRepo(key, "project "+path, parts[len(parts)-1], "GitLab", "noreply@gitlab.example"); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	p := &project{id: s.newIDLocked(), path: path, key: key, visibility: visibility, members: map[*user]int{}}
	ns := strings.Join(parts[:len(parts)-1], "/")
	if u := s.users[strings.ToLower(ns)]; u != nil && len(parts) == 2 {
		p.owner = u
		p.members[u] = Owner
	} else if p.group, err = s.addGroupLocked(ns); err != nil {
		s.host.RemoveRepo(key)
		return err
	}
	s.projects[key] = p
	s.logf("%s project %s created", visibility, path)
	return nil
}

func (s *Server) checkProjectPathLocked(key, path string) error {
	if s.projects[key] != nil {
		return fmt.Errorf("gitlabtest: project %s already exists", path)
	}
	if s.groups[key] != nil {
		return fmt.Errorf("gitlabtest: %s is a group, not a project", path)
	}
	return nil
}

// AddMember gives username access level (Guest to Owner) on the project
// or group at path, replacing any level it had there; level 0 removes the
// membership. The user is created if need be. Membership of a group
// reaches every project below it, subgroups included.
func (s *Server) AddMember(path, username string, level int) error {
	switch level {
	case 0, Guest, Reporter, Developer, Maintainer, Owner:
	default:
		return fmt.Errorf("gitlabtest: %d is not a GitLab access level (10, 20, 30, 40, 50; 0 removes)", level)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(strings.Trim(path, "/"))
	var (
		members map[*user]int
		what    string
	)
	if p := s.projects[strings.TrimSuffix(key, ".git")]; p != nil {
		members, what = p.members, "project "+p.path
	} else if g := s.groups[key]; g != nil {
		members, what = g.members, "group "+g.path
	} else {
		return fmt.Errorf("gitlabtest: no project or group %q", path)
	}
	u, err := s.addUserLocked(username)
	if err != nil {
		return err
	}
	if level == 0 {
		delete(members, u)
		s.logf("%s is no longer a member of %s", u.username, what)
		return nil
	}
	members[u] = level
	s.logf("%s is a member of %s with access level %d", u.username, what, level)
	return nil
}

func (s *Server) projectByIDLocked(id int64) *project {
	for _, p := range s.projects {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (s *Server) userByIDLocked(id int64) *user {
	for _, u := range s.users {
		if u.id == id {
			return u
		}
	}
	return nil
}
