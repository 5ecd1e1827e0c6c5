package bbb

import (
	"runtime"
	"testing"

	"github.com/bbbfleet/bbbfleet/pkg/bbb/bbbtest"
)

func TestGeneratedBody(t *testing.T) {
	body := bbbtest.GetMeetingsXML(300, 10000)
	ms, err := DecodeMeetings(body)
	if err != nil {
		t.Fatal(err)
	}
	att, pc, br := 0, 0, 0
	for _, m := range ms {
		att += len(m.Attendees)
		pc += m.ParticipantCount
		if m.IsBreakout {
			br++
			if m.ParentMeetingID == "" {
				t.Errorf("breakout %s without parent", m.MeetingID)
			}
		}
	}
	if len(ms) != 300 || att != 10000 || pc != 10000 || br != 30 {
		t.Errorf("%d meetings, %d attendees, %d participants, %d breakouts", len(ms), att, pc, br)
	}
	if ms[0].MeetingName != "Kurs 0 & Übung <0> 日本" || ms[0].Metadata["bbb-context"] != "Kurs 0 <Mathe> & Physik" {
		t.Errorf("%q %q", ms[0].MeetingName, ms[0].Metadata["bbb-context"])
	}
}

// BenchmarkDecodeGetMeetings300x10000 decodes a getMeetings body of 300
// meetings and 10,000 attendees. Besides ns/op and allocs/op it reports
// body-bytes, alloc-bytes (TotalAlloc of one decode) and retained-bytes
// (live heap held by the decoded []Meeting after a GC). Peak RSS of a whole
// process: see bench/bbb_decodemem.
func BenchmarkDecodeGetMeetings300x10000(b *testing.B) {
	body := bbbtest.GetMeetingsXML(300, 10000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		ms, err := DecodeMeetings(body)
		if err != nil || len(ms) != 300 {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	alloc, retained := measureDecode(body)
	b.ReportMetric(float64(len(body)), "body-bytes")
	b.ReportMetric(float64(alloc), "alloc-bytes")
	b.ReportMetric(float64(retained), "retained-bytes")
}

var sink []Meeting

// measureDecode returns the bytes allocated by one decode and the live heap
// the result holds after a GC.
func measureDecode(body []byte) (alloc, retained uint64) {
	var before, after runtime.MemStats
	sink = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	sink, _ = DecodeMeetings(body)
	runtime.ReadMemStats(&after)
	alloc = after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc {
		retained = after.HeapAlloc - before.HeapAlloc
	}
	sink = nil
	runtime.KeepAlive(body) // else its collection hides the result's size
	return alloc, retained
}
