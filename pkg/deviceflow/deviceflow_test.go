package deviceflow

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func newServer(t *testing.T, opts githubtest.Options) *githubtest.Server {
	t.Helper()
	if opts.Interval == 0 {
		opts.Interval = 1
	}
	s := githubtest.NewServer(opts)
	t.Cleanup(s.Close)
	s.AddUser("octocat")
	return s
}

func flowFor(s *githubtest.Server, shown *Code) *Flow {
	return &Flow{
		ClientID:      s.ClientID(),
		DeviceCodeURL: s.URL + "/login/device/code",
		TokenURL:      s.URL + "/login/oauth/access_token",
		HTTP:          &http.Client{Timeout: 5 * time.Second},
		Show:          func(c Code) { *shown = c },
	}
}

// run runs the flow and checks the error, when one is expected, is one line
// that contains every want.
func run(t *testing.T, f *Flow, want ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := f.Token(ctx)
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("flow failed: %v", err)
		}
		if !strings.HasPrefix(tok.AccessToken, "ghu_") {
			t.Fatalf("no user access token")
		}
		return nil
	}
	if err == nil {
		t.Fatal("flow succeeded, want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	return err
}

func TestSuccess(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	var shown Code
	f := flowFor(s, &shown)
	run(t, f)
	if shown.UserCode == "" || shown.VerificationURI != s.URL+"/login/device" || time.Until(shown.Expiry) < 14*time.Minute {
		t.Errorf("shown %+v", shown)
	}
	// One poll at the interval, not two: AuthStyleInParams is in force.
	if n := s.Requests("/login/oauth/access_token"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestPendingThenApproved(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.OnDeviceCode(func(code string) {
		go func() {
			time.Sleep(2200 * time.Millisecond) // a couple of authorization_pending polls
			s.Approve(code, "octocat")
		}()
	})
	var shown Code
	run(t, flowFor(s, &shown))
	if n := s.Requests("/login/oauth/access_token"); n < 2 {
		t.Errorf("%d token requests; want the flow to keep polling while pending", n)
	}
}

func TestAccessDenied(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoDeny(true)
	var shown Code
	err := run(t, flowFor(s, &shown), "cancelled", "run the git command again")
	if !errors.Is(err, ErrDenied) {
		t.Errorf("err = %v, want ErrDenied", err)
	}
}

func TestCodeExpires(t *testing.T) {
	s := newServer(t, githubtest.Options{CodeLifetime: 2 * time.Second})
	var shown Code
	err := run(t, flowFor(s, &shown), "expired", "run the git command again")
	if !errors.Is(err, ErrExpired) {
		t.Errorf("err = %v, want ErrExpired", err)
	}
}

func TestExpiredTokenAnswer(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/oauth/access_token" {
			return false
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		w.Write([]byte("error=expired_token&error_description=gone"))
		return true
	})
	var shown Code
	if err := run(t, flowFor(s, &shown), "expired"); !errors.Is(err, ErrExpired) {
		t.Errorf("err = %v, want ErrExpired", err)
	}
}

func TestDeviceFlowDisabled(t *testing.T) {
	s := newServer(t, githubtest.Options{DeviceFlowDisabled: true})
	var shown Code
	err := run(t, flowFor(s, &shown), "Device Flow", "enable")
	if !errors.Is(err, ErrDisabled) {
		t.Errorf("err = %v, want ErrDisabled", err)
	}
	if shown.UserCode != "" {
		t.Error("a code was shown")
	}
}

func TestWrongClientID(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	var shown Code
	f := flowFor(s, &shown)
	f.ClientID = "Iv1.not-this-app"
	err := run(t, f, `"Iv1.not-this-app" is not the client ID`, "ghapp.clientId")
	if !errors.Is(err, ErrClientID) {
		t.Errorf("err = %v, want ErrClientID", err)
	}
}

func TestIncorrectClientCredentialsWhilePolling(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/oauth/access_token" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"error":"incorrect_client_credentials"}`))
		return true
	})
	var shown Code
	if err := run(t, flowFor(s, &shown), "not the client ID"); !errors.Is(err, ErrClientID) {
		t.Errorf("err = %v, want ErrClientID", err)
	}
}

func TestSlowDownIsHonoured(t *testing.T) {
	if testing.Short() {
		t.Skip("slow_down adds 5 s")
	}
	s := newServer(t, githubtest.Options{})
	slowed := false
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/login/oauth/access_token" || slowed {
			return false
		}
		slowed = true
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"error":"slow_down","interval":6}`))
		return true
	})
	s.AutoApprove("octocat")
	var shown Code
	start := time.Now()
	run(t, flowFor(s, &shown))
	if gap := time.Since(start); gap < 6*time.Second {
		t.Errorf("the flow polled again %v after slow_down; want the interval raised by 5 s", gap)
	}
}

func TestServerErrors(t *testing.T) {
	for _, tt := range []struct {
		name, path, ctype, body string
		status                  int
		want                    []string
	}{
		{"device code 503", "/login/device/code", "text/html", "<html>down</html>", 503, []string{"HTTP 503", "try again later"}},
		{"device code not JSON", "/login/device/code", "text/html", "<html>hello</html>", 200, []string{"not a device code"}},
		{"device code unknown error in 200", "/login/device/code", "application/json", `{"error":"rate_limited","error_description":"too many\ncodes"}`, 200, []string{"rate_limited", `too many\x0acodes`}},
		{"token 502", "/login/oauth/access_token", "text/html", "bad gateway", 502, []string{"HTTP 502", "try again later"}},
		{"token not JSON", "/login/oauth/access_token", "application/json", "{{{", 200, []string{"not a token response"}},
		{"token without access_token", "/login/oauth/access_token", "application/json", `{"token_type":"bearer"}`, 200, []string{"without an access token"}},
		{"token unknown grant", "/login/oauth/access_token", "application/json", `{"error":"unsupported_grant_type"}`, 200, []string{"unsupported_grant_type", "run the git command again"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, githubtest.Options{})
			s.AutoApprove("octocat")
			s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != tt.path {
					return false
				}
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
				return true
			})
			var shown Code
			run(t, flowFor(s, &shown), tt.want...)
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := &Flow{ClientID: "x", DeviceCodeURL: "http://" + addr + "/login/device/code", TokenURL: "http://" + addr + "/login/oauth/access_token"}
	run(t, f, "cannot reach http://"+addr, "network")
}

func TestHangingServerIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	addr := ln.Addr().String()
	f := &Flow{ClientID: "x", DeviceCodeURL: "http://" + addr + "/login/device/code", TokenURL: "http://" + addr + "/x",
		HTTP: &http.Client{Timeout: 500 * time.Millisecond}}
	run(t, f, "did not answer in time")
}

func TestBogusIntervalIsClamped(t *testing.T) {
	for _, tt := range []struct{ interval, expiresIn, want string }{
		// Polls after the default 5 s; the stand-in does not know code "d".
		{"-3", "30", "incorrect_device_code"},
		// Clamped to 60 s, past the code's life: ends as expired, no overflow.
		{"999999999999", "2", "expired"},
	} {
		s := newServer(t, githubtest.Options{})
		s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/login/device/code" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"device_code":"d","user_code":"U-1","verification_uri":"http://x/login/device","expires_in":` + tt.expiresIn + `,"interval":` + tt.interval + `}`))
			return true
		})
		var shown Code
		run(t, flowFor(s, &shown), tt.want)
	}
}
