package trace

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// force turns tracing on or off for one test.
func force(t *testing.T, v bool) {
	saved := enabled
	enabled = func() bool { return v }
	t.Cleanup(func() { enabled = saved })
}

func TestOnlyTheseValuesTurnItOn(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true} {
		if got := on(v); got != want {
			t.Errorf("GHAPP_TRACE=%q: on = %v, want %v", v, got, want)
		}
	}
}

func TestPrintfWritesOneSafeLine(t *testing.T) {
	force(t, true)
	var b bytes.Buffer
	Printf(&b, "request for host %s", "evil\x1b[2J\nsecond line")
	want := Prefix + `request for host evil\x1b[2J\x0asecond line` + "\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestOffWritesNothing(t *testing.T) {
	force(t, false)
	var b bytes.Buffer
	Printf(&b, "anything")
	if b.Len() != 0 {
		t.Errorf("wrote %q with tracing off", b.String())
	}
	next := roundTripper(func(*http.Request) (*http.Response, error) { return nil, nil })
	if tr := Transport(next, &b); tr == nil || func() bool { _, wrapped := tr.(*transport); return wrapped }() {
		t.Error("Transport wrapped the transport with tracing off")
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A traced request shows its method, URL without query string or user
// info, status and duration, and nothing of its headers or body.
func TestTransportShowsNoSecret(t *testing.T) {
	force(t, true)
	const secret = "ghu_ThisIsTheAccessTokenItself0123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token", secret)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "access_token="+secret)
	}))
	defer srv.Close()
	var b bytes.Buffer
	client := &http.Client{Transport: Transport(http.DefaultTransport, &b)}
	u := strings.Replace(srv.URL, "http://", "http://user:"+secret+"@", 1) + "/login/oauth/access_token?device_code=" + secret + "#" + secret
	req, _ := http.NewRequest("POST", u, strings.NewReader("device_code="+secret))
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line := b.String()
	if !strings.HasPrefix(line, Prefix+"http POST "+srv.URL+"/login/oauth/access_token -> 201 in ") || strings.Count(line, "\n") != 1 {
		t.Errorf("trace line %q", line)
	}
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(line, secret[i:i+8]) {
			t.Fatalf("the trace shows part of the secret: %q", strings.ReplaceAll(line, secret[i:i+8], "…"))
		}
	}
}

func TestTransportTracesAFailure(t *testing.T) {
	force(t, true)
	var b bytes.Buffer
	tr := Transport(roundTripper(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	}), &b)
	req, _ := http.NewRequest("GET", "https://api.github.com/user?x=1", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	if got := b.String(); !strings.HasPrefix(got, Prefix+"http GET https://api.github.com/user failed after ") || !strings.HasSuffix(got, ": connection refused\n") {
		t.Errorf("trace line %q", got)
	}
}
