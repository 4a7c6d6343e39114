//go:build unix

package keyring

import (
	"syscall"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/runtimedir"
)

const noFollow = syscall.O_NOFOLLOW

func defaultLockDir() string { return runtimedir.Path() }

func prepareLockDir(dir string) error { return runtimedir.Ensure(dir) }
