package helperchain

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/gitconfig"
)

func TestMatchKey(t *testing.T) {
	for _, c := range []struct {
		sub, url string
		want     match
	}{
		{"https://github.com", "https://github.com", always},
		{"https://GitHub.com/", "https://github.com", always},
		{"https://github.com:443", "https://github.com", always},
		{"https://github.com", "https://github.com:443", always},
		{"http://github.com", "https://github.com", never},
		{"https://github.com:8443", "https://github.com", never},
		{"https://github.com", "https://github.com:8443", never},
		{"https://gitlab.com", "https://github.com", never},
		{"https://*.example.org", "https://git.example.org", always},
		{"https://*.example.org", "https://example.org", never},
		{"https://*.example.org", "https://a.git.example.org", never},
		{"https://git.*.org", "https://git.example.org", always},
		// A path: a prefix at a slash of the URL's path; for the whole host, sometimes.
		{"https://github.com/octocat", "https://github.com", sometimes},
		{"https://github.com/octocat", "https://github.com/octocat/hello.git", always},
		{"https://github.com/octocat/", "https://github.com/octocat/hello.git", always},
		{"https://github.com/octo", "https://github.com/octocat/hello.git", never},
		{"https://github.com/%6fctocat", "https://github.com/octocat/x", always},
		{"https://github.com/a/../octocat", "https://github.com/octocat/x", always},
		// A user: only requests with that user.
		{"https://ada@github.com", "https://github.com", sometimes},
		{"https://ada@github.com", "https://ada@github.com", always},
		{"https://ada@github.com", "https://bob@github.com", never},
		{"https://github.com", "https://ada@github.com", always},
		// Not a URL: matched field by field.
		{"github.com", "https://github.com", always},
		{"github.com", "http://github.com", always},
		{"gitlab.com", "https://github.com", never},
		{"127.0.0.1:8080", "http://127.0.0.1:8080", always},
		{"127.0.0.1", "http://127.0.0.1:8080", never},
		{"https://", "https://github.com", always},
		{"http://", "https://github.com", never},
		{"github.com/octocat/hello", "https://github.com", sometimes},
		{"github.com/octocat/hello/", "https://github.com/octocat/hello", always},
		{"github.com/octocat", "https://github.com/octocat/hello", never},
	} {
		tg, ok := parseTarget(c.url)
		if !ok {
			t.Fatalf("parseTarget(%q) refused", c.url)
		}
		if got := matchKey(c.sub, tg); got != c.want {
			t.Errorf("credential.%s.helper for %s: %v, want %v", c.sub, c.url, got, c.want)
		}
	}
}

// entry is a helper line of scope in file.
func entry(scope, file, key, value string) gitconfig.Located {
	return gitconfig.Located{Entry: gitconfig.Entry{Key: key, Value: value}, Scope: scope, File: file}
}

func values(hs []Helper) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Value)
	}
	return out
}

func TestChainOrderAndResets(t *testing.T) {
	const (
		sys = "/etc/gitconfig"
		glo = "/home/ada/.gitconfig"
		gh  = "https://github.com"
	)
	for _, c := range []struct {
		name string
		es   []gitconfig.Located
		want []string // Others for gh
	}{
		{"nothing", nil, nil},
		{"plain helper", []gitconfig.Located{entry("global", glo, "credential.helper", "store")}, []string{"store"}},
		{"setup's reset drops what precedes it", []gitconfig.Located{
			entry("system", sys, "credential.helper", "store"),
			entry("global", glo, "credential.helper", "cache"),
			entry("global", glo, "credential."+gh+".helper", ""),
			entry("global", glo, "credential."+gh+".helper", "ghapp"),
		}, nil},
		{"a helper after the reset stays", []gitconfig.Located{
			entry("system", sys, "credential."+gh+".helper", ""),
			entry("system", sys, "credential."+gh+".helper", "ghapp"),
			entry("global", glo, "credential.helper", "store --file=/tmp/x"),
		}, []string{"store --file=/tmp/x"}},
		{"a reset for another host drops nothing", []gitconfig.Located{
			entry("global", glo, "credential.helper", "store"),
			entry("global", glo, "credential.https://gitlab.com.helper", ""),
			entry("global", glo, "credential.https://gitlab.com.helper", "cache"),
		}, []string{"store"}},
		{"a reset for one path drops nothing for the host", []gitconfig.Located{
			entry("global", glo, "credential.helper", "store"),
			entry("global", glo, "credential."+gh+"/octocat.helper", ""),
			entry("global", glo, "credential."+gh+"/octocat.helper", "cache"),
		}, []string{"store", "cache"}},
		{"a plain reset drops URL helpers too", []gitconfig.Located{
			entry("system", sys, "credential."+gh+".helper", "osxkeychain"),
			entry("global", glo, "credential.helper", ""),
			entry("global", glo, "credential.helper", "ghapp"),
			entry("command", "", "credential.helper", "cache --timeout=60"),
		}, []string{"cache --timeout=60"}},
		{"this helper by any name is left out", []gitconfig.Located{
			entry("global", glo, "credential.helper", "ghapp --store tmpfs"),
			entry("global", glo, "credential.helper", "/usr/local/bin/git-credential-ghapp"),
			entry("global", glo, "credential.helper", "!git-credential-ghapp --store memory"),
			entry("global", glo, "credential.helper", "oauth"),
		}, []string{"oauth"}},
		{"valueless and other keys are ignored", []gitconfig.Located{
			{Entry: gitconfig.Entry{Key: "credential.helper", Valueless: true}, Scope: "global", File: glo},
			entry("global", glo, "credential.usehttppath", "true"),
			entry("global", glo, "credential."+gh+".username", "ada"),
			entry("global", glo, "credential.helperx", "store"),
		}, nil},
	} {
		if got := values(Others(c.es, gh)); !slices.Equal(got, c.want) {
			t.Errorf("%s: Others = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestKeeps(t *testing.T) {
	for v, want := range map[string]Keeping{
		"store":                                  KeepsOnDisk,
		"store --file=/tmp/x":                    KeepsOnDisk,
		"/usr/lib/git-core/git-credential-store": KeepsOnDisk,
		"!git credential-store --file ~/.creds":  KeepsOnDisk,
		"cache":                                  KeepsInMemory,
		"cache --timeout=0":                      KeepsInMemory,
		"osxkeychain":                            KeepsInVault,
		"libsecret":                              KeepsInVault,
		"manager":                                KeepsInVault,
		"manager-core":                           KeepsInVault,
		"wincred":                                KeepsInVault,
		"/usr/local/bin/git-credential-manager":  KeepsInVault,
		"oauth":                                  KeepsNothing,
		"!gh auth git-credential":                KeepsNothing,
		"!/usr/bin/gh auth git-credential":       KeepsNothing,
		"!gh auth status":                        MayKeep,
		"!f() { echo password=x; }; f":           MayKeep,
		"netrc":                                  MayKeep,
	} {
		if got := (Helper{Value: v}).Keeps(); got != want {
			t.Errorf("Keeps(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestRemoveCommandAndWarning(t *testing.T) {
	h := Helper{Key: "credential.helper", Value: "store --file=/tmp/it's", Scope: "global", File: "/home/a b/.gitconfig"}
	want := `git config --file '/home/a b/.gitconfig' --unset-all credential.helper '^store --file=/tmp/it'\''s$'`
	if got := h.RemoveCommand(); got != want {
		t.Errorf("RemoveCommand = %s\nwant %s", got, want)
	}
	var b strings.Builder
	Warn(&b, []Helper{h, {Key: "credential.helper", Value: "oauth", File: "/f"}, {Key: "credential.helper", Value: "cache --timeout=9\x1b[2J", Scope: "command"}})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("Warn wrote %q: want a line for store and one for cache, none for oauth", b.String())
	}
	if !strings.Contains(lines[0], "it writes them to disk; remove it with: "+want) {
		t.Errorf("warning for store: %s", lines[0])
	}
	if strings.Contains(lines[1], "\x1b") || !strings.Contains(lines[1], "in memory") || !strings.Contains(lines[1], "git -c") {
		t.Errorf("warning for a command-line cache: %q", lines[1])
	}
}

// gitEnv points git at a system and a global file of the test's own.
func gitEnv(t *testing.T) (system, global string) {
	t.Helper()
	dir := t.TempDir()
	system, global = filepath.Join(dir, "system"), filepath.Join(dir, "global")
	t.Setenv("GIT_CONFIG_SYSTEM", system)
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "")
	t.Setenv("GIT_CONFIG_PARAMETERS", "")
	t.Setenv("GIT_CONFIG_COUNT", "")
	t.Setenv("HOME", dir)
	return system, global
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestChainAgreesWithGit configures helpers that log their name, has git
// approve a credential (git then calls every helper with "store"), and
// compares whom git called with Chain.
func TestChainAgreesWithGit(t *testing.T) {
	system, global := gitEnv(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	logger := func(name string) string { return "!f() { echo " + name + " >>" + log + "; }; f" }
	gitRun(t, dir, "init", "-q", "repo")
	repo := filepath.Join(dir, "repo")
	local := filepath.Join(repo, ".git", "config")
	set := func(file, key, name string) { gitRun(t, dir, "config", "--file", file, "--add", key, name) }
	for _, c := range []struct{ file, key, name string }{
		{system, "credential.helper", "sys-plain"},
		{system, "credential.https://github.com.helper", ""},
		{system, "credential.https://github.com.helper", "sys-gh"},
		{global, "credential.https://*.github.com.helper", "glo-wild"},
		{global, "credential.github.com.helper", "glo-partial"},
		{global, "credential.https://github.com/octocat.helper", "glo-path"},
		{global, "credential.https://gitlab.com.helper", ""},
		{global, "credential.helper", "glo-plain"},
		{local, "credential.https://github.com:443.helper", "loc-port"},
		{local, "credential.https://ada@github.com.helper", "loc-user"},
	} {
		v := c.name
		if v != "" {
			v = logger(c.name)
		}
		set(c.file, c.key, v)
	}
	es, err := Read(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	// git approves only with a user name, which git has then matched.
	for _, req := range []struct{ url, input string }{
		{"https://ada@github.com/octocat/hello.git", "protocol=https\nhost=github.com\npath=octocat/hello.git\nusername=ada\n"},
		{"https://ada@github.com/other/hello.git", "protocol=https\nhost=github.com\npath=other/hello.git\nusername=ada\n"},
		{"https://bob@github.com/x.git", "protocol=https\nhost=github.com\npath=x.git\nusername=bob\n"},
		{"https://ada@api.github.com", "protocol=https\nhost=api.github.com\nusername=ada\n"},
		{"https://ada@gitlab.com", "protocol=https\nhost=gitlab.com\nusername=ada\n"},
	} {
		os.Remove(log)
		cmd := exec.Command("git", "credential", "approve")
		cmd.Dir = repo
		cmd.Stdin = strings.NewReader(req.input + "password=not-a-token\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git credential approve: %v\n%s", err, out)
		}
		called, _ := os.ReadFile(log)
		var want []string
		for _, h := range Chain(es, req.url) {
			want = append(want, strings.Fields(strings.TrimPrefix(h.Value, "!f() { echo "))[0])
		}
		got := strings.Fields(string(called))
		if !slices.Equal(got, want) {
			t.Errorf("%s: git called %q, Chain says %q", req.url, got, want)
		}
		t.Logf("%s: %q", req.url, got)
	}

	// Files and scopes are reported as git names them.
	for _, h := range Chain(es, "https://ada@github.com/octocat/x") {
		wantFile := map[string]string{"system": system, "global": global, "local": local}[h.Scope]
		if h.File != wantFile {
			t.Errorf("%s from scope %s in %q, want %q", h.Value, h.Scope, h.File, wantFile)
		}
	}
}

// TestRemoveCommandRemovesExactlyThatEntry runs the printed command.
func TestRemoveCommandRemovesExactlyThatEntry(t *testing.T) {
	_, global := gitEnv(t)
	dir := t.TempDir()
	for _, kv := range [][2]string{
		{"credential.helper", "store --file=/tmp/a.b"},
		{"credential.helper", "store --file=/tmp/aXb"},
		{"credential.https://github.com.helper", "store --file=/tmp/a.b"},
		{"credential.helper", "cache"},
	} {
		gitRun(t, dir, "config", "--global", "--add", kv[0], kv[1])
	}
	hs, err := Find(context.Background(), dir, "https://github.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 4 || hs[0].File != global || hs[0].Scope != "global" {
		t.Fatalf("Find = %+v", hs)
	}
	cmd := exec.Command("sh", "-c", hs[0].RemoveCommand())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", hs[0].RemoveCommand(), err, out)
	}
	hs, err = Find(context.Background(), dir, "https://github.com")
	if err != nil {
		t.Fatal(err)
	}
	// The [credential] lines come first in the file; only the one key lost the value.
	if got := values(hs); !slices.Equal(got, []string{"store --file=/tmp/aXb", "cache", "store --file=/tmp/a.b"}) {
		t.Errorf("after the remove command: %q", got)
	}
}
