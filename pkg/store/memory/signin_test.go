package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Sign-ins in the table, driven by a fake clock and a fake flow: the test
// plays the server and the person, telling each flow when its code is
// shown and how it ends.

// fakeFlows stands in for ServeOptions.SignIn: each flow reports itself on
// calls and waits for the test to end it.
type fakeFlows struct{ calls chan *flow }

type flow struct {
	ctx  context.Context
	req  store.SignInRequest
	show func(store.SignIn)
	end  chan flowEnd
}

type flowEnd struct {
	t   store.Token
	err error
}

func newFakeFlows() *fakeFlows { return &fakeFlows{calls: make(chan *flow, 20)} }

func (f *fakeFlows) signIn(ctx context.Context, req store.SignInRequest, show func(store.SignIn)) (store.Token, error) {
	fl := &flow{ctx: ctx, req: req, show: show, end: make(chan flowEnd, 1)}
	f.calls <- fl
	select {
	case e := <-fl.end:
		return e.t, e.err
	case <-ctx.Done():
		return store.Token{}, ctx.Err()
	}
}

func (f *fakeFlows) called(t *testing.T) *flow {
	t.Helper()
	select {
	case fl := <-f.calls:
		return fl
	case <-time.After(never):
		t.Fatal("no sign-in flow started")
		return nil
	}
}

func (f *fakeFlows) notCalled(t *testing.T) {
	t.Helper()
	select {
	case fl := <-f.calls:
		t.Fatalf("another sign-in flow started, for %q", fl.req.Login)
	default:
	}
}

// showCode has the flow show code, valid for 15 minutes from now.
func (fl *flow) showCode(now time.Time, code string) store.SignIn {
	s := store.SignIn{UserCode: code, VerificationURI: "https://github.com/login/device", Expiry: now.Add(15 * time.Minute)}
	fl.show(s)
	return s
}

func signInReq(login string) store.SignInRequest {
	return store.SignInRequest{Origin: gh, Login: login, ClientID: "Iv23liTestClient", MinLifetime: 5 * time.Minute}
}

type started struct {
	s   store.SignIn
	err error
}

// startAsync calls StartSignIn on a goroutine of its own.
func startAsync(ctx context.Context, tb *table, req store.SignInRequest) <-chan started {
	ch := make(chan started, 1)
	go func() {
		s, err := tb.StartSignIn(ctx, req)
		ch <- started{s, err}
	}()
	return ch
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(never):
		t.Fatal("no answer")
		var zero T
		return zero
	}
}

func notYet[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s returned early: %+v", what, v)
	default:
	}
}

// startWithCode starts a sign-in for login that shows code, and returns
// its flow and what StartSignIn returned.
func startWithCode(t *testing.T, tb *table, f *fakeFlows, now time.Time, login, code string) (*flow, store.SignIn) {
	t.Helper()
	req := signInReq(login)
	req.EvenIfSignedIn = true // some tests keep a token first
	ch := startAsync(context.Background(), tb, req)
	fl := f.called(t)
	fl.showCode(now, code)
	got := recv(t, ch)
	if got.err != nil || got.s.UserCode != code {
		t.Fatalf("StartSignIn = %+v, %v; want code %s", got.s, got.err, code)
	}
	return fl, got.s
}

func TestSignInOneCodeForAll(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	t0 := clock.Now()

	// The first caller waits for the server's code, and so does a second
	// that comes meanwhile: no second flow, no answer before the code.
	first := startAsync(context.Background(), tb, signInReq("octocat"))
	fl := f.called(t)
	second := startAsync(context.Background(), tb, signInReq("OctoCat"))
	notYet(t, first, "StartSignIn before the code")
	notYet(t, second, "StartSignIn before the code")

	const callers = 10
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]int{}
	)
	for range callers - 2 {
		wg.Go(func() {
			s, err := tb.StartSignIn(context.Background(), signInReq("octocat"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes["error: "+err.Error()]++
				return
			}
			codes[s.UserCode]++
		})
	}
	fl.showCode(t0, "ABCD-1234")
	wg.Wait()
	for _, ch := range []<-chan started{first, second} {
		got := recv(t, ch)
		if got.err != nil {
			t.Fatal(got.err)
		}
		codes[got.s.UserCode]++
		if got.s.Origin != gh || got.s.Login != "octocat" && got.s.Login != "OctoCat" || got.s.Ended != "" || got.s.VerificationURI == "" {
			t.Errorf("state = %+v", got.s)
		}
	}
	if len(codes) != 1 || codes["ABCD-1234"] != callers {
		t.Fatalf("codes handed out: %v; want ABCD-1234 to all %d", codes, callers)
	}
	f.notCalled(t)
	if fl.req.ClientID != "Iv23liTestClient" || fl.req.MinLifetime != 5*time.Minute {
		t.Errorf("the flow got %+v", fl.req)
	}

	// Another account, another flow.
	startWithCode(t, tb, f, t0, "hubot", "HUBO-0001")
	if p := tb.PendingSignIns(); len(p) != 2 {
		t.Fatalf("PendingSignIns = %+v; want two", p)
	}
}

func TestSignInSuccess(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	t0 := clock.Now()
	older := tok(t0.Add(-time.Hour), "octocat", "ghu_old", 8*time.Hour)
	mustPutT(t, tb, older)

	fl, _ := startWithCode(t, tb, f, t0, "octocat", "ABCD-1234")
	waiting := make(chan error, 1)
	var got store.Token
	go func() {
		var err error
		got, err = tb.WaitSignIn(context.Background(), gh, "octocat")
		waiting <- err
	}()
	// Until the flow ends, the old token is still the one handed out.
	wantGetT(t, tb, "octocat", "ghu_old")
	notYet(t, waiting, "WaitSignIn")

	clock.Advance(time.Minute)
	fresh := tok(clock.Now(), "OctoCat", "ghu_new", 8*time.Hour)
	fresh.RefreshToken, fresh.RefreshUntil = "ghr_secret", clock.Now().Add(24*time.Hour)
	fl.end <- flowEnd{t: fresh}
	if err := recv(t, waiting); err != nil {
		t.Fatalf("WaitSignIn: %v", err)
	}
	if got.AccessToken != "ghu_new" || got.RefreshToken != "" {
		t.Fatalf("WaitSignIn = %s with refresh token %q; want ghu_new without", got.AccessToken, got.RefreshToken)
	}
	wantGetT(t, tb, "octocat", "ghu_new") // the newest replaces what was kept
	if k, _ := kept(tb, "octocat"); k.RefreshToken != "ghr_secret" {
		t.Error("the refresh token was not kept")
	}
	if p := tb.PendingSignIns(); len(p) != 0 {
		t.Errorf("PendingSignIns after the sign-in = %+v", p)
	}

	// Nothing under way now: the kept token answers a late waiter, and
	// "any account" finds it too.
	for _, login := range []string{"octocat", ""} {
		if late, err := tb.WaitSignIn(context.Background(), gh, login); err != nil || late.AccessToken != "ghu_new" {
			t.Errorf("WaitSignIn(%q) after the end = %s, %v", login, late.AccessToken, err)
		}
	}
	// A get that looked before the token was kept gets ErrSignedIn, not
	// a second code to enter.
	for _, login := range []string{"octocat", ""} {
		if _, err := tb.StartSignIn(context.Background(), store.SignInRequest{Origin: gh, Login: login, ClientID: "Iv1.test"}); !errors.Is(err, store.ErrSignedIn) {
			t.Errorf("StartSignIn(%q) with a usable token kept: %v, want ErrSignedIn", login, err)
		}
	}
	// A person asking for a sign-in starts a new flow, with nothing to report.
	_, s := startWithCode(t, tb, f, clock.Now(), "octocat", "EFGH-5678")
	if s.Ended != "" {
		t.Errorf("Ended = %q after a success", s.Ended)
	}
}

func TestSignInDenied(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	fl, _ := startWithCode(t, tb, f, clock.Now(), "octocat", "ABCD-1234")
	fl.end <- flowEnd{err: errors.New("the sign-in was denied on github.com\nsecond line")}
	tb.wait()
	if p := tb.PendingSignIns(); len(p) != 0 {
		t.Errorf("PendingSignIns after the denial = %+v", p)
	}

	// The next command learns of the denial, with a fresh code.
	ch := startAsync(context.Background(), tb, signInReq("octocat"))
	fl2 := f.called(t)
	fl2.showCode(clock.Now(), "EFGH-5678")
	got := recv(t, ch)
	if got.err != nil || got.s.UserCode != "EFGH-5678" || got.s.Ended != "the sign-in was denied on github.com" {
		t.Fatalf("StartSignIn after the denial = %+v, %v; want a fresh code, Ended the denial's first line", got.s, got.err)
	}
	// Told once: the third call joins the second flow, reporting nothing.
	s, err := tb.StartSignIn(context.Background(), signInReq("octocat"))
	if err != nil || s.UserCode != "EFGH-5678" || s.Ended != "" {
		t.Fatalf("third StartSignIn = %+v, %v", s, err)
	}
	f.notCalled(t)
}

func TestSignInExpired(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	t0 := clock.Now()
	fl, first := startWithCode(t, tb, f, t0, "octocat", "ABCD-1234")
	wantNext(t, tb, first.Expiry, false)

	clock.Set(first.Expiry.Add(-time.Nanosecond))
	if p := tb.PendingSignIns(); len(p) != 1 {
		t.Fatalf("PendingSignIns just before the expiry = %+v", p)
	}
	// At its expiry the code is of no use: a waiter learns so, and the
	// next StartSignIn gets a fresh code, saying why.
	clock.Set(first.Expiry)
	if p := tb.PendingSignIns(); len(p) != 0 {
		t.Fatalf("PendingSignIns at the expiry = %+v", p)
	}
	ch := startAsync(context.Background(), tb, signInReq("octocat"))
	fl2 := f.called(t)
	fl2.showCode(clock.Now(), "EFGH-5678")
	got := recv(t, ch)
	if got.err != nil || got.s.UserCode != "EFGH-5678" || !strings.Contains(got.s.Ended, "expired") {
		t.Fatalf("StartSignIn after the expiry = %+v, %v", got.s, got.err)
	}
	if s, err := tb.StartSignIn(context.Background(), signInReq("octocat")); err != nil || s.UserCode != "EFGH-5678" || s.Ended != "" {
		t.Fatalf("third StartSignIn = %+v, %v", s, err)
	}

	// The first flow may still redeem a code entered at the last moment,
	// until signInMargin after the expiry; then it is cancelled.
	wantNext(t, tb, first.Expiry.Add(signInMargin), false)
	clock.Set(first.Expiry.Add(signInMargin))
	tb.Next()
	select {
	case <-fl.ctx.Done():
	case <-time.After(never):
		t.Fatal("the expired flow was not cancelled")
	}
	if p := tb.PendingSignIns(); len(p) != 1 || p[0].UserCode != "EFGH-5678" {
		t.Fatalf("PendingSignIns = %+v; want only the fresh code", p)
	}
	f.notCalled(t)
}

// A code entered at the last moment: the token is kept, though waiters
// were told the code expired.
func TestSignInLateSuccessKept(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	fl, first := startWithCode(t, tb, f, clock.Now(), "octocat", "ABCD-1234")
	clock.Set(first.Expiry)
	if _, err := tb.WaitSignIn(context.Background(), gh, "octocat"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("WaitSignIn at the expiry: %v; want expired", err)
	}
	clock.Advance(5 * time.Second)
	fl.end <- flowEnd{t: tok(clock.Now(), "octocat", "ghu_late", 8*time.Hour)}
	tb.wait()
	wantGetT(t, tb, "octocat", "ghu_late")
}

func TestSignInFailsBeforeCode(t *testing.T) {
	f := newFakeFlows()
	tb, _ := newTestTable(t, tableOptions{SignIn: f.signIn})
	refused := flowEnd{err: errors.New("the server refused the device code request: 404 Not Found")}
	ch := startAsync(context.Background(), tb, signInReq("octocat"))
	second := startAsync(context.Background(), tb, signInReq("octocat"))
	f.called(t).end <- refused
	for _, c := range []<-chan started{ch, second} {
		var got started
		select {
		case got = <-c:
		case fl := <-f.calls:
			// This caller came after the other was told, and asked
			// anew: the server refuses again.
			fl.end <- refused
			got = recv(t, c)
		case <-time.After(never):
			t.Fatal("no answer")
		}
		if got.err == nil || !strings.Contains(got.err.Error(), "404") {
			t.Fatalf("StartSignIn with a refused request = %+v, %v; want the refusal", got.s, got.err)
		}
	}
	tb.wait()
	f.notCalled(t)
	// Told already: the next sign-in reports nothing.
	_, s := startWithCode(t, tb, f, tb.opts.Now(), "octocat", "ABCD-1234")
	if s.Ended != "" {
		t.Errorf("Ended = %q; the failure was told already", s.Ended)
	}
}

// A caller that gives up before the code leaves the flow running; when
// that flow fails, nobody was told, so the next StartSignIn reports it.
func TestSignInCallerGivesUp(t *testing.T) {
	f := newFakeFlows()
	tb, _ := newTestTable(t, tableOptions{SignIn: f.signIn})
	ctx, cancel := context.WithCancel(context.Background())
	ch := startAsync(ctx, tb, signInReq("octocat"))
	fl := f.called(t)
	cancel()
	if got := recv(t, ch); !errors.Is(got.err, context.Canceled) {
		t.Fatalf("StartSignIn after its caller gave up: %v", got.err)
	}
	if fl.ctx.Err() != nil {
		t.Fatal("the flow ended with its caller")
	}
	fl.end <- flowEnd{err: errors.New("cannot reach github.com: connection refused")}
	tb.wait()
	ch = startAsync(context.Background(), tb, signInReq("octocat"))
	f.called(t).showCode(tb.opts.Now(), "ABCD-1234")
	if got := recv(t, ch); got.err != nil || got.s.Ended != "cannot reach github.com: connection refused" {
		t.Fatalf("StartSignIn = %+v, %v; want the untold failure as Ended", got.s, got.err)
	}
}

func TestSignInWaitAfterFailure(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	if _, err := tb.WaitSignIn(context.Background(), gh, "octocat"); !errors.Is(err, store.ErrNoSignIn) {
		t.Fatalf("WaitSignIn with nothing under way: %v; want store.ErrNoSignIn", err)
	}
	fl, _ := startWithCode(t, tb, f, clock.Now(), "octocat", "ABCD-1234")
	fl.end <- flowEnd{err: errors.New("access denied")}
	tb.wait()
	// The command that showed the code was killed; the next one waits and
	// hears of the denial, once.
	if _, err := tb.WaitSignIn(context.Background(), gh, "OCTOCAT"); err == nil || err.Error() != "access denied" {
		t.Fatalf("WaitSignIn after an untold failure: %v", err)
	}
	if _, err := tb.WaitSignIn(context.Background(), gh, "octocat"); !errors.Is(err, store.ErrNoSignIn) {
		t.Fatalf("second WaitSignIn: %v; want store.ErrNoSignIn", err)
	}
	_, s := startWithCode(t, tb, f, clock.Now(), "octocat", "EFGH-5678")
	if s.Ended != "" {
		t.Errorf("Ended = %q; WaitSignIn told it already", s.Ended)
	}

	// A waiter that gives up leaves the flow running.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tb.WaitSignIn(ctx, gh, "octocat"); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitSignIn with its context done: %v", err)
	}
	if p := tb.PendingSignIns(); len(p) != 1 {
		t.Fatalf("PendingSignIns after a waiter left = %+v", p)
	}
}

func TestSignInPending(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	t0 := clock.Now()
	startWithCode(t, tb, f, t0, "octocat", "OCTO-0001")
	clock.Advance(time.Minute)
	startWithCode(t, tb, f, clock.Now(), "", "ANY0-0002")
	startWithCode(t, tb, f, t0.Add(-10*time.Minute), "old", "OLD0-0003") // 5 minutes left
	startAsync(context.Background(), tb, signInReq("nocode"))            // no code yet
	f.called(t)
	denied, _ := startWithCode(t, tb, f, clock.Now(), "denied", "DENY-0004")
	denied.end <- flowEnd{err: errors.New("denied")}
	waitDecided(t, tb, "denied")

	want := func(codes ...string) {
		t.Helper()
		p := tb.PendingSignIns()
		var got []string
		for _, s := range p {
			got = append(got, s.UserCode)
		}
		if fmt.Sprint(got) != fmt.Sprint(codes) {
			t.Fatalf("PendingSignIns = %v; want %v", got, codes)
		}
	}
	want("OLD0-0003", "OCTO-0001", "ANY0-0002")
	clock.Set(t0.Add(5 * time.Minute))
	want("OCTO-0001", "ANY0-0002")
	if p := tb.PendingSignIns(); p[1].Login != "" || p[1].Origin != gh || p[0].Login != "octocat" {
		t.Errorf("PendingSignIns = %+v", p)
	}
}

// waitDecided returns once the sign-in for login has an outcome.
func waitDecided(t *testing.T, tb *table, login string) {
	t.Helper()
	tb.mu.Lock()
	si := tb.signIns[keyOf(gh, login)]
	tb.mu.Unlock()
	if si == nil {
		return
	}
	select {
	case <-si.done:
	case <-time.After(never):
		t.Fatalf("the sign-in for %q did not end", login)
	}
}

func TestSignInIdleExit(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{IdleExit: 30 * time.Second, SignIn: f.signIn})
	t0 := clock.Now()

	// No code yet: alive, and cancelled at signInLimit.
	ch := startAsync(context.Background(), tb, signInReq("octocat"))
	fl := f.called(t)
	wantNext(t, tb, t0.Add(signInLimit), false)
	clock.Set(t0.Add(signInLimit))
	if _, exit := tb.Next(); exit {
		t.Fatal("exit with a sign-in under way")
	}
	<-fl.ctx.Done()
	if got := recv(t, ch); got.err == nil || !strings.Contains(got.err.Error(), "no sign-in code") {
		t.Fatalf("StartSignIn when the server gave no code: %v", got.err)
	}
	tb.wait()
	idle := clock.Now()
	wantNext(t, tb, idle.Add(30*time.Second), false)

	// A pending code keeps the daemon alive until it expires...
	fl, s := startWithCode(t, tb, f, clock.Now(), "octocat", "ABCD-1234")
	wantNext(t, tb, s.Expiry, false)
	clock.Set(s.Expiry.Add(-time.Second))
	wantNext(t, tb, s.Expiry, false)
	// ...and a failure nobody was told of, for signInForget, not longer.
	fl.end <- flowEnd{err: errors.New("access denied")}
	tb.wait()
	ended := clock.Now()
	wantNext(t, tb, ended.Add(signInForget), false)
	clock.Set(ended.Add(signInForget))
	wantNext(t, tb, ended.Add(signInForget+30*time.Second), false)
	clock.Advance(30 * time.Second)
	wantNext(t, tb, time.Time{}, true)
	if _, err := tb.StartSignIn(context.Background(), signInReq("octocat")); !errors.Is(err, errClosed) {
		t.Fatalf("StartSignIn on a closed table: %v", err)
	}
}

func TestSignInCloseCancels(t *testing.T) {
	f := newFakeFlows()
	tb, clock := newTestTable(t, tableOptions{SignIn: f.signIn})
	fl, _ := startWithCode(t, tb, f, clock.Now(), "octocat", "ABCD-1234")
	ch := startAsync(context.Background(), tb, signInReq("hubot"))
	fl2 := f.called(t)
	waiting := make(chan error, 1)
	go func() {
		_, err := tb.WaitSignIn(context.Background(), gh, "octocat")
		waiting <- err
	}()
	tb.Close()
	for _, c := range []context.Context{fl.ctx, fl2.ctx} {
		select {
		case <-c.Done():
		case <-time.After(never):
			t.Fatal("Close left a flow running")
		}
	}
	if got := recv(t, ch); !errors.Is(got.err, errClosed) {
		t.Errorf("StartSignIn waiting for a code at Close: %v", got.err)
	}
	if err := recv(t, waiting); !errors.Is(err, errClosed) {
		t.Errorf("WaitSignIn at Close: %v", err)
	}
	tb.wait()
	wantNoneT(t, tb, "octocat")
}

func TestSignInNotConfigured(t *testing.T) {
	tb, _ := newTestTable(t, tableOptions{})
	if _, err := tb.StartSignIn(context.Background(), signInReq("octocat")); !errors.Is(err, errNoSignIns) {
		t.Fatalf("StartSignIn without SignIn: %v", err)
	}
	if p := tb.PendingSignIns(); len(p) != 0 {
		t.Fatal(p)
	}
}
