// Package runtimedir locates and guards the per-user directory where the
// stores keep their files and sockets.
package runtimedir

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Path returns the runtime directory: $GHAPP_RUNTIME_DIR if set, else
// $XDG_RUNTIME_DIR/git-credential-ghapp, else
// /dev/shm/git-credential-ghapp-<uid>.
func Path() string {
	if d := os.Getenv("GHAPP_RUNTIME_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "git-credential-ghapp")
	}
	return "/dev/shm/git-credential-ghapp-" + strconv.Itoa(os.Getuid())
}

// Ensure creates dir with mode 0700 when it is missing, then checks that it
// is safe to keep secrets in: a real directory (not a symlink), owned by
// the current user, with no access for group or others.
func Ensure(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return fmt.Errorf("cannot create runtime directory %s: %v (set GHAPP_RUNTIME_DIR to a directory you own)", dir, unwrapPath(err))
	}
	return Check(dir)
}

// Check verifies dir as Ensure does, without creating it.
func Check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("runtime directory %s: %v", dir, unwrapPath(err))
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("runtime directory %s is a symlink; refusing it (remove it, or set GHAPP_RUNTIME_DIR)", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("runtime directory %s is not a directory (remove it, or set GHAPP_RUNTIME_DIR)", dir)
	}
	if uid, ok := owner(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("runtime directory %s is owned by uid %d, not you (uid %d); refusing it (set GHAPP_RUNTIME_DIR to a directory you own)", dir, uid, os.Getuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("runtime directory %s is accessible to group or others (mode %04o); refusing it (run: chmod 700 %s)", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// unwrapPath drops the *PathError wrapping so messages name the path once.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
