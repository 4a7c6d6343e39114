package helper

import (
	"context"
	"fmt"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/deviceflow"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/prompt"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/reach"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

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
			screen.Code(o.HostPort(), show(s.ClientID), show(c.UserCode), show(uri), c.Expiry)
			if c.OffServer {
				fmt.Fprintf(screen.W, "git-credential-ghapp: warning: that address is not on %s, the server this sign-in is for; open it only if you trust it\n", o.HostPort())
			}
			stopCountdown = screen.Countdown(c.Expiry)
		},
	}
	ot, err := flow.Token(ctx)
	stopCountdown()
	if err != nil {
		return store.Token{}, err
	}
	now := h.now()
	expiry := h.capExpiry(ot.Expiry, now, true)
	api := &githubapi.Client{API: ep.API, Token: ot.AccessToken, HTTP: h.HTTP}
	user, err := api.User(ctx)
	if err != nil {
		return store.Token{}, fmt.Errorf("signed in, but could not learn the account: %v; run the git command again", err)
	}
	if !validLogin(user.Login) {
		return store.Token{}, fmt.Errorf("%s answered with a login that is not a valid account name (%q); nothing was kept: the server misbehaved", o.HostPort(), show(user.Login))
	}
	if wantLogin != "" && !equalFold(user.Login, wantLogin) {
		return store.Token{}, fmt.Errorf("signed in as %s, but the remote URL asks for %s; sign in as %s, or remove the user name from the remote URL", user.Login, show(wantLogin), show(wantLogin))
	}
	tok := store.Token{
		Origin:      o.String(),
		Login:       user.Login,
		AccessToken: ot.AccessToken,
		Expiry:      expiry,
		MinLifetime: s.MinLifetime,
		API:         ep.API,
		ClientID:    s.ClientID,
		Minted:      now,
	}
	if s.Refresh {
		if keeper, ok := st.(interface{ KeepsRefreshTokens() bool }); ok && keeper.KeepsRefreshTokens() && ot.RefreshToken != "" {
			tok.RefreshToken, tok.RefreshUntil = ot.RefreshToken, now.Add(s.RefreshFor)
		} else {
			fmt.Fprintf(h.Stderr, "git-credential-ghapp: ghapp.refresh needs the memory store and an app whose tokens expire; signing in every %s instead\n", Hours(expiry.Sub(now)))
		}
	}
	tok.Reach, _ = h.Reach(ctx, tok)
	if err := st.Put(tok); err != nil {
		// The token is good; only the next git command will sign in again.
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: could not keep the token: %v\n", err)
	}
	// One line: who, for how long, and where they can push.
	done := fmt.Sprintf("signed in to %s as %s for %s (until %s)", o.HostPort(), user.Login, Hours(expiry.Sub(now)), expiry.Local().Format("15:04 MST"))
	if tok.Reach != nil {
		done += "; " + reach.Summary(tok.Reach, user.Login, ep.Web)
	}
	fmt.Fprintf(screen.W, "git-credential-ghapp: %s\n", done)
	return tok, nil
}

// capExpiry holds a token's expiry to MaxTokenLife from now, whatever the
// server said; warn says so when the server gave none (the app's "Expire
// user authorization tokens" is off).
func (h *Helper) capExpiry(expiry, now time.Time, warn bool) time.Time {
	limit := now.Add(MaxTokenLife)
	if expiry.IsZero() && warn {
		fmt.Fprintf(h.Stderr, "git-credential-ghapp: warning: the GitHub App hands out tokens that never expire; this helper forgets it after %s. Turn on \"Expire user authorization tokens\" in the app's settings.\n", MaxTokenLife)
	}
	if expiry.IsZero() || expiry.After(limit) {
		return limit
	}
	return expiry
}

// validLogin accepts what GitHub and GitLab allow in an account name,
// with room for Enterprise's "user_shortcode" form: nothing that could
// break a line, a key or a terminal. A loop, not a regexp: compiling one
// at start-up would cost every cache hit.
func validLogin(login string) bool {
	if login == "" || len(login) > 255 || login[0] == '.' || login[0] == '-' {
		return false
	}
	for _, c := range []byte(login) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
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
	now := h.now()
	t.AccessToken, t.RefreshToken = ot.AccessToken, ot.RefreshToken
	t.Expiry, t.Minted = h.capExpiry(ot.Expiry, now, false), now
	return t, nil
}

// reachWait bounds the installation lookup behind a hint.
const reachWait = 10 * time.Second

// Reach asks the server where the app lets t reach: at sign-in, and for
// the memory daemon, which refreshes it in the background so that a cache
// hit never waits on the server.
func (h *Helper) Reach(ctx context.Context, t store.Token) (*store.Reach, error) {
	ctx, cancel := context.WithTimeout(ctx, reachWait)
	defer cancel()
	return reach.Fetch(ctx, &githubapi.Client{API: t.API, Token: t.AccessToken, HTTP: h.HTTP}, h.now())
}

// revoke asks t's server to revoke it, within a bound.
func (h *Helper) revoke(ctx context.Context, t store.Token) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return githubapi.Revoke(ctx, h.HTTP, t.API, t.AccessToken)
}

func (h *Helper) screen() *prompt.Screen {
	if h.Screen == nil {
		return prompt.Open(h.Stderr)
	}
	return h.Screen()
}
