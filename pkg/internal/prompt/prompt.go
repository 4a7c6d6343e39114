// Package prompt tells the person at the keyboard what to do: on the
// controlling terminal when there is one, so the device code is seen even
// when git's stderr is captured, and on stderr otherwise.
package prompt

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Screen is where the person reads the prompt.
type Screen struct {
	W     io.Writer
	IsTTY bool // a terminal: a live countdown may redraw one line
	close func()
	// every and now are the countdown's clock: a second and time.Now
	// unless a test sets them.
	every time.Duration
	now   func() time.Time
}

// Open returns the controlling terminal, or fallback when the process has
// none (a GUI, a CI job, an editor running git in the background).
func Open(fallback io.Writer) *Screen {
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return &Screen{W: fallback, close: func() {}}
	}
	return &Screen{W: tty, IsTTY: true, close: func() { tty.Close() }}
}

// Plain is a screen that is not a terminal.
func Plain(w io.Writer) *Screen { return &Screen{W: w, close: func() {}} }

// Close releases the terminal.
func (s *Screen) Close() { s.close() }

// Code writes the device-flow instructions: where to go, what to type,
// for which server and app ("GitHub App NAME", its name when ghapp.appUrl
// gives it, else its client ID, which GitHub's page does not show but an
// admin can check; or "GitLab application ID"), and how long the code
// lasts.
func (s *Screen) Code(host, app, userCode, verificationURI string, expiry time.Time) {
	mins := int(time.Until(expiry).Round(time.Minute) / time.Minute)
	fmt.Fprintf(s.W, "git-credential-ghapp: to sign in to %s (%s), open %s\n", host, app, verificationURI)
	fmt.Fprintf(s.W, "git-credential-ghapp: and enter the code %s (valid for %d minutes)\n", userCode, max(mins, 1))
}

// Countdown shows, on a terminal only, one line that counts down to expiry
// and is redrawn in place each second. stop erases it. Without a terminal
// it writes nothing: logs should not fill with countdown lines.
func (s *Screen) Countdown(expiry time.Time) (stop func()) {
	if !s.IsTTY {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		every, now := s.every, s.now
		if every == 0 {
			every, now = time.Second, time.Now
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			left := max(expiry.Sub(now()).Round(time.Second), 0)
			fmt.Fprintf(s.W, "\rgit-credential-ghapp: waiting for you to authorize… %d:%02d left ", int(left.Minutes()), int(left.Seconds())%60)
			select {
			case <-done:
				fmt.Fprint(s.W, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
