package main

// End-to-end tests of the other credential helpers git would give tokens
// to: status reports them, setup --remove-other-helpers removes them and
// --undo puts them back; and of the files setup names.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/helperchain"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

func TestLeftoverStoreHelperIsReportedRemovedAndRestored(t *testing.T) {
	e := emptyHome(t, "tmpfs")
	global := e.globalConfig()
	out, _ := e.ghapp(e.setupArgs("--global")...)
	if !strings.Contains(out, "config file: "+global+"\n") {
		t.Errorf("setup did not name the file it wrote:\n%s", out)
	}
	// What a gh-scoped-creds migration leaves behind, after setup's lines.
	creds := filepath.Join(e.work, "stored-credentials")
	leftover := "store --file=" + creds
	e.gitConfig("--add", "credential.helper", leftover)
	remove := helperchain.Helper{Key: "credential.helper", Value: leftover, File: global}.RemoveCommand()

	// status says so, with the file and the command that removes it.
	_, stderr := e.ghapp("status")
	want := "git-credential-ghapp: warning: git also gives tokens to " + leftover + " (from " + global + "): it writes them to disk; remove it with: " + remove + "\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("status did not warn\n%s\nwant\n%s", stderr, want)
	}
	out, _ = e.ghapp("status", "--json", "--host", e.srv.URL)
	var r status.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(r.OtherHelpers) != 1 || r.OtherHelpers[0] != (status.OtherHelper{Helper: leftover, Scope: "global", File: global, Stores: true}) {
		t.Errorf("other_helpers %+v", r.OtherHelpers)
	}

	// The printed command removes exactly that helper.
	before := readFile(t, global)
	if _, stderr, err := e.run("sh", "-c", remove); err != nil {
		t.Fatalf("%s: %v\n%s", remove, err, stderr)
	}
	if got := e.git(e.work, "config", "--global", "--get-all", "credential."+e.srv.URL+".helper"); got != "\nghapp\n" {
		t.Errorf("the remove command also touched setup's lines: %q", got)
	}
	if _, stderr := e.ghapp("status"); strings.Contains(stderr, "warning") {
		t.Errorf("status still warns after the remove command: %s", stderr)
	}
	if err := os.WriteFile(global, before, 0o644); err != nil {
		t.Fatal(err)
	}

	// setup removes it, says so, and git then writes no token anywhere.
	out, _ = e.ghapp(e.setupArgs("--global", "--remove-other-helpers")...)
	if want := "remove credential.helper = " + leftover + " (from " + global + "; setup --undo puts it back)\n"; !strings.Contains(out, want) {
		t.Errorf("setup --remove-other-helpers printed\n%s\nwant %s", out, want)
	}
	if _, stderr := e.ghapp("status"); strings.Contains(stderr, "warning") {
		t.Errorf("status still warns after setup removed the helper: %s", stderr)
	}
	dir := e.clone("octocat/hello")
	e.commit(dir)
	if stderr, err := e.push(dir); err != nil {
		t.Fatalf("push: %v\n%s", err, stderr)
	}
	if b, err := os.ReadFile(creds); err == nil && len(b) != 0 {
		t.Errorf("the removed store helper still wrote %d bytes", len(b))
	}

	// undo takes setup's lines out and puts the helper back.
	out, _ = e.ghapp(e.setupArgs("--global", "--undo")...)
	if !strings.Contains(out, "add credential.helper = "+leftover+"\n") {
		t.Errorf("undo did not say it put the helper back:\n%s", out)
	}
	if got := e.git(e.work, "config", "--global", "--get-all", "credential.helper"); got != leftover+"\n" {
		t.Errorf("after undo credential.helper = %q", got)
	}
	if strings.Contains(string(readFile(t, global)), "removedhelper") || strings.Contains(string(readFile(t, global)), "removedHelper") {
		t.Errorf("undo left its record:\n%s", readFile(t, global))
	}
}

// A conda image puts /opt/conda/bin/git, which reads
// /opt/conda/etc/gitconfig, before /usr/bin/git. A wrapper named git,
// first on PATH, stands in for it.
func TestSetupSystemSaysWhenAnotherGitReadsAnotherFile(t *testing.T) {
	e := emptyHome(t, "tmpfs")
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	wrapperDir := t.TempDir()
	condaFile := filepath.Join(t.TempDir(), "conda-gitconfig")
	etcFile := filepath.Join(t.TempDir(), "etc-gitconfig")
	script := "#!/bin/sh\nGIT_CONFIG_SYSTEM=" + condaFile + " exec " + realGit + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrapperDir, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.extra = append(e.extra,
		"PATH="+strings.Join([]string{wrapperDir, e.bin, os.Getenv("PATH")}, string(os.PathListSeparator)),
		"GIT_CONFIG_SYSTEM="+etcFile)

	out, stderr := e.ghapp(e.setupArgs("--system")...)
	if !strings.Contains(out, "config file: "+condaFile+"\n") {
		t.Errorf("setup --system did not name the wrapper's file:\n%s", out)
	}
	command := "git-credential-ghapp setup --file " + etcFile + " --host " + e.srv.URL + " --client-id " + e.srv.ClientID()
	want := " reads another system config, " + etcFile + ": set it up there too with: " + command + "\n"
	if !strings.Contains(stderr, "note: ") || !strings.Contains(stderr, want) {
		t.Fatalf("setup --system did not name the other git's file\n%s\nwant …%s", stderr, want)
	}
	if _, stderr, err := e.run("sh", "-c", command); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, stderr)
	}
	if !strings.Contains(string(readFile(t, etcFile)), "helper = ghapp") {
		t.Errorf("the suggested command wrote\n%s", readFile(t, etcFile))
	}
	// Now both are set up: nothing more to say.
	if _, stderr := e.ghapp(e.setupArgs("--system")...); strings.Contains(stderr, "another system config") {
		t.Errorf("said again after both files were set up?\n%s", stderr)
	}

	// --global says nothing of system files.
	if _, stderr := e.ghapp(e.setupArgs("--global")...); strings.Contains(stderr, "another system config") {
		t.Errorf("setup --global spoke of system files:\n%s", stderr)
	}
}

func TestSetupRefusesAnAppIDAsClientID(t *testing.T) {
	e := emptyHome(t, "tmpfs")
	_, stderr, err := e.helper("", "setup", "--host", e.srv.URL, "--client-id", "123456")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("setup --client-id 123456: %v", err)
	}
	if want := "git-credential-ghapp: --client-id 123456 looks like an App ID; copy the Client ID (Iv…) from the app's settings\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if _, err := os.Stat(e.globalConfig()); err == nil {
		t.Error("an App ID was written")
	}
}
