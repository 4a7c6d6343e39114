package deviceflow

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"
)

// fuzzServer answers the device-code and token endpoints from the fuzz
// input, without a network: every poll gets the same token answer.
type fuzzServer struct {
	codeStatus, tokStatus int
	codeType, tokType     string
	codeBody, tokBody     string
	polls                 int
}

func (s *fuzzServer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	status, ctype, body := s.codeStatus, s.codeType, s.codeBody
	if r.URL.Path == "/login/oauth/access_token" {
		status, ctype, body = s.tokStatus, s.tokType, s.tokBody
		s.polls++
	}
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	return &http.Response{
		StatusCode:    status,
		Status:        http.StatusText(status),
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

// status maps any int onto an HTTP status code, 100 to 599, keeping
// those already in range.
func status(n int) int {
	if 100 <= n && n <= 599 {
		return n
	}
	if n < 0 {
		n = -(n + 1)
	}
	return 100 + n%500
}

const (
	goodCode = `{"device_code":"3584d83530557fdd1f46af8289938c8ef79f9dc5","user_code":"WDJB-MJHT","verification_uri":"https://ghe.example/login/device","expires_in":900,"interval":5}`
	goodTok  = `{"access_token":"ghu_fuzzSeedAccessToken","expires_in":28800,"refresh_token":"ghr_fuzzSeedRefreshToken","refresh_token_expires_in":15897600,"token_type":"bearer","scope":""}`
	jsonType = "application/json"
	formType = "application/x-www-form-urlencoded; charset=utf-8"
)

// shownUnsafe reports whether s could act on a terminal: not UTF-8, or a
// C0 or C1 control, DEL, a bidi control or a line separator.
func shownUnsafe(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r < ' ' || r == 0x7f || (0x80 <= r && r <= 0x9f) ||
			(0x202a <= r && r <= 0x202e) || (0x2066 <= r && r <= 0x2069) ||
			r == 0x200e || r == 0x200f || r == 0x061c || r == 0x2028 || r == 0x2029
	})
}

// FuzzToken runs the whole flow against answers made of the fuzz input:
// any status, content type and body on either endpoint. The flow must not
// panic, must end within the code's life (at most maxCodeLife, measured
// on synctest's fake clock, so the test itself takes no time), must never
// hand back an empty or already expired token, every error must be a
// single printable line, and the code shown must be printable with an
// http(s) address.
func FuzzToken(f *testing.F) {
	seeds := []struct {
		cs     int
		ct, cb string
		ts     int
		tt, tb string
	}{
		{200, jsonType, goodCode, 200, jsonType, goodTok},
		{200, jsonType, goodCode, 200, formType, "access_token=ghu_x&expires_in=28800&token_type=bearer"},
		{200, jsonType, goodCode, 200, jsonType, `{"error":"authorization_pending"}`},
		{200, jsonType, goodCode, 200, jsonType, `{"error":"slow_down","interval":10}`},
		{200, jsonType, goodCode, 200, jsonType, `{"error":"access_denied","error_description":"line one\nline two\r\x00"}`},
		{200, jsonType, goodCode, 200, jsonType, `{"error":"expired_token"}`},
		{200, jsonType, goodCode, 200, jsonType, `{"token_type":"bearer"}`},
		{200, jsonType, goodCode, 200, jsonType, `{"access_token":"ghu_x","expires_in":-60}`},
		{200, jsonType, goodCode, 200, jsonType, `{"access_token":"ghu_x","expires_in":99999999999999}`},
		{200, jsonType, goodCode, 200, jsonType, `{"access_token":"ghu_x","expires_in":"soon"}`},
		{200, jsonType, goodCode, 200, jsonType, `{"access_token":"ghu_x`},
		{200, jsonType, goodCode, 200, "text/plain", "error=%zz"},
		{200, jsonType, goodCode, 502, "text/html", "<html>bad gateway</html>"},
		{200, jsonType, goodCode, 503, jsonType, `{"message":"down\nfor maintenance"}`},
		{200, jsonType, goodCode, 401, jsonType, `{"error":"incorrect_client_credentials"}`},
		{200, jsonType, `{"device_code":"d","user_code":"U","verification_uri":"https://x","expires_in":0,"interval":0}`, 200, jsonType, `{"error":"authorization_pending"}`},
		{200, jsonType, `{"device_code":"d","user_code":"U","verification_uri":"https://x","expires_in":-5,"interval":-5}`, 200, jsonType, goodTok},
		{200, jsonType, `{"device_code":"d","user_code":"U","verification_uri":"https://x","expires_in":9223372036854775807,"interval":9223372036854775807}`, 200, jsonType, goodTok},
		{200, jsonType, `{"error":"device_flow_disabled","error_description":"Device Flow must be explicitly enabled for this App"}`, 200, jsonType, goodTok},
		{404, jsonType, `{"error":"Not Found"}`, 200, jsonType, goodTok},
		{500, "text/html", "<html>oops</html>", 200, jsonType, goodTok},
		{503, formType, "error=unavailable&error_description=try%0Alater", 200, jsonType, goodTok},
		{200, "text/html", "<html>captive portal</html>", 200, jsonType, goodTok},
		{200, jsonType, `{"device_code":"d"`, 200, jsonType, goodTok},
		{302, "", "", 200, jsonType, goodTok},
		{200, formType, "device_code=d&user_code=U&verification_uri=https%3A%2F%2Fx", 200, jsonType, goodTok},
		{200, jsonType, `{"device_code":"d","user_code":"W\u001b[2J\u202e","verification_uri":"https://ghe.example/\u0085","verification_uri_complete":"https://evil.example/","expires_in":900,"interval":5}`, 200, jsonType, goodTok},
		{200, jsonType, `{"device_code":"d","user_code":"U","verification_uri":"javascript:alert(1)","expires_in":900,"interval":5}`, 200, jsonType, goodTok},
		{200, jsonType, goodCode, 200, jsonType, `{"error":"access_denied","error_description":"\u202egnp\u2028\u009b31m"}`},
	}
	for _, s := range seeds {
		f.Add(s.cs, s.ct, s.cb, s.ts, s.tt, s.tb)
	}
	f.Fuzz(func(t *testing.T, codeStatus int, codeType, codeBody string, tokStatus int, tokType, tokBody string) {
		srv := &fuzzServer{
			codeStatus: status(codeStatus), codeType: codeType, codeBody: codeBody,
			tokStatus: status(tokStatus), tokType: tokType, tokBody: tokBody,
		}
		synctest.Test(t, func(t *testing.T) {
			var shown *Code
			fl := &Flow{
				Show:          func(c Code) { shown = &c },
				ClientID:      "Iv23liFuzz",
				DeviceCodeURL: "https://ghe.example/login/device/code",
				TokenURL:      "https://ghe.example/login/oauth/access_token",
				// No Client.Timeout: the transport answers at once, and a
				// timer would only add a goroutine to the bubble.
				HTTP: &http.Client{Transport: srv},
			}
			start := time.Now()
			tok, err := fl.Token(context.Background())
			took := time.Since(start)
			if c := shown; c != nil {
				if shownUnsafe(c.UserCode) || shownUnsafe(c.VerificationURI) || shownUnsafe(c.VerificationURIComplete) {
					t.Fatalf("shown a code that is not printable: %q %q %q", c.UserCode, c.VerificationURI, c.VerificationURIComplete)
				}
				if !strings.HasPrefix(c.VerificationURI, "http://") && !strings.HasPrefix(c.VerificationURI, "https://") {
					t.Fatalf("shown a verification address that is not http(s): %q", c.VerificationURI)
				}
			}
			if took > maxCodeLife+time.Minute {
				t.Fatalf("the flow took %v of fake time, past the %v bound", took, maxCodeLife)
			}
			if err != nil {
				msg := err.Error()
				if msg == "" || len(msg) > 1000 || shownUnsafe(msg) {
					t.Fatalf("error is not one short printable line: %q", msg)
				}
				return
			}
			if tok == nil || tok.AccessToken == "" {
				t.Fatal("no error and no access token")
			}
			if !tok.Expiry.IsZero() && !tok.Expiry.After(time.Now()) {
				t.Fatalf("handed back a token that expired %v ago", time.Since(tok.Expiry))
			}
		})
	})
}
