//go:build linux || darwin

package memory

// Hostile neighbours of the token daemon: another user's process dials
// it, or listens where its socket should be. Run as root only: it takes
// root to act as a second user (nobody, uid 65534) in a test.

import (
	"bufio"
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
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport/reliability"
)

const (
	nobody = 65534
	// hostileEnv tells a copy of this test binary to play the other user:
	// "listen:<path>" runs an impostor daemon, "dial:<path>" asks a real
	// daemon for its tokens.
	hostileEnv = "GHAPP_HOSTILE_CHILD"
)

// forged is what an impostor daemon hands out: a token of its choosing.
var forged = store.Token{
	Origin: "https://github.com", Login: "mallory", AccessToken: "ghu_forgedByAnotherUser",
	Expiry: time.Now().Add(time.Hour), API: "https://api.github.com", Minted: time.Now(),
}

// TestHostileChild is not a test: it is the other user's process, run by
// the tests below as nobody, and does nothing unless hostileEnv is set.
func TestHostileChild(t *testing.T) {
	mode, path, ok := strings.Cut(os.Getenv(hostileEnv), ":")
	if !ok {
		t.Skip("the other user's side of the hostile-neighbour tests; run by them")
	}
	switch mode {
	case "listen":
		ln, err := net.Listen("unix", path)
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(1)
		}
		os.Chmod(path, 0o777)
		fmt.Println("listening")
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(0)
			}
			go func() {
				defer c.Close()
				req, err := DecodeRequest(c)
				if err != nil {
					return
				}
				// Says whether a token arrived, never the token.
				fmt.Printf("request %c carrying a token: %v\n", req.Op, req.Token != nil)
				writeFrame(c, encodeResponse(Response{Status: statusOK, Tokens: []store.Token{forged}}))
				io.Copy(io.Discard, c) // hold a "lock" until the client lets go
			}()
		}
	case "dial":
		fmt.Print(dialAndReport(path))
		os.Exit(0)
	}
	os.Exit(2)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as a second user")
	}
}

// nobodyCopy copies this test binary where nobody can run it.
func nobodyCopy(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: its parent is 0700, and nobody must reach the copy.
	dir, err := os.MkdirTemp("", "gh-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "hostile")
	// A hard link, when it works, leaves no file open for writing that a
	// concurrent fork could inherit (which makes exec fail with ETXTBSY).
	if os.Link(exe, bin) == nil {
		return bin
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// impostor starts, as nobody, a listener that answers every request with
// a forged token and reports which requests reached it. It listens in a
// directory of nobody's own; the caller moves or links the socket.
func impostor(t *testing.T) (sock string, requests func() []string) {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "gh-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chown(dir, nobody, nobody)
	sock = filepath.Join(dir, "s")
	cmd := exec.Command(nobodyCopy(t), "-test.run=^TestHostileChild$")
	cmd.Env = []string{hostileEnv + "=listen:" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var mu sync.Mutex
	var lines []string
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "listening" {
				ready <- true
				continue
			}
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the impostor did not start listening")
		}
	case <-time.After(wait):
		t.Fatal("the impostor did not listen in time")
	}
	return sock, func() []string {
		time.Sleep(100 * time.Millisecond) // let its last line arrive
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
}

// checkImpostorRefused drives a client at a runtime dir whose socket is
// served by nobody: it must neither take the forged token nor send one.
func checkImpostorRefused(t *testing.T, dir string, rc *reliability.Case, requests func() []string) {
	t.Helper()
	rc.Clean(func(m string) string { return strings.ReplaceAll(m, dir, "$GHAPP_RUNTIME_DIR") })
	s, err := Open(dir, Options{Daemon: []string{"/nonexistent/daemon"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Get("https://github.com", "")
	if err == nil || tok.AccessToken == forged.AccessToken {
		t.Errorf("Get took the impostor's answer (err %v)", err)
	}
	getErr := fmt.Sprint(err)
	rc.Measured("Get: %s", getErr)
	if !strings.Contains(getErr, "uid 65534") || !strings.Contains(getErr, "refusing") {
		t.Errorf("Get's error does not say who serves the socket and that it is refused: %v", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Error("a socket served by another user counts as no daemon: a caller would quietly keep tokens elsewhere")
	}
	mine := token(t, "octocat", time.Hour)
	perr := s.Put(mine)
	if perr != nil && perr.Error() == getErr {
		rc.Measured("Put: the same")
	} else {
		rc.Measured("Put: %v", perr)
	}
	if perr == nil {
		t.Error("Put to the impostor succeeded")
	} else if strings.Contains(perr.Error(), mine.AccessToken) {
		t.Error("Put's error quotes the token")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	unlock, lerr := s.Lock(ctx, "https://github.com", "")
	if lerr == nil {
		unlock()
		t.Error("Lock was granted by the impostor")
	}
	if _, err := s.List(); err == nil {
		t.Error("List took the impostor's answer")
	}
	got := requests()
	rc.Measured("requests that reached the impostor: %d", len(got))
	if len(got) != 0 {
		t.Errorf("requests reached the impostor: %q", got)
	}
}

func ownDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "gm")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestHostileSocketServedByAnotherUser(t *testing.T) {
	needRoot(t)
	t.Parallel()
	rc := reliability.Record(t, "hostile neighbours", "memory store: daemon.sock is served by another user (uid 65534)",
		"the client refuses the socket with a clear message: no forged token taken, no token, request or lock sent")
	sock, requests := impostor(t)
	dir := ownDir(t)
	if err := os.Rename(sock, filepath.Join(dir, sockName)); err != nil {
		t.Fatal(err)
	}
	checkImpostorRefused(t, dir, rc, requests)
}

func TestHostileSymlinkAtSocket(t *testing.T) {
	needRoot(t)
	t.Parallel()
	rc := reliability.Record(t, "hostile neighbours", "memory store: daemon.sock is a symlink to another user's socket",
		"the client refuses it with a clear message: no forged token taken, no token, request or lock sent")
	sock, requests := impostor(t)
	dir := ownDir(t)
	if err := os.Symlink(sock, filepath.Join(dir, sockName)); err != nil {
		t.Fatal(err)
	}
	checkImpostorRefused(t, dir, rc, requests)
}

func TestHostileOtherUserAsksDaemon(t *testing.T) {
	needRoot(t)
	t.Parallel()
	rc := reliability.Record(t, "hostile neighbours", "memory store: another user (uid 65534) connects to the daemon and asks for its tokens",
		"the daemon closes the connection unanswered (SO_PEERCRED); its owner is still served")
	e := newEnv(t, 30*time.Second)
	mustPut(t, e.s, token(t, "octocat", time.Hour))
	// Open the way to the socket, so that only the daemon's own check is
	// left standing; in real life the 0700 directory stops nobody first.
	os.Chmod(e.dir, 0o711)
	os.Chmod(e.sock(), 0o777)
	cmd := exec.Command(nobodyCopy(t), "-test.run=^TestHostileChild$")
	cmd.Env = []string{hostileEnv + "=dial:" + e.sock()}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.Output()
	got := string(out)
	rc.Measured("as uid 65534: %s", got)
	if err != nil || got != "closed" {
		t.Errorf("as nobody the client got %q (%v); want the connection closed unanswered", got, err)
	}
	os.Chmod(e.dir, 0o700)
	if _, err := e.s.List(); err != nil {
		t.Errorf("the owner is no longer served: %v", err)
	}
	rc.Measured("owner still served")
}

func TestHostileRuntimeDirs(t *testing.T) {
	needRoot(t)
	t.Parallel()
	for _, tc := range []struct {
		name, want string
		plant      func(dir string) error
	}{
		{"runtime dir owned by another user (uid 65534)", "owned by uid 65534", func(d string) error {
			if err := os.Mkdir(d, 0o700); err != nil {
				return err
			}
			return os.Chown(d, nobody, nobody)
		}},
		{"runtime dir is world-writable (0777)", "accessible to group or others (mode 0777)", func(d string) error {
			if err := os.Mkdir(d, 0o700); err != nil {
				return err
			}
			return os.Chmod(d, 0o777)
		}},
		{"runtime dir is a symlink", "is a symlink", func(d string) error {
			target, err := os.MkdirTemp("/dev/shm", "gm-target")
			if err != nil {
				return err
			}
			return os.Symlink(target, d)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := reliability.Record(t, "hostile neighbours", "memory store: "+tc.name,
				"Open refuses it with a clear message; no daemon starts")
			dir := filepath.Join(ownDir(t), "rt")
			if err := tc.plant(dir); err != nil {
				t.Fatal(err)
			}
			if target, err := os.Readlink(dir); err == nil {
				t.Cleanup(func() { os.RemoveAll(target) })
			}
			_, err := Open(dir, Options{Daemon: []string{"/nonexistent/daemon"}})
			rc.Measured("Open: %s", strings.ReplaceAll(fmt.Sprint(err), filepath.Dir(dir), "…"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
