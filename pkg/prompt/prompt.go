// Package prompt tells the person at the keyboard what to do: on the
// controlling terminal when there is one, so the device code is seen even
// when git's stderr is captured, and on stderr otherwise.
package prompt

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Open returns the controlling terminal for writing, or fallback when the
// process has none. close releases the terminal.
func Open(fallback io.Writer) (w io.Writer, isTTY bool, close func()) {
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return fallback, false, func() {}
	}
	return tty, true, func() { tty.Close() }
}

// Code writes the device-flow instructions: where to go, what to type,
// for which server, and how long the code lasts.
func Code(w io.Writer, host, userCode, verificationURI string, expiry time.Time) {
	mins := int(time.Until(expiry).Round(time.Minute) / time.Minute)
	fmt.Fprintf(w, "git-credential-ghapp: to sign in to %s, open %s\n", host, verificationURI)
	fmt.Fprintf(w, "git-credential-ghapp: and enter the code %s (valid for %d minutes)\n", userCode, max(mins, 1))
}
