// Package helperchain finds the credential helpers git calls for a URL
// besides this one. git calls every configured helper with "store" after
// a credential works, so a leftover `credential.helper store` receives,
// and writes to disk, every token this helper mints.
//
// git collects credential.helper and every credential.<url>.helper whose
// URL matches, in the order it reads its configuration (system, global,
// local, worktree, command line; each file top to bottom), and an empty
// value drops the helpers collected before it. This package reads those
// keys with one `git config` spawn and applies the rules in Go.
package helperchain

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/gitconfig"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// Keys matches every credential helper key, plain or for a URL.
const Keys = `^credential\.(.*\.)?helper$`

// Helper is one credential helper git calls, and where it is configured.
type Helper struct {
	Key   string // as git lists it, e.g. "credential.helper" or "credential.https://github.com.helper"
	Value string // the helper as configured, e.g. "store --file=/tmp/creds"
	Scope string // system, global, local, worktree or command
	File  string // the file that sets it; "" when set on git's command line or in the environment
	// Sometimes is true when the key's URL applies to only some requests
	// to the host: a longer path, or a user name.
	Sometimes bool
}

// Read returns every credential helper entry of git's configuration as
// seen from dir ("" for the current directory), in git's order.
func Read(ctx context.Context, dir string) ([]gitconfig.Located, error) {
	return gitconfig.ReadLocated(ctx, dir, Keys)
}

// Find is Others for the configuration as seen from dir.
func Find(ctx context.Context, dir, url string) ([]Helper, error) {
	es, err := Read(ctx, dir)
	if err != nil {
		return nil, err
	}
	return Others(es, url), nil
}

// Chain returns the helpers git calls for url (scheme://[user@]host[:port]
// [/path]) from the entries es, in git's order, after the empty values
// have dropped what precedes them. Without a path, url stands for the
// whole host: helpers under a longer path are included (Sometimes), but
// their empty values drop nothing.
func Chain(es []gitconfig.Located, url string) []Helper {
	t, ok := parseTarget(url)
	if !ok {
		return nil
	}
	var chain []Helper
	for _, e := range es {
		sub, ok := subsection(e.Key)
		if !ok {
			continue
		}
		m := always
		if sub != "" {
			m = matchKey(sub, t)
		}
		switch {
		case m == never || e.Valueless:
			// git refuses a valueless helper key outright.
		case e.Value == "" && m == always:
			chain = nil
		case e.Value == "":
		default:
			chain = append(chain, Helper{Key: e.Key, Value: e.Value, Scope: e.Scope, File: e.File, Sometimes: m == sometimes})
		}
	}
	return chain
}

// Others is Chain without this helper.
func Others(es []gitconfig.Located, url string) []Helper {
	var out []Helper
	for _, h := range Chain(es, url) {
		if !Ours(h.Value) {
			out = append(out, h)
		}
	}
	return out
}

// Served returns the URLs of the credential.<url>.helper keys in es that
// run this helper, each once, in order.
func Served(es []gitconfig.Located) []string {
	var urls []string
	for _, e := range es {
		if sub, ok := subsection(e.Key); ok && sub != "" && Ours(e.Value) && !slices.Contains(urls, sub) {
			urls = append(urls, sub)
		}
	}
	return urls
}

// subsection returns the URL of credential.<url>.helper ("" for
// credential.helper); ok is false for any other key.
func subsection(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "credential.")
	if !ok || !strings.HasSuffix(rest, "helper") {
		return "", false
	}
	if rest == "helper" {
		return "", true
	}
	sub, ok := strings.CutSuffix(rest, ".helper")
	return sub, ok
}

// Ours reports whether a helper value runs this helper: "ghapp" (git runs
// `git credential-ghapp`), or git-credential-ghapp by name or path.
func Ours(v string) bool {
	words := command(v)
	if len(words) == 0 {
		return false
	}
	if words[0] == "git" && len(words) > 1 {
		return words[1] == "credential-ghapp"
	}
	return words[0] == "ghapp" || filepath.Base(words[0]) == "git-credential-ghapp"
}

// command is the words of a helper value, without the "!" that makes it
// a shell command.
func command(v string) []string {
	return strings.Fields(strings.TrimPrefix(strings.TrimSpace(v), "!"))
}

// Keeping is what a helper does with the credentials git approves.
type Keeping int

const (
	KeepsNothing  Keeping = iota // its store does nothing
	KeepsOnDisk                  // store: a plain file
	KeepsInMemory                // cache: a daemon's memory
	KeepsInVault                 // a keychain or credential manager
	MayKeep                      // unknown: assume it keeps them
)

// Kind is the helper's name as git runs it: "store" for `store --file=F`,
// `git-credential-store` or /usr/lib/git-core/git-credential-store; for a
// shell command the program it runs ("gh" for `!gh auth git-credential`).
func (h Helper) Kind() string {
	words := command(h.Value)
	if len(words) == 0 {
		return ""
	}
	name := filepath.Base(words[0])
	if name == "git" && len(words) > 1 {
		name = words[1]
	}
	return strings.TrimPrefix(strings.TrimPrefix(name, "git-"), "credential-")
}

// Keeps classifies the helper by its name. Known not to keep what git
// approves: oauth (git-credential-oauth ignores store) and
// `gh auth git-credential` (gh answers store with nothing). Known to keep
// it: store (on disk); cache (in a daemon's memory, until its timeout; a
// timeout of 0 still hands the token to the daemon, so it counts too);
// osxkeychain, libsecret, gnome-keyring, wincred, manager, manager-core
// (a keychain or credential manager). Anything else may keep it.
func (h Helper) Keeps() Keeping {
	words := command(h.Value)
	switch h.Kind() {
	case "store":
		return KeepsOnDisk
	case "cache":
		return KeepsInMemory
	case "osxkeychain", "libsecret", "gnome-keyring", "wincred", "manager", "manager-core":
		return KeepsInVault
	case "oauth":
		return KeepsNothing
	case "gh":
		if len(words) >= 3 && words[1] == "auth" && words[2] == "git-credential" {
			return KeepsNothing
		}
	}
	return MayKeep
}

// Stores reports whether the helper keeps, or may keep, what git
// approves: whether tokens given to it outlive this helper's control.
func (h Helper) Stores() bool { return h.Keeps() != KeepsNothing }

// What says what the helper does with the tokens, for a warning.
func (h Helper) What() string {
	switch h.Keeps() {
	case KeepsOnDisk:
		return "it writes them to disk"
	case KeepsInMemory:
		return "it keeps copies in memory until its timeout"
	case KeepsInVault:
		return "it keeps them in a keychain or credential manager"
	case KeepsNothing:
		return "it keeps nothing"
	}
	return "it may keep them"
}

// RemoveCommand is the command that removes exactly this helper from its
// file: every line of its key with exactly its value. "" when it is not
// set in a file.
func (h Helper) RemoveCommand() string {
	if h.File == "" {
		return ""
	}
	return "git config --file " + ShellQuote(h.File) + " --unset-all " + ShellQuote(h.Key) + " " + ShellQuote(gitconfig.ExactValue(h.Value))
}

// ShellQuote quotes s for a POSIX shell, when it needs quoting.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Warn writes one warning line to stderr for each helper that stores
// what git gives it: what it does, and how to remove it.
func Warn(stderr io.Writer, hs []Helper) {
	for _, h := range hs {
		if !h.Stores() {
			continue
		}
		if h.File == "" {
			fmt.Fprintf(stderr, "git-credential-ghapp: warning: git also gives tokens to %s (set with git -c, $GIT_CONFIG_PARAMETERS or $GIT_CONFIG_COUNT): %s; remove it there\n", safetext.Line(h.Value), h.What())
			continue
		}
		fmt.Fprintf(stderr, "git-credential-ghapp: warning: git also gives tokens to %s (from %s): %s; remove it with: %s\n", safetext.Line(h.Value), safetext.Line(h.File), h.What(), safetext.Line(h.RemoveCommand()))
	}
}
