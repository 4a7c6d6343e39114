package githubtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func newTestServer(t *testing.T, opts Options) (*Server, *testsupport.Clock) {
	t.Helper()
	clock := testsupport.NewClock()
	opts.Now = clock.Now
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s, clock
}

// redact shows only the start of anything that may be a token.
func redact(s string) string {
	if len(s) > 4 {
		return s[:4] + "…"
	}
	return s
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// fields decodes a JSON or form-encoded body into strings.
func (r reply) fields(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("body is not JSON: %v", err)
		}
		for k, v := range m {
			b, _ := json.Marshal(v)
			out[k] = strings.Trim(string(b), `"`)
		}
		return out
	}
	v, err := url.ParseQuery(string(r.body))
	if err != nil {
		t.Fatalf("body is not form-encoded: %v", err)
	}
	for k := range v {
		out[k] = v.Get(k)
	}
	return out
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

// postForm posts form to s at path; asJSON sends Accept: application/json.
func postForm(t *testing.T, s *Server, path string, form url.Values, asJSON bool) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if asJSON {
		req.Header.Set("Accept", "application/json")
	}
	return do(t, req)
}

func requestCode(t *testing.T, s *Server) (deviceCode, userCode string) {
	t.Helper()
	r := postForm(t, s, "/login/device/code", url.Values{"client_id": {s.ClientID()}}, true)
	f := r.fields(t)
	if r.status != 200 || f["device_code"] == "" {
		t.Fatalf("device code request: HTTP %d %v", r.status, f)
	}
	return f["device_code"], f["user_code"]
}

func poll(t *testing.T, s *Server, deviceCode string) map[string]string {
	t.Helper()
	return postForm(t, s, "/login/oauth/access_token", url.Values{
		"client_id":   {s.ClientID()},
		"device_code": {deviceCode},
		"grant_type":  {grantDeviceCode},
	}, true).fields(t)
}

// signIn runs the device flow for login and returns the token answer.
func signIn(t *testing.T, s *Server, clock *testsupport.Clock, login string) map[string]string {
	t.Helper()
	s.AddUser(login)
	device, user := requestCode(t, s)
	if err := s.Approve(user, login); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Duration(s.opts.Interval) * time.Second)
	f := poll(t, s, device)
	if f["access_token"] == "" {
		t.Fatalf("sign-in as %s: no access token: error %q", login, f["error"])
	}
	return f
}

func apiGet(t *testing.T, s *Server, path, authorization string) reply {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}
