package helper

import (
	"regexp"
	"strings"
	"sync"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// show makes text from outside (git's request, a server's answer)
// harmless on a terminal.
func show(s string) string { return safetext.Line(s) }

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }

// Compiled on first use: a cache hit never needs it.
var tokenLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(gh[opusr]_|glpat-|gloas-)[A-Za-z0-9_-]+`)
})

// ErrorLine is how every error leaves the helper: one line on stderr,
// with the helper's name, nothing that could drive a terminal, and — as a
// last line of defence — nothing shaped like a token.
func ErrorLine(err error) string {
	msg := tokenLike().ReplaceAllStringFunc(err.Error(), func(t string) string { return t[:4] + "…" })
	return "git-credential-ghapp: " + safetext.Line(msg)
}
