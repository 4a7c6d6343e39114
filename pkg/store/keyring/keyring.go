// Package keyring keeps tokens in the operating system's keychain (macOS
// Keychain, Windows Credential Manager, or a Secret Service such as GNOME
// Keyring on Linux and BSD): one item of service "git-credential-ghapp"
// per origin, whose user is the origin and whose secret is the JSON of its
// accounts, and an item with user "index" listing the origins, since
// keychains cannot be listed portably. The guarantee: tokens go nowhere but
// into the keychain (which may itself keep them on disk, encrypted), and no
// D-Bus daemon is ever started to reach one.
package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

const (
	service   = "git-credential-ghapp"
	indexUser = "index" // cannot clash with an origin, which has a scheme

	// callWait bounds one keychain call; it may have to wait for the user
	// to unlock the keychain.
	callWait = 30 * time.Second
	// writeWait bounds the wait for the store-wide lock, held by a writer
	// for a few keychain calls.
	writeWait  = 2 * time.Minute
	writePoll  = 5 * time.Millisecond
	signinPoll = 50 * time.Millisecond
)

// ErrNoSecretService is returned by Open on Linux and BSD when no Secret
// Service can be reached.
var ErrNoSecretService = errors.New("no Secret Service answers on this machine (the keyring store needs one); use ghapp.store=memory")

// Store keeps tokens in a keychain and its locks in files in lockDir.
type Store struct {
	kr      secrets
	lockDir string
}

var _ store.Store = (*Store)(nil)

// secrets is the part of a keychain the store uses; Get and Delete return
// gokeyring.ErrNotFound for a missing item.
type secrets interface {
	Get(user string) (string, error)
	Set(user, secret string) error
	Delete(user string) error
}

// Open returns the store in the OS keychain. Where a Secret Service is
// needed, it checks first that one answers, and fails fast if not.
func Open() (*Store, error) {
	if openOverride != nil {
		return openOverride()
	}
	s := &Store{kr: system{}, lockDir: defaultLockDir()}
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return s, nil
	}
	// Without an address godbus would run dbus-launch, which leaves a
	// dbus-daemon behind on every call; "autolaunch:" asks for just that.
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr == "" || addr == "autolaunch:" {
		return nil, ErrNoSecretService
	}
	if _, err := s.kr.Get(indexUser); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
		return nil, fmt.Errorf("%w [%v]", ErrNoSecretService, err)
	}
	return s, nil
}

// openOverride replaces the OS keychain in test builds (testkeychain.go).
var openOverride func() (*Store, error)

// OpenMock returns a store in a keychain of its own, kept in memory, for
// tests of code that uses the keyring store; its locks are files in
// lockDir, so processes sharing lockDir exclude each other.
func OpenMock(lockDir string) *Store {
	return &Store{kr: &mock{items: map[string]string{}}, lockDir: lockDir}
}

// Get returns the token for origin and login, or the newest on origin if
// login is empty.
func (s *Store) Get(origin, login string) (store.Token, error) {
	toks, err := s.read(origin)
	if err != nil {
		return store.Token{}, err
	}
	if live := store.Unexpired(toks, time.Now()); len(live) < len(toks) {
		if err := s.update(origin, func(ts []store.Token) []store.Token { return ts }); err != nil {
			return store.Token{}, err
		}
		toks = live
	}
	return store.Pick(toks, origin, login)
}

// Put keeps t, replacing the token for the same origin and login.
func (s *Store) Put(t store.Token) error {
	if t.Origin == "" || t.Login == "" {
		return errors.New("refusing to keep a token without an origin and a login")
	}
	// A refresh token outlives the session by months: never in a file or
	// a keychain, whatever the caller asks.
	t.RefreshToken, t.RefreshUntil = "", time.Time{}
	return s.update(t.Origin, func(ts []store.Token) []store.Token {
		return append(store.Drop(ts, t.Origin, t.Login), t)
	})
}

// Delete forgets the token for origin and login, or every token on origin
// if login is empty.
func (s *Store) Delete(origin, login string) error {
	return s.update(origin, func(ts []store.Token) []store.Token { return store.Drop(ts, origin, login) })
}

// List returns every unexpired token, newest first.
func (s *Store) List() ([]store.Token, error) {
	origins, err := s.index()
	if err != nil {
		return nil, err
	}
	var all []store.Token
	for _, o := range origins {
		toks, err := s.read(o)
		if err != nil {
			return nil, err
		}
		live := store.Unexpired(toks, time.Now())
		if len(live) < len(toks) {
			if err := s.update(o, func(ts []store.Token) []store.Token { return ts }); err != nil {
				return nil, err
			}
		}
		all = append(all, live...)
	}
	store.SortNewestFirst(all)
	return all, nil
}

// Lock holds an advisory lock on a file named after origin and login; the
// kernel releases it when the holder exits, however it exits.
func (s *Store) Lock(ctx context.Context, origin, login string) (func(), error) {
	return s.lockFile(ctx, "signin-"+hash(origin+"\n"+login)+".lock", signinPoll)
}

// read returns origin's tokens: none if the item is missing or does not
// parse (the next write replaces it).
func (s *Store) read(origin string) ([]store.Token, error) {
	v, err := s.kr.Get(origin)
	if errors.Is(err, gokeyring.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var toks []store.Token
	if json.Unmarshal([]byte(v), &toks) != nil {
		return nil, nil
	}
	return toks, nil
}

// update replaces origin's item with change applied to its unexpired
// tokens, under a store-wide lock so that concurrent writers don't lose
// each other's changes. The index gains an origin before its item and
// loses it after, so it never misses an item that exists.
func (s *Store) update(origin string, change func([]store.Token) []store.Token) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeWait)
	defer cancel()
	unlock, err := s.lockFile(ctx, "keyring.lock", writePoll)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the keyring store stayed locked for %v; another git-credential-ghapp seems stuck (end it and retry)", writeWait)
	}
	if err != nil {
		return err
	}
	defer unlock()

	toks, err := s.read(origin)
	if err != nil {
		return err
	}
	toks = change(store.Unexpired(toks, time.Now()))
	if len(toks) == 0 {
		if err := s.kr.Delete(origin); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return err
		}
		return s.setIndex(origin, false)
	}
	data, err := json.Marshal(toks)
	if err != nil {
		return err
	}
	if err := s.setIndex(origin, true); err != nil {
		return err
	}
	if err := s.kr.Set(origin, string(data)); errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return fmt.Errorf("the accounts kept for %s are too many for one keychain item; forget some, or use ghapp.store=memory", origin)
	} else if err != nil {
		return err
	}
	return nil
}

// index returns the origins that may have an item.
func (s *Store) index() ([]string, error) {
	v, err := s.kr.Get(indexUser)
	if errors.Is(err, gokeyring.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var origins []string
	if json.Unmarshal([]byte(v), &origins) != nil {
		return nil, nil // a garbled index loses List, not tokens; the next write rebuilds it
	}
	return origins, nil
}

// setIndex adds origin to the index or removes it; the caller holds the
// store-wide lock.
func (s *Store) setIndex(origin string, present bool) error {
	origins, err := s.index()
	if err != nil {
		return err
	}
	i := slices.Index(origins, origin)
	switch {
	case present == (i >= 0):
		return nil
	case present:
		origins = append(origins, origin)
	default:
		origins = slices.Delete(origins, i, i+1)
	}
	if len(origins) == 0 {
		if err := s.kr.Delete(indexUser); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return err
		}
		return nil
	}
	data, err := json.Marshal(origins)
	if err != nil {
		return err
	}
	return s.kr.Set(indexUser, string(data))
}

// lockFile takes an exclusive lock on the file name in s.lockDir, retrying
// every poll until ctx is done. Lock files are kept: removing one would
// race with the next locker.
func (s *Store) lockFile(ctx context.Context, name string, poll time.Duration) (func(), error) {
	if err := prepareLockDir(s.lockDir); err != nil {
		return nil, err
	}
	path := filepath.Join(s.lockDir, name)
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|noFollow), flock.SetPermissions(0o600))
	if _, err := l.TryLockContext(ctx, poll); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot lock %s: %v", path, err)
	}
	return func() { l.Unlock() }, nil
}

// system is the OS keychain through go-keyring, with every call bounded.
type system struct{}

func (system) Get(user string) (string, error) {
	var v string
	err := bounded(func() (err error) { v, err = gokeyring.Get(service, user); return })
	return v, err
}

func (system) Set(user, secret string) error {
	return bounded(func() error { return gokeyring.Set(service, user, secret) })
}

func (system) Delete(user string) error {
	return bounded(func() error { return gokeyring.Delete(service, user) })
}

// bounded runs call, giving up after callWait. The call itself cannot be
// cancelled; it is left to finish or to end with the process.
func bounded(call func() error) error {
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, gokeyring.ErrNotFound) || errors.Is(err, gokeyring.ErrSetDataTooBig) {
			return err
		}
		return fmt.Errorf("OS keychain: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	case <-time.After(callWait):
		return fmt.Errorf("the OS keychain did not answer within %v (is it waiting to be unlocked?)", callWait)
	}
}

// mock is a keychain kept in memory, for OpenMock.
type mock struct {
	mu    sync.Mutex
	items map[string]string
}

func (m *mock) Get(user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.items[user]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return v, nil
}

func (m *mock) Set(user, secret string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[user] = secret
	return nil
}

func (m *mock) Delete(user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[user]; !ok {
		return gokeyring.ErrNotFound
	}
	delete(m.items, user)
	return nil
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
