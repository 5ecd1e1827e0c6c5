package cmd

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
)

// checkRun runs `bbbfleet check -o json ARGS` and decodes the report.
func checkRun(t *testing.T, cfg string, args ...string) (*checkReport, int, string) {
	t.Helper()
	out, errOut, code := run(t, cfg, append([]string{"check", "-o", "json"}, args...)...)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("exit %d, no JSON: %v\n%s\n%s", code, err, out, errOut)
	}
	if rep.ExitCode != code {
		t.Errorf("exit %d but exit_code %d", code, rep.ExitCode)
	}
	return &rep, code, errOut
}

func (rep *checkReport) get(t *testing.T, server, check string) checkResultJSON {
	t.Helper()
	for _, s := range rep.Servers {
		if s.Server != server {
			continue
		}
		for _, c := range s.Checks {
			if c.Name == check {
				return c
			}
		}
	}
	t.Fatalf("no %s %s in report", server, check)
	return checkResultJSON{}
}

// notOK lists "server check STATUS" for every check that is not OK.
func (rep *checkReport) notOK() []string {
	var out []string
	for _, s := range rep.Servers {
		for _, c := range s.Checks {
			if c.Status != "OK" {
				out = append(out, s.Server+" "+c.Name+" "+c.Status)
			}
		}
	}
	return out
}

func sameList(a []string, b ...string) bool { return strings.Join(a, "|") == strings.Join(b, "|") }

// TestCheckRealSSHD runs check against five real sshd hosts answering as
// BBB servers, changing one thing at a time. One fleet serves every case;
// the cases that break hosts for good (stopped, paused sshd) come last.
func TestCheckRealSSHD(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 5, SSHTimeout: "2s", APITimeout: "2s"})
	base := make([]sim.State, len(f.Hosts))
	for i := range f.Hosts {
		base[i] = f.State(t, i)
	}
	reset := func() {
		for i := range f.Hosts {
			f.Update(t, i, func(s *sim.State) { *s = base[i].Clone() })
		}
	}
	accepted := func() []int {
		var n []int
		for _, h := range f.Hosts {
			n = append(n, h.SSH.Accepted())
		}
		return n
	}
	sessions := func() []int {
		var n []int
		for _, h := range f.Hosts {
			n = append(n, strings.Count(h.SSH.Log(), "Starting session:"))
		}
		return n
	}

	t.Run("healthy", func(t *testing.T) {
		acc0, ses0 := accepted(), sessions()
		rep, code, _ := checkRun(t, f.Config)
		if code != 0 || rep.Status != "OK" || len(rep.notOK()) > 0 {
			t.Fatalf("exit %d %s: %v", code, rep.Status, rep.notOK())
		}
		if len(rep.Servers) != 5 || len(rep.Servers[0].Checks) != 11 || rep.Summary.OK != 5 {
			t.Fatalf("report shape: %+v", rep.Summary)
		}
		if c := rep.get(t, "bbb1", "api"); c.Value == nil || c.Unit != "ms" {
			t.Errorf("api latency: %+v", c)
		}
		if c := rep.get(t, "bbb2", "version"); c.Message != "3.0.4" || rep.Servers[1].Release != "3.0.4" {
			t.Errorf("version: %+v", c)
		}
		if c := rep.get(t, "bbb1", "certificate"); c.Message != "http, no certificate" {
			t.Errorf("certificate of an http API: %+v", c)
		}
		// One SSH connection and one remote command per host.
		acc1, ses1 := accepted(), sessions()
		for i := range acc1 {
			if acc1[i]-acc0[i] != 1 || ses1[i]-ses0[i] != 1 {
				t.Errorf("host %d: %d logins, %d sessions; want 1 and 1", i+1, acc1[i]-acc0[i], ses1[i]-ses0[i])
			}
		}
		// The default output on a pipe: TSV, status words, nothing on stderr.
		out, errOut, code := run(t, f.Config, "check")
		if code != 0 || errOut != "" || !strings.HasPrefix(out, "SERVER\tSTATUS\tSSH\tSERVICES\tAPI\tSECRET\tVERSION\tCERT\tDISK\tMEMORY\tLOAD\tRECORDINGS\tCLOCK\n") ||
			!strings.Contains(out, "bbb5\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\n") {
			t.Errorf("tsv: exit %d\n%s\n%s", code, out, errOut)
		}
		out, _, code = run(t, f.Config, "check", "-o", "nagios")
		if code != 0 || !strings.HasPrefix(out, "BBBFLEET OK - 5/5 servers ok | servers_ok=5;;;0;5 ") {
			t.Errorf("nagios: exit %d\n%s", code, out)
		}
	})

	t.Run("failed unit", func(t *testing.T) {
		defer reset()
		f.Update(t, 2, func(s *sim.State) { s.Units["bbb-webrtc-sfu"] = sim.UnitFailed })
		rep, code, _ := checkRun(t, f.Config)
		if code != 2 || !sameList(rep.notOK(), "bbb3 services CRITICAL") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb3", "services"); c.Message != "bbb-webrtc-sfu failed" {
			t.Errorf("message %q", c.Message)
		}
		out, _, code := run(t, f.Config, "check", "-o", "nagios")
		if code != 2 || !strings.HasPrefix(out, "BBBFLEET CRITICAL - 1/5 servers critical: bbb3 services: bbb-webrtc-sfu failed | servers_ok=4;;;0;5 ") {
			t.Errorf("nagios: exit %d\n%s", code, out)
		}
		out, errOut, code := run(t, f.Config, "check")
		if code != 2 || !strings.Contains(out, "bbb3\tCRITICAL\tOK\tCRITICAL\tOK") || errOut != "bbbfleet: CRITICAL bbb3 services: bbb-webrtc-sfu failed\n" {
			t.Errorf("tsv: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	t.Run("activating", func(t *testing.T) {
		defer reset()
		f.Update(t, 0, func(s *sim.State) { s.Units["freeswitch"] = sim.UnitActivating })
		rep, code, _ := checkRun(t, f.Config)
		if code != 1 || rep.Status != "WARNING" || !sameList(rep.notOK(), "bbb1 services WARNING") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb1", "services"); c.Message != "freeswitch activating" {
			t.Errorf("message %q", c.Message)
		}
	})

	t.Run("stopped host", func(t *testing.T) {
		defer reset()
		f.Update(t, 1, func(s *sim.State) { // as after bbb-conf --stop: nginx and redis stay up
			s.Stopped = true
			for u := range s.Units {
				if u != "nginx" && u != "redis-server" {
					s.Units[u] = sim.UnitInactive
				}
			}
		})
		rep, code, _ := checkRun(t, f.Config)
		if code != 2 || !sameList(rep.notOK(), "bbb2 services CRITICAL", "bbb2 api CRITICAL", "bbb2 secret UNKNOWN") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb2", "api"); c.Message != "bbb-web is not answering (HTTP 502 from nginx)" {
			t.Errorf("api message %q", c.Message)
		}
		if c := rep.get(t, "bbb2", "services"); c.Message != "15 units inactive: freeswitch, bbb-apps-akka, bbb-fsesl-akka and 12 more" {
			t.Errorf("services message %q", c.Message)
		}
	})

	t.Run("rotated secret", func(t *testing.T) {
		defer reset()
		f.Update(t, 3, func(s *sim.State) { s.Secret = "rotated-0123456789abcdef" })
		rep, code, _ := checkRun(t, f.Config)
		if code != 2 || !sameList(rep.notOK(), "bbb4 secret CRITICAL") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb4", "secret"); c.Message != "rejected by the server (checksumError): the server rejects this secret with every checksum algorithm: run `bbbfleet secret fetch bbb4`" {
			t.Errorf("message %q", c.Message)
		}
	})

	t.Run("version drift", func(t *testing.T) {
		defer reset()
		for _, i := range []int{3, 4} {
			f.Update(t, i, func(s *sim.State) { s.Release = "3.0.3" })
		}
		rep, code, _ := checkRun(t, f.Config)
		if code != 1 || !sameList(rep.notOK(), "bbb4 version WARNING", "bbb5 version WARNING") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb5", "version"); c.Message != "3.0.3, but 3 of 5 servers run 3.0.4" {
			t.Errorf("message %q", c.Message)
		}
		if c := rep.get(t, "bbb1", "version"); c.Message != "3.0.4 (like 3 of 5 servers)" {
			t.Errorf("message %q", c.Message)
		}
	})

	t.Run("recording failure", func(t *testing.T) {
		defer reset()
		f.Update(t, 4, func(s *sim.State) {
			s.RecordingFailures = []string{"processed/6e35e3b2778883f5db637d7a5dba0a427f692e91-1700000000000-presentation.fail"}
		})
		rep, code, _ := checkRun(t, f.Config)
		if code != 1 || !sameList(rep.notOK(), "bbb5 recordings WARNING") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb5", "recordings"); c.Value == nil || *c.Value != 1 || !strings.HasPrefix(c.Message, "1 failed recording step: processed/6e35") {
			t.Errorf("%+v", c)
		}
	})

	t.Run("disk clock memory load", func(t *testing.T) {
		defer reset()
		const gib = 1 << 30
		f.Update(t, 0, func(s *sim.State) { s.Disks["/"] = sim.Disk{Device: "/dev/sda1", Size: 80 * gib, Used: 78 * gib} })
		f.Update(t, 1, func(s *sim.State) { s.ClockOffset = -12 * time.Second })
		f.Update(t, 2, func(s *sim.State) { s.MemAvailable = s.MemTotal / 20 })
		f.Update(t, 3, func(s *sim.State) { s.LoadAvg = [3]float64{20, 20, 20} })
		rep, code, _ := checkRun(t, f.Config, "--skip", "api,secret")
		if code != 2 || !sameList(rep.notOK(), "bbb1 disk CRITICAL", "bbb2 clock WARNING", "bbb3 memory WARNING", "bbb4 load WARNING") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb2", "clock"); c.Value == nil || !strings.Contains(c.Message, " s behind ours") || *c.Value > -11 || *c.Value < -13 {
			t.Errorf("clock %q", c.Message)
		}
		if len(rep.Checks) != 9 {
			t.Errorf("checks %v", rep.Checks)
		}
	})

	t.Run("only skip and usage errors", func(t *testing.T) {
		acc0 := accepted()
		rep, code, _ := checkRun(t, f.Config, "--only", "api,secret", "bbb1", "bbb2")
		if code != 0 || len(rep.Servers) != 2 || !sameList(rep.Checks, "api", "secret") || len(rep.Servers[0].Checks) != 2 {
			t.Fatalf("exit %d: %+v", code, rep)
		}
		if acc1 := accepted(); !sameList(strs(acc1), strs(acc0)...) {
			t.Errorf("API-only checks logged in over SSH: %v -> %v", acc0, acc1)
		}
		_, errOut, code := run(t, f.Config, "check", "--only", "dsik")
		if code != 2 || !strings.Contains(errOut, `unknown check "dsik"`) {
			t.Errorf("exit %d: %s", code, errOut)
		}
		for _, args := range [][]string{
			{"check", "-o", "nagios", "--only", "dsik"},
			{"check", "--nonsense", "-o", "nagios"},
			{"check", "--output=nagios", "nosuchserver"},
			{"check", "-onagios", "--timeout", "0s"},
		} {
			out, errOut, code := run(t, f.Config, args...)
			if code != 3 || !strings.HasPrefix(out, "BBBFLEET UNKNOWN - ") || errOut != "" {
				t.Errorf("%v: exit %d\n%s\n%s", args, code, out, errOut)
			}
		}
		out, _, code := run(t, f.Config+".missing", "check", "-o", "nagios")
		if code != 3 || !strings.HasPrefix(out, "BBBFLEET UNKNOWN - ") {
			t.Errorf("missing config: exit %d %s", code, out)
		}
	})

	t.Run("slow API", func(t *testing.T) {
		defer reset()
		f.Update(t, 0, func(s *sim.State) { s.Slow = 20 * time.Second })
		start := time.Now()
		rep, code, _ := checkRun(t, f.Config, "--timeout", "3s")
		if elapsed := time.Since(start); elapsed > 8*time.Second {
			t.Errorf("took %s with --timeout 3s", elapsed)
		}
		if code != 2 || !sameList(rep.notOK(), "bbb1 api CRITICAL", "bbb1 secret UNKNOWN") {
			t.Fatalf("exit %d: %v", code, rep.notOK())
		}
		if c := rep.get(t, "bbb1", "api"); !strings.Contains(c.Message, "timeout") && !strings.Contains(c.Message, "no answer") {
			t.Errorf("api message %q", c.Message)
		}
	})

	t.Run("unreachable host", func(t *testing.T) {
		f.Hosts[4].SSH.Stop()
		rep, code, _ := checkRun(t, f.Config)
		want := []string{"bbb5 ssh CRITICAL"}
		for _, c := range []string{"services", "version", "disk", "memory", "load", "recordings", "clock"} {
			want = append(want, "bbb5 "+c+" UNKNOWN")
		}
		got := rep.notOK()
		if code != 2 || !sameList(got, want...) {
			t.Fatalf("exit %d: %v", code, got)
		}
		if c := rep.get(t, "bbb5", "ssh"); !strings.Contains(c.Message, "connection refused") {
			t.Errorf("ssh message %q", c.Message)
		}
		if c := rep.get(t, "bbb5", "disk"); c.Message != "not checked: ssh failed" {
			t.Errorf("disk message %q", c.Message)
		}
		if c := rep.get(t, "bbb5", "api"); c.Status != "OK" {
			t.Errorf("api still checked: %+v", c)
		}
		// Without the ssh column, the SSH checks carry the reason.
		rep, _, _ = checkRun(t, f.Config, "--skip", "ssh", "bbb5")
		if c := rep.get(t, "bbb5", "disk"); !strings.HasPrefix(c.Message, "not checked: ssh failed: ") || !strings.Contains(c.Message, "connection refused") {
			t.Errorf("disk message without ssh column %q", c.Message)
		}
	})

	t.Run("hanging sshd", func(t *testing.T) {
		f.Hosts[3].SSH.Pause()
		defer f.Hosts[3].SSH.Resume()
		start := time.Now()
		rep, code, _ := checkRun(t, f.Config, "--timeout", "3s")
		elapsed := time.Since(start)
		if elapsed > 10*time.Second {
			t.Errorf("took %s with --timeout 3s", elapsed)
		}
		if code != 2 {
			t.Errorf("exit %d", code)
		}
		if c := rep.get(t, "bbb4", "ssh"); c.Status != "CRITICAL" || !strings.Contains(c.Message, "timed out") {
			t.Errorf("ssh %+v", c)
		}
		if c := rep.get(t, "bbb4", "api"); c.Status != "OK" {
			t.Errorf("api %+v", c)
		}
		for _, s := range []string{"bbb1", "bbb2", "bbb3"} {
			for _, c := range []string{"ssh", "services", "disk", "clock"} {
				if r := rep.get(t, s, c); r.Status != "OK" {
					t.Errorf("%s %s: %+v", s, c, r)
				}
			}
		}
		t.Logf("check with one hanging sshd: %s", elapsed.Round(time.Millisecond))
	})
}

func strs(ns []int) []string {
	var out []string
	for _, n := range ns {
		out = append(out, fmt.Sprint(n))
	}
	return out
}

// TestCheckVersionDriftWholeFleet: checking one server compares its release
// with the whole fleet's, not only with itself.
func TestCheckVersionDriftWholeFleet(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3, State: func(i int, s *sim.State) {
		if i == 1 {
			s.Release = "3.0.2"
		}
	}})
	rep, code, _ := checkRun(t, f.Config, "bbb2", "--only", "version")
	if c := rep.get(t, "bbb2", "version"); code != 1 || c.Status != "WARNING" || c.Message != "3.0.2, but 2 of 3 servers run 3.0.4" {
		t.Errorf("exit %d, version %+v", code, c)
	}
	rep, code, _ = checkRun(t, f.Config, "bbb1", "--only", "version")
	if c := rep.get(t, "bbb1", "version"); code != 0 || c.Message != "3.0.4 (like 2 of 3 servers)" {
		t.Errorf("exit %d, version %+v", code, c)
	}
}
