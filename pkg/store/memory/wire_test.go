package memory

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// frame builds a request frame around body, as a client would.
func frame(body string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(b, body...)
}

func TestDecodeRequest(t *testing.T) {
	good := []struct {
		body string
		op   string
	}{
		{`{"v":1,"op":"get","origin":"https://github.com","login":"octocat"}`, OpGet},
		{`{"v":1,"op":"get","origin":"https://github.com"}`, OpGet},
		{`{"v":1,"op":"put","token":{"origin":"https://github.com","access_token":"ghu_x"}}`, OpPut},
		{`{"v":1,"op":"delete","origin":"https://github.com"}`, OpDelete},
		{`{"v":1,"op":"list"}`, OpList},
		{`{"v":1,"op":"lock","origin":"https://github.com","login":"octocat"}`, OpLock},
		{`{"v":1,"op":"stop"}`, OpStop},
		{`{"v":1,"op":"list","later":"fields are ignored"}`, OpList},
	}
	for _, tc := range good {
		req, err := DecodeRequest(bytes.NewReader(frame(tc.body)))
		if err != nil || req.Op != tc.op {
			t.Errorf("DecodeRequest(%s) = op %q, %v; want op %q", tc.body, req.Op, err, tc.op)
		}
	}

	bad := []struct {
		name  string
		input []byte
		want  string
	}{
		{"empty", nil, "EOF"},
		{"short header", []byte{0, 0}, "unexpected EOF"},
		{"short body", frame(`{"v":1,"op":"list"}`)[:10], "unexpected EOF"},
		{"too large", binary.BigEndian.AppendUint32(nil, MaxRequest+1), "too large"},
		{"text", []byte("GET / HTTP/1.1\r\n\r\n"), "too large"},
		{"not JSON", frame(`{"v":1,`), "not valid JSON"},
		{"trailing data", frame(`{"v":1,"op":"list"} x`), "not valid JSON"},
		{"wrong type", frame(`{"v":"1","op":"list"}`), "not valid JSON"},
		{"no version", frame(`{"op":"list"}`), "version 0"},
		{"future version", frame(`{"v":2,"op":"list"}`), "version 2"},
		{"unknown op", frame(`{"v":1,"op":"dump"}`), "unknown op"},
		{"get without origin", frame(`{"v":1,"op":"get","login":"octocat"}`), "without origin"},
		{"lock without origin", frame(`{"v":1,"op":"lock"}`), "without origin"},
		{"put without token", frame(`{"v":1,"op":"put"}`), "without token"},
		{"put without secret", frame(`{"v":1,"op":"put","token":{"origin":"https://github.com"}}`), "without token"},
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
	_, err := DecodeRequest(bytes.NewReader(frame(`{"v":1,"op":"put","token":{"origin":5,"access_token":"` + secret + `"}}`)))
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("DecodeRequest of a bad put = %v; want an error that does not quote the token", err)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, Response{V: Version, Status: statusNotFound}); err != nil {
		t.Fatal(err)
	}
	resp, err := decodeResponse(&buf)
	if err != nil || resp.Status != statusNotFound {
		t.Fatalf("decodeResponse = %+v, %v; want status %q", resp, err, statusNotFound)
	}
	buf.Reset()
	writeFrame(&buf, Response{V: 7, Status: statusOK})
	if _, err := decodeResponse(&buf); err == nil || !strings.Contains(err.Error(), "version 7") {
		t.Fatalf("decodeResponse of another version = %v; want an error naming it", err)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(frame(`{"v":1,"op":"get","origin":"https://github.com"}`))
	f.Add(frame(`{"v":1,"op":"put","token":{"origin":"o","access_token":"a","expiry":"2030-01-01T00:00:00Z"}}`))
	f.Add(frame(`{"v":1,"op":"lock","origin":"o","login":"l"}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		if req.V != Version {
			t.Fatalf("accepted version %d", req.V)
		}
		if req.Op == OpPut && (req.Token == nil || req.Token.AccessToken == "") {
			t.Fatal("accepted a put without a token")
		}
	})
}
