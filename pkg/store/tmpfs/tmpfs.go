// Package tmpfs keeps tokens in files in the runtime directory, one JSON
// file of accounts per origin so that a cache hit costs one open and one
// read. The guarantee: tokens are only read from and written to regular
// files of mode 0600 owned by the user, in a 0700 directory the user owns
// on a memory file system (tmpfs or ramfs, unless the user allows disk);
// files are replaced atomically and never opened through a symlink.
package tmpfs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofrs/flock"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

const (
	// writeWait bounds the wait for the store-wide lock, which writers hold
	// only for a read and a rename.
	writeWait = 10 * time.Second
	writePoll = 2 * time.Millisecond
	// signinPoll is how often Lock retries: sign-ins take seconds to minutes.
	signinPoll = 50 * time.Millisecond
)

// Store keeps tokens in files in one directory.
type Store struct {
	dir string
}

var _ store.Store = (*Store)(nil)

// Open returns the store in dir, creating dir if needed. It refuses a dir
// that is not safe for secrets (see runtimedir.Check) or, unless allowDisk,
// one that is not on a memory file system.
func Open(dir string, allowDisk bool) (*Store, error) {
	if !supported {
		return nil, errors.New("the tmpfs token store is not supported on Windows; use ghapp.store=keyring")
	}
	// Check before Ensure: on the hit path the directory exists, and this
	// saves a mkdir.
	if runtimedir.Check(dir) != nil {
		if err := runtimedir.Ensure(dir); err != nil {
			return nil, err
		}
	}
	if !allowDisk {
		mem, err := runtimedir.OnMemoryFS(dir)
		if err != nil {
			return nil, fmt.Errorf("cannot tell which file system holds %s: %v (set GHAPP_RUNTIME_DIR to a tmpfs directory)", dir, err)
		}
		if !mem {
			return nil, fmt.Errorf("%s is not on a memory file system (tmpfs), so tokens would reach the disk; set GHAPP_RUNTIME_DIR to a tmpfs directory, or ghapp.allowDiskStore=true to accept that", dir)
		}
	}
	return &Store{dir: dir}, nil
}

// Get returns the token for origin and login, or the newest on origin if
// login is empty.
func (s *Store) Get(origin, login string) (store.Token, error) {
	path := s.tokenFile(origin)
	toks, err := read(path)
	if err != nil {
		return store.Token{}, err
	}
	now := time.Now()
	if live := store.Unexpired(toks, now); len(live) < len(toks) {
		if err := s.update(path, func(ts []store.Token) []store.Token { return ts }); err != nil {
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
	return s.update(s.tokenFile(t.Origin), func(ts []store.Token) []store.Token {
		return append(store.Drop(ts, t.Origin, t.Login), t)
	})
}

// Delete forgets the token for origin and login, or every token on origin
// if login is empty.
func (s *Store) Delete(origin, login string) error {
	return s.update(s.tokenFile(origin), func(ts []store.Token) []store.Token {
		return store.Drop(ts, origin, login)
	})
}

// List returns every unexpired token, newest first.
func (s *Store) List() ([]store.Token, error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "tokens-*.json"))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var all []store.Token
	for _, path := range paths {
		toks, err := read(path)
		if err != nil {
			return nil, err
		}
		live := store.Unexpired(toks, now)
		if len(live) < len(toks) {
			if err := s.update(path, func(ts []store.Token) []store.Token { return ts }); err != nil {
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
	return lockFile(ctx, filepath.Join(s.dir, "signin-"+hash(origin+"\n"+login)+".lock"), signinPoll)
}

// tokenFile names the file of origin's accounts. Origins that collide in
// the hash share a file; each token carries its origin, so they stay apart.
func (s *Store) tokenFile(origin string) string {
	return filepath.Join(s.dir, "tokens-"+hash(origin)+".json")
}

// update rewrites the file at path with change applied to its unexpired
// tokens, under the store-wide lock so that concurrent writers don't lose
// each other's changes. Readers need no lock: the rename is atomic.
func (s *Store) update(path string, change func([]store.Token) []store.Token) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeWait)
	defer cancel()
	unlock, err := lockFile(ctx, filepath.Join(s.dir, "store.lock"), writePoll)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the token store in %s stayed locked for %v; another git-credential-ghapp seems stuck (end it and retry)", s.dir, writeWait)
	}
	if err != nil {
		return err
	}
	defer unlock()
	toks, err := read(path)
	if err != nil {
		return err
	}
	return s.write(path, change(store.Unexpired(toks, time.Now())))
}

// write replaces the file at path with toks, or removes it if toks is empty.
func (s *Store) write(path string, toks []store.Token) error {
	if len(toks) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot remove token file %s: %v", path, unwrap(err))
		}
		return nil
	}
	data, err := json.Marshal(toks)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, ".tokens-"+rand.Text()+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write token file %s: %v", path, unwrap(err))
	}
	// The umask may have cleared bits; readers insist on exactly 0600.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cannot write token file %s: %v", path, unwrap(err))
	}
	return nil
}

// read returns the tokens in the file at path: none if it is missing or
// does not parse (the next write replaces it), an error if it is not a
// regular 0600 file of the user's.
func read(path string) ([]store.Token, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow|nonBlock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("token file %s is a symlink; refusing it (remove it)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read token file %s: %v", path, unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read token file %s: %v", path, unwrap(err))
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("token file %s is not a regular file; refusing it (remove it)", path)
	case !ownedByUser(fi):
		return nil, fmt.Errorf("token file %s is not owned by you; refusing it (remove it)", path)
	case fi.Mode().Perm() != 0o600:
		return nil, fmt.Errorf("token file %s has mode %04o, not 0600; refusing it (remove it)", path, fi.Mode().Perm())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read token file %s: %v", path, unwrap(err))
	}
	var toks []store.Token
	if json.Unmarshal(data, &toks) != nil {
		return nil, nil
	}
	return toks, nil
}

// lockFile takes an exclusive flock on path, retrying every poll until ctx
// is done. The lock file is opened without following symlinks and kept:
// removing it would race with the next locker.
func lockFile(ctx context.Context, path string, poll time.Duration) (func(), error) {
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|noFollow), flock.SetPermissions(0o600))
	if _, err := l.TryLockContext(ctx, poll); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("lock file %s is a symlink; refusing it (remove it)", path)
		}
		return nil, fmt.Errorf("cannot lock %s: %v", path, unwrap(err))
	}
	return func() { l.Unlock() }, nil
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// unwrap drops the *PathError wrapping; the messages name the file already
// or need not.
func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
