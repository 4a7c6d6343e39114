package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"WDJB-MJHT", "WDJB-MJHT"},
		{"https://github.com/login/device", "https://github.com/login/device"},
		{`back\slash`, `back\slash`},
		{"café ünïcode 日本", "café ünïcode 日本"},
		{"two\nlines", `two\x0alines`},
		{"cr\rlf\r\n", `cr\x0dlf\x0d\x0a`},
		{"tab\there", `tab\x09here`},
		{"nul\x00", `nul\x00`},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"del\x7f", `del\x7f`},
		{"c1 \u0085 \u009b31m", `c1 \u0085 \u009b31m`},
		{"\u0080\u009f", `\u0080\u009f`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"lone \xc2", `lone \xc2`},
		{"raw c1 byte \x9b", `raw c1 byte \x9b`},
		{"surrogate \xed\xa0\x80", `surrogate \xed\xa0\x80`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
		{"\u2066\u2067\u2068\u2069", `\u2066\u2067\u2068\u2069`},
		{"marks \u200e\u200f\u061c", `marks \u200e\u200f\u061c`},
		{"sep\u2028par\u2029", `sep\u2028par\u2029`},
		{"zero\u200bwidth stays", "zero\u200bwidth stays"}, // not a control
		{"\u2065 \u206a stay", "\u2065 \u206a stay"},       // just outside the isolates
	} {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Safe(tt.in); got != (tt.in == tt.want) {
			t.Errorf("Safe(%q) = %v", tt.in, got)
		}
	}
}

func TestShort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven cha…"},
		{"ab\x1bcd", 4, "ab…"},     // the escape is not split
		{"ab\x1bcd", 6, `ab\x1b…`}, // whole escape, then the cut
		{"日本語", 4, "日…"},           // runes are not split
		{"anything", 0, "…"},       // nothing fits
		{"", 0, ""},                // nothing to cut
		{strings.Repeat("x", 50), -1, strings.Repeat("x", 50)},
	} {
		got := Short(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Short(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Short(%q, %d) is not UTF-8", tt.in, tt.max)
		}
	}
}

func TestCleanInputIsNotCopied(t *testing.T) {
	s := "https://github.com/login/device"
	if n := testing.AllocsPerRun(100, func() { _ = Line(s) }); n != 0 {
		t.Errorf("Line allocated %v times on printable ASCII", n)
	}
}

// unsafe reports the first rune of s a terminal could act on, or -1.
func unsafe(s string) rune {
	for _, r := range s {
		switch {
		case r < 0x20, r == 0x7f, 0x80 <= r && r <= 0x9f,
			0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069,
			r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
			return r
		}
	}
	return -1
}

// FuzzLine: whatever comes in, what goes out is valid UTF-8 with nothing a
// terminal would act on, and text that needed no escape is left alone.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "plain", "a\nb", "\x1b[31mred", "\u202eevil", "\xff", "\xc2\x85", "日本", "\u2028", `\x1b`} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		out := Line(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Line(%q) = %q is not UTF-8", s, out)
		}
		if r := unsafe(out); r >= 0 {
			t.Fatalf("Line(%q) = %q keeps %U", s, out, r)
		}
		if strings.ContainsRune(out, utf8.RuneError) && !strings.ContainsRune(s, utf8.RuneError) {
			t.Fatalf("Line(%q) = %q invented U+FFFD", s, out)
		}
		if utf8.ValidString(s) && unsafe(s) < 0 && out != s {
			t.Fatalf("Line(%q) = %q changed safe text", s, out)
		}
		if !Safe(out) || Safe(s) != (out == s) {
			t.Fatalf("Safe disagrees with Line on %q", s)
		}
		max %= 1 << 12
		short := Short(s, max)
		if !utf8.ValidString(short) || unsafe(short) >= 0 {
			t.Fatalf("Short(%q, %d) = %q is not safe", s, max, short)
		}
		if max >= 0 && len(short) > max+len(Ellipsis) {
			t.Fatalf("Short(%q, %d) = %q is %d bytes long", s, max, short, len(short))
		}
		if !strings.HasPrefix(out, strings.TrimSuffix(short, Ellipsis)) {
			t.Fatalf("Short(%q, %d) = %q is not a prefix of Line's %q", s, max, short, out)
		}
	})
}
