// Package store defines where minted tokens are kept between git commands.
//
// A Store holds user access tokens keyed by origin (scheme://host[:port])
// and GitHub login. Implementations live in sub-packages, one per medium;
// the helper uses them only through this interface.
package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned by Get when no unexpired token is kept.
var ErrNotFound = errors.New("no token kept")

// ErrStale is returned by Put for a token minted before the one already
// kept for its origin and login: a late write-back must not undo a newer
// sign-in or renewal.
var ErrStale = errors.New("a newer token is already kept for this account")

// ErrNoBackgroundSignIn is matched (errors.Is) by the errors of a
// SignIns store that cannot run sign-ins at the moment: it keeps tokens
// in files, or its daemon is of an earlier version. The caller then runs
// the device flow itself; the error's message says why.
var ErrNoBackgroundSignIn = errors.New("this store cannot run sign-ins in the background")

// ErrNoSignIn is returned by WaitSignIn when no sign-in is under way for
// the origin and login, no token is kept for them, and no failure is left
// to tell.
var ErrNoSignIn = errors.New("no sign-in is under way")

// ErrSignedIn is returned by StartSignIn when a usable token for the
// request was kept since the caller looked: a sign-in finished meanwhile,
// and the caller should look again rather than show a new code.
var ErrSignedIn = errors.New("a sign-in finished meanwhile")

// Token is one user access token for one account on one host, together
// with what was resolved from configuration when it was minted, so that a
// cache hit can be answered without reading configuration again.
type Token struct {
	// Origin is the server's base URL as origin.Origin.String spells it:
	// scheme://host[:port], with the path of a server that lives below one
	// (a GitLab at https://example.org/gitlab).
	Origin      string        `json:"origin"`
	Login       string        `json:"login"` // the account the token acts as
	AccessToken string        `json:"access_token"`
	Expiry      time.Time     `json:"expiry"`
	MinLifetime time.Duration `json:"min_lifetime"` // ghapp.minLifetime when minted
	API         string        `json:"api"`          // REST API base URL, for revocation
	ClientID    string        `json:"client_id"`
	Minted      time.Time     `json:"minted"` // orders accounts: the newest is "the account used last"
	// AppURL is the GitHub App's page (config.Settings.AppURL) when
	// minted, or "": where to install the app, for a hit's warning and for
	// status, when no installation names the app.
	AppURL string `json:"app_url,omitempty"`
	// Reach is where the app let the token reach when last asked; nil
	// until then. Kept so a get can warn about a repository outside it
	// without asking the server on any hit.
	Reach *Reach `json:"reach,omitempty"`
	// RefreshToken and RefreshUntil are set only with ghapp.refresh and
	// only for the memory store: the daemon renews the token before it
	// expires until RefreshUntil. Stores that write files never keep them.
	RefreshToken string    `json:"refresh_token,omitempty"`
	RefreshUntil time.Time `json:"refresh_until,omitzero"`
	// Provider is "gitlab" for a GitLab server's token; "" is GitHub.
	Provider string `json:"provider,omitempty"`
}

// Reach is what a token could reach through the GitHub App's
// installations at Checked.
type Reach struct {
	Checked  time.Time `json:"checked"`
	AppSlug  string    `json:"app_slug,omitempty"`
	Accounts []string  `json:"accounts,omitempty"` // installed on all of these accounts' repositories
	Repos    []string  `json:"repos,omitempty"`    // and on these selected ones (owner/name)
	// Omitted counts the accounts and repositories left out so that the
	// list fits any store; with any left out, a repository not listed may
	// still be reachable.
	Omitted int `json:"omitted,omitempty"`
}

// Partial reports whether r lists less than the token reaches.
func (r *Reach) Partial() bool { return r.Omitted > 0 }

// Usable reports whether the token may still be handed out at now: it has
// more than its MinLifetime left.
func (t Token) Usable(now time.Time) bool {
	return t.AccessToken != "" && now.Add(t.MinLifetime).Before(t.Expiry)
}

// Store keeps tokens. All methods are safe for concurrent use by several
// processes of the same user. Logins are compared without regard to case,
// as GitHub and GitLab compare them; a token keeps the spelling the server
// returned.
type Store interface {
	// Get returns the token for origin and login. An empty login means the
	// account minted last on that origin. A token past its Expiry is
	// forgotten and ErrNotFound returned instead.
	Get(origin, login string) (Token, error)
	// Put keeps t, replacing any token for the same origin and login. It
	// returns ErrStale, keeping what it has, when that token was minted
	// after t. When t carries the same access token as the kept one, the
	// kept refresh fields survive a t without them: a write-back of what
	// Get returned (which never holds a refresh token) loses nothing.
	Put(t Token) error
	// Delete forgets the token for origin and login; an empty login forgets
	// every account on origin. Deleting what is not there is not an error.
	Delete(origin, login string) error
	// List returns every unexpired token kept, newest first.
	List() ([]Token, error)
	// Lock makes sign-ins for origin and login happen one at a time across
	// processes. It blocks until the lock is held or ctx is done; unlock
	// releases it. A lock whose holder dies is released.
	Lock(ctx context.Context, origin, login string) (unlock func(), err error)
}

// SortNewestFirst orders toks by Minted, newest first, as List returns them.
func SortNewestFirst(toks []Token) {
	slices.SortStableFunc(toks, func(a, b Token) int { return b.Minted.Compare(a.Minted) })
}

// The helpers below serve stores that keep an origin's tokens as one list.

// Unexpired returns the tokens in toks whose Expiry is after now.
func Unexpired(toks []Token, now time.Time) []Token {
	var live []Token
	for _, t := range toks {
		if now.Before(t.Expiry) {
			live = append(live, t)
		}
	}
	return live
}

// Drop returns toks without origin's token for login, or without every
// token of origin when login is empty.
func Drop(toks []Token, origin, login string) []Token {
	var kept []Token
	for _, t := range toks {
		if t.Origin != origin || (login != "" && !strings.EqualFold(t.Login, login)) {
			kept = append(kept, t)
		}
	}
	return kept
}

// Pick returns origin's token for login from toks, or with an empty login
// the one minted last; ErrNotFound when there is none.
func Pick(toks []Token, origin, login string) (Token, error) {
	var best Token
	found := false
	for _, t := range toks {
		if t.Origin == origin && (login == "" || strings.EqualFold(t.Login, login)) && (!found || t.Minted.After(best.Minted)) {
			best, found = t, true
		}
	}
	if !found {
		return Token{}, ErrNotFound
	}
	return best, nil
}

// Replace returns toks with t in place of the kept token for its origin
// and login, by Put's rules: ErrStale when the kept one is newer, and the
// kept refresh fields carried over when t is the same token without them.
func Replace(toks []Token, t Token) ([]Token, error) {
	if old, err := Pick(toks, t.Origin, t.Login); err == nil {
		if old.Minted.After(t.Minted) {
			return toks, ErrStale
		}
		t = Merge(old, t)
	}
	return append(Drop(toks, t.Origin, t.Login), t), nil
}

// Merge returns t, keeping old's refresh fields when t is the same access
// token without them.
func Merge(old, t Token) Token {
	if t.AccessToken == old.AccessToken && t.RefreshToken == "" {
		t.RefreshToken, t.RefreshUntil = old.RefreshToken, old.RefreshUntil
	}
	return t
}

// SignInRequest asks a store that runs sign-ins in the background for one:
// everything the device flow and the kept token need, resolved from
// configuration by the process that asks.
type SignInRequest struct {
	Origin      string // the server's base URL, as Token.Origin
	Login       string // the account the remote URL names; "" for any
	ClientID    string
	AppURL      string // the app's page, kept with the token
	MinLifetime time.Duration
	Refresh     bool          // keep the refresh token (ghapp.refresh)
	RefreshFor  time.Duration // how long renewals may go on
	Provider    string        // "gitlab", or "" for GitHub
	Scopes      string        // space-separated OAuth scopes (GitLab)
	// EvenIfSignedIn starts a sign-in though a usable token is kept (a
	// person asked for one); otherwise StartSignIn returns ErrSignedIn.
	EvenIfSignedIn bool
}

// SignIn is one device code waiting to be entered.
type SignIn struct {
	Origin          string
	Login           string // as asked for; "" for any account
	UserCode        string
	VerificationURI string
	Expiry          time.Time // when the code dies
	OffServer       bool      // VerificationURI is not on Origin's host
	// Ended says how the sign-in before this one for the same origin and
	// login failed — a line containing "denied", "expired", or another
	// reason — when nobody was told yet; else "".
	Ended string
}

// SignIns is a store that runs device-flow sign-ins itself, in the
// background, so that git commands that may not wait (no terminal, an
// editor's background fetch) can show a code and return, and the token
// is kept when the person enters it. The memory daemon is one.
type SignIns interface {
	// StartSignIn returns the code of the sign-in under way for the
	// request's origin and login, starting one when none is, or when the
	// last one ended. At most one code is requested per origin and login
	// while one is valid, however many callers ask. Unless the request
	// says EvenIfSignedIn, it returns ErrSignedIn instead of starting one
	// when a usable token is kept.
	StartSignIn(ctx context.Context, req SignInRequest) (SignIn, error)
	// WaitSignIn waits until the sign-in under way for origin and login
	// ends, and returns the kept token or why it failed. Telling the
	// caller counts as telling: a later StartSignIn reports no Ended.
	// With none under way it returns the token kept, else the failure not
	// yet told, else ErrNoSignIn.
	WaitSignIn(ctx context.Context, origin, login string) (Token, error)
	// PendingSignIns lists the codes waiting to be entered.
	PendingSignIns() ([]SignIn, error)
}
