package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// lockFile takes an exclusive flock on path, retrying every poll until ctx
// is done; the kernel drops it when the holder dies. The lock file is
// created 0600, opened without following symlinks, and kept: removing it
// would race with the next locker.
func lockFile(ctx context.Context, path string, poll time.Duration) (func(), error) {
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|noFollow), flock.SetPermissions(0o600))
	if _, err := l.TryLockContext(ctx, poll); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("lock file %s is a symlink; refusing it (remove it)", path)
		}
		return nil, fmt.Errorf("cannot lock %s: %v", path, Unwrap(err))
	}
	return func() { l.Unlock() }, nil
}

// Unwrap drops the *fs.PathError wrapping, for messages that name the
// file already.
func Unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
