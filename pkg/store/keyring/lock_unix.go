//go:build unix

package keyring

import "github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"

func defaultLockDir() string { return runtimedir.Path() }

func prepareLockDir(dir string) error { return runtimedir.Ensure(dir) }
