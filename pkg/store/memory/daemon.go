//go:build linux || darwin

package memory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/runtimedir"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

const (
	sockName = "daemon.sock"
	lockName = "daemon.lock"
	// ioTimeout bounds one request on both sides, so neither a stuck client
	// nor a stuck daemon can hold the other.
	ioTimeout = 5 * time.Second
	// socketCheck is how often the daemon makes sure its socket is still
	// in place. Once the socket is gone (logind removes $XDG_RUNTIME_DIR at
	// logout) no client can reach the tokens, so holding them any longer
	// only keeps secrets alive for nothing.
	socketCheck = time.Second
)

// ServeOptions tune the daemon.
type ServeOptions struct {
	// IdleExit is how long the daemon stays once it holds no token, no
	// lock and no waiter; default 30s, as git's credential-cache.
	IdleExit time.Duration
	// Refresh, when set, renews a token that carries a refresh token,
	// shortly before it expires and until its RefreshUntil. A failed
	// renewal is not retried: the token then expires, and the next git
	// command signs in with the device flow.
	Refresh func(ctx context.Context, t store.Token) (store.Token, error)
}

// refreshWait bounds one renewal.
const refreshWait = 30 * time.Second

// refreshDue is when the daemon renews t, and whether it will: early
// enough that a get never finds less than MinLifetime left, but not before
// half the token's life, so a short-lived token is not renewed in a loop.
func refreshDue(t store.Token, now time.Time) (time.Time, bool) {
	if t.RefreshToken == "" || !now.Before(t.RefreshUntil) {
		return time.Time{}, false
	}
	margin := min(t.MinLifetime+time.Minute, t.Expiry.Sub(t.Minted)/2)
	return t.Expiry.Add(-margin), true
}

// Serve runs the token daemon for dir in the current process until it has
// been idle for IdleExit, is asked to stop, gets SIGTERM, or finds its
// socket removed or replaced (checked every second). It returns nil
// at once when another daemon already serves dir. It changes the process's
// signal handling (SIGINT, SIGHUP and SIGPIPE are ignored, so the daemon
// outlives the git command and terminal that started it) and shuts out
// debuggers (non-dumpable on Linux, PT_DENY_ATTACH on macOS).
func Serve(dir string, opts ServeOptions) error {
	if opts.IdleExit <= 0 {
		opts.IdleExit = 30 * time.Second
	}
	if err := runtimedir.Ensure(dir); err != nil {
		return err
	}
	if err := hardenProcess(); err != nil {
		return err
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)

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

	d := &daemon{
		uid:      os.Geteuid(),
		sock:     sock,
		socket:   listening,
		tokens:   map[key]store.Token{},
		refresh:  opts.Refresh,
		renewing: map[key]bool{},
		locks:    map[key][]*waiter{},
		changed:  make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go d.accept(ln)
	d.run(opts.IdleExit, term)

	// Checked right before removing: another daemon may have put its own
	// socket there (the directory was deleted and made again), and that one
	// must stay. What remains of the race is the time between two syscalls.
	if d.ownsSocket() {
		os.Remove(sock)
	}
	ln.Close()
	lock.Close()
	close(d.done) // ends lock holders and waiters, and answers "stop"
	return nil
}

func openLockFile(dir string) (*os.File, error) {
	name := filepath.Join(dir, lockName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %v (remove it if it is not a plain file)", name, err)
	}
	return f, nil
}

type key struct{ origin, login string }

type waiter struct{ granted chan struct{} }

type daemon struct {
	uid    int
	sock   string      // the socket's path
	socket os.FileInfo // the socket file as created, to tell it from a replacement

	refresh func(ctx context.Context, t store.Token) (store.Token, error)

	mu       sync.Mutex
	renewing map[key]bool // renewals under way
	tokens   map[key]store.Token
	locks    map[key][]*waiter // [0] holds the lock; the rest wait in order
	open     int               // connections being served, lock holders and waiters included
	closing  bool              // set once the daemon decided to exit

	changed  chan struct{} // poked when open drops, to re-check idleness
	stop     chan struct{} // closed by a "stop" request
	stopOnce sync.Once
	done     chan struct{} // closed once the daemon no longer listens
}

// run sleeps until the next token expiry, idle deadline or socket check,
// and returns when the daemon should exit, with every token dropped.
func (d *daemon) run(idleExit time.Duration, term <-chan os.Signal) {
	defer d.setClosing()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	check := time.NewTicker(socketCheck)
	defer check.Stop()
	var idleSince time.Time
	for {
		now := time.Now()
		d.mu.Lock()
		d.sweep(now)
		idle := len(d.tokens) == 0 && d.open == 0
		switch {
		case !idle:
			idleSince = time.Time{}
		case idleSince.IsZero():
			idleSince = now
		}
		wait := time.Hour
		if idle {
			wait = idleSince.Add(idleExit).Sub(now)
			if wait <= 0 {
				d.closing = true // under mu, so no connection slips in
				d.mu.Unlock()
				return
			}
		}
		for k, t := range d.tokens {
			wait = min(wait, t.Expiry.Sub(now))
			if due, ok := refreshDue(t, now); ok && d.refresh != nil && !d.renewing[k] {
				if !now.Before(due) {
					d.renewing[k] = true
					go d.renew(k, t)
					continue
				}
				wait = min(wait, due.Sub(now))
			}
		}
		d.mu.Unlock()

		timer.Reset(max(wait, 0))
		select {
		case <-timer.C:
		case <-d.changed:
		case <-check.C:
			if !d.ownsSocket() {
				return
			}
		case <-d.stop:
			return
		case <-term:
			return
		}
	}
}

// renew replaces t with a renewed token, unless t was replaced meanwhile.
func (d *daemon) renew(k key, t store.Token) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshWait)
	defer cancel()
	fresh, err := d.refresh(ctx, t)
	d.mu.Lock()
	delete(d.renewing, k)
	if cur, ok := d.tokens[k]; ok && cur.AccessToken == t.AccessToken && !d.closing {
		if err != nil {
			cur.RefreshToken = ""
			d.tokens[k] = cur
		} else {
			d.tokens[k] = fresh
		}
	}
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// setClosing turns away new connections and drops every token, so that
// nothing is handed out once the daemon has decided to exit.
func (d *daemon) setClosing() {
	d.mu.Lock()
	d.closing = true
	clear(d.tokens)
	d.mu.Unlock()
}

// ownsSocket reports whether the socket path still names the socket this
// daemon listens on: not removed, alone or with its directory, and not
// replaced by another file or another daemon's socket.
func (d *daemon) ownsSocket() bool {
	fi, err := os.Lstat(d.sock)
	return err == nil && os.SameFile(fi, d.socket)
}

// sweep drops expired tokens; d.mu is held.
func (d *daemon) sweep(now time.Time) {
	for k, t := range d.tokens {
		if !now.Before(t.Expiry) {
			delete(d.tokens, k)
		}
	}
}

func (d *daemon) accept(ln *net.UnixListener) {
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
		go d.serve(c)
	}
}

// enter counts a connection as open unless the daemon is exiting.
func (d *daemon) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return false
	}
	d.open++
	return true
}

func (d *daemon) leave() {
	d.mu.Lock()
	d.open--
	d.mu.Unlock()
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

func (d *daemon) serve(c *net.UnixConn) {
	defer c.Close()
	if !d.samePeer(c) || !d.enter() {
		return // closed without a word: nothing to tell a stranger
	}
	defer d.leave()

	c.SetDeadline(time.Now().Add(ioTimeout))
	req, err := DecodeRequest(c)
	if err != nil {
		if !isIOError(err) {
			writeFrame(c, Response{V: Version, Status: statusError, Error: "bad request: " + err.Error()})
		}
		return
	}
	switch req.Op {
	case OpLock:
		d.lock(c, key{req.Origin, req.Login})
	case OpStop:
		writeFrame(c, Response{V: Version, Status: statusOK})
		d.stopOnce.Do(func() { close(d.stop) })
		<-d.done
	default:
		writeFrame(c, d.answer(req, time.Now()))
	}
}

func (d *daemon) samePeer(c *net.UnixConn) bool {
	uid, _, err := connPeer(c)
	return err == nil && uid == d.uid
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

func (d *daemon) answer(req Request, now time.Time) Response {
	ok := Response{V: Version, Status: statusOK}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep(now)
	switch req.Op {
	case OpGet:
		if t, found := d.find(req.Origin, req.Login); found {
			t.RefreshToken = "" // stays in the daemon: no client needs it
			ok.Token = &t
			return ok
		}
		return Response{V: Version, Status: statusNotFound}
	case OpPut:
		t := *req.Token
		k := key{t.Origin, t.Login}
		if now.Before(t.Expiry) {
			d.tokens[k] = t
		} else {
			delete(d.tokens, k) // an expired token still replaces
		}
	case OpDelete:
		for k := range d.tokens {
			if k.origin == req.Origin && (req.Login == "" || k.login == req.Login) {
				delete(d.tokens, k)
			}
		}
	case OpList:
		ok.Tokens = make([]store.Token, 0, len(d.tokens))
		for _, t := range d.tokens {
			t.RefreshToken = ""
			ok.Tokens = append(ok.Tokens, t)
		}
		store.SortNewestFirst(ok.Tokens)
	}
	return ok
}

// find returns the token for origin and login, or with an empty login the
// one minted last on origin; d.mu is held.
func (d *daemon) find(origin, login string) (store.Token, bool) {
	if login != "" {
		t, ok := d.tokens[key{origin, login}]
		return t, ok
	}
	var best store.Token
	found := false
	for k, t := range d.tokens {
		if k.origin == origin && (!found || t.Minted.After(best.Minted)) {
			best, found = t, true
		}
	}
	return best, found
}

// lock queues c for k, answers once the lock is granted, and holds it until
// c closes. Any read returning means the client closed or misbehaved; either
// way it leaves the queue.
func (d *daemon) lock(c *net.UnixConn, k key) {
	c.SetDeadline(time.Time{}) // the client bounds the wait and the hold
	w := &waiter{granted: make(chan struct{})}
	d.mu.Lock()
	d.locks[k] = append(d.locks[k], w)
	if len(d.locks[k]) == 1 {
		close(w.granted)
	}
	d.mu.Unlock()
	defer d.unlock(k, w)

	gone := make(chan struct{})
	go func() {
		c.Read(make([]byte, 1))
		close(gone)
	}()
	select {
	case <-w.granted:
	case <-gone:
		return
	case <-d.done:
		return
	}
	c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if writeFrame(c, Response{V: Version, Status: statusOK}) != nil {
		return
	}
	select {
	case <-gone:
	case <-d.done:
	}
}

func (d *daemon) unlock(k key, w *waiter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.locks[k]
	i := slices.Index(q, w)
	q = slices.Delete(q, i, i+1)
	if len(q) == 0 {
		delete(d.locks, k)
		return
	}
	d.locks[k] = q
	if i == 0 {
		close(q[0].granted)
	}
}
