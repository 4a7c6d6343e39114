package main

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// terminal is stdin that says it is a terminal, as a person's is.
type terminal struct{ io.Reader }

func (terminal) IsTerminal() bool { return true }

// runHelper runs the program in this process with stdin and returns its
// exit status and output.
func runHelper(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("GHAPP_RUNTIME_DIR", t.TempDir())
	var out, errb bytes.Buffer
	code = run(append([]string{"git-credential-ghapp"}, args...), stdin, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUnknownCommandAtATerminalIsAnError(t *testing.T) {
	code, out, errOut := runHelper(t, terminal{strings.NewReader("")}, "frobnicate")
	if code != 1 || out != "" || errOut != "git-credential-ghapp: unknown command \"frobnicate\" (see git-credential-ghapp --help)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line naming the command", code, out, errOut)
	}
	// A name that could drive the terminal is shown escaped.
	_, _, errOut = runHelper(t, terminal{strings.NewReader("")}, "x\x1b[2J")
	if strings.Contains(errOut, "\x1b") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr %q: want one line without the escape sequence", errOut)
	}
}

func TestUnknownOperationFromGitIsIgnored(t *testing.T) {
	code, out, errOut := runHelper(t, strings.NewReader("protocol=https\nhost=github.com\n\n"), "frobnicate")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want silence and exit 0", code, out, errOut)
	}
}

func TestFlagErrorIsOneLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "get"}, "unknown flag --bogus (see git-credential-ghapp --help)"},
		{[]string{"--store"}, "--store needs a value (see git-credential-ghapp --help)"},
		{[]string{"login", "--bogus"}, "unknown flag --bogus (see git-credential-ghapp login --help)"},
		{[]string{"login", "-x"}, "unknown flag -x (see git-credential-ghapp login --help)"},
		{[]string{"logout", "--host"}, "--host needs a value (see git-credential-ghapp logout --help)"},
		{[]string{"logout", "--all=maybe"}, `--all takes true or false, not "maybe" (see git-credential-ghapp logout --help)`},
		{[]string{"setup", "--global=2"}, `--global takes true or false, not "2" (see git-credential-ghapp setup --help)`},
		{[]string{"status", "--json=x"}, `--json takes true or false, not "x" (see git-credential-ghapp status --help)`},
		{[]string{"web", "--listen"}, "--listen needs a value (see git-credential-ghapp web --help)"},
		{[]string{"daemon", "--idle-exit", "soon"}, `"soon" is not a valid value for --idle-exit (see git-credential-ghapp daemon --help)`},
	} {
		for _, stdin := range []io.Reader{strings.NewReader(""), terminal{strings.NewReader("")}} {
			code, out, errOut := runHelper(t, stdin, tt.args...)
			if code != 1 || out != "" || errOut != "git-credential-ghapp: "+tt.want+"\n" {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 and only %q", tt.args, code, out, errOut, tt.want)
			}
		}
	}
}

// A bool flag's help does not add "(default: false)" to what its usage
// says, and a command's help offers no help subcommand.
func TestCommandHelpIsPlain(t *testing.T) {
	code, out, errOut := runHelper(t, strings.NewReader(""), "setup", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("setup --help: exit %d, %s", code, errOut)
	}
	if strings.Contains(out, "(default: false)") || !strings.Contains(out, "(the default)") {
		t.Errorf("setup --help:\n%s", out)
	}
	if strings.Contains(out, "COMMANDS:") || !strings.Contains(out, "git-credential-ghapp setup [--global | --system | --file FILE]") {
		t.Errorf("setup --help lists commands or lacks its usage line:\n%s", out)
	}
}

// The binary, as git or a person runs it: a flag error is one line on
// stderr, exit 1, nothing on stdout.
func TestFlagErrorFromTheBinary(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, "git-credential-ghapp"), "login", "--hots", "github.com")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("exit = %v, want 1", err)
	}
	if want := "git-credential-ghapp: unknown flag --hots (see git-credential-ghapp login --help)\n"; out.Len() != 0 || errb.String() != want {
		t.Errorf("stdout %q, stderr %q; want only %q", out.String(), errb.String(), want)
	}
}
