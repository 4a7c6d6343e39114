// Package auto opens a token store by name and implements the default
// choice: the in-memory daemon where Unix sockets work, falling back to
// files on tmpfs only when the daemon cannot be reached or started; the OS
// keyring on Windows.
package auto

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/keyring"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/memory"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/tmpfs"
)

// Names lists the stores Open knows; see Known and NameList.
var Names = []string{"auto", "memory", "tmpfs", "keyring"}

// Options say where the stores live.
type Options struct {
	Dir       string       // the runtime directory; "" means the user's (see runtimedir.Path)
	AllowDisk bool         // ghapp.allowDiskStore, for the tmpfs store
	Notice    func(string) // one-line notices for the person; may be nil
	Daemon    []string     // argv that starts the memory daemon; nil for the default
}

// Open opens the store called name: "auto" (or ""), "memory", "tmpfs" or
// "keyring".
func Open(name string, o Options) (store.Store, error) {
	if o.Dir == "" {
		o.Dir = runtimedir.Path()
	}
	switch name {
	case "memory":
		return memory.Open(o.Dir, memory.Options{Daemon: o.Daemon, Notice: o.Notice})
	case "tmpfs":
		return tmpfs.Open(o.Dir, o.AllowDisk)
	case "keyring":
		return keyring.Open()
	case "", "auto":
		if runtime.GOOS == "windows" {
			return keyring.Open()
		}
		// Both stores live in the runtime directory: one that is unsafe
		// (another user's, open to others, a symlink) is refused once and
		// plainly, not reported as a daemon failure and then by files too.
		// Check first: on a cache hit the directory exists, and a mkdir
		// that fails with EEXIST is a wasted syscall on every git command.
		if runtimedir.Check(o.Dir) != nil {
			if err := runtimedir.Ensure(o.Dir); err != nil {
				return nil, err
			}
		}
		f := &fallback{o: o}
		m, err := memory.Open(o.Dir, memory.Options{Daemon: o.Daemon, Notice: o.Notice})
		if err != nil {
			if !errors.Is(err, memory.ErrUnavailable) {
				return nil, err
			}
			f.fail(err)
			return f, nil
		}
		f.mem = m
		return f, nil
	}
	return nil, fmt.Errorf("unknown store %q: use %s", name, NameList())
}

// fallback is the memory store until its daemon cannot be reached or
// started (memory.ErrUnavailable); from then on, within this process, it is
// the tmpfs store, on disk only if Options.AllowDisk says so. Any other
// error of the daemon's (a token too large, a stale put, a refusal) is the
// caller's to see: files are no place to hide it. Reads look in both, so a
// token kept on tmpfs by an earlier fallback is still found.
//
// It is a store.SignIns: the daemon's sign-ins while the daemon is in use.
// Its BackgroundSignIns says whether they are; once files are in use,
// StartSignIn and WaitSignIn return errors matching
// store.ErrNoBackgroundSignIn, and PendingSignIns none.
type fallback struct {
	o   Options
	mem *memory.Store

	mu     sync.Mutex
	failed bool
	files  store.Store
	filesE error
}

// fail switches to files and says why, once.
func (f *fallback) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed {
		return
	}
	f.failed = true
	if f.o.Notice != nil {
		f.o.Notice(fmt.Sprintf("the token daemon cannot run (%v); keeping tokens in files on tmpfs in %s instead", err, f.o.Dir))
	}
}

func (f *fallback) usingFiles() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// tmpfs opens the file store on first use.
func (f *fallback) tmpfs() (store.Store, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil && f.filesE == nil {
		f.files, f.filesE = tmpfs.Open(f.o.Dir, f.o.AllowDisk)
	}
	return f.files, f.filesE
}

func (f *fallback) Get(origin, login string) (store.Token, error) {
	if !f.usingFiles() {
		t, err := f.mem.Get(origin, login)
		if err == nil || !(errors.Is(err, store.ErrNotFound) || errors.Is(err, memory.ErrUnavailable)) {
			return t, err
		}
	}
	files, err := f.tmpfs()
	if err != nil {
		return store.Token{}, store.ErrNotFound
	}
	return files.Get(origin, login)
}

func (f *fallback) Put(t store.Token) error {
	if !f.usingFiles() {
		err := f.mem.Put(t)
		if !errors.Is(err, memory.ErrUnavailable) {
			return err
		}
		f.fail(err)
	}
	files, err := f.tmpfs()
	if err != nil {
		return err
	}
	return files.Put(t)
}

func (f *fallback) Delete(origin, login string) error {
	var errs []error
	if f.mem != nil {
		errs = append(errs, f.mem.Delete(origin, login))
	}
	if files, err := f.tmpfs(); err == nil {
		errs = append(errs, files.Delete(origin, login))
	}
	return errors.Join(errs...)
}

func (f *fallback) List() ([]store.Token, error) {
	var all []store.Token
	if f.mem != nil {
		toks, err := f.mem.List()
		if err != nil {
			return nil, err
		}
		all = append(all, toks...)
	}
	if files, err := f.tmpfs(); err == nil {
		toks, err := files.List()
		if err != nil {
			return nil, err
		}
		all = append(all, toks...)
	}
	store.SortNewestFirst(all)
	return all, nil
}

func (f *fallback) Lock(ctx context.Context, origin, login string) (func(), error) {
	if !f.usingFiles() {
		unlock, err := f.mem.Lock(ctx, origin, login)
		if !errors.Is(err, memory.ErrUnavailable) || ctx.Err() != nil {
			return unlock, err
		}
		f.fail(err)
	}
	files, err := f.tmpfs()
	if err != nil {
		return nil, err
	}
	return files.Lock(ctx, origin, login)
}

var _ store.SignIns = (*fallback)(nil)

// BackgroundSignIns reports whether sign-ins can be left to the memory
// daemon: true until the daemon turns out unable to run in this process.
// A daemon of an earlier version still refuses them, with an error from
// StartSignIn matching store.ErrNoBackgroundSignIn.
func (f *fallback) BackgroundSignIns() bool { return f.mem != nil && !f.usingFiles() }

// errFiles is why no sign-in runs in the background once files are in use.
var errFiles = fmt.Errorf("%w: tokens are kept in files, as the token daemon cannot run", store.ErrNoBackgroundSignIn)

// StartSignIn has the memory daemon run the sign-in, starting the daemon
// when none runs; a daemon that cannot start switches this store to files,
// as Put would, and the caller runs the sign-in itself.
func (f *fallback) StartSignIn(ctx context.Context, req store.SignInRequest) (store.SignIn, error) {
	if f.usingFiles() {
		return store.SignIn{}, errFiles
	}
	s, err := f.mem.StartSignIn(ctx, req)
	if errors.Is(err, memory.ErrUnavailable) && ctx.Err() == nil {
		f.fail(err)
		return store.SignIn{}, errFiles
	}
	return s, err
}

// WaitSignIn waits for the memory daemon's sign-in.
func (f *fallback) WaitSignIn(ctx context.Context, origin, login string) (store.Token, error) {
	if f.usingFiles() {
		return store.Token{}, errFiles
	}
	return f.mem.WaitSignIn(ctx, origin, login)
}

// PendingSignIns lists the memory daemon's codes; with files in use there
// is no daemon to wait for any.
func (f *fallback) PendingSignIns() ([]store.SignIn, error) {
	if f.usingFiles() {
		return nil, nil
	}
	return f.mem.PendingSignIns()
}

// KeepsRefreshTokens is true while tokens go to the memory daemon.
func (f *fallback) KeepsRefreshTokens() bool { return f.mem != nil && !f.usingFiles() }

// Stop ends the memory daemon, if one runs.
func (f *fallback) Stop() error {
	if f.mem == nil {
		return nil
	}
	return f.mem.Stop()
}
