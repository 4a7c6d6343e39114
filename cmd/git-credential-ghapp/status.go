package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/helper"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/helperchain"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

// statusCommand is `git-credential-ghapp status`: who is signed in where,
// until when, and which repositories the token can reach.
func statusCommand(h *helper.Helper) *cli.Command {
	return &cli.Command{
		Name:      "status",
		UsageText: "git-credential-ghapp status [--host URL] [--json]",
		Usage:     "show who is signed in, until when, and which repositories the GitHub App lets git reach",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "only the GitHub server `URL` (or a bare host for https://HOST); default: every server signed in to"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON document (fields in docs/status.md)"},
		},
		Action: func(c *cli.Context) error {
			var host *origin.Origin
			if c.IsSet("host") {
				o, err := h.Host(c.String("host"))
				if err != nil {
					return fmt.Errorf("--host %q: %v", c.String("host"), err)
				}
				host = &o
			}
			st, name, err := h.OpenStore(host)
			if err != nil {
				return err
			}
			r, err := status.Gather(c.Context, st, name, h.HTTP, host, time.Now())
			if err != nil {
				return err
			}
			others, err := r.FindOtherHelpers(c.Context, "", host)
			if err != nil {
				fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: cannot list the other credential helpers git calls: %v\n", err)
			}
			if c.Bool("json") {
				enc := json.NewEncoder(h.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			r.WriteText(h.Stdout, host, time.Now())
			helperchain.Warn(h.Stderr, others)
			return nil
		},
	}
}
