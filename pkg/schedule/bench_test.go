package schedule

import (
	"fmt"
	"testing"
	"time"
)

// benchSchedule is a city's fleet: 50 servers, 6 rules in two zones, the
// school holidays of a year.
func benchSchedule(b testing.TB) (*Schedule, []string) {
	be := zone(b, "Europe/Berlin")
	var all, pool, core []string
	for i := 1; i <= 50; i++ {
		n := fmt.Sprintf("bbb%02d", i)
		all = append(all, n)
		if i <= 5 {
			core = append(core, n)
		} else {
			pool = append(pool, n)
		}
	}
	rules := []*Rule{
		rule(b, "warm-up", "30 6 * * 1-5", be, Start, pool...),
		rule(b, "shutdown", "0 22 * * *", be, Stop, pool...),
		rule(b, "weekly-restart", "0 3 * * 0", be, Restart, core...),
		rule(b, "evening", "0 17 * * 1-4", be, Start, pool[:10]...),
		rule(b, "late", "30 23 * * 1-5", be, Stop, pool[:10]...),
		rule(b, "ny-office", "CRON_TZ=America/New_York 0 8 * * 1-5", be, Start, core...),
	}
	return New(rules, holidays(b, "2026-10-12/2026-10-23", "2026-12-23/2027-01-09", "2027-02-01/2027-02-02",
		"2027-03-22/2027-04-03", "2027-05-14", "2027-07-08/2027-08-18")), all
}

// BenchmarkPlanYear is the work of `schedule plan --offline` over a year:
// every firing of the 6 rules in the window and the desired state of the 50
// servers at its start. Goal: well under 50 ms.
func BenchmarkPlanYear(b *testing.B) {
	s, servers := benchSchedule(b)
	from := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		fs := s.Firings(from, to)
		ds := s.DesiredAll(servers, from)
		if len(fs) < 1000 || len(ds) != 50 {
			b.Fatalf("%d firings, %d servers", len(fs), len(ds))
		}
	}
}

// BenchmarkDesiredAll is one apply's decision for 50 servers.
func BenchmarkDesiredAll(b *testing.B) {
	s, servers := benchSchedule(b)
	at := time.Date(2027, 1, 8, 9, 0, 0, 0, time.UTC) // in the winter holidays
	b.ReportAllocs()
	for b.Loop() {
		s.DesiredAll(servers, at)
	}
}
