package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// isTerminal reports whether stdin is a terminal, as when a person types
// the command; git gives a helper a pipe. A reader may answer for itself
// (tests do).
func isTerminal(stdin io.Reader) bool {
	if t, ok := stdin.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// usageError turns a flag error given to command ("" for the program's
// own flags) into one line that says what is wrong and where to look,
// instead of urfave/cli's help dump.
func usageError(command string) cli.OnUsageErrorFunc {
	if command != "" {
		command += " "
	}
	return func(_ *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%s (see git-credential-ghapp %s--help)", flagProblem(err.Error()), command)
	}
}

// flagProblem rewords the flag package's errors the way the flags are
// spelled on the command line.
func flagProblem(msg string) string {
	dashes := func(name string) string {
		name = strings.TrimLeft(name, "-")
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + dashes(name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return dashes(name) + " needs a value"
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		value, name, _ := strings.Cut(rest, " for ")
		name, _, _ = strings.Cut(name, ":")
		return dashes(name) + " takes true or false, not " + value
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		value, name, _ := strings.Cut(rest, " for flag ")
		name, _, _ = strings.Cut(name, ":")
		return value + " is not a valid value for " + dashes(name)
	}
	return msg
}
