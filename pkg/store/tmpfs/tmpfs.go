// Package tmpfs keeps tokens in files in the runtime directory, one file
// of accounts per origin so that a cache hit costs one open and one read,
// in blob's binary form so that it costs no JSON decoder either (a file in
// JSON, as earlier versions wrote, is still read, and rewritten in the
// binary form by the next write). The guarantee: tokens are only read from and written to regular
// files of mode 0600 owned by the user, in a 0700 directory the user owns
// on a memory file system (tmpfs or ramfs, unless the user allows disk);
// files are replaced atomically and never opened through a symlink.
package tmpfs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/internal/blob"
)

// Store keeps tokens in files in one directory.
type Store struct {
	*blob.Store
	files files
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
	f := files(dir)
	return &Store{Store: blob.New(f, blob.Options{
		LockDir:   dir,
		WriteLock: "store.lock",
		// Writers hold the lock only for a read and a rename.
		WriteWait: 10 * time.Second,
		WritePoll: 2 * time.Millisecond,
		Name:      "the token store in " + dir,
		Binary:    true,
	}), files: f}, nil
}

// files is the directory as a blob.Medium: an item is a file
// tokens-<hash of the origin>.json. The name is what earlier versions,
// which wrote JSON, gave it: an upgrade finds their files.
type files string

const prefix, suffix = "tokens-", ".json"

func (d files) Key(origin string) string { return prefix + blob.Hash(origin) + suffix }

func (d files) path(key string) string { return filepath.Join(string(d), key) }

// Keys lists the token files by name; temporary files do not match.
func (d files) Keys() ([]string, error) {
	entries, err := os.ReadDir(string(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // removed under us: nothing is kept
	}
	if err != nil {
		return nil, err // names the directory; Open checked it, so this is rare
	}
	var keys []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, prefix) && strings.HasSuffix(n, suffix) {
			keys = append(keys, n)
		}
	}
	return keys, nil
}

// Read returns the file's content, or an error if it is not a regular
// 0600 file of the user's.
func (d files) Read(key string) ([]byte, error) {
	path := d.path(key)
	data, st, err := readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("token file %s is a symlink; refusing it (remove it)", path)
	case err != nil:
		return nil, fmt.Errorf("cannot read token file %s: %v", path, blob.Unwrap(err))
	case !st.regular:
		return nil, fmt.Errorf("token file %s is not a regular file; refusing it (remove it)", path)
	case !st.owned:
		return nil, fmt.Errorf("token file %s is not owned by you; refusing it (remove it)", path)
	case st.perm != 0o600:
		return nil, fmt.Errorf("token file %s has mode %04o, not 0600; refusing it (remove it)", path, st.perm)
	}
	return data, nil
}

// fileStat is what Read checks of a token file before trusting it.
type fileStat struct {
	regular, owned bool
	perm           fs.FileMode
}

// Write replaces the file atomically: readers take no lock, so they must
// see the old file or the new one, never half of one.
func (d files) Write(key string, data []byte) error {
	path := d.path(key)
	tmp := d.path(".tokens-" + rand.Text() + ".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write token file %s: %v", path, blob.Unwrap(err))
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
		return fmt.Errorf("cannot write token file %s: %v", path, blob.Unwrap(err))
	}
	return nil
}

func (d files) Remove(key string) error {
	path := d.path(key)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove token file %s: %v", path, blob.Unwrap(err))
	}
	return nil
}
