// Package config resolves the helper's settings for one remote from git
// config (with git's own URL matching), the environment and flags.
package config

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/gitconfig"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
)

// Settings are the ghapp.* values that apply to one remote URL.
type Settings struct {
	// ClientID is the GitHub App's client ID, from the first of: the
	// --client-id flag, $GHAPP_CLIENT_ID, $GH_SCOPED_CREDS_CLIENT_ID,
	// $GITHUB_APP_CLIENT_ID, ghapp.clientId. Empty when none is set.
	ClientID string
	// ClientIDSource names where ClientID came from ("--client-id",
	// "$GHAPP_CLIENT_ID", …, "ghapp.clientId"),
	// or is "" when none is set: for $GHAPP_TRACE.
	ClientIDSource string
	// AppURL is the GitHub App's public page (https://github.com/apps/SLUG),
	// from $GHAPP_APP_URL, $GH_SCOPED_CREDS_APP_URL or ghapp.appUrl, without
	// a trailing slash; "" when none is set. See InstallURL and AppSlug.
	AppURL string
	// HostConfigured is true when a ghapp.<url>.clientId matched the URL:
	// only that makes a host other than github.com served.
	HostConfigured bool
	MinLifetime    time.Duration // ghapp.minLifetime, default 60s
	Interactive    bool          // ghapp.interactive, default true; false under GIT_TERMINAL_PROMPT=0
	AllowDiskStore bool          // ghapp.allowDiskStore, default false
	Refresh        bool          // ghapp.refresh, default false: renew with a refresh token held in memory
	RefreshFor     time.Duration // ghapp.refreshFor, default 7 days after the last device flow
	Store          string        // $GHAPP_STORE, else ghapp.store, default "auto"
	// BackgroundSignIn is ghapp.backgroundSignIn, default true: when git
	// may not prompt, the memory daemon runs the sign-in and git is told
	// the code, instead of only how to sign in.
	BackgroundSignIn bool
	// WebURL is ghapp.webUrl: the address of the sign-in page, given
	// beside a code; "{user}" in it stands for the person's user name.
	WebURL string
	// Provider is ghapp.provider: GitHub (the default) or GitLab, which
	// https://gitlab.com is without the setting.
	Provider string
	// Scopes is ghapp.scopes, the OAuth scopes a GitLab sign-in asks for
	// (default DefaultGitLabScopes); GitHub Apps take none.
	Scopes string
	// Base is the server the settings were matched for, where its tokens
	// are kept: scheme://host[:port], or for a server below a path (a
	// GitLab at https://example.org/gitlab) the longest URL a
	// ghapp.<url>.clientId names that the request URL is at or below.
	Base string
}

// The providers a host may be.
const (
	GitHub = origin.GitHub
	GitLab = origin.GitLab
)

// DefaultGitLabScopes let git push and the helper learn the login.
const DefaultGitLabScopes = "write_repository read_user"

// DefaultMinLifetime is how much life a cached token must have left to be
// handed out: enough for one git command to finish with it.
const DefaultMinLifetime = 60 * time.Second

// DefaultRefreshFor is how long after a device flow ghapp.refresh may
// renew tokens before a person must sign in again.
const DefaultRefreshFor = 7 * 24 * time.Hour

// DefaultGitLabRefreshFor is DefaultRefreshFor on a GitLab host, where
// refresh is on by default: a working day of 2-hour tokens.
const DefaultGitLabRefreshFor = 8 * time.Hour

// ClientIDSources names every way to set the client ID, for error messages.
const ClientIDSources = "--client-id, $GHAPP_CLIENT_ID, $GH_SCOPED_CREDS_CLIENT_ID, $GITHUB_APP_CLIENT_ID or git config ghapp.clientId"

// Load resolves the settings for url (scheme://host[:port][/path]) with a
// single `git config --get-urlmatch` spawn, and a second one only for a
// URL with a path on a configured host, to find the server's base URL
// (see Settings.Base). flagClientID is --client-id. forGitHub is true for
// https://github.com, which is served without configuration.
func Load(url, flagClientID string, forGitHub bool) (Settings, error) {
	var overrides []string
	if !forGitHub {
		// An empty command-line ghapp.clientId outranks every plain one but
		// loses to any ghapp.<url>.clientId that matches, so an empty answer
		// means no URL-specific client ID: the host is not served.
		overrides = []string{"ghapp.clientId="}
	}
	keys, err := gitconfig.URLMatch(context.Background(), nil, "ghapp", url, overrides...)
	if err != nil {
		return Settings{}, fmt.Errorf("reading ghapp.* settings with git config failed: %v", err)
	}
	p, err := provider(keys, isGitLabCom(url))
	if err != nil {
		return Settings{}, err
	}
	s, err := resolve(keys, flagClientID, forGitHub, p)
	if err != nil {
		return s, err
	}
	s.Base, err = base(url, s.HostConfigured)
	return s, err
}

// base is the server url belongs to: the longest URL that a
// ghapp.<url>.clientId names and that url is at or below, when that URL
// has a path (a GitLab at https://example.org/gitlab); else url's
// scheme://host[:port]. Only a configured host with a path in url can
// have such a base, so only that costs a second git config spawn.
func base(url string, configured bool) (string, error) {
	o, err := origin.ParseURL(url)
	if err != nil {
		return "", fmt.Errorf("%q is not a server URL: %v", safetext.Short(url, 200), err)
	}
	if rest := strings.TrimPrefix(strings.ToLower(url), strings.ToLower(o.String())); !configured || strings.Trim(rest, "/") == "" {
		return o.String(), nil
	}
	entries, err := gitconfig.Read(context.Background(), nil, "ghapp")
	if err != nil {
		return "", fmt.Errorf("reading ghapp.* settings with git config failed: %v", err)
	}
	best := o
	for _, e := range entries {
		u, ok := clientIDURL(e)
		if !ok {
			continue
		}
		b, err := origin.ParseBase(u)
		if err == nil && len(b.Path) > len(best.Path) && b.Under(url) {
			best = b
		}
	}
	return best.String(), nil
}

// clientIDURL returns the URL of a ghapp.<url>.clientId line that sets one.
func clientIDURL(e gitconfig.Entry) (string, bool) {
	sub, ok := strings.CutPrefix(e.Key, "ghapp.")
	if !ok || !strings.HasSuffix(strings.ToLower(sub), ".clientid") || e.Value == "" {
		return "", false
	}
	u := strings.TrimSuffix(sub[:len(sub)-len(".clientid")], "/")
	return u, u != ""
}

// provider returns ghapp.provider when set, else GitLab for gitlab.com
// and GitHub for every other host.
func provider(keys map[string]gitconfig.Entry, gitLabCom bool) (string, error) {
	p := GitHub
	if gitLabCom {
		p = GitLab
	}
	if e, ok := keys["ghapp.provider"]; ok {
		switch v := strings.ToLower(strings.TrimSpace(e.Value)); v {
		case GitHub, GitLab:
			p = v
		default:
			return "", fmt.Errorf("ghapp.provider %q is not github or gitlab (fix it with git config)", safetext.Short(e.Value, 40))
		}
	}
	return p, nil
}

// isGitLabCom reports whether url is on https://gitlab.com.
func isGitLabCom(url string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(url), "https://gitlab.com")
	return ok && (rest == "" || rest[0] == '/')
}

// ClientID picks the client ID the helper signs in with: the first
// non-empty of flag (--client-id), $GHAPP_CLIENT_ID,
// $GH_SCOPED_CREDS_CLIENT_ID, $GITHUB_APP_CLIENT_ID (github-app-user-auth's
// name) and configured (the ghapp.clientId git config applies to the URL),
// trimmed. setup asks the same question, so that it never tells a person
// one is set when the helper would find none.
func ClientID(flag, configured string) string {
	id, _ := clientID(flag, configured, true)
	return id
}

// clientID is ClientID with the name of where it was found, for
// $GHAPP_TRACE; without env, the environment variables (which name a
// GitHub App) are passed over.
func clientID(flag, configured string, env bool) (id, source string) {
	sources := []struct{ name, value string }{{"--client-id", flag}}
	if env {
		sources = append(sources,
			struct{ name, value string }{"$GHAPP_CLIENT_ID", os.Getenv("GHAPP_CLIENT_ID")},
			struct{ name, value string }{"$GH_SCOPED_CREDS_CLIENT_ID", os.Getenv("GH_SCOPED_CREDS_CLIENT_ID")},
			struct{ name, value string }{"$GITHUB_APP_CLIENT_ID", os.Getenv("GITHUB_APP_CLIENT_ID")})
	}
	sources = append(sources, struct{ name, value string }{"ghapp.clientId", configured})
	for _, c := range sources {
		if v := strings.TrimSpace(c.value); v != "" {
			return v, c.name
		}
	}
	return "", ""
}

// resolve reads keys for a host of the provider p. GitLab hosts renew
// their 2-hour tokens by default (ghapp.refresh true, ghapp.refreshFor
// DefaultGitLabRefreshFor); GitHub hosts do not.
func resolve(keys map[string]gitconfig.Entry, flagClientID string, forGitHub bool, p string) (Settings, error) {
	s := Settings{MinLifetime: DefaultMinLifetime, Interactive: true, Store: "auto", RefreshFor: DefaultRefreshFor, BackgroundSignIn: true, Provider: p}
	cfgID := keys["ghapp.clientid"].Value
	s.HostConfigured = !forGitHub && cfgID != ""
	// The environment variables name a GitHub App: for GitLab only the
	// flag outranks the application's own ID.
	s.ClientID, s.ClientIDSource = clientID(flagClientID, cfgID, p != GitLab)
	refreshDefault := false
	if p == GitLab {
		s.Scopes = strings.Join(strings.Fields(keys["ghapp.scopes"].Value), " ")
		if s.Scopes == "" {
			s.Scopes = DefaultGitLabScopes
		}
		refreshDefault, s.RefreshFor = true, DefaultGitLabRefreshFor
	}

	if e, ok := keys["ghapp.minlifetime"]; ok {
		d, err := time.ParseDuration(e.Value)
		if err != nil || d < 0 {
			return s, fmt.Errorf("ghapp.minLifetime %q is not a duration like 60s or 5m (fix it with git config)", e.Value)
		}
		s.MinLifetime = d
	}
	var err error
	if s.Interactive, err = boolKey(keys, "ghapp.interactive", "ghapp.interactive", true); err != nil {
		return s, err
	}
	if os.Getenv("GIT_TERMINAL_PROMPT") == "0" {
		s.Interactive = false
	}
	if s.AllowDiskStore, err = boolKey(keys, "ghapp.allowdiskstore", "ghapp.allowDiskStore", false); err != nil {
		return s, err
	}
	s.Store = firstNonEmpty(os.Getenv("GHAPP_STORE"), keys["ghapp.store"].Value, "auto")
	if s.Refresh, err = boolKey(keys, "ghapp.refresh", "ghapp.refresh", refreshDefault); err != nil {
		return s, err
	}
	if s.BackgroundSignIn, err = boolKey(keys, "ghapp.backgroundsignin", "ghapp.backgroundSignIn", true); err != nil {
		return s, err
	}
	s.WebURL = strings.TrimSpace(keys["ghapp.weburl"].Value)
	if s.AppURL, err = appURL(keys); err != nil {
		return s, err
	}
	if e, ok := keys["ghapp.refreshfor"]; ok {
		d, err := time.ParseDuration(e.Value)
		if err != nil || d < 0 {
			return s, fmt.Errorf("ghapp.refreshFor %q is not a duration like 168h (fix it with git config)", e.Value)
		}
		s.RefreshFor = d
	}
	return s, nil
}

// appURL is the first non-empty of $GHAPP_APP_URL, $GH_SCOPED_CREDS_APP_URL
// and ghapp.appUrl, checked.
func appURL(keys map[string]gitconfig.Entry) (string, error) {
	for _, src := range []struct{ name, value, fix string }{
		{"$GHAPP_APP_URL", os.Getenv("GHAPP_APP_URL"), "fix the variable"},
		{"$GH_SCOPED_CREDS_APP_URL", os.Getenv("GH_SCOPED_CREDS_APP_URL"), "fix the variable"},
		{"ghapp.appUrl", keys["ghapp.appurl"].Value, "fix it with git config"},
	} {
		v := strings.TrimSpace(src.value)
		if v == "" {
			continue
		}
		u, ok := CheckAppURL(v)
		if !ok {
			return "", fmt.Errorf("%s %q is not a GitHub App's page: use its https address, like https://github.com/apps/my-app (%s)", src.name, v, src.fix)
		}
		return u, nil
	}
	return "", nil
}

// CheckAppURL returns raw, a GitHub App's public page, without a trailing
// slash, and whether it is one: an absolute https URL (http only to this
// machine, for tests) whose last path segment is the app's name.
func CheckAppURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	if o, err := origin.Parse(u.Scheme, u.Host); err != nil || !o.SecureEnough() {
		return "", false
	}
	trimmed := strings.TrimRight(raw, "/")
	if AppSlug(trimmed) == "" {
		return "", false
	}
	return trimmed, true
}

// AppSlug is the app's name in its page's URL (appURL, as Settings.AppURL
// holds it): the last path segment — github.com keeps apps under
// /apps/SLUG, GitHub Enterprise Server under /github-apps/SLUG. "" when
// appURL is "" or has no path.
func AppSlug(appURL string) string {
	u, err := url.Parse(appURL)
	if err != nil {
		return ""
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return ""
	}
	return p[strings.LastIndexByte(p, '/')+1:]
}

// InstallURL is where a person installs the app whose page is appURL on
// their repositories, or "" when appURL is "".
func InstallURL(appURL string) string {
	if appURL == "" {
		return ""
	}
	return strings.TrimRight(appURL, "/") + "/installations/new"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// boolKey reads a git boolean; name is the key as people spell it.
func boolKey(keys map[string]gitconfig.Entry, key, name string, def bool) (bool, error) {
	e, ok := keys[key]
	if !ok {
		return def, nil
	}
	if b, ok := e.Bool(); ok {
		return b, nil
	}
	return def, fmt.Errorf("%s %q is not a boolean (use true or false)", name, e.Value)
}

// ServedHosts lists the servers the helper signs in to, as URLs:
// https://github.com, then every URL that a ghapp.<url>.clientId names.
func ServedHosts(ctx context.Context) ([]string, error) {
	entries, err := gitconfig.Read(ctx, nil, "ghapp")
	if err != nil {
		return nil, fmt.Errorf("reading ghapp.* settings with git config failed: %v", err)
	}
	hosts := []string{"https://github.com"}
	for _, e := range entries {
		if u, ok := clientIDURL(e); ok && !slices.Contains(hosts, u) {
			hosts = append(hosts, u)
		}
	}
	return hosts, nil
}
