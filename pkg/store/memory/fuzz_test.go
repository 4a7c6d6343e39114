package memory

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// decodeErr is every error DecodeRequest may return. Matching whole
// messages proves that none quotes the request, which may carry a token.
var decodeErr = regexp.MustCompile(`^(EOF|unexpected EOF|frame too large|request is not valid JSON|unsupported wire version -?\d+ \(this daemon speaks 1\)|(get|delete|lock) request without origin|put request without token, origin or access token|unknown op)$`)

// FuzzRequestFrame builds requests from fuzzed fields, frames them as the
// client does, and feeds the daemon's decoder the whole frame (plus
// trailing junk) and a truncated copy. A frame is decoded to exactly what
// was sent or refused with a fixed message; a truncated one is always
// refused; nothing panics.
func FuzzRequestFrame(f *testing.F) {
	f.Add(1, "get", "https://github.com", "octocat", "", []byte(nil), uint16(7))
	f.Add(1, "put", "https://github.com", "octocat", "ghu_0123456789abcdef", []byte("junk"), uint16(30))
	f.Add(1, "put", "", "octocat", "ghu_0123456789abcdef", []byte(nil), uint16(0))
	f.Add(1, "lock", "http://127.0.0.1:8080", "", "", []byte{0, 0, 0, 9}, uint16(3))
	f.Add(2, "list", "", "", "", []byte(nil), uint16(1))
	f.Add(-1, "stop", "", "", "ghu_secret\xff", []byte(nil), uint16(5))
	f.Add(1, "dump", "o", "l", "ghu_\"}", []byte(nil), uint16(9))
	f.Fuzz(func(t *testing.T, v int, op, origin, login, access string, junk []byte, cut uint16) {
		req := Request{V: v, Op: op, Origin: origin, Login: login}
		if access != "" {
			req.Token = &store.Token{Origin: origin, Login: login, AccessToken: access, Expiry: time.Unix(1800000000, 0).UTC()}
		}
		var buf bytes.Buffer
		if err := writeFrame(&buf, req); err != nil {
			t.Fatalf("writeFrame: %v", err)
		}
		framed := bytes.Clone(buf.Bytes())
		buf.Write(junk)

		got, err := DecodeRequest(bytes.NewReader(buf.Bytes()))
		if err != nil {
			checkDecodeErr(t, err, access)
		} else {
			// What was decoded is what was sent, after JSON's own
			// normalization (invalid UTF-8 becomes U+FFFD either way).
			var norm Request
			raw, _ := json.Marshal(req)
			if err := json.Unmarshal(raw, &norm); err != nil {
				t.Fatalf("the request sent does not parse: %v", err)
			}
			sent, _ := json.Marshal(norm)
			back, _ := json.Marshal(got)
			if !bytes.Equal(sent, back) {
				t.Fatalf("decoded request differs from the one sent")
			}
			if got.V != Version || (got.Op == OpPut && (got.Token == nil || got.Token.AccessToken == "" || got.Token.Origin == "")) {
				t.Fatalf("accepted an invalid %q request of version %d", got.Op, got.V)
			}
		}

		short := framed[:int(cut)%len(framed)]
		if _, err := DecodeRequest(bytes.NewReader(short)); err == nil {
			t.Fatalf("a frame cut to %d of %d bytes was accepted", len(short), len(framed))
		} else {
			checkDecodeErr(t, err, access)
		}
	})
}

func checkDecodeErr(t *testing.T, err error, access string) {
	t.Helper()
	msg := err.Error()
	if !decodeErr.MatchString(msg) {
		t.Fatalf("unexpected error text (%d bytes, first line %.60q)", len(msg), strings.SplitN(msg, "\n", 2)[0])
	}
	if len(access) >= 4 && strings.Contains(msg, access) {
		t.Fatal("the error quotes the access token")
	}
}
