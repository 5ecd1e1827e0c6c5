package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/schedule"
)

const scheduleYAML = `
timezone: Europe/Berlin
servers:
  - {name: bbb1, host: bbb1.example.org, tags: [pool]}
  - {name: bbb2, host: bbb2.example.org, tags: [pool]}
  - {name: bbb3, host: bbb3.example.org, tags: [core]}
  - {name: bbb4, host: bbb4.example.org, tags: [cloud]}
schedules:
  - {name: warm-up, cron: "30 6 * * 1-5", action: start, targets: ["@pool", "@cloud"]}
  - {name: shutdown, cron: "0 22 * * *", action: stop, targets: ["@pool"], drain: 45m}
  - {name: power-off, cron: "0 22 * * *", action: stop, targets: ["@cloud"], power: true}
`

// a server whose BBB is stopped: SSH works, the API does not answer
func downCheck(name string) *ServerCheck {
	return &ServerCheck{Server: Server{Name: name}, Checks: []CheckResult{
		{Name: CheckSSH, Status: CheckOK, Message: "logged in"},
		{Name: CheckServices, Status: CheckCritical, Message: "bbb-web inactive, nginx inactive"},
		{Name: CheckAPI, Status: CheckCritical, Message: "connection refused"},
		{Name: CheckSecret, Status: CheckUnknown, Message: "not checked: the API did not answer"},
		{Name: CheckCertificate, Status: CheckCritical, Message: "TLS handshake with bbb1.example.org:443 failed: connection refused"},
		{Name: CheckDisk, Status: CheckOK, Message: "40%"},
	}}
}

// a powered-off server: nothing answers
func offCheck(name string) *ServerCheck {
	return &ServerCheck{Server: Server{Name: name}, Checks: []CheckResult{
		{Name: CheckSSH, Status: CheckCritical, Message: "no SSH login: no answer within 10s"},
		{Name: CheckServices, Status: CheckUnknown, Message: "not checked: ssh failed"},
		{Name: CheckAPI, Status: CheckCritical, Message: "no answer within 10s"},
		{Name: CheckDisk, Status: CheckUnknown, Message: "not checked: ssh failed"},
	}}
}

func TestApplySchedule(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(scheduleYAML))
	if err != nil {
		t.Fatal(err)
	}
	be, _ := time.LoadLocation("Europe/Berlin")
	night := time.Date(2026, 12, 8, 23, 15, 0, 0, be) // Tuesday 23:15
	morning := time.Date(2026, 12, 9, 9, 0, 0, 0, be) // Wednesday 09:00

	// At night: bbb1 (stopped by shutdown) is OK; bbb3 (no rule) is
	// CRITICAL as ever; bbb4 (powered off by power-off) is OK although
	// SSH does not answer; bbb2 stopped without power: no SSH is CRITICAL.
	rs := []*ServerCheck{downCheck("bbb1"), offCheck("bbb2"), downCheck("bbb3"), offCheck("bbb4")}
	for _, r := range rs {
		r.summarize()
	}
	ApplySchedule(rs, cfg.Schedule, night)
	if rs[0].Status != CheckOK {
		t.Errorf("bbb1: %s %+v", rs[0].Status, rs[0].Problems())
	}
	if m := rs[0].Get(CheckAPI).Message; m != "stopped by schedule `shutdown` since 22:00" {
		t.Errorf("bbb1 api message %q", m)
	}
	if rs[1].Status != CheckCritical || rs[1].Get(CheckSSH).Status != CheckCritical {
		t.Errorf("bbb2 (no power hook, no SSH): %s", rs[1].Status)
	}
	if rs[2].Status != CheckCritical {
		t.Errorf("bbb3 (no rule): %s", rs[2].Status)
	}
	if rs[3].Status != CheckOK {
		t.Errorf("bbb4 (powered off): %s %+v", rs[3].Status, rs[3].Problems())
	}

	// In the morning every targeted server should be up: down is CRITICAL
	// and says which rule wants it up.
	rs = []*ServerCheck{downCheck("bbb1"), offCheck("bbb4")}
	for _, r := range rs {
		r.summarize()
	}
	ApplySchedule(rs, cfg.Schedule, morning)
	for _, r := range rs {
		if r.Status != CheckCritical {
			t.Errorf("%s: %s", r.Server.Name, r.Status)
		}
		if m := r.Get(CheckAPI).Message; !strings.Contains(m, "(should be up: started by schedule `warm-up` since 06:30)") {
			t.Errorf("%s api message %q", r.Server.Name, m)
		}
	}

	// An expired certificate stays a problem on a stopped server.
	r := downCheck("bbb1")
	r.Checks[4] = CheckResult{Name: CheckCertificate, Status: CheckCritical, Message: "expired 3 days ago"}
	r.summarize()
	ApplySchedule([]*ServerCheck{r}, cfg.Schedule, night)
	if r.Status != CheckCritical || r.Get(CheckCertificate).Status != CheckCritical || r.Get(CheckAPI).Status != CheckOK {
		t.Errorf("expired certificate: %s %+v", r.Status, r.Checks)
	}
	// An up server is left alone whatever the schedule says.
	up := &ServerCheck{Server: Server{Name: "bbb1"}, Checks: []CheckResult{{Name: CheckAPI, Status: CheckOK}, {Name: CheckDisk, Status: CheckWarning}}}
	up.summarize()
	ApplySchedule([]*ServerCheck{up}, cfg.Schedule, night)
	if up.Status != CheckWarning {
		t.Errorf("up server: %s", up.Status)
	}
}

func TestClassify(t *testing.T) {
	refused := &bbb.TransportError{Kind: bbb.ConnRefused, Err: errors.New("connection refused")}
	expired := &bbb.TransportError{Kind: bbb.TLSExpired, Err: errors.New("certificate has expired")}
	sshErr := errors.New("bbb1: ssh: dial tcp 127.0.0.1:1: connection refused")
	for _, c := range []struct {
		api, ssh error
		want     schedule.Observed
		detail   string
	}{
		{nil, sshErr, schedule.ObservedUp, ""},
		{refused, nil, schedule.ObservedDown, "SSH login works; API: "},
		{refused, sshErr, schedule.ObservedUnreachable, "SSH: dial tcp 127.0.0.1:1: connection refused; API: "},
		{expired, nil, schedule.ObservedUnknown, "API answers wrongly: "},
		{&bbb.HTTPStatusError{StatusCode: 502}, nil, schedule.ObservedDown, "SSH login works"},
	} {
		o := Classify(c.api, c.ssh, "bbb1")
		if o.State != c.want || !strings.HasPrefix(o.Detail, c.detail) {
			t.Errorf("api %v, ssh %v: %s %q; want %s %q", c.api, c.ssh, o.State, o.Detail, c.want, c.detail)
		}
	}
}

// TestApplyScheduleScaleliteCordoned: a server the schedule stopped is
// cordoned (and soon offline) in Scalelite: that is its stopped state, not
// a warning; one Scalelite does not know stays a warning.
func TestApplyScheduleScaleliteCordoned(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(scheduleYAML))
	if err != nil {
		t.Fatal(err)
	}
	be, _ := time.LoadLocation("Europe/Berlin")
	night := time.Date(2026, 12, 8, 23, 15, 0, 0, be)
	cordoned := downCheck("bbb1")
	cordoned.Checks = append(cordoned.Checks, CheckResult{Name: CheckScalelite, Status: CheckWarning,
		Message: "cordoned, offline, load 0.0 (takes no new meetings)"})
	missing := downCheck("bbb2")
	missing.Checks = append(missing.Checks, CheckResult{Name: CheckScalelite, Status: CheckWarning,
		Message: scaleliteNotRegistered + " (no server with url https://bbb2.example.org/bigbluebutton/api)"})
	for _, r := range []*ServerCheck{cordoned, missing} {
		r.summarize()
	}
	ApplySchedule([]*ServerCheck{cordoned, missing}, cfg.Schedule, night)
	if cordoned.Status != CheckOK || cordoned.Get(CheckScalelite).Status != CheckOK {
		t.Errorf("cordoned by the schedule's stop: %s %+v", cordoned.Status, cordoned.Problems())
	}
	if missing.Get(CheckScalelite).Status != CheckWarning {
		t.Errorf("not registered: %+v", missing.Get(CheckScalelite))
	}
}
