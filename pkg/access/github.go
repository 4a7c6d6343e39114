package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/reach"
)

// appTokenPrefix starts a GitHub App's user access token, which reaches
// only what the app is installed on.
const appTokenPrefix = "ghu_"

func checkGitHub(ctx context.Context, req Request) (Result, error) {
	if reach.Repo(req.Repository) != req.Repository || strings.Count(req.Repository, "/") != 1 {
		return Result{}, fmt.Errorf("%q is not a GitHub repository name such as OWNER/NAME", req.Repository)
	}
	o, err := origin.ParseURL(req.Server)
	if err != nil {
		return Result{}, fmt.Errorf("server %q: %v", req.Server, err)
	}
	ep := o.Endpoints()
	c := &githubapi.Client{API: ep.API, Token: req.Token, HTTP: req.HTTP}
	u, err := c.User(ctx)
	if err != nil {
		return Result{}, githubError(o, err)
	}
	app := strings.HasPrefix(req.Token, appTokenPrefix)

	repo, err := c.Repo(ctx, req.Repository)
	var se *githubapi.StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		reason := fmt.Sprintf("it does not exist, or it is private and %s cannot see it", u.Login)
		if app {
			reason = fmt.Sprintf("it does not exist, or it is private and not open to both %s and the GitHub App", u.Login)
			// Only for the link: a listing that fails leaves the sentence without one.
			if l, err := reach.List(ctx, c); err == nil {
				reason += "; if it exists, " + installHint(l, ep.Web, req.AppInstall)
			}
		}
		return req.result(u.Login, None, reason), nil
	}
	if err != nil {
		return Result{}, githubError(o, err)
	}
	req.Repository = repo.FullName

	user, userReason := userAccess(repo, u.Login)
	if !app {
		return req.result(u.Login, user, userReason), nil
	}
	l, err := reach.List(ctx, c)
	if err != nil {
		return Result{}, githubError(o, err)
	}
	appLevel, appReason, err := appAccess(l, repo, ep.Web, req.AppInstall)
	if err != nil {
		return Result{}, err
	}
	res := req.result(u.Login, lower(user, appLevel), "")
	switch {
	case res.Allowed && req.Need == Push:
		res.Reason = fmt.Sprintf("%s has push access and the GitHub App may write there", u.Login)
	case res.Allowed:
		res.Reason = userReason
	case !covers(user, req.Need) && !covers(appLevel, req.Need):
		res.Reason = userReason + "; and " + appReason
	case !covers(user, req.Need):
		res.Reason = userReason
	default:
		res.Reason = appReason
	}
	return res, nil
}

// userAccess is what the account itself may do, the app aside.
func userAccess(repo githubapi.RepoAccess, login string) (string, string) {
	p := repo.Permissions
	switch {
	case p.Push || p.Admin:
		return PushAccess, fmt.Sprintf("%s has push access", login)
	case p.Pull && repo.Private:
		return ReadAccess, fmt.Sprintf("%s has read access only", login)
	case !repo.Private:
		return ReadAccess, fmt.Sprintf("it is public, and %s may only read it", login)
	}
	return None, fmt.Sprintf("%s has no access to it", login)
}

// appAccess is what the app's installation lets the token do there.
func appAccess(l *reach.Listing, repo githubapi.RepoAccess, web, appInstall string) (string, string, error) {
	in := installationFor(l, repo.FullName)
	if in == nil {
		if l.Cut {
			return "", "", fmt.Errorf("the GitHub App's installations are more than the helper reads, and %s is not among those read", repo.FullName)
		}
		level := None
		if !repo.Private {
			level = ReadAccess
		}
		return level, "the GitHub App is not installed there; " + installHint(l, web, appInstall), nil
	}
	switch in.Permissions["contents"] {
	case "write":
		return PushAccess, "", nil
	case "read":
		return ReadAccess, fmt.Sprintf("the GitHub App may only read contents there (its installation on %s has contents: read)", in.Account.Login), nil
	}
	if !repo.Private {
		return ReadAccess, fmt.Sprintf("the GitHub App has no contents permission (its installation on %s)", in.Account.Login), nil
	}
	return None, fmt.Sprintf("the GitHub App has no contents permission (its installation on %s)", in.Account.Login), nil
}

// installationFor is the installation that covers fullName, or nil.
func installationFor(l *reach.Listing, fullName string) *reach.Installation {
	owner, _, _ := strings.Cut(fullName, "/")
	for i, in := range l.Installations {
		if in.Repos == nil && strings.EqualFold(in.Account.Login, owner) {
			return &l.Installations[i]
		}
		for _, r := range in.Repos {
			if strings.EqualFold(r, fullName) {
				return &l.Installations[i]
			}
		}
	}
	return nil
}

// installHint says where to install the app: its page when an
// installation or the configuration names it, else only that it must be
// installed.
func installHint(l *reach.Listing, web, appInstall string) string {
	if slug := l.AppSlug(); slug != "" {
		return "install it: " + githubapi.InstallURL(web, slug)
	}
	if appInstall != "" {
		return "install it: " + appInstall
	}
	return "install the app on it"
}

// githubError words an answer that leaves the check undecided.
func githubError(o origin.Origin, err error) error {
	var se *githubapi.StatusError
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		return fmt.Errorf("%s refused the token (HTTP 401: expired, revoked, or not a token for this server); sign in again or pass a current token", o.HostPort())
	}
	return err
}
