//go:build linux || darwin

package auto

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/memory"
)

// daemonArg makes the test binary serve as the memory daemon: the client
// starts it with no inherited environment, so an argument says so.
const daemonArg = "ghapp-auto-test-daemon"

func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == daemonArg {
		if err := memory.Serve(os.Getenv("GHAPP_RUNTIME_DIR"), memory.ServeOptions{IdleExit: 5 * time.Second, SignIn: instantSignIn}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		syscall.Exit(0)
	}
	os.Exit(m.Run())
}

// instantSignIn is a sign-in whose code is entered the moment it is shown.
func instantSignIn(ctx context.Context, req store.SignInRequest, show func(store.SignIn)) (store.Token, error) {
	show(store.SignIn{UserCode: "AUTO-0001", VerificationURI: "https://github.com/login/device", Expiry: time.Now().Add(15 * time.Minute)})
	t := testToken(req.Login)
	t.AccessToken = "ghu_signedin_" + req.Login
	return t, nil
}

func testDaemon(t *testing.T) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, daemonArg}
}

func testToken(login string) store.Token {
	now := time.Now()
	return store.Token{Origin: "https://github.com", Login: login, AccessToken: "ghu_" + login, Expiry: now.Add(time.Hour), Minted: now}
}

// tokenFiles lists what the tmpfs store would have written in dir.
func tokenFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "tokens-*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A token too large for the daemon is refused, and stays refused: it must
// not go to files instead, and later tokens still go to the daemon.
func TestTooLargeForTheDaemonDoesNotFallBack(t *testing.T) {
	dir := shm(t)
	var notices []string
	st, err := Open("auto", Options{Dir: dir, Daemon: testDaemon(t), Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.(interface{ Stop() error }).Stop() })
	small := testToken("octocat")
	if err := st.Put(small); err != nil {
		t.Fatalf("Put: %v", err)
	}

	big := testToken("hubot")
	big.Reach = &store.Reach{Checked: time.Now()}
	for i := range 5000 { // about 70 kB: over the daemon's 64 KiB
		big.Reach.Repos = append(big.Reach.Repos, fmt.Sprintf("octo-org/repository-%05d", i))
	}
	err = st.Put(big)
	if err == nil {
		t.Fatal("a 70 kB token was accepted")
	}
	if errors.Is(err, memory.ErrUnavailable) || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Put of a 70 kB token: %v; want the daemon's refusal, saying it is too large", err)
	}
	if files := tokenFiles(t, dir); len(files) != 0 {
		t.Errorf("the refused token went to files: %q", files)
	}
	if len(notices) != 0 {
		t.Errorf("notices: %q", notices)
	}
	if k, ok := st.(interface{ KeepsRefreshTokens() bool }); !ok || !k.KeepsRefreshTokens() {
		t.Error("the store switched to files")
	}
	next := testToken("monalisa")
	if err := st.Put(next); err != nil {
		t.Fatalf("Put after the refusal: %v", err)
	}
	if files := tokenFiles(t, dir); len(files) != 0 {
		t.Errorf("a later token went to files: %q", files)
	}
	for _, want := range []store.Token{small, next} {
		if got, err := st.Get(want.Origin, want.Login); err != nil || got.AccessToken != want.AccessToken {
			t.Errorf("Get(%s) from the daemon: %v", want.Login, err)
		}
	}
	if _, err := st.Get(big.Origin, big.Login); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of the refused token: %v; want ErrNotFound", err)
	}
}

// A stale put is the caller's to see, not a reason to write files.
func TestStalePutDoesNotFallBack(t *testing.T) {
	dir := shm(t)
	st, err := Open("auto", Options{Dir: dir, Daemon: testDaemon(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.(interface{ Stop() error }).Stop() })
	newer := testToken("octocat")
	if err := st.Put(newer); err != nil {
		t.Fatal(err)
	}
	older := testToken("octocat")
	older.AccessToken, older.Minted = "ghu_older", newer.Minted.Add(-time.Minute)
	if err := st.Put(older); !errors.Is(err, store.ErrStale) {
		t.Fatalf("Put of an older token: %v; want store.ErrStale", err)
	}
	if files := tokenFiles(t, dir); len(files) != 0 {
		t.Errorf("the stale token went to files: %q", files)
	}
}

// The fallback writes to disk only when told it may: a daemon that cannot
// start does not make a persistent directory acceptable.
func TestFallbackKeepsOffDisk(t *testing.T) {
	parent := t.TempDir()
	if mem, err := runtimedir.OnMemoryFS(parent); err != nil || mem {
		t.Skipf("the temporary directory is on a memory file system (%v)", err)
	}
	dir := filepath.Join(parent, "rt")
	st, err := Open("auto", Options{Dir: dir, Daemon: []string{"/bin/false"}})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Put(testToken("octocat"))
	if err == nil || !strings.Contains(err.Error(), "not on a memory file system") {
		t.Errorf("Put with no daemon and a runtime dir on disk: %v; want a refusal", err)
	}
	if files := tokenFiles(t, dir); len(files) != 0 {
		t.Errorf("token files on disk: %q", files)
	}
}

// While the daemon is in use, sign-ins go to it.
func TestSignInsGoToTheDaemon(t *testing.T) {
	dir := shm(t)
	st, err := Open("auto", Options{Dir: dir, Daemon: testDaemon(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.(interface{ Stop() error }).Stop() })
	if b, ok := st.(interface{ BackgroundSignIns() bool }); !ok || !b.BackgroundSignIns() {
		t.Fatal("the auto store does not offer background sign-ins with a daemon")
	}
	si, ok := st.(store.SignIns)
	if !ok {
		t.Fatal("the auto store is not a store.SignIns")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := store.SignInRequest{Origin: "https://github.com", Login: "octocat", ClientID: "Iv23liTestClient"}
	code, err := si.StartSignIn(ctx, req)
	if err != nil || code.UserCode != "AUTO-0001" {
		t.Fatalf("StartSignIn = %+v, %v", code, err)
	}
	if tk, err := si.WaitSignIn(ctx, req.Origin, req.Login); err != nil || tk.AccessToken != "ghu_signedin_octocat" {
		t.Fatalf("WaitSignIn = %s, %v", tk.AccessToken, err)
	}
	if tk, err := st.Get(req.Origin, req.Login); err != nil || tk.AccessToken != "ghu_signedin_octocat" {
		t.Fatalf("Get after the sign-in = %s, %v", tk.AccessToken, err)
	}
	if p, err := si.PendingSignIns(); err != nil || len(p) != 0 {
		t.Errorf("PendingSignIns = %+v, %v", p, err)
	}
	if files := tokenFiles(t, dir); len(files) != 0 {
		t.Errorf("token files: %q", files)
	}
}

// Once files are in use, sign-ins are the caller's to run.
func TestNoBackgroundSignInsWithFiles(t *testing.T) {
	dir := shm(t)
	var notices []string
	st, err := Open("auto", Options{Dir: dir, Daemon: []string{"/bin/false"}, Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	si := st.(store.SignIns)
	ctx := context.Background()
	_, err = si.StartSignIn(ctx, store.SignInRequest{Origin: "https://github.com", ClientID: "Iv23liTestClient"})
	if !errors.Is(err, store.ErrNoBackgroundSignIn) || !strings.Contains(err.Error(), "files") {
		t.Fatalf("StartSignIn without a daemon: %v; want store.ErrNoBackgroundSignIn, saying files are in use", err)
	}
	if len(notices) != 1 {
		t.Errorf("notices = %q; want one, that files are in use", notices)
	}
	if st.(interface{ BackgroundSignIns() bool }).BackgroundSignIns() {
		t.Error("BackgroundSignIns with files in use")
	}
	if _, err := si.WaitSignIn(ctx, "https://github.com", ""); !errors.Is(err, store.ErrNoBackgroundSignIn) {
		t.Errorf("WaitSignIn with files in use: %v", err)
	}
	if p, err := si.PendingSignIns(); err != nil || len(p) != 0 {
		t.Errorf("PendingSignIns with files in use = %+v, %v", p, err)
	}
	// Sign-ins the caller runs keep their tokens in files.
	if err := st.Put(testToken("octocat")); err != nil {
		t.Fatal(err)
	}
	if files := tokenFiles(t, dir); len(files) == 0 {
		t.Error("no token file after a Put with files in use")
	}
}
