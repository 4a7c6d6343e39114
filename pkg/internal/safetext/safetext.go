// Package safetext makes text that came from outside the helper — git's
// request, a server's answer, configuration — safe to show to a person on
// a terminal or in a status page: one line, no control sequences, nothing
// that reorders or hides what follows.
//
// The escapes are visible and unambiguous enough for a person to read:
//
//   - \xNN for a single byte: a C0 control (U+0000–U+001F, including TAB,
//     LF and CR, since the helper writes its own line feeds), DEL (0x7f),
//     and any byte that is not part of valid UTF-8;
//   - \uNNNN for a rune: a C1 control (U+0080–U+009F), a bidirectional
//     formatting character (U+202A–U+202E, U+2066–U+2069, and the marks
//     U+200E, U+200F, U+061C), and the line and paragraph separators
//     U+2028, U+2029.
//
// A backslash is left alone: the output is for reading, not for parsing
// back.
package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Ellipsis ends text that Short cut.
const Ellipsis = "…"

// Line returns s with every control, bidirectional formatting character,
// line separator and invalid UTF-8 byte replaced by a visible escape.
func Line(s string) string {
	return Short(s, -1)
}

// Short is Line with the result cut to at most max bytes, plus Ellipsis
// when something was cut; max < 0 means no limit. It never cuts through
// an escape or a rune.
func Short(s string, max int) string {
	if clean(s) && (max < 0 || len(s) <= max) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			piece = fmt.Sprintf(`\x%02x`, r)
		case unsafeRune(r):
			piece = fmt.Sprintf(`\u%04x`, r)
		default:
			piece = s[i : i+size]
		}
		if max >= 0 && b.Len()+len(piece) > max {
			b.WriteString(Ellipsis)
			break
		}
		b.WriteString(piece)
		i += size
	}
	return b.String()
}

// clean reports whether s is printable ASCII only, the common case, which
// needs no copy.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune reports whether a valid, non-C0 rune must be escaped.
func unsafeRune(r rune) bool {
	switch {
	case 0x80 <= r && r <= 0x9f: // C1 controls, CSI (U+009B) among them
		return true
	case 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069: // embeddings, overrides, isolates
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // LRM, RLM, ALM
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Safe reports whether Line would return s unchanged.
func Safe(s string) bool {
	if clean(s) {
		return true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r < 0x20 || r == 0x7f || unsafeRune(r) {
			return false
		}
		i += size
	}
	return true
}

// Name reports whether s is made only of ASCII letters, digits, '-', '_'
// and '.': a login or path segment that can break no line, key, path or
// terminal. A loop, not a regexp: compiling one at start-up would cost
// every cache hit.
func Name(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
