package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
)

// stopBBB leaves host i as after bbb-conf --stop: nginx and redis stay up.
func stopBBB(t *testing.T, f *testfleet.Fleet, i int) {
	f.Update(t, i, func(s *sim.State) {
		s.Stopped = true
		for u := range s.Units {
			if u != "nginx" && u != "redis-server" {
				s.Units[u] = sim.UnitInactive
			}
		}
	})
}

// Rules that fire every minute make the desired state the same whenever
// the test runs: bbb1 should be down, bbb2 up, bbb3 is in no rule.
const everyMinute = `schedules:
  - {name: night, cron: "* * * * *", action: stop, targets: [bbb1]}
  - {name: day, cron: "* * * * *", action: start, targets: [bbb2]}
`

// TestCheckKnowsSchedule: a server stopped while its schedule wants it
// stopped is OK; one stopped while it should be up is CRITICAL and says
// which rule wants it up; one no rule targets is CRITICAL as ever.
func TestCheckKnowsSchedule(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3, SSHTimeout: "2s", APITimeout: "2s", Extra: everyMinute})
	for i := range f.Hosts {
		stopBBB(t, f, i)
	}
	rep, code, _ := checkRun(t, f.Config, "--skip", "certificate")
	if code != 2 || !sameList(rep.notOK(), "bbb2 services CRITICAL", "bbb2 api CRITICAL", "bbb2 secret UNKNOWN",
		"bbb3 services CRITICAL", "bbb3 api CRITICAL", "bbb3 secret UNKNOWN") {
		t.Fatalf("exit %d: %v", code, rep.notOK())
	}
	if c := rep.get(t, "bbb1", "api"); c.Status != "OK" || !strings.HasPrefix(c.Message, "stopped by schedule `night` since ") {
		t.Errorf("bbb1 api: %+v", c)
	}
	if c := rep.get(t, "bbb2", "api"); !strings.Contains(c.Message, "bbb-web is not answering (HTTP 502 from nginx) (should be up: started by schedule `day` since ") {
		t.Errorf("bbb2 api: %+v", c)
	}
	if c := rep.get(t, "bbb3", "api"); c.Message != "bbb-web is not answering (HTTP 502 from nginx)" {
		t.Errorf("bbb3 api: %+v", c)
	}
}

// TestSchedulePlanReadsServers: plan reads each targeted server (SSH and
// the API root call) and says what apply would change.
func TestSchedulePlanReadsServers(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3, SSHTimeout: "2s", APITimeout: "2s", Extra: everyMinute})
	stopBBB(t, f, 1) // bbb2 should be up
	out, errOut, code := run(t, f.Config, "schedule", "plan", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep schedulePlanJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range rep.Servers {
		ob := "-"
		if s.Observed != nil {
			ob = *s.Observed
		}
		got[s.Server] = ob + " " + strings.Join(s.Change, "+")
	}
	want := map[string]string{"bbb1": "up stop", "bbb2": "down start", "bbb3": "- "}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if rep.Changes != 2 || rep.Failed != 0 || len(rep.Firings) < 2*24*60 {
		t.Errorf("changes %d, failed %d, firings %d", rep.Changes, rep.Failed, len(rep.Firings))
	}
	// tsv: the summary on stderr
	_, errOut, code = run(t, f.Config, "schedule", "plan", "bbb1,bbb2")
	if code != 0 || !strings.Contains(errOut, "apply would change 2 servers: bbb1 stop, bbb2 start") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	// bbb1's sshd and API gone: unreachable, exit 1; the others are still read
	f.Hosts[0].StopAPI()
	f.Hosts[0].SSH.Stop()
	out, errOut, code = run(t, f.Config, "schedule", "plan", "--timeout", "3s")
	if code != 1 || !strings.Contains(out, "bbb1\tdown\tunreachable\tunknown\t") || !strings.Contains(out, "bbb2\tup\tdown\tstart\t") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
