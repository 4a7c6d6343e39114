package memory

import (
	"bytes"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// decodeErr is every error DecodeRequest may return. Matching whole
// messages proves that none quotes the request, which may carry a token.
var decodeErr = regexp.MustCompile(`^(EOF|unexpected EOF|frame too large|request is malformed|unsupported wire version \d+ \(this daemon speaks \d+\)|(get|delete|lock|wait) request without origin|put request without token, origin or access token|sign-in request without origin or client id|unknown op)$`)

// fuzzOps maps the fuzzer's op names to ops; any other name is sent as
// its first byte.
var fuzzOps = map[string]byte{
	"get": OpGet, "put": OpPut, "delete": OpDelete, "list": OpList, "lock": OpLock, "stop": OpStop,
	"start": OpStartSignIn, "wait": OpWaitSignIn, "pending": OpPendingSignIns,
}

// FuzzRequestFrame builds requests from fuzzed fields, frames them as the
// client does (with the version byte replaced by v), and feeds the daemon's
// decoder the whole frame (plus trailing junk) and a truncated copy. A
// frame is decoded to exactly what was sent or refused with a fixed
// message; a truncated one is always refused; nothing panics.
func FuzzRequestFrame(f *testing.F) {
	f.Add(3, "get", "https://github.com", "octocat", "", []byte(nil), uint16(7))
	f.Add(3, "put", "https://github.com", "octocat", "ghu_0123456789abcdef", []byte("junk"), uint16(30))
	f.Add(3, "put", "", "octocat", "ghu_0123456789abcdef", []byte(nil), uint16(0))
	f.Add(3, "lock", "http://127.0.0.1:8080", "", "", []byte{0, 0, 0, 9}, uint16(3))
	f.Add(1, "list", "", "", "", []byte(nil), uint16(1))
	f.Add(-1, "stop", "", "", "ghu_secret\xff", []byte(nil), uint16(5))
	f.Add(3, "dump", "o", "l", "ghu_\"}", []byte(nil), uint16(9))
	f.Add(3, "start", "https://github.com", "octocat", "Iv23liClient", []byte(nil), uint16(12))
	f.Add(3, "start", "https://github.com", "", "", []byte{1}, uint16(4))
	f.Add(3, "wait", "", "octocat", "", []byte(nil), uint16(2))
	f.Add(3, "pending", "", "", "", []byte{0}, uint16(1))
	f.Fuzz(func(t *testing.T, v int, op, origin, login, access string, junk []byte, cut uint16) {
		code, known := fuzzOps[op]
		if !known && op != "" {
			code = op[0]
		}
		var req Request
		switch code {
		case OpPut:
			req = Request{Op: code, Token: &store.Token{Origin: origin, Login: login, AccessToken: access, Expiry: time.Unix(1800000000, 0).UTC()}}
		case OpStartSignIn:
			// The client id takes the place of the access token: a field
			// that must not be empty.
			req = Request{Op: code, SignIn: &store.SignInRequest{Origin: origin, Login: login, ClientID: access, MinLifetime: time.Duration(cut) * time.Second, Refresh: cut%2 == 1, RefreshFor: -time.Duration(cut)}}
		case OpList, OpStop, OpPendingSignIns:
			req = Request{Op: code}
		default:
			req = Request{Op: code, Origin: origin, Login: login}
		}
		framed := encodeRequest(req)
		framed[4] = byte(v)
		data := append(bytes.Clone(framed), junk...)

		got, err := DecodeRequest(bytes.NewReader(data))
		if err != nil {
			checkDecodeErr(t, err, access)
		} else if got.Op != OpStop {
			if byte(v) != Version {
				t.Fatalf("accepted a %q request of version %d", got.Op, byte(v))
			}
			if !reflect.DeepEqual(got, req) {
				t.Fatalf("decoded request differs from the one sent")
			}
			if got.Op == OpPut && (got.Token.AccessToken == "" || got.Token.Origin == "") {
				t.Fatal("accepted a put without token, origin or access token")
			}
			if got.Op == OpStartSignIn && (got.SignIn.Origin == "" || got.SignIn.ClientID == "") {
				t.Fatal("accepted a sign-in without origin or client id")
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
