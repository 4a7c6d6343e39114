//go:build linux || darwin

package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

const (
	// socketCheck is how often the daemon makes sure its socket is still
	// in place. Once the socket is gone (logind removes $XDG_RUNTIME_DIR at
	// logout) no client can reach the tokens, so holding them any longer
	// only keeps secrets alive for nothing.
	socketCheck = time.Second
	// quickWait bounds how long the accepting goroutine waits for a
	// request to arrive before it hands the connection to a goroutine of
	// its own.
	quickWait = 20 * time.Millisecond
)

// ServeOptions tune the daemon.
type ServeOptions struct {
	// IdleExit is how long the daemon stays once it holds no token, no
	// lock, no waiter, no connection and no sign-in (see SignIn), and runs
	// nothing in the background; default 30s, as git's credential-cache.
	IdleExit time.Duration
	// Refresh, when set, renews a token that carries a refresh token,
	// shortly before it expires and until its RefreshUntil. A failed
	// renewal is not retried: the token then expires, and the next git
	// command signs in with the device flow. A renewed token keeps the
	// Reach of the one it replaces.
	Refresh func(ctx context.Context, t store.Token) (store.Token, error)
	// Reach, when set, looks up where a token reaches. A get that finds
	// the token's Reach missing or older than ReachTTL is answered at once
	// with what the daemon has, and the lookup runs in the background, one
	// at a time per account; after a failure the account is not looked up
	// again for ReachTTL. Each renewal and each lookup is bounded to 30
	// seconds.
	Reach func(ctx context.Context, t store.Token) (*store.Reach, error)
	// ReachTTL is how long a Reach is trusted; default 5 minutes.
	ReachTTL time.Duration
	// SignIn, when set, lets clients have the daemon run device-flow
	// sign-ins (store.SignIns). It runs the flow for req, calls show once
	// the server gave the code (UserCode, VerificationURI, Expiry and
	// OffServer filled in), waits for the person, checks the login against
	// req.Login, looks up the token's Reach, and returns the token to keep,
	// or why not in one line ("denied" or "expired" in it when so). The
	// token is kept as by a Put, refresh token included. Each flow runs on
	// a goroutine of its own, one per origin and login at a time, its ctx
	// ending at the code's expiry plus 30 seconds, 16 minutes at most, or
	// when the daemon exits. A flow under way, or a failure not yet told
	// (for up to 15 minutes), keeps the daemon from its idle exit.
	SignIn func(ctx context.Context, req store.SignInRequest, show func(store.SignIn)) (store.Token, error)

	// Set only by this package's tests, to see at once what takes
	// seconds: how long a request may take to arrive, and how often the
	// socket is checked; and to learn when a daemon run in-process
	// listens.
	ioTimeout, socketCheck time.Duration
	listening              func(*server)
}

// Serve runs the token daemon for dir ("" for the user's runtime
// directory) in the current process until it has been idle for IdleExit,
// is asked to stop, gets SIGTERM, or finds its socket removed or replaced
// (checked every second). It returns nil
// at once when another daemon already serves dir. It changes the process's
// signal handling (SIGINT, SIGHUP and SIGPIPE are ignored, so the daemon
// outlives the git command and terminal that started it) and shuts out
// debuggers (non-dumpable on Linux, PT_DENY_ATTACH on macOS).
func Serve(dir string, opts ServeOptions) error {
	if err := hardenProcess(); err != nil {
		return err
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	if dir == "" {
		dir = runtimedir.Path()
	}
	return serveDir(dir, opts, term)
}

// serveDir is Serve without what it does to the process (hardening,
// signals), so that tests can run a daemon in-process; it exits on term.
func serveDir(dir string, opts ServeOptions, term <-chan os.Signal) error {
	if err := runtimedir.Ensure(dir); err != nil {
		return err
	}
	lock, err := openLockFile(dir)
	if err != nil {
		return err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil // another daemon serves dir
		}
		return fmt.Errorf("cannot lock %s: %v", lock.Name(), err)
	}
	// The flock is released only after the socket is gone, so whoever
	// holds it may treat any socket file as stale.
	sock := filepath.Join(dir, sockName)
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		lock.Close()
		return fmt.Errorf("cannot remove the stale socket %s: %v", sock, err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		lock.Close()
		return fmt.Errorf("cannot listen on %s: %v", sock, err)
	}
	ln.SetUnlinkOnClose(false) // unlinked below, while the flock is still held
	// The 0700 directory already keeps others out; this is belt and braces.
	os.Chmod(sock, 0o600)
	// What the path names now is this daemon's socket; the daemon lives as
	// long as the path still names that same file.
	listening, err := os.Lstat(sock)
	if err != nil {
		ln.Close()
		lock.Close()
		return fmt.Errorf("cannot check the socket %s it just created: %v", sock, err)
	}

	if opts.ioTimeout <= 0 {
		opts.ioTimeout = ioTimeout
	}
	if opts.socketCheck <= 0 {
		opts.socketCheck = socketCheck
	}
	s := &server{
		ioTimeout:   opts.ioTimeout,
		socketCheck: opts.socketCheck,
		uid:         os.Geteuid(),
		sock:        sock,
		socket:      listening,
		tb: newTable(tableOptions{
			Now:      time.Now,
			IdleExit: opts.IdleExit,
			Refresh:  opts.Refresh,
			Reach:    opts.Reach,
			ReachTTL: opts.ReachTTL,
			SignIn:   opts.SignIn,
		}),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.accept(ln)
	if opts.listening != nil {
		opts.listening(s)
	}
	s.run(term)

	// Checked right before removing: another daemon may have put its own
	// socket there (the directory was deleted and made again), and that one
	// must stay. What remains of the race is the time between two syscalls.
	if s.ownsSocket() {
		os.Remove(sock)
	}
	ln.Close()
	lock.Close()
	close(s.done) // ends lock holders and waiters, and answers "stop"
	return nil
}

// server is the daemon's side of the socket: who may connect, and what
// each connection asks of the table.
type server struct {
	ioTimeout   time.Duration
	socketCheck time.Duration
	uid         int
	sock        string      // the socket's path
	socket      os.FileInfo // the socket file as created, to tell it from a replacement
	tb          *table

	stop     chan struct{} // closed by a "stop" request
	stopOnce sync.Once
	done     chan struct{} // closed once the daemon no longer listens
}

// run sleeps until the table's next wake-up or a socket check, and returns
// when the daemon should exit, with the table closed.
func (s *server) run(term <-chan os.Signal) {
	defer s.tb.Close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	check := time.NewTicker(s.socketCheck)
	defer check.Stop()
	for {
		wake, exit := s.tb.Next()
		if exit {
			return
		}
		wait := time.Hour // nothing scheduled: only a change wakes the table
		if !wake.IsZero() {
			wait = max(time.Until(wake), 0)
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.tb.Changed():
		case <-check.C:
			if !s.ownsSocket() {
				return
			}
		case <-s.stop:
			return
		case <-term:
			return
		}
	}
}

// ownsSocket reports whether the socket path still names the socket this
// daemon listens on: not removed, alone or with its directory, and not
// replaced by another file or another daemon's socket.
func (s *server) ownsSocket() bool {
	fi, err := os.Lstat(s.sock)
	return err == nil && os.SameFile(fi, s.socket)
}

func (s *server) accept(ln *net.UnixListener) {
	buf := make([]byte, 4096)
	for {
		c, err := ln.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Typically out of file descriptors: back off instead of spinning.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if read, done := s.quick(c, buf); !done {
			go s.serve(c, read)
		}
	}
}

// quick answers a get, put or delete that has already arrived in full on
// the accepting goroutine: a cache hit then costs the daemon no goroutine
// and no other thread woken, only the lookup. Anything else, or a request
// still on its way, is left to serve, with what quick read of it.
func (s *server) quick(c *net.UnixConn, buf []byte) (read []byte, done bool) {
	if !s.samePeer(c) {
		c.Close() // closed without a word: nothing to tell a stranger
		return nil, true
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, false
	}
	// The connection wakes the daemon before the request is written, so
	// most requests are a few microseconds away: wait for them here, but
	// only briefly, as a client that sends nothing must not hold up others.
	c.SetReadDeadline(time.Now().Add(quickWait))
	n := 0
	raw.Read(func(fd uintptr) bool {
		var err error
		n, err = unix.Read(int(fd), buf)
		return err != unix.EAGAIN
	})
	if n <= 0 {
		return nil, false
	}
	got := buf[:n]
	if n < 4 || binary.BigEndian.Uint32(got) != uint32(n-4) {
		return bytes.Clone(got), false
	}
	req, err := DecodeRequest(bytes.NewReader(got))
	if err != nil || (req.Op != OpGet && req.Op != OpPut && req.Op != OpDelete) {
		return bytes.Clone(got), false
	}
	if !s.tb.Enter() {
		c.Close()
		return nil, true
	}
	defer s.tb.Leave()
	// The answer fits the socket's empty buffer, so one write without
	// waiting sends it; should it not, the rest goes out on a goroutine of
	// its own, as a slow reader must not hold up the daemon.
	resp := s.answer(req)
	if resp.Status == 0 {
		c.Close()
		return nil, true
	}
	answer := encodeResponse(resp)
	sent := 0
	raw.Write(func(fd uintptr) bool {
		sent, _ = unix.Write(int(fd), answer)
		return true
	})
	if rest := answer[max(sent, 0):]; len(rest) > 0 && s.tb.Enter() {
		go func() {
			defer c.Close()
			defer s.tb.Leave()
			c.SetWriteDeadline(time.Now().Add(s.ioTimeout))
			c.Write(rest)
		}()
		return nil, true
	}
	c.Close()
	return nil, true
}

// serve handles c on a goroutine of its own; read is what quick read of
// its request.
func (s *server) serve(c *net.UnixConn, read []byte) {
	defer c.Close()
	if !s.tb.Enter() {
		return
	}
	defer s.tb.Leave()

	c.SetDeadline(time.Now().Add(s.ioTimeout))
	req, err := DecodeRequest(io.MultiReader(bytes.NewReader(read), c))
	switch {
	case err != nil && req.legacy:
		writeFrame(c, rawFrame(legacyRefusal))
		return
	case err != nil:
		if !isIOError(err) {
			writeFrame(c, encodeResponse(Response{Status: statusError, Error: "bad request: " + err.Error()}))
		}
		return
	}
	switch req.Op {
	case OpLock:
		s.lock(c, req.Origin, req.Login)
	case OpStartSignIn, OpWaitSignIn:
		s.signIn(c, req)
	case OpStop:
		if req.legacy {
			writeFrame(c, rawFrame(legacyStopped))
		} else {
			writeFrame(c, encodeResponse(Response{Status: statusOK}))
		}
		s.stopOnce.Do(func() { close(s.stop) })
		<-s.done
	default:
		if resp := s.answer(req); resp.Status != 0 {
			writeFrame(c, encodeResponse(resp))
		}
	}
}

func (s *server) samePeer(c *net.UnixConn) bool {
	uid, _, err := connPeer(c)
	return err == nil && uid == s.uid
}

// connPeer returns the user and process at the other end of c.
func connPeer(c *net.UnixConn) (uid, pid int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, -1, err
	}
	if cerr := raw.Control(func(fd uintptr) { uid, pid, err = peer(int(fd)) }); cerr != nil {
		return -1, -1, cerr
	}
	return uid, pid, err
}

// isIOError tells a failed read (the peer left or stalled) from a request
// that arrived and was bad, which deserves an answer.
func isIOError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}

// answer carries out a get, put, delete or list; a Response without a
// Status is to be left unanswered.
func (s *server) answer(req Request) Response {
	switch req.Op {
	case OpGet:
		if t, found := s.tb.Get(req.Origin, req.Login); found {
			return Response{Status: statusOK, Tokens: []store.Token{t}}
		}
		return Response{Status: statusNotFound}
	case OpPut:
		switch err := s.tb.Put(*req.Token); {
		case errors.Is(err, store.ErrStale):
			return Response{Status: statusStale}
		case err != nil:
			return Response{} // exiting: unanswered, so the client starts another daemon
		}
	case OpDelete:
		s.tb.Delete(req.Origin, req.Login)
	case OpList:
		return Response{Status: statusOK, Tokens: s.tb.List()}
	case OpPendingSignIns:
		return Response{Status: statusSignIns, SignIns: s.tb.PendingSignIns()}
	}
	return Response{Status: statusOK}
}

// signIn answers a start or a wait, which last as long as the server or
// the person takes: the client bounds them. A client that leaves (closes
// c) ends the daemon's wait, never the sign-in.
func (s *server) signIn(c *net.UnixConn, req Request) {
	c.SetDeadline(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		c.Read(make([]byte, 1)) // returns once the client leaves, or c is closed after the answer
		cancel()
	}()
	var resp Response
	if req.Op == OpStartSignIn {
		st, err := s.tb.StartSignIn(ctx, *req.SignIn)
		switch {
		case err == nil:
			resp = Response{Status: statusSignIns, SignIns: []store.SignIn{st}}
		case errors.Is(err, errNoSignIns):
			resp = Response{Status: statusNoSignIn}
		case errors.Is(err, store.ErrSignedIn):
			resp = Response{Status: statusSignedIn}
		case errors.Is(err, errClosed):
			return // exiting: unanswered, so the client starts another daemon
		default:
			resp = Response{Status: statusFailed, Error: err.Error()}
		}
	} else {
		t, err := s.tb.WaitSignIn(ctx, req.Origin, req.Login)
		switch {
		case err == nil:
			resp = Response{Status: statusOK, Tokens: []store.Token{t}}
		case errors.Is(err, store.ErrNoSignIn):
			resp = Response{Status: statusNotFound}
		default:
			resp = Response{Status: statusFailed, Error: err.Error()}
		}
	}
	if ctx.Err() != nil {
		return // the client left
	}
	c.SetWriteDeadline(time.Now().Add(s.ioTimeout))
	writeFrame(c, encodeResponse(resp))
}

// lock queues c for the lock of origin and login, answers once the lock is
// granted, and holds it until c closes. Any read returning means the client
// closed or misbehaved; either way it leaves the queue.
func (s *server) lock(c *net.UnixConn, origin, login string) {
	c.SetDeadline(time.Time{}) // the client bounds the wait and the hold
	w := s.tb.Lock(origin, login)
	defer s.tb.Unlock(w)

	gone := make(chan struct{})
	go func() {
		c.Read(make([]byte, 1))
		close(gone)
	}()
	select {
	case <-w.granted:
	case <-gone:
		return
	case <-s.done:
		return
	}
	c.SetWriteDeadline(time.Now().Add(s.ioTimeout))
	if writeFrame(c, encodeResponse(Response{Status: statusOK})) != nil {
		return
	}
	select {
	case <-gone:
	case <-s.done:
	}
}
