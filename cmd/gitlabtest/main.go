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
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	basePath := flag.String("base-path", "", "path every endpoint hangs below, as on a self-managed GitLab (e.g. /gitlab)")
	clientID := flag.String("client-id", gitlabtest.DefaultClientID, "the OAuth application's ID")
	user := flag.String("user", "alice", "the GitLab user who signs in")
	flag.Var(&projects, "project", "GROUP/.../NAME: a private project where -user is a Developer (repeatable)")
	flag.Var(&denyProjects, "deny-project", "GROUP/.../NAME: a private project -user cannot see (repeatable)")
	approveAfter := flag.Duration("approve-after", 0, "authorize each device code as -user this long after it is issued (0: a person uses the /oauth/device page)")
	interval := flag.Int("interval", 5, "polling interval in seconds sent with each device code")
	tokenLifetime := flag.Duration("token-lifetime", 2*time.Hour, "lifetime of access tokens")
	confidential := flag.Bool("confidential", false, "the application is confidential, so the device grant is refused with invalid_client")
	standin.Parse("gitlabtest")

	s, err := gitlabtest.Start(gitlabtest.Options{
		Addr:          *addr,
		BasePath:      *basePath,
		ClientID:      *clientID,
		Confidential:  *confidential,
		Interval:      *interval,
		TokenLifetime: *tokenLifetime,
		Log:           os.Stderr,
	})
	if err != nil {
		standin.Fail(err)
	}
	defer s.Close()
	s.AddUser(*user)
	for _, p := range append(append([]string(nil), projects...), denyProjects...) {
		if err := s.AddProject(p, gitlabtest.Private); err != nil {
			s.Close()
			standin.Fail(err)
		}
	}
	for _, p := range projects {
		if err := s.AddMember(p, *user, gitlabtest.Developer); err != nil {
			s.Close()
			standin.Fail(err)
		}
	}

	if *approveAfter > 0 {
		standin.ApproveAfter(s, *approveAfter, *user, func(code string) string {
			return fmt.Sprintf("opens %s/oauth/device, types %s, and authorizes it as %s", s.URL, code, *user)
		})
	}
	standin.Serve(s.URL, fmt.Sprintf("[gitlab] serving %s: application ID %s; stop with Ctrl-C", s.URL, s.ClientID()))
}
