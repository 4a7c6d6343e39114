package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/access"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/helper"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Exit statuses of check.
const (
	checkDenied    = 1
	checkUndecided = 2
)

// maxStdinToken bounds what --token-stdin reads.
const maxStdinToken = 16 << 10

// checkCommand is `git-credential-ghapp check`: may this account read or
// push the repository at URL? For hub hooks (docs/access-checks.md).
func checkCommand(h *helper.Helper, stdin io.Reader) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "say whether the signed-in account may read or push the repository at URL (see docs/access-checks.md)",
		UsageText: "git-credential-ghapp check [--need read | push] [--json] [--token-stdin] [--timeout DURATION] URL",
		Description: "Asks the server, with the token kept for URL's server (or one read from standard input).\n" +
			"Exit status 0: allowed; 1: not allowed, with one line on standard output saying why;\n" +
			"2: cannot tell (network, timeout, server error, refused token, missing scope), with one line on standard error.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "need", Value: "read", Usage: "what to check: `NEED` is read or push"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object (allowed, need, host, repository, login, access, reason), whatever the answer"},
			&cli.BoolFlag{Name: "token-stdin", Usage: "use the token on the first line of standard input instead of the one kept for URL's server"},
			&cli.DurationFlag{Name: "timeout", Value: 20 * time.Second, Usage: "give up, with exit status 2, after `DURATION`"},
		},
		OnUsageError: func(c *cli.Context, err error, sub bool) error {
			return &exitStatus{code: checkUndecided, err: usageError("check")(c, err, sub)}
		},
		Action: func(c *cli.Context) error {
			res := access.Result{Need: access.Read, Access: "unknown"}
			undecided := func(err error) error {
				if c.Bool("json") {
					res.Allowed, res.Access, res.Reason = false, "unknown", strings.TrimPrefix(helper.ErrorLine(err), "git-credential-ghapp: ")
					writeJSON(h.Stdout, res)
				}
				return &exitStatus{code: checkUndecided, err: err}
			}
			if c.NArg() != 1 {
				return undecided(errors.New("check takes one repository URL, such as https://github.com/OWNER/NAME"))
			}
			need, err := access.ParseNeed(c.String("need"))
			if err != nil {
				return undecided(err)
			}
			res.Need = need
			ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
			defer cancel()

			// The settings for the URL name the server it is below (a
			// GitLab below a path), as get decides it.
			var s config.Settings
			target, err := access.ParseURL(c.Args().First(), func(url string) (string, error) {
				s, err = h.Settings(url)
				return s.Base, err
			})
			if err != nil {
				return undecided(err)
			}
			res.Host, res.Repository = target.Origin.HostPort(), target.Repository
			var token string
			if c.Bool("token-stdin") {
				if token, err = readStdinToken(stdin); err != nil {
					return undecided(err)
				}
			} else {
				kept, err := keptToken(h, target, s)
				if err != nil {
					return undecided(err)
				}
				token, res.Login = kept.AccessToken, kept.Login
			}
			decided, err := access.Check(ctx, access.Request{
				Provider:   s.Provider,
				Server:     target.Server,
				Repository: target.Repository,
				Need:       need,
				Token:      token,
				HTTP:       h.HTTP,
				AppInstall: config.InstallURL(s.AppURL),
			})
			if err != nil {
				who := res.Login
				if who == "" {
					who = "the token"
				}
				return undecided(fmt.Errorf("cannot tell whether %s may %s %s: %w", who, need.Verb(), target.Repository, err))
			}
			if c.Bool("json") {
				writeJSON(h.Stdout, decided)
			} else {
				fmt.Fprintln(h.Stdout, decided.Line())
			}
			if !decided.Allowed {
				return &exitStatus{code: checkDenied, err: errSaid}
			}
			return nil
		},
	}
}

// keptToken is the helper's own token for target's server, chosen by the
// URL's user name as get chooses. check never starts a sign-in.
func keptToken(h *helper.Helper, target access.Target, s config.Settings) (store.Token, error) {
	login := target.Username
	if s.Provider == config.GitLab && login == "oauth2" {
		login = "" // GitLab's conventional user name for any token
	}
	// Tokens are kept under the server's base URL: a GitLab below a path
	// keeps them under that path.
	srv, err := origin.ParseBase(target.Server)
	if err != nil {
		srv = target.Origin
	}
	st, _, err := h.OpenStore(&srv)
	if err != nil {
		return store.Token{}, err
	}
	tok, err := st.Get(srv.String(), login)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Token{}, err
	}
	host := srv.Name()
	if !srv.IsGitHub() && !s.HostConfigured {
		return store.Token{}, fmt.Errorf("%s is not set up for this helper: set git config ghapp.%s.clientId, or pass a token with --token-stdin", host, target.Server)
	}
	if login != "" {
		host += " as " + login
	}
	hostFlag := ""
	if !srv.IsGitHub() {
		hostFlag = " --host " + target.Server
	}
	return store.Token{}, fmt.Errorf("not signed in to %s; sign in with git-credential-ghapp login%s", host, hostFlag)
}

// readStdinToken reads --token-stdin's one line. The token is never shown,
// not even in part.
func readStdinToken(stdin io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxStdinToken), maxStdinToken).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the token from standard input: %v", err)
	}
	if err == io.EOF && len(line) == maxStdinToken {
		return "", fmt.Errorf("standard input holds no line of at most %d KiB: --token-stdin reads one token", maxStdinToken>>10)
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return "", errors.New("no token on standard input: --token-stdin reads one line holding the token")
	}
	return token, nil
}

func writeJSON(w io.Writer, res access.Result) {
	json.NewEncoder(w).Encode(res)
}

// exitStatus is an error that ends the program with code, printing err
// as every error is printed (errSaid: nothing more to say): check's
// answers.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string { return e.err.Error() }

func (e *exitStatus) Unwrap() error { return e.err }

// exitCode is the status the program ends with after err: 1 unless err
// says otherwise.
func exitCode(err error) int {
	var es *exitStatus
	if errors.As(err, &es) {
		return es.code
	}
	return 1
}
