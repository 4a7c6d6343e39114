package standin

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
)

// Host is a running stand-in's plumbing: its listener and HTTP server, its
// temporary directory, its log, and what it does with every request before
// its routes see it: count it and let a test's interceptor answer it.
type Host struct {
	Root string // temporary directory: repositories and git's HOME
	Addr string // "127.0.0.1:PORT", where it listens

	pkg       string
	ln        net.Listener
	server    *httptest.Server
	log       io.Writer
	logPrefix string
	logMu     sync.Mutex

	mu        sync.Mutex
	countAs   func(*http.Request) string
	intercept func(w http.ResponseWriter, r *http.Request) bool
	requests  map[string]int
}

// Open listens on addr ("" means a free loopback port) and makes the
// temporary directory. Log lines go to log, if set, and start with
// logPrefix ("[github] "); errors start with pkg.
func Open(pkg, addr, logPrefix string, log io.Writer) (*Host, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot listen on %s: %v", pkg, addr, err)
	}
	root, err := os.MkdirTemp("", pkg+"-")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("%s: cannot create a temporary directory: %v", pkg, err)
	}
	return &Host{Root: root, Addr: ln.Addr().String(), pkg: pkg, ln: ln, log: log, logPrefix: logPrefix, requests: map[string]int{}}, nil
}

// Serve starts serving routes. Every request is first counted under the
// path countAs gives and shown to the interceptor.
func (h *Host) Serve(routes http.Handler, countAs func(*http.Request) string) {
	h.countAs = countAs
	h.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.requests[h.countAs(r)]++
		f := h.intercept
		h.mu.Unlock()
		if f != nil && f(w, r) {
			return
		}
		routes.ServeHTTP(w, r)
	}))
	h.server.Listener.Close()
	h.server.Listener = h.ln
	h.server.Start()
}

// Close stops serving, waits for requests in flight, and removes the
// temporary directory.
func (h *Host) Close() {
	h.server.Close()
	os.RemoveAll(h.Root)
}

// Intercept makes f see every request before normal handling; if f
// returns true it has answered the request. nil removes the interceptor.
func (h *Host) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.intercept = f
}

// Requests returns how many requests have been counted under path.
func (h *Host) Requests(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests[path]
}

// Logf writes one line to the log. Callers must never pass a token.
func (h *Host) Logf(format string, args ...any) {
	if h.log == nil {
		return
	}
	h.logMu.Lock()
	defer h.logMu.Unlock()
	fmt.Fprintf(h.log, h.logPrefix+format+"\n", args...)
}

// Backend is git http-backend on the host's repositories, command running
// in its place if set; its errors go to the log.
func (h *Host) Backend(command []string) Backend {
	log := h.log
	if log == nil {
		log = io.Discard
	}
	return Backend{Root: h.Root, Command: command, Log: log, LogPrefix: h.logPrefix + "git http-backend: "}
}

// RepoDir is where the bare repository of key ("owner/name", lower case)
// lives.
func (h *Host) RepoDir(key string) string {
	return filepath.Join(h.Root, "repos", filepath.FromSlash(key)+".git")
}

// CreateRepo creates the bare repository of key with a first commit
// holding a README titled name, by author <email>. what names it in
// errors ("repository octocat/hello").
func (h *Host) CreateRepo(key, what, name, author, email string) error {
	dir := h.RepoDir(key)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("%s: %v", h.pkg, err)
	}
	// Mkdir, not MkdirAll: it fails if the repository exists, even when
	// two calls race.
	if err := os.Mkdir(dir, 0o755); err != nil {
		if os.IsExist(err) {
			return fmt.Errorf("%s: %s already exists", h.pkg, what)
		}
		return fmt.Errorf("%s: %v", h.pkg, err)
	}
	if err := initRepo(h.pkg, h.Root, dir, name, author, email); err != nil {
		os.RemoveAll(dir)
		return err
	}
	return nil
}

// RemoveRepo removes what CreateRepo made for key.
func (h *Host) RemoveRepo(key string) {
	os.RemoveAll(h.RepoDir(key))
}
