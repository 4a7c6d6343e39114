// Command git-credential-ghapp is a git credential helper that hands git
// short-lived GitHub App user access tokens obtained through the device flow.
package main

import (
	"context"
	"errors"
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
				AllowDisk: allowDisk,
				Notice:    func(msg string) { fmt.Fprintf(stderr, "git-credential-ghapp: %s\n", msg) },
			})
		},
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: helper.TraceHTTP(userAgent{}, stderr)},
	}
	h.Settings = func(url string) (config.Settings, error) {
		o, err := origin.ParseURL(url)
		return config.Load(url, clientIDFlag, err == nil && o.IsGitHub())
	}
	if len(args) == 2 && args[1] == "get" {
		// How git runs the helper on every command: answered without the
		// command-line library, whose flag handling costs more than the
		// cache hit itself. --store's variable is the one flag that applies.
		h.StoreFlag = os.Getenv("GHAPP_STORE")
		return get(h, stdin, stderr)
	}
	app := newApp(h, &clientIDFlag, stdin)
	app.Writer, app.ErrWriter = stdout, stderr
	var unknown string
	app.CommandNotFound = func(_ *cli.Context, name string) { unknown = name }
	if err := app.Run(args); err != nil {
		if !errors.Is(err, errSaid) {
			fmt.Fprintln(stderr, helper.ErrorLine(err))
		}
		return exitCode(err)
	}
	// git may grow operations, and a helper must ignore those it does not
	// know; a person at a terminal has mistyped a command.
	if unknown != "" && isTerminal(stdin) {
		fmt.Fprintln(stderr, helper.ErrorLine(fmt.Errorf("unknown command %q (see git-credential-ghapp --help)", unknown)))
		return 1
	}
	return 0
}

func newApp(h *helper.Helper, clientIDFlag *string, stdin io.Reader) *cli.App {
	hostFlag := &cli.StringFlag{Name: "host", Value: "https://github.com", Usage: "the GitHub or GitLab server: a `URL` (with the path of a GitLab below one), or a bare host for https://HOST"}
	app := &cli.App{
		Name:      "git-credential-ghapp",
		Usage:     "give git short-lived GitHub App tokens through the device flow",
		UsageText: "git-credential-ghapp [--client-id ID] [--store NAME] COMMAND [OPTIONS]",
		Version:   version,
		Description: "git runs this helper when configured with `git config --global credential.helper ghapp`.\n" +
			"It answers from its cache, or signs you in with a device code shown on your terminal.\n" +
			"Tokens last 8 hours and are kept only in memory or on tmpfs.",
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "client-id", Usage: "the GitHub App's client `ID` (else $GHAPP_CLIENT_ID, $GH_SCOPED_CREDS_CLIENT_ID, git config ghapp.clientId)", Destination: clientIDFlag},
			&cli.StringFlag{Name: "store", Usage: "keep tokens in the store `NAME`: " + auto.NameList() + " (else $GHAPP_STORE, git config ghapp.store; default auto)", EnvVars: []string{"GHAPP_STORE"}, Destination: &h.StoreFlag},
		},
		EnableBashCompletion: true,
		Commands: []*cli.Command{
			{
				Name:      "get",
				UsageText: "git-credential-ghapp get < REQUEST",
				Usage:     "git's request for a credential (read from stdin)",
				Action: func(c *cli.Context) error {
					if get(h, stdin, c.App.ErrWriter) != 0 {
						return errSaid
					}
					return nil
				},
			},
			{
				Name:      "store",
				UsageText: "git-credential-ghapp store < REQUEST",
				Usage:     "git's report that a credential worked (ignored: only tokens this helper minted are kept)",
				Action: func(*cli.Context) error {
					_, err := io.Copy(io.Discard, io.LimitReader(stdin, 1<<20))
					return err
				},
			},
			{
				Name:      "erase",
				UsageText: "git-credential-ghapp erase < REQUEST",
				Usage:     "git's report that a credential was rejected (read from stdin)",
				Action: func(*cli.Context) error {
					req, err := credential.Read(stdin)
					if err != nil {
						return err
					}
					return h.Erase(req)
				},
			},
			{
				Name:      "login",
				Usage:     "sign in now with the device flow",
				UsageText: "git-credential-ghapp login [--host URL]",
				Flags:     []cli.Flag{hostFlag},
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
				Name:      "logout",
				Usage:     "forget tokens and revoke them",
				UsageText: "git-credential-ghapp logout [--host URL [--user LOGIN] | --all]",
				Flags:     []cli.Flag{hostFlag, &cli.StringFlag{Name: "user", Usage: "only the account `LOGIN` (default: every account on the host)"}, &cli.BoolFlag{Name: "all", Usage: "every host and account; also stops the token daemon"}},
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
					return memory.Serve("", memory.ServeOptions{IdleExit: c.Duration("idle-exit"), Refresh: h.Renew, Reach: h.Reach, SignIn: h.RunSignIn})
				},
			},
			setupCommand(h, clientIDFlag),
			statusCommand(h),
			webCommand(h),
			checkCommand(h, stdin),
		},
		// git may grow operations; a helper must ignore those it does not
		// know (run tells a person at a terminal).
		CommandNotFound: func(*cli.Context, string) {},
		OnUsageError:    usageError(""),
		ExitErrHandler:  func(*cli.Context, error) {},
	}
	for _, c := range app.Commands {
		// A command has no subcommands: completion offers no help, h.
		c.HideHelpCommand = true
		if c.OnUsageError == nil { // check sets its own: exit status 2
			c.OnUsageError = usageError(c.Name)
		}
		for _, f := range c.Flags {
			// "(default: false)" says nothing a switch does not.
			if b, ok := f.(*cli.BoolFlag); ok {
				b.DisableDefaultText = true
			}
		}
	}
	return app
}

// errSaid ends a command whose error is already on stderr.
var errSaid = errors.New("error already reported")

// get answers git's get from stdin; its error is one line on stderr.
func get(h *helper.Helper, stdin io.Reader, stderr io.Writer) int {
	req, err := credential.Read(stdin)
	if err == nil {
		err = h.Get(context.Background(), req)
	}
	if err != nil {
		fmt.Fprintln(stderr, helper.ErrorLine(err))
		return 1
	}
	return 0
}

// userAgent names the helper to GitHub, whose API requires a User-Agent.
type userAgent struct{}

func (userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "git-credential-ghapp/"+version)
	return http.DefaultTransport.RoundTrip(r)
}
