// Package githubtest serves on a loopback port what a GitHub Enterprise
// Server host serves to a git credential helper and to git: the OAuth
// device flow, the REST endpoints that tell who a token acts as and where
// the app is installed, and git smart HTTP for bare repositories. It is
// used like net/http/httptest: start one per test and Close it when done.
//
// Tokens live only in the server's memory; git's HTTP backend never sees
// them (it is told the login instead).
package githubtest

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

// DefaultClientID is the client ID a Server accepts unless Options.ClientID
// names another.
const DefaultClientID = "Iv23liStandIn0000001"

// Options describe the GitHub App the server pretends to host. The zero
// value gives GitHub's defaults.
type Options struct {
	ClientID           string        // the app's client ID (default DefaultClientID); others are refused as GitHub does
	AppSlug            string        // default "ghapp-stand-in"
	Interval           int           // polling interval in seconds sent with a device code (default 5, as GitHub)
	CodeLifetime       time.Duration // device code lifetime (default 15m)
	TokenLifetime      time.Duration // access token lifetime (default 8h)
	NoTokenExpiry      bool          // app has "Expire user authorization tokens" off: no expires_in / refresh fields
	DeviceFlowDisabled bool          // app has Device Flow off
	// RateLimitDeviceCodes makes the device-code endpoint refuse every
	// request as a rate-limited app's: HTTP 429, Retry-After: 60 and a
	// JSON error body.
	RateLimitDeviceCodes bool
	// SlowDownPolls answers slow_down to the first N polls of device
	// codes, however they are spaced, raising the code's interval by 5 s
	// each time as GitHub does: a slow_down storm.
	SlowDownPolls int
	Log           io.Writer // if set, one human line per notable event; never a token

	Addr string           // listen address (default "127.0.0.1:0")
	Now  func() time.Time // clock for code and token expiry and poll spacing (default time.Now)
}

// Server is a running stand-in for one GitHub host.
//
// Besides its own methods it has those a test steers the device flow with:
// AutoApprove, AutoDeny, Approve, Deny, PendingCodes, OnDeviceCode,
// DeviceCodesIssued, IssuedTokens and SetTokenLifetime.
type Server struct {
	URL string // "http://127.0.0.1:PORT", no trailing slash

	controls

	opts       Options
	host       *standin.Host
	devices    *standin.Devices[*account]
	devicePage *standin.DevicePage
	mux        *http.ServeMux
	backend    []string // command serving git smart HTTP; nil means `git http-backend`

	mu            sync.Mutex
	nextID        int64
	accounts      map[string]*account // by lower-case login
	repos         map[string]*repo    // by lower-case "owner/name"
	installations []*installation
	tokens        map[string]*token
	slowDownsSent int
}

type (
	controls   = standin.Controls[*account]
	deviceCode = standin.DeviceCode[*account]
)

type account struct {
	login string
	id    int64
	user  bool // a person (AddUser); otherwise an organization
}

func (a *account) kind() string {
	if a.user {
		return "User"
	}
	return "Organization"
}

type installation struct {
	id       int64
	account  *account
	viewers  map[string]bool // lower-case logins that can see it
	selected []string        // lower-case "owner/name"; nil means all of the account's repositories
	contents string          // the app's "contents" permission here: "write" (default) or "read"
}

// NewServer starts a server as Start does and panics if it cannot, like
// httptest.NewServer.
func NewServer(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts a server listening on opts.Addr (default 127.0.0.1:0).
func Start(opts Options) (*Server, error) {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.AppSlug == "" {
		opts.AppSlug = "ghapp-stand-in"
	}
	standin.DefaultTiming(&opts.Interval, &opts.CodeLifetime, &opts.TokenLifetime, &opts.Now, 15*time.Minute, 8*time.Hour)
	host, err := standin.Open("githubtest", opts.Addr, "[github] ", opts.Log)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:      "http://" + host.Addr, // before serving: handlers read it
		opts:     opts,
		host:     host,
		nextID:   1000,
		accounts: map[string]*account{},
		repos:    map[string]*repo{},
		tokens:   map[string]*token{},
	}
	s.devices, s.controls = standin.NewDevices(standin.DeviceRules[*account]{
		Pkg:           "githubtest",
		Mu:            &s.mu,
		Now:           opts.Now,
		Logf:          s.logf,
		TokenLifetime: opts.TokenLifetime,
		NewUserCode: func() string {
			return standin.RandomString(userCodeAlphabet, 4) + "-" + standin.RandomString(userCodeAlphabet, 4)
		},
		NormalizeUserCode: normalizeUserCode,
		User: func(login string) (*account, bool) {
			a := s.userLocked(login)
			return a, a != nil
		},
		MakeUser: func(login string) *account {
			a := s.accountLocked(login)
			a.user = true
			return a
		},
		UserName: func(a *account) string { return a.login },
	})
	s.devicePage = &standin.DevicePage{
		Template:   devicePage,
		App:        opts.AppSlug,
		Action:     "/login/device",
		NameField:  "login",
		DenyAction: "cancel",
		Approved:   "Congratulations, you're all set! Your device is now connected to " + opts.AppSlug + ".",
		Denied:     "Authorization cancelled. You can close this window.",
		Pkg:        "githubtest",
		FormValue:  (*http.Request).FormValue,
		Person:     s,
	}
	s.routes()
	host.Serve(s.mux, func(r *http.Request) string { return r.URL.Path })
	return s, nil
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /login/device/code", s.handleDeviceCode)
	s.mux.HandleFunc("POST /login/oauth/access_token", s.handleAccessToken)
	s.mux.HandleFunc("GET /login/device", s.devicePage.Show)
	s.mux.HandleFunc("POST /login/device", s.devicePage.Submit)
	s.mux.HandleFunc("GET /api/v3/user", s.signedIn(s.handleUser))
	s.mux.HandleFunc("GET /api/v3/user/installations", s.signedIn(s.handleInstallations))
	s.mux.HandleFunc("GET /api/v3/user/installations/{id}/repositories", s.signedIn(s.handleInstallationRepos))
	s.mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}", s.handleRepo)
	s.mux.HandleFunc("POST /api/v3/credentials/revoke", s.handleRevoke)
	s.mux.HandleFunc("GET /{owner}/{repo}/info/refs", s.handleGit)
	s.mux.HandleFunc("POST /{owner}/{repo}/git-upload-pack", s.handleGit)
	s.mux.HandleFunc("POST /{owner}/{repo}/git-receive-pack", s.handleGit)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	})
}

// Close stops serving, waits for requests in flight, and removes the
// server's temporary directory.
func (s *Server) Close() { s.host.Close() }

// ClientID returns the client ID the server accepts.
func (s *Server) ClientID() string { return s.opts.ClientID }

// AppSlug returns the app's slug.
func (s *Server) AppSlug() string { return s.opts.AppSlug }

// AddUser makes login a GitHub user. Adding a user twice is harmless.
func (s *Server) AddUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(login).user = true
}

// accountLocked returns the account named login, creating it (as an
// organization until AddUser says otherwise) on first sight.
func (s *Server) accountLocked(login string) *account {
	key := strings.ToLower(login)
	a := s.accounts[key]
	if a == nil {
		a = &account{login: login, id: s.newIDLocked()}
		s.accounts[key] = a
	}
	return a
}

func (s *Server) userLocked(login string) *account {
	if a := s.accounts[strings.ToLower(login)]; a != nil && a.user {
		return a
	}
	return nil
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// Install installs the app on account (a user or an organization) and lets
// login see that installation. repos are the selected repositories, as
// "owner/name" or just "name"; none means all of the account's
// repositories. Installing again on the same account returns the same
// installation, visible to one more login, with the new selection.
func (s *Server) Install(login, account string, repos ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(login).user = true
	acct := s.accountLocked(account)
	var inst *installation
	for _, in := range s.installations {
		if in.account == acct {
			inst = in
		}
	}
	if inst == nil {
		inst = &installation{id: s.newIDLocked(), account: acct, viewers: map[string]bool{}, contents: "write"}
		s.installations = append(s.installations, inst)
	}
	inst.viewers[strings.ToLower(login)] = true
	inst.selected = nil
	for _, r := range repos {
		if !strings.Contains(r, "/") {
			r = account + "/" + r
		}
		inst.selected = append(inst.selected, strings.ToLower(strings.TrimSuffix(r, ".git")))
	}
	what := "all repositories"
	if len(repos) > 0 {
		what = strings.Join(repos, ", ")
	}
	s.logf("%s installed %s on %s (%s), installation %d", login, s.opts.AppSlug, acct.login, what, inst.id)
	return inst.id
}

// visibleLocked returns the installations login can see, oldest first:
// those it installed or was shown (Install), and those covering a
// repository Grant gave it.
func (s *Server) visibleLocked(login string) []*installation {
	var out []*installation
	for _, in := range s.installations {
		if in.viewers[strings.ToLower(login)] || s.grantedInLocked(login, in) {
			out = append(out, in)
		}
	}
	return out
}

// reposLocked returns the repositories an installation covers, by name.
func (s *Server) reposLocked(in *installation) []*repo {
	var out []*repo
	for key, r := range s.repos {
		if in.covers(key, r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (in *installation) covers(key string, r *repo) bool {
	if r.owner != in.account {
		return false
	}
	if in.selected == nil {
		return true
	}
	for _, k := range in.selected {
		if k == key {
			return true
		}
	}
	return false
}

// Intercept makes f see every request before normal handling; if f returns
// true it has answered the request and normal handling is skipped. nil
// removes the interceptor.
func (s *Server) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) { s.host.Intercept(f) }

// Requests returns how many requests have hit path (e.g.
// "/login/device/code"), intercepted ones included.
func (s *Server) Requests(path string) int { return s.host.Requests(path) }

// logf writes one line to Options.Log. Callers must never pass a token.
func (s *Server) logf(format string, args ...any) { s.host.Logf(format, args...) }

func (s *Server) repoDir(key string) string { return s.host.RepoDir(key) }
