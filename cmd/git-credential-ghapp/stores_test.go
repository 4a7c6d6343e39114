package main

// End-to-end tests of what the stores promise: one device flow however
// many git commands ask at once, a waiter that takes over when the flow's
// owner dies, and a memory daemon that is killed.

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func TestThirtyConcurrentLsRemote(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		const n = 30
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, stderr, err := e.run("git", "ls-remote", e.repoURL("octocat/hello")); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%v: %s", err, stderr))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, f := range failures {
			t.Errorf("ls-remote failed: %s", f)
		}
		if e.codes() != 1 {
			t.Errorf("%d concurrent ls-remote issued %d device codes, want 1", n, e.codes())
		}
	})
}

// startGet starts `git-credential-ghapp get` for the stand-in without
// waiting for it.
func (e *env) startGet() (*exec.Cmd, *testsupport.SyncBuffer, *testsupport.SyncBuffer) {
	e.t.Helper()
	return e.startHelperWith(e.hostLine(), "get")
}

// startHelper starts the helper with args and no input, without waiting.
func (e *env) startHelper(args ...string) (*exec.Cmd, *testsupport.SyncBuffer, *testsupport.SyncBuffer) {
	e.t.Helper()
	return e.startHelperWith("", args...)
}

func (e *env) startHelperWith(stdin string, args ...string) (*exec.Cmd, *testsupport.SyncBuffer, *testsupport.SyncBuffer) {
	e.t.Helper()
	cmd := exec.Command(filepath.Join(e.bin, "git-credential-ghapp"), args...)
	cmd.Dir = e.work
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb testsupport.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	// A kill switch: a hang fails the test instead of stalling the run.
	timer := time.AfterFunc(90*time.Second, func() { cmd.Process.Kill() })
	e.t.Cleanup(func() { timer.Stop() })
	return cmd, &out, &errb
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// The stores whose sign-ins run in the git command itself; the memory
// daemon runs them on its own (TestKilledCommandLeavesTheCodeToJoin).
func TestWaiterTakesOverWhenTheFlowOwnerDies(t *testing.T) {
	eachStoreOf(t, []string{"tmpfs", "keyring"}, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		e.srv.AutoApprove("") // nobody enters the first code
		owner, _, _ := e.startGet()
		waitFor(t, "the first device code", func() bool { return e.codes() == 1 })

		const n = 5
		type result struct {
			cmd       *exec.Cmd
			out, errb *testsupport.SyncBuffer
		}
		var waiters []result
		for range n {
			cmd, out, errb := e.startGet()
			waiters = append(waiters, result{cmd, out, errb})
		}
		waitFor(t, "the waiters to say they wait", func() bool {
			for _, w := range waiters {
				if !strings.Contains(w.errb.String(), "waiting for the sign-in") {
					return false
				}
			}
			return true
		})
		// From now on codes are approved at once; the owner's code, issued
		// before, stays pending. Set before the kill, so the waiter that
		// takes over cannot ask for its code first.
		e.srv.AutoApprove(testUser)
		owner.Process.Kill()
		owner.Wait()

		for i, w := range waiters {
			if err := w.cmd.Wait(); err != nil {
				t.Errorf("waiter %d: %v\n%s", i, err, e.redact(w.errb.String()))
			}
			if !strings.Contains(w.out.String(), "password=ghu_") {
				t.Errorf("waiter %d printed no token", i)
			}
		}
		if e.codes() != 2 {
			t.Errorf("%d device codes, want 2: the dead owner's and one taken over", e.codes())
		}
	})
}

// daemonPID asks the kernel which process listens on the memory store's
// socket.
func daemonPID(t *testing.T, runtime string) int {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(runtime, "daemon.sock"))
	if err != nil {
		t.Fatalf("no daemon: %v", err)
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if err != nil {
		t.Fatal(err)
	}
	return int(cred.Pid)
}

func TestKilledDaemonMeansAFreshSignIn(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	if out, stderr, err := e.helper(e.hostLine(), "get"); err != nil || !strings.Contains(out, "password=") {
		t.Fatalf("first get: %v\n%s", err, stderr)
	}
	syscall.Kill(daemonPID(t, e.runtime), syscall.SIGKILL)

	out, stderr, err := e.helper(e.hostLine(), "get")
	if err != nil || !strings.Contains(out, "password=ghu_") {
		t.Fatalf("get after the daemon was killed: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "the token daemon had stopped") {
		t.Errorf("no line says the daemon's tokens are gone:\n%s", stderr)
	}
	if e.codes() != 2 {
		t.Errorf("%d device codes, want 2", e.codes())
	}
	if again, _, _ := e.helper(e.hostLine(), "get"); again != out {
		t.Error("the fresh daemon does not hold the new token")
	}
}

func TestMemorySessionLeavesNoTokenInAnyFile(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	dir := e.clone("octocat/hello")
	e.commit(dir)
	if stderr, err := e.push(dir); err != nil {
		t.Fatalf("push: %v\n%s", err, stderr)
	}
	// HOME and the work trees are checked for every test; the memory store
	// must also leave nothing in its runtime dir or in /tmp.
	e.assertNoTokenIn(e.runtime, "/tmp")
}

// With the memory store the daemon owns the sign-in: a git command killed
// while waiting leaves the code valid, and the commands that come next
// show and wait for that same code.
func TestKilledCommandLeavesTheCodeToJoin(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{})
	e.srv.AutoApprove("") // nobody enters the code yet
	first, _, firstErr := e.startGet()
	waitFor(t, "the device code", func() bool { return e.codes() == 1 })
	waitFor(t, "the first command to show it", func() bool { return strings.Contains(firstErr.String(), "enter the code") })
	first.Process.Kill()
	first.Wait()

	const n = 5
	type result struct {
		cmd       *exec.Cmd
		out, errb *testsupport.SyncBuffer
	}
	var waiters []result
	code := e.srv.PendingCodes()[0]
	for range n {
		cmd, out, errb := e.startGet()
		waiters = append(waiters, result{cmd, out, errb})
	}
	waitFor(t, "every command to show the same code", func() bool {
		for _, w := range waiters {
			if !strings.Contains(w.errb.String(), "enter the code "+code) {
				return false
			}
		}
		return true
	})
	if err := e.srv.Approve(code, testUser); err != nil {
		t.Fatal(err)
	}
	for i, w := range waiters {
		if err := w.cmd.Wait(); err != nil {
			t.Errorf("command %d: %v\n%s", i, err, e.redact(w.errb.String()))
		}
		if !strings.Contains(w.out.String(), "password=ghu_") {
			t.Errorf("command %d printed no token", i)
		}
	}
	if e.codes() != 1 {
		t.Errorf("%d device codes, want 1", e.codes())
	}
}
