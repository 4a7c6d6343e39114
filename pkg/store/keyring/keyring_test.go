package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/storetest"
)

const dirEnv = "GHAPP_KEYRING_TEST_LOCK_DIR"

func TestMain(m *testing.M) {
	storetest.LockHolderMain(func() (store.Store, error) { return OpenMock(os.Getenv(dirEnv)), nil })
	os.Exit(m.Run())
}

// lockDir returns a directory for lock files that does not exist yet, as
// the runtime directory may not.
func lockDir(t *testing.T) string { return filepath.Join(t.TempDir(), "run") }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return OpenMock(lockDir(t)) })
}

func TestLockHolderDeath(t *testing.T) {
	dir := lockDir(t)
	storetest.TestLockHolderDeath(t, OpenMock(dir), dirEnv+"="+dir)
}

func token(origin, login string, expiry time.Time) store.Token {
	return store.Token{Origin: origin, Login: login, AccessToken: "ghu_fake_" + login, Expiry: expiry, Minted: time.Now()}
}

// items returns the users of the items in s's keychain.
func items(s *Store) []string {
	m := s.kr.(*mock)
	m.mu.Lock()
	defer m.mu.Unlock()
	var users []string
	for u := range m.items {
		users = append(users, u)
	}
	return users
}

func TestNothingLeftBehind(t *testing.T) {
	const gh, ghes = "https://github.com", "https://ghes.example.test"
	s := OpenMock(lockDir(t))
	later := time.Now().Add(time.Hour)
	for _, tk := range []store.Token{token(gh, "octocat", later), token(gh, "hubot", later), token(ghes, "octocat", later)} {
		if err := s.Put(tk); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(items(s)); got != 3 {
		t.Errorf("the keychain holds %d items (%q); want one per origin and the index", got, items(s))
	}
	if err := s.Delete(gh, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ghes, "octocat"); err != nil {
		t.Fatal(err)
	}
	if got := items(s); len(got) != 0 {
		t.Errorf("after deleting every token the keychain still holds %q", got)
	}
}

func TestRefreshTokenNotWritten(t *testing.T) {
	const gh = "https://github.com"
	s := OpenMock(lockDir(t))
	tk := token(gh, "octocat", time.Now().Add(time.Hour))
	tk.RefreshToken, tk.RefreshUntil = "ghr_fake_refresh", time.Now().Add(time.Hour)
	if err := s.Put(tk); err != nil {
		t.Fatal(err)
	}
	v, err := s.kr.Get(gh)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "ghr_") || strings.Contains(v, "refresh") {
		t.Error("the keychain item holds the refresh token")
	}
}

func TestExpiredIsErased(t *testing.T) {
	const gh = "https://github.com"
	s := OpenMock(lockDir(t))
	dead := token(gh, "dead", time.Now().Add(-time.Second))
	if err := s.kr.Set(indexUser, `["`+gh+`"]`); err != nil {
		t.Fatal(err)
	}
	if err := s.kr.Set(gh, `[{"origin":"`+gh+`","login":"dead","access_token":"`+dead.AccessToken+`","expiry":"`+dead.Expiry.Format(time.RFC3339Nano)+`"}]`); err != nil {
		t.Fatal(err)
	}
	if toks, err := s.List(); err != nil || len(toks) != 0 {
		t.Fatalf("List = %d tokens, %v; want none", len(toks), err)
	}
	if got := items(s); len(got) != 0 {
		t.Errorf("after List met an expired token the keychain still holds %q", got)
	}
}

func TestGarbageIsEmpty(t *testing.T) {
	const gh = "https://github.com"
	s := OpenMock(lockDir(t))
	s.kr.Set(indexUser, "{not json")
	s.kr.Set(gh, "{not json")
	if _, err := s.Get(gh, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a garbled item = %v; want ErrNotFound", err)
	}
	if toks, err := s.List(); err != nil || len(toks) != 0 {
		t.Fatalf("List with a garbled index = %d tokens, %v; want none", len(toks), err)
	}
	if err := s.Put(token(gh, "octocat", time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("Put over a garbled item: %v", err)
	}
	if toks, err := s.List(); err != nil || len(toks) != 1 || toks[0].Login != "octocat" {
		t.Fatalf("List after Put = %d tokens, %v; want octocat's", len(toks), err)
	}
}

// dbusProcesses counts the running dbus-daemon and dbus-launch processes.
func dbusProcesses(t *testing.T) int {
	t.Helper()
	comms, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range comms {
		name, _ := os.ReadFile(c)
		if s := strings.TrimSpace(string(name)); s == "dbus-daemon" || s == "dbus-launch" {
			n++
		}
	}
	return n
}

func TestNoSecretService(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is checked for on Linux and BSD; processes are counted through /proc")
	}
	t.Setenv("GHAPP_RUNTIME_DIR", lockDir(t))
	for _, addr := range []string{"", "autolaunch:", "unix:path=" + filepath.Join(t.TempDir(), "no-bus")} {
		t.Run(addr, func(t *testing.T) {
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
			before := dbusProcesses(t)
			_, err := Open()
			if !errors.Is(err, ErrNoSecretService) {
				t.Fatalf("Open with DBUS_SESSION_BUS_ADDRESS=%q: %v; want %v", addr, err, ErrNoSecretService)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error spans several lines: %q", err)
			}
			if after := dbusProcesses(t); after > before {
				t.Errorf("Open started %d D-Bus processes", after-before)
			}
		})
	}
}
