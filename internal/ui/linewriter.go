package ui

import (
	"bytes"
	"io"
	"sync"
)

// MaxPartialLine is the longest partial line a LineWriter holds back: a
// "line" without end (cat of a binary file) is written in pieces of this
// size rather than held in memory until the command ends.
const MaxPartialLine = 64 << 10

// LineWriter prefixes each complete line written to it (a server's output,
// for `exec --stream` or a live install view) and writes it under a lock
// shared by all the LineWriters of one output, so that lines of different
// sources never mix. With clean set, each line goes through CleanText
// first, so no source can move the cursor or rewrite another's line.
type LineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	clean  bool
	buf    bytes.Buffer
}

// NewLineWriter returns a LineWriter writing to w under mu.
func NewLineWriter(mu *sync.Mutex, w io.Writer, prefix string, clean bool) *LineWriter {
	return &LineWriter{mu: mu, w: w, prefix: prefix, clean: clean}
}

// Write buffers p and writes every complete line. The shared lock also
// guards the buffer: after a cancelled command the SSH layer's output copy
// may still be writing when Flush runs.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		l.line(l.buf.Next(i+1), "")
	}
	if l.buf.Len() >= MaxPartialLine {
		l.line(l.buf.Next(l.buf.Len()), "\n")
	}
	return len(p), nil
}

// line writes the prefix, b (ending in a newline, or followed by end).
func (l *LineWriter) line(b []byte, end string) {
	io.WriteString(l.w, l.prefix)
	if l.clean {
		io.WriteString(l.w, CleanText(string(b)))
	} else {
		l.w.Write(b)
	}
	io.WriteString(l.w, end)
}

// Flush writes a last line without a newline, adding one.
func (l *LineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() == 0 {
		return
	}
	l.line(l.buf.Bytes(), "\n")
	l.buf.Reset()
}
