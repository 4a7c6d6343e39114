package memory

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/storetest"
)

// frame builds a frame around body as it is.
func frame(body string) []byte { return rawFrame(body) }

func TestTokenRoundTrip(t *testing.T) {
	local := storetest.FullToken()
	local.Minted = local.Minted.In(time.FixedZone("somewhere", 3600))
	before := time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC) // before 1970: negative seconds
	for name, tk := range map[string]store.Token{
		"every field":        storetest.FullToken(),
		"zero values":        {Origin: "o", AccessToken: "a"},
		"reach without list": {Origin: "o", AccessToken: "a", Reach: &store.Reach{}},
		"another time zone":  local,
		"before 1970":        {Origin: "o", AccessToken: "a", Expiry: before},
	} {
		got, err := DecodeRequest(bytes.NewReader(encodeRequest(Request{Op: OpPut, Token: &tk})))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := tk
		for _, tm := range []*time.Time{&want.Expiry, &want.Minted, &want.RefreshUntil} {
			if !tm.IsZero() {
				*tm = tm.UTC()
			}
		}
		if want.Reach != nil {
			r := *want.Reach
			if !r.Checked.IsZero() {
				r.Checked = r.Checked.UTC()
			}
			want.Reach = &r
		}
		if !reflect.DeepEqual(*got.Token, want) {
			t.Errorf("%s: round trip gave\n%+v\nwant\n%+v", name, *got.Token, want)
		}
	}
}

func TestDecodeRequest(t *testing.T) {
	tk := storetest.FullToken()
	good := []struct {
		name string
		req  Request
	}{
		{"get", Request{Op: OpGet, Origin: "https://github.com", Login: "octocat"}},
		{"get newest", Request{Op: OpGet, Origin: "https://github.com"}},
		{"put", Request{Op: OpPut, Token: &tk}},
		{"delete", Request{Op: OpDelete, Origin: "https://github.com"}},
		{"list", Request{Op: OpList}},
		{"lock", Request{Op: OpLock, Origin: "https://github.com", Login: "octocat"}},
		{"stop", Request{Op: OpStop}},
		{"start a sign-in", Request{Op: OpStartSignIn, SignIn: fullSignInRequest()}},
		{"wait for a sign-in", Request{Op: OpWaitSignIn, Origin: "https://github.com"}},
		{"pending sign-ins", Request{Op: OpPendingSignIns}},
	}
	for _, tc := range good {
		req, err := DecodeRequest(bytes.NewReader(encodeRequest(tc.req)))
		if err != nil || req.Op != tc.req.Op || req.Origin != tc.req.Origin || req.Login != tc.req.Login || !reflect.DeepEqual(req.SignIn, tc.req.SignIn) {
			t.Errorf("%s: DecodeRequest = %+v, %v", tc.name, req, err)
		}
	}
	// A stop is obeyed from any version, so that another version's client
	// can always end this daemon; version 1 sent JSON.
	for _, body := range []string{"\x07s", "\x01s", `{"v":1,"op":"stop"}`} {
		if req, err := DecodeRequest(bytes.NewReader(frame(body))); err != nil || req.Op != OpStop {
			t.Errorf("stop %q: %+v, %v", body, req, err)
		}
	}

	signInBody := encodeRequest(Request{Op: OpStartSignIn, SignIn: &store.SignInRequest{Origin: "o", ClientID: "c"}})[4:]
	get := encodeRequest(good[0].req)
	put := encodeRequest(good[2].req)
	future := bytes.Clone(get)
	future[4] = Version + 1
	bad := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "EOF"},
		{"short header", []byte{0, 0}, "unexpected EOF"},
		{"short body", get[:10], "unexpected EOF"},
		{"too large", binary.BigEndian.AppendUint32(nil, MaxRequest+1), "too large"},
		{"text", []byte("GET / HTTP/1.1\r\n\r\n"), "too large"},
		{"empty body", frame(""), "malformed"},
		{"version only", frame("\x03"), "malformed"},
		{"cut short", frame(string(put[4 : len(put)-3])), "malformed"},
		{"trailing data", frame(string(get[4:]) + "x"), "malformed"},
		{"string longer than the body", frame("\x03g\x7fhttps"), "malformed"},
		{"future version", future, "version 4"},
		{"version 1", frame(`{"v":1,"op":"get","origin":"https://github.com"}`), "version 1"},
		{"unknown op", frame("\x03x"), "unknown op"},
		{"get without origin", encodeRequest(Request{Op: OpGet, Login: "octocat"}), "without origin"},
		{"lock without origin", encodeRequest(Request{Op: OpLock}), "without origin"},
		{"put without secret", encodeRequest(Request{Op: OpPut, Token: &store.Token{Origin: "https://github.com"}}), "without token, origin or access token"},
		{"put without origin", encodeRequest(Request{Op: OpPut, Token: &store.Token{AccessToken: "ghu_x"}}), "without token, origin or access token"},
		{"wait without origin", encodeRequest(Request{Op: OpWaitSignIn, Login: "octocat"}), "wait request without origin"},
		{"sign-in without origin", encodeRequest(Request{Op: OpStartSignIn, SignIn: &store.SignInRequest{ClientID: "Iv23li"}}), "without origin or client id"},
		{"sign-in without client id", encodeRequest(Request{Op: OpStartSignIn, SignIn: &store.SignInRequest{Origin: "https://github.com"}}), "without origin or client id"},
		{"sign-in with refresh neither 0 nor 1", frame(string(signInBody[:len(signInBody)-5]) + "\x02\x00\x00\x00\x00"), "malformed"},
		{"sign-in with even-if-signed-in neither 0 nor 1", frame(string(signInBody[:len(signInBody)-1]) + "\x02"), "malformed"},
		{"sign-in cut short", frame(string(signInBody[:len(signInBody)-1])), "malformed"},
		{"pending with data", frame("\x03c\x00"), "malformed"},
	}
	for _, tc := range bad {
		_, err := DecodeRequest(bytes.NewReader(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: DecodeRequest = %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestDecodeRequestErrorHidesToken(t *testing.T) {
	const secret = "ghu_SECRETSECRETSECRET"
	tk := store.Token{Origin: "https://github.com", AccessToken: secret}
	body := encodeRequest(Request{Op: OpPut, Token: &tk})[4:]
	for _, input := range [][]byte{rawFrame(string(body) + "x"), rawFrame(string(body[:len(body)-1]))} {
		if _, err := DecodeRequest(bytes.NewReader(input)); err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("DecodeRequest of a bad put = %v; want an error that does not quote the token", err)
		}
	}
}

func fullSignInRequest() *store.SignInRequest {
	return &store.SignInRequest{
		Origin:      "https://ghes.example.test:8443",
		Login:       "Octo-Cat",
		ClientID:    "Iv23liTestClient",
		AppURL:      "https://ghes.example.test:8443/github-apps/octo-app",
		MinLifetime: 5 * time.Minute,
		Refresh:     true,
		RefreshFor:  180 * 24 * time.Hour,
	}
}

func fullSignIn(code string) store.SignIn {
	return store.SignIn{
		Origin:          "https://ghes.example.test:8443",
		Login:           "Octo-Cat",
		UserCode:        code,
		VerificationURI: "https://ghes.example.test:8443/login/device",
		Expiry:          time.Date(2026, 11, 30, 7, 8, 9, 123456789, time.UTC),
		OffServer:       true,
		Ended:           "the sign-in code WXYZ-0000 expired before it was entered",
	}
}

func TestSignInResponseRoundTrip(t *testing.T) {
	for _, want := range []Response{
		{Status: statusSignIns},
		{Status: statusSignIns, SignIns: []store.SignIn{fullSignIn("ABCD-1234")}},
		{Status: statusSignIns, SignIns: []store.SignIn{fullSignIn("ABCD-1234"), {Origin: "o"}}},
		{Status: statusFailed, Error: "access denied"},
		{Status: statusNoSignIn},
	} {
		got, err := decodeResponse(bytes.NewReader(encodeResponse(want)))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("round trip of %+v gave %+v, %v", want, got, err)
		}
	}
	for _, body := range []string{"\x03i", "\x03i\x01", "\x03i\x05\x00", "\x03f", "\x03u\x00"} {
		if _, err := decodeResponse(bytes.NewReader(frame(body))); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("decodeResponse(%q) = %v; want malformed", body, err)
		}
	}
	// Cut anywhere, a sign-in answer is refused, never misread.
	full := encodeResponse(Response{Status: statusSignIns, SignIns: []store.SignIn{fullSignIn("ABCD-1234")}})[4:]
	for n := 2; n < len(full); n++ {
		if _, err := parseResponse(full[:n]); err == nil {
			t.Fatalf("a sign-in answer cut to %d of %d bytes was accepted", n, len(full))
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	tk := storetest.FullToken()
	for _, want := range []Response{
		{Status: statusNotFound},
		{Status: statusStale},
		{Status: statusError, Error: "bad request: unknown op"},
		{Status: statusOK},
		{Status: statusOK, Tokens: []store.Token{tk}},
		{Status: statusOK, Tokens: []store.Token{tk, {Origin: "o", AccessToken: "a"}}},
	} {
		got, err := decodeResponse(bytes.NewReader(encodeResponse(want)))
		if err != nil || got.Status != want.Status || got.Error != want.Error || len(got.Tokens) != len(want.Tokens) {
			t.Fatalf("decodeResponse(%q) = %+v, %v", want.Status, got, err)
		}
		for i := range want.Tokens {
			if got.Tokens[i].AccessToken != want.Tokens[i].AccessToken || !got.Tokens[i].Expiry.Equal(want.Tokens[i].Expiry) {
				t.Errorf("token %d differs", i)
			}
		}
	}

	other := encodeResponse(Response{Status: statusOK})
	other[4] = 7
	if _, err := decodeResponse(bytes.NewReader(other)); err == nil || !strings.Contains(err.Error(), "version 7") {
		t.Errorf("decodeResponse of another version = %v; want an error naming it", err)
	}
	legacy := frame(`{"v":1,"status":"error","error":"bad request: request is not valid JSON"}`)
	if _, err := decodeResponse(bytes.NewReader(legacy)); !errors.Is(err, errLegacyDaemon) {
		t.Errorf("decodeResponse of a version-1 answer = %v; want errLegacyDaemon", err)
	}
	for _, body := range []string{"", "\x03", "\x03o\x05", "\x03q", "\x03e\x09short"} {
		if _, err := decodeResponse(bytes.NewReader(frame(body))); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("decodeResponse(%q) = %v; want malformed", body, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	tk := storetest.FullToken()
	f.Add(encodeRequest(Request{Op: OpGet, Origin: "https://github.com"}))
	f.Add(encodeRequest(Request{Op: OpPut, Token: &tk}))
	f.Add(encodeRequest(Request{Op: OpLock, Origin: "o", Login: "l"}))
	f.Add(encodeRequest(Request{Op: OpStartSignIn, SignIn: fullSignInRequest()}))
	f.Add(encodeRequest(Request{Op: OpWaitSignIn, Origin: "o"}))
	f.Add(encodeRequest(Request{Op: OpPendingSignIns}))
	f.Add(frame(`{"v":1,"op":"stop"}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		if req.Op == OpStop {
			return
		}
		if len(data) < 5 || data[4] != Version {
			t.Fatalf("accepted version %d", data[4])
		}
		if req.Op == OpPut && (req.Token == nil || req.Token.AccessToken == "") {
			t.Fatal("accepted a put without a token")
		}
		// What was accepted survives another trip unchanged.
		again, err := DecodeRequest(bytes.NewReader(encodeRequest(req)))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("re-encoding an accepted request gave %+v, %v", again, err)
		}
	})
}

// FuzzParseResponse feeds the client's decoder what a daemon, or anything
// else on the socket, might send: it refuses or decodes, never panics, and
// what it accepts survives another trip unchanged.
func FuzzParseResponse(f *testing.F) {
	tk := storetest.FullToken()
	f.Add(encodeResponse(Response{Status: statusOK, Tokens: []store.Token{tk}})[4:])
	f.Add(encodeResponse(Response{Status: statusSignIns, SignIns: []store.SignIn{fullSignIn("ABCD-1234")}})[4:])
	f.Add(encodeResponse(Response{Status: statusFailed, Error: "access denied"})[4:])
	f.Add(encodeResponse(Response{Status: statusNoSignIn})[4:])
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := parseResponse(body)
		if err != nil {
			return
		}
		again, err := parseResponse(encodeResponse(resp)[4:])
		if err != nil || !reflect.DeepEqual(again, resp) {
			t.Fatalf("re-encoding an accepted response gave %+v, %v", again, err)
		}
	})
}
