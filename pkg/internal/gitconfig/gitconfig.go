// Package gitconfig reads and changes git configuration by running
// `git config`, so that every rule git applies (includes, quoting, case,
// URL matching, which files count) is git's own and never a copy.
package gitconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// timeout bounds each git spawn: git config answers in milliseconds, and a
// hung git must not hang the git command that asked for a credential.
const timeout = 10 * time.Second

// Scope is the option that picks the files a command reads or changes:
// nil for git's configuration as a whole (as git itself sees it), or one of
// {"--global"}, {"--system"} and {"--file", path}. Write needs one file.
type Scope []string

// Entry is one key = value line of git configuration.
type Entry struct {
	// Key is spelled as git lists it: section and name in lower case,
	// subsection (such as a URL) as written. See CanonicalKey.
	Key       string
	Value     string // "" when Valueless
	Valueless bool   // written without "=", which git reads as true
}

// Bool reads e as git reads a boolean: valueless, true, yes, on and 1 are
// true; false, no, off, 0 and "" are false; case does not matter. ok is
// false for anything else. git also takes any other integer (2 is true);
// that is refused here, so that a slip is reported rather than read as on.
func (e Entry) Bool() (b, ok bool) {
	if e.Valueless {
		return true, true
	}
	switch strings.ToLower(e.Value) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0", "":
		return false, true
	}
	return false, false
}

// CanonicalKey spells key as git lists it, so that it can be compared with
// Entry.Key: section and name are case-insensitive and listed in lower
// case; the subsection is not.
func CanonicalKey(key string) string {
	first := strings.IndexByte(key, '.')
	last := strings.LastIndexByte(key, '.')
	if first == last {
		return strings.ToLower(key)
	}
	return strings.ToLower(key[:first]) + key[first:last] + strings.ToLower(key[last:])
}

// ExactValue is a value pattern matching exactly v, for --unset-all and
// --replace-all. It is an extended regular expression, which every git
// understands, unlike --fixed-value (git 2.30 and later).
func ExactValue(v string) string {
	return "^" + regexp.QuoteMeta(v) + "$"
}

// URLMatch returns, with one spawn, the value git applies to url for every
// key of section: per key, the section.<url>.key whose URL matches most
// specifically, else section.key. Keys are "section.name" in lower case; a
// key nothing sets is absent. overrides are name=value settings given to
// git with -c: they outrank every plain section.key but lose to any
// section.<url>.key that matches.
func URLMatch(ctx context.Context, scope Scope, section, url string, overrides ...string) (map[string]Entry, error) {
	var args []string
	for _, o := range overrides {
		args = append(args, "-c", o)
	}
	args = append(append(append(args, "config", "-z"), scope...), "--get-urlmatch", section, url)
	out, code, err := run(ctx, args...)
	switch {
	case code == 1 && len(out) == 0: // no key matched
		return map[string]Entry{}, nil
	case err != nil:
		return nil, err
	}
	keys := map[string]Entry{}
	for _, e := range parse(out) {
		e.Key = strings.ToLower(e.Key)
		keys[e.Key] = e
	}
	return keys, nil
}

// Read returns every line of the named sections in scope, in file order,
// with every value of a multi-valued key. A file that does not exist yet
// has none.
func Read(ctx context.Context, scope Scope, sections ...string) ([]Entry, error) {
	quoted := make([]string, len(sections))
	for i, s := range sections {
		quoted[i] = regexp.QuoteMeta(strings.ToLower(s))
	}
	args := append(append([]string{"config", "-z"}, scope...), "--get-regexp", `^(`+strings.Join(quoted, "|")+`)\.`)
	out, code, err := run(ctx, args...)
	if code == 1 { // nothing matched, or no such file yet
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parse(out), nil
}

// Located is an Entry with where git read it.
type Located struct {
	Entry
	// Scope is git's name for where the entry comes from: system,
	// global, local, worktree or command (git -c, $GIT_CONFIG_PARAMETERS,
	// $GIT_CONFIG_COUNT).
	Scope string
	// File is the absolute path of the file holding the entry (an
	// included file's own path); "" when it is not from a file.
	File string
}

// ReadLocated returns, with one spawn run in dir ("" for the current
// directory, whose repository's configuration then counts), every entry of
// git's configuration as a whole whose key matches the extended regular
// expression keyRE, in the order git reads them, with the scope and file
// of each.
func ReadLocated(ctx context.Context, dir, keyRE string) ([]Located, error) {
	out, code, err := runIn(ctx, dir, "config", "-z", "--show-origin", "--show-scope", "--get-regexp", keyRE)
	if code == 1 { // nothing matched
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseLocated(out, absDir(dir)), nil
}

// FileOf returns the absolute path of the file in scope (one file) that
// holds key, as git reports it, or "" when key is not set there.
func FileOf(ctx context.Context, scope Scope, key string) (string, error) {
	out, code, err := run(ctx, append(append([]string{"config", "-z", "--show-origin"}, scope...), "--get-all", key)...)
	if code == 1 {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	origin, _, _ := strings.Cut(string(out), "\x00")
	return originFile(origin, absDir("")), nil
}

// SystemFile returns the path of the system config file that the git
// binary at gitPath reads; ok is false when it cannot tell. Every git
// knows it (compiled in, or $GIT_CONFIG_SYSTEM), and
// `git config --system --edit` hands it to the editor: an editor that
// prints its argument reveals it, whether or not the file exists (git
// refuses only a file whose directory is missing, which it cannot read
// either).
func SystemFile(ctx context.Context, gitPath string) (path string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gitPath, "config", "--system", "--edit")
	// git runs an editor with a space through the shell, with the file as "$@".
	cmd.Env = append(os.Environ(), "GIT_EDITOR=printf %s")
	out, err := cmd.Output()
	path = strings.TrimSpace(string(out))
	return path, err == nil && path != ""
}

// parseLocated reads git config -z --show-scope --show-origin output:
// "scope\0origin\0key\nvalue\0" per entry. Relative file names (a
// repository's .git/config) are made absolute against dir.
func parseLocated(out []byte, dir string) []Located {
	recs := strings.Split(string(out), "\x00")
	var ls []Located
	for i := 0; i+2 < len(recs); i += 3 {
		es := parse([]byte(recs[i+2]))
		if len(es) != 1 {
			continue
		}
		ls = append(ls, Located{Entry: es[0], Scope: recs[i], File: originFile(recs[i+1], dir)})
	}
	return ls
}

// originFile is the path in a --show-origin "file:PATH", made absolute
// against dir; "" for any other origin (command line:, blob:, …).
func originFile(origin, dir string) string {
	path, ok := strings.CutPrefix(origin, "file:")
	if !ok || path == "" {
		return ""
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return filepath.Clean(path)
}

// absDir is dir made absolute, the current directory for "".
func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// Write runs one changing git config command on scope, e.g.
// Write(ctx, scope, "--add", key, value). Its arguments are on git's
// command line, which other users can see: never pass a secret.
func Write(ctx context.Context, scope Scope, args ...string) error {
	_, _, err := run(ctx, append(append([]string{"config"}, scope...), args...)...)
	return err
}

// parse reads git config -z output: "key\nvalue\0" per line, or "key\0"
// for a key written without "=".
func parse(out []byte) []Entry {
	var es []Entry
	for _, rec := range strings.Split(string(out), "\x00") {
		if rec == "" {
			continue
		}
		k, v, ok := strings.Cut(rec, "\n")
		es = append(es, Entry{Key: k, Value: v, Valueless: !ok})
	}
	return es
}

// run runs git, bounded by timeout, and returns its output and exit status.
// err is one line: the first of git's complaint, without its "error: " or
// "fatal: ", for callers to wrap in a message that names the file.
func run(ctx context.Context, args ...string) (out []byte, code int, err error) {
	return runIn(ctx, "", args...)
}

// runIn is run in directory dir ("" for the current one).
func runIn(ctx context.Context, dir string, args ...string) (out []byte, code int, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, 0, nil
	case errors.Is(err, exec.ErrNotFound):
		return nil, -1, errors.New("git is not on PATH")
	case ctx.Err() != nil:
		return nil, -1, fmt.Errorf("git config did not finish within %s", timeout)
	case errors.As(err, &exit):
		msg := strings.TrimSpace(strings.SplitN(stderr.String(), "\n", 2)[0])
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "error: "), "fatal: ")
		if msg == "" {
			msg = fmt.Sprintf("git config exited with status %d", exit.ExitCode())
		}
		return out, exit.ExitCode(), errors.New(msg)
	}
	return nil, -1, err
}
