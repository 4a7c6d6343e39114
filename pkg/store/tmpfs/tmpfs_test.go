//go:build unix

package tmpfs

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/internal/blob"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/storetest"
)

const (
	dirEnv     = "GHAPP_TMPFS_TEST_DIR"
	coldGetEnv = "GHAPP_TMPFS_TEST_COLD_GET"
)

func TestMain(m *testing.M) {
	storetest.LockHolderMain(func() (store.Store, error) { return Open(os.Getenv(dirEnv), false) })
	if os.Getenv(coldGetEnv) != "" {
		coldGetMain()
	}
	os.Exit(m.Run())
}

// coldGetMain is the process TestHitWithoutJSON starts: it answers one Get
// from the store in dirEnv, as a cache hit does in a new process, and
// prints how many allocations the Get made.
func coldGetMain() {
	s, err := Open(os.Getenv(dirEnv), false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cold get: open:", err)
		os.Exit(2)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = s.Get("https://github.com", "octocat")
	runtime.ReadMemStats(&after)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cold get: Get:", err)
		os.Exit(2)
	}
	fmt.Println(after.Mallocs - before.Mallocs)
	os.Exit(0)
}

// shmDir returns a new private directory on /dev/shm, removed after t.
func shmDir(t *testing.T) string {
	t.Helper()
	if mem, err := runtimedir.OnMemoryFS("/dev/shm"); err != nil || !mem {
		t.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "ghapp-tmpfs-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, false)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func token(origin, login string) store.Token {
	now := time.Now()
	return store.Token{Origin: origin, Login: login, AccessToken: "ghu_fake_" + login, Expiry: now.Add(time.Hour), Minted: now}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, shmDir(t)) })
}

func TestLockHolderDeath(t *testing.T) {
	dir := shmDir(t)
	storetest.TestLockHolderDeath(t, open(t, dir), dirEnv+"="+dir)
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(shmDir(t), "new")
	open(t, dir)
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("Open left %s as %v, %v; want a 0700 directory", dir, fi.Mode(), err)
	}
}

func TestOpenRefusesDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if mem, _ := runtimedir.OnMemoryFS(dir); mem {
		t.Skip("the temporary directory is on tmpfs here")
	}
	_, err := Open(dir, false)
	if err == nil {
		t.Fatalf("Open(%s, false) of a directory on disk succeeded", dir)
	}
	for _, want := range []string{"ghapp.allowDiskStore=true", "GHAPP_RUNTIME_DIR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	s, err := Open(dir, true)
	if err != nil {
		t.Fatalf("Open(%s, true): %v", dir, err)
	}
	if err := s.Put(token("https://github.com", "octocat")); err != nil {
		t.Fatalf("Put with allowDisk: %v", err)
	}
}

func TestOpenRefusesUnsafeDir(t *testing.T) {
	shm := shmDir(t)
	real, link, open := filepath.Join(shm, "real"), filepath.Join(shm, "link"), filepath.Join(shm, "open")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{link, open} {
		if _, err := Open(dir, false); err == nil {
			t.Errorf("Open(%s) succeeded", dir)
		}
		if _, err := Open(dir, true); err == nil {
			t.Errorf("Open(%s) with allowDisk succeeded", dir)
		}
	}
}

// wantRefused checks that every operation on origin fails while its token
// file is unsafe, and that the file and what it points to stay as they were.
func wantRefused(t *testing.T, s *Store, origin string, watch ...string) {
	t.Helper()
	before := snapshot(t, watch...)
	if _, err := s.Get(origin, ""); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get = %v; want a refusal", err)
	}
	if err := s.Put(token(origin, "octocat")); err == nil {
		t.Error("Put succeeded")
	}
	if err := s.Delete(origin, ""); err == nil {
		t.Error("Delete succeeded")
	}
	if _, err := s.List(); err == nil {
		t.Error("List succeeded")
	}
	if after := snapshot(t, watch...); after != before {
		t.Errorf("the files changed:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot describes the files at paths by type, mode and a hash of the
// content, which holds tokens (fake ones, but still not to be printed).
func snapshot(t *testing.T, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %v %.8x; ", filepath.Base(p), fi.Mode(), sha256.Sum256(data))
	}
	return b.String()
}

func TestRefusesSymlinkedTokenFile(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	target := filepath.Join(shmDir(t), "target.json")
	if err := os.WriteFile(target, []byte(`[{"origin":"https://github.com","login":"planted","access_token":"ghu_planted","expiry":"2999-01-01T00:00:00Z"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := s.tokenFile(gh)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s, gh, link, target)
	if tk, err := s.Get(gh, "planted"); err == nil {
		t.Errorf("Get returned the symlink target's token for %s", tk.Login)
	}
}

func TestRefusesOpenTokenFile(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	if err := s.Put(token(gh, "octocat")); err != nil {
		t.Fatal(err)
	}
	path := s.tokenFile(gh)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s, gh, path)
	if _, err := s.Get(gh, ""); err == nil || !strings.Contains(err.Error(), "0644") {
		t.Errorf("Get = %v; want an error naming mode 0644", err)
	}
}

func TestRefusesFIFO(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	if err := syscall.Mkfifo(s.tokenFile(gh), 0o600); err != nil {
		t.Fatal(err)
	}
	// The open must not wait for a writer, and the FIFO is no token file.
	if _, err := s.Get(gh, ""); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get = %v; want a refusal", err)
	}
}

func TestGarbageIsEmpty(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	path := s.tokenFile(gh)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(gh, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get from a garbled file = %v; want ErrNotFound", err)
	}
	if toks, err := s.List(); err != nil || len(toks) != 0 {
		t.Fatalf("List with a garbled file = %d tokens, %v; want none", len(toks), err)
	}
	want := token(gh, "octocat")
	if err := s.Put(want); err != nil {
		t.Fatalf("Put over a garbled file: %v", err)
	}
	if got, err := s.Get(gh, ""); err != nil || got.Login != want.Login {
		t.Fatalf("Get after Put = %q, %v; want %q", got.Login, err, want.Login)
	}
}

func TestFilesArePrivate(t *testing.T) {
	const gh = "https://github.com"
	dir := shmDir(t)
	s := open(t, dir)
	if err := s.Put(token(gh, "octocat")); err != nil {
		t.Fatal(err)
	}
	// A restrictive umask must not leave a token file unreadable to us.
	const other = "https://example.test"
	old := syscall.Umask(0o277)
	err := s.Put(token(other, "octocat"))
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(other, "octocat"); err != nil {
		t.Fatalf("Get after Put under umask 0277: %v", err)
	}
	unlock, err := s.Lock(t.Context(), gh, "octocat")
	if err != nil {
		t.Fatal(err)
	}
	unlock()

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want a regular 0600 file", e.Name(), fi.Mode())
		}
	}
	want := []string{"signin-" + blob.Hash(gh+"\noctocat") + ".lock", "store.lock", "tokens-" + blob.Hash(gh) + ".json", "tokens-" + blob.Hash(other) + ".json"}
	sort.Strings(want)
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("the directory holds %q; want %q (no temporary files left)", names, want)
	}
}

func TestRefreshTokenNotWritten(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	tk := token(gh, "octocat")
	tk.RefreshToken, tk.RefreshUntil = "ghr_fake_refresh", time.Now().Add(time.Hour)
	if err := s.Put(tk); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.tokenFile(gh))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "ghr_") || strings.Contains(string(data), "refresh") {
		t.Error("the token file holds the refresh token")
	}
}

func TestExpiredIsErased(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	dead := token(gh, "dead")
	dead.AccessToken = "ghu_fake_expired"
	dead.Expiry = time.Now().Add(-time.Second)
	writeRaw(t, s, gh, dead, token(gh, "live"))
	if _, err := s.Get(gh, "live"); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(s.tokenFile(gh)); err != nil || strings.Contains(string(data), dead.AccessToken) {
		t.Errorf("the token file still holds the expired token after Get (read error: %v)", err)
	}

	writeRaw(t, s, gh, dead)
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(s.tokenFile(gh)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token file holding only an expired token survived List: %v", err)
	}
}

// fullToken sets every field a token file keeps.
func fullToken(origin, login string) store.Token {
	tk := token(origin, login)
	tk.MinLifetime = 5 * time.Minute
	tk.API = "https://api.github.com"
	tk.ClientID = "Iv23liFake"
	tk.AppURL = "https://github.com/apps/fake-app"
	tk.Provider = "gitlab"
	tk.Reach = &store.Reach{Checked: tk.Minted, AppSlug: "fake-app", Accounts: []string{"octo-org"}, Repos: []string{"other/one"}, Omitted: 2}
	return tk
}

func TestFileIsBinary(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	if err := s.Put(fullToken(gh, "octocat")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.tokenFile(gh))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[0] != 0x01 {
		t.Errorf("the token file begins with %q; want the binary form's 0x01", data[:min(len(data), 1)])
	}
}

// A file an earlier version wrote as JSON keeps its accounts signed in,
// and the next Put rewrites it in the binary form.
func TestJSONFileIsReadAndRewritten(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	old := fullToken(gh, "octocat")
	writeRaw(t, s, gh, old)
	got, err := s.Get(gh, "octocat")
	if err != nil {
		t.Fatalf("Get from a JSON file: %v", err)
	}
	if !reflect.DeepEqual(got, storetest.AsKept(old)) {
		t.Errorf("Get from a JSON file = %+v; want %+v", got, old)
	}
	newer := token(gh, "hubot")
	if err := s.Put(newer); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.tokenFile(gh))
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != 0x01 {
		t.Fatalf("after Put the token file begins with %q; want the binary form's 0x01", data[:1])
	}
	toks, err := s.List()
	if err != nil || len(toks) != 2 || !reflect.DeepEqual(toks[0], storetest.AsKept(newer)) || !reflect.DeepEqual(toks[1], storetest.AsKept(old)) {
		t.Errorf("List after the rewrite = %d tokens, %v; want hubot's, then octocat's with every field", len(toks), err)
	}
}

// A binary file that does not decode holds no tokens, as a garbled JSON
// file does, and the next Put replaces it.
func TestCorruptBinaryIsEmpty(t *testing.T) {
	const gh = "https://github.com"
	s := open(t, shmDir(t))
	if err := s.Put(fullToken(gh, "octocat")); err != nil {
		t.Fatal(err)
	}
	path := s.tokenFile(gh)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)-2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(gh, "octocat"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get from a cut binary file = %v; want ErrNotFound", err)
	}
	if toks, err := s.List(); err != nil || len(toks) != 0 {
		t.Fatalf("List with a cut binary file = %d tokens, %v; want none", len(toks), err)
	}
	if err := s.Put(token(gh, "hubot")); err != nil {
		t.Fatalf("Put over a cut binary file: %v", err)
	}
	if toks, err := s.List(); err != nil || len(toks) != 1 || toks[0].Login != "hubot" {
		t.Errorf("after Put the file holds %d tokens, %v; want hubot's alone", len(toks), err)
	}
}

// A cache hit in a new process decodes its token without encoding/json,
// whose first decode in a process builds its reflection caches (about 200
// allocations, and most of the hit's time). The count of allocations is
// the measure: it does not depend on the machine's speed.
func TestHitWithoutJSON(t *testing.T) {
	const gh = "https://github.com"
	dir := shmDir(t)
	s := open(t, dir)
	coldGet := func() int {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), dirEnv+"="+dir, coldGetEnv+"=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("the cold Get failed: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("the cold Get printed %q", out)
		}
		return n
	}
	writeRaw(t, s, gh, fullToken(gh, "octocat"))
	fromJSON := coldGet()
	if err := s.Put(fullToken(gh, "octocat")); err != nil {
		t.Fatal(err)
	}
	fromBinary := coldGet()
	t.Logf("allocations of a Get in a new process: %d from a JSON file, %d from a binary one", fromJSON, fromBinary)
	if fromBinary > 40 {
		t.Errorf("a Get from a binary token file allocates %d times in a new process; want at most 40 (one from JSON: %d)", fromBinary, fromJSON)
	}
}

// writeRaw writes toks as origin's token file in JSON, as an earlier
// version did, bypassing the store's checks.
func writeRaw(t *testing.T, s *Store, origin string, toks ...store.Token) {
	t.Helper()
	data, err := json.Marshal(toks)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.files.Write(s.files.Key(origin), data); err != nil {
		t.Fatal(err)
	}
}

// tokenFile names the file of origin's accounts.
func (s *Store) tokenFile(origin string) string { return s.files.path(s.files.Key(origin)) }
