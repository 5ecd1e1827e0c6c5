package ui

import (
	"bytes"
	"sync"
	"testing"
)

func TestLineWriterBoundsPartialLines(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := NewLineWriter(&mu, &out, "s | ", false)
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\n"))
	if out.String() != "s | one\ns | two\n" {
		t.Fatalf("%q", out.String())
	}
	out.Reset()
	w.Write(bytes.Repeat([]byte("x"), MaxPartialLine+10))
	if out.Len() < MaxPartialLine || w.buf.Len() != 0 {
		t.Fatalf("a long partial line was held back: wrote %d, kept %d", out.Len(), w.buf.Len())
	}
}

// A source cannot make its line look like another's: carriage return,
// erase-line and other controls are shown as escapes; tabs stay; the
// unterminated last line is flushed with a newline.
func TestLineWriterCleans(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := NewLineWriter(&mu, &out, "bbb1 | ", true)
	w.Write([]byte("ok\r\x1b[Kbbb2 | all good\n"))
	w.Write([]byte("a\tb\u202e\xff"))
	w.Flush()
	want := "bbb1 | ok\\x0d\\x1b[Kbbb2 | all good\nbbb1 | a\tb\\u202e\\xff\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	// raw: bytes unchanged
	out.Reset()
	w = NewLineWriter(&mu, &out, "p ", false)
	w.Write([]byte("x\r\x1b[Ky\n"))
	if out.String() != "p x\r\x1b[Ky\n" {
		t.Errorf("raw: %q", out.String())
	}
}
