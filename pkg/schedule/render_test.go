package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestOnCalendar(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	for spec, want := range map[string]string{
		"30 6 * * 1-5":                         "Mon..Fri *-*-* 06:30:00 Europe/Berlin",
		"0 22 * * *":                           "*-*-* 22:00:00 Europe/Berlin",
		"*/15 7-8 * * 0,6":                     "Sun,Sat *-*-* 07,08:00,15,30,45:00 Europe/Berlin",
		"CRON_TZ=America/New_York 0 17 1 12 *": "*-12-01 17:00:00 America/New_York",
		// day of month OR weekday, as cron means it: two expressions
		"0 6 1 * 1":     "*-*-01 06:00:00 Europe/Berlin|Mon *-*-* 06:00:00 Europe/Berlin",
		"@daily":        "*-*-* 00:00:00 Europe/Berlin",
		"0 3 * * 0,2,3": "Sun,Tue,Wed *-*-* 03:00:00 Europe/Berlin",
	} {
		sp, err := ParseSpecIn(spec, be)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(sp.OnCalendar(), "|"); got != want {
			t.Errorf("%s: %s, want %s", spec, got, want)
		}
	}
}

func TestInstallFiles(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	s := New([]*Rule{rule(t, "warm-up", "30 6 * * 1-5", be, Start, "bbb1"), rule(t, "again", "30 6 * * 1-5", be, Restart, "bbb2")}, nil)
	o := InstallOptions{Binary: "/usr/bin/bbbfleet", Config: "/etc/bbbfleet/fleet 100%.yaml"}
	c := Cron(o)
	if strings.Contains(c.Path[len("/etc/cron.d/"):], ".") {
		t.Errorf("cron file name %q has a dot: cron ignores it", c.Path)
	}
	if !strings.Contains(c.Content, "*/5 * * * * root flock -n /run/lock/bbbfleet-schedule.lock /usr/bin/bbbfleet -c '/etc/bbbfleet/fleet 100\\%.yaml' schedule apply") {
		t.Errorf("cron:\n%s", c.Content)
	}
	fs := Systemd(s, o)
	if len(fs) != 2 || !strings.Contains(fs[0].Content, "Type=oneshot\nExecStart=/usr/bin/bbbfleet -c '/etc/bbbfleet/fleet 100%%.yaml' schedule apply\n") {
		t.Errorf("service:\n%s", fs[0].Content)
	}
	if n := strings.Count(fs[1].Content, "OnCalendar="); n != 2 || !strings.Contains(fs[1].Content, "Persistent=true") {
		t.Errorf("timer (the same pattern once, plus every 5 minutes):\n%s", fs[1].Content)
	}
	if d := Daemon(o); !strings.Contains(d.Content, "Type=simple") || !strings.Contains(d.Content, "schedule run\n") {
		t.Errorf("daemon:\n%s", d.Content)
	}
}

// TestDaemonStopTimeout: the units let a run finish a bbb-conf --stop (5
// minutes) and a power hook after SIGTERM instead of systemd's 90 s.
func TestDaemonStopTimeout(t *testing.T) {
	o := InstallOptions{Binary: "/usr/bin/bbbfleet", Config: "/etc/bbbfleet/fleet.yaml"}
	d := Daemon(o)
	if !strings.Contains(d.Content, "KillMode=mixed\n") || !strings.Contains(d.Content, "TimeoutStopSec=960\n") {
		t.Errorf("daemon without KillMode=mixed and TimeoutStopSec=960 (16 min default):\n%s", d.Content)
	}
	o.StopWait = 26*time.Minute + 500*time.Millisecond
	if d := Daemon(o); !strings.Contains(d.Content, "TimeoutStopSec=1561\n") {
		t.Errorf("daemon with StopWait 26m0.5s:\n%s", d.Content)
	}
	if fs := Systemd(nil, o); !strings.Contains(fs[0].Content, "KillMode=mixed\nTimeoutStopSec=1561\n") {
		t.Errorf("oneshot service:\n%s", fs[0].Content)
	}
}

func TestReconcile(t *testing.T) {
	be := zone(t, "Europe/Berlin")
	up := rule(t, "warm-up", "30 6 * * *", be, Start, "a")
	down := rule(t, "shutdown", "0 22 * * *", be, Stop, "a")
	off := rule(t, "off", "0 22 * * *", be, Stop, "a")
	off.Power = true
	on := rule(t, "on", "30 6 * * *", be, Start, "a")
	on.Power = true
	rs := rule(t, "restart", "0 3 * * *", be, Restart, "a")
	d := func(r *Rule) Desired {
		return Desired{Targeted: true, OK: true, Rule: r, Action: r.Action, State: r.Action.State(), Since: time.Date(2026, 12, 8, 3, 0, 0, 0, be)}
	}
	for _, c := range []struct {
		d    Desired
		o    Observed
		want string
	}{
		{d(up), ObservedUp, "none"}, {d(up), ObservedDown, "start"}, {d(up), ObservedUnreachable, "unknown"},
		{d(on), ObservedUnreachable, "power-on + start"},
		{d(down), ObservedUp, "stop"}, {d(down), ObservedDown, "none"}, {d(down), ObservedUnreachable, "unknown"},
		{d(off), ObservedUp, "stop + power-off"}, {d(off), ObservedDown, "power-off"}, {d(off), ObservedUnreachable, "none"},
		{d(rs), ObservedUp, "restart"}, {d(rs), ObservedDown, "start"},
		{Desired{}, ObservedUp, "none"}, {d(up), ObservedNotRead, "none"},
	} {
		if got := Reconcile(c.d, c.o).String(); got != c.want {
			t.Errorf("%s (%s) observed %q: %s, want %s", c.d.Action, c.d.State, c.o, got, c.want)
		}
	}
}
