package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// GitLab's access levels that matter here.
const (
	reporter  = 20 // may read a private project's code
	developer = 30 // may push to an unprotected branch
)

// role names a GitLab access level.
func role(level int) string {
	switch level {
	case 5:
		return "Minimal Access member"
	case 10:
		return "Guest"
	case 15:
		return "Planner"
	case 20:
		return "Reporter"
	case 30:
		return "Developer"
	case 40:
		return "Maintainer"
	case 50:
		return "Owner"
	}
	return fmt.Sprintf("member with access level %d", level)
}

type gitlabProject struct {
	ID          int64  `json:"id"`
	Path        string `json:"path_with_namespace"`
	Visibility  string `json:"visibility"`
	Permissions *struct {
		Project *gitlabLevel `json:"project_access"`
		Group   *gitlabLevel `json:"group_access"`
	} `json:"permissions"`
}

type gitlabLevel struct {
	AccessLevel int `json:"access_level"`
}

func (l *gitlabLevel) level() int {
	if l == nil {
		return 0
	}
	return l.AccessLevel
}

func checkGitLab(ctx context.Context, req Request) (Result, error) {
	if !gitlabPath(req.Repository) {
		return Result{}, fmt.Errorf("%q is not a GitLab project path such as GROUP/PROJECT", safetext.Short(req.Repository, 200))
	}
	c := &gitlabapi.Client{Base: strings.TrimSuffix(req.Server, "/"), Token: req.Token, HTTP: req.HTTP}
	u, err := c.User(ctx)
	if err != nil {
		return Result{}, gitlabError(req.Server, err)
	}
	var p gitlabProject
	err = c.Get(ctx, "/projects/"+url.PathEscape(req.Repository), &p)
	if notFound(err) {
		return req.result(u.Username, None, fmt.Sprintf("it does not exist, or it is private and %s cannot see it", u.Username)), nil
	}
	if err != nil {
		return Result{}, gitlabError(req.Server, err)
	}
	if p.Path != "" {
		req.Repository = p.Path
	}

	// The answer names only a membership of the project itself and of its
	// own group; one inherited from a group further up shows as null, and
	// only the members API counts it.
	level := 0
	if p.Permissions != nil {
		level = max(p.Permissions.Project.level(), p.Permissions.Group.level())
	}
	if level < needed(req.Need) {
		var m gitlabLevel
		err := c.Get(ctx, fmt.Sprintf("/projects/%d/members/all/%d", p.ID, u.ID), &m)
		switch {
		case notFound(err): // not a member
		case err != nil:
			return Result{}, gitlabError(req.Server, err)
		default:
			level = max(level, m.AccessLevel)
		}
	}

	access, reason := None, ""
	switch {
	case level >= developer:
		access, reason = PushAccess, fmt.Sprintf("%s is a %s of it (protected branches are not considered)", u.Username, role(level))
	case level >= reporter:
		access, reason = ReadAccess, fmt.Sprintf("%s is a %s of it; pushing needs Developer or higher", u.Username, role(level))
	case p.Visibility == "public" || p.Visibility == "internal":
		access = ReadAccess
		reason = fmt.Sprintf("it is %s, and %s is not a member who may push (Developer or higher)", p.Visibility, u.Username)
		if level > 0 {
			reason = fmt.Sprintf("it is %s, and %s is a %s of it; pushing needs Developer or higher", p.Visibility, u.Username, role(level))
		}
	case level > 0:
		reason = fmt.Sprintf("%s is a %s of it; reading a private project needs Reporter or higher", u.Username, role(level))
	default:
		reason = fmt.Sprintf("%s is not a member of it", u.Username)
	}
	res := req.result(u.Username, access, reason)
	if res.Allowed && access == ReadAccess && req.Need == Read {
		if level >= reporter {
			res.Reason = fmt.Sprintf("%s is a %s of it", u.Username, role(level))
		} else {
			res.Reason = fmt.Sprintf("it is %s", p.Visibility)
		}
	}
	return res, nil
}

func needed(n Need) int {
	if n == Push {
		return developer
	}
	return reporter
}

// gitlabPath accepts NAMESPACE/…/PROJECT with segments GitLab allows.
func gitlabPath(p string) bool {
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return false
	}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || len(part) > 255 || !safetext.Name(part) {
			return false
		}
	}
	return true
}

func notFound(err error) bool {
	var se *gitlabapi.StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// gitlabError words an answer that leaves the check undecided.
func gitlabError(server string, err error) error {
	var se *gitlabapi.StatusError
	switch {
	case errors.As(err, &se) && se.InsufficientScope():
		return fmt.Errorf("the token lacks the read_api scope an access check needs: add read_api to git config ghapp.%s.scopes and sign in again", server)
	case errors.As(err, &se) && se.Status == http.StatusUnauthorized:
		return fmt.Errorf("%s refused the token (HTTP 401: expired, revoked, or not a token for this server); sign in again or pass a current token", hostOf(server))
	}
	return err
}
