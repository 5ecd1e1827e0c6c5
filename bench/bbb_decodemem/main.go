// Command bbb_decodemem measures the memory of decoding one getMeetings body
// of 300 meetings and 10,000 attendees. Run it under /usr/bin/time -v to see
// the peak RSS of the whole process:
//
//	go build -o /tmp/bbb_decodemem ./bench/bbb_decodemem
//	/usr/bin/time -v /tmp/bbb_decodemem            # decode
//	/usr/bin/time -v /tmp/bbb_decodemem -generate  # baseline: body only
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/bbb/bbbtest"
)

func main() {
	meetings := flag.Int("meetings", 300, "meetings in the body")
	attendees := flag.Int("attendees", 10000, "attendees in the body")
	generateOnly := flag.Bool("generate", false, "only generate the body (baseline)")
	flag.Parse()

	body := bbbtest.GetMeetingsXML(*meetings, *attendees)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if *generateOnly {
		fmt.Printf("body %d bytes, heap in use %d\n", len(body), before.HeapInuse)
		return
	}
	ms, err := bbb.DecodeMeetings(body)
	runtime.ReadMemStats(&after)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("body %d bytes, %d meetings\n", len(body), len(ms))
	fmt.Printf("decode: TotalAlloc %d bytes, %d mallocs, GC cycles %d, HeapSys %d\n",
		after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs, after.NumGC-before.NumGC, after.HeapSys)
	runtime.GC()
	runtime.ReadMemStats(&after)
	fmt.Printf("result: live heap %d bytes (incl. body)\n", after.HeapAlloc)
	runtime.KeepAlive(ms)
	runtime.KeepAlive(body)
}
