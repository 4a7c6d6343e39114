package status

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

type stand struct{ *githubtest.Server }

func newStand(t *testing.T) stand {
	t.Helper()
	s := githubtest.NewServer(githubtest.Options{Interval: 1, AppSlug: "octo-app"})
	t.Cleanup(s.Close)
	return stand{s}
}

// token signs login in at the stand-in and returns the token as the helper
// would have kept it for originURL, whose API is the stand-in.
func (s stand) token(t *testing.T, originURL, login string) store.Token {
	t.Helper()
	access, err := s.SignIn(login)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return store.Token{
		Origin: originURL, Login: login, AccessToken: access,
		Expiry: now.Add(8 * time.Hour), MinLifetime: time.Minute,
		API: s.URL + "/api/v3", ClientID: s.ClientID(), Minted: now,
	}
}

// mapStore is a store.Store in a map, enough for List.
type mapStore struct{ toks []store.Token }

func (m *mapStore) Get(o, login string) (store.Token, error) { return store.Token{}, store.ErrNotFound }
func (m *mapStore) Put(t store.Token) error                  { m.toks = append(m.toks, t); return nil }
func (m *mapStore) Delete(o, login string) error             { return nil }
func (m *mapStore) List() ([]store.Token, error)             { return m.toks, nil }
func (m *mapStore) Lock(context.Context, string, string) (func(), error) {
	return func() {}, nil
}

// storeWith returns a store that holds toks.
func storeWith(toks ...store.Token) store.Store { return &mapStore{toks: toks} }

// noToken fails the test if v, marshalled, holds any token the stand-in issued.
func noToken(t *testing.T, s stand, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	for _, tok := range s.IssuedTokens() {
		if strings.Contains(string(b), tok) {
			t.Fatalf("the report holds a token (%s…)", tok[:4])
		}
	}
}

func TestSelectedAndAllInstallations(t *testing.T) {
	s := newStand(t)
	for _, r := range []string{"octocat/hello", "octocat/notes", "octocat/zzz", "acme/site", "acme/wiki"} {
		if err := s.AddRepo(r); err != nil {
			t.Fatal(err)
		}
	}
	mine := s.Install("octocat", "octocat", "hello", "zzz")
	org := s.Install("octocat", "acme")
	tok := s.token(t, "https://github.com", "octocat")
	now := time.Now()

	a := Describe(context.Background(), nil, tok, "tmpfs", now)
	if a.Error != "" {
		t.Fatalf("error: %s", a.Error)
	}
	if a.Host != "github.com" || a.URL != "https://github.com" || a.Login != "octocat" || a.Store != "tmpfs" {
		t.Errorf("account = %s / %s / %s / %s", a.Host, a.URL, a.Login, a.Store)
	}
	if !a.ExpiresAt.Equal(tok.Expiry.Truncate(time.Second)) || a.ExpiresAt.Location() != time.UTC {
		t.Errorf("expires_at %v, want %v in UTC", a.ExpiresAt, tok.Expiry)
	}
	if want := int64(tok.Expiry.Sub(now) / time.Second); a.ExpiresInSeconds != want {
		t.Errorf("expires_in_seconds %d, want %d", a.ExpiresInSeconds, want)
	}
	want := []Installation{
		{ID: mine, Account: "octocat", AccountType: "User", RepositorySelection: "selected",
			Permissions:  map[string]string{"contents": "write", "metadata": "read"},
			Repositories: []string{"octocat/hello", "octocat/zzz"}},
		{ID: org, Account: "acme", AccountType: "Organization", RepositorySelection: "all",
			Permissions: map[string]string{"contents": "write", "metadata": "read"}},
	}
	if !reflect.DeepEqual(a.Installations, want) {
		t.Errorf("installations:\n got %+v\nwant %+v", a.Installations, want)
	}
	if a.AppSlug != "octo-app" || a.InstallURL != "https://github.com/apps/octo-app/installations/new" {
		t.Errorf("app %q, install link %q", a.AppSlug, a.InstallURL)
	}
	noToken(t, s, a)
}

func TestInstallLinkOnEnterpriseServer(t *testing.T) {
	s := newStand(t)
	s.Install("octocat", "octocat")
	a := Describe(context.Background(), nil, s.token(t, "https://ghe.example.com:8443", "octocat"), "auto", time.Now())
	if a.Error != "" {
		t.Fatalf("error: %s", a.Error)
	}
	if a.Host != "ghe.example.com:8443" {
		t.Errorf("host %q", a.Host)
	}
	if want := "https://ghe.example.com:8443/github-apps/octo-app/installations/new"; a.InstallURL != want {
		t.Errorf("install link %q, want %q", a.InstallURL, want)
	}
}

func TestNotInstalledAnywhere(t *testing.T) {
	s := newStand(t)
	a := Describe(context.Background(), nil, s.token(t, "https://github.com", "octocat"), "auto", time.Now())
	if a.Error != "" || a.Installations == nil || len(a.Installations) != 0 {
		t.Errorf("error %q, installations %#v; want no error and []", a.Error, a.Installations)
	}
	if a.AppSlug != "" || a.InstallURL != "" {
		t.Errorf("app %q and link %q without any installation to name it", a.AppSlug, a.InstallURL)
	}
}

// Without an installation the server names no app, but the token carries
// ghapp.appUrl from its sign-in: that names the app and its install page.
func TestNotInstalledAnywhereWithTheAppsPage(t *testing.T) {
	s := newStand(t)
	tok := s.token(t, "https://github.com", "octocat")
	tok.AppURL = "https://github.com/apps/octo-hub"
	a := Describe(context.Background(), nil, tok, "auto", time.Now())
	if a.AppSlug != "octo-hub" || a.InstallURL != "https://github.com/apps/octo-hub/installations/new" {
		t.Errorf("app %q and link %q; want octo-hub and its install page", a.AppSlug, a.InstallURL)
	}
	s.Install("octocat", "octocat")
	if a := Describe(context.Background(), nil, tok, "auto", time.Now()); a.AppSlug != "octo-app" {
		t.Errorf("app %q; an installation's name outranks the configured one", a.AppSlug)
	}
}

// One account whose token the server rejects does not spoil the others.
func TestFailingAccountIsReportedInItsEntry(t *testing.T) {
	testsupport.Isolate(t)
	s := newStand(t)
	s.Install("octocat", "octocat")
	s.Install("hubot", "hubot")
	good := s.token(t, "https://github.com", "octocat")
	bad := s.token(t, "https://github.com", "hubot")
	s.Revoke(bad.AccessToken)
	st := storeWith(good, bad)

	r, err := Gather(context.Background(), st, "auto", nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Accounts) != 2 || r.SignIn != "" {
		t.Fatalf("report %+v, want two accounts", r)
	}
	if r.Accounts[0].Error != "" || len(r.Accounts[0].Installations) != 1 {
		t.Errorf("good account: error %q, %d installations", r.Accounts[0].Error, len(r.Accounts[0].Installations))
	}
	e := r.Accounts[1].Error
	if !strings.Contains(e, "401") || strings.Contains(e, "\n") {
		t.Errorf("bad account's error is not one line naming the 401: %q", e)
	}
	noToken(t, s, r)
}

func TestGatherFiltersByHost(t *testing.T) {
	testsupport.Isolate(t)
	s := newStand(t)
	gh := s.token(t, "https://github.com", "octocat")
	ghe := s.token(t, "https://ghe.example.com", "octocat")
	st := storeWith(gh, ghe)
	o, _ := origin.ParseURL("ghe.example.com")
	r, err := Gather(context.Background(), st, "auto", nil, &o, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Accounts) != 1 || r.Accounts[0].URL != "https://ghe.example.com" {
		t.Errorf("--host ghe.example.com reported %+v", r.Accounts)
	}
}

func TestNoTokenSaysHowToSignIn(t *testing.T) {
	testsupport.Isolate(t)
	st := storeWith()
	for host, want := range map[string]string{
		"":                        "git-credential-ghapp login",
		"https://github.com":      "git-credential-ghapp login",
		"ghe.example.com":         "git-credential-ghapp login --host https://ghe.example.com",
		"http://127.0.0.1:8080/x": "git-credential-ghapp login --host http://127.0.0.1:8080",
	} {
		var o *origin.Origin
		if host != "" {
			p, err := origin.ParseURL(host)
			if err != nil {
				t.Fatal(err)
			}
			o = &p
		}
		r, err := Gather(context.Background(), st, "auto", nil, o, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.Accounts == nil || len(r.Accounts) != 0 || r.SignIn != want {
			t.Errorf("%q: accounts %#v, sign_in %q; want [] and %q", host, r.Accounts, r.SignIn, want)
		}
	}
}

// The JSON field names are an interface: scripts read them.
func TestJSONFieldNames(t *testing.T) {
	s := newStand(t)
	if err := s.AddRepo("octocat/hello"); err != nil {
		t.Fatal(err)
	}
	s.Install("octocat", "octocat", "hello")
	s.Install("octocat", "acme")
	r := Report{Accounts: []Account{Describe(context.Background(), nil, s.token(t, "https://github.com", "octocat"), "auto", time.Now())}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	acct := raw["accounts"][0]
	wantKeys(t, "account", acct, "host", "url", "provider", "login", "store", "expires_at", "expires_in_seconds", "app_slug", "install_url", "installations")
	if string(acct["provider"]) != `"github"` {
		t.Errorf("provider %s, want \"github\"", acct["provider"])
	}
	var insts []map[string]json.RawMessage
	json.Unmarshal(acct["installations"], &insts)
	for _, in := range insts {
		wantKeys(t, "installation", in, "id", "account", "account_type", "repository_selection", "permissions", "repositories")
	}
	if string(insts[0]["repositories"]) != `["octocat/hello"]` || string(insts[1]["repositories"]) != "null" {
		t.Errorf("repositories: selected %s, all %s; want the list and null", insts[0]["repositories"], insts[1]["repositories"])
	}
	var expires string
	json.Unmarshal(acct["expires_at"], &expires)
	if _, err := time.Parse(time.RFC3339, expires); err != nil || !strings.HasSuffix(expires, "Z") {
		t.Errorf("expires_at %q is not RFC 3339 in UTC", expires)
	}
	noToken(t, s, r)
}

func wantKeys(t *testing.T, what string, m map[string]json.RawMessage, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s fields %q, want %q", what, got, keys)
	}
}

// A GitLab token has no installations, and its server may live below a
// path; the report asks that server nothing.
func TestDescribeGitLab(t *testing.T) {
	now := time.Now()
	tk := store.Token{
		Origin: "https://example.org/gitlab", Login: "ada", AccessToken: "gloas-not-a-real-token", Provider: "gitlab",
		Expiry: now.Add(2 * time.Hour), Minted: now, RefreshUntil: now.Add(8 * time.Hour),
	}
	// No server listens there: a GitHub-style listing would fail.
	a := Describe(context.Background(), nil, tk, "memory", now)
	if a.Provider != "gitlab" || a.Host != "example.org/gitlab" || a.URL != "https://example.org/gitlab" || a.Error != "" || len(a.Installations) != 0 || a.Installations == nil {
		t.Errorf("GitLab account: %+v", a)
	}
	if !a.RefreshUntil.Equal(tk.RefreshUntil.UTC().Truncate(time.Second)) {
		t.Errorf("refresh_until %v, want %v", a.RefreshUntil, tk.RefreshUntil)
	}
	b, _ := json.Marshal(a)
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	if string(raw["provider"]) != `"gitlab"` || raw["refresh_until"] == nil || raw["app_slug"] != nil {
		t.Errorf("GitLab account JSON: %s", b)
	}
	var out bytes.Buffer
	(&Report{Accounts: []Account{a}}).WriteText(&out, nil, now)
	for _, want := range []string{"example.org/gitlab: signed in as ada on GitLab (store memory)\n", "  renewed before it expires until "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "install") {
		t.Errorf("text speaks of installations for GitLab:\n%s", out.String())
	}
}
