// Package standin holds what the commands githubtest and gitlabtest,
// which run a stand-in until they are killed, share: the command line,
// the person approving codes, and serving until a signal.
package standin

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
)

// List is a repeatable flag.
type List []string

func (l *List) String() string     { return strings.Join(*l, ",") }
func (l *List) Set(v string) error { *l = append(*l, v); return nil }

// Forge is what the flags both commands take say about a forge.
type Forge struct {
	ClientID      string        // the default -client-id
	ClientIDIs    string        // what the client ID is, e.g. "the app's client ID"
	User          string        // the default -user
	UserIs        string        // who the user is, e.g. "the GitHub user who signs in"
	DevicePage    string        // the path of the page where a person approves a code
	TokenLifetime time.Duration // the default -token-lifetime
}

// Flags are the flags both commands take.
type Flags struct {
	Addr, ClientID, User string
	ApproveAfter         time.Duration
	Interval             int
	TokenLifetime        time.Duration
}

// Define defines the flags both commands take, to be read once Parse has
// run.
func Define(f Forge) *Flags {
	var v Flags
	flag.StringVar(&v.Addr, "addr", "127.0.0.1:0", "address to listen on")
	flag.StringVar(&v.ClientID, "client-id", f.ClientID, f.ClientIDIs)
	flag.StringVar(&v.User, "user", f.User, f.UserIs)
	flag.DurationVar(&v.ApproveAfter, "approve-after", 0, "authorize each device code as -user this long after it is issued (0: a person uses the "+f.DevicePage+" page)")
	flag.IntVar(&v.Interval, "interval", 5, "polling interval in seconds sent with each device code")
	flag.DurationVar(&v.TokenLifetime, "token-lifetime", f.TokenLifetime, "lifetime of access tokens")
	return &v
}

// Parse parses the command line, which takes no arguments besides flags;
// cmd starts the error about one.
func Parse(cmd string) {
	flag.Parse()
	if flag.NArg() > 0 {
		Fail(fmt.Errorf("%s: unexpected argument %q (see -h)", cmd, flag.Arg(0)))
	}
}

// Server is what the person acts on.
type Server interface {
	OnDeviceCode(f func(userCode string))
	PendingCodes() []string
	Approve(userCode, name string) error
}

// ApproveAfter plays a person who authorizes each device code as name
// after d, and tells on standard error what they do: does, given the
// code, says where ("opens .../login/device, types CODE, ...").
func ApproveAfter(s Server, d time.Duration, name string, does func(code string) string) {
	s.OnDeviceCode(func(code string) {
		time.AfterFunc(d, func() {
			if !slices.Contains(s.PendingCodes(), code) {
				return // already used, denied or expired: nothing for the person to do
			}
			fmt.Fprintf(os.Stderr, "[person] %s\n", does(code))
			if err := s.Approve(code, name); err != nil {
				fmt.Fprintf(os.Stderr, "[person] ...but it did not work: %v\n", err)
			}
		})
	})
}

// Serve prints url as the first line on standard output and banner on
// standard error, then waits for Ctrl-C or SIGTERM.
func Serve(url, banner string) {
	fmt.Println(url)
	fmt.Fprintln(os.Stderr, banner)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// Fail prints err on standard error and exits 1.
func Fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
