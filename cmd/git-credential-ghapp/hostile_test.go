package main

// Hostile neighbours, through the built helper: another user (or root on
// their behalf) has prepared the runtime directory or planted files in
// it, or tries to read the tokens. Each is refused with a clear message
// and no token leaks. Runs as root only: it takes root to own files as
// someone else (nobody, uid 65534) and to run a process as them.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport/reliability"
)

const relNobody = 65534

func relNeedRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to act as a second user")
	}
}

// refusedGet runs get (interactive, against the stand-in) and checks that
// it refused: exit 1, quit=1 alone on stdout, one error line with want, and no
// device code asked for (the store is checked before anything else).
func (e *env) refusedGet(rc *reliability.Case, want string) {
	t := e.t
	t.Helper()
	codes := e.codes()
	start := time.Now()
	out, stderr, err := e.helper(e.hostLine(), "get")
	took := time.Since(start)
	lines := relErrorLines(stderr)
	rc.Measured("helper get: exit %d in %.2f s, %d bytes on stdout, %d device code(s) asked for; stderr: %s",
		relExitCode(err), took.Seconds(), len(out), e.codes()-codes, strings.Join(lines, " / "))
	if relExitCode(err) != 1 {
		t.Errorf("get exited %d, want 1", relExitCode(err))
	}
	if out != "quit=1\n" {
		t.Errorf("get wrote %d bytes on stdout, want quit=1 alone", len(out))
	}
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("want one error line saying %q, got %q", want, relHide(strings.Join(lines, "\n")))
	}
	if e.codes() != codes {
		t.Errorf("a device flow started although the store was refused")
	}
	relNoCrash(t, "stderr", stderr)
}

// mint signs in once and returns the stand-in's token and the token file
// the tmpfs store keeps it in.
func (e *env) mint() (token, file string) {
	t := e.t
	t.Helper()
	if out, stderr, err := e.helper(e.hostLine(), "get"); err != nil || !strings.Contains(out, "password=") {
		t.Fatalf("sign-in: %v\n%s", err, relHide(stderr))
	}
	toks := e.srv.IssuedTokens()
	files, _ := filepath.Glob(filepath.Join(e.runtime, "tokens-*.json"))
	if e.store == "tmpfs" && len(files) != 1 {
		t.Fatalf("want one token file after a sign-in, found %d", len(files))
	}
	if len(files) == 0 {
		return toks[0], ""
	}
	return toks[0], files[0]
}

// decoy writes a file outside the runtime dir holding a token the
// attacker chose, in the store's format.
func (e *env) decoy(t *testing.T) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(e.runtime), "decoy.json")
	origin := "http://" + strings.TrimPrefix(e.srv.URL, "http://")
	data := fmt.Sprintf(`[{"origin":%q,"login":"octocat","access_token":"ghu_plantedByAnotherUser","expiry":%q}]`,
		origin, time.Now().Add(time.Hour).Format(time.RFC3339))
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHostileRuntimeDir(t *testing.T) {
	relNeedRoot(t)
	for _, tc := range []struct {
		name, want string
		plant      func(e *env) error
	}{
		{"runtime dir pre-created by another user (uid 65534)", "owned by uid 65534, not you", func(e *env) error {
			if err := os.Mkdir(e.runtime, 0o700); err != nil {
				return err
			}
			return os.Chown(e.runtime, relNobody, relNobody)
		}},
		{"runtime dir is world-writable (0777)", "accessible to group or others (mode 0777)", func(e *env) error {
			if err := os.Mkdir(e.runtime, 0o700); err != nil {
				return err
			}
			return os.Chmod(e.runtime, 0o777)
		}},
		{"symlink planted where the runtime dir goes", "is a symlink; refusing it", func(e *env) error {
			target := filepath.Join(filepath.Dir(e.runtime), "elsewhere")
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			return os.Symlink(target, e.runtime)
		}},
	} {
		for _, store := range []string{"memory", "tmpfs", "auto"} {
			t.Run(tc.name+"/"+store, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, store, githubtest.Options{})
				rc := e.relCase("hostile neighbours", fmt.Sprintf("%s (store %s)", tc.name, store),
					"get refuses the dir: exit 1, one clear line, quit=1 alone on stdout, no sign-in started, nothing written there")
				if err := tc.plant(e); err != nil {
					t.Fatal(err)
				}
				e.refusedGet(rc, tc.want)
				target := e.runtime
				if l, err := os.Readlink(e.runtime); err == nil {
					target = l
				}
				if ents, _ := os.ReadDir(target); len(ents) != 0 {
					t.Errorf("the helper wrote %d file(s) into the refused dir", len(ents))
				}
			})
		}
	}
}

func TestHostileTokenFiles(t *testing.T) {
	relNeedRoot(t)
	for _, tc := range []struct {
		name, want string
		plant      func(e *env, file string) error
	}{
		{"symlink planted where a token file goes (to a decoy with the attacker's token)", "is a symlink; refusing it", func(e *env, file string) error {
			if err := os.Remove(file); err != nil {
				return err
			}
			return os.Symlink(e.decoy(e.t), file)
		}},
		{"FIFO planted where a token file goes", "not a regular file", func(e *env, file string) error {
			if err := os.Remove(file); err != nil {
				return err
			}
			return syscall.Mkfifo(file, 0o600)
		}},
		{"token file owned by another user (uid 65534)", "not owned by you", func(e *env, file string) error {
			return os.Chown(file, relNobody, relNobody)
		}},
		{"token file readable by others (0644)", "has mode 0644, not 0600", func(e *env, file string) error {
			return os.Chmod(file, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "tmpfs", githubtest.Options{})
			rc := e.relCase("hostile neighbours", tc.name+" (store tmpfs)",
				"refused before any sign-in: exit 1 with one line that names the file and the fix; the planted token is never printed; nothing is written through; no hang")
			_, file := e.mint()
			if err := tc.plant(e, file); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(file)
			decoy := filepath.Join(filepath.Dir(e.runtime), "decoy.json")
			decoyData, _ := os.ReadFile(decoy)

			start := time.Now()
			out, stderr, err := e.helper(e.hostLine(), "get")
			took := time.Since(start)
			lines := relErrorLines(stderr)
			rc.Measured("helper get: exit %d in %.2f s, device flows started: %d, stdout: %d bytes; stderr: %s",
				relExitCode(err), took.Seconds(), e.codes()-1, len(out), strings.Join(lines, " / "))
			if relExitCode(err) != 1 || out != "quit=1\n" || e.codes() != 1 {
				t.Errorf("get did not refuse before signing in: exit %d, %d device codes, stdout %d bytes", relExitCode(err), e.codes(), len(out))
			}
			if strings.Contains(out+stderr, "ghu_planted") {
				t.Error("the planted token was handed out")
			}
			warned := false
			for _, l := range lines {
				warned = warned || strings.Contains(l, tc.want) && strings.Contains(l, "remove it")
			}
			if !warned || len(lines) != 1 {
				t.Errorf("no warning line saying %q and how to fix it: %q", tc.want, relHide(strings.Join(lines, "\n")))
			}
			after, _ := os.Lstat(file)
			if before == nil || after == nil || !os.SameFile(before, after) || before.Mode() != after.Mode() {
				t.Error("the planted file was replaced or changed")
			}
			if b, _ := os.ReadFile(decoy); string(b) != string(decoyData) {
				t.Error("the decoy was written through the symlink")
			}
			relNoCrash(t, "stderr", strings.ReplaceAll(stderr, "ghu_planted", ""))
		})
	}
}

func TestHostileLockFiles(t *testing.T) {
	relNeedRoot(t)
	t.Parallel()
	e := newEnv(t, "tmpfs", githubtest.Options{})
	rc := e.relCase("hostile neighbours", "symlink planted where the store's lock files go (store tmpfs)",
		"refused (O_NOFOLLOW): get and erase exit 1 with one clear line; the link's target is not touched")
	e.mint()
	target := filepath.Join(filepath.Dir(e.runtime), "target")
	if err := os.WriteFile(target, []byte("not yours"), 0o600); err != nil {
		t.Fatal(err)
	}
	locks, _ := filepath.Glob(filepath.Join(e.runtime, "*.lock"))
	if len(locks) == 0 {
		t.Fatal("no lock files after a sign-in")
	}
	for _, l := range locks {
		os.Remove(l)
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
	}
	// erase rewrites the token file under the store-wide lock.
	_, stderr, err := e.helper(e.hostLine(), "erase")
	lines := relErrorLines(stderr)
	rc.Measured("erase: exit %d; stderr: %s", relExitCode(err), strings.Join(lines, " / "))
	if relExitCode(err) != 1 || len(lines) != 1 || !strings.Contains(lines[0], "is a symlink; refusing it (remove it)") {
		t.Errorf("erase under a planted lock symlink: exit %d, stderr %q; want exit 1 and one line refusing the symlink", relExitCode(err), relHide(strings.Join(lines, "\n")))
	}
	// With the token gone, get must take the sign-in lock.
	files, _ := filepath.Glob(filepath.Join(e.runtime, "tokens-*.json"))
	for _, f := range files {
		os.Remove(f)
	}
	e.refusedGet(rc, "cannot take the sign-in lock")
	if b, _ := os.ReadFile(target); string(b) != "not yours" {
		t.Error("the symlink's target was changed")
	}
}

// TestHostileOtherUserReads: a second user points the helper (and cat) at
// our runtime dir. The directory is made reachable, so that the helper's
// own ownership check, not the kernel's, is what stands in the way.
func TestHostileOtherUserReads(t *testing.T) {
	relNeedRoot(t)
	for _, store := range []string{"tmpfs", "memory"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, store, githubtest.Options{})
			rc := e.relCase("hostile neighbours", fmt.Sprintf("another user (uid 65534) runs the helper on our runtime dir (store %s)", store),
				"refused with a clear message naming the owner; no token printed; the token files stay unreadable to them")
			tok, file := e.mint()
			os.Chmod(filepath.Dir(e.runtime), 0o755)

			bin := relNobodyCopy(t)
			cmd := exec.Command(bin, "get")
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "GHAPP_RUNTIME_DIR=" + e.runtime, "GHAPP_STORE=" + store, "GIT_CONFIG_NOSYSTEM=1"}
			cmd.Stdin = strings.NewReader(e.hostLine())
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: relNobody, Gid: relNobody}, Setsid: true}
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := relRunBounded(cmd)
			stderr := e.redact(errb.String())
			lines := relErrorLines(stderr)
			if relExitCode(err) < 0 {
				rc.Measured("as uid 65534: could not run the helper: %v", err)
			}
			rc.Measured("as uid 65534: exit %d, %d bytes on stdout; stderr: %s", relExitCode(err), out.Len(), strings.Join(lines, " / "))
			if strings.Contains(out.String(), tok) || strings.Contains(errb.String(), tok) {
				t.Error("the other user got the token")
			}
			if relExitCode(err) != 1 || len(lines) != 1 || !strings.Contains(lines[0], "owned by uid 0, not you (uid 65534)") {
				t.Errorf("as nobody: exit %d, stderr %q; want exit 1 and one line naming the owner", relExitCode(err), relHide(strings.Join(lines, "\n")))
			}
			if file != "" {
				cat := exec.Command("cat", file)
				cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: relNobody, Gid: relNobody}}
				b, err := cat.CombinedOutput()
				rc.Measured("cat of the token file as uid 65534: exit %d", relExitCode(err))
				if err == nil || strings.Contains(string(b), tok) {
					t.Error("the other user could read the token file")
				}
			}
		})
	}
}

// relNobodyCopy copies the built helper where nobody can run it (the
// build directory is 0700).
func relNobodyCopy(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ghapp-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	src, bin := filepath.Join(binDir, "git-credential-ghapp"), filepath.Join(dir, "git-credential-ghapp")
	// A hard link, when it works, leaves no file open for writing that a
	// concurrent fork could inherit (which makes exec fail with ETXTBSY).
	if os.Link(src, bin) == nil {
		return bin
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// relRunBounded runs cmd with the harness's 60 s kill switch.
func relRunBounded(cmd *exec.Cmd) error {
	// A copied binary can be busy for a moment while a concurrent fork
	// still holds it open for writing.
	for try := 0; ; try++ {
		err := cmd.Start()
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		cmd.Process, cmd.ProcessState = nil, nil
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not finish in 60s", cmd.Path)
	}
}
