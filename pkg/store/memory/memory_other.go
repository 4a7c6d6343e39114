//go:build !(linux || darwin)

package memory

import (
	"context"
	"errors"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

var errUnsupported = unavailable(errors.New("the memory store needs Unix sockets with peer credentials (Linux or macOS); choose another store"))

// oNoFollow is for openLockFile, which nothing calls here.
const oNoFollow = 0

// Options configure the client; see the Unix version.
type Options struct {
	Daemon []string
	Notice func(msg string)
}

// ServeOptions tune the daemon; see the Unix version.
type ServeOptions struct {
	IdleExit time.Duration
	Refresh  func(ctx context.Context, t store.Token) (store.Token, error)
	Reach    func(ctx context.Context, t store.Token) (*store.Reach, error)
	ReachTTL time.Duration
	SignIn   func(ctx context.Context, req store.SignInRequest, show func(store.SignIn)) (store.Token, error)
}

// Store is unavailable on this platform.
type Store struct{}

var (
	_ store.Store   = (*Store)(nil)
	_ store.SignIns = (*Store)(nil)
)

// Open always fails on this platform.
func Open(dir string, opts Options) (*Store, error) { return nil, errUnsupported }

// Serve always fails on this platform.
func Serve(dir string, opts ServeOptions) error { return errUnsupported }

func (*Store) Get(origin, login string) (store.Token, error) { return store.Token{}, errUnsupported }
func (*Store) Put(store.Token) error                         { return errUnsupported }
func (*Store) Delete(origin, login string) error             { return errUnsupported }
func (*Store) List() ([]store.Token, error)                  { return nil, errUnsupported }
func (*Store) Stop() error                                   { return nil }
func (*Store) KeepsRefreshTokens() bool                      { return false }
func (*Store) BackgroundSignIns() bool                       { return false }
func (*Store) Lock(context.Context, string, string) (func(), error) {
	return nil, errUnsupported
}
func (*Store) StartSignIn(context.Context, store.SignInRequest) (store.SignIn, error) {
	return store.SignIn{}, errUnsupported
}
func (*Store) WaitSignIn(context.Context, string, string) (store.Token, error) {
	return store.Token{}, errUnsupported
}
func (*Store) PendingSignIns() ([]store.SignIn, error) { return nil, nil }
