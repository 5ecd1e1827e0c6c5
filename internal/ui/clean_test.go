package ui

import "testing"

func TestClean(t *testing.T) {
	cases := []struct{ in, line, text string }{
		{"Mathe 7b", "Mathe 7b", "Mathe 7b"},
		{"ä日本 & <x>", "ä日本 & <x>", "ä日本 & <x>"},
		{"a\tb\nc", `a\x09b\x0ac`, "a\tb\nc"},
		{"x\r\x1b[Kbbb1: ok", `x\x0d\x1b[Kbbb1: ok`, `x\x0d\x1b[Kbbb1: ok`},
		{"\x1b]0;owned\x07\x1b[2J", `\x1b]0;owned\x07\x1b[2J`, `\x1b]0;owned\x07\x1b[2J`},
		{"csi\u009b31m osc\u009d", `csi\u009b31m osc\u009d`, `csi\u009b31m osc\u009d`},
		{"evil\u202egnp.exe", `evil\u202egnp.exe`, `evil\u202egnp.exe`},
		{"iso\u2066x\u2069\u200e\u200f\u061c", `iso\u2066x\u2069\u200e\u200f\u061c`, `iso\u2066x\u2069\u200e\u200f\u061c`},
		{"del\x7f nul\x00", `del\x7f nul\x00`, `del\x7f nul\x00`},
		{"bad\xffutf8", `bad\xffutf8`, `bad\xffutf8`},
	}
	for _, c := range cases {
		if got := Clean(c.in); got != c.line {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.line)
		}
		if got := CleanText(c.in); got != c.text {
			t.Errorf("CleanText(%q) = %q, want %q", c.in, got, c.text)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("a\x1b[2J\u202e\u009b\xff")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Clean(s), CleanText(s)} {
			for _, r := range out {
				if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || unsafeRune(r) || r == 0xfffd && !containsRuneError(s) {
					t.Fatalf("unsafe rune %U left in %q (from %q)", r, out, s)
				}
			}
		}
		for _, r := range Clean(s) {
			if r == '\n' || r == '\t' {
				t.Fatalf("Clean left a line break or tab in %q", Clean(s))
			}
		}
	})
}

func containsRuneError(s string) bool {
	for _, r := range s {
		if r == 0xfffd {
			return true
		}
	}
	return false
}
