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
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// A reach is kept with its token, so it must fit every store: an OS
// keychain item is small and a daemon request is at most 64 KiB. Past
// these bounds only a partial list is kept, with a count of the rest.
const (
	maxEntries = 500
	maxBytes   = 16 << 10
)

// TTL is how long a fetched reach is fresh: the memory daemon asks again
// in the background once it is older.
const TTL = 5 * time.Minute

// Listing is what the server says a token reaches: the app's installations
// the token's user can see and, for those on selected repositories, which.
type Listing struct {
	Installations []Installation
	// Cut is set when the server listed more than the helper reads
	// (githubapi.MaxInstallations, githubapi.MaxRepositories).
	Cut bool
}

// Installation is one installation and, for "selected", its repositories.
type Installation struct {
	githubapi.Installation
	Repos []string // owner/name; nil for "all"
}

// List asks the server where the app lets c's token reach. On an error it
// returns what it learned before it, and an error that says which call
// failed.
func List(ctx context.Context, c *githubapi.Client) (*Listing, error) {
	insts, cut, err := c.Installations(ctx)
	if err != nil {
		return &Listing{}, fmt.Errorf("could not list the app's installations: %w", err)
	}
	l := &Listing{Cut: cut}
	for _, in := range insts {
		entry := Installation{Installation: in}
		if in.RepositorySelection != "all" {
			repos, cut, err := c.InstallationRepositories(ctx, in.ID)
			entry.Repos = []string{}
			for _, r := range repos {
				entry.Repos = append(entry.Repos, r.FullName)
			}
			l.Installations = append(l.Installations, entry)
			if err != nil {
				return l, fmt.Errorf("could not list the repositories of the installation on %s: %w", safetext.Line(in.Account.Login), err)
			}
			l.Cut = l.Cut || cut
			continue
		}
		l.Installations = append(l.Installations, entry)
	}
	return l, nil
}

// AppSlug is the app's name as its installations give it, or "".
func (l *Listing) AppSlug() string {
	for _, in := range l.Installations {
		if in.AppSlug != "" {
			return in.AppSlug
		}
	}
	return ""
}

// Reach is the compact form kept with a token: accounts with every
// repository, the selected repositories, trimmed to fit any store.
func (l *Listing) Reach(now time.Time) *store.Reach {
	cv := &store.Reach{Checked: now, AppSlug: l.AppSlug()}
	for _, in := range l.Installations {
		if in.Repos == nil {
			cv.Accounts = append(cv.Accounts, in.Account.Login)
		}
		cv.Repos = append(cv.Repos, in.Repos...)
	}
	slices.Sort(cv.Repos)
	trim(cv)
	if l.Cut && cv.Omitted == 0 {
		// The server had more than was read: an unlisted repository may
		// still be reachable, so Covers must not say it is not.
		cv.Omitted = 1
	}
	return cv
}

// Fetch asks the server where the app lets the token reach, in the form
// kept with the token.
func Fetch(ctx context.Context, c *githubapi.Client, now time.Time) (*store.Reach, error) {
	l, err := List(ctx, c)
	if err != nil {
		return nil, err
	}
	return l.Reach(now), nil
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
// "owner/name/info/refs"...), or "" when path does not name one the way
// GitHub spells names. The path comes from a remote or submodule URL,
// which anyone can write: a hint is given only for a real repository name.
func Repo(path string) string {
	parts := strings.SplitN(strings.Trim(path, "/"), "/", 3)
	if len(parts) < 2 {
		return ""
	}
	owner, name := parts[0], strings.TrimSuffix(parts[1], ".git")
	if !nameChars(owner, "-_", 100) || !nameChars(name, "-_.", 100) {
		return ""
	}
	return owner + "/" + name
}

// nameChars reports whether s is 1 to max ASCII letters, digits and the
// punctuation in extra.
func nameChars(s, extra string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return false
		}
	}
	return true
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

// InstallLink is where to grant the app more repositories: the page its
// installations name (cv.AppSlug), else appInstall (the link made from
// ghapp.appUrl, config.InstallURL), else "".
func InstallLink(cv *store.Reach, web, appInstall string) string {
	if cv == nil || cv.AppSlug == "" {
		return appInstall
	}
	return githubapi.InstallURL(web, cv.AppSlug)
}

// Summary says in one line where login can push, and where to grant more;
// appInstall is as for InstallLink. Names come from the server, so the
// line is made safe for a terminal.
func Summary(cv *store.Reach, login, web, appInstall string) string {
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
	switch link := InstallLink(cv, web, appInstall); {
	case link != "" && len(reach) == 0:
		s += "; install the app on your repositories at " + link
	case link != "":
		s += "; grant more at " + link
	default:
		s += "; install the app on your repositories from its page on " + web
	}
	return safetext.Line(s)
}

// Warning tells the person that repo is outside cv, for login;
// appInstall is as for InstallLink.
func Warning(cv *store.Reach, repo, login, web, appInstall string) string {
	s := fmt.Sprintf("%s is not among the repositories the GitHub App lets %s reach, so a push will be refused", repo, login)
	if link := InstallLink(cv, web, appInstall); link != "" {
		return safetext.Line(s + "; grant it at " + link)
	}
	return safetext.Line(s + "; install the app on it from the app's page on " + web)
}
