package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

func TestParseAddr(t *testing.T) {
	for _, tt := range []struct {
		in, network, address string
	}{
		{"unix:/run/user/1000/ghapp.sock", "unix", "/run/user/1000/ghapp.sock"},
		{"unix:rel/s", "unix", "rel/s"},
		{"127.0.0.1:0", "tcp", "127.0.0.1:0"},
		{"127.0.0.1:8080", "tcp", "127.0.0.1:8080"},
		{"127.0.0.2:65535", "tcp", "127.0.0.2:65535"},
		{"[::1]:0", "tcp", "[::1]:0"},
	} {
		a, err := ParseAddr(tt.in)
		if err != nil {
			t.Errorf("ParseAddr(%q): %v", tt.in, err)
			continue
		}
		if a.Network != tt.network || a.Address != tt.address {
			t.Errorf("ParseAddr(%q) = %+v, want %s %s", tt.in, a, tt.network, tt.address)
		}
		if a.String() != tt.in {
			t.Errorf("ParseAddr(%q).String() = %q", tt.in, a.String())
		}
	}
	for _, tt := range []struct{ in, why string }{
		{"0.0.0.0:8080", "every network interface"},
		{"[::]:8080", "every network interface"},
		{":8080", "every network interface"},
		{"example.com:80", "names a host"},
		{"localhost:80", "names a host"},
		{"10.0.0.1:80", "not a loopback address"},
		{"192.168.1.5:0", "not a loopback address"},
		{"[fe80::1%eth0]:80", "not a loopback address"},
		{"[::ffff:127.0.0.1]:80", "not a loopback address"},
		{"127.0.0.1:99999", "port must be a number"},
		{"127.0.0.1:http", "port must be a number"},
		{"127.0.0.1:+80", "port must be a number"},
		{"127.0.0.1", "neither unix:PATH nor IP:PORT"},
		{"", "no listen address"},
		{"unix:", "no socket path"},
	} {
		_, err := ParseAddr(tt.in)
		if err == nil {
			t.Errorf("ParseAddr(%q): accepted", tt.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.why) || strings.Contains(msg, "\n") {
			t.Errorf("ParseAddr(%q) = %q, want one line saying %q", tt.in, msg, tt.why)
		}
		if !strings.Contains(msg, "port must be") && !strings.Contains(msg, "use ") {
			t.Errorf("ParseAddr(%q) = %q: does not say what to use", tt.in, msg)
		}
	}
}

// client is a browser stand-in for a test server: it keeps cookies and
// sends what the page's script would.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	code int
	hdr  http.Header
	body string
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) answer {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (c *client) get(path string) answer { return c.do("GET", path, nil, nil) }

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// open loads the page and keeps its CSRF token.
func (c *client) open(path string) answer {
	c.t.Helper()
	a := c.get(path)
	if a.code != 200 {
		c.t.Fatalf("GET %s: %d %s", path, a.code, a.body)
	}
	m := csrfMeta.FindStringSubmatch(a.body)
	if m == nil {
		c.t.Fatalf("GET %s: no csrf-token meta in the page", path)
	}
	c.csrf = m[1]
	return a
}

// post sends a form as the page's script does, from the page's origin.
func (c *client) post(path string, form url.Values) answer {
	return c.do("POST", path, form, map[string]string{"X-CSRF-Token": c.csrf, "Origin": c.base})
}

func serveFake(t *testing.T, opts ...Option) (*fake, *client) {
	f := newFake()
	srv := httptest.NewServer(Handler(f, opts...))
	t.Cleanup(srv.Close)
	return f, newClient(t, srv.URL)
}

func TestSecret(t *testing.T) {
	const secret = "s3cret-for-the-test"
	_, c := serveFake(t, Secret(secret))
	for _, path := range []string{"/", "/api/status", "/app.js", "/?token=wrong", "/?token=", "/nothing"} {
		if a := c.get(path); a.code != 403 {
			t.Errorf("GET %s without the secret: %d, want 403", path, a.code)
		}
	}
	if a := c.get("/api/status"); !strings.Contains(a.body, `"error"`) {
		t.Errorf("403 on api/status is not a JSON error: %s", a.body)
	}
	// Only a GET may carry the secret in its query.
	if a := c.do("POST", "/api/login?token="+secret, url.Values{"host": {"github.com"}}, nil); a.code != 403 {
		t.Errorf("POST with ?token=: %d, want 403", a.code)
	}

	a := c.get("/?token=" + secret)
	if a.code != 200 {
		t.Fatalf("GET /?token=SECRET: %d %s", a.code, a.body)
	}
	var cookie *http.Cookie
	for _, k := range (&http.Response{Header: a.hdr}).Cookies() {
		cookie = k
	}
	switch {
	case cookie == nil:
		t.Fatal("no cookie set on the first visit")
	case !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value != secret:
		t.Errorf("cookie %q: want HttpOnly, SameSite=Strict and the secret", a.hdr.Get("Set-Cookie"))
	}
	// The cookie alone now admits every request.
	for _, path := range []string{"/", "/api/status", "/app.js", "/style.css", "/ghapp.svg"} {
		if a := c.get(path); a.code != 200 {
			t.Errorf("GET %s with the cookie: %d %s", path, a.code, a.body)
		}
	}
	c.open("/")
	if a := c.post("/api/login", url.Values{"host": {"github.com"}}); a.code != 200 {
		t.Errorf("POST api/login with the cookie: %d %s", a.code, a.body)
	}

	// A wrong cookie is no better than none.
	other := newClient(t, c.base)
	u, _ := url.Parse(c.base)
	other.hc.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: "guess"}})
	if a := other.get("/"); a.code != 403 {
		t.Errorf("GET / with a wrong cookie: %d, want 403", a.code)
	}
}

func TestCSRF(t *testing.T) {
	f, c := serveFake(t)
	c.open("/")
	host := url.Values{"host": {"github.com"}}
	base := c.base
	for _, tt := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no token", map[string]string{"Origin": base}, 403},
		{"wrong token", map[string]string{"Origin": base, "X-CSRF-Token": "nope"}, 403},
		{"foreign origin", map[string]string{"Origin": "https://evil.example", "X-CSRF-Token": c.csrf}, 403},
		{"same host, other port", map[string]string{"Origin": strings.TrimSuffix(base, base[strings.LastIndex(base, ":"):]) + ":1", "X-CSRF-Token": c.csrf}, 403},
		{"null origin", map[string]string{"Origin": "null", "X-CSRF-Token": c.csrf}, 403},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": c.csrf}, 403},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site", "X-CSRF-Token": c.csrf}, 403},
		{"forwarded host is someone else's", map[string]string{"Origin": "https://evil.example", "X-Forwarded-Host": "hub.example.org", "X-CSRF-Token": c.csrf}, 403},
		{"same origin", map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": c.csrf}, 200},
		{"no origin (not a browser)", map[string]string{"X-CSRF-Token": c.csrf}, 200},
		{"behind a proxy that keeps Host", map[string]string{"Origin": "https://" + strings.TrimPrefix(base, "http://"), "X-CSRF-Token": c.csrf}, 200},
		{"behind a proxy that rewrote Host", map[string]string{"Origin": "https://hub.example.org", "X-Forwarded-Host": "hub.example.org, internal:8888", "X-Forwarded-Proto": "https", "X-CSRF-Token": c.csrf}, 200},
		{"default port spelt out", map[string]string{"Origin": "https://hub.example.org", "X-Forwarded-Host": "HUB.example.org:443", "X-CSRF-Token": c.csrf}, 200},
	} {
		a := c.do("POST", "/api/login", host, tt.hdr)
		if a.code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, a.code, a.body, tt.want)
		}
		if a.code == 403 && !strings.HasPrefix(a.body, `{"error":`) {
			t.Errorf("%s: 403 is not a JSON error: %s", tt.name, a.body)
		}
	}
	if logins, _ := f.calls(); len(logins) != 5 {
		t.Errorf("the backend saw %d sign-ins, want one per admitted request (5): %q", len(logins), logins)
	}
	if a := c.get("/api/login"); a.code != 405 || !strings.Contains(a.body, `"error"`) {
		t.Errorf("GET api/login: %d %s, want a 405 JSON error", a.code, a.body)
	}
}

func TestLoginAndLogout(t *testing.T) {
	f, c := serveFake(t)
	c.open("/")
	a := c.post("/api/login", url.Values{"host": {"https://github.com"}})
	if a.code != 200 {
		t.Fatalf("login: %d %s", a.code, a.body)
	}
	var p struct {
		Host, URL, UserCode, VerificationURI, ExpiresAt string
	}
	if err := json.Unmarshal([]byte(a.body), &p); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"host":"github.com"`, `"user_code":"WDJB-MJHT"`, `"verification_uri":"https://github.com/login/device"`, `"expires_at":`} {
		if !strings.Contains(a.body, k) {
			t.Errorf("login answer %s lacks %s", a.body, k)
		}
	}
	if a := c.get("/api/status"); !strings.Contains(a.body, `"user_code":"WDJB-MJHT"`) {
		t.Errorf("status does not list the pending code: %s", a.body)
	}
	if !f.Approve("https://github.com", "octocat") {
		t.Fatal("nothing to approve")
	}
	a = c.get("/api/status")
	for _, k := range []string{`"login":"octocat"`, `"octo-org/analysis"`, `"octo-org/course-notes"`, `"pending":[]`} {
		if !strings.Contains(a.body, k) {
			t.Errorf("status after approval lacks %s: %s", k, a.body)
		}
	}
	if a := c.post("/api/logout", url.Values{"host": {"https://github.com"}, "login": {"octocat"}}); a.code != 200 {
		t.Errorf("logout: %d %s", a.code, a.body)
	}
	if a := c.post("/api/logout", url.Values{"host": {"https://github.com"}, "login": {"octocat"}}); a.code != 404 {
		t.Errorf("second logout: %d %s, want 404", a.code, a.body)
	}
	if a := c.post("/api/login", url.Values{"host": {"gitlab.example"}}); a.code != 400 {
		t.Errorf("login to a host not served: %d %s, want 400", a.code, a.body)
	}
	for _, form := range []url.Values{{}, {"host": {""}}, {"host": {"a\nb"}}, {"host": {strings.Repeat("h", 2000)}}} {
		if a := c.post("/api/login", form); a.code != 400 {
			t.Errorf("login with %v: %d %s, want 400", form, a.code, a.body)
		}
	}
	if a := c.post("/api/logout", url.Values{"login": {"octocat"}}); a.code != 400 {
		t.Errorf("logout without host: %d %s, want 400", a.code, a.body)
	}
	_, logouts := f.calls()
	if len(logouts) != 2 || logouts[0] != "https://github.com octocat" {
		t.Errorf("logouts = %q", logouts)
	}
}

func TestStatusEmpty(t *testing.T) {
	_, c := serveFake(t)
	a := c.get("/api/status")
	if a.code != 200 || a.hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("status: %d %s %s", a.code, a.hdr.Get("Content-Type"), a.body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(a.body), &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["pending"]) != "[]" || string(raw["accounts"]) != "[]" {
		t.Errorf("status with nothing = %s, want accounts and pending []", a.body)
	}
}

func TestBackendErrorsAreOneSafeLine(t *testing.T) {
	f, c := serveFake(t)
	c.open("/")
	hostile := "store broke\n\x1b[31m<script>alert(1)</script>\u202eevil\r\nsecond line " + strings.Repeat("x", 2000)
	f.setErr(errors.New(hostile))
	for name, a := range map[string]answer{
		"status": c.get("/api/status"),
		"login":  c.post("/api/login", url.Values{"host": {"github.com"}}),
		"logout": c.post("/api/logout", url.Values{"host": {"github.com"}}),
	} {
		if a.code != 500 {
			t.Errorf("%s: %d, want 500", name, a.code)
		}
		if strings.Count(a.body, "\n") != 1 || !strings.HasSuffix(a.body, "\n") {
			t.Errorf("%s: answer is not one line: %q", name, a.body)
		}
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(a.body), &e); err != nil {
			t.Fatalf("%s: %v: %s", name, err, a.body)
		}
		if !strings.HasPrefix(e.Error, "store broke") || !safetext.Safe(e.Error) || len(e.Error) > 600 {
			t.Errorf("%s: error %q is not one sanitised, bounded line", name, e.Error)
		}
		if strings.Contains(a.body, "<script>") {
			t.Errorf("%s: raw markup in the answer: %s", name, a.body)
		}
	}
	// The page still loads, naming the problem as text.
	a := c.get("/")
	if a.code != 200 || !strings.Contains(a.body, "Cannot list the servers") || strings.Contains(a.body, "<script>alert") {
		t.Errorf("page with a failing backend: %d\n%s", a.code, a.body)
	}
}

func TestDeadlineIs504(t *testing.T) {
	f, c := serveFake(t)
	f.setErr(fmt.Errorf("listing installations: %w", context.DeadlineExceeded))
	if a := c.get("/api/status"); a.code != 504 {
		t.Errorf("status past its deadline: %d %s, want 504", a.code, a.body)
	}
}

func TestHostileReport(t *testing.T) {
	f, c := serveFake(t)
	acc := account("github.com", "https://github.com", "octo\u202ecat")
	acc.InstallURL = "javascript:alert(1)"
	acc.Installations[0].Repositories = []string{"octo-org/<img src=x onerror=alert(1)>\x1b[2J"}
	f.accounts = append(f.accounts, acc)
	f.Login(context.Background(), "github.com")
	f.pending[0].VerificationURI = "data:text/html,hi"
	a := c.get("/api/status")
	for _, bad := range []string{"javascript:", "data:text", "\u202e", "\x1b", "<img"} {
		if strings.Contains(a.body, bad) {
			t.Errorf("status carries %q: %s", bad, a.body)
		}
	}
	if !strings.Contains(a.body, `octo\\u202ecat`) {
		t.Errorf("the login is not shown escaped: %s", a.body)
	}
}

func TestHeaders(t *testing.T) {
	const secret = "hdr-secret"
	_, c := serveFake(t, Secret(secret))
	check := func(what string, a answer) {
		t.Helper()
		for k, want := range map[string]string{
			"Cache-Control":          "no-store",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "SAMEORIGIN",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := a.hdr.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", what, k, got, want)
			}
		}
		csp := a.hdr.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %s", what, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline script", what, csp)
		}
	}
	check("403", c.get("/"))
	check("page", c.get("/?token="+secret))
	check("status", c.get("/api/status"))
	check("script", c.get("/app.js"))
	check("404", c.get("/nothing"))
	if a := c.get("/app.js"); a.hdr.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("app.js Content-Type %q", a.hdr.Get("Content-Type"))
	}
}

// TestRelative checks that the page names nothing by an absolute path, so
// that it works under a proxy's prefix, and that it has no inline script.
func TestRelative(t *testing.T) {
	_, c := serveFake(t)
	page := c.open("/").body
	if m := regexp.MustCompile(`(?i)(href|src|action)="(/|https?:)`).FindString(page); m != "" {
		t.Errorf("the page has an absolute link: %s", m)
	}
	if m := regexp.MustCompile(`(?is)<script[^>]*>[^<]+</script>`).FindString(page); m != "" {
		t.Errorf("the page has an inline script: %s", m)
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(page) || strings.Contains(page, "style=") {
		t.Error("the page has an inline handler or style, which the CSP would block")
	}
	js := c.get("/app.js").body
	if m := regexp.MustCompile("(fetch|call)\\(\\s*['\"`]/").FindString(js); m != "" {
		t.Errorf("app.js fetches an absolute path: %s", m)
	}
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "outerHTML") || strings.Contains(js, "insertAdjacentHTML") || strings.Contains(js, "document.write") {
		t.Error("app.js inserts HTML; it must insert text with textContent")
	}
	for _, want := range []string{`data-action="signin" data-host="https://github.com"`, "Sign in to github.com", "Sign in to ghe.example.org"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestNoToken drives every endpoint with a signed-in account and checks
// that the token the backend holds appears in no answer.
func TestNoToken(t *testing.T) {
	f, c := serveFake(t, Secret("s"))
	c.get("/?token=s")
	c.open("/")
	c.post("/api/login", url.Values{"host": {"github.com"}})
	f.Approve("https://github.com", "octocat")
	var all []answer
	for _, p := range []string{"/", "/api/status", "/app.js", "/style.css", "/ghapp.svg", "/nothing"} {
		all = append(all, c.get(p))
	}
	all = append(all,
		c.post("/api/login", url.Values{"host": {"ghe.example.org"}}),
		c.post("/api/logout", url.Values{"host": {"https://github.com"}}),
		c.post("/api/logout", url.Values{"host": {"https://github.com"}}))
	for _, a := range all {
		if strings.Contains(a.body, fakeToken) || strings.Contains(fmt.Sprint(a.hdr), fakeToken) {
			t.Fatalf("an answer holds the token: %d %s", a.code, a.body)
		}
	}
	if !strings.Contains(all[1].body, "octocat") {
		t.Errorf("status does not show the account: %s", all[1].body)
	}
}

// TestIconShipped checks that the launcher icon in docs/web is the one the
// page serves.
func TestIconShipped(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "web", "ghapp.svg"))
	if err != nil {
		t.Fatal(err)
	}
	served, err := assets.ReadFile("assets/ghapp.svg")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, served) {
		t.Error("docs/web/ghapp.svg differs from pkg/web/assets/ghapp.svg: copy one onto the other")
	}
}
