package main

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/helper"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/helperchain"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/setup"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/auto"
)

// setupCommand is `git-credential-ghapp setup`: it writes (or, with
// --undo, takes back) the git configuration that makes this helper the
// only one git asks for one GitHub server.
func setupCommand(h *helper.Helper, clientIDFlag *string) *cli.Command {
	return &cli.Command{
		Name:      "setup",
		Usage:     "make git use this helper for a GitHub server (--undo takes it back)",
		UsageText: "git-credential-ghapp setup [--global | --system | --file FILE] [--host URL] [--client-id ID] [--store NAME] [--undo]",
		Description: "Writes, for the server URL U:\n" +
			"  credential.U.helper = \"\" then ghapp (so no other helper answers for U)\n" +
			"  credential.U.useHttpPath = true\n" +
			"  ghapp.U.clientId = ID (with --client-id)\n" +
			"  ghapp.U.appUrl = URL (with --app-url)\n" +
			"  ghapp.U.provider = gitlab (with --provider gitlab)\n" +
			"For a GitLab below a path, give that path in --host (https://example.org/gitlab).\n" +
			"Running it again changes nothing. Use --system in a container image's build.\n" +
			"It names the file it wrote, and warns of other helpers git would also give tokens to.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "global", Usage: "change your own git config, ~/.gitconfig (the default)"},
			&cli.BoolFlag{Name: "system", Usage: "change the system git config, e.g. /etc/gitconfig (needs root; what an image build runs)"},
			&cli.StringFlag{Name: "file", Usage: "change the git config file `FILE`"},
			&cli.StringFlag{Name: "host", Value: "https://github.com", Usage: "the GitHub or GitLab server `URL` (with the path of a GitLab below one), or a bare host for https://HOST"},
			&cli.StringFlag{Name: "client-id", Usage: "the GitHub App's client `ID`, written as ghapp.U.clientId"},
			&cli.StringFlag{Name: "app-url", Usage: "the GitHub App's page `URL` (https://github.com/apps/NAME), written as ghapp.U.appUrl"},
			&cli.StringFlag{Name: "store", Usage: "have git run the helper with --store `NAME`"},
			&cli.StringFlag{Name: "provider", Usage: "`NAME` is github (the default) or gitlab, written as ghapp.U.provider"},
			&cli.BoolFlag{Name: "undo", Usage: "remove what setup writes, and nothing else (and put back what --remove-other-helpers removed)"},
			&cli.BoolFlag{Name: "remove-other-helpers", Usage: "also remove, from the file setup writes, the other credential helpers that would keep the tokens (--undo puts them back)"},
		},
		Action: func(c *cli.Context) error {
			scopes := 0
			for _, f := range []string{"global", "system", "file"} {
				if c.IsSet(f) {
					scopes++
				}
			}
			if scopes > 1 {
				return fmt.Errorf("setup takes only one of --global, --system and --file")
			}
			if c.IsSet("file") && c.String("file") == "" {
				return fmt.Errorf("--file needs the path of a git config file")
			}
			// A name the helper does not know would make every git command fail.
			if s := c.String("store"); s != "" && !auto.Known(s) {
				return fmt.Errorf("unknown store %q: use %s", s, auto.NameList())
			}
			// A path is kept: a GitLab may live below one.
			o, err := origin.ParseBase(c.String("host"))
			if err != nil {
				return fmt.Errorf("--host %q: %v", c.String("host"), err)
			}
			opts := setup.Options{
				Scope:              setup.Scope{System: c.Bool("system"), File: c.String("file")},
				Origin:             o,
				ClientID:           firstSet(c.String("client-id"), *clientIDFlag),
				Store:              c.String("store"),
				AppURL:             c.String("app-url"),
				Provider:           strings.ToLower(c.String("provider")),
				RemoveOtherHelpers: c.Bool("remove-other-helpers"),
			}
			where := "in " + opts.Scope.String()

			if c.Bool("undo") {
				r, err := setup.Undo(c.Context, opts)
				printChanges(h, r)
				if err == nil && len(r.Changes) == 0 {
					fmt.Fprintf(h.Stdout, "nothing to undo for %s %s\n", o, where)
				}
				return err
			}
			r, err := setup.Apply(c.Context, opts)
			printChanges(h, r)
			if err != nil {
				return err
			}
			if len(r.Changes) == 0 {
				fmt.Fprintf(h.Stdout, "already set up for %s %s\n", o, where)
			}
			fmt.Fprintln(h.Stdout, r.FileLine())
			helperchain.Warn(h.Stderr, r.Others)
			if opts.Scope.System {
				setup.NoteOtherGits(c.Context, h.Stderr, opts, r.File)
			}
			for _, n := range r.Notes {
				fmt.Fprintf(h.Stderr, "note: %s\n", n)
			}
			if r.NeedClientID {
				fmt.Fprintf(h.Stderr, "note: %s needs your GitHub App's client ID before the helper can sign in: run setup again with --client-id ID, or set $GHAPP_CLIENT_ID\n", o.HostPort())
			}
			// git runs "ghapp" as `git credential-ghapp`, found on PATH.
			if _, err := exec.LookPath("git-credential-ghapp"); err != nil {
				fmt.Fprintln(h.Stderr, "note: git-credential-ghapp is not on PATH, where git looks for it: install it into a directory on PATH, such as /usr/local/bin")
			}
			return nil
		},
	}
}

func printChanges(h *helper.Helper, r setup.Result) {
	for _, c := range r.Changes {
		fmt.Fprintln(h.Stdout, c)
	}
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
