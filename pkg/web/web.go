// Package web serves the sign-in page of `git-credential-ghapp web`: the
// signed-in person sees their accounts, what each token can reach, and the
// device codes waiting to be entered, and can sign in and out — for people
// on a hub, whose git runs where no terminal shows a prompt.
//
// The page never holds a token: it shows a status.Report, which has none.
//
// Every link and fetch on the page is relative, so it works under any path
// prefix (jupyter-server-proxy serves it at /user/NAME/ghapp/ and strips
// the prefix before the request arrives).
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

// Backend is what the page shows and does.
type Backend interface {
	// Status reports the accounts (with installations and repositories)
	// and the pending sign-ins.
	Status(ctx context.Context) (*status.Report, error)
	// Hosts lists the served hosts as URLs: https://github.com plus every
	// ghapp.<url>.clientId host.
	Hosts(ctx context.Context) ([]string, error)
	// Login starts (or joins) a background sign-in for host, a URL or a
	// bare host, and returns its pending code.
	Login(ctx context.Context, host string) (status.Pending, error)
	// Logout signs out of login on host; login "" is every account there.
	Logout(ctx context.Context, host, login string) error
}

// BadRequest marks an error of a Backend as the request's fault, such as
// a host that is not served: the page answers 400 rather than 500.
func BadRequest(err error) error { return coded{err, http.StatusBadRequest} }

// NotFound marks an error of a Backend as naming no such account: the page
// answers 404 rather than 500.
func NotFound(err error) error { return coded{err, http.StatusNotFound} }

// coded is an error with the status code it deserves; its text is err's.
type coded struct {
	err  error
	code int
}

func (c coded) Error() string { return c.err.Error() }
func (c coded) Unwrap() error { return c.err }

// What the page answers to a request that fails its checks.
var (
	errNoSecret    = errors.New("this page needs the address that git-credential-ghapp web printed, with its ?token=")
	errWrongSecret = errors.New("wrong token: open the address that git-credential-ghapp web printed")
	errCSRF        = errors.New("missing or stale X-CSRF-Token: reload the page")
)

// Bounds on what one request may cost.
const (
	// backendWait bounds one call to the Backend: a sign-in asks the
	// server for a code, a status may list installations.
	backendWait = 60 * time.Second
	// maxForm bounds a POST body; a host and a login are short.
	maxForm = 16 << 10
	// maxField bounds one form field.
	maxField = 1024
	// maxError bounds an error line.
	maxError = 500
)

//go:embed assets
var assets embed.FS

// page is parsed on first use: the binary serves git far more often than
// this page, and every git command would pay for parsing it at start-up.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.ParseFS(assets, "assets/index.html"))
})

// static are the files the page loads, by request path.
var static = map[string]struct{ file, kind string }{
	"/app.js":    {"assets/app.js", "text/javascript; charset=utf-8"},
	"/style.css": {"assets/style.css", "text/css; charset=utf-8"},
	"/ghapp.svg": {"assets/ghapp.svg", "image/svg+xml"},
}

// Option tunes Handler.
type Option func(*handler)

// Secret makes every request prove it knows secret: the first visit
// carries ?token=SECRET, which sets a cookie that later requests carry.
// For a TCP port, which every local user can connect to; a Unix socket
// checks its peer instead.
func Secret(secret string) Option {
	return func(h *handler) {
		h.secret = secret
		sum := sha256.Sum256([]byte(secret))
		// Cookies ignore ports: a name of its own per server keeps two
		// servers on one loopback address from overwriting each other's.
		h.cookie = "ghapp_web_" + hex.EncodeToString(sum[:4])
	}
}

type handler struct {
	b      Backend
	secret string // "" when requests need not carry one
	cookie string
	csrf   string
	mux    *http.ServeMux
}

// Handler returns the page and its API, for Serve and for tests.
func Handler(b Backend, opts ...Option) http.Handler {
	h := &handler{b: b, csrf: randomToken()}
	for _, o := range opts {
		o(h)
	}
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("/{$}", h.page)
	h.mux.HandleFunc("/api/status", h.status)
	h.mux.HandleFunc("/api/login", h.login)
	h.mux.HandleFunc("/api/logout", h.logout)
	h.mux.HandleFunc("/", h.file)
	return h
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// Scripts and styles come only from the page's own files; it may be
	// framed only by its own origin (a JupyterLab tab on the same hub).
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	if !h.authorized(w, r) {
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorized checks the secret when there is one, and sets its cookie on
// the first visit. The page is then served at once rather than redirected:
// a SameSite=Strict cookie is not sent on a redirect that follows a link
// from another site, so a redirect would answer 403 to a person who
// followed the printed address from, say, a chat. The page's script takes
// the secret out of the address bar.
func (h *handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	if h.secret == "" {
		return true
	}
	if q := r.URL.Query(); q.Has("token") {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && same(q.Get("token"), h.secret) {
			http.SetCookie(w, &http.Cookie{
				Name:     h.cookie,
				Value:    h.secret,
				Path:     "/",
				HttpOnly: true,
				SameSite: http.SameSiteStrictMode,
			})
			return true
		}
		h.fail(w, r, http.StatusForbidden, errWrongSecret.Error())
		return false
	}
	if c, err := r.Cookie(h.cookie); err == nil && same(c.Value, h.secret) {
		return true
	}
	h.fail(w, r, http.StatusForbidden, errNoSecret.Error())
	return false
}

// same compares secrets in constant time.
func same(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// post admits a POST that comes from the page itself: it must carry the
// page's CSRF token, and its Origin, when the browser sends one, must be
// the page's own.
func (h *handler) post(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, http.StatusMethodNotAllowed, "use POST")
		return false
	}
	if err := checkOrigin(r); err != nil {
		h.fail(w, r, http.StatusForbidden, err.Error())
		return false
	}
	if !same(r.Header.Get("X-CSRF-Token"), h.csrf) || h.csrf == "" {
		h.fail(w, r, http.StatusForbidden, errCSRF.Error())
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "cannot read the form: "+err.Error())
		return false
	}
	return true
}

// checkOrigin refuses a request that a browser says comes from another
// site. The Origin is compared with the Host the request arrived with, or
// with the first X-Forwarded-Host, which a proxy in front sets when it
// rewrote Host; jupyter-server-proxy passes the hub's Host on unchanged.
// The scheme is not compared: TLS usually ends before the request gets
// here, and X-Forwarded-Proto is rewritten too often along the way to be
// relied on. A browser cannot forge either header on a cross-site request
// without a CORS preflight, which this server never grants.
func checkOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return fmt.Errorf("refused a request from another site (Sec-Fetch-Site: %s)", safetext.Short(site, 40))
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return nil // not from a browser, or a browser that sends no Origin on same-origin requests
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("refused a request from origin %s", safetext.Short(o, 200))
	}
	if sameHost(u, r.Host) {
		return nil
	}
	if fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); fwd != "" && sameHost(u, strings.TrimSpace(fwd)) {
		return nil
	}
	return fmt.Errorf("refused a request from origin %s, which is not this page's", safetext.Short(o, 200))
}

// sameHost compares origin's host[:port] with host, ignoring case and the
// scheme's default port.
func sameHost(origin *url.URL, host string) bool {
	def := ":443"
	if origin.Scheme == "http" {
		def = ":80"
	}
	norm := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), def) }
	return host != "" && norm(origin.Host) == norm(host)
}

// fail answers one sanitised line: JSON under api/, text elsewhere.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	msg = safetext.Short(msg, maxError)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// backendError answers an error from the Backend.
func (h *handler) backendError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var c coded
	switch {
	case errors.As(err, &c):
		code = c.code
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
	}
	h.fail(w, r, code, err.Error())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// readOnly answers 405 to a request other than GET or HEAD and says
// whether the request may go on.
func (h *handler) readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	h.fail(w, r, http.StatusMethodNotAllowed, "use GET")
	return false
}

// hostButton is one Sign in button.
type hostButton struct {
	URL   string // what api/login gets
	Label string // what the person reads
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	if !h.readOnly(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), backendWait)
	defer cancel()
	data := struct {
		CSRF       string
		Hosts      []hostButton
		HostsError string
	}{CSRF: h.csrf}
	hosts, err := h.b.Hosts(ctx)
	if err != nil {
		data.HostsError = "Cannot list the servers to sign in to: " + safetext.Short(err.Error(), maxError)
	}
	for _, u := range hosts {
		data.Hosts = append(data.Hosts, hostButton{URL: safetext.Line(u), Label: hostLabel(u)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page().Execute(w, data); err != nil {
		// Headers are gone; the page is cut short, which the person sees.
		return
	}
}

// hostLabel is how a served host reads on its button: without https://.
func hostLabel(u string) string {
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return safetext.Line(strings.TrimSuffix(rest, "/"))
	}
	return safetext.Line(u)
}

func (h *handler) file(w http.ResponseWriter, r *http.Request) {
	f, ok := static[r.URL.Path]
	if !ok {
		h.fail(w, r, http.StatusNotFound, "not found")
		return
	}
	if !h.readOnly(w, r) {
		return
	}
	b, err := assets.ReadFile(f.file)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "cannot read "+f.file)
		return
	}
	w.Header().Set("Content-Type", f.kind)
	w.Write(b)
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	if !h.readOnly(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), backendWait)
	defer cancel()
	rep, err := h.b.Status(ctx)
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cleanReport(rep))
}

// field reads a short form field.
func field(r *http.Request, name string, required bool) (string, error) {
	v := strings.TrimSpace(r.PostForm.Get(name))
	switch {
	case v == "" && required:
		return "", fmt.Errorf("%s is missing", name)
	case len(v) > maxField:
		return "", fmt.Errorf("%s is too long", name)
	case !safetext.Safe(v):
		return "", fmt.Errorf("%s holds control characters", name)
	}
	return v, nil
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.post(w, r) {
		return
	}
	host, err := field(r, "host", true)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), backendWait)
	defer cancel()
	p, err := h.b.Login(ctx, host)
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cleanPending(p))
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.post(w, r) {
		return
	}
	host, err := field(r, "host", true)
	if err == nil {
		var login string
		if login, err = field(r, "login", false); err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), backendWait)
			defer cancel()
			if err := h.b.Logout(ctx, host, login); err != nil {
				h.backendError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
			return
		}
	}
	h.fail(w, r, http.StatusBadRequest, err.Error())
}

// cleanReport copies rep with every string made safe to show and every
// link that is not http(s) dropped; the script still inserts text only as
// text.
func cleanReport(rep *status.Report) *status.Report {
	out := &status.Report{Accounts: []status.Account{}, Pending: []status.Pending{}}
	if rep == nil {
		return out
	}
	out.SignIn = safetext.Line(rep.SignIn)
	for _, a := range rep.Accounts {
		c := a
		c.Host, c.URL, c.Login, c.Store = safetext.Line(a.Host), webLink(a.URL), safetext.Line(a.Login), safetext.Line(a.Store)
		c.AppSlug, c.InstallURL, c.Error = safetext.Line(a.AppSlug), webLink(a.InstallURL), safetext.Line(a.Error)
		c.Installations = []status.Installation{}
		for _, in := range a.Installations {
			ci := in
			ci.Account, ci.AccountType = safetext.Line(in.Account), safetext.Line(in.AccountType)
			ci.RepositorySelection = safetext.Line(in.RepositorySelection)
			ci.Permissions = map[string]string{}
			for k, v := range in.Permissions {
				ci.Permissions[safetext.Line(k)] = safetext.Line(v)
			}
			ci.Repositories = nil
			if in.Repositories != nil {
				ci.Repositories = make([]string, len(in.Repositories))
				for i, r := range in.Repositories {
					ci.Repositories[i] = safetext.Line(r)
				}
			}
			c.Installations = append(c.Installations, ci)
		}
		out.Accounts = append(out.Accounts, c)
	}
	for _, p := range rep.Pending {
		out.Pending = append(out.Pending, cleanPending(p))
	}
	return out
}

func cleanPending(p status.Pending) status.Pending {
	return status.Pending{
		Host:            safetext.Line(p.Host),
		URL:             webLink(p.URL),
		UserCode:        safetext.Line(p.UserCode),
		VerificationURI: webLink(p.VerificationURI),
		ExpiresAt:       p.ExpiresAt,
	}
}

// webLink keeps an absolute http(s) URL and drops anything else, so that
// no javascript: or data: link reaches the page.
func webLink(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !safetext.Safe(s) {
		return ""
	}
	return s
}
