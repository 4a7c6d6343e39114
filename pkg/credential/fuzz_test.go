package credential

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readErr is every error Read may return. Matching the whole message
// proves that no error echoes a line of the request, which may hold a
// password.
var readErr = regexp.MustCompile(`^credential line \d+( is longer than 65535 bytes|: (contains a NUL byte|contains a CR byte|not of the form key=value|url has no scheme://|url: bad %-escape in the (user name|password|host|path)|url: the (user name|password|host|path) contains CR, LF or NUL))$`)

// FuzzRead feeds arbitrary bytes to Read: it must not panic, every value it
// returns must be safe to write back to git (no CR, LF or NUL), and every
// error must be one of its fixed, input-free messages.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"protocol=https\nhost=github.com\n\n",
		"protocol=https\r\nhost=h:8443\r\n\r\n",
		"url=https://a%40b:p%3Aw@h/x%20y\n",
		"url=https://h%0aevil/\n",
		"url=https://u%0d@h/\n",
		"url=https://h/p%00\n",
		"url=http://[::1]:8080/r\nhost=other\n",
		"wwwauth[]=Basic realm=\"GitHub\"\nwwwauth[]=\ncapability[]=authtype\n",
		"password_expiry_utc=-9223372036854775808\n",
		"host=a\x00b\n",
		"no equals\n",
		"=x\n",
		"username=a\rb\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := Read(bytes.NewReader(data))
		if err != nil {
			if !readErr.MatchString(err.Error()) {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		vals := map[string]string{
			"protocol": req.Protocol, "host": req.Host, "path": req.Path,
			"username": req.Username, "password": req.Password,
		}
		for i, v := range req.WWWAuth {
			vals["wwwauth["+string(rune('0'+i%10))+"]"] = v
		}
		for i, v := range req.Capabilities {
			vals["capability["+string(rune('0'+i%10))+"]"] = v
		}
		for k, v := range vals {
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("Read returned a %s containing CR, LF or NUL", k)
			}
		}
	})
}

// FuzzAnswerRoundTrip checks that what WriteTo writes, Read reads back
// identically, and that WriteTo refuses, writing nothing, what it cannot
// write faithfully.
func FuzzAnswerRoundTrip(f *testing.F) {
	// pad lengthens the password, so that lines near git's limit are
	// reached without inputs so large that minimizing them stalls the run.
	f.Add("octocat", "ghu_x", uint16(0), int64(1800000000), true)
	f.Add("", "ghu_x", uint16(0), int64(0), false)
	f.Add("a=b", "p=w=x", uint16(0), int64(-1), true)
	f.Add("u", "a\nhost=evil", uint16(0), int64(0), false)
	f.Add("u\r", "p", uint16(0), int64(0), false)
	f.Add("u", "p\x00", uint16(0), int64(0), false)
	f.Add("u", "", uint16(MaxLine-len("password=")-1), int64(0), false)
	f.Add("u", "", uint16(MaxLine-len("password=")), int64(0), false)
	f.Add("u", "p", uint16(0), int64(-62135596800), true) // time.Time's zero
	f.Fuzz(func(t *testing.T, user, pass string, pad uint16, secs int64, hasExpiry bool) {
		pass += strings.Repeat("p", int(pad))
		a := Answer{Username: user, Password: pass}
		if hasExpiry {
			a.Expiry = time.Unix(secs, 0)
		}
		var buf bytes.Buffer
		_, err := a.WriteTo(&buf)
		unwritable := false
		for _, kv := range [][2]string{{"username", user}, {"password", pass}} {
			unwritable = unwritable || strings.ContainsAny(kv[1], "\r\n\x00") || len(kv[0])+1+len(kv[1])+1 > MaxLine
		}
		if err != nil {
			if buf.Len() != 0 {
				t.Fatalf("WriteTo failed (%v) after writing %d bytes", err, buf.Len())
			}
			if !unwritable {
				t.Fatalf("WriteTo refused a writable answer: %v", err)
			}
			if strings.Contains(err.Error(), "\n") || (len(pass) >= 4 && strings.Contains(err.Error(), pass)) {
				t.Fatalf("WriteTo's error is not one line or quotes the password")
			}
			return
		}
		if unwritable {
			t.Fatalf("WriteTo wrote a value git would misread (%d bytes)", buf.Len())
		}
		req, err := Read(&buf)
		if err != nil {
			t.Fatalf("Read of WriteTo's output failed: %v", err)
		}
		if req.Username != user || req.Password != pass {
			t.Fatalf("round trip changed the username or password (lengths %d/%d written, %d/%d read)", len(user), len(pass), len(req.Username), len(req.Password))
		}
		if want := a.Expiry; want.IsZero() != req.PasswordExpiryUTC.IsZero() || (!want.IsZero() && want.Unix() != req.PasswordExpiryUTC.Unix()) {
			t.Fatalf("round trip changed the expiry: wrote %v, read %v", want, req.PasswordExpiryUTC)
		}
	})
}
