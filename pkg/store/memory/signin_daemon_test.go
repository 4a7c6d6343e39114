//go:build linux || darwin

package memory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Sign-ins through the socket. The daemon runs in this process, so that
// the test can play the server and the person through a fake flow.

// inProcess runs a daemon for a fresh runtime directory in this process
// with opts, and returns a client on it that cannot start another daemon,
// and the daemon's server.
func inProcess(t *testing.T, opts ServeOptions) (*env, *server) {
	t.Helper()
	e := newEnv(t, time.Minute)
	e.s.opts.Daemon = []string{"/nonexistent/daemon"}
	listening := make(chan *server, 1)
	opts.listening = func(s *server) { listening <- s }
	opts.ioTimeout, opts.socketCheck = time.Second, 100*time.Millisecond
	served := make(chan error, 1)
	go func() { served <- serveDir(e.dir, opts, nil) }()
	var srv *server
	select {
	case srv = <-listening:
	case err := <-served:
		t.Fatalf("the daemon did not start: %v", err)
	}
	t.Cleanup(func() {
		e.s.Stop()
		if err := recv(t, served); err != nil {
			t.Errorf("the daemon: %v", err)
		}
	})
	return e, srv
}

// waitClientsGone returns once the daemon serves no connection: it has
// noticed every client that left.
func waitClientsGone(t *testing.T, srv *server) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		srv.tb.mu.Lock()
		open := srv.tb.open
		srv.tb.mu.Unlock()
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon still serves %d connections", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDaemonSignIn(t *testing.T) {
	t.Parallel()
	f := newFakeFlows()
	e, srv := inProcess(t, ServeOptions{SignIn: f.signIn})
	req := signInReq("octocat")

	// Ten git commands at once: one flow, one code for all.
	const clients = 10
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]int{}
	)
	for range clients {
		s, err := Open(e.dir, e.s.opts)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			got, err := s.StartSignIn(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				codes["error: "+err.Error()]++
			} else {
				codes[got.UserCode]++
			}
		})
	}
	fl := f.called(t)
	if fl.req != req {
		t.Errorf("the flow got %+v; want %+v", fl.req, req)
	}
	shown := fl.showCode(time.Now(), "ABCD-1234")
	wg.Wait()
	if len(codes) != 1 || codes["ABCD-1234"] != clients {
		t.Fatalf("codes: %v; want ABCD-1234 for all %d clients", codes, clients)
	}
	f.notCalled(t)
	p, err := e.s.PendingSignIns()
	if err != nil || len(p) != 1 || p[0].UserCode != "ABCD-1234" || p[0].Login != "octocat" || !p[0].Expiry.Equal(shown.Expiry) {
		t.Fatalf("PendingSignIns = %+v, %v", p, err)
	}

	// A waiting git command is killed: its connection closes, the daemon
	// stops waiting for it, and the flow goes on.
	c := rawConn(t, e)
	c.Write(encodeRequest(Request{Op: OpWaitSignIn, Origin: req.Origin, Login: req.Login}))
	c.Close()
	// And one whose context ends leaves the same way.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = e.s.WaitSignIn(ctx, req.Origin, req.Login)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSignIn past its context: %v", err)
	}
	waitClientsGone(t, srv)
	if fl.ctx.Err() != nil {
		t.Fatal("the flow ended with its waiters")
	}
	if p, _ := e.s.PendingSignIns(); len(p) != 1 {
		t.Fatalf("PendingSignIns after the waiters left = %+v", p)
	}

	// The next command waits, and gets the token once the code is entered.
	waited := make(chan error, 1)
	var got store.Token
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		var err error
		got, err = e.s.WaitSignIn(ctx, req.Origin, "OctoCat")
		waited <- err
	}()
	tk := token(t, "octocat", time.Hour)
	tk.RefreshToken, tk.RefreshUntil = "ghr_"+newSecret(), time.Now().Add(24*time.Hour)
	fl.end <- flowEnd{t: tk}
	if err := recv(t, waited); err != nil {
		t.Fatalf("WaitSignIn: %v", err)
	}
	if got.AccessToken != tk.AccessToken || got.RefreshToken != "" {
		t.Fatalf("WaitSignIn = %s with refresh token %q", redact(got.AccessToken), redact(got.RefreshToken))
	}
	wantToken(t, e.s, tk) // a cache hit for the next command
	if p, err := e.s.PendingSignIns(); err != nil || len(p) != 0 {
		t.Fatalf("PendingSignIns after the sign-in = %+v, %v", p, err)
	}
}

func TestDaemonSignInFailures(t *testing.T) {
	t.Parallel()
	f := newFakeFlows()
	e, _ := inProcess(t, ServeOptions{SignIn: f.signIn})
	req := signInReq("octocat")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	// Refused before any code: StartSignIn says why.
	started := make(chan error, 1)
	go func() {
		_, err := e.s.StartSignIn(ctx, req)
		started <- err
	}()
	f.called(t).end <- flowEnd{err: errors.New("the server refused the device code request: 404 Not Found")}
	if err := recv(t, started); err == nil || err.Error() != "the server refused the device code request: 404 Not Found" {
		t.Fatalf("StartSignIn refused: %v", err)
	}

	// Denied after the code was shown, while nobody waited: the next
	// start reports it, with a fresh code.
	go func() {
		_, err := e.s.StartSignIn(ctx, req)
		started <- err
	}()
	fl := f.called(t)
	fl.showCode(time.Now(), "ABCD-1234")
	if err := recv(t, started); err != nil {
		t.Fatal(err)
	}
	fl.end <- flowEnd{err: errors.New("access denied")}
	if _, err := e.s.WaitSignIn(ctx, gh, "octocat"); err == nil || err.Error() != "access denied" {
		t.Fatalf("WaitSignIn after the denial: %v", err)
	}
	if _, err := e.s.WaitSignIn(ctx, gh, "octocat"); !errors.Is(err, store.ErrNoSignIn) {
		t.Fatalf("WaitSignIn with nothing under way: %v; want store.ErrNoSignIn", err)
	}
}

// Without ServeOptions.SignIn, or with a daemon older than the sign-in
// ops, StartSignIn says background sign-ins are not to be had.
func TestDaemonWithoutSignIns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := e.s.WaitSignIn(ctx, gh, "octocat"); !errors.Is(err, store.ErrNoSignIn) {
		t.Errorf("WaitSignIn with no daemon: %v; want store.ErrNoSignIn", err)
	}
	if p, err := e.s.PendingSignIns(); err != nil || len(p) != 0 {
		t.Errorf("PendingSignIns with no daemon = %+v, %v", p, err)
	}
	if n := len(tracked(e.dir)); n != 0 {
		t.Fatalf("%d daemons started by reads", n)
	}
	_, err := e.s.StartSignIn(ctx, signInReq("octocat"))
	if !errors.Is(err, store.ErrNoBackgroundSignIn) || !strings.Contains(err.Error(), "runs no sign-ins") {
		t.Errorf("StartSignIn with a daemon without SignIn: %v", err)
	}
	if n := len(tracked(e.dir)); n != 1 {
		t.Errorf("StartSignIn started %d daemons; want one", n)
	}

	old := newEnv(t, 30*time.Second)
	fakeDaemon(t, old.dir, func(body []byte) ([]byte, bool) {
		if len(body) == 2 && body[1] == OpStop {
			return encodeResponse(Response{Status: statusOK}), true
		}
		// As a daemon from before the sign-in ops answers them.
		return encodeResponse(Response{Status: statusError, Error: "bad request: unknown op"}), false
	})
	_, err = old.s.StartSignIn(ctx, signInReq("octocat"))
	if !errors.Is(err, store.ErrNoBackgroundSignIn) || err.Error() != oldDaemonMsg {
		t.Errorf("StartSignIn with an older daemon: %v", err)
	}
	if _, err := old.s.WaitSignIn(ctx, gh, "octocat"); !errors.Is(err, store.ErrNoBackgroundSignIn) {
		t.Errorf("WaitSignIn with an older daemon: %v", err)
	}
	if _, err := old.s.PendingSignIns(); !errors.Is(err, store.ErrNoBackgroundSignIn) {
		t.Errorf("PendingSignIns with an older daemon: %v", err)
	}
}

// A client that leaves while StartSignIn waits for the server's code
// leaves the flow running.
func TestDaemonSignInStartLeaves(t *testing.T) {
	t.Parallel()
	f := newFakeFlows()
	e, _ := inProcess(t, ServeOptions{SignIn: f.signIn})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() {
		_, err := e.s.StartSignIn(ctx, signInReq("octocat"))
		started <- err
	}()
	fl := f.called(t)
	cancel()
	if err := recv(t, started); !errors.Is(err, context.Canceled) {
		t.Fatalf("StartSignIn after cancel: %v", err)
	}
	fl.showCode(time.Now(), "ABCD-1234")
	if p, err := e.s.PendingSignIns(); err != nil || len(p) != 1 {
		t.Fatalf("PendingSignIns = %+v, %v; want the code", p, err)
	}
}
