package setup

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

const (
	gh       = "https://github.com"
	clientID = "Iv23liExample0000001"
)

// configFile makes a config file holding content, for --file.
func configFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func opts(t *testing.T, file, host string) Options {
	t.Helper()
	o, err := origin.ParseURL(host)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Scope: Scope{File: file}, Origin: o}
}

func getAll(t *testing.T, file, key string) []string {
	t.Helper()
	out, err := exec.Command("git", "config", "-z", "--file", file, "--get-all", key).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return nil
		}
		t.Fatalf("git config --get-all %s: %v", key, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

func gitSet(t *testing.T, file string, args ...string) {
	t.Helper()
	if out, err := exec.Command("git", append([]string{"config", "--file", file}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("git config %v: %v %s", args, err, out)
	}
}

func read(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func apply(t *testing.T, o Options) Result {
	t.Helper()
	r, err := Apply(context.Background(), o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return r
}

func undo(t *testing.T, o Options) Result {
	t.Helper()
	r, err := Undo(context.Background(), o)
	if err != nil {
		t.Fatalf("Undo: %v", err)
	}
	return r
}

func lines(r Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.String())
	}
	return out
}

func wantLines(t *testing.T, what string, r Result, want ...string) {
	t.Helper()
	if got := lines(r); !slices.Equal(got, want) {
		t.Errorf("%s printed\n  %s\nwant\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func wantValues(t *testing.T, file, key string, want ...string) {
	t.Helper()
	if got := getAll(t, file, key); !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", key, got, want)
	}
}

func TestApplyThenAgainChangesNothing(t *testing.T) {
	testsupport.Isolate(t)
	f := configFile(t, "[user]\n\tname = Octo Cat\n")
	o := opts(t, f, "github.com")
	o.ClientID = clientID
	r := apply(t, o)
	wantLines(t, "setup", r,
		"set ghapp.https://github.com.clientId = "+clientID,
		"set credential.https://github.com.useHttpPath = true",
		`set credential.https://github.com.helper = ""`,
		"add credential.https://github.com.helper = ghapp",
	)
	if r.NeedClientID {
		t.Error("asked for a client ID it was given")
	}
	wantValues(t, f, "credential.https://github.com.helper", "", "ghapp")
	wantValues(t, f, "credential.https://github.com.usehttppath", "true")
	wantValues(t, f, "ghapp.https://github.com.clientid", clientID)
	wantValues(t, f, "user.name", "Octo Cat")

	before := read(t, f)
	if r := apply(t, o); len(r.Changes) != 0 {
		t.Errorf("second setup changed %q", lines(r))
	}
	if after := read(t, f); !bytes.Equal(before, after) {
		t.Errorf("second setup rewrote the file:\n%s\n---\n%s", before, after)
	}
}

func TestUndoRestoresTheFile(t *testing.T) {
	testsupport.Isolate(t)
	original := "[user]\n\tname = Octo Cat\n" +
		"[credential \"https://gitlab.com\"]\n\thelper = cache\n" +
		"[credential]\n\thelper = store\n"
	f := configFile(t, original)
	o := opts(t, f, gh)
	o.ClientID = clientID
	apply(t, o)
	r := undo(t, o)
	wantLines(t, "undo", r,
		`remove credential.https://github.com.helper = ""`,
		"remove credential.https://github.com.helper = ghapp",
		"remove credential.https://github.com.useHttpPath = true",
		"remove ghapp.https://github.com.clientId = "+clientID,
	)
	if got := string(read(t, f)); got != original {
		t.Errorf("undo left\n%s\nwant\n%s", got, original)
	}
	if r := undo(t, o); len(r.Changes) != 0 {
		t.Errorf("a second undo changed %q", lines(r))
	}
}

func TestUndoOfACreatedFileLeavesItEmpty(t *testing.T) {
	testsupport.Isolate(t)
	f := filepath.Join(t.TempDir(), "new")
	o := opts(t, f, gh)
	o.ClientID = clientID
	apply(t, o)
	undo(t, o)
	if b, err := os.ReadFile(f); err == nil && len(bytes.TrimSpace(b)) != 0 {
		t.Errorf("undo left\n%s", b)
	}
}

func TestUndoKeepsForeignValues(t *testing.T) {
	testsupport.Isolate(t)
	const key = "credential.https://github.com.helper"
	// Another helper set before setup, and one the person added after it.
	f := configFile(t, "[credential \"https://github.com\"]\n\thelper = cache --timeout=300\n")
	o := opts(t, f, gh)
	apply(t, o)
	gitSet(t, f, "--add", key, "store")
	wantValues(t, f, key, "cache --timeout=300", "", "ghapp", "store")
	undo(t, o)
	wantValues(t, f, key, "cache --timeout=300", "store")

	// The person's own reset ("") must survive ours being taken out.
	f = configFile(t, "[credential \"https://github.com\"]\n\thelper = \n\thelper = cache\n")
	o = opts(t, f, gh)
	apply(t, o)
	wantValues(t, f, key, "", "cache", "", "ghapp")
	r := undo(t, o)
	wantValues(t, f, key, "", "cache")
	wantLines(t, "undo", r,
		`remove credential.https://github.com.helper = ""`,
		"remove credential.https://github.com.helper = ghapp",
		"remove credential.https://github.com.useHttpPath = true",
	)
}

func TestOtherHostsAndSettingsAreLeftAlone(t *testing.T) {
	testsupport.Isolate(t)
	f := configFile(t, "[credential \"https://gitlab.com\"]\n\thelper = \n\thelper = ghapp\n\tuseHttpPath = true\n"+
		"[ghapp \"https://ghe.example.com\"]\n\tclientId = Iv1.0123456789abcdef\n"+
		"[ghapp]\n\tminLifetime = 5m\n")
	o := opts(t, f, gh)
	o.ClientID = clientID
	apply(t, o)
	undo(t, o)
	wantValues(t, f, "credential.https://gitlab.com.helper", "", "ghapp")
	wantValues(t, f, "credential.https://gitlab.com.usehttppath", "true")
	wantValues(t, f, "ghapp.https://ghe.example.com.clientid", "Iv1.0123456789abcdef")
	wantValues(t, f, "ghapp.minlifetime", "5m")
	wantValues(t, f, "credential.https://github.com.helper")
}

func TestStoreForm(t *testing.T) {
	testsupport.Isolate(t)
	const key = "credential.https://ghe.example.com.helper"
	f := configFile(t, "")
	o := opts(t, f, "https://GHE.example.com:443/some/path")
	o.ClientID, o.Store = clientID, "tmpfs"
	r := apply(t, o)
	wantValues(t, f, key, "", "ghapp --store tmpfs")
	if !slices.Contains(lines(r), "add "+key+" = ghapp --store tmpfs") {
		t.Errorf("setup printed %q", lines(r))
	}
	// Changing the store replaces the value in place rather than adding.
	o.Store = ""
	r = apply(t, o)
	wantLines(t, "setup without --store", r, "set "+key+" = ghapp (was ghapp --store tmpfs)")
	wantValues(t, f, key, "", "ghapp")
	o.Store = "tmpfs"
	apply(t, o)
	undo(t, o)
	wantValues(t, f, key)
}

func TestUseHttpPathAlreadyTrueIsKept(t *testing.T) {
	testsupport.Isolate(t)
	f := configFile(t, "[credential \"https://github.com\"]\n\tuseHttpPath = yes\n")
	o := opts(t, f, gh)
	if r := apply(t, o); slices.ContainsFunc(r.Changes, func(c Change) bool { return strings.HasSuffix(c.Key, "useHttpPath") }) {
		t.Errorf("setup rewrote a useHttpPath that was already true: %q", lines(r))
	}
	undo(t, o)
	wantValues(t, f, "credential.https://github.com.usehttppath", "yes")

	f = configFile(t, "[credential \"https://github.com\"]\n\tuseHttpPath = false\n")
	r := apply(t, opts(t, f, gh))
	if !slices.Contains(lines(r), "set credential.https://github.com.useHttpPath = true (was false)") {
		t.Errorf("setup printed %q", lines(r))
	}
	wantValues(t, f, "credential.https://github.com.usehttppath", "true")
}

func TestGitHubWithoutClientIDNeedsOne(t *testing.T) {
	testsupport.Isolate(t)
	f := configFile(t, "")
	r := apply(t, opts(t, f, gh))
	if !r.NeedClientID {
		t.Error("no note that github.com needs a client ID")
	}
	wantValues(t, f, "ghapp.https://github.com.clientid")
	wantValues(t, f, "credential.https://github.com.helper", "", "ghapp")

	gitSet(t, f, "ghapp.clientId", clientID)
	if r := apply(t, opts(t, f, gh)); r.NeedClientID {
		t.Error("asked for a client ID although ghapp.clientId is set")
	}
	t.Setenv("GHAPP_CLIENT_ID", clientID)
	if r := apply(t, opts(t, configFile(t, ""), gh)); r.NeedClientID {
		t.Error("asked for a client ID although $GHAPP_CLIENT_ID is set")
	}
}

func TestOtherHostWithoutClientIDIsAnError(t *testing.T) {
	testsupport.Isolate(t)
	f := filepath.Join(t.TempDir(), "gitconfig")
	_, err := Apply(context.Background(), opts(t, f, "ghe.example.com"))
	if err == nil || !strings.Contains(err.Error(), "--client-id") {
		t.Fatalf("err = %v, want a request for --client-id", err)
	}
	if _, err := os.Stat(f); err == nil {
		t.Error("a failed setup wrote the file")
	}
	// Once a client ID is in the file, setup needs no flag.
	gitSet(t, f, "ghapp.https://ghe.example.com.clientId", clientID)
	apply(t, opts(t, f, "ghe.example.com"))
	wantValues(t, f, "credential.https://ghe.example.com.helper", "", "ghapp")
}

func TestUndoWithClientIDRemovesOnlyThatOne(t *testing.T) {
	testsupport.Isolate(t)
	f := configFile(t, "[ghapp \"https://github.com\"]\n\tclientId = Iv1.someoneelse00000\n")
	o := opts(t, f, gh)
	o.ClientID = clientID
	if _, err := Undo(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	wantValues(t, f, "ghapp.https://github.com.clientid", "Iv1.someoneelse00000")

	// Without --client-id, every value goes, repeated ones once each.
	gitSet(t, f, "--add", "ghapp.https://github.com.clientId", "Iv1.someoneelse00000")
	gitSet(t, f, "--add", "ghapp.https://github.com.clientId", clientID)
	r := undo(t, opts(t, f, gh))
	wantValues(t, f, "ghapp.https://github.com.clientid")
	if len(r.Changes) != 2 {
		t.Errorf("undo printed %q, want one line per distinct value", lines(r))
	}
}

func TestRefusedInput(t *testing.T) {
	testsupport.Isolate(t)
	f := filepath.Join(t.TempDir(), "gitconfig")
	for name, o := range map[string]Options{
		"shell in store":     {Store: "tmpfs; rm -rf ~", ClientID: clientID},
		"space in client ID": {ClientID: "Iv1 x"},
		"newline in client":  {ClientID: "Iv1\nx"},
		"plain http remote":  {ClientID: clientID},
	} {
		host := gh
		if name == "plain http remote" {
			host = "http://example.com"
		}
		p := opts(t, f, host)
		p.Store, p.ClientID = o.Store, o.ClientID
		_, err := Apply(context.Background(), p)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %q, want one line", name, err)
		}
	}
	if _, err := os.Stat(f); err == nil {
		t.Error("refused input was written")
	}
	// Plain http is fine to this machine, as the helper serves it.
	p := opts(t, f, "http://127.0.0.1:8080")
	p.ClientID = clientID
	apply(t, p)
}

func TestPlainHTTPIsSaidPlainly(t *testing.T) {
	testsupport.Isolate(t)
	f := configFile(t, "")
	p := opts(t, f, "http://127.0.0.1:8080")
	p.ClientID = clientID
	want := []string{"http://127.0.0.1:8080 is plain http: use it only for tests and demos on a single-user machine; on a shared host another user can take the port when the server stops and receive the token"}
	if r := apply(t, p); !slices.Equal(r.Notes, want) {
		t.Errorf("first setup notes %q, want %q", r.Notes, want)
	}
	// Said every time, also when there is nothing to change.
	if r := apply(t, p); len(r.Changes) != 0 || !slices.Equal(r.Notes, want) {
		t.Errorf("second setup: changes %q, notes %q", lines(r), r.Notes)
	}
	p = opts(t, f, "https://127.0.0.1:8443")
	p.ClientID = clientID
	if r := apply(t, p); len(r.Notes) != 0 {
		t.Errorf("https has notes: %q", r.Notes)
	}
}

func TestUnwritableFileIsOneLineWithTheFix(t *testing.T) {
	testsupport.Isolate(t)
	o := opts(t, filepath.Join(t.TempDir(), "missing-dir", "gitconfig"), gh)
	o.ClientID = clientID
	_, err := Apply(context.Background(), o)
	if err == nil {
		t.Fatal("setup into a missing directory succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "cannot change") || !strings.Contains(msg, "directory exists") {
		t.Errorf("error %q is not one line naming cause and fix", msg)
	}
}

// --system is what an image build runs; GIT_CONFIG_SYSTEM points it at a
// temporary file so the test leaves the machine's own alone.
func TestSystemScope(t *testing.T) {
	testsupport.Isolate(t)
	sys := filepath.Join(t.TempDir(), "gitconfig")
	t.Setenv("GIT_CONFIG_SYSTEM", sys)
	o := opts(t, "", gh)
	o.Scope, o.ClientID = Scope{System: true}, clientID
	apply(t, o)
	wantValues(t, sys, "credential.https://github.com.helper", "", "ghapp")
	wantValues(t, sys, "ghapp.https://github.com.clientid", clientID)
	if r := apply(t, o); len(r.Changes) != 0 {
		t.Errorf("second --system setup changed %q", lines(r))
	}
	undo(t, o)
	wantValues(t, sys, "credential.https://github.com.helper")
}

func TestGlobalScopeIsTheDefault(t *testing.T) {
	testsupport.Isolate(t)
	o := opts(t, "", gh)
	o.Scope, o.ClientID = Scope{}, clientID
	apply(t, o)
	wantValues(t, filepath.Join(os.Getenv("HOME"), ".gitconfig"), "credential.https://github.com.helper", "", "ghapp")
}

func TestAllDigitClientIDIsAnAppID(t *testing.T) {
	testsupport.Isolate(t)
	o := opts(t, filepath.Join(t.TempDir(), "gitconfig"), gh)
	o.ClientID = "123456"
	_, err := Apply(context.Background(), o)
	if err == nil || err.Error() != "--client-id 123456 looks like an App ID; copy the Client ID (Iv…) from the app's settings" {
		t.Errorf("an App ID as client ID: %v", err)
	}
}

func TestApplyNamesItsFileAndTheOtherHelpers(t *testing.T) {
	home := testsupport.Isolate(t)
	global := filepath.Join(home, ".gitconfig")
	o := opts(t, "", gh)
	o.Scope, o.ClientID = Scope{}, clientID
	r := apply(t, o)
	if r.File != global || r.FileLine() != "config file: "+global {
		t.Errorf("File %q, line %q, want %s", r.File, r.FileLine(), global)
	}
	if len(r.Others) != 0 {
		t.Errorf("others %+v in a fresh file", r.Others)
	}
	gitSet(t, global, "--add", "credential.helper", "store --file=/tmp/x")
	gitSet(t, global, "--add", "credential.helper", "!gh auth git-credential")
	r = apply(t, o)
	if len(r.Changes) != 0 || len(r.Others) != 2 || r.Others[0].Value != "store --file=/tmp/x" || r.Others[0].File != global || !r.Others[0].Stores() || r.Others[1].Stores() {
		t.Errorf("second setup: changes %q, others %+v", lines(r), r.Others)
	}
}

func TestRemoveOtherHelpersThenUndoPutsThemBack(t *testing.T) {
	home := testsupport.Isolate(t)
	global := filepath.Join(home, ".gitconfig")
	sys := filepath.Join(t.TempDir(), "system")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "")
	t.Setenv("GIT_CONFIG_SYSTEM", sys)
	gitSet(t, sys, "--add", "credential.helper", "cache")
	o := opts(t, "", gh)
	o.Scope, o.ClientID = Scope{}, clientID
	apply(t, o)
	for _, v := range []string{"store --file=/tmp/a", "oauth", "store --file=/tmp/a", "manager"} {
		gitSet(t, global, "--add", "credential.helper", v)
	}
	gitSet(t, global, "--add", "credential.https://github.com.helper", "store --file=/tmp/b")

	o.RemoveOtherHelpers = true
	r := apply(t, o)
	// In file order: setup's section, which got the URL helper, comes first.
	wantLines(t, "setup --remove-other-helpers", r,
		"remove credential.https://github.com.helper = store --file=/tmp/b (from "+global+"; setup --undo puts it back)",
		"remove credential.helper = store --file=/tmp/a (from "+global+"; setup --undo puts it back)",
		"remove credential.helper = manager (from "+global+"; setup --undo puts it back)",
	)
	wantValues(t, global, "credential.helper", "oauth")
	wantValues(t, global, "credential.https://github.com.helper", "", "ghapp")
	// What keeps nothing stays; the system file's cache was dropped by
	// setup's "" and is not touched either way.
	if len(r.Others) != 1 || r.Others[0].Value != "oauth" {
		t.Errorf("others after removal: %+v", r.Others)
	}
	if r := apply(t, o); len(r.Changes) != 0 {
		t.Errorf("a second run changed %q", lines(r))
	}
	wantValues(t, sys, "credential.helper", "cache")

	u := undo(t, o)
	// Back in their order, after what stayed.
	wantValues(t, global, "credential.helper", "oauth", "store --file=/tmp/a", "store --file=/tmp/a", "manager")
	wantValues(t, global, "credential.https://github.com.helper", "store --file=/tmp/b")
	wantValues(t, global, "ghapp.https://github.com.removedhelper")
	if got := lines(u); !slices.Contains(got, "add credential.helper = manager") {
		t.Errorf("undo printed %q", got)
	}
	if r := undo(t, o); len(r.Changes) != 0 {
		t.Errorf("a second undo changed %q", lines(r))
	}
}

// A conda image puts a git reading /opt/conda/etc/gitconfig first on
// PATH; here a wrapper stands in for it.
func TestOtherSystemFiles(t *testing.T) {
	testsupport.Isolate(t)
	real, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	condaFile, usrFile := filepath.Join(dir, "conda-gitconfig"), filepath.Join(dir, "etc-gitconfig")
	wrapper := filepath.Join(dir, "bin", "git")
	os.Mkdir(filepath.Dir(wrapper), 0o755)
	script := "#!/bin/sh\nGIT_CONFIG_SYSTEM=" + condaFile + " exec " + real + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_SYSTEM", usrFile)
	t.Setenv("PATH", filepath.Dir(wrapper)+string(os.PathListSeparator)+filepath.Dir(real))
	got := OtherSystemFiles(context.Background(), condaFile)
	if len(got) != 1 || got[0].File != usrFile || got[0].Git != real {
		t.Errorf("OtherSystemFiles = %+v, want %s reading %s", got, real, usrFile)
	}
	if got := OtherSystemFiles(context.Background(), usrFile); len(got) != 1 || got[0].File != condaFile || got[0].Git != wrapper {
		t.Errorf("OtherSystemFiles from the other side = %+v", got)
	}
	// One git, or two reading the same file: nothing to say.
	t.Setenv("PATH", filepath.Dir(real))
	if got := OtherSystemFiles(context.Background(), usrFile); len(got) != 0 {
		t.Errorf("one git: %+v", got)
	}
}

// --app-url is written as ghapp.<url>.appUrl, without a trailing slash,
// and taken back by undo; a value that is not an app's page is refused
// before anything is written.
func TestAppURL(t *testing.T) {
	testsupport.Isolate(t)
	const appURL = "https://ghe.example.com/github-apps/ghe-hub"
	original := "[user]\n\tname = Octo Cat\n"
	f := configFile(t, original)
	o := opts(t, f, "https://ghe.example.com")
	o.ClientID, o.AppURL = clientID, appURL+"/"
	r := apply(t, o)
	if !slices.Contains(lines(r), "set ghapp.https://ghe.example.com.appUrl = "+appURL) {
		t.Errorf("apply: %q", lines(r))
	}
	if got := getAll(t, f, "ghapp.https://ghe.example.com.appUrl"); !slices.Equal(got, []string{appURL}) {
		t.Errorf("ghapp.<url>.appUrl = %q", got)
	}
	if r := apply(t, o); len(r.Changes) != 0 {
		t.Errorf("a second apply changed %q", lines(r))
	}
	o.AppURL = "https://ghe.example.com/github-apps/other"
	if r := undo(t, o); slices.ContainsFunc(lines(r), func(l string) bool { return strings.Contains(l, "appUrl") }) {
		t.Errorf("undo with another --app-url removed this one: %q", lines(r))
	}
	o.AppURL = ""
	if r := undo(t, o); !slices.Contains(lines(r), "remove ghapp.https://ghe.example.com.appUrl = "+appURL) {
		t.Errorf("undo: %q", lines(r))
	}
	if got := string(read(t, f)); got != original {
		t.Errorf("undo left\n%s\nwant\n%s", got, original)
	}

	for _, bad := range []string{"github.com/apps/x", "http://github.com/apps/x", "https://github.com/", "https://github.com/apps/x\nquit=1"} {
		p := opts(t, f, gh)
		p.ClientID, p.AppURL = clientID, bad
		_, err := Apply(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), "is not a GitHub App's page") || strings.Contains(err.Error(), "\n") {
			t.Errorf("--app-url %q: err = %q, want one line refusing it", bad, err)
		}
	}
	if got := string(read(t, f)); got != original {
		t.Errorf("refused input was written:\n%s", got)
	}
}

// A GitLab below a path: setup writes the provider, the application ID,
// useHttpPath (git tells the helper the path only with it) and the
// helper, all for the base URL; undo takes exactly that back.
func TestGitLabBelowAPath(t *testing.T) {
	testsupport.Isolate(t)
	file := configFile(t, "")
	o, err := origin.ParseBase("https://example.org/gitlab/")
	if err != nil {
		t.Fatal(err)
	}
	const appID = "9f1d2c3b4a5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
	opt := Options{Scope: Scope{File: file}, Origin: o, Provider: "gitlab", ClientID: appID}
	apply(t, opt)
	u := "https://example.org/gitlab"
	for key, want := range map[string][]string{
		"ghapp." + u + ".provider":              {"gitlab"},
		"ghapp." + u + ".clientId":              {appID},
		"credential." + u + ".useHttpPath":      {"true"},
		"credential." + u + ".helper":           {"", "ghapp"},
		"credential.https://example.org.helper": nil,
	} {
		if got := getAll(t, file, key); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if r := apply(t, opt); len(r.Changes) != 0 {
		t.Errorf("a second run changed %v", r.Changes)
	}
	undo(t, opt)
	if b := read(t, file); len(bytes.TrimSpace(b)) != 0 {
		t.Errorf("undo left:\n%s", b)
	}
}

func TestGitLabSetupErrors(t *testing.T) {
	testsupport.Isolate(t)
	file := configFile(t, "")
	o, _ := origin.ParseBase("https://gitlab.example.org")
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{Scope: Scope{File: file}, Origin: o, Provider: "gitlab"}, "gitlab.example.org needs its GitLab application's ID: run setup again with --client-id ID"},
		{Options{Scope: Scope{File: file}, Origin: o, Provider: "gitea", ClientID: "x"}, `--provider "gitea" is not github or gitlab`},
		{Options{Scope: Scope{File: file}, Origin: o, Provider: "gitlab", ClientID: "a b"}, "does not look like a GitLab application ID"},
	} {
		_, err := Apply(context.Background(), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v; want one line containing %q", tc.opt, err, tc.want)
		}
	}
	if b := read(t, file); len(bytes.TrimSpace(b)) != 0 {
		t.Errorf("a refused setup wrote:\n%s", b)
	}
}
