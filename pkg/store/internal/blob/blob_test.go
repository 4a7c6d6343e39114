package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
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

func TestConformanceBinary(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return New(mapMedium{}, binaryOptions(t.TempDir())) })
}

func binaryOptions(lockDir string) Options {
	o := options(lockDir)
	o.Binary = true
	return o
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
	for name, o := range map[string]Options{"json": options(t.TempDir()), "binary": binaryOptions(t.TempDir())} {
		m := mapMedium{}
		s := New(m, o)
		tk := token("octocat")
		tk.RefreshToken, tk.RefreshUntil = "ghr_fake", time.Now().Add(time.Hour)
		if err := s.Put(tk); err != nil {
			t.Fatal(err)
		}
		if data, _ := m.Read(tk.Origin); strings.Contains(string(data), "refresh") || strings.Contains(string(data), "ghr_") {
			t.Errorf("%s: Put wrote the refresh fields", name)
		}
		if toks, err := decode(m[tk.Origin]); err != nil || len(toks) != 1 || !toks[0].RefreshUntil.IsZero() {
			t.Errorf("%s: Put wrote %d tokens (%v); want one with no refresh fields", name, len(toks), err)
		}
	}
	// One planted by something else is not handed on either, in either form.
	tk := token("octocat")
	tk.RefreshToken, tk.RefreshUntil = "ghr_fake", time.Now().Add(time.Hour)
	planted := map[string][]byte{
		"json": []byte(fmt.Sprintf(`[{"origin":%q,"login":"octocat","access_token":"ghu_fake","expiry":%q,"refresh_token":"ghr_fake","refresh_until":%q}]`,
			tk.Origin, tk.Expiry.Format(time.RFC3339Nano), tk.RefreshUntil.Format(time.RFC3339Nano))),
		"binary": binaryList(tk),
	}
	for name, data := range planted {
		m := mapMedium{tk.Origin: data}
		got, err := New(m, options(t.TempDir())).Get(tk.Origin, "octocat")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.RefreshToken != "" || !got.RefreshUntil.IsZero() {
			t.Errorf("%s: Get returned a planted refresh token (until %v)", name, got.RefreshUntil)
		}
	}
}

// binaryList is toks in the binary form, refresh fields and all.
func binaryList(toks ...store.Token) []byte {
	data, err := New(nil, Options{Binary: true}).encode(toks)
	if err != nil {
		panic(err)
	}
	return data
}

// fullToken sets every field a file may keep.
func fullToken(login string) store.Token {
	tk := token(login)
	tk.MinLifetime = 5 * time.Minute
	tk.API = "https://api.github.com"
	tk.ClientID = "Iv23liFake"
	tk.AppURL = "https://github.com/apps/fake-app"
	tk.Provider = "gitlab"
	tk.Reach = &store.Reach{Checked: tk.Minted, AppSlug: "fake-app", Accounts: []string{"octo-org"}, Repos: []string{"other/one"}, Omitted: 2}
	return tk
}

func TestFormWritten(t *testing.T) {
	for name, o := range map[string]Options{"json": options(t.TempDir()), "binary": binaryOptions(t.TempDir())} {
		m := mapMedium{}
		if err := New(m, o).Put(fullToken("octocat")); err != nil {
			t.Fatal(err)
		}
		data := m["https://github.com"]
		if first := data[0]; (first == binaryForm) != o.Binary || (first == '[') == o.Binary {
			t.Errorf("%s: the list begins with %q", name, first)
		}
	}
}

// A list an earlier version wrote as JSON is read by a binary store, and
// the next write converts it, losing nothing.
func TestJSONListIsReadAndConverted(t *testing.T) {
	m := mapMedium{}
	old, older := fullToken("octocat"), fullToken("hubot")
	older.Minted = older.Minted.Add(-time.Minute)
	if err := New(m, options(t.TempDir())).Put(old); err != nil {
		t.Fatal(err)
	}
	if err := New(m, options(t.TempDir())).Put(older); err != nil {
		t.Fatal(err)
	}
	s := New(m, binaryOptions(t.TempDir()))
	if got, err := s.Get(old.Origin, "octocat"); err != nil || !reflect.DeepEqual(got, storetest.AsKept(old)) {
		t.Fatalf("Get from a JSON list = %+v, %v; want %+v", got, err, old)
	}
	if m[old.Origin][0] != '[' {
		t.Fatal("a read rewrote the list")
	}
	newer := token("octocat")
	if err := s.Put(newer); err != nil {
		t.Fatal(err)
	}
	if m[old.Origin][0] != binaryForm {
		t.Fatalf("Put left the list in JSON")
	}
	toks, err := s.List()
	if err != nil || len(toks) != 2 {
		t.Fatalf("List after the conversion = %d tokens, %v; want 2", len(toks), err)
	}
	if !reflect.DeepEqual(toks[0], storetest.AsKept(newer)) || !reflect.DeepEqual(toks[1], storetest.AsKept(older)) {
		t.Errorf("List after the conversion = %+v; want %+v and %+v", toks, newer, older)
	}
}

// A list that does not decode reads as no tokens, and the next write
// replaces it.
func TestCorruptListIsEmpty(t *testing.T) {
	good := binaryList(fullToken("octocat"))
	for name, data := range map[string][]byte{
		"empty":          {},
		"form only":      {binaryForm},
		"cut short":      good[:len(good)-1],
		"trailing bytes": append(bytes.Clone(good), 0),
		"forged count":   {binaryForm, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad json":       []byte(`[{"origin":`),
		"unknown form":   {0x02, 0x00},
	} {
		m := mapMedium{"https://github.com": data}
		s := New(m, binaryOptions(t.TempDir()))
		if _, err := s.Get("https://github.com", ""); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Get = %v; want ErrNotFound", name, err)
		}
		if toks, err := s.List(); err != nil || len(toks) != 0 {
			t.Errorf("%s: List = %d tokens, %v; want none", name, len(toks), err)
		}
		if err := s.Put(token("hubot")); err != nil {
			t.Fatalf("%s: Put: %v", name, err)
		}
		if toks, err := decode(m["https://github.com"]); err != nil || len(toks) != 1 || toks[0].Login != "hubot" {
			t.Errorf("%s: after Put the list holds %d tokens, %v; want hubot's alone", name, len(toks), err)
		}
	}
}

// FuzzDecodeList feeds the list decoder what a token file might hold: it
// refuses or decodes, never panics, and what it accepts survives a trip
// through the binary form unchanged.
func FuzzDecodeList(f *testing.F) {
	f.Add(binaryList(fullToken("octocat"), token("hubot")))
	f.Add(binaryList())
	f.Add([]byte{binaryForm, 0x01})
	f.Add([]byte(`[{"origin":"https://github.com","login":"octocat","access_token":"ghu_fake","expiry":"2999-01-01T00:00:00Z"}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := decode(data)
		if err != nil {
			return
		}
		for _, tk := range toks {
			if r := tk.Reach; r != nil && (r.Omitted < 0 || r.Omitted > 1<<31) && data[0] != binaryForm {
				return // JSON no version wrote: a count the binary form refuses
			}
		}
		// Compared in the binary form, which is blind to a time's zone and
		// to nil against empty lists, where JSON is not.
		want := binaryList(toks...)
		again, err := decode(want)
		if err != nil || len(again) != len(toks) || !bytes.Equal(binaryList(again...), want) {
			t.Fatalf("re-encoding %d accepted tokens gave %d, %v", len(toks), len(again), err)
		}
	})
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
