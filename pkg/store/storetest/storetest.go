// Package storetest checks that a store.Store behaves as the interface
// promises, the way testing/fstest checks an fs.FS: a store's own test calls
// Run with a function that opens a fresh, empty store and, to check that a
// lock dies with its holder, calls LockHolderMain from TestMain and
// TestLockHolderDeath from a test. The tokens it uses are fake, and its
// failure messages never print one in full.
package storetest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

const (
	gh = "https://github.com"

	// wait bounds every wait that should end at once on a correct store,
	// so that a broken one fails the test instead of hanging it.
	wait = 10 * time.Second
	// held is how long a Lock call is given to show that it blocks.
	held = 200 * time.Millisecond
)

// Run checks the behaviour every Store must have. open must return a new,
// empty store each time it is called, and release it with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"EmptyLoginIsNewest", testEmptyLoginIsNewest},
		{"KeptApart", testKeptApart},
		{"PutReplaces", testPutReplaces},
		{"Stale", testStale},
		{"LoginCase", testLoginCase},
		{"ReachRoundTrip", testReachRoundTrip},
		{"RefreshNotHandedOut", testRefreshNotHandedOut},
		{"Delete", testDelete},
		{"Expired", testExpired},
		{"ListNewestFirst", testListNewestFirst},
		{"LockBlocks", testLockBlocks},
		{"LockExcludes", testLockExcludes},
		{"LockKeysApart", testLockKeysApart},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// tok returns a complete token minted age ago that expires in 8 hours.
func tok(origin, login string, age time.Duration) store.Token {
	now := time.Now().Round(0) // as a store gives it back, without a monotonic reading
	return store.Token{
		Origin:      origin,
		Login:       login,
		AccessToken: fmt.Sprintf("ghu_fake_%s_%s_%d", origin, login, now.UnixNano()),
		Expiry:      now.Add(8 * time.Hour),
		MinLifetime: 5 * time.Minute,
		API:         "https://api.example.test",
		ClientID:    "Iv23liFakeClientID",
		Minted:      now.Add(-age),
		AppURL:      "https://github.com/apps/fake-app",
	}
}

// redact shows enough of a token to tell two apart, and not enough to use it.
func redact(s string) string {
	return fmt.Sprintf("%.4s… (sha256 %.8x)", s, sha256.Sum256([]byte(s)))
}

// diff describes how got differs from want, or returns "".
func diff(want, got store.Token) string {
	var d []string
	add := func(field string, w, g any) { d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if got.Origin != want.Origin {
		add("Origin", want.Origin, got.Origin)
	}
	if got.Login != want.Login {
		add("Login", want.Login, got.Login)
	}
	if got.AccessToken != want.AccessToken {
		add("AccessToken", redact(want.AccessToken), redact(got.AccessToken))
	}
	if !got.Expiry.Equal(want.Expiry) {
		add("Expiry", want.Expiry, got.Expiry)
	}
	if got.MinLifetime != want.MinLifetime {
		add("MinLifetime", want.MinLifetime, got.MinLifetime)
	}
	if got.API != want.API {
		add("API", want.API, got.API)
	}
	if got.ClientID != want.ClientID {
		add("ClientID", want.ClientID, got.ClientID)
	}
	if got.AppURL != want.AppURL {
		add("AppURL", want.AppURL, got.AppURL)
	}
	if !got.Minted.Equal(want.Minted) {
		add("Minted", want.Minted, got.Minted)
	}
	if got.Provider != want.Provider {
		add("Provider", want.Provider, got.Provider)
	}
	if !sameReach(want.Reach, got.Reach) {
		add("Reach", reachString(want.Reach), reachString(got.Reach))
	}
	return strings.Join(d, "; ")
}

func sameReach(a, b *store.Reach) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Checked.Equal(b.Checked) && a.AppSlug == b.AppSlug && a.Omitted == b.Omitted &&
		slices.Equal(a.Accounts, b.Accounts) && slices.Equal(a.Repos, b.Repos)
}

func reachString(r *store.Reach) string {
	if r == nil {
		return "nil"
	}
	return fmt.Sprintf("{%v %q %q %q omitted %d}", r.Checked, r.AppSlug, r.Accounts, r.Repos, r.Omitted)
}

func put(t *testing.T, s store.Store, toks ...store.Token) {
	t.Helper()
	for _, tk := range toks {
		if err := s.Put(tk); err != nil {
			t.Fatalf("Put(%s, %s): %v", tk.Origin, tk.Login, err)
		}
	}
}

// wantGet checks that Get(origin, login) returns want.
func wantGet(t *testing.T, s store.Store, origin, login string, want store.Token) {
	t.Helper()
	got, err := s.Get(origin, login)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", origin, login, err)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("Get(%q, %q): %s", origin, login, d)
	}
}

// wantNotFound checks that Get(origin, login) returns store.ErrNotFound.
func wantNotFound(t *testing.T, s store.Store, origin, login string) {
	t.Helper()
	got, err := s.Get(origin, login)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q, %q) = (login %q, token %s), %v; want ErrNotFound", origin, login, got.Login, redact(got.AccessToken), err)
	}
}

// wantList checks that List returns want, in that order.
func wantList(t *testing.T, s store.Store, want ...store.Token) {
	t.Helper()
	got, err := s.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != len(want) {
		var names []string
		for _, g := range got {
			names = append(names, g.Origin+" "+g.Login)
		}
		t.Fatalf("List returned %d tokens %q, want %d", len(got), names, len(want))
	}
	for i := range want {
		if d := diff(want[i], got[i]); d != "" {
			t.Errorf("List()[%d]: %s", i, d)
		}
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	a := tok(gh, "octocat", 0)
	put(t, s, a)
	wantGet(t, s, gh, "octocat", a)
	wantGet(t, s, gh, "", a)
	wantList(t, s, a)

	// A GitLab below a path: its base URL is the origin, and the provider
	// is kept.
	gl := tok("https://example.test/gitlab", "ada", time.Second)
	gl.Provider, gl.API = "gitlab", "https://example.test/gitlab/api/v4"
	put(t, s, gl)
	wantGet(t, s, gl.Origin, "ada", gl)
	wantNotFound(t, s, "https://example.test", "ada")
	wantList(t, s, a, gl)
}

func testNotFound(t *testing.T, s store.Store) {
	wantNotFound(t, s, gh, "")
	wantNotFound(t, s, gh, "octocat")
	put(t, s, tok(gh, "octocat", 0))
	wantNotFound(t, s, gh, "hubot")
	wantNotFound(t, s, "https://example.test", "")
	wantNotFound(t, s, "https://example.test", "octocat")
}

func testEmptyLoginIsNewest(t *testing.T, s store.Store) {
	mid, newest, oldest := tok(gh, "mid", time.Hour), tok(gh, "newest", time.Minute), tok(gh, "oldest", 2*time.Hour)
	put(t, s, mid, newest, oldest) // the order of Puts must not matter
	wantGet(t, s, gh, "", newest)
	wantGet(t, s, gh, "mid", mid)
	wantGet(t, s, gh, "oldest", oldest)
}

// Origins are compared as given: callers normalise them, the store does not.
var origins = []string{gh, "https://github.com:8443", "http://127.0.0.1:1234", "https://GITHUB.com", "http://github.com"}

func testKeptApart(t *testing.T, s store.Store) {
	var all []store.Token
	for i, o := range origins {
		a := tok(o, "octocat", time.Duration(10*i+1)*time.Minute)
		b := tok(o, "hubot", time.Duration(10*i)*time.Minute)
		put(t, s, a, b)
		all = append(all, a, b)
	}
	for _, tk := range all {
		wantGet(t, s, tk.Origin, tk.Login, tk)
	}
	for i, o := range origins {
		wantGet(t, s, o, "", all[2*i+1]) // hubot was minted last on each
	}
}

func testPutReplaces(t *testing.T, s store.Store) {
	old := tok(gh, "octocat", time.Hour)
	other := tok(gh, "hubot", 30*time.Minute)
	put(t, s, old, other)
	renewed := tok(gh, "octocat", 0)
	renewed.ClientID = "Iv23liOtherClient"
	put(t, s, renewed)
	wantGet(t, s, gh, "octocat", renewed)
	wantList(t, s, renewed, other)
}

// testStale checks that a late write-back of an older token does not undo
// a newer sign-in or renewal.
func testStale(t *testing.T, s store.Store) {
	kept := tok(gh, "octocat", time.Minute)
	put(t, s, kept)
	for _, login := range []string{"octocat", "OctoCat"} {
		older := tok(gh, login, 2*time.Minute)
		if err := s.Put(older); !errors.Is(err, store.ErrStale) {
			t.Errorf("Put(%s) of a token minted before the kept one: %v; want store.ErrStale", login, err)
		}
		wantGet(t, s, gh, "octocat", kept)
	}
	wantList(t, s, kept)
}

// testLoginCase checks that logins are one account whatever their case,
// and that a token keeps the spelling it was put with.
func testLoginCase(t *testing.T, s store.Store) {
	a := tok(gh, "octocat", time.Hour)
	put(t, s, a)
	wantGet(t, s, gh, "OctoCat", a)
	wantGet(t, s, gh, "OCTOCAT", a)

	upper := tok(gh, "OCTOCAT", 0)
	put(t, s, upper)
	wantGet(t, s, gh, "octocat", upper)
	wantList(t, s, upper)

	if err := s.Delete(gh, "OctoCat"); err != nil {
		t.Fatalf("Delete(%q, OctoCat): %v", gh, err)
	}
	wantNotFound(t, s, gh, "octocat")
	wantNotFound(t, s, gh, "OCTOCAT")
	wantList(t, s)
}

func testReachRoundTrip(t *testing.T, s store.Store) {
	a := tok(gh, "octocat", time.Minute)
	a.Reach = &store.Reach{
		Checked:  time.Now().Add(-time.Minute),
		AppSlug:  "fake-app",
		Accounts: []string{"octo-org", "octocat"},
		Repos:    []string{"hubot/hello-world", "other/repo"},
		Omitted:  3,
	}
	bare := tok(gh, "hubot", 0)
	bare.Reach = &store.Reach{Checked: time.Now()} // checked, and reaching nothing
	put(t, s, a, bare)
	wantGet(t, s, gh, "octocat", a)
	wantGet(t, s, gh, "hubot", bare)
	wantList(t, s, bare, a)
}

// testRefreshNotHandedOut checks that a refresh token, which outlives the
// session by months, is never handed out, and never kept by a store that
// writes outside the process (one without KeepsRefreshTokens).
func testRefreshNotHandedOut(t *testing.T, s store.Store) {
	k, ok := s.(interface{ KeepsRefreshTokens() bool })
	keeps := ok && k.KeepsRefreshTokens()
	a := tok(gh, "octocat", 0)
	a.RefreshToken, a.RefreshUntil = "ghr_fake_refresh", time.Now().Add(30*24*time.Hour)
	put(t, s, a)

	got, err := s.Get(gh, "octocat")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %d tokens, %v; want 1", len(list), err)
	}
	for what, g := range map[string]store.Token{"Get": got, "List": list[0]} {
		if d := diff(a, g); d != "" {
			t.Errorf("%s: %s", what, d)
		}
		if g.RefreshToken != "" {
			t.Errorf("%s handed out the refresh token %s", what, redact(g.RefreshToken))
		}
		if !keeps && !g.RefreshUntil.IsZero() {
			t.Errorf("%s returned RefreshUntil %v from a store that does not keep refresh tokens", what, g.RefreshUntil)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	for _, err := range []error{s.Delete(gh, "octocat"), s.Delete(gh, "")} {
		if err != nil {
			t.Fatalf("Delete on an empty store: %v", err)
		}
	}
	a, b := tok(gh, "octocat", time.Minute), tok(gh, "hubot", 0)
	c, d := tok(origins[1], "octocat", 0), tok(origins[3], "octocat", time.Hour)
	put(t, s, a, b, c, d)

	if err := s.Delete(gh, "hubot"); err != nil {
		t.Fatalf("Delete(%q, hubot): %v", gh, err)
	}
	wantNotFound(t, s, gh, "hubot")
	wantGet(t, s, gh, "", a)
	wantGet(t, s, c.Origin, "octocat", c)

	if err := s.Delete(gh, "hubot"); err != nil {
		t.Fatalf("Delete of a login already deleted: %v", err)
	}
	if err := s.Delete(gh, "nobody"); err != nil {
		t.Fatalf("Delete of an unknown login: %v", err)
	}

	put(t, s, b)
	if err := s.Delete(gh, ""); err != nil {
		t.Fatalf("Delete(%q, \"\"): %v", gh, err)
	}
	wantNotFound(t, s, gh, "")
	wantNotFound(t, s, gh, "octocat")
	wantGet(t, s, c.Origin, "octocat", c)
	wantGet(t, s, d.Origin, "octocat", d)
	wantList(t, s, c, d)
}

func testExpired(t *testing.T, s store.Store) {
	dead := tok(gh, "octocat", time.Minute)
	dead.Expiry = time.Now().Add(-time.Minute)
	older := tok(gh, "hubot", time.Hour)
	// The store drops a token at its Expiry; MinLifetime is the caller's
	// business (store.Token.Usable), so a token close to Expiry is kept.
	short := tok(origins[1], "octocat", 0)
	short.Expiry = time.Now().Add(time.Hour)
	short.MinLifetime = 2 * time.Hour
	put(t, s, dead, older, short)

	wantNotFound(t, s, gh, "octocat")
	wantGet(t, s, gh, "", older) // the expired newer one is forgotten, not picked
	wantGet(t, s, short.Origin, "octocat", short)
	wantList(t, s, short, older)

	// Putting an expired token over a live one leaves nothing to hand out.
	put(t, s, dead)
	dead.Login = "hubot"
	put(t, s, dead)
	wantNotFound(t, s, gh, "")
	wantList(t, s, short)
}

func testListNewestFirst(t *testing.T, s store.Store) {
	if got, err := s.List(); err != nil || len(got) != 0 {
		t.Fatalf("List of an empty store = %d tokens, %v; want none", len(got), err)
	}
	a := tok(origins[2], "a", 3*time.Hour)
	b := tok(gh, "b", time.Hour)
	c := tok(origins[1], "c", 0)
	d := tok(gh, "d", 2*time.Hour)
	put(t, s, a, b, c, d)
	wantList(t, s, c, b, d, a)
}

// lockWithin calls Lock with a context that ends after d.
func lockWithin(s store.Store, d time.Duration, origin, login string) (func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Lock(ctx, origin, login)
}

// mustLock takes a lock that should be free, failing the test if it is not.
func mustLock(t *testing.T, s store.Store, origin, login string) func() {
	t.Helper()
	unlock, err := lockWithin(s, wait, origin, login)
	if err != nil {
		t.Fatalf("Lock(%q, %q) of a free lock: %v", origin, login, err)
	}
	return unlock
}

// wantBlocked checks that the lock on origin and login is held elsewhere.
func wantBlocked(t *testing.T, s store.Store, origin, login string) {
	t.Helper()
	unlock, err := lockWithin(s, held, origin, login)
	if err == nil {
		unlock()
		t.Fatalf("Lock(%q, %q) succeeded while the lock was held", origin, login)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock(%q, %q) while held, until the context ended: %v; want context.DeadlineExceeded", origin, login, err)
	}
}

func testLockBlocks(t *testing.T, s store.Store) {
	unlock := mustLock(t, s, gh, "octocat")
	wantBlocked(t, s, gh, "octocat")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if u, err := s.Lock(ctx, gh, "octocat"); !errors.Is(err, context.Canceled) {
		if err == nil {
			u()
		}
		t.Fatalf("Lock with a cancelled context while held: %v; want context.Canceled", err)
	}

	// A waiter gets the lock once the holder lets go.
	got := make(chan error, 1)
	go func() {
		u, err := lockWithin(s, wait, gh, "octocat")
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Lock returned (%v) while the lock was held", err)
	case <-time.After(held):
	}
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}

	// Unlocking twice is harmless: it must not release the next holder.
	again := mustLock(t, s, gh, "octocat")
	defer again()
	unlock()
	wantBlocked(t, s, gh, "octocat")
}

func testLockExcludes(t *testing.T, s store.Store) {
	var inside atomic.Int32
	var overlap atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 2 {
				unlock, err := lockWithin(s, wait, gh, "octocat")
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) > 1 {
					overlap.Store(true)
				}
				time.Sleep(time.Millisecond)
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Lock: %v", err)
	}
	if overlap.Load() {
		t.Error("two goroutines held the same lock at once")
	}
}

func testLockKeysApart(t *testing.T, s store.Store) {
	defer mustLock(t, s, gh, "octocat")()
	defer mustLock(t, s, gh, "hubot")()
	defer mustLock(t, s, gh, "")()
	for _, o := range origins[1:] {
		defer mustLock(t, s, o, "octocat")()
	}
	wantBlocked(t, s, gh, "octocat")
}

func testConcurrent(t *testing.T, s store.Store) {
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds)
	final := make([]store.Token, workers)
	for w := range workers {
		wg.Go(func() {
			origin := origins[w%2]
			login := fmt.Sprintf("user%d", w)
			for r := range rounds {
				tk := tok(origin, login, time.Duration(workers*rounds-r)*time.Minute)
				if err := s.Put(tk); err != nil {
					errs <- fmt.Sprintf("Put(%s): %v", login, err)
					return
				}
				got, err := s.Get(origin, login)
				if err != nil {
					errs <- fmt.Sprintf("Get(%s) after Put: %v", login, err)
					return
				}
				if d := diff(tk, got); d != "" {
					errs <- fmt.Sprintf("Get(%s) after Put: %s", login, d)
					return
				}
				if _, err := s.Get(origin, ""); err != nil {
					errs <- fmt.Sprintf("Get(%s, \"\"): %v", origin, err)
				}
				if _, err := s.List(); err != nil {
					errs <- fmt.Sprintf("List: %v", err)
				}
				final[w] = tk
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		return
	}
	for _, tk := range final {
		wantGet(t, s, tk.Origin, tk.Login, tk)
	}
	got, err := s.List()
	if err != nil || len(got) != workers {
		t.Fatalf("List after concurrent Puts = %d tokens, %v; want %d (an update was lost)", len(got), err, workers)
	}
}

// holderEnv marks the re-executed test binary that holds a lock for
// TestLockHolderDeath.
const holderEnv = "GHAPP_STORETEST_LOCK_HOLDER"

const holderOrigin, holderLogin = "https://holder.example.test", "holder"

// LockHolderMain lets a store's test binary act as the lock holder that
// TestLockHolderDeath starts and kills. Call it first in TestMain:
//
//	func TestMain(m *testing.M) {
//		storetest.LockHolderMain(func() (store.Store, error) { return mystore.Open(os.Getenv("MYSTORE_TEST_DIR")) })
//		os.Exit(m.Run())
//	}
//
// In an ordinary run it returns at once. In the holder it opens the store
// with open, takes a lock, says so on stdout, and waits until it is killed
// or its stdin closes (so that it never outlives the test); it never
// returns.
func LockHolderMain(open func() (store.Store, error)) {
	if os.Getenv(holderEnv) == "" {
		return
	}
	s, err := open()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock holder: open:", err)
		os.Exit(2)
	}
	if _, err := lockWithin(s, wait, holderOrigin, holderLogin); err != nil {
		fmt.Fprintln(os.Stderr, "lock holder: Lock:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestLockHolderDeath checks that a lock is released when the process that
// holds it is killed. It re-executes the test binary, whose TestMain must
// call LockHolderMain; env is added to that process's environment so that
// its open function reaches the same store as s.
func TestLockHolderDeath(t *testing.T, s store.Store, env ...string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), holderEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the lock holder: %v", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "locked\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the lock holder said %q, not \"locked\" (does TestMain call storetest.LockHolderMain?); its stderr: %s", l, stderr.String())
		}
	case <-time.After(wait):
		t.Fatalf("the lock holder did not take the lock within %v", wait)
	}

	wantBlocked(t, s, holderOrigin, holderLogin)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("killing the lock holder: %v", err)
	}
	cmd.Wait()
	mustLock(t, s, holderOrigin, holderLogin)()
}

// FullToken sets every field of a token, so that a round trip (through a
// store, a wire or a file format) that drops one shows.
func FullToken() store.Token {
	at := time.Date(2026, 11, 30, 7, 8, 9, 123456789, time.UTC)
	return store.Token{
		Origin:       "https://github.com:8443",
		Login:        "Octo-Cat",
		AccessToken:  "ghu_0123456789abcdef",
		Expiry:       at.Add(8 * time.Hour),
		MinLifetime:  5 * time.Minute,
		API:          "https://github.com:8443/api/v3",
		ClientID:     "Iv23liTestClient",
		Minted:       at,
		AppURL:       "https://github.com:8443/github-apps/octo-app",
		RefreshToken: "ghr_secret",
		RefreshUntil: at.Add(180 * 24 * time.Hour),
		Reach: &store.Reach{
			Checked:  at.Add(time.Minute),
			AppSlug:  "octo-app",
			Accounts: []string{"octo-org", "Octo-Cat"},
			Repos:    []string{"other/one", "other/two"},
			Omitted:  3,
		},
	}
}

// AsKept is tk as a store gives it back: times in UTC, with no monotonic
// clock reading.
func AsKept(tk store.Token) store.Token {
	tk.Expiry, tk.Minted = tk.Expiry.UTC().Round(0), tk.Minted.UTC().Round(0)
	if tk.Reach != nil {
		r := *tk.Reach
		r.Checked = r.Checked.UTC().Round(0)
		tk.Reach = &r
	}
	return tk
}
