package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

func benchRun(b *testing.B, cfg string, args ...string) (string, time.Duration) {
	b.Helper()
	var out, errOut bytes.Buffer
	start := time.Now()
	code := Run(context.Background(), append([]string{"-c", cfg}, args...), ui.Test(&out, &errOut))
	d := time.Since(start)
	if code != 0 {
		b.Fatalf("%v: exit %d\n%s\n%s", args, code, out.String(), errOut.String())
	}
	return out.String(), d
}

// jsonEvents reads the event lines of an -o json run.
func jsonEvents(_ testing.TB, out string) []fleet.Event {
	var evs []fleet.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
			fleet.Event
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "event" {
			evs = append(evs, ev.Event)
		}
	}
	return evs
}

func findEvent(evs []fleet.Event, server, step string, phase fleet.Phase) (fleet.Event, bool) {
	for _, e := range evs {
		if e.Server == server && e.Step == step && e.Phase == phase {
			return e, true
		}
	}
	return fleet.Event{}, false
}

// BenchmarkDrainReaction measures the time from the last meeting ending
// (its EndsAt in the API stand-in) to the stop starting, with drain.poll
// 250ms (the demo's) over the in-process SSH and API stand-ins. Goal: at
// most one poll interval plus one round trip.
//
//	go test ./cmd -run '^$' -bench BenchmarkDrainReaction -benchtime 10x
func BenchmarkDrainReaction(b *testing.B) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NoProblem: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var total, worst time.Duration
	for range b.N {
		end := time.Now().Add(600 * time.Millisecond)
		f.Hosts[0].Sim.Update(func(s *sim.State) error {
			s.Meetings = sim.GenerateMeetings(1, 2, 4, time.Now())
			for i := range s.Meetings {
				s.Meetings[i].EndsAt = end
			}
			return nil
		})
		out, _ := benchRun(b, f.Config, "-o", "json", "stop", "bbb1", "--drain", "1m")
		ev, ok := findEvent(jsonEvents(b, out), "bbb1", fleet.StepStop, fleet.PhaseStarted)
		if !ok {
			b.Fatalf("no stop event:\n%s", out)
		}
		d := ev.Time.Sub(end)
		total += d
		worst = max(worst, d)
		benchRun(b, f.Config, "start", "bbb1")
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-reaction")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
	b.ReportMetric(250, "ms-poll")
}

// BenchmarkStartOverhead measures start's time to ready beyond what the
// stand-in itself takes: "units" after a stop (bbb-conf --start takes
// StartDelay 1s in the stand-in); "power" after stop --power-off over real
// sshd (BootDelay 2s until sshd answers, then StartDelay 1s). Goal: <= 2s.
//
//	BBBFLEET_REQUIRE_SSHD=1 go test ./cmd -run '^$' -bench BenchmarkStartOverhead -benchtime 5x
func BenchmarkStartOverhead(b *testing.B) {
	const startDelay, bootDelay = time.Second, 2 * time.Second
	b.Run("units", func(b *testing.B) {
		b.Setenv("BBBFLEET_SSH_CONFIG", "none")
		f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NoProblem: true, StartDelay: startDelay})
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var over time.Duration
		for range b.N {
			benchRun(b, f.Config, "stop", "bbb1")
			out, _ := benchRun(b, f.Config, "-o", "json", "start", "bbb1")
			over += readyTime(b, out) - startDelay
		}
		b.ReportMetric(float64(over.Microseconds())/float64(b.N)/1000, "ms-overhead")
	})
	b.Run("power", func(b *testing.B) {
		b.Setenv("BBBFLEET_SSH_CONFIG", "none")
		f := testfleet.Start(b, testfleet.Options{N: 1, Power: true, Extra: fmt.Sprintf("state_dir: %q\n", b.TempDir()),
			State: func(_ int, s *sim.State) { s.Power.BootDelay, s.StartDelay = bootDelay, startDelay }})
		var over time.Duration
		for range b.N {
			benchRun(b, f.Config, "stop", "bbb1", "--power-off")
			out, _ := benchRun(b, f.Config, "-o", "json", "start", "bbb1")
			over += readyTime(b, out) - bootDelay - startDelay
		}
		b.ReportMetric(float64(over.Microseconds())/float64(b.N)/1000, "ms-overhead")
	})
}

func readyTime(b *testing.B, out string) time.Duration {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r struct {
			Type          string `json:"type"`
			TimeToReadyMS int64  `json:"time_to_ready_ms"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Type == "result" && r.TimeToReadyMS > 0 {
			return time.Duration(r.TimeToReadyMS) * time.Millisecond
		}
	}
	b.Fatalf("no time to ready:\n%s", out)
	return 0
}

// BenchmarkStopStart20 stops and then starts 20 servers in parallel and
// one server, and reports the 20-server wall time as a ratio to the
// one-server one with -j 20 (with the default -j 16 the last 4 servers
// wait for a slot: "ms-20servers") (in-process stand-ins, whose own work shares the CPUs
// with the client's; bbb-conf --start taking 300ms, or 3s as a real
// start-up's order of magnitude).
//
//	go test ./cmd -run '^$' -bench BenchmarkStopStart20 -benchtime 5x
func BenchmarkStopStart20(b *testing.B) {
	b.Run("start-300ms", func(b *testing.B) { benchStopStart20(b, 300*time.Millisecond) })
	b.Run("start-3s", func(b *testing.B) { benchStopStart20(b, 3*time.Second) })
}

func benchStopStart20(b *testing.B, startDelay time.Duration) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	f20, err := simfleet.Start(context.Background(), simfleet.Options{N: 20, NoLoad: true, NoProblem: true, StartDelay: startDelay})
	if err != nil {
		b.Fatal(err)
	}
	defer f20.Close()
	f1, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NoProblem: true, StartDelay: startDelay})
	if err != nil {
		b.Fatal(err)
	}
	defer f1.Close()
	var stops, starts [2]time.Duration
	cycle := func(i int, cfg string, extra ...string) time.Duration {
		_, a := benchRun(b, cfg, append(extra, "stop", "all")...)
		_, c := benchRun(b, cfg, append(extra, "start", "all")...)
		stops[i] += a
		starts[i] += c
		return a + c
	}
	var one, twenty, twentyJ20 time.Duration
	for range b.N {
		one += cycle(0, f1.Config)
		twenty += cycle(1, f20.Config)
		twentyJ20 += cycle(1, f20.Config, "-j", "20")
	}
	n := float64(b.N)
	b.ReportMetric(float64(one.Microseconds())/n/1000, "ms-1server")
	b.ReportMetric(float64(twenty.Microseconds())/n/1000, "ms-20servers")
	b.ReportMetric(float64(twentyJ20.Microseconds())/n/1000, "ms-20servers-j20")
	b.ReportMetric(float64(twentyJ20)/float64(one), "ratio-j20")
	b.ReportMetric(float64(twenty)/float64(one), "ratio-j16")
}

// BenchmarkStopStart20SSHD is BenchmarkStopStart20 over real OpenSSH sshd
// hosts (bbbsim as their ForceCommand) with the Scalelite stand-in reached
// over SSH too: the crypto and the simulated commands run in other
// processes, as they would on real servers.
//
//	BBBFLEET_REQUIRE_SSHD=1 go test ./cmd -run '^$' -bench BenchmarkStopStart20SSHD -benchtime 3x
func BenchmarkStopStart20SSHD(b *testing.B) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	state := func(_ int, s *sim.State) { s.StartDelay = 300 * time.Millisecond }
	f20 := testfleet.Start(b, testfleet.Options{N: 20, Scalelite: true, State: state, Extra: fmt.Sprintf("state_dir: %q\n", b.TempDir())})
	f1 := testfleet.Start(b, testfleet.Options{N: 1, Scalelite: true, State: state, Extra: fmt.Sprintf("state_dir: %q\n", b.TempDir())})
	var one, twenty time.Duration
	cycle := func(cfg string) time.Duration {
		_, a := benchRun(b, cfg, "-j", "20", "stop", "all")
		_, c := benchRun(b, cfg, "-j", "20", "start", "all")
		return a + c
	}
	for range b.N {
		one += cycle(f1.Config)
		twenty += cycle(f20.Config)
	}
	n := float64(b.N)
	b.ReportMetric(float64(one.Microseconds())/n/1000, "ms-1server")
	b.ReportMetric(float64(twenty.Microseconds())/n/1000, "ms-20servers-j20")
	b.ReportMetric(float64(twenty)/float64(one), "ratio")
}
