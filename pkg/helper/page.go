package helper

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Page is what the sign-in page (git-credential-ghapp web) shows and does,
// answered by the same decisions as get, status, login and logout.
type Page struct {
	H *Helper
}

// ErrUnserved is a sign-in asked for a host the helper does not serve.
var ErrUnserved = errors.New("not set up for this helper")

// Status reports every account and every code waiting to be entered.
func (p Page) Status(ctx context.Context) (*status.Report, error) {
	st, name, err := p.H.OpenStore(nil)
	if err != nil {
		return nil, err
	}
	return status.Gather(ctx, st, name, p.H.HTTP, nil, p.H.now())
}

// Hosts lists the servers the helper signs in to.
func (p Page) Hosts(ctx context.Context) ([]string, error) {
	return config.ServedHosts(ctx)
}

// Login starts a background sign-in for host, or joins the one under way.
// Only a store that runs sign-ins itself (the memory daemon) can: the page
// cannot wait for a person on a request.
func (p Page) Login(ctx context.Context, host string) (status.Pending, error) {
	o, err := p.H.Host(host)
	if err != nil || !o.SecureEnough() {
		return status.Pending{}, fmt.Errorf("%w: %q is not a server to sign in to", ErrUnserved, host)
	}
	s, err := p.H.Settings(o.String())
	if err != nil {
		return status.Pending{}, err
	}
	if !served(o, s) {
		return status.Pending{}, fmt.Errorf("%s is %w: set git config ghapp.%s.clientId to its app's client ID", o.Name(), ErrUnserved, o)
	}
	if s.ClientID == "" {
		return status.Pending{}, fmt.Errorf("%w: %v", ErrUnserved, noClientID(o, s))
	}
	st, err := p.H.open(&s)
	if err != nil {
		return status.Pending{}, err
	}
	bg, ok := st.Store.(store.SignIns)
	if able, has := st.Store.(interface{ BackgroundSignIns() bool }); !ok || has && !able.BackgroundSignIns() {
		return status.Pending{}, fmt.Errorf("signing in from the page needs the memory store, which keeps the sign-in going in the background (this machine uses %s)", st.name)
	}
	req := signInRequest(o, s, "")
	req.EvenIfSignedIn = true // the person asked for a sign-in
	c, err := bg.StartSignIn(ctx, req)
	if err != nil {
		return status.Pending{}, err
	}
	return status.PendingOf(c), nil
}

// Logout signs out of login on host (every account there when login is
// ""), revoking the tokens, as the logout command does.
func (p Page) Logout(ctx context.Context, host, login string) error {
	o, err := p.H.Host(host)
	if err != nil {
		return fmt.Errorf("%q is not a server URL: %v", host, err)
	}
	quiet := *p.H
	quiet.Stdout = io.Discard // the page shows the result; stdout holds only its address
	return quiet.Logout(ctx, &o, login)
}
