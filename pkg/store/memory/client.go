//go:build linux || darwin

package memory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

const (
	// startTimeout bounds how long Put and Lock wait for a daemon they
	// started to listen.
	startTimeout = 3 * time.Second
	// maxSpawns caps restarts when a new daemon quits because an exiting
	// one still held the lock.
	maxSpawns = 3
)

// staleNotice and legacyNotice tell the person why tokens they had are gone.
const (
	staleNotice  = "the token daemon had stopped, so its tokens are gone; a new one starts when needed"
	legacyNotice = "the token daemon of an earlier version of git-credential-ghapp was stopped, so its tokens are gone"
)

// Options configure the client.
type Options struct {
	// Daemon is the argv that starts the daemon; default
	// {os.Executable(), "daemon"}. It runs detached, in "/", with only
	// GHAPP_RUNTIME_DIR=<dir> in its environment, and must call Serve on
	// that directory.
	Daemon []string
	// Notice, when set, receives one-line notices for the person, such as
	// that a stopped daemon's tokens are gone.
	Notice func(msg string)
}

// Store is a store.Store backed by the token daemon of one runtime
// directory. Its errors that mean no daemon could be reached or started
// match ErrUnavailable; a refusal by a daemon that answered does not.
type Store struct {
	dir, sock string
	opts      Options

	startTimeout time.Duration // startTimeout, unless a test shortens it
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.SignIns = (*Store)(nil)
)

// errNoDaemon means nothing listens on the socket.
var errNoDaemon = errors.New("no token daemon is running")

// Open checks the runtime directory dir (creating it when missing) and
// returns a client for its daemon. It connects to nothing and starts
// nothing.
func Open(dir string, opts Options) (*Store, error) {
	// The daemon runs in "/", so it must be told an absolute path.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("runtime directory %s: %v", dir, err)
	}
	// Check before Ensure: on the hit path the directory exists, and this
	// saves a mkdir.
	if runtimedir.Check(dir) != nil {
		if err := runtimedir.Ensure(dir); err != nil {
			return nil, err
		}
	}
	sock := filepath.Join(dir, sockName)
	if limit := len(unix.RawSockaddrUnix{}.Path) - 1; len(sock) > limit {
		return nil, unavailable(fmt.Errorf("runtime directory %s is too long for a Unix socket (at most %d bytes); set GHAPP_RUNTIME_DIR to a shorter path", dir, limit-len(sockName)-1))
	}
	return &Store{dir: dir, sock: sock, opts: opts, startTimeout: startTimeout}, nil
}

// KeepsRefreshTokens reports that this store may hold refresh tokens: they
// stay in the daemon's memory and never reach a file.
func (s *Store) KeepsRefreshTokens() bool { return true }

// Get returns the token for origin and login; see store.Store. It never
// starts a daemon. This is the path of every cache hit, so it costs one
// blocking connection and a few syscalls (see conn), and no JSON.
func (s *Store) Get(origin, login string) (store.Token, error) {
	resp, err := s.call(Request{Op: OpGet, Origin: origin, Login: login}, false)
	if errors.Is(err, errNoDaemon) {
		return store.Token{}, store.ErrNotFound
	}
	if err != nil {
		return store.Token{}, err
	}
	if len(resp.Tokens) != 1 {
		return store.Token{}, errors.New("the token daemon answered a get without a token")
	}
	return resp.Tokens[0], nil
}

// Put keeps t in the daemon, starting it when none runs. It returns
// store.ErrStale when the daemon keeps a newer token for the account.
func (s *Store) Put(t store.Token) error {
	_, err := s.call(Request{Op: OpPut, Token: &t}, true)
	return err
}

// Delete forgets the token for origin and login; see store.Store.
func (s *Store) Delete(origin, login string) error {
	_, err := s.call(Request{Op: OpDelete, Origin: origin, Login: login}, false)
	if errors.Is(err, errNoDaemon) {
		return nil
	}
	return err
}

// List returns every unexpired token, newest first.
func (s *Store) List() ([]store.Token, error) {
	resp, err := s.call(Request{Op: OpList}, false)
	if errors.Is(err, errNoDaemon) {
		return nil, nil
	}
	return resp.Tokens, err
}

// Stop asks a running daemon to exit, dropping every token it holds, and
// returns once it no longer listens. No daemon is not an error. It stops a
// daemon of any wire version.
func (s *Store) Stop() error {
	c, err := s.dial()
	if errors.Is(err, errNoDaemon) {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := writeFrame(c, encodeRequest(Request{Op: OpStop})); err != nil && !isGone(err) {
		return fmt.Errorf("the token daemon did not answer the stop request: %v", err)
	}
	body, err := c.readFrame(maxResponse)
	switch {
	case isGone(err):
		return nil // it was exiting anyway
	case err != nil:
		return fmt.Errorf("the token daemon did not answer the stop request: %v", err)
	case len(body) > 0 && body[0] == '{':
		return s.stopLegacy() // version 1 took the request for a bad one
	case len(body) > 0 && body[0] == Version:
		resp, err := parseResponse(body)
		if err != nil {
			return fmt.Errorf("the token daemon did not answer the stop request: %v", err)
		}
		if resp.Status != statusOK {
			return fmt.Errorf("the token daemon refused to stop: %s", resp.Error)
		}
	}
	// A daemon of any later version obeys too, answering in its own format.
	return waitClosed(c)
}

// waitClosed returns once the daemon closes c, which a stopping daemon
// does once it no longer listens.
func waitClosed(c *conn) error {
	if _, err := c.Read(make([]byte, 1)); !isGone(err) {
		return fmt.Errorf("the token daemon did not stop within %v", ioTimeout)
	}
	return nil
}

// stopLegacy stops a daemon of wire version 1, left running by an earlier
// version of this program: its tokens are of no use to this one.
func (s *Store) stopLegacy() error {
	c, err := s.dial()
	if errors.Is(err, errNoDaemon) {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.Write(rawFrame(legacyStop))
	if _, err := c.readFrame(maxResponse); err != nil && !isGone(err) {
		return fmt.Errorf("the token daemon of an earlier version did not answer the stop request: %v", err)
	}
	if err := waitClosed(c); err != nil {
		return err
	}
	if s.opts.Notice != nil {
		s.opts.Notice(legacyNotice)
	}
	return nil
}

// Lock takes the daemon's lock for origin and login, starting the daemon
// when none runs. The lock lives as long as the connection, so it is
// released by unlock, or by the kernel when this process dies.
func (s *Store) Lock(ctx context.Context, origin, login string) (unlock func(), err error) {
	c, resp, err := s.hold(ctx, Request{Op: OpLock, Origin: origin, Login: login}, true)
	if err == nil && resp.Status != statusOK {
		c.Close()
		err = holdError{errors.New(resp.Error)}
	}
	if isHoldError(err) {
		return nil, fmt.Errorf("cannot take the sign-in lock from the token daemon: %v", err)
	}
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})
	var once sync.Once
	return func() { once.Do(func() { c.Close() }) }, nil
}

// holdError is an error of hold that comes from the daemon or the
// connection, for the caller to say what it was doing; the others (ctx's,
// no daemon, a daemon that cannot start) are told as they are.
type holdError struct{ err error }

func (e holdError) Error() string { return e.err.Error() }
func (e holdError) Unwrap() error { return e.err }

func isHoldError(err error) bool {
	var he holdError
	return errors.As(err, &he)
}

// ask sends req as hold does and closes the connection once answered. An
// error of the daemon or the connection goes through failed, which says
// what the caller was doing; the others come as hold returns them.
func (s *Store) ask(ctx context.Context, req Request, start bool, failed func(error) error) (Response, error) {
	c, resp, err := s.hold(ctx, req, start)
	if isHoldError(err) {
		return Response{}, failed(err)
	}
	if err != nil {
		return Response{}, err
	}
	c.Close()
	return resp, nil
}

// hold sends req on a connection that stays open until the daemon
// answers, however long that takes, or ctx ends, and returns the
// connection with the answer; start says whether to start a daemon when
// none runs. The caller closes the connection; on error it is closed.
func (s *Store) hold(ctx context.Context, req Request, start bool) (net.Conn, Response, error) {
	frame := encodeRequest(req)
	for retried := false; ; retried = true {
		if err := ctx.Err(); err != nil {
			return nil, Response{}, err
		}
		raw, err := s.connect(start)
		if err != nil {
			return nil, Response{}, err
		}
		// The wait must end with ctx: hand the connection to the
		// runtime's poller, whose deadlines can be moved. This is no hit
		// path.
		c, err := raw.netConn()
		if err != nil {
			return nil, Response{}, holdError{err}
		}
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		err = writeFrame(c, frame)
		var resp Response
		if err == nil {
			stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
			resp, err = decodeResponse(c)
			if !stop() {
				c.Close()
				return nil, Response{}, ctx.Err()
			}
		}
		if errors.Is(err, errLegacyDaemon) && !retried {
			c.Close()
			if err := s.stopLegacy(); err != nil {
				return nil, Response{}, err
			}
			continue
		}
		if isGone(err) && !retried {
			c.Close()
			continue // the daemon exited under us; start another, or find none
		}
		if err != nil {
			c.Close()
			return nil, Response{}, holdError{err}
		}
		return c, resp, nil
	}
}

// StartSignIn has the daemon run a device-flow sign-in for req, or join
// the one under way, and returns its code; see store.SignIns. It starts
// the daemon when none runs. A daemon that runs no sign-ins, or predates
// them, is an error matching store.ErrNoBackgroundSignIn; the flow's own
// failure before it had a code is returned as its one line.
func (s *Store) StartSignIn(ctx context.Context, req store.SignInRequest) (store.SignIn, error) {
	resp, err := s.ask(ctx, Request{Op: OpStartSignIn, SignIn: &req}, true, func(err error) error {
		return fmt.Errorf("cannot start a sign-in in the token daemon: %v", err)
	})
	if err != nil {
		return store.SignIn{}, err
	}
	switch resp.Status {
	case statusSignIns:
		if len(resp.SignIns) == 1 {
			return resp.SignIns[0], nil
		}
	case statusFailed:
		return store.SignIn{}, errors.New(resp.Error)
	case statusNoSignIn:
		return store.SignIn{}, noBackground(errNoSignIns.Error())
	case statusSignedIn:
		return store.SignIn{}, store.ErrSignedIn
	}
	return store.SignIn{}, s.refusal(resp)
}

// WaitSignIn waits, until ctx ends, for the sign-in the daemon runs for
// origin and login; see store.SignIns. Sign-ins are told apart by origin
// and login exactly: one for any account (login "") is not one for a
// named account, nor the other way round. It never starts a daemon: with
// none running, no sign-in is under way.
func (s *Store) WaitSignIn(ctx context.Context, origin, login string) (store.Token, error) {
	resp, err := s.ask(ctx, Request{Op: OpWaitSignIn, Origin: origin, Login: login}, false, func(err error) error {
		return fmt.Errorf("cannot wait for the sign-in in the token daemon: %v", err)
	})
	if errors.Is(err, errNoDaemon) {
		return store.Token{}, store.ErrNoSignIn
	}
	if err != nil {
		return store.Token{}, err
	}
	switch resp.Status {
	case statusOK:
		if len(resp.Tokens) == 1 {
			return resp.Tokens[0], nil
		}
	case statusFailed:
		return store.Token{}, errors.New(resp.Error)
	case statusNotFound:
		return store.Token{}, store.ErrNoSignIn
	}
	return store.Token{}, s.refusal(resp)
}

// PendingSignIns returns the codes waiting to be entered, the one that
// expires first first. It never starts a daemon: with none, there are none.
func (s *Store) PendingSignIns() ([]store.SignIn, error) {
	resp, err := s.call(Request{Op: OpPendingSignIns}, false)
	if errors.Is(err, errNoDaemon) {
		return nil, nil
	}
	return resp.SignIns, err
}

// BackgroundSignIns reports that this store runs sign-ins in its daemon;
// StartSignIn says whether the running daemon can (store.ErrNoBackgroundSignIn).
func (s *Store) BackgroundSignIns() bool { return true }

// oldDaemonMsg is why a daemon that predates an op refuses it.
const oldDaemonMsg = "the token daemon is older than this helper; end it with: git-credential-ghapp logout --all"

// refusal is the error for an answer that is not one of the op's own.
func (s *Store) refusal(resp Response) error {
	switch {
	case resp.Status == statusError && resp.Error == unknownOpRefusal:
		return noBackground(oldDaemonMsg)
	case resp.Status == statusError:
		return fmt.Errorf("the token daemon refused the request: %s", resp.Error)
	}
	return errors.New("the token daemon sent a malformed response")
}

// noBackgroundError reads as its message and matches
// store.ErrNoBackgroundSignIn.
type noBackgroundError struct{ msg string }

func (e noBackgroundError) Error() string { return e.msg }
func (e noBackgroundError) Unwrap() error { return store.ErrNoBackgroundSignIn }

func noBackground(msg string) error { return noBackgroundError{msg} }

// call sends one request and returns the daemon's answer; start says
// whether to start a daemon when none runs.
func (s *Store) call(req Request, start bool) (Response, error) {
	frame := encodeRequest(req)
	if len(frame)-4 > MaxRequest {
		return Response{}, fmt.Errorf("the token is too large for the token daemon (%d bytes, at most %d)", len(frame)-4, MaxRequest)
	}
	for retried := false; ; retried = true {
		c, err := s.connect(start)
		if err != nil {
			return Response{}, err
		}
		resp, err := roundTrip(c, frame)
		c.Close()
		if errors.Is(err, errLegacyDaemon) {
			// Left by an earlier version: end it, and carry on as if
			// none ran.
			if err := s.stopLegacy(); err != nil {
				return Response{}, err
			}
			err = io.EOF
		}
		if isGone(err) {
			// The daemon exited between accepting and answering: it was
			// idle, or being stopped, so it held nothing.
			if start && !retried {
				continue
			}
			if !start {
				return Response{}, errNoDaemon
			}
		}
		if err != nil {
			return Response{}, fmt.Errorf("the token daemon did not answer: %v", err)
		}
		switch resp.Status {
		case statusOK, statusSignIns:
			return resp, nil
		case statusNotFound:
			return resp, store.ErrNotFound
		case statusStale:
			return resp, store.ErrStale
		default:
			return resp, s.refusal(resp)
		}
	}
}

func roundTrip(c *conn, frame []byte) (Response, error) {
	if err := writeFrame(c, frame); err != nil {
		return Response{}, err
	}
	body, err := c.readFrame(maxResponse)
	if err != nil {
		return Response{}, err
	}
	return parseResponse(body)
}

// isGone reports whether the daemon closed the connection.
func isGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (s *Store) connect(start bool) (*conn, error) {
	c, err := s.dial()
	if errors.Is(err, errNoDaemon) && start {
		return s.startDaemon()
	}
	return c, err
}

// dial connects to the daemon, or returns errNoDaemon.
func (s *Store) dial() (*conn, error) {
	c, err := dialUnix(s.sock, ioTimeout)
	switch {
	case err == nil:
		// The daemon checks its peers; the client checks the daemon too, so
		// that a listener of another user (a socket planted or linked in
		// its place) is never sent a token nor trusted for one.
		uid, _, perr := peer(c.fd)
		if perr != nil {
			c.Close()
			return nil, fmt.Errorf("cannot tell who serves the token daemon socket %s: %v", s.sock, perr)
		}
		if euid := os.Geteuid(); uid != euid {
			c.Close()
			return nil, fmt.Errorf("the token daemon socket %s is served by uid %d, not you (uid %d); refusing it (remove %s)", s.sock, uid, euid, s.sock)
		}
		return c, nil
	case errors.Is(err, syscall.ENOENT):
		return nil, errNoDaemon
	case errors.Is(err, syscall.ECONNREFUSED):
		s.removeStaleSocket()
		return nil, errNoDaemon
	}
	return nil, unavailable(fmt.Errorf("cannot reach the token daemon at %s: %v", s.sock, err))
}

// removeStaleSocket removes a socket nobody listens on, left by a daemon
// that was killed. Only a daemon holding the flock listens, so when this
// process gets the flock the socket is surely stale; when it does not, a
// daemon is starting or exiting and the socket is left to it.
func (s *Store) removeStaleSocket() {
	f, err := openLockFile(s.dir)
	if err != nil {
		return
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return
	}
	if os.Remove(s.sock) == nil && s.opts.Notice != nil {
		s.opts.Notice(staleNotice)
	}
}

// startDaemon starts a daemon and returns a connection to it.
func (s *Store) startDaemon() (*conn, error) {
	argv := s.opts.Daemon
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, unavailable(fmt.Errorf("cannot find this program to start the token daemon: %v", err))
		}
		argv = []string{exe, "daemon"}
	}
	deadline := time.Now().Add(s.startTimeout)
	p, err := s.spawn(argv)
	if err != nil {
		return nil, err
	}
	started := []*process{p}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := s.dial()
		if err == nil {
			endStragglers(c, started)
		}
		if !errors.Is(err, errNoDaemon) {
			return c, err
		}
		if time.Now().After(deadline) {
			return nil, unavailable(fmt.Errorf("the token daemon did not listen on %s within %v; run %q to see why", s.sock, s.startTimeout, strings.Join(argv, " ")))
		}
		select {
		case <-p.done:
			if p.err != nil {
				return nil, unavailable(fmt.Errorf("the token daemon exited before it listened (%v); run %q to see why", p.err, strings.Join(argv, " ")))
			}
			// It quit quietly because another daemon held the lock. That
			// one is starting (its socket appears soon) or exiting (a new
			// daemon is needed): start another to cover the second case.
			if len(started) < maxSpawns {
				if p, err = s.spawn(argv); err != nil {
					return nil, err
				}
				started = append(started, p)
			} else {
				p = &process{} // nil done: just keep polling
			}
		case <-tick.C:
		}
	}
}

// endStragglers ends the daemons this client started, other than the one
// c reached. They would quit on finding the lock taken, but one slow to
// get there could find it free after the daemon in charge stopped, and
// linger holding nothing.
func endStragglers(c *conn, started []*process) {
	_, pid, err := peer(c.fd)
	if err != nil {
		return
	}
	for _, p := range started {
		if p.proc.Pid != pid {
			p.proc.Signal(syscall.SIGTERM) // harmless if it already quit
		}
	}
}

// process is a started daemon; err is valid once done is closed.
type process struct {
	proc *os.Process
	done chan struct{}
	err  error
}

// spawnHook, when set (by tests), learns of every daemon started.
var spawnHook func(dir string, p *process)

// spawn starts argv detached from this process's session and terminal,
// with no inherited environment: git's may hold secrets.
func (s *Store) spawn(argv []string) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = daemonEnv(s.dir)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, unavailable(fmt.Errorf("cannot start the token daemon: %v", err))
	}
	p := &process{proc: cmd.Process, done: make(chan struct{})}
	if spawnHook != nil {
		spawnHook(s.dir, p)
	}
	go func() {
		p.err = cmd.Wait() // reaps it if it quits while this process runs
		close(p.done)
	}()
	return p, nil
}

func daemonEnv(dir string) []string {
	env := []string{"GHAPP_RUNTIME_DIR=" + dir}
	// A daemon that renews tokens (ghapp.refresh) must reach the server the
	// way the helper does: through the same proxy, trusting the same CAs.
	for _, name := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}
