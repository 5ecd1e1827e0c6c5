package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

func opSimFleet(t *testing.T) *simfleet.Fleet {
	t.Helper()
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 2, NoLoad: true, NoProblem: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestOpJSONLines(t *testing.T) {
	f := opSimFleet(t)
	out, errOut, code := run(t, f.Config, "-o", "json", "stop", "bbb1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %v\n%s", err, line)
		}
		types = append(types, m["type"].(string))
		switch m["type"] {
		case "event":
			for _, k := range []string{"time", "server", "action", "step", "phase"} {
				if _, ok := m[k]; !ok {
					t.Errorf("event lacks %q: %s", k, line)
				}
			}
		case "result":
			if m["server"] != "bbb1" || m["result"] != "done" || m["state"] != "BBB stopped, cordoned in Scalelite" {
				t.Errorf("result: %s", line)
			}
		default:
			t.Errorf("unknown type: %s", line)
		}
	}
	if types[len(types)-1] != "result" || types[0] != "event" {
		t.Errorf("types %v", types)
	}
	// A dry run: one plan per server.
	out, _, _ = run(t, f.Config, "-o", "json", "--dry-run", "start", "all")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d plan lines:\n%s", len(lines), out)
	}
	var p struct {
		Type   string `json:"type"`
		Server string `json:"server"`
		Steps  []struct {
			Step, Skip string
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &p); err != nil || p.Type != "plan" || p.Server != "bbb1" || len(p.Steps) == 0 {
		t.Errorf("plan: %v %s", err, lines[0])
	}
}

func TestOpLiveLinesOnATerminal(t *testing.T) {
	f := opSimFleet(t)
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	var out, errOut bytes.Buffer
	io := ui.Test(&out, &errOut)
	io.OutTTY = true
	code := Run(context.Background(), []string{"-c", f.Config, "stop", "all"}, io)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	o := out.String()
	// One line per server, redrawn in place (cursor up, clear line).
	if !strings.Contains(o, "\x1b[2A") || !strings.Contains(o, "\r\x1b[2K") {
		t.Errorf("no live redraw:\n%q", o)
	}
	if !strings.Contains(o, "bbb1  stop      BBB stopped; units inactive") {
		t.Errorf("no final live line:\n%q", o)
	}
	if strings.Contains(o, "Z bbb1 stop started") {
		t.Error("timestamped pipe lines on a terminal")
	}
}

func TestOpPipeLinesAreTimestamped(t *testing.T) {
	f := opSimFleet(t)
	out, _, code := run(t, f.Config, "stop", "bbb2")
	if code != 0 {
		t.Fatal(code)
	}
	first, _, _ := strings.Cut(out, "\n")
	if len(first) < 21 || first[4] != '-' || first[10] != 'T' || first[19] != 'Z' || !strings.Contains(first, " bbb2 cordon started") {
		t.Errorf("first line %q", first)
	}
}

// Ctrl-C while bbb-conf --stop runs: the stop finishes (a half-stopped
// BBB is worse), nothing after it runs, and the state says so.
func TestOpCtrlCLetsBBBConfFinish(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NoProblem: true,
		State: func(_ int, s *sim.State) { s.StopDelay = 700 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel while bbb-conf --stop runs (its units are deactivating).
		for ctx.Err() == nil {
			st, _ := f.Hosts[0].Sim.State()
			if st.Units["bbb-web"] == sim.UnitDeactivating {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	out, errOut, code := runCtx(t, ctx, f.Config, "stop", "bbb1", "--power-off")
	if code != ExitInterrupted {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	st, _ := f.Hosts[0].Sim.State()
	if !st.Stopped || st.Power.Off {
		t.Errorf("stopped=%v off=%v: the stop should finish, the power-off not run", st.Stopped, st.Power.Off)
	}
	for _, w := range []string{"letting bbb-conf --stop finish", "stop done", "left: BBB stopped, cordoned in Scalelite", "bbbfleet start bbb1"} {
		if !strings.Contains(out+errOut, w) {
			t.Errorf("output lacks %q:\n%s\n%s", w, out, errOut)
		}
	}
}

// Live lines on an 80-column terminal: one row per server, never wider
// than the terminal, so the redraw (cursor up one row per server) leaves
// no stale copies.
func TestOpLiveLinesFitTheTerminal(t *testing.T) {
	var out, errOut bytes.Buffer
	io := ui.Test(&out, &errOut)
	io.OutTTY, io.Width = true, 80
	app := &App{IO: io}
	plans := []*fleet.Plan{{Name: "bbb1"}, {Name: "bbb-with-a-rather-long-name.example.org"}}
	rd := newOpRenderer(app, "table", plans)
	long := strings.Repeat("waiting for 3 meetings to end: Lecture 101, Seminar 7 ", 3)
	now := time.Now()
	for _, ev := range []fleet.Event{
		{Time: now, Server: "bbb1", Step: "drain", Phase: fleet.PhaseStarted, Message: long},
		{Time: now, Server: "bbb-with-a-rather-long-name.example.org", Step: "power-off", Phase: fleet.PhaseProgress, Message: "会議が終わるのを待っています " + long},
		{Time: now, Server: "bbb1", Step: "drain", Phase: fleet.PhaseFailed, Result: "interrupted", Message: long},
	} {
		rd.event(ev)
	}
	o := out.String()
	if o == "" {
		t.Fatal("no live lines")
	}
	if !strings.HasSuffix(o, "\n") {
		t.Fatalf("output does not end a row: %q", o)
	}
	rows := strings.Split(strings.TrimSuffix(o, "\n"), "\n")
	if len(rows) != 3*len(plans) {
		t.Errorf("%d rows for 3 redraws of %d servers:\n%s", len(rows), len(plans), o)
	}
	for _, r := range rows {
		plain := ansi.Strip(r)
		if w := ansi.StringWidth(plain); w >= 80 {
			t.Errorf("row %d cells wide (terminal 80): %q", w, plain)
		}
		if !strings.HasSuffix(r, "\x1b[K") {
			t.Errorf("row does not clear to its end: %q", r)
		}
	}
	if !strings.Contains(o, "\x1b[2A") {
		t.Errorf("redraw does not move up one row per server: %q", o)
	}
	if !strings.Contains(o, "bbb1") || !strings.Contains(o, "…") {
		t.Errorf("messages not cut with an ellipsis: %q", o)
	}
}

// start on a running server that is cordoned only re-enables it in
// Scalelite, and says so (not "started", not "unchanged").
func TestStartCordonedRunningSaysReEnabled(t *testing.T) {
	f := opSimFleet(t)
	if err := f.Scalelite.Sim.Update(func(s *sim.State) error {
		s.Scalelite.Servers[0].State = sim.ScaleliteCordoned
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, f.Config, "-o", "json", "start", "bbb1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	if res["result"] != "done" || res["state"] != "running, enabled in Scalelite" || res["message"] != "re-enabled in Scalelite (BBB was running already)" {
		t.Errorf("result: %s", lines[len(lines)-1])
	}
}

// wait-ssh progress says why SSH does not answer yet in a few words, not
// the chain of Go errors.
func TestStartWaitSSHProgressWords(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NoProblem: true, BootDelay: 600 * time.Millisecond,
		State: func(_ int, s *sim.State) { s.PowerOff() }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, errOut, code := run(t, f.Config, "start", "bbb1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, " wait-ssh progress: ") {
			continue
		}
		n++
		if !strings.HasSuffix(l, "waiting for SSH (connection reset)") && !strings.HasSuffix(l, "waiting for SSH (connection refused)") {
			t.Errorf("progress line: %q", l)
		}
	}
	if n == 0 {
		t.Errorf("no wait-ssh progress:\n%s", out)
	}
}

// An interrupted step says so once, on a pipe and on a terminal.
func TestOpInterruptedSaidOnce(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var out, errOut bytes.Buffer
		io := ui.Test(&out, &errOut)
		io.OutTTY = tty
		rd := newOpRenderer(&App{IO: io}, "table", []*fleet.Plan{{Name: "bbb1"}})
		rd.event(fleet.Event{Time: time.Now(), Server: "bbb1", Step: "drain", Phase: fleet.PhaseFailed, Result: "interrupted", Message: "interrupted"})
		o := ansi.Strip(out.String())
		if strings.Contains(o, "interrupted: interrupted") || !strings.Contains(o, "interrupted") {
			t.Errorf("tty=%v: %q", tty, o)
		}
	}
}
