// Package helper carries out what git and people ask of
// git-credential-ghapp: get, erase, login and logout. It ties together the
// protocol, configuration, the device flow, the API and a token store.
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
	"github.com/ghapp-creds/git-credential-ghapp/pkg/reach"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/credential"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/deviceflow"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/prompt"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// OpenFunc opens the store called name ("" or "auto" for the default).
// allowDisk is ghapp.allowDiskStore.
type OpenFunc func(name string, allowDisk bool) (store.Store, error)

// Helper holds what every operation needs. Zero values are not useful:
// cmd/git-credential-ghapp fills it in.
type Helper struct {
	ClientID  string // --client-id
	StoreName string // --store or $GHAPP_STORE; "" until configuration is read
	Open      OpenFunc
	Stdout    io.Writer
	Stderr    io.Writer
	// Screen returns where to show the device code; nil means Stderr.
	Screen func() *prompt.Screen
	HTTP   *http.Client
}

// MaxTokenLife caps tokens that come without an expiry (the app has
// "Expire user authorization tokens" turned off).
const MaxTokenLife = 8 * time.Hour

// signInWait bounds how long a get waits for another process's sign-in:
// a device code lives 15 minutes.
const signInWait = 16 * time.Minute

// Get answers git's get: a cached token if one has enough life left,
// else a new one from the device flow. Requests this helper does not
// serve get no answer, so git asks its next helper.
func (h *Helper) Get(ctx context.Context, req *credential.Request) error {
	o, err := origin.Parse(req.Protocol, req.Host)
	if err != nil || !o.SecureEnough() {
		return nil
	}
	// The hit path reads no configuration: a token is only ever minted for
	// a served origin, and it carries the settings it was minted under.
	st, err := h.Open(h.StoreName, true)
	if err != nil {
		return err
	}
	if tok, ok, err := h.cached(st, o, req.Username); err != nil {
		return err
	} else if ok {
		return h.answerChecked(ctx, st, o, req, tok)
	}

	s, err := config.Load(requestURL(o, req), h.ClientID, o.IsGitHub())
	if err != nil {
		return err
	}
	if !o.IsGitHub() && !s.HostConfigured {
		return nil
	}
	if h.StoreName == "" && s.Store != "auto" {
		if st, err = h.Open(s.Store, s.AllowDiskStore); err != nil {
			return err
		}
		if tok, ok, err := h.cached(st, o, req.Username); err != nil {
			return err
		} else if ok {
			return h.answerChecked(ctx, st, o, req, tok)
		}
	}
	if s.ClientID == "" {
		return fmt.Errorf("no GitHub App client ID for %s: set one with %s", o.HostPort(), config.ClientIDSources)
	}
	if !s.Interactive {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: no token for %s and prompting is off; sign in with: git-credential-ghapp login%s\n", o.HostPort(), hostFlag(o))
		return nil
	}
	// Writing needs the store as configured, disk or not.
	if st, err = h.Open(firstNonEmpty(h.StoreName, s.Store), s.AllowDiskStore); err != nil {
		return err
	}

	// Only a sign-in is worth interrupting cleanly; arming this costs a
	// thread, so the hit path above goes without.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	waitCtx, cancel := context.WithTimeout(ctx, signInWait)
	defer cancel()
	// Taking a free lock is quick even when it starts the memory daemon;
	// a second's wait means another process holds it.
	waiting := time.AfterFunc(time.Second, func() {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: waiting for the sign-in to %s that another git command started\n", o.HostPort())
	})
	unlock, err := st.Lock(waitCtx, o.String(), req.Username)
	waiting.Stop()
	if err != nil {
		if waitCtx.Err() != nil {
			return fmt.Errorf("gave up waiting for another sign-in to %s: %v", o.HostPort(), err)
		}
		// Not a wait that ran out: the store refused the lock (say, a
		// planted symlink), and its message says why.
		return fmt.Errorf("cannot take the sign-in lock for %s: %v", o.HostPort(), err)
	}
	defer unlock()
	if tok, ok, err := h.cached(st, o, req.Username); err != nil {
		return err
	} else if ok {
		return h.answerChecked(ctx, st, o, req, tok)
	}
	tok, err := h.signIn(ctx, st, o, s, req.Username)
	if err != nil {
		return err
	}
	return h.answerChecked(ctx, st, o, req, tok)
}

// cached returns a usable token for o and login, if the store has one. A
// store that cannot be read (a file planted in the runtime directory, say)
// is an error: signing in would only mint a token it cannot keep.
func (h *Helper) cached(st store.Store, o origin.Origin, login string) (store.Token, bool, error) {
	tok, err := st.Get(o.String(), login)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Token{}, false, nil
	case err != nil:
		return store.Token{}, false, err
	}
	return tok, tok.Usable(time.Now()), nil
}

// answerChecked answers git, first warning when the repository git named
// (credential.useHttpPath) is outside what the app lets the token reach.
// The token is handed out all the same: a public repository can be pulled.
func (h *Helper) answerChecked(ctx context.Context, st store.Store, o origin.Origin, req *credential.Request, tok store.Token) error {
	if repo := reach.Repo(req.Path); repo != "" {
		now := time.Now()
		if !reach.Fresh(tok.Reach, now) {
			if cv := h.fetchCoverage(ctx, tok); cv != nil {
				tok.Reach = cv
				put(st, tok) // only a cache of the answer: losing it costs one more request
			}
		}
		if tok.Reach != nil && !reach.Covers(tok.Reach, repo) {
			fmt.Fprintf(h.Stderr, "git-credential-ghapp: %s\n", reach.Warning(tok.Reach, repo, tok.Login, webRoot(tok.Origin)))
		}
	}
	return h.answer(tok)
}

// Renew trades t's refresh token for a new token, for the memory daemon
// (ghapp.refresh). The account and settings stay those of the sign-in.
func (h *Helper) Renew(ctx context.Context, t store.Token) (store.Token, error) {
	o, err := origin.ParseURL(t.Origin)
	if err != nil {
		return store.Token{}, err
	}
	flow := &deviceflow.Flow{ClientID: t.ClientID, TokenURL: o.Endpoints().Token, HTTP: h.HTTP}
	ot, err := flow.Refresh(ctx, t.RefreshToken)
	if err != nil {
		return store.Token{}, err
	}
	t.AccessToken, t.RefreshToken = ot.AccessToken, ot.RefreshToken
	t.Expiry, t.Minted = ot.Expiry, time.Now()
	if t.Expiry.IsZero() {
		t.Expiry = t.Minted.Add(MaxTokenLife)
	}
	return t, nil
}

// put keeps tok, without its coverage if the store cannot hold that much
// (an OS keychain item is small): the token matters, the hint does not.
func put(st store.Store, tok store.Token) error {
	err := st.Put(tok)
	if err != nil && tok.Reach != nil {
		tok.Reach = nil
		err = st.Put(tok)
	}
	return err
}

// fetchCoverage asks the server where the token reaches, or returns nil:
// a hint is not worth failing or delaying git for long.
func (h *Helper) fetchCoverage(ctx context.Context, tok store.Token) *store.Reach {
	ctx, cancel := context.WithTimeout(ctx, coverageWait)
	defer cancel()
	cv, err := reach.Fetch(ctx, &githubapi.Client{API: tok.API, Token: tok.AccessToken, HTTP: h.HTTP}, time.Now())
	if err != nil {
		return nil
	}
	return cv
}

// coverageWait bounds the installation lookup behind a hint.
const coverageWait = 10 * time.Second

// webRoot is where people browse a server: github.com's own, or the origin.
func webRoot(o string) string {
	if parsed, err := origin.ParseURL(o); err == nil {
		return parsed.Endpoints().Web
	}
	return o
}

func (h *Helper) answer(tok store.Token) error {
	_, err := credential.Answer{Username: tok.Login, Password: tok.AccessToken, Expiry: tok.Expiry}.WriteTo(h.Stdout)
	return err
}

// signIn runs the device flow, learns the login and keeps the token.
// wantLogin, when set, is the account the remote URL names.
func (h *Helper) signIn(ctx context.Context, st store.Store, o origin.Origin, s config.Settings, wantLogin string) (store.Token, error) {
	ep := o.Endpoints()
	screen := h.screen()
	defer screen.Close()
	stopCountdown := func() {}
	defer func() { stopCountdown() }()
	flow := &deviceflow.Flow{
		ClientID:      s.ClientID,
		DeviceCodeURL: ep.DeviceCode,
		TokenURL:      ep.Token,
		HTTP:          h.HTTP,
		Show: func(c deviceflow.Code) {
			uri := c.VerificationURI
			if c.VerificationURIComplete != "" {
				uri = c.VerificationURIComplete
			}
			screen.Code(o.HostPort(), s.ClientID, c.UserCode, uri, c.Expiry)
			stopCountdown = screen.Countdown(c.Expiry)
		},
	}
	ot, err := flow.Token(ctx)
	stopCountdown()
	if err != nil {
		return store.Token{}, err
	}
	expiry := ot.Expiry
	if expiry.IsZero() {
		expiry = time.Now().Add(MaxTokenLife)
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: the GitHub App hands out tokens that never expire; this helper forgets it after %s. Turn on \"Expire user authorization tokens\" in the app's settings.\n", MaxTokenLife)
	}
	api := &githubapi.Client{API: ep.API, Token: ot.AccessToken, HTTP: h.HTTP}
	user, err := api.User(ctx)
	if err != nil {
		return store.Token{}, fmt.Errorf("signed in, but could not learn the account: %v; run the git command again", err)
	}
	if wantLogin != "" && !strings.EqualFold(user.Login, wantLogin) {
		return store.Token{}, fmt.Errorf("signed in as %s, but the remote URL asks for %s; sign in as %s, or remove the user name from the remote URL", user.Login, wantLogin, wantLogin)
	}
	tok := store.Token{
		Origin:      o.String(),
		Login:       user.Login,
		AccessToken: ot.AccessToken,
		Expiry:      expiry,
		MinLifetime: s.MinLifetime,
		API:         ep.API,
		ClientID:    s.ClientID,
		Minted:      time.Now(),
	}
	if s.Refresh {
		if keeper, ok := st.(interface{ KeepsRefreshTokens() bool }); ok && keeper.KeepsRefreshTokens() && ot.RefreshToken != "" {
			tok.RefreshToken, tok.RefreshUntil = ot.RefreshToken, time.Now().Add(s.RefreshFor)
		} else {
			fmt.Fprintf(h.Stderr, "git-credential-ghapp: ghapp.refresh needs the memory store and an app whose tokens expire; signing in every %s instead\n", Hours(time.Until(expiry)))
		}
	}
	tok.Reach = h.fetchCoverage(ctx, tok)
	if err := put(st, tok); err != nil {
		// The token is good; only the next git command will sign in again.
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: could not keep the token: %v\n", err)
	}
	// One line: who, for how long, and where they can push.
	done := fmt.Sprintf("signed in to %s as %s for %s (until %s)", o.HostPort(), user.Login, Hours(time.Until(expiry)), expiry.Local().Format("15:04 MST"))
	if tok.Reach != nil {
		done += "; " + reach.Summary(tok.Reach, user.Login, ep.Web)
	}
	fmt.Fprintf(screen.W, "git-credential-ghapp: %s\n", done)
	return tok, nil
}

func (h *Helper) screen() *prompt.Screen {
	if h.Screen == nil {
		return prompt.Plain(h.Stderr)
	}
	return h.Screen()
}

// Erase forgets the token git reports as rejected. A password that is not
// the cached token leaves it alone: git is then talking about another
// helper's credential.
func (h *Helper) Erase(req *credential.Request) error {
	o, err := origin.Parse(req.Protocol, req.Host)
	if err != nil {
		return nil
	}
	st, err := h.Open(h.StoreName, true)
	if err != nil {
		return err
	}
	if req.Password == "" {
		return st.Delete(o.String(), req.Username)
	}
	toks, err := st.List()
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.Origin == o.String() && t.AccessToken == req.Password && (req.Username == "" || req.Username == t.Login) {
			if err := st.Delete(t.Origin, t.Login); err != nil {
				return err
			}
		}
	}
	return nil
}

// Login runs the device flow for o now, whatever is cached.
func (h *Helper) Login(ctx context.Context, o origin.Origin) error {
	s, err := config.Load(o.String(), h.ClientID, o.IsGitHub())
	if err != nil {
		return err
	}
	if !o.IsGitHub() && !s.HostConfigured {
		return fmt.Errorf("%s is not set up for this helper: set git config ghapp.%s.clientId to its GitHub App's client ID", o.HostPort(), o)
	}
	if s.ClientID == "" {
		return fmt.Errorf("no GitHub App client ID for %s: set one with %s", o.HostPort(), config.ClientIDSources)
	}
	st, err := h.Open(firstNonEmpty(h.StoreName, s.Store), s.AllowDiskStore)
	if err != nil {
		return err
	}
	unlock, err := st.Lock(ctx, o.String(), "")
	if err != nil {
		return err
	}
	defer unlock()
	_, err = h.signIn(ctx, st, o, s, "")
	return err
}

// Logout forgets the tokens for o (every origin when o is nil) and, when
// user is set, only that account's; it asks
// the server to revoke them. Revocation is best effort: a token that
// cannot be revoked still dies at its expiry.
func (h *Helper) Logout(ctx context.Context, o *origin.Origin, user string) error {
	name := h.StoreName
	if name == "" && o != nil {
		if s, err := config.Load(o.String(), h.ClientID, o.IsGitHub()); err == nil {
			name = s.Store
		}
	}
	st, err := h.Open(name, true)
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
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := githubapi.Revoke(rctx, h.HTTP, t.API, t.AccessToken)
		cancel()
		host := strings.TrimPrefix(strings.TrimPrefix(t.Origin, "https://"), "http://")
		if err != nil {
			fmt.Fprintf(h.Stdout, "signed out of %s (%s); the token could not be revoked (%v) and expires at %s\n", host, t.Login, err, t.Expiry.Local().Format("15:04 MST"))
			continue
		}
		fmt.Fprintf(h.Stdout, "signed out of %s (%s); the token is revoked\n", host, t.Login)
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
			where = o.HostPort()
		}
		if user != "" {
			where += " as " + user
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
