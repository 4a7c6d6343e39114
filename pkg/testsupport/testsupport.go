// Package testsupport holds what this module's tests share: a writer that
// goroutines may share, a clock that moves only when told, an environment
// cut off from the machine's git and helper settings, and redaction of
// anything that may be a token before it reaches a failure message.
package testsupport

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Clock is a fake clock: Now stands still until Advance or Set moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Epoch is where a NewClock starts: a fixed instant, so that failures
// reproduce.
var Epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// NewClock returns a clock at Epoch.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// helperEnv is every variable that changes what the helper or git does.
var helperEnv = []string{
	"GHAPP_CLIENT_ID", "GH_SCOPED_CREDS_CLIENT_ID", "GITHUB_APP_CLIENT_ID",
	"GHAPP_APP_URL", "GH_SCOPED_CREDS_APP_URL",
	"GHAPP_STORE", "GHAPP_RUNTIME_DIR", "GHAPP_TRACE", "XDG_RUNTIME_DIR",
	"GIT_TERMINAL_PROMPT", "GIT_ASKPASS", "SSH_ASKPASS",
	"GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
	"GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
}

// Isolate gives the test a HOME of its own, no system git config, none of
// the variables that steer the helper or git, and HOME as the working
// directory. It returns HOME. Tests that call it cannot run in parallel.
func Isolate(t testing.TB) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, v := range helperEnv {
		t.Setenv(v, "") // restores the old value at cleanup
		os.Unsetenv(v)
	}
	t.Chdir(home)
	return home
}

var tokenLike = regexp.MustCompile(`(gh[opusr]_|glpat-|gloas-)[A-Za-z0-9_-]+`)

// Redact shows only the start of anything in s that looks like a token,
// so that a failing test never prints a whole one.
func Redact(s string) string {
	return tokenLike.ReplaceAllStringFunc(s, func(tok string) string {
		return tok[:min(len(tok), 6)] + "…"
	})
}
