package helper

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/deviceflow"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/prompt"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/trace"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/reach"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// signIn runs the device flow in this process, showing the code on the
// screen, and keeps the token. wantLogin, when set, is the account the
// remote URL names.
func (h *Helper) signIn(ctx context.Context, st store.Store, o origin.Origin, s config.Settings, wantLogin string) (store.Token, error) {
	screen := h.screen()
	defer screen.Close()
	stopCountdown := func() {}
	defer func() { stopCountdown() }()
	keepRefresh := false
	if s.Refresh {
		if keeper, ok := st.(interface{ KeepsRefreshTokens() bool }); ok && keeper.KeepsRefreshTokens() {
			keepRefresh = true
		}
	}
	trace.Printf(h.Stderr, "sign-in to %s: device flow started in this process", o)
	tok, err := h.mint(ctx, signInRequest(o, s, wantLogin), keepRefresh, func(c store.SignIn) {
		h.showCode(screen, o, s, c)
		stopCountdown = screen.Countdown(c.Expiry)
	})
	stopCountdown()
	h.traceSignInEnd(o, tok, err)
	if err != nil {
		return store.Token{}, err
	}
	switch {
	case s.Refresh && tok.RefreshToken == "" && s.Provider == config.GitLab:
		// On by default for GitLab: say what it costs, not what was set.
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: the sign-in lasts %s: refresh needs the memory store\n", Hours(tok.Expiry.Sub(tok.Minted)))
	case s.Refresh && tok.RefreshToken == "":
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: ghapp.refresh needs the memory store and an app whose tokens expire; signing in every %s instead\n", Hours(tok.Expiry.Sub(tok.Minted)))
	}
	if err := st.Put(tok); err != nil {
		// The token is good; only the next git command will sign in again.
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: could not keep the token: %v\n", err)
	}
	h.signedIn(screen.W, o, tok)
	return tok, nil
}

// signInThrough has the store run the sign-in (the memory daemon), shows
// its code, and waits for its end. The sign-in belongs to the daemon: a
// git command killed while waiting leaves the code valid for the next one
// to join, and status and the web page can show it meanwhile.
func (h *Helper) signInThrough(ctx context.Context, bg store.SignIns, o origin.Origin, s config.Settings, wantLogin string) (store.Token, error) {
	trace.Printf(h.Stderr, "sign-in to %s: left to the token daemon; waiting for it", o)
	c, err := bg.StartSignIn(ctx, signInRequest(o, s, wantLogin))
	if err != nil {
		trace.Printf(h.Stderr, "sign-in to %s: the daemon did not start it", o)
		return store.Token{}, err
	}
	screen := h.screen()
	defer screen.Close()
	h.sayEnded(screen, o, c)
	h.showCode(screen, o, s, c)
	stopCountdown := screen.Countdown(c.Expiry)
	ctx, cancel := context.WithDeadline(ctx, c.Expiry.Add(time.Minute))
	defer cancel()
	tok, err := bg.WaitSignIn(ctx, o.String(), wantLogin)
	stopCountdown()
	h.traceSignInEnd(o, tok, err)
	if err != nil {
		if ctx.Err() != nil {
			return store.Token{}, fmt.Errorf("sign-in interrupted: %w", ctx.Err())
		}
		return store.Token{}, err
	}
	h.signedIn(screen.W, o, tok)
	return tok, nil
}

// signInLater is get's answer when it may not wait for a person: the
// store runs the sign-in in the background, git is told the code, and
// quit=1 stops git from asking for a password. The next git command,
// once the code is entered, is a cache hit.
func (h *Helper) signInLater(ctx context.Context, bg store.SignIns, o origin.Origin, s config.Settings, wantLogin string) error {
	trace.Printf(h.Stderr, "sign-in to %s: left to the token daemon in the background, as get may not wait", o)
	c, err := bg.StartSignIn(ctx, signInRequest(o, s, wantLogin))
	if err != nil {
		trace.Printf(h.Stderr, "sign-in to %s: the daemon did not start it", o)
		return err
	}
	h.sayEnded(prompt.Plain(h.Stderr), o, c)
	fmt.Fprintf(h.Stderr, "git-credential-ghapp: to sign in to %s, open %s and enter the code %s (valid until %s)\n", o.HostPort(), show(c.VerificationURI), show(c.UserCode), c.Expiry.Local().Format("15:04"))
	if c.OffServer {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: that address is not on %s, the server this sign-in is for; open it only if you trust it\n", o.HostPort())
	}
	if page := webURL(s.WebURL); page != "" {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: or sign in on the page %s\n", show(page))
	}
	if link := config.InstallURL(s.AppURL); link != "" {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: install the app on your repositories first: %s\n", show(link))
	}
	fmt.Fprintf(h.Stderr, "git-credential-ghapp: then run the git command again\n")
	return h.quit()
}

// sayEnded tells how the last sign-in failed, when nobody was told yet.
func (h *Helper) sayEnded(screen *prompt.Screen, o origin.Origin, c store.SignIn) {
	if c.Ended != "" {
		fmt.Fprintf(screen.W, "git-credential-ghapp: the last sign-in to %s did not finish: %s; here is a new code\n", o.HostPort(), show(c.Ended))
	}
}

// webURL is ghapp.webUrl with {user} filled in: the hub's name for the
// person, else the login name.
func webURL(pattern string) string {
	if pattern == "" {
		return ""
	}
	user := firstNonEmpty(os.Getenv("JUPYTERHUB_USER"), os.Getenv("USER"))
	return strings.ReplaceAll(pattern, "{user}", url.PathEscape(user))
}

// backgroundSignIns returns st as a store that runs sign-ins itself, or
// nil: when ghapp.backgroundSignIn is off, or the store cannot (only the
// memory daemon can; auto can while it uses the daemon).
func backgroundSignIns(st store.Store, s config.Settings) store.SignIns {
	bg, ok := st.(store.SignIns)
	if !ok || !s.BackgroundSignIn {
		return nil
	}
	if able, ok := st.(interface{ BackgroundSignIns() bool }); ok && !able.BackgroundSignIns() {
		return nil
	}
	return bg
}

func signInRequest(o origin.Origin, s config.Settings, wantLogin string) store.SignInRequest {
	req := store.SignInRequest{
		Origin: o.String(), Login: wantLogin, ClientID: s.ClientID, AppURL: s.AppURL,
		MinLifetime: s.MinLifetime, Refresh: s.Refresh, RefreshFor: s.RefreshFor,
	}
	if s.Provider == config.GitLab {
		req.Provider, req.Scopes = config.GitLab, s.Scopes
	}
	return req
}

// RunSignIn runs a sign-in for the memory daemon, which keeps the token it
// returns; show receives the code once the server gave it.
func (h *Helper) RunSignIn(ctx context.Context, req store.SignInRequest, show func(store.SignIn)) (store.Token, error) {
	return h.mint(ctx, req, req.Refresh, show)
}

// mint runs the device flow for req, learns the login and where the token
// reaches, and returns the token to keep. keepRefresh keeps the refresh
// token in it (only a store that holds tokens in memory may).
func (h *Helper) mint(ctx context.Context, req store.SignInRequest, keepRefresh bool, showCode func(store.SignIn)) (store.Token, error) {
	o, err := origin.ParseBase(req.Origin)
	if err != nil {
		return store.Token{}, err
	}
	ep := o.EndpointsFor(req.Provider)
	flow := &deviceflow.Flow{
		ClientID:      req.ClientID,
		DeviceCodeURL: ep.DeviceCode,
		TokenURL:      ep.Token,
		HTTP:          h.HTTP,
		Provider:      req.Provider,
		Scopes:        req.Scopes,
		Now:           h.Now,
		Sleep:         h.Sleep,
		Show: func(c deviceflow.Code) {
			uri := c.VerificationURI
			if c.VerificationURIComplete != "" {
				uri = c.VerificationURIComplete
			}
			showCode(store.SignIn{
				Origin: req.Origin, Login: req.Login, UserCode: c.UserCode,
				VerificationURI: uri, Expiry: c.Expiry, OffServer: c.OffServer,
			})
		},
	}
	ot, err := flow.Token(ctx)
	if err != nil {
		return store.Token{}, err
	}
	now := h.now()
	expiry := capExpiry(ot.Expiry, now)
	login, err := h.whoAmI(ctx, req.Provider, o, ep, ot.AccessToken)
	if err != nil {
		return store.Token{}, fmt.Errorf("signed in, but could not learn the account: %v; run the git command again", err)
	}
	if !validLogin(login) {
		return store.Token{}, fmt.Errorf("%s answered with a login that is not a valid account name (\"%s\"); nothing was kept: the server misbehaved", o.Name(), show(login))
	}
	if req.Login != "" && !equalFold(login, req.Login) {
		return store.Token{}, fmt.Errorf("signed in as %s, but the remote URL asks for %s; sign in as %s, or remove the user name from the remote URL", login, show(req.Login), show(req.Login))
	}
	tok := store.Token{
		Origin:      o.String(),
		Login:       login,
		Provider:    req.Provider,
		AccessToken: ot.AccessToken,
		Expiry:      expiry,
		MinLifetime: req.MinLifetime,
		API:         ep.API,
		ClientID:    req.ClientID,
		Minted:      now,
		AppURL:      req.AppURL,
	}
	if keepRefresh && ot.RefreshToken != "" {
		tok.RefreshToken, tok.RefreshUntil = ot.RefreshToken, now.Add(req.RefreshFor)
	}
	tok.Reach, _ = h.Reach(ctx, tok)
	return tok, nil
}

// whoAmI asks the server which account token acts as.
func (h *Helper) whoAmI(ctx context.Context, provider string, o origin.Origin, ep origin.Endpoints, token string) (string, error) {
	if provider == config.GitLab {
		u, err := (&gitlabapi.Client{Base: o.String(), Token: token, HTTP: h.HTTP}).User(ctx)
		return u.Username, err
	}
	u, err := (&githubapi.Client{API: ep.API, Token: token, HTTP: h.HTTP}).User(ctx)
	return u.Login, err
}

// showCode puts the device code on the screen, naming the app (a GitHub
// App by the name in ghapp.appUrl, else its client ID), with a warning
// when the page to enter it on is not the server's own, and where to
// install the app.
func (h *Helper) showCode(screen *prompt.Screen, o origin.Origin, s config.Settings, c store.SignIn) {
	screen.Code(o.Name(), appName(s.Provider, firstNonEmpty(config.AppSlug(s.AppURL), s.ClientID)), show(c.UserCode), show(c.VerificationURI), c.Expiry)
	if c.OffServer {
		fmt.Fprintf(screen.W, "git-credential-ghapp: warning: that address is not on %s, the server this sign-in is for; open it only if you trust it\n", o.HostPort())
	}
	// A token reaches only where the app is installed, which people new
	// to it do not know.
	if link := config.InstallURL(s.AppURL); link != "" {
		fmt.Fprintf(screen.W, "git-credential-ghapp: install the app on your repositories first: %s\n", show(link))
	}
}

// signedIn says in one line who signed in, for how long, and where they
// can push.
func (h *Helper) signedIn(w io.Writer, o origin.Origin, tok store.Token) {
	// GitLab's device grant (17.2 and later) hands out only 2-hour tokens.
	if tok.Provider != config.GitLab && tok.Expiry.Equal(tok.Minted.Add(MaxTokenLife)) {
		// Said here, not where the token was minted: that may be the
		// daemon, whose output nobody reads.
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: the GitHub App hands out tokens that never expire (or outlive %s); this helper forgets them after %s. Turn on \"Expire user authorization tokens\" in the app's settings.\n", MaxTokenLife, MaxTokenLife)
	}
	done := fmt.Sprintf("signed in to %s as %s for %s (until %s)", o.Name(), tok.Login, Hours(tok.Expiry.Sub(h.now())), tok.Expiry.Local().Format("15:04 MST"))
	if tok.Reach != nil {
		done += "; " + reach.Summary(tok.Reach, tok.Login, o.Endpoints().Web, config.InstallURL(tok.AppURL))
	}
	fmt.Fprintf(w, "git-credential-ghapp: %s\n", done)
}

// capExpiry holds a token's expiry to MaxTokenLife from now, whatever the
// server said. A capped token expires exactly MaxTokenLife after it was
// minted, which is how signedIn tells one from the server's own 8 hours
// (measured from the answer's arrival, a moment before minting).
func capExpiry(expiry, now time.Time) time.Time {
	limit := now.Add(MaxTokenLife)
	if expiry.IsZero() || expiry.After(limit) {
		return limit
	}
	return expiry
}

// validLogin accepts what GitHub and GitLab allow in an account name,
// with room for Enterprise's "user_shortcode" form: nothing that could
// break a line, a key or a terminal.
func validLogin(login string) bool {
	return login != "" && len(login) <= 255 && login[0] != '.' && login[0] != '-' && safetext.Name(login)
}

// Renew trades t's refresh token for a new token, for the memory daemon
// (ghapp.refresh). The account and settings stay those of the sign-in.
func (h *Helper) Renew(ctx context.Context, t store.Token) (store.Token, error) {
	o, err := origin.ParseBase(t.Origin)
	if err != nil {
		return store.Token{}, err
	}
	flow := &deviceflow.Flow{ClientID: t.ClientID, TokenURL: o.EndpointsFor(t.Provider).Token, HTTP: h.HTTP, Provider: t.Provider}
	ot, err := flow.Refresh(ctx, t.RefreshToken)
	if err != nil {
		return store.Token{}, err
	}
	now := h.now()
	t.AccessToken, t.RefreshToken = ot.AccessToken, ot.RefreshToken
	t.Expiry, t.Minted = capExpiry(ot.Expiry, now), now
	return t, nil
}

// reachWait bounds the installation lookup behind a hint.
const reachWait = 10 * time.Second

// Reach asks the server where the app lets t reach: at sign-in, and for
// the memory daemon, which refreshes it in the background so that a cache
// hit never waits on the server.
func (h *Helper) Reach(ctx context.Context, t store.Token) (*store.Reach, error) {
	if t.Provider == config.GitLab {
		return nil, nil // no installations: the scopes and the account decide
	}
	ctx, cancel := context.WithTimeout(ctx, reachWait)
	defer cancel()
	return reach.Fetch(ctx, &githubapi.Client{API: t.API, Token: t.AccessToken, HTTP: h.HTTP}, h.now())
}

// revoke asks t's server to revoke it, within a bound.
func (h *Helper) revoke(ctx context.Context, t store.Token) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if t.Provider == config.GitLab {
		// The access token and its refresh token are revoked together.
		return gitlabapi.Revoke(ctx, h.HTTP, t.Origin, t.ClientID, t.AccessToken)
	}
	return githubapi.Revoke(ctx, h.HTTP, t.API, t.AccessToken)
}

func (h *Helper) screen() *prompt.Screen {
	if h.Screen == nil {
		return prompt.Open(h.Stderr)
	}
	return h.Screen()
}
