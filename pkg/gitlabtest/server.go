// Package gitlabtest serves on a loopback port what a GitLab host serves to
// a git credential helper and to git: the OAuth device authorization grant
// (doorkeeper's, as GitLab ships it), token refresh and revocation, the
// REST API v4 endpoints that tell who a token acts as and what it may do
// with a project, and git smart HTTP for bare repositories. Everything may
// hang below a base path, as on a self-managed GitLab. It is used like
// net/http/httptest: start one per test and Close it when done.
//
// Tokens live only in the server's memory; git's HTTP backend never sees
// them (it is told the username instead).
package gitlabtest

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

// DefaultClientID is the application ID a Server accepts unless
// Options.ClientID names another. GitLab application IDs are 64 hex digits.
const DefaultClientID = "9f1d2c3b4a5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"

// DefaultScopes are the scopes the application is registered with unless
// Options.Scopes names others.
var DefaultScopes = []string{"api", "read_api", "read_user", "read_repository", "write_repository", "openid", "profile", "email"}

// Options describe the OAuth application the server pretends to host. The
// zero value gives GitLab's defaults.
type Options struct {
	ClientID     string   // the application ID (default DefaultClientID); others are refused with invalid_client
	AppName      string   // shown on the approval page (default "ghapp-stand-in")
	Scopes       []string // the scopes the application may grant (default DefaultScopes)
	Confidential bool     // the application is confidential: without a secret, every OAuth request is refused as GitLab does
	BasePath     string   // path every endpoint hangs below, e.g. "/gitlab" (default none)

	Interval      int           // polling interval in seconds sent with a device code (default 5)
	CodeLifetime  time.Duration // device code lifetime (default 5m, as GitLab)
	TokenLifetime time.Duration // access token lifetime (default 2h, as GitLab)

	// TokenErrorStatus overrides the HTTP status of /oauth/token errors by
	// error code; unlisted ones get doorkeeper's (401 for invalid_client,
	// 400 for the rest). Some GitLab versions send 401 for the polling
	// errors: {"authorization_pending": 401, "slow_down": 401, ...}.
	TokenErrorStatus map[string]int

	// OAuth2UsernameOnly makes git over HTTP take an access token only
	// with the username "oauth2", as older GitLab versions do; otherwise
	// any username goes.
	OAuth2UsernameOnly bool

	Log  io.Writer        // if set, one human line per notable event; never a token
	Addr string           // listen address (default "127.0.0.1:0")
	Now  func() time.Time // clock for code and token expiry and poll spacing (default time.Now)
}

// Server is a running stand-in for one GitLab host.
//
// Besides its own methods it has those a test steers the device grant
// with: AutoApprove, AutoDeny, Approve, Deny, PendingCodes, OnDeviceCode,
// DeviceCodesIssued, IssuedTokens and SetTokenLifetime.
type Server struct {
	URL string // "http://127.0.0.1:PORT" plus the base path, no trailing slash

	controls

	opts       Options
	base       string // cleaned Options.BasePath: "" or "/a/b"
	host       *standin.Host
	devices    *standin.Devices[*user]
	devicePage *standin.DevicePage
	mux        *http.ServeMux
	backend    []string // command serving git smart HTTP; nil means `git http-backend`

	mu        sync.Mutex
	nextID    int64
	users     map[string]*user    // by lower-case username
	groups    map[string]*group   // by lower-case full path
	projects  map[string]*project // by lower-case full path
	byAccess  map[string]*grant
	byRefresh map[string]*grant
}

type (
	controls   = standin.Controls[*user]
	deviceCode = standin.DeviceCode[*user]
)

// NewServer starts a server as Start does and panics if it cannot, like
// httptest.NewServer.
func NewServer(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err)
	}
	return s
}

var pathPart = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// cleanBase turns "gitlab/", "/gitlab" and "/gitlab/" into "/gitlab", and
// "" or "/" into "".
func cleanBase(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	for _, part := range strings.Split(p, "/") {
		if !pathPart.MatchString(part) {
			return "", fmt.Errorf("gitlabtest: base path %q has an unusable segment %q", p, part)
		}
	}
	return "/" + p, nil
}

// Start starts a server listening on opts.Addr (default 127.0.0.1:0).
func Start(opts Options) (*Server, error) {
	base, err := cleanBase(opts.BasePath)
	if err != nil {
		return nil, err
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.AppName == "" {
		opts.AppName = "ghapp-stand-in"
	}
	if opts.Scopes == nil {
		opts.Scopes = slices.Clone(DefaultScopes)
	}
	for _, sc := range opts.Scopes {
		if !knownScopes[sc] {
			return nil, fmt.Errorf("gitlabtest: GitLab has no scope %q", sc)
		}
	}
	standin.DefaultTiming(&opts.Interval, &opts.CodeLifetime, &opts.TokenLifetime, &opts.Now, 5*time.Minute, 2*time.Hour)
	host, err := standin.Open("gitlabtest", opts.Addr, "[gitlab] ", opts.Log)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:       "http://" + host.Addr + base, // before serving: handlers read it
		opts:      opts,
		base:      base,
		host:      host,
		nextID:    1000,
		users:     map[string]*user{},
		groups:    map[string]*group{},
		projects:  map[string]*project{},
		byAccess:  map[string]*grant{},
		byRefresh: map[string]*grant{},
	}
	s.devices, s.controls = standin.NewDevices(standin.DeviceRules[*user]{
		Pkg:               "gitlabtest",
		Mu:                &s.mu,
		Now:               opts.Now,
		Logf:              s.logf,
		TokenLifetime:     opts.TokenLifetime,
		NewUserCode:       func() string { return standin.RandomString(userCodeAlphabet, 8) },
		NormalizeUserCode: normalizeUserCode,
		User: func(username string) (*user, bool) {
			u := s.userLocked(username)
			return u, u != nil
		},
		MakeUser: func(username string) *user {
			u, err := s.addUserLocked(username)
			if err != nil {
				panic(err)
			}
			return u
		},
		UserName: func(u *user) string { return u.username },
	})
	s.devicePage = &standin.DevicePage{
		Template:   devicePage,
		App:        opts.AppName,
		Action:     base + "/oauth/device",
		NameField:  "username",
		DenyAction: "deny",
		Approved:   "Device successfully authorized. You can close this window.",
		Denied:     "The device was denied access. You can close this window.",
		Pkg:        "gitlabtest",
		FormValue:  (*http.Request).PostFormValue,
		Person:     s,
	}
	s.routes()
	host.Serve(s.mux, func(r *http.Request) string { return r.URL.EscapedPath() })
	return s, nil
}

func (s *Server) routes() {
	b := s.base
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+b+"/oauth/authorize_device", s.handleAuthorizeDevice)
	s.mux.HandleFunc("POST "+b+"/oauth/token", s.handleToken)
	s.mux.HandleFunc("POST "+b+"/oauth/revoke", s.handleRevoke)
	s.mux.HandleFunc("GET "+b+"/oauth/device", s.devicePage.Show)
	s.mux.HandleFunc("POST "+b+"/oauth/device", s.devicePage.Submit)
	s.mux.HandleFunc("GET "+b+"/api/v4/user", s.handleUser)
	s.mux.HandleFunc("GET "+b+"/api/v4/projects/{id}", s.handleProject)
	s.mux.HandleFunc("GET "+b+"/api/v4/projects/{id}/members/all/{user_id}", s.handleMember)
	s.mux.HandleFunc("/", s.handleOther)
}

// handleOther answers what no pattern can name: git smart HTTP below
// project paths of any depth; the API's unknown routes as GitLab's router
// does; everything else 404.
func (s *Server) handleOther(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.base+"/")
	switch {
	case !ok:
	case strings.HasPrefix(rest, "api/"):
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	default:
		if path, endpoint, ok := gitRequest(r, rest); ok {
			s.handleGit(w, r, path, endpoint)
			return
		}
	}
	http.Error(w, "Not Found", http.StatusNotFound)
}

// Close stops serving, waits for requests in flight, and removes the
// server's temporary directory.
func (s *Server) Close() { s.host.Close() }

// ClientID returns the application ID the server accepts.
func (s *Server) ClientID() string { return s.opts.ClientID }

// BasePath returns the cleaned base path: "" or "/a/b".
func (s *Server) BasePath() string { return s.base }

// Intercept makes f see every request before normal handling; if f returns
// true it has answered the request and normal handling is skipped. nil
// removes the interceptor.
func (s *Server) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) { s.host.Intercept(f) }

// Requests returns how many requests have hit path, base path included
// (e.g. "/gitlab/oauth/token"), intercepted ones included. path is
// compared as sent, so an encoded project path counts apart from an
// unencoded one ("/api/v4/projects/acme%2Ftools").
func (s *Server) Requests(path string) int { return s.host.Requests(path) }

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// logf writes one line to Options.Log. Callers must never pass a token.
func (s *Server) logf(format string, args ...any) { s.host.Logf(format, args...) }

func (s *Server) repoDir(key string) string { return s.host.RepoDir(key) }
