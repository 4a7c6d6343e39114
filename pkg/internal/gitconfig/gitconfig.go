// Package gitconfig reads and changes git configuration by running
// `git config`, so that every rule git applies (includes, quoting, case,
// URL matching, which files count) is git's own and never a copy.
package gitconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
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
