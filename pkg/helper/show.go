package helper

import (
	"strings"
	"unicode"
)

// show makes text from outside (git's request, a server's answer)
// harmless on a terminal.
func show(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
