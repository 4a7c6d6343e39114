package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/helper"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/web"
)

// webCommand is `git-credential-ghapp web`: the sign-in page.
func webCommand(h *helper.Helper) *cli.Command {
	return &cli.Command{
		Name:      "web",
		UsageText: "git-credential-ghapp web [--listen unix:PATH | 127.0.0.1:PORT]",
		Usage:     "serve the sign-in page: accounts, codes waiting to be entered, sign in and out (see docs/web.md)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "where to serve: unix:`PATH` (a socket only you may use, for jupyter-server-proxy) or 127.0.0.1:PORT or [::1]:PORT (0 picks a free port; the address to open, with its secret, is printed)"},
		},
		Action: func(c *cli.Context) error {
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return web.Serve(ctx, c.String("listen"), page{helper.Page{H: h}}, h.Stdout)
		},
	}
}

// page tells the web package which of the helper's errors are the
// request's fault.
type page struct{ helper.Page }

func (p page) Login(ctx context.Context, host string) (status.Pending, error) {
	pending, err := p.Page.Login(ctx, host)
	if errors.Is(err, helper.ErrUnserved) {
		err = web.BadRequest(err)
	}
	return pending, err
}
