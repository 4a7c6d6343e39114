package gitlabtest

import (
	"fmt"
	"strings"
)

type user struct {
	id       int64
	username string
	name     string
}

// validName accepts what GitLab allows in a username or a group or project
// path segment, less some reserved endings.
func validName(s string) bool {
	low := strings.ToLower(s)
	return pathPart.MatchString(s) && !strings.HasSuffix(low, ".git") && !strings.HasSuffix(low, ".atom") &&
		!strings.HasSuffix(s, ".") && !strings.Contains(s, "..")
}

// AddUser makes username a GitLab user and returns its numeric ID. Adding
// a user twice is harmless and returns the same ID. It panics on a name
// GitLab would refuse or one a top-level group already holds, as these are
// mistakes in the test.
func (s *Server) AddUser(username string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.addUserLocked(username)
	if err != nil {
		panic(err)
	}
	return u.id
}

func (s *Server) addUserLocked(username string) (*user, error) {
	if u := s.users[strings.ToLower(username)]; u != nil {
		return u, nil
	}
	if !validName(username) {
		return nil, fmt.Errorf("gitlabtest: %q is not a valid GitLab username", username)
	}
	if err := s.namespaceFreeLocked(username); err != nil {
		return nil, err
	}
	u := &user{id: s.newIDLocked(), username: username, name: username}
	s.users[strings.ToLower(username)] = u
	s.logf("user %s (id %d) created", username, u.id)
	return u, nil
}

// namespaceFreeLocked says whether a user may take name: users and
// top-level groups share one namespace.
func (s *Server) namespaceFreeLocked(name string) error {
	if s.groups[strings.ToLower(name)] != nil {
		return fmt.Errorf("gitlabtest: %s is a group's namespace, not free for a user", name)
	}
	return nil
}

func (s *Server) userLocked(username string) *user {
	return s.users[strings.ToLower(username)]
}
