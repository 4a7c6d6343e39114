package config

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func gitSet(t *testing.T, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if out, err := exec.Command("git", "config", "--global", kv[i], kv[i+1]).CombinedOutput(); err != nil {
			t.Fatalf("git config %s: %v %s", kv[i], err, out)
		}
	}
}

func TestDefaults(t *testing.T) {
	testsupport.Isolate(t)
	s, err := Load("https://github.com", "", true)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{MinLifetime: 60 * time.Second, Interactive: true, Store: "auto", RefreshFor: 7 * 24 * time.Hour, BackgroundSignIn: true, Provider: GitHub, Base: "https://github.com"}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestClientIDPrecedence(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.clientId", "Iv1.config")
	check := func(flag, want, from string) {
		t.Helper()
		s, err := Load("https://github.com", flag, true)
		if err != nil || s.ClientID != want || s.ClientIDSource != from {
			t.Errorf("ClientID = %q from %q, %v; want %q from %q", s.ClientID, s.ClientIDSource, err, want, from)
		}
	}
	check("", "Iv1.config", "ghapp.clientId")
	t.Setenv("GITHUB_APP_CLIENT_ID", "Iv1.userauth")
	check("", "Iv1.userauth", "$GITHUB_APP_CLIENT_ID")
	t.Setenv("GH_SCOPED_CREDS_CLIENT_ID", "Iv1.scoped")
	check("", "Iv1.scoped", "$GH_SCOPED_CREDS_CLIENT_ID")
	t.Setenv("GHAPP_CLIENT_ID", "Iv1.env")
	check("", "Iv1.env", "$GHAPP_CLIENT_ID")
	check("Iv1.flag", "Iv1.flag", "--client-id")
}

func TestOnlyURLSpecificClientIDServesOtherHosts(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.clientId", "Iv1.plain", "ghapp.https://ghe.example.com.clientId", "Iv1.ghe")
	t.Setenv("GHAPP_CLIENT_ID", "Iv1.env")

	s, err := Load("https://other.example.com", "Iv1.flag", false)
	if err != nil || s.HostConfigured {
		t.Errorf("plain key, env and flag made a host served: %+v %v", s, err)
	}
	s, err = Load("https://ghe.example.com", "", false)
	if err != nil || !s.HostConfigured {
		t.Errorf("ghapp.<url>.clientId did not make its host served: %+v %v", s, err)
	}
	if s.ClientID != "Iv1.env" {
		t.Errorf("ClientID = %q, want the environment's", s.ClientID)
	}
	os.Unsetenv("GHAPP_CLIENT_ID")
	s, _ = Load("https://GHE.example.com/o/r.git", "", false)
	if !s.HostConfigured || s.ClientID != "Iv1.ghe" {
		t.Errorf("URL with path and upper case: %+v", s)
	}
	s, _ = Load("https://ghe.example.com:8443", "", false)
	if s.HostConfigured {
		t.Errorf("another port is served: %+v", s)
	}
	s, _ = Load("https://github.com", "", true)
	if s.ClientID != "Iv1.plain" || s.HostConfigured {
		t.Errorf("github.com: %+v", s)
	}
}

func TestURLMatchedSettings(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.minLifetime", "5m", "ghapp.http://127.0.0.1:9.minLifetime", "10s",
		"ghapp.http://127.0.0.1:9.clientId", "Iv1.local", "ghapp.interactive", "no",
		"ghapp.allowDiskStore", "yes", "ghapp.store", "tmpfs", "ghapp.refresh", "true", "ghapp.refreshFor", "36h")
	s, err := Load("http://127.0.0.1:9", "", false)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{ClientID: "Iv1.local", ClientIDSource: "ghapp.clientId", HostConfigured: true, MinLifetime: 10 * time.Second, AllowDiskStore: true, Store: "tmpfs", Refresh: true, RefreshFor: 36 * time.Hour, BackgroundSignIn: true, Provider: GitHub, Base: "http://127.0.0.1:9"}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	s, _ = Load("https://github.com", "", true)
	if s.MinLifetime != 5*time.Minute {
		t.Errorf("plain minLifetime not applied: %v", s.MinLifetime)
	}
	t.Setenv("GHAPP_STORE", "memory")
	if s, _ = Load("https://github.com", "", true); s.Store != "memory" {
		t.Errorf("GHAPP_STORE ignored: %q", s.Store)
	}
}

func TestTerminalPromptOff(t *testing.T) {
	testsupport.Isolate(t)
	t.Setenv("GIT_TERMINAL_PROMPT", "0")
	if s, _ := Load("https://github.com", "", true); s.Interactive {
		t.Error("GIT_TERMINAL_PROMPT=0 left the helper interactive")
	}
}

func TestValuelessBooleanIsTrue(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.interactive", "false")
	cfg := filepath.Join(os.Getenv("HOME"), ".gitconfig")
	data, _ := os.ReadFile(cfg)
	data = []byte(strings.Replace(string(data), "interactive = false", "interactive", 1))
	os.WriteFile(cfg, data, 0o644)
	if s, err := Load("https://github.com", "", true); err != nil || !s.Interactive {
		t.Errorf("valueless ghapp.interactive read as %v, %v", s.Interactive, err)
	}
}

func TestBadValues(t *testing.T) {
	for _, kv := range [][2]string{{"ghapp.refreshFor", "a week"}, {"ghapp.refresh", "perhaps"}, {"ghapp.minLifetime", "soon"}, {"ghapp.minLifetime", "-5s"}, {"ghapp.interactive", "maybe"}, {"ghapp.allowDiskStore", "2"}, {"ghapp.backgroundSignIn", "sometimes"}} {
		testsupport.Isolate(t)
		gitSet(t, kv[0], kv[1])
		_, err := Load("https://github.com", "", true)
		if err == nil || !strings.Contains(err.Error(), kv[0]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%s: err = %v, want one line naming the key", kv[0], kv[1], err)
		}
	}
}

func TestBrokenConfigFile(t *testing.T) {
	testsupport.Isolate(t)
	os.WriteFile(filepath.Join(os.Getenv("HOME"), ".gitconfig"), []byte("[ghapp\nclientId = x\n"), 0o644)
	_, err := Load("https://github.com", "", true)
	if err == nil || !strings.Contains(err.Error(), "git config") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line from git config", err)
	}
}

func TestClientID(t *testing.T) {
	testsupport.Isolate(t)
	if got := ClientID("", ""); got != "" {
		t.Errorf("nothing set: %q", got)
	}
	if got := ClientID("", " Iv1.config\n"); got != "Iv1.config" {
		t.Errorf("configured only: %q", got)
	}
	t.Setenv("GH_SCOPED_CREDS_CLIENT_ID", "Iv1.scoped")
	if got := ClientID("", "Iv1.config"); got != "Iv1.scoped" {
		t.Errorf("$GH_SCOPED_CREDS_CLIENT_ID lost to git config: %q", got)
	}
	t.Setenv("GHAPP_CLIENT_ID", "Iv1.env")
	if got := ClientID("", "Iv1.config"); got != "Iv1.env" {
		t.Errorf("$GHAPP_CLIENT_ID lost: %q", got)
	}
	if got := ClientID(" Iv1.flag ", "Iv1.config"); got != "Iv1.flag" {
		t.Errorf("the flag lost: %q", got)
	}
}

func TestBackgroundSignInAndWebURL(t *testing.T) {
	testsupport.Isolate(t)
	s, err := Load("https://github.com", "", true)
	if err != nil || !s.BackgroundSignIn || s.WebURL != "" {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	gitSet(t, "ghapp.backgroundSignIn", "false", "ghapp.webUrl", "https://hub.example.org/user/{user}/ghapp/")
	s, err = Load("https://github.com", "", true)
	if err != nil || s.BackgroundSignIn || s.WebURL != "https://hub.example.org/user/{user}/ghapp/" {
		t.Errorf("set: %+v %v", s, err)
	}
}

func TestServedHosts(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.clientId", "Iv1.plain", "ghapp.https://ghe.example.com.clientId", "Iv1.ghe", "ghapp.http://127.0.0.1:9.clientId", "Iv1.local", "ghapp.https://ghe.example.com.minLifetime", "5m")
	hosts, err := ServedHosts(context.Background())
	want := []string{"https://github.com", "https://ghe.example.com", "http://127.0.0.1:9"}
	if err != nil || !slices.Equal(hosts, want) {
		t.Errorf("ServedHosts = %q, %v; want %q", hosts, err, want)
	}
}

func TestProvider(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.https://gitlab.example.org/gitlab.provider", "GitLab",
		"ghapp.https://gitlab.example.org/gitlab.clientId", "app-id",
		"ghapp.https://code.example.org.scopes", "read_repository   read_user",
		"ghapp.https://code.example.org.provider", "gitlab",
		"ghapp.https://bad.example.org.provider", "bitbucket")
	for _, c := range []struct{ url, provider, scopes string }{
		{"https://github.com", GitHub, ""},
		{"https://gitlab.com", GitLab, DefaultGitLabScopes},
		{"https://gitlab.com/group/project.git", GitLab, DefaultGitLabScopes},
		{"https://gitlab.community.example", GitHub, ""},
		{"https://gitlab.example.org/gitlab/group/p.git", GitLab, DefaultGitLabScopes},
		{"https://gitlab.example.org/other", GitHub, ""},
		{"https://code.example.org", GitLab, "read_repository read_user"},
	} {
		s, err := Load(c.url, "", c.url == "https://github.com")
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if s.Provider != c.provider || s.Scopes != c.scopes {
			t.Errorf("%s: provider %q scopes %q, want %q %q", c.url, s.Provider, s.Scopes, c.provider, c.scopes)
		}
	}
	_, err := Load("https://bad.example.org", "", false)
	if err == nil || !strings.Contains(err.Error(), `ghapp.provider "bitbucket" is not github or gitlab`) {
		t.Errorf("unknown provider: %v", err)
	}
}

func TestAppURL(t *testing.T) {
	testsupport.Isolate(t)
	load := func(url string) (Settings, error) {
		t.Helper()
		return Load(url, "", url == "https://github.com")
	}
	if s, err := load("https://github.com"); err != nil || s.AppURL != "" {
		t.Fatalf("unset: %q, %v", s.AppURL, err)
	}
	gitSet(t, "ghapp.appUrl", "https://github.com/apps/octo-hub/",
		"ghapp.https://ghe.example.com.appUrl", "https://ghe.example.com/github-apps/ghe-hub")
	if s, err := load("https://github.com"); err != nil || s.AppURL != "https://github.com/apps/octo-hub" {
		t.Errorf("ghapp.appUrl: %q, %v; want it without the trailing slash", s.AppURL, err)
	}
	if s, err := load("https://ghe.example.com"); err != nil || s.AppURL != "https://ghe.example.com/github-apps/ghe-hub" {
		t.Errorf("ghapp.<url>.appUrl: %q, %v", s.AppURL, err)
	}
	t.Setenv("GH_SCOPED_CREDS_APP_URL", "https://github.com/apps/scoped")
	if s, _ := load("https://github.com"); s.AppURL != "https://github.com/apps/scoped" {
		t.Errorf("$GH_SCOPED_CREDS_APP_URL did not outrank git config: %q", s.AppURL)
	}
	t.Setenv("GHAPP_APP_URL", "https://github.com/apps/env")
	if s, _ := load("https://github.com"); s.AppURL != "https://github.com/apps/env" {
		t.Errorf("$GHAPP_APP_URL did not come first: %q", s.AppURL)
	}

	t.Setenv("GHAPP_APP_URL", "github.com/apps/env")
	_, err := load("https://github.com")
	if err == nil || !strings.Contains(err.Error(), `$GHAPP_APP_URL "github.com/apps/env" is not a GitHub App's page`) || !strings.Contains(err.Error(), "fix the variable") {
		t.Errorf("a URL without a scheme: %v", err)
	}
	os.Unsetenv("GHAPP_APP_URL")
	os.Unsetenv("GH_SCOPED_CREDS_APP_URL")
	gitSet(t, "ghapp.appUrl", "http://github.com/apps/octo-hub")
	if _, err := load("https://github.com"); err == nil || !strings.Contains(err.Error(), "ghapp.appUrl") || !strings.Contains(err.Error(), "git config") {
		t.Errorf("plain http to another machine: %v", err)
	}
}

func TestCheckAppURLAndItsLinks(t *testing.T) {
	for _, tt := range []struct{ raw, url, slug, install string }{
		{"https://github.com/apps/octo-hub", "https://github.com/apps/octo-hub", "octo-hub", "https://github.com/apps/octo-hub/installations/new"},
		{"https://github.com/apps/octo-hub//", "https://github.com/apps/octo-hub", "octo-hub", "https://github.com/apps/octo-hub/installations/new"},
		{"https://ghe.example.com/github-apps/ghe-hub", "https://ghe.example.com/github-apps/ghe-hub", "ghe-hub", "https://ghe.example.com/github-apps/ghe-hub/installations/new"},
		{"http://127.0.0.1:8080/github-apps/test-app", "http://127.0.0.1:8080/github-apps/test-app", "test-app", "http://127.0.0.1:8080/github-apps/test-app/installations/new"},
		{"http://github.com/apps/x", "", "", ""},
		{"https://github.com", "", "", ""},
		{"https://github.com/", "", "", ""},
		{"/apps/x", "", "", ""},
		{"ftp://github.com/apps/x", "", "", ""},
		{"https://user@github.com/apps/x", "", "", ""},
		{"https://github.com/apps/x?y=1", "", "", ""},
		{"https://git hub.com/apps/x", "", "", ""},
	} {
		u, ok := CheckAppURL(tt.raw)
		if ok != (tt.url != "") || u != tt.url {
			t.Errorf("CheckAppURL(%q) = %q, %v; want %q", tt.raw, u, ok, tt.url)
			continue
		}
		if !ok {
			continue
		}
		if got := AppSlug(u); got != tt.slug {
			t.Errorf("AppSlug(%q) = %q, want %q", u, got, tt.slug)
		}
		if got := InstallURL(u); got != tt.install {
			t.Errorf("InstallURL(%q) = %q, want %q", u, got, tt.install)
		}
	}
	if InstallURL("") != "" || AppSlug("") != "" {
		t.Error("no app page gives a link or a name")
	}
}

func TestGitLabDefaults(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.https://gitlab.com.clientId", "gl-app", "ghapp.https://code.example.org.provider", "gitlab",
		"ghapp.https://code.example.org.clientId", "code-app", "ghapp.https://code.example.org.refresh", "false")
	t.Setenv("GHAPP_CLIENT_ID", "Iv23liGitHubApp")
	s, err := Load("https://gitlab.com/group/p.git", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Refresh || s.RefreshFor != 8*time.Hour || s.ClientID != "gl-app" || s.Base != "https://gitlab.com" {
		t.Errorf("gitlab.com: refresh %v for %v, client ID %q, base %q; want true for 8h, gl-app, https://gitlab.com", s.Refresh, s.RefreshFor, s.ClientID, s.Base)
	}
	if s, _ := Load("https://code.example.org", "", false); s.Refresh || s.ClientID != "code-app" {
		t.Errorf("ghapp.refresh false on a GitLab host: refresh %v, client ID %q", s.Refresh, s.ClientID)
	}
	if s, _ := Load("https://code.example.org", "flag-app", false); s.ClientID != "flag-app" {
		t.Errorf("--client-id on a GitLab host: %q", s.ClientID)
	}
	if s, _ := Load("https://github.com", "", true); s.Refresh || s.RefreshFor != 168*time.Hour {
		t.Errorf("github.com: refresh %v for %v; want false for 168h", s.Refresh, s.RefreshFor)
	}
}

func TestBaseIsTheLongestConfiguredPrefix(t *testing.T) {
	testsupport.Isolate(t)
	gitSet(t, "ghapp.https://example.org.clientId", "root-app",
		"ghapp.https://example.org/gitlab/.clientId", "gl-app", "ghapp.https://example.org/gitlab.provider", "gitlab",
		"ghapp.https://example.org/gitlab/sub.clientId", "sub-app",
		"ghapp.https://example.org/gitlabx.clientId", "x-app")
	for url, want := range map[string]string{
		"https://example.org":                      "https://example.org",
		"https://example.org/other/p.git":          "https://example.org",
		"https://example.org/gitlab":               "https://example.org/gitlab",
		"https://example.org/gitlab/group/p.git":   "https://example.org/gitlab",
		"https://example.org/gitlab/sub/p.git":     "https://example.org/gitlab/sub",
		"https://example.org/gitlabx/p.git":        "https://example.org/gitlabx",
		"https://EXAMPLE.org:443/gitlab/group/p":   "https://example.org/gitlab",
		"https://unconfigured.example.org/gitlab/": "https://unconfigured.example.org",
	} {
		s, err := Load(url, "", false)
		if err != nil || s.Base != want {
			t.Errorf("Load(%q).Base = %q, %v; want %q", url, s.Base, err, want)
		}
	}
	s, _ := Load("https://example.org/gitlab/group/p.git", "", false)
	if s.Provider != GitLab || s.ClientID != "gl-app" {
		t.Errorf("below /gitlab: provider %q, client ID %q", s.Provider, s.ClientID)
	}
}
