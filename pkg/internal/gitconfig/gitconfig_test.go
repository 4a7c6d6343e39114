package gitconfig

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

func TestParse(t *testing.T) {
	out := "credential.https://GitHub.com.helper\n\x00credential.https://GitHub.com.helper\nghapp --store tmpfs\x00ghapp.interactive\x00ghapp.note\nline one\x00"
	want := []Entry{
		{Key: "credential.https://GitHub.com.helper", Value: ""},
		{Key: "credential.https://GitHub.com.helper", Value: "ghapp --store tmpfs"},
		{Key: "ghapp.interactive", Valueless: true},
		{Key: "ghapp.note", Value: "line one"},
	}
	if got := parse([]byte(out)); !slices.Equal(got, want) {
		t.Errorf("parse = %+v\nwant %+v", got, want)
	}
	if got := parse(nil); len(got) != 0 {
		t.Errorf("parse(nil) = %+v", got)
	}
}

func TestBool(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "YES": true, "On": true, "1": true, "false": false, "no": false, "OFF": false, "0": false, "": false} {
		if b, ok := (Entry{Value: v}).Bool(); !ok || b != want {
			t.Errorf("Bool(%q) = %v, %v; want %v", v, b, ok, want)
		}
	}
	for _, v := range []string{"2", "maybe", " true", "truee"} {
		if _, ok := (Entry{Value: v}).Bool(); ok {
			t.Errorf("Bool(%q) accepted", v)
		}
	}
	if b, ok := (Entry{Valueless: true}).Bool(); !b || !ok {
		t.Error("a valueless key is not true")
	}
}

func TestCanonicalKey(t *testing.T) {
	for in, want := range map[string]string{
		"ghapp.clientId": "ghapp.clientid",
		"Ghapp.clientId": "ghapp.clientid",
		"user.Name":      "user.name",
		"Credential.https://GitHub.com.useHttpPath": "credential.https://GitHub.com.usehttppath",
		"ghapp.https://h.example/o.r.clientId":      "ghapp.https://h.example/o.r.clientid",
	} {
		if got := CanonicalKey(in); got != want {
			t.Errorf("CanonicalKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExactValue(t *testing.T) {
	re := regexp.MustCompile(ExactValue("ghapp --store a.b*"))
	if !re.MatchString("ghapp --store a.b*") || re.MatchString("ghapp --store aXb") || re.MatchString("x ghapp --store a.b*") {
		t.Errorf("%s does not match exactly", re)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadInFileOrder(t *testing.T) {
	global := filepath.Join(testsupport.Isolate(t), ".gitconfig")
	ctx := context.Background()
	if es, err := Read(ctx, Scope{"--global"}, "credential", "ghapp"); err != nil || es != nil {
		t.Errorf("no file yet: %+v, %v", es, err)
	}
	writeFile(t, global, "[user]\n\tname = Octo\n"+
		"[credential \"https://GitHub.com\"]\n\thelper =\n\thelper = ghapp\n"+
		"[GHAPP]\n\tInteractive\n"+
		"[credential \"https://GitHub.com\"]\n\thelper = cache\n")
	es, err := Read(ctx, Scope{"--global"}, "credential", "ghapp")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Key: "credential.https://GitHub.com.helper", Value: ""},
		{Key: "credential.https://GitHub.com.helper", Value: "ghapp"},
		{Key: "ghapp.interactive", Valueless: true},
		{Key: "credential.https://GitHub.com.helper", Value: "cache"},
	}
	if !slices.Equal(es, want) {
		t.Errorf("Read = %+v\nwant %+v", es, want)
	}
	// The whole configuration includes the global file.
	if all, err := Read(ctx, nil, "ghapp"); err != nil || !slices.Equal(all, want[2:3]) {
		t.Errorf("Read(nil, ghapp) = %+v, %v", all, err)
	}
}

func TestURLMatch(t *testing.T) {
	global := filepath.Join(testsupport.Isolate(t), ".gitconfig")
	ctx := context.Background()
	if keys, err := URLMatch(ctx, nil, "ghapp", "https://ghe.example.com"); err != nil || len(keys) != 0 {
		t.Errorf("nothing set: %+v, %v", keys, err)
	}
	writeFile(t, global, "[ghapp]\n\tclientId = Iv1.plain\n\tminLifetime = 5m\n\tinteractive\n"+
		"[ghapp \"https://ghe.example.com\"]\n\tclientId = Iv1.host\n"+
		"[ghapp \"https://ghe.example.com/org\"]\n\tminLifetime = 1m\n")
	keys, err := URLMatch(ctx, nil, "ghapp", "https://GHE.example.com/org/repo.git")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{
		"ghapp.clientid":    {Key: "ghapp.clientid", Value: "Iv1.host"},
		"ghapp.minlifetime": {Key: "ghapp.minlifetime", Value: "1m"},
		"ghapp.interactive": {Key: "ghapp.interactive", Valueless: true},
	}
	if len(keys) != len(want) {
		t.Errorf("URLMatch = %+v, want %+v", keys, want)
	}
	for k, w := range want {
		if keys[k] != w {
			t.Errorf("%s = %+v, want %+v", k, keys[k], w)
		}
	}

	// An override outranks the plain key but not a matching <url> key.
	keys, _ = URLMatch(ctx, nil, "ghapp", "https://other.example.com", "ghapp.clientId=")
	if e := keys["ghapp.clientid"]; e.Value != "" || e.Valueless {
		t.Errorf("override lost to the plain key: %+v", e)
	}
	keys, _ = URLMatch(ctx, nil, "ghapp", "https://ghe.example.com", "ghapp.clientId=")
	if e := keys["ghapp.clientid"]; e.Value != "Iv1.host" {
		t.Errorf("override beat the URL's own key: %+v", e)
	}

	// A scope reads one file only.
	f := filepath.Join(t.TempDir(), "cfg")
	writeFile(t, f, "[ghapp]\n\tstore = tmpfs\n")
	keys, err = URLMatch(ctx, Scope{"--file", f}, "ghapp", "https://github.com")
	if err != nil || len(keys) != 1 || keys["ghapp.store"].Value != "tmpfs" {
		t.Errorf("--file: %+v, %v", keys, err)
	}
}

func TestWrite(t *testing.T) {
	testsupport.Isolate(t)
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "cfg")
	s := Scope{"--file", f}
	key := "credential.https://github.com.helper"
	for _, v := range []string{"", "ghapp", "ghapp.x"} {
		if err := Write(ctx, s, "--add", key, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(ctx, s, "--unset-all", key, ExactValue("ghapp")); err != nil {
		t.Fatal(err)
	}
	es, _ := Read(ctx, s, "credential")
	if len(es) != 2 || es[0].Value != "" || es[1].Value != "ghapp.x" {
		t.Errorf("after --unset-all of exactly ghapp: %+v", es)
	}

	err := Write(ctx, Scope{"--file", filepath.Join(f, "not-a-dir", "cfg")}, "--add", key, "ghapp")
	if err == nil || strings.Contains(err.Error(), "\n") || strings.HasPrefix(err.Error(), "error: ") {
		t.Errorf("unwritable file: err = %v, want one line from git", err)
	}
}

func TestErrorsAreOneLine(t *testing.T) {
	global := filepath.Join(testsupport.Isolate(t), ".gitconfig")
	ctx := context.Background()
	writeFile(t, global, "[ghapp\nclientId = x\n")
	if _, err := URLMatch(ctx, nil, "ghapp", "https://github.com"); err == nil || strings.Contains(err.Error(), "\n") || strings.HasPrefix(err.Error(), "fatal: ") {
		t.Errorf("broken file: err = %v, want one line from git", err)
	}
	if _, err := Read(ctx, nil, "ghapp"); err == nil {
		t.Error("broken file read without error")
	}

	t.Setenv("PATH", t.TempDir())
	if _, err := Read(ctx, nil, "ghapp"); err == nil || err.Error() != "git is not on PATH" {
		t.Errorf("no git: err = %v", err)
	}
}

func TestParseLocated(t *testing.T) {
	out := "system\x00file:/etc/gitconfig\x00credential.helper\ncache\x00" +
		"local\x00file:.git/config\x00credential.helper\nstore\x00" +
		"command\x00command line:\x00credential.helper\x00"
	want := []Located{
		{Entry: Entry{Key: "credential.helper", Value: "cache"}, Scope: "system", File: "/etc/gitconfig"},
		{Entry: Entry{Key: "credential.helper", Value: "store"}, Scope: "local", File: "/repo/.git/config"},
		{Entry: Entry{Key: "credential.helper", Valueless: true}, Scope: "command"},
	}
	if got := parseLocated([]byte(out), "/repo"); !slices.Equal(got, want) {
		t.Errorf("parseLocated = %+v\nwant %+v", got, want)
	}
}

func TestReadLocatedFileOfAndSystemFile(t *testing.T) {
	global := filepath.Join(testsupport.Isolate(t), ".gitconfig")
	system := filepath.Join(t.TempDir(), "system")
	t.Setenv("GIT_CONFIG_SYSTEM", system)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "")
	ctx := context.Background()
	if err := Write(ctx, Scope{"--system"}, "credential.helper", "cache"); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, Scope{"--global"}, "credential.helper", "store"); err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	if out, err := exec.Command("git", "-C", repo, "config", "credential.helper", "oauth").CombinedOutput(); err != nil {
		t.Fatalf("git config: %v %s", err, out)
	}
	ls, err := ReadLocated(ctx, repo, `^credential\.helper$`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, l.Scope+" "+l.File+" "+l.Value)
	}
	want := []string{"system " + system + " cache", "global " + global + " store", "local " + filepath.Join(repo, ".git", "config") + " oauth"}
	if !slices.Equal(got, want) {
		t.Errorf("ReadLocated = %q\nwant %q", got, want)
	}
	if ls, err := ReadLocated(ctx, repo, `^nothing\.here$`); err != nil || ls != nil {
		t.Errorf("nothing matched: %v, %v", ls, err)
	}

	if f, err := FileOf(ctx, Scope{"--global"}, "credential.helper"); err != nil || f != global {
		t.Errorf("FileOf --global = %q, %v; want %s", f, err, global)
	}
	if f, err := FileOf(ctx, Scope{"--global"}, "credential.nothing"); err != nil || f != "" {
		t.Errorf("FileOf an unset key = %q, %v", f, err)
	}

	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	// Also when the file does not exist yet, and whatever GIT_CONFIG_NOSYSTEM says.
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	missing := filepath.Join(t.TempDir(), "not yet")
	t.Setenv("GIT_CONFIG_SYSTEM", missing)
	if f, ok := SystemFile(ctx, git); !ok || f != missing {
		t.Errorf("SystemFile = %q, %v; want %s", f, ok, missing)
	}
	if _, ok := SystemFile(ctx, filepath.Join(t.TempDir(), "no-git")); ok {
		t.Error("SystemFile of a missing binary answered")
	}
	// git refuses a file whose directory is missing, which it cannot read either.
	t.Setenv("GIT_CONFIG_SYSTEM", filepath.Join(missing, "gitconfig"))
	if f, ok := SystemFile(ctx, git); ok {
		t.Errorf("SystemFile in a missing directory = %q", f)
	}
}
