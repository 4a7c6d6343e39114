package web

import (
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport/browser"

	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveUnix runs Serve on a socket in dir until the test ends and waits
// for the socket to answer.
func serveUnix(t *testing.T, path string, b Backend) *testsupport.SyncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := testsupport.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "unix:"+path, b, &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the socket never answered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &out
}

var unixClient = browser.UnixClient

func TestServeTCP(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			if addr == "[::1]:0" {
				if ln, err := net.Listen("tcp", addr); err != nil {
					t.Skipf("no IPv6 loopback here: %v", err)
				} else {
					ln.Close()
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- Serve(ctx, addr, newFake(), pw)
				pw.Close()
			}()
			line, err := bufio.NewReader(pr).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the first line: %v", err)
			}
			rest := make(chan []byte)
			go func() { b, _ := io.ReadAll(pr); rest <- b }()
			m := regexp.MustCompile(`^http://(127\.0\.0\.1|\[::1\]):[1-9][0-9]*/\?token=([A-Za-z0-9_-]{43})\n$`).FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("first line %q is not the page's address with its secret", line)
			}
			c := newClient(t, strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "/?token="+m[2]))
			if a := c.get("/"); a.code != 403 {
				t.Errorf("without the secret: %d", a.code)
			}
			if a := c.get("/?token=" + m[2]); a.code != 200 {
				t.Errorf("with the secret: %d", a.code)
			}
			if a := c.get("/api/status"); a.code != 200 {
				t.Errorf("with the cookie: %d", a.code)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve after cancel: %v", err)
			}
			if b := <-rest; len(b) != 0 {
				t.Errorf("more on stdout after the address: %q", b)
			}
		})
	}
}

func TestServeRefusesAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "example.com:80", "10.0.0.1:80"} {
		var out bytes.Buffer
		err := Serve(context.Background(), addr, newFake(), &out)
		if err == nil || strings.Contains(err.Error(), "\n") || out.Len() != 0 {
			t.Errorf("Serve(%q) = %v, printed %q; want one line and nothing printed", addr, err, out.String())
		}
	}
}

func TestServeUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ghapp.sock")
	// Runs after serveUnix's own cleanup has stopped the server.
	t.Cleanup(func() {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("the socket is still there after Serve returned: %v", err)
		}
	})
	out := serveUnix(t, path, newFake())
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	hc := unixClient(path)
	resp, err := hc.Get("http://hub.example.org/api/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status over the socket: %d, want 200 without any secret", resp.StatusCode)
	}
	if out.String() != "" {
		t.Errorf("Serve printed %q for a Unix socket, want nothing", out.String())
	}

	// A second server on the same path is refused while the first runs.
	err = Serve(context.Background(), "unix:"+path, newFake(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already listens") {
		t.Errorf("a second server on the same socket: %v", err)
	}
}

func TestServeUnixStaleAndForeignPaths(t *testing.T) {
	dir := t.TempDir()
	// A socket left by a server that died is replaced.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	serveUnix(t, stale, newFake())

	// A file that is not a socket is left alone.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep"), 0o600)
	err = Serve(context.Background(), "unix:"+file, newFake(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a socket") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Serve on a plain file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Error("the file was changed")
	}
	err = Serve(context.Background(), "unix:"+filepath.Join(dir, "no", "such", "dir", "s"), newFake(), io.Discard)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("Serve in a missing directory: %v", err)
	}
}

// The child half of TestServeUnixOtherUser: it connects as another user
// and reports what happened.
const dialEnv = "GHAPP_WEB_TEST_DIAL"

func TestMain(m *testing.M) {
	if path := os.Getenv(dialEnv); path != "" {
		resp, err := unixClient(path).Get("http://hub.example.org/api/status")
		if err != nil {
			fmt.Println("refused:", err)
			os.Exit(0)
		}
		resp.Body.Close()
		fmt.Println("answered:", resp.Status)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestServeUnixOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: it opens the socket to everyone and connects as uid 65534 to check that the server itself refuses")
	}
	// Both the socket's directory and a copy of this test binary must be
	// reachable by the other user; t.TempDir is 0700.
	dir, err := os.MkdirTemp("", "ghapp-web-peer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "web.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ghapp.sock")
	serveUnix(t, path, newFake())
	// Loosen the file's mode: only the peer check stands in the way now.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}

	run := func(cred *syscall.Credential) (string, int) {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), dialEnv+"="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("running the child: %v", err)
		}
		return string(out), code
	}
	// The same child as our own user is answered: the check is not
	// refusing everyone.
	if out, code := run(nil); code != 3 || !strings.Contains(out, "200") {
		t.Fatalf("a child of our own user: exit %d, %s", code, out)
	}
	out, code := run(&syscall.Credential{Uid: 65534, Gid: 65534})
	if strings.Contains(out, "permission denied") || strings.Contains(out, "no such file") {
		t.Fatalf("uid 65534 could not reach the socket at all, so the peer check went untested: %s", out)
	}
	if code != 0 {
		t.Errorf("a peer of uid 65534 was answered (exit %d): %s", code, out)
	} else {
		t.Logf("uid 65534: %s", strings.TrimSpace(out))
	}
}
