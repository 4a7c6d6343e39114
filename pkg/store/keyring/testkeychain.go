//go:build ghapp_testkeychain

package keyring

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	gokeyring "github.com/zalando/go-keyring"
)

// Built only with -tags ghapp_testkeychain: end-to-end tests run the real
// binary once per git command, so they need a keychain that outlives a
// process, which go-keyring's in-memory mock cannot be. With
// $GHAPP_TEST_KEYCHAIN set, Open uses a directory of files as the keychain.
func init() {
	dir := os.Getenv("GHAPP_TEST_KEYCHAIN")
	if dir == "" {
		return
	}
	openOverride = func() (*Store, error) {
		return newStore(fileKeychain(dir), dir), nil
	}
}

type fileKeychain string

func (d fileKeychain) path(user string) string {
	return filepath.Join(string(d), "item-"+hex.EncodeToString([]byte(user)))
}

func (d fileKeychain) Get(user string) (string, error) {
	b, err := os.ReadFile(d.path(user))
	if errors.Is(err, os.ErrNotExist) {
		return "", gokeyring.ErrNotFound
	}
	return string(b), err
}

func (d fileKeychain) Set(user, secret string) error {
	tmp := d.path(user) + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, d.path(user))
}

func (d fileKeychain) Delete(user string) error {
	err := os.Remove(d.path(user))
	if errors.Is(err, os.ErrNotExist) {
		return gokeyring.ErrNotFound
	}
	return err
}
