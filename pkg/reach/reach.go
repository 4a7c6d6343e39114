// Package reach knows which repositories a token can reach through the
// GitHub App's installations, and says so when it matters: a push to a
// repository the app is not installed on fails with a bare 403 otherwise.
package reach

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// A reach is kept with its token, so it must fit every store: an OS
// keychain item is small and a daemon request is at most 64 KiB. Past
// these bounds only a partial list is kept, with a count of the rest.
const (
	maxEntries = 500
	maxBytes   = 16 << 10
)

// TTL is how long a fetched coverage is trusted; within it a cache hit
// checks a repository without asking the server.
const TTL = 5 * time.Minute

// Fetch asks the server where the app lets the token reach.
func Fetch(ctx context.Context, c *githubapi.Client, now time.Time) (*store.Reach, error) {
	insts, _, err := c.Installations(ctx)
	if err != nil {
		return nil, err
	}
	cv := &store.Reach{Checked: now}
	for _, in := range insts {
		if cv.AppSlug == "" {
			cv.AppSlug = in.AppSlug
		}
		if in.RepositorySelection == "all" {
			cv.Accounts = append(cv.Accounts, in.Account.Login)
			continue
		}
		repos, _, err := c.InstallationRepositories(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range repos {
			cv.Repos = append(cv.Repos, r.FullName)
		}
	}
	slices.Sort(cv.Repos)
	trim(cv)
	return cv, nil
}

// trim cuts cv to what every store can hold, accounts first (each covers
// many repositories), and counts what it left out.
func trim(cv *store.Reach) {
	n, size := 0, 0
	keep := func(list []string) []string {
		for i, name := range list {
			if n == maxEntries || size+len(name) > maxBytes {
				cv.Omitted += len(list) - i
				return list[:i]
			}
			n, size = n+1, size+len(name)
		}
		return list
	}
	cv.Accounts = keep(cv.Accounts)
	cv.Repos = keep(cv.Repos)
}

// Fresh reports whether cv can be trusted at now.
func Fresh(cv *store.Reach, now time.Time) bool {
	return cv != nil && now.Sub(cv.Checked) < TTL && !cv.Checked.After(now)
}

// Repo names the repository in git's path attribute ("owner/name.git" or
// "owner/name/info/refs"...), or "" when path does not name one.
func Repo(path string) string {
	parts := strings.SplitN(strings.Trim(path, "/"), "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return ""
	}
	return parts[0] + "/" + strings.TrimSuffix(parts[1], ".git")
}

// Covers reports whether repo (owner/name) is within cv, or may be: a
// partial list cannot tell. GitHub names are case-insensitive.
func Covers(cv *store.Reach, repo string) bool {
	if cv.Partial() {
		return true
	}
	owner, _, _ := strings.Cut(repo, "/")
	for _, a := range cv.Accounts {
		if strings.EqualFold(a, owner) {
			return true
		}
	}
	for _, r := range cv.Repos {
		if strings.EqualFold(r, repo) {
			return true
		}
	}
	return false
}

// InstallLink is where to grant the app more repositories, or "" when the
// app's name is unknown (it is learned from an installation).
func InstallLink(cv *store.Reach, web string) string {
	if cv == nil || cv.AppSlug == "" {
		return ""
	}
	return githubapi.InstallURL(web, cv.AppSlug)
}

// Summary says in one line where login can push, and where to grant more.
func Summary(cv *store.Reach, login, web string) string {
	var reach []string
	for _, a := range cv.Accounts {
		reach = append(reach, "all of "+a+"/*")
	}
	reach = append(reach, cv.Repos...)
	var s string
	if len(reach) == 0 {
		s = fmt.Sprintf("%s cannot push anywhere yet: the GitHub App is not installed on any repository %s can reach", login, login)
	} else {
		more := cv.Omitted
		if len(reach) > 10 {
			reach, more = reach[:10], more+len(reach)-10
		}
		if more > 0 {
			reach = append(reach, fmt.Sprintf("and %d more", more))
		}
		s = fmt.Sprintf("%s can push to: %s", login, strings.Join(reach, ", "))
	}
	if link := InstallLink(cv, web); link != "" {
		s += "; grant more at " + link
	} else {
		s += "; install the app on your repositories from its page on " + web
	}
	return s
}

// Warning tells the person that repo is outside cv, for login.
func Warning(cv *store.Reach, repo, login, web string) string {
	s := fmt.Sprintf("%s is not among the repositories the GitHub App lets %s reach, so a push will be refused", repo, login)
	if link := InstallLink(cv, web); link != "" {
		return s + "; grant it at " + link
	}
	return s + "; install the app on it from the app's page on " + web
}
