// Command githubtest serves the GitHub stand-in of package githubtest
// until it is killed: its URL is the first line on standard output, its
// log goes to standard error.
//
//	githubtest [-addr 127.0.0.1:0] [-client-id ID] [-user octocat]
//	           [-repo octocat/hello-world]... [-deny-repo octocat/private-notes]...
//	           [-approve-after 3s] [-interval 5] [-token-lifetime 8h]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/cmd/internal/standin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func main() {
	var repos, denyRepos standin.List
	f := standin.Define(standin.Forge{
		ClientID:      githubtest.DefaultClientID,
		ClientIDIs:    "the app's client ID",
		User:          "octocat",
		UserIs:        "the GitHub user who signs in",
		DevicePage:    "/login/device",
		TokenLifetime: 8 * time.Hour,
	})
	flag.Var(&repos, "repo", "OWNER/NAME: a repository the app is installed on for -user (repeatable)")
	flag.Var(&denyRepos, "deny-repo", "OWNER/NAME: a repository the app is not installed on (repeatable)")
	standin.Parse("githubtest")

	s, err := githubtest.Start(githubtest.Options{
		Addr:          f.Addr,
		ClientID:      f.ClientID,
		Interval:      f.Interval,
		TokenLifetime: f.TokenLifetime,
		Log:           os.Stderr,
	})
	if err != nil {
		standin.Fail(err)
	}
	defer s.Close()
	s.AddUser(f.User)

	// One installation per owner, with that owner's -repo repositories selected.
	byOwner := map[string][]string{}
	var owners []string
	for _, r := range append(append([]string(nil), repos...), denyRepos...) {
		if err := s.AddRepo(r); err != nil {
			s.Close()
			standin.Fail(err)
		}
	}
	for _, r := range repos {
		owner, _, _ := strings.Cut(r, "/")
		if byOwner[owner] == nil {
			owners = append(owners, owner)
		}
		byOwner[owner] = append(byOwner[owner], r)
	}
	for _, owner := range owners {
		s.Install(f.User, owner, byOwner[owner]...)
	}

	if f.ApproveAfter > 0 {
		standin.ApproveAfter(s, f.ApproveAfter, f.User, func(code string) string {
			return fmt.Sprintf("opens %s/login/device, types %s, and authorizes %s as %s", s.URL, code, s.AppSlug(), f.User)
		})
	}
	standin.Serve(s.URL, fmt.Sprintf("[github] serving %s: app %s, client ID %s; stop with Ctrl-C", s.URL, s.AppSlug(), s.ClientID()))
}
