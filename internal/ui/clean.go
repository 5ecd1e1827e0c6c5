package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clean makes text that came from a server safe to print on one line of a
// terminal, a table cell, a TSV field or a monitoring status line: every C0
// control (tab and newline included), DEL, every C1 control (U+0080–U+009F,
// among them CSI U+009B and OSC U+009D), the bidirectional controls
// (U+200E, U+200F, U+061C, U+202A–U+202E, U+2066–U+2069) and bytes that are
// not UTF-8 are shown as visible escapes (\x1b, \u202e, \xff), so no server
// can move the cursor, retitle the window, clear the screen, reorder what
// follows or make one server's line look like another's.
//
// It is the one output-side cleaner: everything a server sent (meeting names,
// API messages, bbb-conf output, certificate names, command output shown in
// a table or a prefixed line) goes through it, or through CleanText, before
// it is printed.
func Clean(s string) string { return clean(s, false) }

// CleanText is Clean for multi-line text (a --details block, a Nagios long
// text, grouped command output): it keeps newline and tab, escapes the rest.
func CleanText(s string) string { return clean(s, true) }

func clean(s string, multiline bool) string {
	if !needsCleaning(s, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		i += size
		switch {
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsCleaning(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\t')) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports the non-ASCII runes Clean escapes: C1 controls and the
// bidirectional formatting characters.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
