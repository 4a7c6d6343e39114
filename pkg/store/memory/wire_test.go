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
)

// frame builds a frame around body as it is.
func frame(body string) []byte { return rawFrame(body) }

// fullToken sets every field, so that a round trip that drops one shows.
func fullToken() store.Token {
	at := time.Date(2026, 11, 30, 7, 8, 9, 123456789, time.UTC)
	return store.Token{
		Origin:       "https://github.com:8443",
		Login:        "Octo-Cat",
		AccessToken:  "ghu_0123456789abcdef",
		Expiry:       at.Add(8 * time.Hour),
		MinLifetime:  5 * time.Minute,
		API:          "https://github.com:8443/api/v3",
		ClientID:     "Iv23liTestClient",
		Minted:       at,
		RefreshToken: "ghr_secret",
		RefreshUntil: at.Add(180 * 24 * time.Hour),
		Reach: &store.Reach{
			Checked:  at.Add(time.Minute),
			AppSlug:  "octo-app",
			Accounts: []string{"octo-org", "Octo-Cat"},
			Repos:    []string{"other/one", "other/two"},
			Omitted:  3,
		},
	}
}

func TestTokenRoundTrip(t *testing.T) {
	local := fullToken()
	local.Minted = local.Minted.In(time.FixedZone("somewhere", 3600))
	before := time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC) // before 1970: negative seconds
	for name, tk := range map[string]store.Token{
		"every field":        fullToken(),
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
	tk := fullToken()
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
	}
	for _, tc := range good {
		req, err := DecodeRequest(bytes.NewReader(encodeRequest(tc.req)))
		if err != nil || req.Op != tc.req.Op || req.Origin != tc.req.Origin || req.Login != tc.req.Login {
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

	get := encodeRequest(good[0].req)
	put := encodeRequest(good[2].req)
	future := bytes.Clone(get)
	future[4] = 3
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
		{"version only", frame("\x02"), "malformed"},
		{"cut short", frame(string(put[4 : len(put)-3])), "malformed"},
		{"trailing data", frame(string(get[4:]) + "x"), "malformed"},
		{"string longer than the body", frame("\x02g\x7fhttps"), "malformed"},
		{"future version", future, "version 3"},
		{"version 1", frame(`{"v":1,"op":"get","origin":"https://github.com"}`), "version 1"},
		{"unknown op", frame("\x02x"), "unknown op"},
		{"get without origin", encodeRequest(Request{Op: OpGet, Login: "octocat"}), "without origin"},
		{"lock without origin", encodeRequest(Request{Op: OpLock}), "without origin"},
		{"put without secret", encodeRequest(Request{Op: OpPut, Token: &store.Token{Origin: "https://github.com"}}), "without token, origin or access token"},
		{"put without origin", encodeRequest(Request{Op: OpPut, Token: &store.Token{AccessToken: "ghu_x"}}), "without token, origin or access token"},
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

func TestResponseRoundTrip(t *testing.T) {
	tk := fullToken()
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
	for _, body := range []string{"", "\x02", "\x02o\x05", "\x02q", "\x02e\x09short"} {
		if _, err := decodeResponse(bytes.NewReader(frame(body))); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("decodeResponse(%q) = %v; want malformed", body, err)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	tk := fullToken()
	f.Add(encodeRequest(Request{Op: OpGet, Origin: "https://github.com"}))
	f.Add(encodeRequest(Request{Op: OpPut, Token: &tk}))
	f.Add(encodeRequest(Request{Op: OpLock, Origin: "o", Login: "l"}))
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
