package prompt

import (
	"bytes"
	"strings"
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
	s := &Screen{W: &b, IsTTY: true, close: func() {}}
	stop := s.Countdown(time.Now().Add(2 * time.Minute))
	time.Sleep(1100 * time.Millisecond)
	stop()
	stop() // idempotent
	out := b.String()
	if strings.Contains(out, "\n") {
		t.Errorf("the countdown wrote new lines: %q", out)
	}
	if strings.Count(out, "\r") < 3 || !strings.Contains(out, "1:59 left") && !strings.Contains(out, "2:00 left") {
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
