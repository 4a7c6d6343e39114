// Command gitlabtest serves the GitLab stand-in of package gitlabtest
// until it is killed: its URL (base path included) is the first line on
// standard output, its log goes to standard error.
//
//	gitlabtest [-addr 127.0.0.1:0] [-base-path /gitlab] [-client-id ID] [-user alice]
//	           [-project group/sub/project]... [-deny-project group/private-notes]...
//	           [-approve-after 3s] [-interval 5] [-token-lifetime 2h] [-confidential]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var projects, denyProjects listFlag
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
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("gitlabtest: unexpected argument %q (see -h)", flag.Arg(0)))
	}

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
		fail(err)
	}
	defer s.Close()
	s.AddUser(*user)
	for _, p := range append(append([]string(nil), projects...), denyProjects...) {
		if err := s.AddProject(p, gitlabtest.Private); err != nil {
			s.Close()
			fail(err)
		}
	}
	for _, p := range projects {
		if err := s.AddMember(p, *user, gitlabtest.Developer); err != nil {
			s.Close()
			fail(err)
		}
	}

	if *approveAfter > 0 {
		s.OnDeviceCode(func(code string) {
			time.AfterFunc(*approveAfter, func() {
				if !slices.Contains(s.PendingCodes(), code) {
					return // already used, denied or expired: nothing for the person to do
				}
				fmt.Fprintf(os.Stderr, "[person] opens %s/oauth/device, types %s, and authorizes it as %s\n", s.URL, code, *user)
				if err := s.Approve(code, *user); err != nil {
					fmt.Fprintf(os.Stderr, "[person] ...but it did not work: %v\n", err)
				}
			})
		})
	}

	fmt.Println(s.URL)
	fmt.Fprintf(os.Stderr, "[gitlab] serving %s: application ID %s; stop with Ctrl-C\n", s.URL, s.ClientID())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
