package deviceflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

var redirectStatuses = []int{301, 302, 303, 307, 308, 300}

// elsewhere is the server a redirect points at; it counts what reaches it.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"device_code":"d","user_code":"U","verification_uri":"http://x/","access_token":"ghu_stolen","refresh_token":"ghr_stolen"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// redirectOn makes s answer path with a redirect to other, userinfo and
// query included, which the error must not show.
func redirectOn(s *githubtest.Server, path, other string, status int) {
	s.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		u := strings.Replace(other, "http://", "http://user:pass@", 1)
		http.Redirect(w, r, u+"/steal?device_code=yes", status)
		return true
	})
}

// checkRedirect checks err is exactly the refusal to follow to other.
func checkRedirect(t *testing.T, err error, other string, hits *atomic.Int32) {
	t.Helper()
	var rd *githubapi.RedirectError
	if !errors.As(err, &rd) {
		t.Fatalf("err = %v, want a *githubapi.RedirectError", err)
	}
	want := "the server redirected to " + other + "/steal; the helper sends tokens only to the server they were minted for"
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the other server received %d requests", n)
	}
}

// followAll is a caller's client that would follow any redirect.
func followAll() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
}

func TestDeviceCodeRedirectIsRefused(t *testing.T) {
	for _, status := range redirectStatuses {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, githubtest.Options{})
			other, hits := elsewhere(t)
			redirectOn(s.Server, "/login/device/code", other.URL, status)
			var shown Code
			f := flowFor(s, &shown)
			f.HTTP = followAll()
			_, err := f.Token(context.Background())
			checkRedirect(t, err, other.URL, hits)
			if shown.UserCode != "" {
				t.Error("a code was shown")
			}
		})
	}
}

func TestTokenRedirectIsRefused(t *testing.T) {
	for _, status := range redirectStatuses {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, githubtest.Options{})
			s.AutoApprove("octocat")
			other, hits := elsewhere(t)
			redirectOn(s.Server, "/login/oauth/access_token", other.URL, status)
			var shown Code
			f := flowFor(s, &shown)
			f.HTTP = followAll()
			_, err := f.Token(context.Background())
			checkRedirect(t, err, other.URL, hits)
			if n := s.Requests("/login/oauth/access_token"); n != 1 {
				t.Errorf("%d token requests, want 1: a redirect ends the flow", n)
			}
		})
	}
}

func TestRefreshRedirectIsRefused(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	var shown Code
	f := flowFor(s, &shown)
	tok, err := f.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	other, hits := elsewhere(t)
	f.HTTP = followAll()
	for _, status := range redirectStatuses {
		redirectOn(s.Server, "/login/oauth/access_token", other.URL, status)
		_, err := f.Refresh(context.Background(), tok.RefreshToken)
		checkRedirect(t, err, other.URL, hits)
	}
	// The refresh token never left, so it still works.
	s.Intercept(nil)
	if _, err := f.Refresh(context.Background(), tok.RefreshToken); err != nil {
		t.Errorf("refresh after the refused redirects: %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// codeFlow runs the flow against a server on github.com (no network) whose
// device-code answer is body, and returns what was shown and the error.
func codeFlow(t *testing.T, body string) (shown *Code, polls int, err error) {
	t.Helper()
	srv := &fuzzServer{codeStatus: 200, codeType: jsonType, codeBody: body, tokStatus: 200, tokType: jsonType, tokBody: goodTok}
	synctest.Test(t, func(t *testing.T) {
		f := &Flow{
			ClientID:      "Iv23liCode",
			DeviceCodeURL: "https://github.com/login/device/code",
			TokenURL:      "https://github.com/login/oauth/access_token",
			HTTP:          &http.Client{Transport: srv},
			Show:          func(c Code) { shown = &c },
		}
		_, err = f.Token(context.Background())
	})
	return shown, srv.polls, err
}

func TestCodeIsCheckedAndMadeSafe(t *testing.T) {
	answer := func(userCode, uri, complete string) string {
		s := fmt.Sprintf(`{"device_code":"3584d83530557fdd1f46af8289938c8ef79f9dc5","user_code":%s,"verification_uri":%s,"expires_in":900,"interval":5`, jsonString(userCode), jsonString(uri))
		if complete != "" {
			s += `,"verification_uri_complete":` + jsonString(complete)
		}
		return s + "}"
	}
	for _, tt := range []struct {
		name, userCode, uri, complete string
		want                          Code
	}{
		{"github.com", "WDJB-MJHT", "https://github.com/login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com/login/device"}},
		{"case and trailing dot", "WDJB-MJHT", "https://GitHub.com./login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://GitHub.com./login/device"}},
		{"explicit default port", "WDJB-MJHT", "https://github.com:443/login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com:443/login/device"}},
		{"another host", "WDJB-MJHT", "https://github.example/login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.example/login/device", OffServer: true}},
		{"user info naming the server", "WDJB-MJHT", "https://github.com@evil.example/login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com@evil.example/login/device", OffServer: true}},
		{"another port", "WDJB-MJHT", "https://github.com:8443/login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com:8443/login/device", OffServer: true}},
		{"plain http", "WDJB-MJHT", "http://github.com/login/device", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "http://github.com/login/device", OffServer: true}},
		{"controls in the user code", "WDJB\x1b[2J\n-MJHT\u202e", "https://github.com/login/device", "",
			Code{UserCode: `WDJB\x1b[2J\x0a-MJHT\u202e`, VerificationURI: "https://github.com/login/device"}},
		{"bidi in the address", "WDJB-MJHT", "https://github.com/login/\u202eecived", "",
			Code{UserCode: "WDJB-MJHT", VerificationURI: `https://github.com/login/\u202eecived`}},
		{"complete address on the same host", "WDJB-MJHT", "https://github.com/login/device", "https://github.com/login/device?user_code=WDJB-MJHT\u0085",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com/login/device", VerificationURIComplete: `https://github.com/login/device?user_code=WDJB-MJHT\u0085`}},
		{"complete address elsewhere is dropped", "WDJB-MJHT", "https://github.com/login/device", "https://evil.example/login/device?user_code=WDJB-MJHT",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com/login/device"}},
		{"complete address not http is dropped", "WDJB-MJHT", "https://github.com/login/device", "javascript:alert(1)",
			Code{UserCode: "WDJB-MJHT", VerificationURI: "https://github.com/login/device"}},
		{"long user code is cut", strings.Repeat("A", 200), "https://github.com/login/device", "",
			Code{UserCode: strings.Repeat("A", maxUserCode) + "…", VerificationURI: "https://github.com/login/device"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			shown, _, err := codeFlow(t, answer(tt.userCode, tt.uri, tt.complete))
			if err != nil {
				t.Fatal(err)
			}
			if shown == nil {
				t.Fatal("no code shown")
			}
			got := *shown
			got.Expiry = time.Time{}
			if got != tt.want {
				t.Errorf("shown %+v\nwant  %+v", got, tt.want)
			}
		})
	}
}

func TestVerificationURIMustBeWeb(t *testing.T) {
	for _, uri := range []string{
		"javascript:alert(1)",
		"ftp://github.com/login/device",
		"github.com/login/device",
		"https:///login/device",
		"file:///etc/passwd",
		"https://git\x1bhub.com/login/device",
		"https://github.com/login/device\n\x1b[2Jnow visit evil.example",
		"mailto:someone@github.com",
	} {
		t.Run(fmt.Sprintf("%q", uri), func(t *testing.T) {
			body := fmt.Sprintf(`{"device_code":"d","user_code":"WDJB-MJHT","verification_uri":%s,"expires_in":900,"interval":5}`, jsonString(uri))
			shown, polls, err := codeFlow(t, body)
			want := "github.com sent a verification address that is not an http or https URL; check that it is a GitHub server"
			if err == nil || err.Error() != want {
				t.Errorf("err = %v, want %q", err, want)
			}
			if shown != nil || polls != 0 {
				t.Errorf("shown %+v after %d polls; want neither", shown, polls)
			}
		})
	}
}

// The stand-in serves its verification page on its own host.
func TestStandInIsOnServer(t *testing.T) {
	s := newServer(t, githubtest.Options{})
	s.AutoApprove("octocat")
	var shown Code
	run(t, flowFor(s, &shown))
	if shown.OffServer || shown.VerificationURI != s.URL+"/login/device" {
		t.Errorf("shown %+v, want the stand-in's own page, on server", shown)
	}
}
