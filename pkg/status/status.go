// Package status gathers what `git-credential-ghapp status` reports: each
// signed-in account, how long its token lives, and what the token can
// reach — the GitHub App's installations and their repositories — so that
// a push refused with a bare 403 can be explained. It never includes a
// token in what it returns.
package status

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/helperchain"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/reach"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Report is the whole answer, also printed as JSON by `status --json`;
// its field names are a stable interface (see docs/status.md):
//
//	accounts  one entry per cached token, newest first; [] when none
//	pending   one entry per device code waiting to be entered; [] when none
//	sign_in   when accounts is empty, the command that signs in; else absent
//	other_helpers  the other credential helpers git calls for these hosts; [] when none
type Report struct {
	Accounts []Account `json:"accounts"`
	// Pending lists the sign-ins waiting for a person to enter a code;
	// always present, [] when none.
	Pending []Pending `json:"pending"`
	SignIn  string    `json:"sign_in,omitempty"`
	// OtherHelpers are filled by FindOtherHelpers.
	OtherHelpers OtherHelpers `json:"other_helpers"`
}

// OtherHelper is another credential helper git calls for a host this
// helper serves, which git gives this helper's tokens to after they work:
//
//	helper  the helper as configured, e.g. "store --file=/tmp/creds"
//	scope   where git reads it: system, global, local, worktree or command
//	file    the file that sets it; "" when set on git's command line
//	stores  false only for helpers known to keep nothing they are given
type OtherHelper struct {
	Helper string `json:"helper"`
	Scope  string `json:"scope"`
	File   string `json:"file"`
	Stores bool   `json:"stores"`
}

// OtherHelpers is a list that is [] in JSON when empty, never null.
type OtherHelpers []OtherHelper

// MarshalJSON writes [] for an empty list.
func (o OtherHelpers) MarshalJSON() ([]byte, error) {
	if o == nil {
		o = OtherHelpers{}
	}
	return json.Marshal([]OtherHelper(o))
}

// FindOtherHelpers sets r.OtherHelpers from git's configuration as seen
// from dir ("" for the current directory, so that a repository's own
// counts), and returns them: the helpers besides this one that git calls
// for host, or, when host is nil, for github.com, each host of r and each
// URL configured to run this helper. Each is listed once.
func (r *Report) FindOtherHelpers(ctx context.Context, dir string, host *origin.Origin) ([]helperchain.Helper, error) {
	es, err := helperchain.Read(ctx, dir)
	if err != nil {
		return nil, err
	}
	var urls []string
	if host != nil {
		urls = []string{host.String()}
	} else {
		urls = []string{"https://github.com"}
		for _, a := range r.Accounts {
			urls = append(urls, a.URL)
		}
		for _, p := range r.Pending {
			urls = append(urls, p.URL)
		}
		urls = append(urls, helperchain.Served(es)...)
	}
	type where struct{ key, value, file string }
	seen := map[where]bool{}
	var hs []helperchain.Helper
	r.OtherHelpers = OtherHelpers{}
	for _, u := range urls {
		for _, h := range helperchain.Others(es, u) {
			if w := (where{h.Key, h.Value, h.File}); !seen[w] {
				seen[w] = true
				hs = append(hs, h)
				r.OtherHelpers = append(r.OtherHelpers, OtherHelper{Helper: h.Value, Scope: h.Scope, File: h.File, Stores: h.Stores()})
			}
		}
	}
	return hs, nil
}

// Pending is one device code waiting to be entered:
//
//	host              host[:port]
//	url               scheme://host[:port]
//	user_code         the code to enter
//	verification_uri  where to enter it
//	expires_at        when the code dies, RFC 3339 in UTC
type Pending struct {
	Host            string    `json:"host"`
	URL             string    `json:"url"`
	UserCode        string    `json:"user_code"`
	VerificationURI string    `json:"verification_uri"`
	ExpiresAt       time.Time `json:"expires_at"`
}

// Account is one signed-in account on one host:
//
//	host                 host[:port][/path], e.g. "github.com"
//	url                  scheme://host[:port][/path], what --host takes
//	provider             "github" or "gitlab"
//	login                the login the token acts as
//	store                the token store it is kept in
//	expires_at           the token's expiry, RFC 3339 in UTC
//	expires_in_seconds   seconds left at the time of the report
//	refresh_until        until when the token daemon renews the token before
//	                     it expires (ghapp.refresh), RFC 3339 in UTC; else absent
//	app_slug             the GitHub App, as an installation names it, else as the
//	                     token's ghapp.appUrl does; else absent
//	install_url          where to install the app on (more) repositories; absent without app_slug
//	installations        what the token can reach; [] when the app is installed nowhere the user can reach, and for GitLab, which has none
//	truncated            true when the server listed more installations or repositories than are read; else absent
//	error                why the rest is incomplete (an API call failed); else absent
type Account struct {
	Host             string         `json:"host"`
	URL              string         `json:"url"`
	Provider         string         `json:"provider"`
	Login            string         `json:"login"`
	Store            string         `json:"store"`
	ExpiresAt        time.Time      `json:"expires_at"`
	ExpiresInSeconds int64          `json:"expires_in_seconds"`
	RefreshUntil     time.Time      `json:"refresh_until,omitzero"`
	AppSlug          string         `json:"app_slug,omitempty"`
	InstallURL       string         `json:"install_url,omitempty"`
	Installations    []Installation `json:"installations"`
	Truncated        bool           `json:"truncated,omitempty"`
	Error            string         `json:"error,omitempty"`
}

// Installation is one account the app is installed on:
//
//	id                    the installation's ID
//	account               the user or organization login it is installed on
//	account_type          "User" or "Organization"
//	repository_selection  "all" (every repository of the account) or "selected"
//	permissions           what the app may do, e.g. {"contents": "write"}
//	repositories          for "selected", the owner/name of each repository
//	                      the user can reach; null for "all"
type Installation struct {
	ID                  int64             `json:"id"`
	Account             string            `json:"account"`
	AccountType         string            `json:"account_type"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
	Repositories        []string          `json:"repositories"`
}

// accountWait bounds the API calls for one account, pagination included,
// so one slow server cannot hold up the report.
const accountWait = 60 * time.Second

// Gather reports on the accounts kept in st (named storeName) for host,
// or for every host when host is nil, asking each token's API through hc
// what it can reach. Only a store that cannot be read is an error; a
// failing API call goes into that account's entry.
func Gather(ctx context.Context, st store.Store, storeName string, hc *http.Client, host *origin.Origin, now time.Time) (*Report, error) {
	toks, err := st.List()
	if err != nil {
		return nil, err
	}
	r := &Report{Accounts: []Account{}, Pending: []Pending{}, OtherHelpers: OtherHelpers{}}
	for _, t := range toks {
		if host != nil && t.Origin != host.String() {
			continue
		}
		r.Accounts = append(r.Accounts, Describe(ctx, hc, t, storeName, now))
	}
	if bg, ok := st.(store.SignIns); ok {
		codes, err := bg.PendingSignIns()
		if err != nil {
			return nil, err
		}
		for _, c := range codes {
			if host == nil || c.Origin == host.String() {
				r.Pending = append(r.Pending, PendingOf(c))
			}
		}
	}
	if len(r.Accounts) == 0 {
		r.SignIn = SignInCommand(host)
	}
	return r, nil
}

// PendingOf is the report's entry for a code waiting to be entered.
func PendingOf(c store.SignIn) Pending {
	p := Pending{URL: c.Origin, Host: c.Origin, UserCode: c.UserCode, VerificationURI: c.VerificationURI, ExpiresAt: c.Expiry.UTC().Truncate(time.Second)}
	if o, err := origin.ParseBase(c.Origin); err == nil {
		p.Host = o.Name()
	}
	return p
}

// SignInCommand is the command that signs in to host (github.com when nil).
func SignInCommand(host *origin.Origin) string {
	if host == nil || host.IsGitHub() {
		return "git-credential-ghapp login"
	}
	return "git-credential-ghapp login --host " + host.String()
}

// Describe reports on one cached token at now, asking the token's API what
// it can reach.
func Describe(ctx context.Context, hc *http.Client, t store.Token, storeName string, now time.Time) Account {
	a := Account{
		URL:              t.Origin,
		Host:             t.Origin,
		Login:            t.Login,
		Store:            storeName,
		ExpiresAt:        t.Expiry.UTC().Truncate(time.Second),
		ExpiresInSeconds: max(0, int64(t.Expiry.Sub(now)/time.Second)),
		Installations:    []Installation{},
		Provider:         origin.GitHub,
	}
	if !t.RefreshUntil.IsZero() {
		a.RefreshUntil = t.RefreshUntil.UTC().Truncate(time.Second)
	}
	o, err := origin.ParseBase(t.Origin)
	if err != nil {
		a.Error = "the store holds a token for an origin that cannot be parsed: " + err.Error()
		return a
	}
	a.Host = o.Name()
	if t.Provider == origin.GitLab {
		// A GitLab token reaches what its account and scopes allow: there
		// are no installations to list.
		a.Provider = origin.GitLab
		return a
	}
	ep := o.Endpoints()
	api := t.API
	if api == "" {
		api = ep.API
	}
	ctx, cancel := context.WithTimeout(ctx, accountWait)
	defer cancel()
	l, err := reach.List(ctx, &githubapi.Client{API: api, Token: t.AccessToken, HTTP: hc})
	if err != nil {
		a.Error = err.Error()
	}
	a.Truncated = l.Cut
	if slug := l.AppSlug(); slug != "" {
		a.AppSlug, a.InstallURL = slug, githubapi.InstallURL(ep.Web, slug)
	} else if t.AppURL != "" {
		// No installation names the app: ghapp.appUrl, as it was when
		// the token was minted, still does.
		a.AppSlug, a.InstallURL = config.AppSlug(t.AppURL), config.InstallURL(t.AppURL)
	}
	for _, in := range l.Installations {
		entry := Installation{
			ID:                  in.ID,
			Account:             in.Account.Login,
			AccountType:         in.Account.Type,
			RepositorySelection: in.RepositorySelection,
			Permissions:         in.Permissions,
			Repositories:        in.Repos,
		}
		if entry.Permissions == nil {
			entry.Permissions = map[string]string{}
		}
		a.Installations = append(a.Installations, entry)
	}
	return a
}
