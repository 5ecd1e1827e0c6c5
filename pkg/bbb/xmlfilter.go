package bbb

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// XML 1.0 forbids most C0 controls (all but tab, newline and carriage
// return), U+FFFE, U+FFFF and invalid UTF-8, raw or as character
// references (&#27; &#x1b;), and encoding/xml rejects the whole document
// for one of them. bbb-web copies meeting names, attendee names and
// metadata into its XML as they were given to create/join, so anyone who
// can name a room could otherwise make one server's getMeetings fail.
// charFilter repairs such a body on its way to the parser: each forbidden
// raw character or invalid UTF-8 byte becomes U+FFFD, each character
// reference to a forbidden code point becomes &#xFFFD; (so does one beyond
// U+10FFFF). Everything else passes through byte for byte, so well-formed
// responses decode exactly as before. Inside CDATA sections and comments
// the same replacements happen (harmless: text there is not expanded).

// replacement is U+FFFD in UTF-8.
var replacement = []byte("\uFFFD")

// refReplacement stands in for a character reference to a forbidden code
// point.
const refReplacement = "&#xFFFD;"

// charFilter is a streaming io.Reader over a UTF-8 XML document that
// replaces what XML 1.0 forbids (see above). It keeps at most a few bytes
// of input between reads (an incomplete UTF-8 sequence) and a few bytes of
// state for a character reference, however long its run of leading zeros.
type charFilter struct {
	src  io.Reader
	in   []byte // input read, in[ip:] not yet processed
	ip   int
	out  []byte // output produced, out[op:] not yet returned
	op   int
	eof  bool
	err  error
	ref  refState
	refX bool   // a hexadecimal reference (&#x...)
	sig  []byte // significant digits (leading zeros dropped), at most maxRefDigits
	zero bool   // the reference had a leading zero
	over bool   // more significant digits than maxRefDigits: beyond U+10FFFF
}

type refState uint8

const (
	refNone   refState = iota
	refAmp             // after '&'
	refHash            // after "&#"
	refDigits          // after "&#" or "&#x" and zero or more digits
)

// maxRefDigits is enough for every code point (U+10FFFF is 7 decimal or 6
// hex digits); more significant digits mean an invalid one.
const maxRefDigits = 8

func newCharFilter(src io.Reader) *charFilter {
	return &charFilter{src: src, in: make([]byte, 0, 32<<10), out: make([]byte, 0, 33<<10), sig: make([]byte, 0, maxRefDigits)}
}

func (f *charFilter) Read(p []byte) (int, error) {
	for f.op == len(f.out) {
		if f.eof && f.ip == len(f.in) {
			if f.ref != refNone {
				f.out, f.op = f.out[:0], 0
				f.flushRef()
				f.ref = refNone
				continue
			}
			if f.err != nil {
				return 0, f.err
			}
			return 0, io.EOF
		}
		f.fill()
		f.out, f.op = f.out[:0], 0
		f.process()
	}
	n := copy(p, f.out[f.op:])
	f.op += n
	return n, nil
}

// fill reads more input, keeping the unprocessed tail.
func (f *charFilter) fill() {
	if f.eof {
		return
	}
	rest := copy(f.in[:cap(f.in)], f.in[f.ip:])
	f.in, f.ip = f.in[:rest], 0
	n, err := f.src.Read(f.in[rest:cap(f.in)])
	f.in = f.in[:rest+n]
	if err != nil {
		f.eof = true
		if err != io.EOF {
			f.err = err
		}
	}
}

// process turns in[ip:] into output, leaving an incomplete UTF-8 sequence
// at the end of the input for the next round (unless at EOF).
func (f *charFilter) process() {
	in := f.in
	i := f.ip
	for i < len(in) {
		if f.ref != refNone {
			i += f.refByte(in[i])
			continue
		}
		// Copy the run of bytes that need nothing.
		j := i
		for j < len(in) {
			c := in[j]
			if c >= 0x20 && c < 0x80 && c != '&' || c == '\n' || c == '\t' || c == '\r' {
				j++
				continue
			}
			break
		}
		f.out = append(f.out, in[i:j]...)
		i = j
		if i == len(in) {
			break
		}
		c := in[i]
		switch {
		case c == '&':
			f.ref = refAmp
			i++
		case c < 0x20:
			f.out = append(f.out, replacement...)
			i++
		default: // c >= 0x80
			if !f.eof && !utf8.FullRune(in[i:]) {
				f.ip = i
				return
			}
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
				f.out = append(f.out, replacement...)
			} else {
				f.out = append(f.out, in[i:i+size]...)
			}
			i += size
		}
	}
	f.ip = i
}

// refByte feeds one byte to the character-reference state machine and
// returns how many bytes it consumed (0: the byte ends the reference and
// is processed again as ordinary input).
func (f *charFilter) refByte(c byte) int {
	switch f.ref {
	case refAmp:
		if c == '#' {
			f.ref, f.refX, f.sig, f.zero, f.over = refHash, false, f.sig[:0], false, false
			return 1
		}
		f.out = append(f.out, '&')
		f.ref = refNone
		return 0
	case refHash:
		f.ref = refDigits
		if c == 'x' {
			f.refX = true
			return 1
		}
		return 0
	}
	// refDigits
	if isRefDigit(c, f.refX) {
		switch {
		case len(f.sig) == 0 && c == '0':
			f.zero = true
		case len(f.sig) < maxRefDigits:
			f.sig = append(f.sig, c)
		default:
			f.over = true
		}
		return 1
	}
	if c == ';' && (len(f.sig) > 0 || f.zero) {
		if f.over || forbiddenRef(f.sig, f.refX) {
			f.out = append(f.out, refReplacement...)
		} else {
			f.flushRef()
			f.out = append(f.out, ';')
		}
		f.ref = refNone
		return 1
	}
	// Not a complete reference: pass it on for the parser to judge.
	f.flushRef()
	f.ref = refNone
	return 0
}

// flushRef writes the reference read so far (leading zeros as one zero).
func (f *charFilter) flushRef() {
	switch f.ref {
	case refAmp:
		f.out = append(f.out, '&')
		return
	case refHash:
		f.out = append(f.out, "&#"...)
		return
	}
	f.out = append(f.out, "&#"...)
	if f.refX {
		f.out = append(f.out, 'x')
	}
	if f.zero && len(f.sig) == 0 {
		f.out = append(f.out, '0')
	}
	f.out = append(f.out, f.sig...)
}

func isRefDigit(c byte, hex bool) bool {
	return '0' <= c && c <= '9' || hex && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
}

// forbiddenRef reports whether the significant digits name a code point
// encoding/xml would reject (surrogates it turns into U+FFFD itself).
func forbiddenRef(sig []byte, hex bool) bool {
	var n uint64
	base := uint64(10)
	if hex {
		base = 16
	}
	for _, c := range sig {
		var d byte
		switch {
		case c <= '9':
			d = c - '0'
		case c >= 'a':
			d = c - 'a' + 10
		default:
			d = c - 'A' + 10
		}
		n = n*base + uint64(d)
	}
	switch {
	case n > utf8.MaxRune, n == 0xFFFE, n == 0xFFFF:
		return true
	case n < 0x20:
		return n != '\t' && n != '\n' && n != '\r'
	}
	return false
}

var xmlEncodingRe = regexp.MustCompile(`^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// declaredEncoding returns the encoding named by the XML declaration, ""
// when there is none.
func declaredEncoding(body []byte) string {
	head := body[:min(len(body), 200)]
	if m := xmlEncodingRe.FindSubmatch(head); m != nil {
		return strings.ToLower(string(m[1]))
	}
	return ""
}

// isLatin1 reports whether an encoding name means ISO-8859-1.
func isLatin1(charset string) bool {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return true
	}
	return false
}

// latin1ToUTF8 converts an ISO-8859-1 body to UTF-8.
func latin1ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// utf8Body returns the body in UTF-8, ready for charFilter: an ISO-8859-1
// body (by its declaration) is converted first, so the filter never takes
// a Latin-1 letter for invalid UTF-8.
func utf8Body(body []byte) []byte {
	body = bytes.TrimPrefix(body, utf8BOM)
	if isLatin1(declaredEncoding(body)) {
		return latin1ToUTF8(body)
	}
	return body
}
