//go:build linux || darwin

package auto

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

func shm(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("/dev/shm", "ghapp-auto-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	return filepath.Join(parent, "rt")
}

func TestFallsBackToFilesWhenTheDaemonCannotStart(t *testing.T) {
	dir := shm(t)
	var notices []string
	o := Options{Dir: dir, Daemon: []string{"/bin/false"}, Notice: func(m string) { notices = append(notices, m) }}
	st, err := Open("auto", o)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := st.Lock(context.Background(), "https://github.com", "")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	tok := store.Token{Origin: "https://github.com", Login: "octocat", AccessToken: "ghu_test", Expiry: time.Now().Add(time.Hour), Minted: time.Now()}
	if err := st.Put(tok); err != nil {
		t.Fatalf("Put: %v", err)
	}
	unlock()
	if len(notices) != 1 || !strings.Contains(notices[0], "keeping tokens in files on tmpfs") {
		t.Errorf("notices = %q, want one that says where tokens go instead", notices)
	}
	if k, ok := st.(interface{ KeepsRefreshTokens() bool }); !ok || k.KeepsRefreshTokens() {
		t.Error("the file fallback claims to keep refresh tokens")
	}

	// A later process finds the token in the files, without a notice.
	notices = nil
	again, _ := Open("auto", o)
	got, err := again.Get("https://github.com", "")
	if err != nil || got.AccessToken != tok.AccessToken {
		t.Fatalf("Get after fallback: %v", err)
	}
	if len(notices) != 0 {
		t.Errorf("a read said %q", notices)
	}
	if err := again.Delete("https://github.com", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Get("https://github.com", ""); err != store.ErrNotFound {
		t.Errorf("Get after Delete: %v", err)
	}
}

func TestNames(t *testing.T) {
	dir := shm(t)
	for _, name := range []string{"", "auto", "memory", "tmpfs"} {
		if _, err := Open(name, Options{Dir: dir}); err != nil {
			t.Errorf("Open(%q): %v", name, err)
		}
	}
	if _, err := Open("floppy", Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), NameList()) {
		t.Errorf("Open(floppy) = %v, want an error naming the stores", err)
	}
}
