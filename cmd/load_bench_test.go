package cmd

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// BenchmarkLoad50Slow runs `bbbfleet load -o json` in-process over 50 API
// stand-ins that each answer after 100 ms, and over one such stand-in, and
// reports the wall time of the 50-server run as a ratio to the one-server
// run (goal: <= 1.5), with the default parallelism and with -j 16. The
// stand-ins run in the same process, so their work (rendering the XML)
// shares the CPUs with the client's; "empty" answers noMeetings and
// measures the polling itself.
//
//	go test ./cmd -run '^$' -bench BenchmarkLoad50Slow -benchtime 10x
func BenchmarkLoad50Slow(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchLoad50Slow(b, 0, 0) })
	b.Run("4meetings-30users", func(b *testing.B) { benchLoad50Slow(b, 4, 30) })
}

func benchLoad50Slow(b *testing.B, meetings, users int) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	slow := func(_ int, s *sim.State) {
		s.Slow = 100 * time.Millisecond
		s.Meetings = sim.GenerateMeetings(7, meetings, users, time.Now())
	}
	cfg50, _ := startStandins(b, standinOptions{N: 50, State: slow})
	cfg1, _ := startStandins(b, standinOptions{N: 1, State: slow})
	once := func(cfg string, extra ...string) time.Duration {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := Run(context.Background(), append([]string{"-c", cfg, "load", "-o", "json"}, extra...), ui.Test(&out, &errOut))
		d := time.Since(start)
		if code != 0 {
			b.Fatalf("exit %d\n%s", code, errOut.String())
		}
		return d
	}
	once(cfg1) // warm up
	once(cfg50)
	var one, fifty, fifty16 time.Duration
	b.ResetTimer()
	for range b.N {
		one += once(cfg1)
		fifty += once(cfg50)
		fifty16 += once(cfg50, "-j", "16")
	}
	n := float64(b.N)
	b.ReportMetric(float64(one.Microseconds())/n/1000, "ms-1server")
	b.ReportMetric(float64(fifty.Microseconds())/n/1000, "ms-50servers")
	b.ReportMetric(float64(fifty)/float64(one), "ratio")
	b.ReportMetric(float64(fifty16)/float64(one), "ratio-j16")
}
