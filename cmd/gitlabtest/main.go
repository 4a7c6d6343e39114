// Command gitlabtest serves the GitLab stand-in of package gitlabtest
// until it is killed: its URL (base path included) is the first line on
// standard output, its log goes to standard error.
//
//	gitlabtest [-addr 127.0.0.1:0] [-base-path /gitlab] [-client-id ID] [-user alice]
//	           [-project group/sub/project]... [-deny-project group/private-notes]...
//	           [-approve-after 3s] [-interval 5] [-token-lifetime 2h] [-confidential]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/cmd/internal/standin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
)

func main() {
	var projects, denyProjects standin.List
	f := standin.Define(standin.Forge{
		ClientID:      gitlabtest.DefaultClientID,
		ClientIDIs:    "the OAuth application's ID",
		User:          "alice",
		UserIs:        "the GitLab user who signs in",
		DevicePage:    "/oauth/device",
		TokenLifetime: 2 * time.Hour,
	})
	basePath := flag.String("base-path", "", "path every endpoint hangs below, as on a self-managed GitLab (e.g. /gitlab)")
	flag.Var(&projects, "project", "GROUP/.../NAME: a private project where -user is a Developer (repeatable)")
	flag.Var(&denyProjects, "deny-project", "GROUP/.../NAME: a private project -user cannot see (repeatable)")
	confidential := flag.Bool("confidential", false, "the application is confidential, so the device grant is refused with invalid_client")
	standin.Parse("gitlabtest")

	s, err := gitlabtest.Start(gitlabtest.Options{
		Addr:          f.Addr,
		BasePath:      *basePath,
		ClientID:      f.ClientID,
		Confidential:  *confidential,
		Interval:      f.Interval,
		TokenLifetime: f.TokenLifetime,
		Log:           os.Stderr,
	})
	if err != nil {
		standin.Fail(err)
	}
	defer s.Close()
	s.AddUser(f.User)
	for _, p := range append(append([]string(nil), projects...), denyProjects...) {
		if err := s.AddProject(p, gitlabtest.Private); err != nil {
			s.Close()
			standin.Fail(err)
		}
	}
	for _, p := range projects {
		if err := s.AddMember(p, f.User, gitlabtest.Developer); err != nil {
			s.Close()
			standin.Fail(err)
		}
	}

	if f.ApproveAfter > 0 {
		standin.ApproveAfter(s, f.ApproveAfter, f.User, func(code string) string {
			return fmt.Sprintf("opens %s/oauth/device, types %s, and authorizes it as %s", s.URL, code, f.User)
		})
	}
	standin.Serve(s.URL, fmt.Sprintf("[gitlab] serving %s: application ID %s; stop with Ctrl-C", s.URL, s.ClientID()))
}
