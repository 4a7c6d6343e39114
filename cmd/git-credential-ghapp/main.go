// Command git-credential-ghapp is a git credential helper that hands git
// short-lived GitHub App user access tokens obtained through the device flow.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/credential"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/helper"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/auto"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/memory"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var clientIDFlag string
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintln(stderr, helper.ErrorLine(fmt.Errorf("internal error: %v (please report it)", r)))
			code = 1
		}
	}()
	h := &helper.Helper{
		Stdout: stdout,
		Stderr: stderr,
		Stores: func(name string, allowDisk bool) (store.Store, error) {
			return auto.Open(name, auto.Options{
				Dir:       runtimedir.Path(),
				AllowDisk: allowDisk,
				Notice:    func(msg string) { fmt.Fprintf(stderr, "git-credential-ghapp: %s\n", msg) },
			})
		},
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: userAgent{}},
	}
	h.Settings = func(url string) (config.Settings, error) {
		o, err := origin.ParseURL(url)
		return config.Load(url, clientIDFlag, err == nil && o.IsGitHub())
	}
	app := newApp(h, &clientIDFlag, stdin)
	app.Writer, app.ErrWriter = stdout, stderr
	if err := app.Run(args); err != nil {
		fmt.Fprintln(stderr, helper.ErrorLine(err))
		return 1
	}
	return 0
}

func newApp(h *helper.Helper, clientIDFlag *string, stdin io.Reader) *cli.App {
	hostFlag := &cli.StringFlag{Name: "host", Value: "https://github.com", Usage: "the GitHub or GitLab server: a URL (with the path of a GitLab below one), or a bare host for https://HOST"}
	return &cli.App{
		Name:    "git-credential-ghapp",
		Usage:   "give git short-lived GitHub App tokens through the device flow",
		Version: version,
		Description: "git runs this helper when configured with `git config --global credential.helper ghapp`.\n" +
			"It answers from its cache, or signs you in with a device code shown on your terminal.\n" +
			"Tokens last 8 hours and are kept only in memory or on tmpfs.",
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "client-id", Usage: "the GitHub App's client ID (else $GHAPP_CLIENT_ID, $GH_SCOPED_CREDS_CLIENT_ID, git config ghapp.clientId)", Destination: clientIDFlag},
			&cli.StringFlag{Name: "store", Usage: "where tokens are kept: " + auto.NameList() + " (else $GHAPP_STORE, git config ghapp.store; default auto)", EnvVars: []string{"GHAPP_STORE"}, Destination: &h.StoreFlag},
		},
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			{
				Name:  "get",
				Usage: "git's request for a credential (read from stdin)",
				Action: func(c *cli.Context) error {
					req, err := credential.Read(stdin)
					if err != nil {
						return err
					}
					return h.Get(c.Context, req)
				},
			},
			{
				Name:  "store",
				Usage: "git's report that a credential worked (ignored: only tokens this helper minted are kept)",
				Action: func(*cli.Context) error {
					_, err := io.Copy(io.Discard, io.LimitReader(stdin, 1<<20))
					return err
				},
			},
			{
				Name:  "erase",
				Usage: "git's report that a credential was rejected (read from stdin)",
				Action: func(*cli.Context) error {
					req, err := credential.Read(stdin)
					if err != nil {
						return err
					}
					return h.Erase(req)
				},
			},
			{
				Name:  "login",
				Usage: "sign in now with the device flow",
				Flags: []cli.Flag{hostFlag},
				Action: func(c *cli.Context) error {
					o, err := h.Host(c.String("host"))
					if err != nil {
						return fmt.Errorf("--host %q: %v", c.String("host"), err)
					}
					ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
					defer stop()
					return h.Login(ctx, o)
				},
			},
			{
				Name:  "logout",
				Usage: "forget tokens and revoke them",
				Flags: []cli.Flag{hostFlag, &cli.StringFlag{Name: "user", Usage: "only this account (default: every account on the host)"}, &cli.BoolFlag{Name: "all", Usage: "every host and account; also stops the token daemon"}},
				Action: func(c *cli.Context) error {
					if c.Bool("all") {
						return h.Logout(c.Context, nil, "")
					}
					o, err := h.Host(c.String("host"))
					if err != nil {
						return fmt.Errorf("--host %q: %v", c.String("host"), err)
					}
					return h.Logout(c.Context, &o, c.String("user"))
				},
			},
			{
				Name:   "daemon",
				Usage:  "hold tokens in memory for the memory store (started on demand)",
				Hidden: true,
				Flags:  []cli.Flag{&cli.DurationFlag{Name: "idle-exit", Value: 30 * time.Second, Hidden: true}},
				Action: func(c *cli.Context) error {
					return memory.Serve(runtimedir.Path(), memory.ServeOptions{IdleExit: c.Duration("idle-exit"), Refresh: h.Renew, Reach: h.Reach, SignIn: h.RunSignIn})
				},
			},
			setupCommand(h, clientIDFlag),
			statusCommand(h),
			webCommand(h),
		},
		// git may grow operations; a helper must ignore those it does not know.
		CommandNotFound: func(*cli.Context, string) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%v (see git-credential-ghapp --help)", err)
		},
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// userAgent names the helper to GitHub, whose API requires a User-Agent.
type userAgent struct{}

func (userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "git-credential-ghapp/"+version)
	return http.DefaultTransport.RoundTrip(r)
}
