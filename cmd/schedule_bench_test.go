package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// benchFleetYAML is bench/schedule-plan.sh's config: 50 servers, 6 rules.
func benchFleetYAML() string {
	var b strings.Builder
	b.WriteString("timezone: Europe/Berlin\nholidays: [2026-10-12/2026-10-23, 2026-12-23/2027-01-09, 2027-02-01/2027-02-02, 2027-03-22/2027-04-03, 2027-05-14, 2027-07-08/2027-08-18]\nservers:\n")
	for i := 1; i <= 50; i++ {
		tag := "pool"
		switch {
		case i <= 5:
			tag = "core"
		case i <= 15:
			tag = "pool, evening"
		}
		fmt.Fprintf(&b, "  - {name: bbb%02d, host: bbb%02d.schulen.example.org, tags: [%s]}\n", i, i, tag)
	}
	b.WriteString(`schedules:
  - {name: warm-up, cron: "30 6 * * 1-5", action: start, targets: ["@pool"]}
  - {name: shutdown, cron: "0 22 * * *", action: stop, targets: ["@pool"], drain: 45m}
  - {name: weekly-restart, cron: "0 3 * * 0", action: restart, targets: ["@core"]}
  - {name: evening, cron: "0 17 * * 1-4", action: start, targets: ["@evening"]}
  - {name: late, cron: "30 23 * * 1-5", action: stop, targets: ["@evening"]}
  - {name: ny-office, cron: "CRON_TZ=America/New_York 0 8 * * 1-5", action: start, targets: ["@core"]}
`)
	return b.String()
}

// BenchmarkSchedulePlanYear runs `schedule plan --offline` over a year of
// firings for 50 servers and 6 rules, config loading and rendering
// included (bench/schedule-plan.sh times the built binary).
func BenchmarkSchedulePlanYear(b *testing.B) {
	dir := b.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(cfg, []byte(benchFleetYAML()), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"json", "tsv"} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out, errOut bytes.Buffer
				code := Run(context.Background(), []string{"-c", cfg, "schedule", "plan", "--offline", "-o", format,
					"--from", "2026-09-01 00:00", "--to", "2027-09-01 00:00"}, ui.Test(&out, &errOut))
				if code != 0 {
					b.Fatalf("exit %d: %s", code, errOut.String())
				}
			}
		})
	}
}

// BenchmarkScheduleApplyNoop runs `schedule apply` on a fleet that is in
// its desired state (the pool up on a school-day morning, as the warm-up
// wants) and `load` on the same fleet, in-process over the SSH and API
// stand-ins of simfleet, and reports apply's wall time as a ratio to
// load's. apply makes one read-only round (an SSH login and the API root
// call per targeted server) and changes nothing.
//
//	go test ./cmd -run '^$' -bench BenchmarkScheduleApplyNoop -benchtime 20x
func BenchmarkScheduleApplyNoop(b *testing.B) {
	for _, n := range []int{6, 20, 50} {
		b.Run(fmt.Sprintf("%dservers", n), func(b *testing.B) {
			b.Setenv("BBBFLEET_SSH_CONFIG", "none")
			f, err := simfleet.Start(context.Background(), simfleet.Options{N: n, NoLoad: true, NoProblem: true})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			at := nextWeekday(time.Now(), time.Tuesday).Format("2006-01-02") + " 10:00"
			out, _ := benchRun(b, f.Config, "schedule", "apply", "--at", at, "-o", "json")
			if !strings.Contains(out, `"changed":0`) || strings.Contains(out, `"type":"event"`) {
				b.Fatalf("the fleet is not in its desired state:\n%s", out)
			}
			benchRun(b, f.Config, "load", "-o", "json")
			var apply, load time.Duration
			b.ResetTimer()
			for range b.N {
				_, d := benchRun(b, f.Config, "schedule", "apply", "--at", at, "-o", "json")
				apply += d
				_, d = benchRun(b, f.Config, "load", "-o", "json")
				load += d
			}
			nb := float64(b.N)
			b.ReportMetric(float64(apply.Microseconds())/nb/1000, "ms-apply")
			b.ReportMetric(float64(load.Microseconds())/nb/1000, "ms-load")
			b.ReportMetric(float64(apply)/float64(load), "ratio")
		})
	}
}

func nextWeekday(t time.Time, d time.Weekday) time.Time {
	for t.Weekday() != d {
		t = t.AddDate(0, 0, 1)
	}
	return t
}
