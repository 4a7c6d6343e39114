package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/storetest"
)

const dirEnv = "GHAPP_BLOB_TEST_LOCK_DIR"

func TestMain(m *testing.M) {
	storetest.LockHolderMain(func() (store.Store, error) { return New(mapMedium{}, options(os.Getenv(dirEnv))), nil })
	os.Exit(m.Run())
}

// mapMedium keeps items in memory, keyed by origin.
type mapMedium map[string][]byte

var mu sync.Mutex // guards every mapMedium: tests are few and small

func (mapMedium) Key(origin string) string { return origin }

func (m mapMedium) Read(key string) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	data, ok := m[key]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return data, nil
}

func (m mapMedium) Write(key string, data []byte) error {
	mu.Lock()
	defer mu.Unlock()
	m[key] = data
	return nil
}

func (m mapMedium) Remove(key string) error {
	mu.Lock()
	defer mu.Unlock()
	delete(m, key)
	return nil
}

func (m mapMedium) Keys() ([]string, error) {
	mu.Lock()
	defer mu.Unlock()
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys, nil
}

func options(lockDir string) Options {
	return Options{LockDir: lockDir, WriteLock: "write.lock", WriteWait: time.Second, WritePoll: time.Millisecond, Name: "the test store"}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return New(mapMedium{}, options(t.TempDir())) })
}

func TestLockHolderDeath(t *testing.T) {
	dir := t.TempDir()
	storetest.TestLockHolderDeath(t, New(mapMedium{}, options(dir)), dirEnv+"="+dir)
}

func token(login string) store.Token {
	now := time.Now()
	return store.Token{Origin: "https://github.com", Login: login, AccessToken: "ghu_fake_" + login, Expiry: now.Add(time.Hour), Minted: now}
}

func TestRefreshNeverWrittenNorRead(t *testing.T) {
	m := mapMedium{}
	s := New(m, options(t.TempDir()))
	tk := token("octocat")
	tk.RefreshToken, tk.RefreshUntil = "ghr_fake", time.Now().Add(time.Hour)
	if err := s.Put(tk); err != nil {
		t.Fatal(err)
	}
	if data, _ := m.Read(tk.Origin); strings.Contains(string(data), "refresh") {
		t.Errorf("Put wrote the refresh fields: %.40s…", data)
	}
	// One planted by something else is not handed on either.
	m.Write(tk.Origin, []byte(fmt.Sprintf(`[{"origin":%q,"login":"octocat","access_token":"ghu_fake","expiry":%q,"refresh_token":"ghr_fake","refresh_until":%q}]`,
		tk.Origin, tk.Expiry.Format(time.RFC3339Nano), tk.RefreshUntil.Format(time.RFC3339Nano))))
	got, err := s.Get(tk.Origin, "octocat")
	if err != nil {
		t.Fatal(err)
	}
	if got.RefreshToken != "" || !got.RefreshUntil.IsZero() {
		t.Errorf("Get returned a planted refresh token (until %v)", got.RefreshUntil)
	}
}

func TestLockIgnoresLoginCase(t *testing.T) {
	s := New(mapMedium{}, options(t.TempDir()))
	unlock, err := s.Lock(t.Context(), "https://github.com", "octocat")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if u, err := s.Lock(ctx, "https://github.com", "OctoCat"); err == nil {
		u()
		t.Fatal("Lock(OctoCat) succeeded while octocat's lock was held")
	}
}

func TestPrepareBeforeLocking(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	o := options(dir)
	var prepared []string
	o.Prepare = func(d string) error { prepared = append(prepared, d); return os.MkdirAll(d, 0o700) }
	s := New(mapMedium{}, o)
	if _, err := s.Get("https://github.com", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of an empty store: %v", err)
	}
	if len(prepared) != 0 {
		t.Errorf("a read prepared the lock directory")
	}
	if err := s.Put(token("octocat")); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(prepared, []string{dir}) {
		t.Errorf("Put prepared %q; want %q once", prepared, dir)
	}
}

func TestRefusesSymlinkedLockFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no O_NOFOLLOW")
	}
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	for _, name := range []string{"write.lock", "signin-" + Hash("https://github.com\noctocat") + ".lock"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	s := New(mapMedium{}, options(dir))
	_, lerr := s.Lock(t.Context(), "https://github.com", "octocat")
	for what, err := range map[string]error{"Put": s.Put(token("octocat")), "Lock": lerr} {
		if err == nil {
			t.Errorf("%s through a symlinked lock file succeeded", what)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "is a symlink; refusing it (remove it)") || !strings.Contains(msg, dir) || strings.Contains(msg, "\n") {
			t.Errorf("%s: %q; want one line naming the lock file and the fix", what, msg)
		}
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}

func TestStuckWriteLockSaysSo(t *testing.T) {
	dir := t.TempDir()
	s := New(mapMedium{}, options(dir))
	unlock, err := lockFile(t.Context(), filepath.Join(dir, "write.lock"), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	err = s.Put(token("octocat"))
	if err == nil || !strings.HasPrefix(err.Error(), "the test store stayed locked for 1s;") {
		t.Errorf("Put while the write lock is held: %v; want the store named as stuck", err)
	}
}

func TestLockFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockFile(t.Context(), filepath.Join(dir, "a.lock"), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	fi, err := os.Lstat(filepath.Join(dir, "a.lock"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("the lock file is %v, %v; want a regular file only its owner can use", fi.Mode(), err)
	}
}
