package gitlabtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func requireGit(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("git smart HTTP through CGI is tested on unix only")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// newTestServer starts a server on a fake clock, so that tests move time
// instead of waiting for it.
func newTestServer(t *testing.T, opts Options) (*Server, *testsupport.Clock) {
	t.Helper()
	clock := testsupport.NewClock()
	opts.Now = clock.Now
	s := NewServer(opts)
	t.Cleanup(s.Close)
	return s, clock
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// fields decodes a JSON object body into strings.
func (r reply) fields(t *testing.T) map[string]string {
	t.Helper()
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("HTTP %d, Content-Type %q, not JSON: %s", r.status, r.header.Get("Content-Type"), testsupport.Redact(string(r.body)))
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	out := map[string]string{}
	for k, v := range m {
		b, _ := json.Marshal(v)
		out[k] = strings.Trim(string(b), `"`)
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

// postForm posts form to path below s.URL (so below the base path).
func postForm(t *testing.T, s *Server, path string, form url.Values) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func requestCode(t *testing.T, s *Server, scope string) (deviceCode, userCode string) {
	t.Helper()
	r := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {s.ClientID()}, "scope": {scope}})
	f := r.fields(t)
	if r.status != 200 || f["device_code"] == "" {
		t.Fatalf("device code request: HTTP %d %v", r.status, f)
	}
	return f["device_code"], f["user_code"]
}

func pollReply(t *testing.T, s *Server, deviceCode string) reply {
	t.Helper()
	return postForm(t, s, "/oauth/token", url.Values{
		"client_id":   {s.ClientID()},
		"device_code": {deviceCode},
		"grant_type":  {grantDeviceCode},
	})
}

func poll(t *testing.T, s *Server, deviceCode string) map[string]string {
	t.Helper()
	return pollReply(t, s, deviceCode).fields(t)
}

// signIn runs the device flow for username with scope and returns the
// token answer.
func signIn(t *testing.T, s *Server, clock *testsupport.Clock, username, scope string) map[string]string {
	t.Helper()
	s.AddUser(username)
	device, user := requestCode(t, s, scope)
	if err := s.Approve(user, username); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Duration(s.opts.Interval) * time.Second)
	f := poll(t, s, device)
	if f["access_token"] == "" {
		t.Fatalf("sign-in as %s: no access token: error %q", username, f["error"])
	}
	return f
}

// apiGet gets path below s.URL with the raw path as written, so that
// %2F stays encoded.
func apiGet(t *testing.T, s *Server, path, authorization string) reply {
	t.Helper()
	return apiGetURL(t, s.URL+path, authorization)
}

func apiGetURL(t *testing.T, url, authorization string) reply {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}
