// Package helper carries out what git and people ask of
// git-credential-ghapp: get, erase, login and logout. It ties together the
// protocol, configuration, the device flow, the API and a token store, and
// makes each decision — is this host served, which store, which account —
// in one place.
package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/credential"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/prompt"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/reach"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Helper holds what every operation needs; cmd/git-credential-ghapp fills
// it in, tests inject fakes.
type Helper struct {
	// Settings reads the ghapp.* settings that apply to a remote URL
	// (config.Load with the command-line flags bound).
	Settings func(url string) (config.Settings, error)
	// Stores opens the store called name ("auto" for the default);
	// allowDisk is ghapp.allowDiskStore.
	Stores func(name string, allowDisk bool) (store.Store, error)
	// StoreFlag is --store or $GHAPP_STORE; "" lets configuration choose.
	StoreFlag string
	HTTP      *http.Client
	Stdout    io.Writer
	Stderr    io.Writer
	// Screen returns where to show the device code; nil means the
	// controlling terminal, else Stderr.
	Screen func() *prompt.Screen
	// Now is the clock; nil means time.Now. Sleep waits between polls
	// of a sign-in on it; nil means the real wait.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// MaxTokenLife caps every token's life, whatever the server says: the
// helper promises that nothing it hands out outlives 8 hours.
const MaxTokenLife = 8 * time.Hour

// signInWait bounds how long a get waits for another process's sign-in:
// a device code lives 15 minutes.
const signInWait = 16 * time.Minute

func (h *Helper) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// Get answers git's get: a cached token if one has enough life left,
// else a new one from the device flow. Requests this helper does not
// serve get no answer, so git asks its next helper. When it serves the
// host but has no token to give, whatever the reason, it answers quit=1
// besides returning the error (which main prints as one line): git then
// stops at once, instead of asking for a password that cannot work.
func (h *Helper) Get(ctx context.Context, req *credential.Request) error {
	served, err := h.get(ctx, req)
	if err != nil && served {
		h.quit() // the error says more than a failure to write this would
	}
	return err
}

// get is Get, saying whether the host is served.
func (h *Helper) get(ctx context.Context, req *credential.Request) (bool, error) {
	h.traceRequest("get", req)
	o, ok := servable(req)
	if !ok {
		h.traceUnservable(req)
		return false, nil
	}
	login := account(req.Username)
	// A hit reads no configuration: a token is only ever minted for a
	// served origin, and it carries the settings it was minted under.
	fast, storeErr := h.open(nil)
	if storeErr == nil {
		tok, hit, err := h.lookup(fast, o, login)
		if hit {
			return true, h.answer(req, tok)
		}
		storeErr = err
	}

	// Whether a failed store ends in quit=1 depends on whether the host
	// is served, which configuration tells. For another host it is still
	// said (a planted runtime directory is worth knowing about), and git
	// asks its next helper.
	s, err := h.Settings(requestURL(o, req))
	if err == nil {
		h.traceSettings(requestURL(o, req), s)
		h.traceServed(o, s)
	}
	switch {
	case err != nil:
		return served(o, s), err
	case !served(o, s):
		return false, storeErr
	case storeErr != nil:
		return true, storeErr
	}
	// A server below a path keeps its tokens under its base URL, which
	// only configuration names: the lookup above missed them.
	o, moved, err := server(o, s)
	if err != nil {
		return true, err
	}
	if moved {
		if tok, hit, err := h.lookup(fast, o, login); err != nil || hit {
			return true, h.answerOr(err, req, tok)
		}
	}
	st, err := h.open(&s)
	if err != nil {
		return true, err
	}
	if st.name != fast.name {
		// ghapp.store names a store the hit path did not look in.
		if tok, hit, err := h.lookup(st, o, login); err != nil || hit {
			return true, h.answerOr(err, req, tok)
		}
	}
	if s.ClientID == "" {
		return true, noClientID(o, s)
	}
	// With the memory daemon the sign-in is the daemon's: it goes on when
	// this command ends, and other commands join it. A store that cannot
	// (files, an older daemon) leaves it to this command.
	if bg := backgroundSignIns(st.Store, s); bg != nil {
		var tok store.Token
		if !s.Interactive {
			err = h.signInLater(ctx, bg, o, s, login)
		} else if tok, err = h.signInThrough(ctx, bg, o, s, login); err == nil {
			return true, h.answer(req, tok)
		}
		if errors.Is(err, store.ErrSignedIn) {
			// A sign-in ended between the look above and the daemon's turn.
			if tok, hit, err := h.lookup(st, o, login); err != nil || hit {
				return true, h.answerOr(err, req, tok)
			}
		}
		if !errors.Is(err, store.ErrNoBackgroundSignIn) {
			return true, err
		}
	}
	if !s.Interactive {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: no token for %s and prompting is off; sign in with: git-credential-ghapp login%s\n", o.Name(), hostFlag(o))
		return true, h.quit()
	}

	// Only a sign-in is worth interrupting cleanly; arming this costs a
	// thread, so the hit path above goes without.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	unlock, err := h.lock(ctx, st, o, login)
	if err != nil {
		return true, err
	}
	defer unlock()
	// Another process may have signed in while this one waited.
	if tok, hit, err := h.lookup(st, o, login); err != nil || hit {
		return true, h.answerOr(err, req, tok)
	}
	tok, err := h.signIn(ctx, st.Store, o, s, login)
	if err != nil {
		return true, err
	}
	return true, h.answer(req, tok)
}

// servable returns the origin git asks about, if a token may travel
// there at all: over https, or over plain http only to this machine.
func servable(req *credential.Request) (origin.Origin, bool) {
	o, err := origin.Parse(req.Protocol, req.Host)
	return o, err == nil && o.SecureEnough()
}

// served reports whether the helper signs in to o: github.com always,
// another host only once a ghapp.<url>.clientId names its app.
func served(o origin.Origin, s config.Settings) bool {
	return o.IsGitHub() || s.HostConfigured
}

// server returns the server o's settings s were matched for (s.Base): o
// itself, or the base URL of a server below a path, and whether that
// differs from o.
func server(o origin.Origin, s config.Settings) (origin.Origin, bool, error) {
	if s.Base == "" || s.Base == o.String() {
		return o, false, nil
	}
	b, err := origin.ParseBase(s.Base)
	if err != nil {
		return o, false, fmt.Errorf("ghapp.%s.clientId names a URL that is not a server's base URL: %v", safetext.Short(s.Base, 200), err)
	}
	return b, b != o, nil
}

// oauth2 is the user name GitLab asks git to send with an OAuth token.
const oauth2 = "oauth2"

// account is the account a remote URL's user name picks: "" (any) for
// none, and for "oauth2", which names no account but GitLab's token
// convention.
func account(username string) string {
	if strings.EqualFold(username, oauth2) {
		return ""
	}
	return username
}

// appName names the app a sign-in is for, as people find it in the
// server's settings.
func appName(provider, clientID string) string {
	if provider == config.GitLab {
		return "GitLab application " + show(clientID)
	}
	return "GitHub App " + show(clientID)
}

func noClientID(o origin.Origin, s config.Settings) error {
	if s.Provider == config.GitLab {
		return fmt.Errorf("no GitLab application ID for %s: set git config ghapp.%s.clientId to the application's ID", o.Name(), o)
	}
	return fmt.Errorf("no GitHub App client ID for %s: set one with %s", o.HostPort(), config.ClientIDSources)
}

// namedStore is a store with the name it was opened by, so that callers
// can tell two decisions apart and status can say which store it read.
type namedStore struct {
	store.Store
	name string
}

// open is the one place that decides which store serves: the --store flag
// first, then ghapp.store from s, then the default. Before configuration
// is read (s nil, as on a cache hit) it opens the flag's store or the
// default, and never lets it write to disk: only the configured
// ghapp.allowDiskStore may allow that.
func (h *Helper) open(s *config.Settings) (namedStore, error) {
	name, allowDisk := h.StoreFlag, false
	if s != nil {
		name = firstNonEmpty(name, s.Store)
		allowDisk = s.AllowDiskStore
	}
	name = firstNonEmpty(name, "auto")
	st, err := h.Stores(name, allowDisk)
	if err != nil {
		return namedStore{}, err
	}
	h.traceStoreChoice(name, s)
	return namedStore{st, name}, nil
}

// OpenStore opens the store that holds tokens for o (github.com when nil),
// as get would: for status and the commands that list what is kept. It
// returns the store's name too.
func (h *Helper) OpenStore(o *origin.Origin) (store.Store, string, error) {
	target := origin.Origin{Scheme: "https", Host: "github.com"}
	if o != nil {
		target = *o
	}
	var s *config.Settings
	// Configuration that cannot be read leaves the flag's or the default
	// store, which is still worth reading.
	if cfg, err := h.Settings(target.String()); err == nil {
		s = &cfg
	}
	st, err := h.open(s)
	return st.Store, st.name, err
}

// lookup returns a usable token for o and login, if st has one. A store
// that cannot be read (a file planted in the runtime directory, say) is
// an error: signing in would only mint a token it cannot keep.
func (h *Helper) lookup(st store.Store, o origin.Origin, login string) (store.Token, bool, error) {
	tok, err := st.Get(o.String(), login)
	h.traceLookup(st, o, login, tok, err)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Token{}, false, nil
	case err != nil:
		return store.Token{}, false, err
	}
	return tok, tok.Usable(h.now()), nil
}

// lock takes the sign-in lock for o and login, saying so when another
// process holds it.
func (h *Helper) lock(ctx context.Context, st store.Store, o origin.Origin, login string) (func(), error) {
	waitCtx, cancel := context.WithTimeout(ctx, signInWait)
	defer cancel()
	// Taking a free lock is quick even when it starts the memory daemon;
	// a second's wait means another process holds it.
	waiting := time.AfterFunc(time.Second, func() {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: waiting for the sign-in to %s that another git command started\n", o.HostPort())
	})
	unlock, err := st.Lock(waitCtx, o.String(), login)
	waiting.Stop()
	switch {
	case err == nil:
		return unlock, nil
	case waitCtx.Err() != nil:
		return nil, fmt.Errorf("gave up waiting for another sign-in to %s: %v", o.HostPort(), err)
	}
	// Not a wait that ran out: the store refused the lock (say, a planted
	// symlink), and its message says why.
	return nil, fmt.Errorf("cannot take the sign-in lock for %s: %v", o.HostPort(), err)
}

// quit tells git to stop: no other helper, no password prompt. The helper
// serves this host and has said on stderr why it has no token; a prompt
// would only invite a password that cannot work.
func (h *Helper) quit() error {
	_, err := credential.Answer{Quit: true}.WriteTo(h.Stdout)
	return err
}

// answerOr answers git with tok, unless err says the lookup failed.
func (h *Helper) answerOr(err error, req *credential.Request, tok store.Token) error {
	if err != nil {
		return err
	}
	return h.answer(req, tok)
}

// answer gives git the token, first warning when the repository git named
// (credential.useHttpPath) is outside what the app lets the token reach.
// The warning uses what is kept with the token, however old: a cache hit
// never waits on the server. The token goes out all the same: a public
// repository can be pulled.
func (h *Helper) answer(req *credential.Request, tok store.Token) error {
	if repo := reach.Repo(req.Path); repo != "" && tok.Reach != nil && !reach.Covers(tok.Reach, repo) {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: %s\n", reach.Warning(tok.Reach, repo, tok.Login, webRoot(tok.Origin), config.InstallURL(tok.AppURL)))
	}
	user := tok.Login
	if tok.Provider == config.GitLab {
		// GitLab takes an OAuth token with any user name, but recommends
		// this one, and older versions insist on it.
		user = oauth2
	}
	_, err := credential.Answer{Username: user, Password: tok.AccessToken, Expiry: tok.Expiry}.WriteTo(h.Stdout)
	return err
}

// webRoot is where people browse a server: github.com's own, or the origin.
func webRoot(o string) string {
	if parsed, err := origin.ParseURL(o); err == nil {
		return parsed.Endpoints().Web
	}
	return o
}

// Erase forgets the token git reports as rejected. A password that is not
// the cached token leaves it alone: git is then talking about another
// helper's credential.
func (h *Helper) Erase(req *credential.Request) error {
	h.traceRequest("erase", req)
	o, ok := servable(req)
	if !ok {
		h.traceUnservable(req)
		return nil
	}
	var cfg *config.Settings
	// Configuration that cannot be read leaves the default store and the
	// plain origin, which are still worth cleaning.
	if s, err := h.Settings(requestURL(o, req)); err == nil {
		cfg = &s
		if b, _, err := server(o, s); err == nil {
			o = b
		}
	}
	st, err := h.open(cfg)
	if err != nil {
		return err
	}
	login := account(req.Username)
	if req.Password == "" {
		return st.Delete(o.String(), login)
	}
	toks, err := st.List()
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Origin == o.String() && t.AccessToken == req.Password && (login == "" || strings.EqualFold(login, t.Login)) {
			if err := st.Delete(t.Origin, t.Login); err != nil {
				return err
			}
		}
	}
	return nil
}

// Login runs the device flow for o now, whatever is cached.
func (h *Helper) Login(ctx context.Context, o origin.Origin) error {
	s, err := h.Settings(o.String())
	if err != nil {
		return err
	}
	h.traceSettings(o.String(), s)
	h.traceServed(o, s)
	if !served(o, s) {
		return notServed(o, s)
	}
	if o, _, err = server(o, s); err != nil {
		return err
	}
	if s.ClientID == "" {
		return noClientID(o, s)
	}
	st, err := h.open(&s)
	if err != nil {
		return err
	}
	unlock, err := st.Lock(ctx, o.String(), "")
	if err != nil {
		return err
	}
	defer unlock()
	_, err = h.signIn(ctx, st.Store, o, s, "")
	return err
}

// notServed is the error for a sign-in asked for a host no
// ghapp.<url>.clientId names.
func notServed(o origin.Origin, s config.Settings) error {
	if s.Provider == config.GitLab {
		return fmt.Errorf("%s is not set up for this helper: set git config ghapp.%s.clientId to its GitLab application's ID", o.Name(), o)
	}
	return fmt.Errorf("%s is not set up for this helper: set git config ghapp.%s.clientId to its GitHub App's client ID", o.HostPort(), o)
}

// Host turns what a person gave as --host (a URL, or a bare host for
// https://HOST) into the server it names: for a URL at or below a server
// that lives below a path, that server's base URL. A malformed URL is an
// error; configuration that cannot be read leaves the URL's own server.
func (h *Helper) Host(s string) (origin.Origin, error) {
	o, err := origin.ParseBase(s)
	if err != nil {
		// A path the helper would not take for a base still names a host.
		if o, err = origin.ParseURL(s); err != nil {
			return o, err
		}
	}
	cfg, err := h.Settings(o.String())
	if err != nil {
		return o, nil
	}
	if b, _, err := server(o.Server(), cfg); err == nil && b.Under(o.String()) {
		return b, nil
	}
	return o.Server(), nil
}

// Logout forgets the tokens for o (every origin when o is nil) and, when
// user is set, only that account's; it asks the server to revoke them.
// Revocation is best effort: a token that cannot be revoked still dies at
// its expiry.
func (h *Helper) Logout(ctx context.Context, o *origin.Origin, user string) error {
	st, _, err := h.OpenStore(o)
	if err != nil {
		return err
	}
	toks, err := st.List()
	if err != nil {
		return err
	}
	n := 0
	for _, t := range toks {
		if o != nil && t.Origin != o.String() || user != "" && !strings.EqualFold(user, t.Login) {
			continue
		}
		n++
		if err := st.Delete(t.Origin, t.Login); err != nil {
			return err
		}
		host := show(strings.TrimPrefix(strings.TrimPrefix(t.Origin, "https://"), "http://"))
		if err := h.revoke(ctx, t); err != nil {
			fmt.Fprintf(h.Stdout, "signed out of %s (%s); the token could not be revoked (%v) and expires at %s\n", host, show(t.Login), err, t.Expiry.Local().Format("15:04 MST"))
			continue
		}
		fmt.Fprintf(h.Stdout, "signed out of %s (%s); the token is revoked\n", host, show(t.Login))
	}
	if stopper, ok := st.(interface{ Stop() error }); ok && o == nil {
		// Signing out everywhere also ends the memory daemon.
		if err := stopper.Stop(); err != nil {
			return err
		}
	}
	if n == 0 {
		where := "any host"
		if o != nil {
			where = o.Name()
		}
		if user != "" {
			where += " as " + show(user)
		}
		fmt.Fprintf(h.Stdout, "not signed in to %s\n", where)
	}
	return nil
}

// Hours writes a duration as people say it: "8h", "7h42m", "5m".
func Hours(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

func requestURL(o origin.Origin, req *credential.Request) string {
	if req.Path == "" {
		return o.String()
	}
	return o.String() + "/" + strings.TrimPrefix(req.Path, "/")
}

func hostFlag(o origin.Origin) string {
	if o.IsGitHub() {
		return ""
	}
	return " --host " + o.String()
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
