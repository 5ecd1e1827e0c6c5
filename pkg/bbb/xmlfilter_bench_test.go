package bbb

import (
	"bytes"
	"io"
	"testing"

	"github.com/bbbfleet/bbbfleet/pkg/bbb/bbbtest"
)

// BenchmarkCharFilter is the character filter alone over the body of
// BenchmarkDecodeGetMeetings300x10000.
func BenchmarkCharFilter(b *testing.B) {
	body := bbbtest.GetMeetingsXML(300, 10000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, newCharFilter(bytes.NewReader(body))); err != nil {
			b.Fatal(err)
		}
	}
}
