//go:build linux || darwin

package memory

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/storetest"
)

// The test binary plays three more parts when re-executed, told apart by
// its first argument (the client gives the daemon no inherited environment,
// so an argument is what survives).
const (
	daemonArg = "ghapp-memory-test-daemon" // <idle-exit>: run Serve
	dialArg   = "ghapp-memory-test-dial"   // <socket>: send a list request, report what came back
	dirEnv    = "GHAPP_MEMORY_TEST_DIR"    // tells storetest's lock holder the runtime dir
)

// wait bounds waits that end at once when the code is right, so that a bug
// fails a test instead of hanging it.
const wait = 15 * time.Second

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == daemonArg {
		idle, err := time.ParseDuration(os.Args[2])
		if err == nil {
			// A request that never arrives, and a socket gone, are seen in
			// a second or less instead of five.
			err = Serve(os.Getenv("GHAPP_RUNTIME_DIR"), ServeOptions{IdleExit: idle, ioTimeout: time.Second, socketCheck: 100 * time.Millisecond})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		syscall.Exit(0) // skips the race detector's one-second pause at exit
	}
	if len(os.Args) == 3 && os.Args[1] == dialArg {
		fmt.Print(dialAndReport(os.Args[2]))
		os.Exit(0)
	}
	storetest.LockHolderMain(func() (store.Store, error) {
		return Open(os.Getenv(dirEnv), Options{Daemon: daemonArgv(time.Second)})
	})
	spawnHook = track
	code := m.Run()
	// Whatever a failed test left behind must not outlive the run.
	for _, p := range tracked("") {
		syscall.Kill(p.proc.Pid, syscall.SIGKILL)
		<-p.done
	}
	os.Exit(code)
}

var (
	procsMu sync.Mutex
	procs   = map[string][]*process{} // by runtime dir
)

func track(dir string, p *process) {
	procsMu.Lock()
	defer procsMu.Unlock()
	procs[dir] = append(procs[dir], p)
}

// tracked returns the daemons started for dir, or for every dir if "".
func tracked(dir string) []*process {
	procsMu.Lock()
	defer procsMu.Unlock()
	if dir != "" {
		return slices.Clone(procs[dir])
	}
	var all []*process
	for _, ps := range procs {
		all = append(all, ps...)
	}
	return all
}

func daemonArgv(idle time.Duration) []string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return []string{exe, daemonArg, idle.String()}
}

// env is one runtime directory with a client on it.
type env struct {
	dir string
	s   *Store

	mu      sync.Mutex
	notices []string
}

// newEnv makes a fresh runtime directory, short enough for a socket path,
// on tmpfs, and ends its daemon when the test ends.
func newEnv(t *testing.T, idle time.Duration) *env {
	t.Helper()
	base := "/dev/shm"
	if _, err := os.Stat(base); err != nil {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "gm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &env{dir: dir}
	e.s, err = Open(dir, Options{Daemon: daemonArgv(idle), Notice: e.notice})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		for _, p := range tracked(dir) {
			select {
			case <-p.done:
			case <-time.After(wait):
				syscall.Kill(p.proc.Pid, syscall.SIGKILL)
				t.Errorf("daemon %d was still running after Stop", p.proc.Pid)
			}
		}
	})
	return e
}

func (e *env) notice(msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notices = append(e.notices, msg)
}

func (e *env) takeNotices() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.notices
	e.notices = nil
	return n
}

func (e *env) sock() string { return filepath.Join(e.dir, sockName) }

// daemon returns the running daemon of e, as started by this process.
func (e *env) daemon(t *testing.T) *process {
	t.Helper()
	c, err := net.Dial("unix", e.sock())
	if err != nil {
		t.Fatalf("no daemon answers: %v", err)
	}
	defer c.Close()
	_, pid, err := connPeer(c.(*net.UnixConn))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tracked(e.dir) {
		if p.proc.Pid == pid {
			return p
		}
	}
	t.Fatalf("the daemon (pid %d) was not started by this test", pid)
	return nil
}

func waitExit(t *testing.T, p *process, why string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(wait):
		t.Fatalf("daemon %d did not exit %s", p.proc.Pid, why)
	}
}

func newSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "ghu_" + hex.EncodeToString(b)
}

// redact shows enough of a token to tell which it is, and not enough to use it.
func redact(s string) string { return fmt.Sprintf("%.8s…", s) }

func token(t *testing.T, login string, life time.Duration) store.Token {
	now := time.Now()
	return store.Token{
		Origin:      "https://github.com",
		Login:       login,
		AccessToken: newSecret(),
		Expiry:      now.Add(life),
		MinLifetime: time.Minute,
		API:         "https://api.github.com",
		ClientID:    "Iv23liTestClient",
		Minted:      now,
	}
}

func mustPut(t *testing.T, s *Store, tk store.Token) {
	t.Helper()
	if err := s.Put(tk); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func wantToken(t *testing.T, s *Store, tk store.Token) {
	t.Helper()
	got, err := s.Get(tk.Origin, tk.Login)
	if err != nil {
		t.Fatalf("Get(%s): %v", tk.Login, err)
	}
	if got.AccessToken != tk.AccessToken {
		t.Fatalf("Get(%s) = %s, want %s", tk.Login, redact(got.AccessToken), redact(tk.AccessToken))
	}
}

func wantNotFound(t *testing.T, s *Store, tk store.Token) {
	t.Helper()
	if got, err := s.Get(tk.Origin, tk.Login); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s) = %s, %v; want ErrNotFound", tk.Login, redact(got.AccessToken), err)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return newEnv(t, 30*time.Second).s })
}

func TestLockDiesWithHolder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	mustPut(t, e.s, token(t, "octocat", time.Hour)) // the daemon is this process's child
	storetest.TestLockHolderDeath(t, e.s, dirEnv+"="+e.dir)
}

func TestReadsStartNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second)
	e.s.opts.Daemon = []string{"/nonexistent/daemon"} // starting one would fail loudly
	if _, err := e.s.Get("https://github.com", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get with no daemon: %v; want ErrNotFound", err)
	}
	if l, err := e.s.List(); err != nil || len(l) != 0 {
		t.Errorf("List with no daemon = %d tokens, %v; want none", len(l), err)
	}
	if err := e.s.Delete("https://github.com", ""); err != nil {
		t.Errorf("Delete with no daemon: %v", err)
	}
	if err := e.s.Stop(); err != nil {
		t.Errorf("Stop with no daemon: %v", err)
	}
	if _, err := os.Lstat(e.sock()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a socket appeared: %v", err)
	}
	if n := len(tracked(e.dir)); n != 0 {
		t.Errorf("%d daemons were started", n)
	}
	if err := e.s.Put(token(t, "octocat", time.Hour)); err == nil || !strings.Contains(err.Error(), "cannot start the token daemon") || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Put with a missing daemon program: %v; want a clear start error that matches ErrUnavailable", err)
	}
}

// TestIdleExit: once the daemon holds nothing it exits, removing its
// socket. When the idle deadline falls is the table's business
// (TestTableIdleExit); this is the process around it.
func TestIdleExit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50*time.Millisecond)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)
	if err := e.s.Delete(tk.Origin, ""); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p, "once it held nothing for IdleExit")
	if p.err != nil {
		t.Errorf("daemon exit: %v", p.err)
	}
	if _, err := os.Lstat(e.sock()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the daemon left its socket behind: %v", err)
	}
	wantNotFound(t, e.s, tk)
	if n := e.takeNotices(); len(n) != 0 {
		t.Errorf("notices after a clean exit: %q", n)
	}
}

func TestConcurrentStartsEndWithOneDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	const clients = 6
	toks := make([]store.Token, clients)
	errs := make([]error, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		toks[i] = token(t, fmt.Sprintf("user%d", i), time.Hour)
		s, err := Open(e.dir, e.s.opts)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			errs[i] = s.Put(toks[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put by client %d: %v", i, err)
		}
	}
	for _, tk := range toks {
		wantToken(t, e.s, tk) // all went to the same daemon
	}
	survivor := e.daemon(t)
	for _, p := range tracked(e.dir) {
		if p != survivor {
			waitExit(t, p, "although another daemon held the lock")
		}
	}
	select {
	case <-survivor.done:
		t.Fatal("the daemon that answered has exited")
	default:
	}
	t.Logf("%d daemons started, one kept", len(tracked(e.dir)))
}

func TestKilledDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)
	syscall.Kill(p.proc.Pid, syscall.SIGKILL)
	waitExit(t, p, "on SIGKILL")

	wantNotFound(t, e.s, tk)
	if n := e.takeNotices(); len(n) != 1 || n[0] != staleNotice {
		t.Errorf("notices after the daemon was killed = %q; want one: %q", n, staleNotice)
	}
	wantNotFound(t, e.s, tk)
	if n := e.takeNotices(); len(n) != 0 {
		t.Errorf("notices on the second Get = %q; want none", n)
	}

	mustPut(t, e.s, tk)
	if q := e.daemon(t); q.proc.Pid == p.proc.Pid {
		t.Fatal("Put reached the killed daemon")
	}
	wantToken(t, e.s, tk)
}

// TestExitsWhenRuntimeDirRemoved: logind removes $XDG_RUNTIME_DIR at
// logout, and with the socket gone no client could reach the tokens again.
func TestExitsWhenRuntimeDirRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	mustPut(t, e.s, token(t, "octocat", time.Hour))
	p := e.daemon(t)
	if err := os.RemoveAll(e.dir); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p, "after its runtime directory was removed")
	if p.err != nil {
		t.Errorf("daemon exit: %v", p.err)
	}
}

func TestExitsWhenSocketReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	mustPut(t, e.s, token(t, "octocat", time.Hour))
	p := e.daemon(t)
	if err := os.Remove(e.sock()); err != nil {
		t.Fatal(err)
	}
	other, err := net.ListenUnix("unix", &net.UnixAddr{Name: e.sock(), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() }) // before Stop, which would wait on it
	replacement, err := os.Lstat(e.sock())
	if err != nil {
		t.Fatal(err)
	}
	waitExit(t, p, "after its socket was replaced")
	if p.err != nil {
		t.Errorf("daemon exit: %v", p.err)
	}
	if fi, err := os.Lstat(e.sock()); err != nil || !os.SameFile(fi, replacement) {
		t.Errorf("the exiting daemon removed the socket that replaced its own: %v", err)
	}
}

// TestRuntimeDirRemadeUnderDaemon: the directory is removed and a new
// daemon starts in a new one of the same name before the old daemon
// notices. The old one exits, and leaves the new one's socket alone.
func TestRuntimeDirRemadeUnderDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	old := token(t, "octocat", time.Hour)
	mustPut(t, e.s, old)
	p := e.daemon(t)
	if err := os.RemoveAll(e.dir); err != nil {
		t.Fatal(err)
	}
	tk := token(t, "hubot", time.Hour)
	mustPut(t, e.s, tk)
	if q := e.daemon(t); q == p {
		t.Fatal("Put reached the daemon whose directory was removed")
	}
	waitExit(t, p, "after its runtime directory was removed and made again")
	wantToken(t, e.s, tk)
	wantNotFound(t, e.s, old)
}

func TestStaleSocketReplacedByPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)
	syscall.Kill(p.proc.Pid, syscall.SIGKILL)
	waitExit(t, p, "on SIGKILL")
	mustPut(t, e.s, tk) // straight to Put: no Get cleared the socket first
	wantToken(t, e.s, tk)
	if n := e.takeNotices(); len(n) != 1 {
		t.Errorf("notices = %q; want one", n)
	}
}

func TestLockWaiterLeavesOnContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	const o, l = "https://github.com", "octocat"
	unlock, err := e.s.Lock(context.Background(), o, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		u, err := e.s.Lock(ctx, o, l)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond) // let it queue; the result does not depend on it
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Lock after cancel: %v; want context.Canceled", err)
	}
	unlock()
	ctx2, cancel2 := context.WithTimeout(context.Background(), wait)
	defer cancel2()
	u, err := e.s.Lock(ctx2, o, l)
	if err != nil {
		t.Fatalf("Lock after the holder unlocked and the waiter left: %v", err)
	}
	u()
}

// rawConn connects to e's daemon without the client.
func rawConn(t *testing.T, e *env) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", e.sock())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(wait))
	return c.(*net.UnixConn)
}

func TestDaemonSurvivesBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)

	// Half-written: a header promising more than is ever sent.
	half := rawConn(t, e)
	half.Write(append(binary.BigEndian.AppendUint32(nil, 100), "\x03g"...))

	answered := []struct {
		name string
		send []byte
		want string
	}{
		{"text", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "too large"},
		{"garbage", frame("\x03g\xff\xff\xff"), "malformed"},
		{"future version", frame("\x04g\x12https://github.com\x00"), "version 4"},
		{"unknown op", frame("\x03x"), "unknown op"},
		{"over 64 KiB", frame("\x03l" + strings.Repeat("x", MaxRequest)), "too large"},
	}
	for _, tc := range answered {
		c := rawConn(t, e)
		c.Write(tc.send)
		resp, err := decodeResponse(c)
		if err != nil || resp.Status != statusError || !strings.Contains(resp.Error, tc.want) {
			t.Errorf("%s: response %+v, %v; want an error containing %q", tc.name, resp, err, tc.want)
		}
		if _, err := c.Read(make([]byte, 1)); !isGone(err) {
			t.Errorf("%s: the daemon kept the connection open: %v", tc.name, err)
		}
		wantToken(t, e.s, tk)
	}

	// A client of version 1 (JSON) is told, in its own format, that the
	// daemon is of a newer version.
	old := rawConn(t, e)
	old.Write(frame(`{"v":1,"op":"get","origin":"https://github.com"}`))
	if body, err := readFrame(old, maxResponse); err != nil || string(body) != legacyRefusal {
		t.Errorf("a version-1 get was answered %q, %v; want %q", body, err, legacyRefusal)
	}
	wantToken(t, e.s, tk)

	// A 1 MiB request, written in full while the daemon refuses it.
	big := rawConn(t, e)
	go big.Write(frame(strings.Repeat("x", 1<<20)))
	if resp, err := decodeResponse(big); err == nil && resp.Status != statusError {
		t.Errorf("1 MiB request answered %+v", resp)
	}
	wantToken(t, e.s, tk)

	// Too short to hold a header, then gone.
	c := rawConn(t, e)
	c.Write([]byte{0, 0})
	c.Close()
	wantToken(t, e.s, tk)

	// The half-written request is dropped at the daemon's read deadline,
	// without an answer, and the daemon serves on.
	if n, err := half.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("half-written request: read %d bytes, %v; want the daemon to close it unanswered", n, err)
	}
	wantToken(t, e.s, tk)
	select {
	case <-p.done:
		t.Fatal("the daemon exited")
	default:
	}
}

func TestSignals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE} {
		syscall.Kill(p.proc.Pid, sig)
		wantToken(t, e.s, tk) // a request after the signal: it was handled first
	}
	syscall.Kill(p.proc.Pid, syscall.SIGTERM)
	waitExit(t, p, "on SIGTERM")
	if _, err := os.Lstat(e.sock()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after SIGTERM: %v", err)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)
	unlock, err := e.s.Lock(context.Background(), tk.Origin, tk.Login) // a held lock does not keep it
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if err := e.s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Lstat(e.sock()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after Stop returned: %v", err)
	}
	waitExit(t, p, "on Stop")
	wantNotFound(t, e.s, tk)
	if n := e.takeNotices(); len(n) != 0 {
		t.Errorf("notices after Stop: %q", n)
	}
	if err := e.s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	e.s.opts.Daemon = []string{"/bin/sh", "-c", "exit 3"}
	if err := e.s.Put(token(t, "octocat", time.Hour)); err == nil || !strings.Contains(err.Error(), "exited before it listened") || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Put with a daemon that fails: %v; want ErrUnavailable", err)
	}
	// One that never listens: the client gives up with a clear error.
	e.s.opts.Daemon = []string{"/bin/sh", "-c", "exec sleep 60"}
	e.s.startTimeout = 300 * time.Millisecond
	_, err := e.s.Lock(context.Background(), "https://github.com", "octocat")
	if err == nil || !strings.Contains(err.Error(), "did not listen") || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Lock with a daemon that never listens: %v; want ErrUnavailable", err)
	}
	for _, p := range tracked(e.dir) {
		syscall.Kill(p.proc.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func TestOpenChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, time.Second)
	long := filepath.Join(e.dir, strings.Repeat("d", 100))
	if _, err := Open(long, Options{}); err == nil || !strings.Contains(err.Error(), "too long") || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open of a directory too long for a socket: %v", err)
	}
	open := filepath.Join(e.dir, "open")
	os.Mkdir(open, 0o755)
	if _, err := Open(open, Options{}); err == nil {
		t.Error("Open accepted a directory others can read")
	}
}

// TestDaemonEnvironment checks that the daemon inherits no environment
// (git's may hold secrets) and no token on its command line.
func TestDaemonEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	secret := newSecret()
	t.Setenv("GITHUB_TOKEN", secret)
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	p := e.daemon(t)
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.proc.Pid))
	if err != nil {
		t.Skipf("cannot read the daemon's environment (it is not dumpable): %v", err)
	}
	// Only the runtime directory and how to reach a server (proxy, CAs)
	// pass, for a daemon that renews tokens.
	for _, kv := range strings.Split(strings.TrimSuffix(string(environ), "\x00"), "\x00") {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GHAPP_RUNTIME_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR":
		default:
			t.Errorf("the daemon inherited %s", name)
		}
	}
	if bytes.Contains(environ, []byte(secret)) || !bytes.Contains(environ, []byte("GHAPP_RUNTIME_DIR="+e.dir+"\x00")) {
		t.Errorf("daemon environment holds a secret or lacks its runtime dir")
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.proc.Pid))
	if bytes.Contains(cmdline, []byte(tk.AccessToken)) || bytes.Contains(cmdline, []byte(secret)) {
		t.Error("the daemon's command line holds a secret")
	}
}

// TestNoTokenOnDisk runs a whole session and then looks for the token in
// every file under the runtime dir and the temporary directory.
func TestNoTokenOnDisk(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "octocat", time.Hour)
	mustPut(t, e.s, tk)
	wantToken(t, e.s, tk)
	e.s.List()
	unlock, err := e.s.Lock(context.Background(), tk.Origin, tk.Login)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	e.s.Delete(tk.Origin, tk.Login)
	mustPut(t, e.s, tk)
	if err := e.s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{e.dir, os.TempDir()} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > 256<<20 {
				return nil
			}
			if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(tk.AccessToken)) {
				t.Errorf("%s holds the token", path)
			}
			return nil
		})
	}
}

// dialAndReport is the other user's side of TestOtherUserRefused.
func dialAndReport(sock string) string {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if err := writeFrame(c, encodeRequest(Request{Op: OpList})); err != nil && !isGone(err) {
		return "write: " + err.Error()
	}
	resp, err := decodeResponse(c)
	switch {
	case err == nil:
		return fmt.Sprintf("answered %d tokens", len(resp.Tokens))
	case isGone(err):
		return "closed"
	}
	return "read: " + err.Error()
}

func TestOtherUserRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	e := newEnv(t, 30*time.Second)
	mustPut(t, e.s, token(t, "octocat", time.Hour))

	// Let nobody reach the socket and run a copy of this binary, so that
	// only the daemon's peer check stands in the way.
	bin := nobodyCopy(t)
	os.Chmod(e.dir, 0o711)
	os.Chmod(e.sock(), 0o777)

	run := func(cred *syscall.Credential) string {
		cmd := exec.Command(bin, dialArg, e.sock())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("client: %v: %s", err, out)
		}
		return string(out)
	}
	if got := run(nil); got != "answered 1 tokens" {
		t.Fatalf("as the daemon's own user the client got %q; want an answer", got)
	}
	if got := run(&syscall.Credential{Uid: 65534, Gid: 65534}); got != "closed" {
		t.Fatalf("as nobody the client got %q; want the connection closed unanswered", got)
	}
}

// TestPutRules checks store.Store's rules through the socket: logins
// without case, a stale put refused, no refresh token handed out.
func TestPutRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	tk := token(t, "OctoCat", time.Hour)
	tk.RefreshToken, tk.RefreshUntil = "ghr_"+newSecret(), time.Now().Add(24*time.Hour)
	mustPut(t, e.s, tk)
	got, err := e.s.Get(tk.Origin, "octocat")
	if err != nil || got.AccessToken != tk.AccessToken || got.Login != "OctoCat" {
		t.Fatalf("Get in another case: %s %q, %v", redact(got.AccessToken), got.Login, err)
	}
	if got.RefreshToken != "" {
		t.Error("Get handed out the refresh token")
	}
	if l, err := e.s.List(); err != nil || len(l) != 1 || l[0].RefreshToken != "" {
		t.Errorf("List: %d tokens, %v, or a refresh token in them", len(l), err)
	}
	mustPut(t, e.s, got) // a write-back of what Get returned
	older := token(t, "octocat", time.Hour)
	older.Minted = tk.Minted.Add(-time.Second)
	if err := e.s.Put(older); !errors.Is(err, store.ErrStale) {
		t.Fatalf("Put of an older token: %v; want store.ErrStale", err)
	}
	wantToken(t, e.s, tk)
}

// TestVersion1ClientStopsDaemon: after an upgrade, the earlier version's
// "logout --all" (a version-1 stop) still ends the new daemon.
func TestVersion1ClientStopsDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	mustPut(t, e.s, token(t, "octocat", time.Hour))
	p := e.daemon(t)
	c := rawConn(t, e)
	c.Write(rawFrame(legacyStop))
	if body, err := readFrame(c, maxResponse); err != nil || string(body) != legacyStopped {
		t.Fatalf("a version-1 stop was answered %q, %v", body, err)
	}
	waitExit(t, p, "on a version-1 stop")
}

// fakeDaemon plays a daemon of another version on dir's socket, holding
// its flock as a real one would, until answer says it stops. It reports
// each request it gets on the returned channel.
func fakeDaemon(t *testing.T, dir string, answer func(body []byte) (reply []byte, stop bool)) <-chan []byte {
	t.Helper()
	lock, err := openLockFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, sockName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 10)
	go func() {
		defer lock.Close()
		defer ln.Close()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			body, _ := readFrame(c, MaxRequest)
			got <- body
			reply, stop := answer(body)
			c.Write(reply)
			if stop {
				os.Remove(sock)
				ln.Close()
				lock.Close()
				c.Close()
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return got
}

// legacyDaemon plays a daemon of wire version 1 (JSON).
func legacyDaemon(t *testing.T, dir string) <-chan []byte {
	return fakeDaemon(t, dir, func(body []byte) ([]byte, bool) {
		if string(body) == legacyStop {
			return rawFrame(legacyStopped), true
		}
		return frame(`{"v":1,"status":"error","error":"bad request: request is not valid JSON"}`), false
	})
}

// version2Daemon plays a daemon of wire version 2, which answers every
// request of another version in its own, and obeys a version-1 stop.
func version2Daemon(t *testing.T, dir string) <-chan []byte {
	return fakeDaemon(t, dir, func(body []byte) ([]byte, bool) {
		if string(body) == legacyStop {
			return rawFrame(legacyStopped), true
		}
		return frame("\x02e\x31unsupported wire version 3 (this daemon speaks 2)"), false
	})
}

// TestVersion2DaemonReplaced: a daemon of wire version 2, which cannot
// carry a token's app url, is stopped on first contact like a version-1
// one, and a new one serves from then on.
func TestVersion2DaemonReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	got := version2Daemon(t, e.dir)
	tk := token(t, "octocat", time.Hour)
	wantNotFound(t, e.s, tk)
	if r1, r2 := <-got, <-got; r1[0] != Version || string(r2) != legacyStop {
		t.Fatalf("the version-2 daemon got %q, %q; want a request, then a version-1 stop", r1, r2)
	}
	if n := e.takeNotices(); len(n) != 1 || n[0] != legacyNotice {
		t.Errorf("notices = %q; want %q", n, legacyNotice)
	}
	tk.AppURL, tk.Provider = "https://github.com/apps/octo-app", "gitlab"
	mustPut(t, e.s, tk)
	wantToken(t, e.s, tk)

	e2 := newEnv(t, 30*time.Second)
	version2Daemon(t, e2.dir)
	unlock, err := e2.s.Lock(context.Background(), tk.Origin, tk.Login)
	if err != nil {
		t.Fatalf("Lock with a version-2 daemon: %v", err)
	}
	unlock()
}

// TestStopsNewerDaemon: a daemon of a later version obeys a stop of any
// version, answering in its own format; Stop takes that for done.
func TestStopsNewerDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	got := fakeDaemon(t, e.dir, func(body []byte) ([]byte, bool) {
		return frame("\x04o\x00future"), len(body) == 2 && body[1] == OpStop
	})
	if err := e.s.Stop(); err != nil {
		t.Fatalf("Stop of a newer daemon: %v", err)
	}
	if body := <-got; string(body) != "\x03s" {
		t.Errorf("the daemon got %q; want a stop", body)
	}
	if _, err := os.Lstat(e.sock()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket is still there: %v", err)
	}
}

// TestVersion1DaemonReplaced: a daemon left by an earlier version is
// stopped on first contact, and a new one serves from then on.
func TestVersion1DaemonReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30*time.Second)
	got := legacyDaemon(t, e.dir)
	tk := token(t, "octocat", time.Hour)
	wantNotFound(t, e.s, tk)
	if r1, r2 := <-got, <-got; r1[0] != Version || string(r2) != legacyStop {
		t.Fatalf("the version-1 daemon got %q, %q; want a request, then a version-1 stop", r1, r2)
	}
	if n := e.takeNotices(); len(n) != 1 || n[0] != legacyNotice {
		t.Errorf("notices = %q; want %q", n, legacyNotice)
	}
	mustPut(t, e.s, tk)
	wantToken(t, e.s, tk)

	// Put and Lock replace one too.
	e2 := newEnv(t, 30*time.Second)
	legacyDaemon(t, e2.dir)
	mustPut(t, e2.s, tk)
	wantToken(t, e2.s, tk)
	e3 := newEnv(t, 30*time.Second)
	legacyDaemon(t, e3.dir)
	unlock, err := e3.s.Lock(context.Background(), tk.Origin, tk.Login)
	if err != nil {
		t.Fatalf("Lock with a version-1 daemon: %v", err)
	}
	unlock()
}
