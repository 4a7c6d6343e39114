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
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/internal/blob"
)

const (
	service   = "git-credential-ghapp"
	indexUser = "index" // cannot clash with an origin, which has a scheme

	// callWait bounds one keychain call; it may have to wait for the user
	// to unlock the keychain.
	callWait = 30 * time.Second
)

// ErrNoSecretService is returned by Open on Linux and BSD when no Secret
// Service can be reached.
var ErrNoSecretService = errors.New("no Secret Service answers on this machine (the keyring store needs one); use ghapp.store=memory")

// Store keeps tokens in a keychain and its locks in files.
type Store struct {
	*blob.Store
	kr secrets
}

var _ store.Store = (*Store)(nil)

// secrets is the part of a keychain the store uses; Get and Delete return
// gokeyring.ErrNotFound for a missing item.
type secrets interface {
	Get(user string) (string, error)
	Set(user, secret string) error
	Delete(user string) error
}

func newStore(kr secrets, lockDir string) *Store {
	return &Store{Store: blob.New(keychain{kr}, blob.Options{
		LockDir:   lockDir,
		Prepare:   prepareLockDir,
		WriteLock: "keyring.lock",
		// A writer holds the lock for a few keychain calls, each of which
		// may wait for the user to unlock the keychain.
		WriteWait: 2 * time.Minute,
		WritePoll: 5 * time.Millisecond,
		Name:      "the keyring store",
	}), kr: kr}
}

// Open returns the store in the OS keychain. Where a Secret Service is
// needed, it checks first that one answers, and fails fast if not.
func Open() (*Store, error) {
	if openOverride != nil {
		return openOverride()
	}
	s := newStore(system{}, defaultLockDir())
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
	return newStore(&mock{items: map[string]string{}}, lockDir)
}

// keychain is the store's keychain as a blob.Medium: an item per origin, whose user
// is the origin, and the index of origins, since keychains cannot be
// listed portably. The index gains an origin before its item and loses it
// after, so it never misses an item that exists.
type keychain struct{ kr secrets }

func (keychain) Key(origin string) string { return origin }

func (it keychain) Read(origin string) ([]byte, error) {
	v, err := it.kr.Get(origin)
	if errors.Is(err, gokeyring.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	return []byte(v), err
}

func (it keychain) Write(origin string, data []byte) error {
	if err := it.setIndex(origin, true); err != nil {
		return err
	}
	if err := it.kr.Set(origin, string(data)); errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return fmt.Errorf("the accounts kept for %s are too many for one keychain item; forget some, or use ghapp.store=memory", origin)
	} else if err != nil {
		return err
	}
	return nil
}

func (it keychain) Remove(origin string) error {
	if err := it.kr.Delete(origin); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
		return err
	}
	return it.setIndex(origin, false)
}

// Keys returns the origins in the index.
func (it keychain) Keys() ([]string, error) {
	v, err := it.kr.Get(indexUser)
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
func (it keychain) setIndex(origin string, present bool) error {
	origins, err := it.Keys()
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
		if err := it.kr.Delete(indexUser); err != nil && !errors.Is(err, gokeyring.ErrNotFound) {
			return err
		}
		return nil
	}
	data, err := json.Marshal(origins)
	if err != nil {
		return err
	}
	return it.kr.Set(indexUser, string(data))
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
