package prompt

import (
	"bytes"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func TestCode(t *testing.T) {
	var b bytes.Buffer
	Plain(&b).Code("github.com", "GitHub App Iv23liExample", "WDJB-MJHT", "https://github.com/login/device", time.Now().Add(15*time.Minute))
	want := "git-credential-ghapp: to sign in to github.com (GitHub App Iv23liExample), open https://github.com/login/device\n" +
		"git-credential-ghapp: and enter the code WDJB-MJHT (valid for 15 minutes)\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCountdownRedrawsOneLineOnATerminal(t *testing.T) {
	var b testsupport.SyncBuffer
	// A fast tick and a clock that runs a second per tick: the redraws a
	// person sees over seconds, without waiting for them.
	start := time.Now()
	var ticks atomic.Int64
	s := &Screen{W: &b, IsTTY: true, close: func() {}, every: time.Millisecond,
		now: func() time.Time { return start.Add(time.Duration(ticks.Add(1)) * time.Second) }}
	stop := s.Countdown(start.Add(2 * time.Minute))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), "1:57 left"); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("the countdown did not reach 1:57: %q", b.String())
		}
	}
	stop()
	stop() // idempotent
	out := b.String()
	if strings.Contains(out, "\n") {
		t.Errorf("the countdown wrote new lines: %q", out)
	}
	if strings.Count(out, "\r") < 3 || !strings.Contains(out, "1:59 left") {
		t.Errorf("no redrawn countdown: %q", out)
	}
	if !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("the countdown line was not erased: %q", out)
	}
}

func TestNoCountdownWithoutATerminal(t *testing.T) {
	var b bytes.Buffer
	stop := Plain(&b).Countdown(time.Now().Add(time.Minute))
	stop()
	if b.Len() != 0 {
		t.Errorf("wrote %q to a non-terminal", b.String())
	}
}
