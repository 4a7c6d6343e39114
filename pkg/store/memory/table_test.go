package memory

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// The table is driven by a fake clock: nothing here sleeps. Background
// calls (renewals, reach lookups) are fakes that report each call on a
// channel and return what the test sends them.

const gh = "https://github.com"

// never bounds waits for a goroutine that should already be there, so that
// a bug fails the test instead of hanging it. No test waits it out.
const never = 10 * time.Second

func newTestTable(t *testing.T, opts tableOptions) (*table, *testsupport.Clock) {
	t.Helper()
	clock := testsupport.NewClock()
	opts.Now = clock.Now
	tb := newTable(opts)
	t.Cleanup(func() {
		tb.Close()
		tb.wait()
	})
	return tb, clock
}

// tok is a token for login on github.com minted now that lives for life.
func tok(now time.Time, login, access string, life time.Duration) store.Token {
	return store.Token{
		Origin:      gh,
		Login:       login,
		AccessToken: access,
		Expiry:      now.Add(life),
		MinLifetime: 5 * time.Minute,
		API:         "https://api.github.com",
		ClientID:    "Iv23liTestClient",
		Minted:      now,
	}
}

func mustPutT(t *testing.T, tb *table, tk store.Token) {
	t.Helper()
	if err := tb.Put(tk); err != nil {
		t.Fatalf("Put(%s): %v", tk.Login, err)
	}
}

func wantGetT(t *testing.T, tb *table, login, access string) store.Token {
	t.Helper()
	got, ok := tb.Get(gh, login)
	if !ok {
		t.Fatalf("Get(%q): nothing; want %s", login, access)
	}
	if got.AccessToken != access {
		t.Fatalf("Get(%q) = %s; want %s", login, got.AccessToken, access)
	}
	return got
}

func wantNoneT(t *testing.T, tb *table, login string) {
	t.Helper()
	if got, ok := tb.Get(gh, login); ok {
		t.Fatalf("Get(%q) = %s; want nothing", login, got.AccessToken)
	}
}

// kept returns the token the table keeps for login, refresh token and all.
func kept(tb *table, login string) (store.Token, bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	t, ok := tb.tokens[keyOf(gh, login)]
	return t, ok
}

func wantNext(t *testing.T, tb *table, wake time.Time, exit bool) {
	t.Helper()
	gotWake, gotExit := tb.Next()
	if !gotWake.Equal(wake) || gotExit != exit {
		t.Fatalf("Next() = %v, %v; want %v, %v", gotWake, gotExit, wake, exit)
	}
}

func TestTableExpiry(t *testing.T) {
	tb, clock := newTestTable(t, tableOptions{})
	t0 := clock.Now()
	mustPutT(t, tb, tok(t0, "octocat", "ghu_a", time.Hour))
	mustPutT(t, tb, tok(t0, "hubot", "ghu_b", 2*time.Hour))
	wantNext(t, tb, t0.Add(time.Hour), false)

	clock.Advance(time.Hour - time.Nanosecond)
	wantGetT(t, tb, "octocat", "ghu_a")
	clock.Advance(time.Nanosecond)
	wantNoneT(t, tb, "octocat")
	if l := tb.List(); len(l) != 1 || l[0].Login != "hubot" {
		t.Fatalf("List at octocat's expiry = %v; want only hubot", l)
	}
	wantGetT(t, tb, "", "ghu_b") // the expired one is not picked, even if newer
	wantNext(t, tb, t0.Add(2*time.Hour), false)
	if _, ok := kept(tb, "octocat"); ok {
		t.Error("Next kept the expired token")
	}

	// An expired token still replaces: nothing is left to hand out.
	mustPutT(t, tb, tok(t0.Add(time.Minute), "hubot", "ghu_dead", -time.Minute))
	wantNoneT(t, tb, "hubot")
}

func TestTablePickIgnoresCase(t *testing.T) {
	tb, clock := newTestTable(t, tableOptions{})
	t0 := clock.Now()
	mustPutT(t, tb, tok(t0, "Octocat", "ghu_a", time.Hour))
	mustPutT(t, tb, tok(t0.Add(time.Minute), "hubot", "ghu_b", time.Hour))
	mustPutT(t, tb, tok(t0.Add(2*time.Minute), "elsewhere", "ghu_c", time.Hour))
	tb.Delete(gh, "ELSEWHERE")

	wantGetT(t, tb, "", "ghu_b") // the newest on the origin
	got := wantGetT(t, tb, "OCTOCAT", "ghu_a")
	if got.Login != "Octocat" {
		t.Errorf("Login = %q; want the spelling it was put with", got.Login)
	}
	if _, ok := tb.Get("https://example.test", ""); ok {
		t.Error("Get on another origin found a token")
	}

	// Another spelling of the same login replaces, it does not add.
	mustPutT(t, tb, tok(t0.Add(3*time.Minute), "octocat", "ghu_d", time.Hour))
	wantGetT(t, tb, "Octocat", "ghu_d")
	wantGetT(t, tb, "", "ghu_d")
	if l := tb.List(); len(l) != 2 || l[0].AccessToken != "ghu_d" || l[1].AccessToken != "ghu_b" {
		t.Fatalf("List = %v; want octocat then hubot", l)
	}
	tb.Delete(gh, "")
	if l := tb.List(); len(l) != 0 {
		t.Fatalf("List after deleting the origin = %v", l)
	}
}

func TestTableStalePutRefused(t *testing.T) {
	tb, clock := newTestTable(t, tableOptions{})
	t0 := clock.Now()
	newer := tok(t0, "octocat", "ghu_new", time.Hour)
	mustPutT(t, tb, newer)
	older := tok(t0.Add(-time.Second), "OctoCat", "ghu_old", 2*time.Hour)
	if err := tb.Put(older); !errors.Is(err, store.ErrStale) {
		t.Fatalf("Put of an older token = %v; want ErrStale", err)
	}
	wantGetT(t, tb, "octocat", "ghu_new")

	// Minted at the same time is not stale: a write-back of what Get
	// returned is always accepted.
	same := newer
	same.MinLifetime = time.Minute
	mustPutT(t, tb, same)
	if got, _ := tb.Get(gh, "octocat"); got.MinLifetime != time.Minute {
		t.Error("a put minted at the same time was not kept")
	}

	// Once the kept token has expired, an older one is welcome.
	clock.Advance(time.Hour)
	mustPutT(t, tb, older)
	wantGetT(t, tb, "octocat", "ghu_old")
}

func TestTableRefreshTokenStaysInside(t *testing.T) {
	tb, clock := newTestTable(t, tableOptions{})
	t0 := clock.Now()
	tk := tok(t0, "octocat", "ghu_a", 8*time.Hour)
	tk.RefreshToken, tk.RefreshUntil = "ghr_secret", t0.Add(30*24*time.Hour)
	mustPutT(t, tb, tk)

	got := wantGetT(t, tb, "octocat", "ghu_a")
	if got.RefreshToken != "" {
		t.Fatal("Get handed out the refresh token")
	}
	for _, l := range tb.List() {
		if l.RefreshToken != "" {
			t.Fatal("List handed out the refresh token")
		}
	}

	// The helper writes back what Get returned, with a new Reach: the
	// refresh token must survive.
	got.Reach = &store.Reach{Checked: t0, Accounts: []string{"octocat"}}
	mustPutT(t, tb, got)
	k, _ := kept(tb, "octocat")
	if k.RefreshToken != "ghr_secret" || !k.RefreshUntil.Equal(tk.RefreshUntil) || k.Reach == nil {
		t.Fatalf("after a write-back: refresh token kept %v, until %v, reach %v", k.RefreshToken == "ghr_secret", k.RefreshUntil, k.Reach)
	}

	// A new access token without refresh fields (a sign-in without
	// ghapp.refresh) takes them away.
	plain := tok(t0.Add(time.Minute), "octocat", "ghu_b", 8*time.Hour)
	mustPutT(t, tb, plain)
	if k, _ := kept(tb, "octocat"); k.RefreshToken != "" {
		t.Fatal("a new token inherited the old one's refresh token")
	}
}

// fakeRenewer stands in for ServeOptions.Refresh.
type fakeRenewer struct {
	calls   chan store.Token
	results chan renewal
}

type renewal struct {
	t   store.Token
	err error
}

func newFakeRenewer() *fakeRenewer {
	return &fakeRenewer{calls: make(chan store.Token, 10), results: make(chan renewal)}
}

func (f *fakeRenewer) refresh(ctx context.Context, t store.Token) (store.Token, error) {
	f.calls <- t
	select {
	case r := <-f.results:
		return r.t, r.err
	case <-ctx.Done():
		return store.Token{}, ctx.Err()
	}
}

func (f *fakeRenewer) called(t *testing.T) store.Token {
	t.Helper()
	select {
	case tk := <-f.calls:
		return tk
	case <-time.After(never):
		t.Fatal("no renewal started")
		return store.Token{}
	}
}

func (f *fakeRenewer) notCalled(t *testing.T) {
	t.Helper()
	select {
	case tk := <-f.calls:
		t.Fatalf("a renewal of %s started", tk.AccessToken)
	default:
	}
}

func refreshable(now time.Time, access string, until time.Duration) store.Token {
	tk := tok(now, "octocat", access, 8*time.Hour)
	tk.RefreshToken, tk.RefreshUntil = "ghr_"+access, now.Add(until)
	return tk
}

func TestTableRefreshDue(t *testing.T) {
	f := newFakeRenewer()
	tb, clock := newTestTable(t, tableOptions{Refresh: f.refresh})
	t0 := clock.Now()
	mustPutT(t, tb, refreshable(t0, "ghu_a", 30*24*time.Hour))
	// MinLifetime (5m) plus a minute before expiry.
	due := t0.Add(8*time.Hour - 6*time.Minute)
	wantNext(t, tb, due, false)
	clock.Set(due.Add(-time.Nanosecond))
	wantNext(t, tb, due, false)
	f.notCalled(t)
	clock.Set(due)
	tb.Next()
	if got := f.called(t); got.RefreshToken != "ghr_ghu_a" {
		t.Fatalf("renewal got refresh token %q", got.RefreshToken)
	}
	// One renewal at a time.
	tb.Next()
	f.notCalled(t)
	f.results <- renewal{err: errors.New("stop")}
	tb.wait()

	// A short-lived token is renewed at half its life, not in a loop.
	tb2, clock2 := newTestTable(t, tableOptions{Refresh: f.refresh})
	s0 := clock2.Now()
	short := refreshable(s0, "ghu_s", time.Hour)
	short.Expiry = s0.Add(4 * time.Minute)
	mustPutT(t, tb2, short)
	wantNext(t, tb2, s0.Add(2*time.Minute), false)
}

func TestTableRenewal(t *testing.T) {
	f := newFakeRenewer()
	tb, clock := newTestTable(t, tableOptions{Refresh: f.refresh})
	t0 := clock.Now()
	old := refreshable(t0, "ghu_a", 30*24*time.Hour)
	old.Reach = &store.Reach{Checked: t0, Repos: []string{"octo/repo"}}
	mustPutT(t, tb, old)
	clock.Advance(8*time.Hour - 6*time.Minute)
	tb.Next()
	f.called(t)
	wantGetT(t, tb, "octocat", "ghu_a") // served while the renewal runs

	fresh := refreshable(clock.Now(), "ghu_b", 0)
	fresh.RefreshUntil = old.RefreshUntil
	f.results <- renewal{t: fresh}
	tb.wait()
	got := wantGetT(t, tb, "octocat", "ghu_b")
	if got.Reach == nil || len(got.Reach.Repos) != 1 {
		t.Errorf("the renewed token lost its Reach: %v", got.Reach)
	}
	if k, _ := kept(tb, "octocat"); k.RefreshToken != "ghr_ghu_b" {
		t.Errorf("kept refresh token %q; want the new one", k.RefreshToken)
	}
	wantNext(t, tb, fresh.Expiry.Add(-6*time.Minute), false)
}

func TestTableRenewalFailure(t *testing.T) {
	f := newFakeRenewer()
	tb, clock := newTestTable(t, tableOptions{Refresh: f.refresh})
	t0 := clock.Now()
	mustPutT(t, tb, refreshable(t0, "ghu_a", 30*24*time.Hour))
	clock.Advance(8*time.Hour - 6*time.Minute)
	tb.Next()
	f.called(t)
	f.results <- renewal{err: errors.New("refresh token revoked")}
	tb.wait()

	// The token is gone with its refresh token, so nothing retries and
	// the next get finds nothing, which makes the helper sign in.
	if _, ok := kept(tb, "octocat"); ok {
		t.Fatal("a failed renewal kept the token")
	}
	wantNoneT(t, tb, "octocat")
	tb.Next()
	f.notCalled(t)
}

func TestTableRenewalOfReplacedToken(t *testing.T) {
	f := newFakeRenewer()
	tb, clock := newTestTable(t, tableOptions{Refresh: f.refresh})
	t0 := clock.Now()
	mustPutT(t, tb, refreshable(t0, "ghu_a", 30*24*time.Hour))
	clock.Advance(8*time.Hour - 6*time.Minute)
	tb.Next()
	f.called(t)
	// Someone signs in again while the renewal runs: the sign-in wins.
	mustPutT(t, tb, tok(clock.Now(), "octocat", "ghu_signin", 8*time.Hour))
	f.results <- renewal{t: refreshable(clock.Now(), "ghu_b", time.Hour)}
	tb.wait()
	wantGetT(t, tb, "octocat", "ghu_signin")
}

func TestTableRefreshStopsAtRefreshUntil(t *testing.T) {
	f := newFakeRenewer()
	tb, clock := newTestTable(t, tableOptions{Refresh: f.refresh})
	t0 := clock.Now()
	// Renewable until 10h: once at 7h54, not again at 15h48.
	until := t0.Add(10 * time.Hour)
	mustPutT(t, tb, refreshable(t0, "ghu_a", 10*time.Hour))
	clock.Advance(8*time.Hour - 6*time.Minute)
	tb.Next()
	f.called(t)
	fresh := refreshable(clock.Now(), "ghu_b", 0)
	fresh.RefreshUntil = until
	f.results <- renewal{t: fresh}
	tb.wait()

	// Past RefreshUntil the refresh token is useless: it is dropped, and
	// the next wake-up is the expiry, not a renewal.
	clock.Set(until)
	wantNext(t, tb, fresh.Expiry, false)
	if k, _ := kept(tb, "octocat"); k.RefreshToken != "" {
		t.Error("the refresh token was kept past RefreshUntil")
	}
	clock.Set(fresh.Expiry.Add(-6 * time.Minute))
	tb.Next()
	f.notCalled(t)
	clock.Set(fresh.Expiry)
	tb.Next()
	wantNoneT(t, tb, "octocat")
}

func TestTableLockQueue(t *testing.T) {
	tb, _ := newTestTable(t, tableOptions{})
	granted := func(w *waiter) bool {
		select {
		case <-w.granted:
			return true
		default:
			return false
		}
	}
	w1 := tb.Lock(gh, "octocat")
	w2 := tb.Lock(gh, "OctoCat") // the same account
	w3 := tb.Lock(gh, "octocat")
	w4 := tb.Lock(gh, "octocat")
	other := tb.Lock(gh, "hubot")
	anyAcct := tb.Lock(gh, "") // "whichever account" is a lock of its own
	if !granted(w1) || granted(w2) || granted(w3) || granted(w4) || !granted(other) || !granted(anyAcct) {
		t.Fatal("want only the first of each queue to hold its lock")
	}
	tb.Unlock(w3) // a waiter leaves: nothing changes for the others
	if granted(w2) || granted(w4) {
		t.Fatal("a waiter leaving granted the lock")
	}
	tb.Unlock(w1) // the holder's connection ends: the next in line, in order
	if !granted(w2) || granted(w4) {
		t.Fatal("want the lock to pass to the second in line")
	}
	tb.Unlock(w2)
	if !granted(w4) {
		t.Fatal("want the lock to pass to the last waiter")
	}
	tb.Unlock(w4)
	tb.Unlock(w4) // twice is harmless
	tb.Unlock(other)
	tb.Unlock(anyAcct)
	if len(tb.locks) != 0 {
		t.Fatalf("%d queues left", len(tb.locks))
	}
}

func TestTableIdleExit(t *testing.T) {
	tb, clock := newTestTable(t, tableOptions{IdleExit: 30 * time.Second})
	t0 := clock.Now()
	wantNext(t, tb, t0.Add(30*time.Second), false)
	clock.Advance(29 * time.Second)
	wantNext(t, tb, t0.Add(30*time.Second), false)

	// Each of these keeps it alive, and the 30 seconds start over after.
	keep := []struct {
		name  string
		hold  func()
		leave func()
	}{
		{"an open connection", func() { tb.Enter() }, tb.Leave},
		{"a lock holder", func() {}, func() {}},
		{"a token", func() { mustPutT(t, tb, tok(clock.Now(), "octocat", "ghu_a", time.Hour)) }, func() { tb.Delete(gh, "") }},
	}
	var w *waiter
	keep[1].hold = func() { w = tb.Lock(gh, "octocat") }
	keep[1].leave = func() { tb.Unlock(w) }
	for _, k := range keep {
		k.hold()
		wake, exit := tb.Next()
		if exit || wake.Equal(clock.Now().Add(30*time.Second)) {
			t.Fatalf("with %s: Next = %v, %v; want no idle deadline", k.name, wake, exit)
		}
		clock.Advance(time.Minute)
		if _, exit := tb.Next(); exit {
			t.Fatalf("exit with %s", k.name)
		}
		k.leave()
		idle := clock.Now()
		wantNext(t, tb, idle.Add(30*time.Second), false)
		clock.Advance(30*time.Second - time.Nanosecond)
		wantNext(t, tb, idle.Add(30*time.Second), false)
	}

	// A token that expires makes the daemon idle from its expiry.
	mustPutT(t, tb, tok(clock.Now(), "octocat", "ghu_b", time.Minute))
	expiry := clock.Now().Add(time.Minute)
	wantNext(t, tb, expiry, false)
	clock.Set(expiry)
	wantNext(t, tb, expiry.Add(30*time.Second), false)
	clock.Set(expiry.Add(30 * time.Second))
	wantNext(t, tb, time.Time{}, true)
	if tb.Enter() {
		t.Fatal("a connection entered a table that decided to exit")
	}
	if err := tb.Put(tok(clock.Now(), "octocat", "ghu_c", time.Hour)); err == nil {
		t.Fatal("a closed table took a token")
	}
	wantNoneT(t, tb, "")
}

func TestTableIdleWaitsForBackgroundWork(t *testing.T) {
	f := newFakeReach()
	tb, clock := newTestTable(t, tableOptions{IdleExit: time.Second, Reach: f.reach})
	t0 := clock.Now()
	mustPutT(t, tb, tok(t0, "octocat", "ghu_a", time.Minute))
	tb.Get(gh, "")
	f.called(t)
	tb.Delete(gh, "")
	clock.Advance(time.Hour)
	if _, exit := tb.Next(); exit {
		t.Fatal("exit with a lookup under way")
	}
	f.results <- reachResult{err: errors.New("timeout")}
	tb.wait()
	wantNext(t, tb, clock.Now().Add(time.Second), false)
}

// fakeReach stands in for ServeOptions.Reach.
type fakeReach struct {
	calls   chan store.Token
	results chan reachResult
}

type reachResult struct {
	r   *store.Reach
	err error
}

func newFakeReach() *fakeReach {
	return &fakeReach{calls: make(chan store.Token, 10), results: make(chan reachResult)}
}

func (f *fakeReach) reach(ctx context.Context, t store.Token) (*store.Reach, error) {
	f.calls <- t
	select {
	case r := <-f.results:
		return r.r, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *fakeReach) called(t *testing.T) store.Token {
	t.Helper()
	select {
	case tk := <-f.calls:
		return tk
	case <-time.After(never):
		t.Fatal("no reach lookup started")
		return store.Token{}
	}
}

func (f *fakeReach) notCalled(t *testing.T) {
	t.Helper()
	select {
	case <-f.calls:
		t.Fatal("a reach lookup started")
	default:
	}
}

func TestTableReachSchedule(t *testing.T) {
	f := newFakeReach()
	tb, clock := newTestTable(t, tableOptions{Reach: f.reach, ReachTTL: 5 * time.Minute})
	t0 := clock.Now()
	tk := tok(t0, "octocat", "ghu_a", 8*time.Hour)
	tk.RefreshToken, tk.RefreshUntil = "ghr_a", t0.Add(time.Hour)
	mustPutT(t, tb, tk)

	// No Reach yet: the get is answered at once and a lookup starts; more
	// gets meanwhile start no other.
	if got := wantGetT(t, tb, "octocat", "ghu_a"); got.Reach != nil {
		t.Fatal("Reach out of nowhere")
	}
	if looked := f.called(t); looked.AccessToken != "ghu_a" || looked.RefreshToken != "" {
		t.Fatalf("the lookup got token %s with refresh token %q", looked.AccessToken, looked.RefreshToken)
	}
	wantGetT(t, tb, "", "ghu_a")
	wantGetT(t, tb, "octocat", "ghu_a")
	f.notCalled(t)
	f.results <- reachResult{r: &store.Reach{Checked: clock.Now(), Accounts: []string{"octocat"}}}
	tb.wait()
	if got := wantGetT(t, tb, "octocat", "ghu_a"); got.Reach == nil || got.Reach.Accounts[0] != "octocat" {
		t.Fatalf("Reach after the lookup = %v", got.Reach)
	}
	if k, _ := kept(tb, "octocat"); k.RefreshToken != "ghr_a" {
		t.Fatal("storing the Reach lost the refresh token")
	}

	// Fresh until ReachTTL has passed.
	clock.Advance(5*time.Minute - time.Nanosecond)
	wantGetT(t, tb, "octocat", "ghu_a")
	f.notCalled(t)
	clock.Advance(time.Nanosecond)
	if got := wantGetT(t, tb, "octocat", "ghu_a"); got.Reach == nil {
		t.Fatal("the stale Reach was not handed out while it is looked up again")
	}
	f.called(t)

	// The API is down: the old Reach stays, and no lookup is tried for
	// ReachTTL after the failure, however many gets come.
	clock.Advance(3 * time.Second)
	failed := clock.Now()
	f.results <- reachResult{err: errors.New("503")}
	tb.wait()
	for range 4 {
		clock.Advance(time.Minute)
		if got := wantGetT(t, tb, "octocat", "ghu_a"); got.Reach == nil {
			t.Fatal("a failed lookup dropped the Reach")
		}
	}
	f.notCalled(t)
	clock.Set(failed.Add(5*time.Minute - time.Nanosecond))
	tb.Next() // sweeping must not end the hold-off early
	wantGetT(t, tb, "octocat", "ghu_a")
	f.notCalled(t)
	clock.Set(failed.Add(5 * time.Minute))
	wantGetT(t, tb, "octocat", "ghu_a")
	f.called(t)

	// A lookup for a token replaced meanwhile is not kept in the new one.
	mustPutT(t, tb, tok(clock.Now(), "octocat", "ghu_b", 8*time.Hour))
	f.results <- reachResult{r: &store.Reach{Checked: clock.Now(), Accounts: []string{"stale"}}}
	tb.wait()
	if got := wantGetT(t, tb, "octocat", "ghu_b"); got.Reach != nil {
		t.Fatal("the new token got the Reach looked up for the old one")
	}
	f.called(t) // and its own lookup starts with that get
	f.results <- reachResult{r: &store.Reach{Checked: clock.Now()}}
	tb.wait()
}

func TestTableReachKeysApart(t *testing.T) {
	f := newFakeReach()
	tb, clock := newTestTable(t, tableOptions{Reach: f.reach})
	t0 := clock.Now()
	mustPutT(t, tb, tok(t0, "octocat", "ghu_a", time.Hour))
	mustPutT(t, tb, tok(t0, "hubot", "ghu_b", time.Hour))
	tb.Get(gh, "octocat")
	tb.Get(gh, "hubot")
	f.called(t)
	f.called(t)
	f.results <- reachResult{err: errors.New("down")}
	f.results <- reachResult{err: errors.New("down")}
	tb.wait()
	// Without Reach configured nothing is looked up.
	tb2, _ := newTestTable(t, tableOptions{})
	mustPutT(t, tb2, tok(t0, "octocat", "ghu_a", time.Hour))
	tb2.Get(gh, "")
	f.notCalled(t)
}

func TestTableCloseEndsBackgroundWork(t *testing.T) {
	f := newFakeReach()
	tb, clock := newTestTable(t, tableOptions{Reach: f.reach})
	mustPutT(t, tb, tok(clock.Now(), "octocat", "ghu_a", time.Hour))
	tb.Get(gh, "")
	f.called(t)
	tb.Close()
	tb.wait() // the lookup's context ended with the table
	if _, exit := tb.Next(); !exit {
		t.Fatal("a closed table does not say exit")
	}
}

// ghapp.refresh survives hits whose reach is stale: the lookups they start
// keep the refresh token, and the token is renewed before it expires.
func TestTableRefreshSurvivesStaleReach(t *testing.T) {
	r, f := newFakeRenewer(), newFakeReach()
	tb, clock := newTestTable(t, tableOptions{Refresh: r.refresh, Reach: f.reach, ReachTTL: 5 * time.Minute})
	t0 := clock.Now()
	tk := refreshable(t0, "ghu_a", 30*24*time.Hour)
	tk.Reach = &store.Reach{Checked: t0.Add(-time.Hour), Repos: []string{"octocat/hello"}}
	mustPutT(t, tb, tk)
	for range 5 { // hits over the next 6h40m, each with the reach stale
		wantGetT(t, tb, "octocat", "ghu_a")
		f.called(t)
		f.results <- reachResult{r: &store.Reach{Checked: clock.Now(), Repos: []string{"octocat/hello"}}}
		tb.wait()
		if k, _ := kept(tb, "octocat"); k.RefreshToken != "ghr_ghu_a" {
			t.Fatal("a reach lookup lost the refresh token")
		}
		clock.Advance(80 * time.Minute)
		tb.Next()
	}
	// Shortly before the expiry: the renewal, with the refresh token.
	clock.Set(tk.Expiry.Add(-6 * time.Minute))
	tb.Next()
	if renewing := r.called(t); renewing.RefreshToken != "ghr_ghu_a" {
		t.Fatalf("renewal started with refresh token %q", renewing.RefreshToken)
	}
	fresh := refreshable(clock.Now(), "ghu_b", 0)
	fresh.RefreshUntil = tk.RefreshUntil
	r.results <- renewal{t: fresh}
	tb.wait()
	wantGetT(t, tb, "octocat", "ghu_b")
}
