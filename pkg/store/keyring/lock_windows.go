package keyring

import (
	"fmt"
	"os"
	"path/filepath"
)

// defaultLockDir is in the user's profile: lock files hold no secrets, and
// Windows has no per-user memory file system to put them on.
func defaultLockDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "git-credential-ghapp")
}

func prepareLockDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create lock directory %s: %v (set LOCALAPPDATA to a directory you own)", dir, err)
	}
	return nil
}
