package cmd

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

func f64(v float64) *float64 { return &v }

// goldenResults is a fixed three-server result: bbb1 healthy, bbb2 with a
// failed recording, bbb3 with a failed unit and a rejected secret.
func goldenResults() []*fleet.ServerCheck {
	ok := func(server, release string, api, cert float64) *fleet.ServerCheck {
		return &fleet.ServerCheck{
			Server: fleet.Server{Name: server, Host: server + ".example.org"}, Release: release, Duration: 84200 * time.Microsecond,
			Checks: []fleet.CheckResult{
				{Name: "ssh", Message: "logged in as root at " + server + ".example.org:22, host key verified", Value: f64(31.5), Unit: "ms"},
				{Name: "services", Message: "17 units active"},
				{Name: "api", Message: "SUCCESS in 12 ms, API 2.0", Value: f64(api), Unit: "ms"},
				{Name: "secret", Message: "signed call accepted (sha256)"},
				{Name: "version", Message: release},
				{Name: "certificate", Message: "valid for 62 days, until 2026-05-03", Value: f64(cert), Unit: "days"},
				{Name: "disk", Message: "/ 28% used, 58.0 GiB free; /var/bigbluebutton 24% used, 380.0 GiB free", Value: f64(27.5), Unit: "%"},
				{Name: "memory", Message: "31% used, 11.0 GiB of 16.0 GiB available", Value: f64(31.3), Unit: "%"},
				{Name: "load", Message: "0.04 per core over 5 min (load 0.42 0.35 0.30, 8 cores)", Value: f64(0.044)},
				{Name: "recordings", Message: "no failed recording steps", Value: f64(0)},
				{Name: "clock", Message: "offset +0.003 s (±0.002 s)", Value: f64(0.003), Unit: "s"},
			},
		}
	}
	b1, b2, b3 := ok("bbb1", "3.0.4", 12, 62.4), ok("bbb2", "3.0.4", 9.5, 62.4), ok("bbb3", "3.0.4", 14.25, 30)
	b2.Checks[9] = fleet.CheckResult{Name: "recordings", Status: fleet.CheckWarning, Message: "1 failed recording step: processed/abc-presentation.fail (bbb-record --rebuild ID)", Value: f64(1)}
	b3.Checks[1] = fleet.CheckResult{Name: "services", Status: fleet.CheckCritical, Message: "bbb-web failed"}
	b3.Checks[3] = fleet.CheckResult{Name: "secret", Status: fleet.CheckCritical, Message: "rejected by the server (checksumError): run `bbbfleet secret fetch bbb3`"}
	for _, r := range []*fleet.ServerCheck{b1, b2, b3} {
		for _, c := range r.Checks {
			r.Status = fleet.WorstStatus(r.Status, c.Status)
		}
	}
	return []*fleet.ServerCheck{b1, b2, b3}
}

var goldenTime = time.Date(2026, 3, 2, 6, 45, 0, 0, time.UTC)

func goldenReport() *checkReport {
	return buildCheckReport(goldenResults(), fleet.CheckNames, goldenTime)
}

func TestCheckNagiosGolden(t *testing.T) {
	var b bytes.Buffer
	if err := writeNagios(&b, goldenReport(), fleet.DefaultCheckThresholds, false); err != nil {
		t.Fatal(err)
	}
	want := "BBBFLEET CRITICAL - 1/3 servers critical, 1 warning: bbb3 services: bbb-web failed (+2 more)" +
		" | servers_ok=1;;;0;3 servers_warning=1;;;0;3 servers_critical=1;;;0;3 servers_unknown=0;;;0;3\n" +
		"[CRITICAL] bbb3 services: bbb-web failed\n" +
		"[CRITICAL] bbb3 secret: rejected by the server (checksumError): run `bbbfleet secret fetch bbb3`\n" +
		"[WARNING] bbb2 recordings: 1 failed recording step: processed/abc-presentation.fail (bbb-record --rebuild ID)\n" +
		"| bbb1_ssh_ms=31.5ms;;;0 bbb1_api_ms=12ms;;;0 bbb1_certificate_days=62.4;14:;3: bbb1_disk_used=27.5%;85;95;0;100" +
		" bbb1_memory_used=31.3%;90;97;0;100 bbb1_load_per_core=0.044;1.5;3;0 bbb1_recordings_failed=0;0;;0 bbb1_clock_offset=0.003s;-2:2;-30:30" +
		" bbb2_ssh_ms=31.5ms;;;0 bbb2_api_ms=9.5ms;;;0 bbb2_certificate_days=62.4;14:;3: bbb2_disk_used=27.5%;85;95;0;100" +
		" bbb2_memory_used=31.3%;90;97;0;100 bbb2_load_per_core=0.044;1.5;3;0 bbb2_recordings_failed=1;0;;0 bbb2_clock_offset=0.003s;-2:2;-30:30" +
		" bbb3_ssh_ms=31.5ms;;;0 bbb3_api_ms=14.25ms;;;0 bbb3_certificate_days=30;14:;3: bbb3_disk_used=27.5%;85;95;0;100" +
		" bbb3_memory_used=31.3%;90;97;0;100 bbb3_load_per_core=0.044;1.5;3;0 bbb3_recordings_failed=0;0;;0 bbb3_clock_offset=0.003s;-2:2;-30:30\n"
	if got := b.String(); got != want {
		t.Errorf("nagios output:\n%s\nwant:\n%s", got, want)
	}

	// All OK: the short status line; --details lists every check.
	ok := goldenResults()[:1]
	b.Reset()
	writeNagios(&b, buildCheckReport(ok, fleet.CheckNames, goldenTime), fleet.DefaultCheckThresholds, true)
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "BBBFLEET OK - 1/1 servers ok | servers_ok=1;;;0;1 servers_warning=0;;;0;1 servers_critical=0;;;0;1 servers_unknown=0;;;0;1" || lines[1] != "[OK] bbb1 ssh: logged in as root at bbb1.example.org:22, host key verified" || len(lines) != 14 {
		t.Errorf("details:\n%s", b.String())
	}

	// Perfdata labels that need it are quoted; text never carries a "|".
	if perfLabel("my server_api_ms") != "'my server_api_ms'" || perfLabel("it's") != "'it''s'" || perfLabel("bbb1_api_ms") != "bbb1_api_ms" {
		t.Error("perfLabel")
	}
	if nagiosText("a|b\nc") != "a/b c" {
		t.Error("nagiosText")
	}
	// UNKNOWN only (a missing secret) is exit 3.
	u := goldenResults()[:1]
	u[0].Checks[3] = fleet.NotChecked("secret", "no API secret")
	u[0].Status = fleet.CheckUnknown
	rep := buildCheckReport(u, fleet.CheckNames, goldenTime)
	if l := nagiosStatusLine(rep); rep.ExitCode != 3 || l != "BBBFLEET UNKNOWN - 1/1 servers unknown: bbb1 secret: not checked: no API secret" {
		t.Errorf("exit %d %q", rep.ExitCode, l)
	}
}

func TestCheckPrometheusGolden(t *testing.T) {
	var b bytes.Buffer
	if err := ui.WritePrometheus(&b, checkGauges(goldenReport())); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	var want strings.Builder
	want.WriteString(`# HELP bbbfleet_check_fleet_status Worst status over every checked server (the exit code).
# TYPE bbbfleet_check_fleet_status gauge
bbbfleet_check_fleet_status 2
# HELP bbbfleet_check_server_status Worst check status of the server: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
# TYPE bbbfleet_check_server_status gauge
bbbfleet_check_server_status{server="bbb1"} 0
bbbfleet_check_server_status{server="bbb2"} 1
bbbfleet_check_server_status{server="bbb3"} 2
# HELP bbbfleet_check_status Status of one check of one server: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
# TYPE bbbfleet_check_status gauge
`)
	status := map[string]map[string]string{"bbb2": {"recordings": "1"}, "bbb3": {"services": "2", "secret": "2"}}
	for _, s := range []string{"bbb1", "bbb2", "bbb3"} {
		for _, c := range fleet.CheckNames {
			v := status[s][c]
			if v == "" {
				v = "0"
			}
			want.WriteString(`bbbfleet_check_status{check="` + c + `",server="` + s + `"} ` + v + "\n")
		}
	}
	fam := func(name, help string, vals ...string) {
		want.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n")
		for i, v := range vals {
			want.WriteString(name + `{server="bbb` + string(rune('1'+i)) + `"} ` + v + "\n")
		}
	}
	fam("bbbfleet_check_ssh_login_seconds", "Time to log in over SSH.", "0.0315", "0.0315", "0.0315")
	fam("bbbfleet_check_api_latency_seconds", "Latency of the API root call.", "0.012", "0.0095", "0.01425")
	fam("bbbfleet_check_certificate_expiry_days", "Days until the API host's TLS certificate expires (negative: expired).", "62.4", "62.4", "30")
	fam("bbbfleet_check_disk_used_ratio", "Used share of the fuller of / and the file system of /var/bigbluebutton.", "0.275", "0.275", "0.275")
	fam("bbbfleet_check_memory_used_ratio", "Used share of memory (MemTotal - MemAvailable).", "0.313", "0.313", "0.313")
	fam("bbbfleet_check_load_per_core", "5-minute load average divided by the core count.", "0.044", "0.044", "0.044")
	fam("bbbfleet_check_recordings_failed", "Failed recording processing steps (*.fail files).", "0", "1", "0")
	fam("bbbfleet_check_clock_offset_seconds", "The server's clock minus ours.", "0.003", "0.003", "0.003")
	want.WriteString(`# HELP bbbfleet_check_release_info The BBB release a server runs (always 1).
# TYPE bbbfleet_check_release_info gauge
bbbfleet_check_release_info{release="3.0.4",server="bbb1"} 1
bbbfleet_check_release_info{release="3.0.4",server="bbb2"} 1
bbbfleet_check_release_info{release="3.0.4",server="bbb3"} 1
# HELP bbbfleet_check_timestamp_seconds When the check ran (Unix time), to alert on a stale file.
# TYPE bbbfleet_check_timestamp_seconds gauge
bbbfleet_check_timestamp_seconds 1.7724339e+09
`)
	if got != want.String() {
		t.Errorf("prometheus output:\n%s\nwant:\n%s", got, want.String())
	}

	// The official text-format parser reads it, with every family a gauge.
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(got))
	if err != nil {
		t.Fatalf("expfmt: %v", err)
	}
	if len(fams) != 13 {
		t.Errorf("%d families", len(fams))
	}
	st := fams["bbbfleet_check_status"]
	if st == nil || len(st.GetMetric()) != 33 || st.GetType().String() != "GAUGE" {
		t.Fatalf("bbbfleet_check_status: %v", st)
	}
	found := false
	for _, m := range st.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["server"] == "bbb3" && labels["check"] == "services" && m.GetGauge().GetValue() == 2 {
			found = true
		}
	}
	if !found {
		t.Error("bbb3 services = 2 not found")
	}
	if ts := fams["bbbfleet_check_timestamp_seconds"].GetMetric()[0].GetGauge().GetValue(); ts != float64(goldenTime.Unix()) {
		t.Errorf("timestamp %v", ts)
	}
}

func TestCheckTableOnTerminal(t *testing.T) {
	var out, errOut bytes.Buffer
	app := &App{IO: &ui.IO{Out: &out, ErrOut: &errOut, OutTTY: true, Color: true}}
	if err := app.renderCheck("table", goldenReport(), false); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"✔ 3.0.4", "✔ 12ms", "✔ 62d", "✔ 28%", "! 1", "✘", "CRITICAL: 1/3 servers ok, 1 critical, 1 warning",
		"bbb3 services: bbb-web failed\n", "\x1b[", "RECORDINGS"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if i, j := strings.Index(s, "bbb3 services"), strings.Index(s, "bbb2 recordings"); i < 0 || j < i {
		t.Errorf("problems not worst first:\n%s", s)
	}
	out.Reset()
	app.IO.Color = false
	app.renderCheck("table", goldenReport(), true)
	if s := out.String(); !strings.Contains(s, "✔ OK") || !strings.Contains(s, "rejected by the server") || strings.Contains(s, "\x1b[") {
		t.Errorf("details table:\n%s", s)
	}
	out.Reset()
	app.IO.OutTTY = false
	app.renderCheck("tsv", goldenReport(), true)
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 34 || lines[0] != "SERVER\tCHECK\tSTATUS\tVALUE\tMESSAGE" ||
		lines[3] != "bbb1\tapi\tOK\t12ms\tSUCCESS in 12 ms, API 2.0" {
		t.Errorf("tsv details:\n%s", out.String())
	}
}

func TestCheckHelpDocumentsExitStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run(t.Context(), []string{"check", "--help"}, ui.Test(&out, &errOut)); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"EXIT STATUS", "0  OK", "1  WARNING", "2  CRITICAL", "3  UNKNOWN", "--only", "--skip", "--details"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestPerfNumNoNegativeZero(t *testing.T) {
	if got := perfNum(math.Copysign(0, -1)); got != "0" {
		t.Errorf("perfNum(-0) = %q", got)
	}
	if got := perfNum(-0.25); got != "-0.25" {
		t.Errorf("perfNum(-0.25) = %q", got)
	}
}

// On an 80-column terminal the check table fits without wrapping; --details
// keeps every message whole (wrapped within its cell), as JSON and Nagios
// do.
func TestCheckTableFitsAndKeepsMessages(t *testing.T) {
	hk := "HOST KEY CHANGED for 127.0.0.3:22: it presented ssh-ed25519 SHA256:v0iOabcdefghijklmnopqrstuvwxyz0123456789Xm0 but the recorded key is at /home/admin/.ssh/known_hosts:17; " +
		"if the server was reinstalled, remove that line with `ssh-keygen -R 127.0.0.3`"
	results := goldenResults()
	results[0].Checks[0] = fleet.CheckResult{Name: "ssh", Status: fleet.CheckCritical, Message: hk}
	results[0].Status = fleet.CheckCritical
	rep := buildCheckReport(results, fleet.CheckNames, goldenTime)
	var out, errOut bytes.Buffer
	app := &App{IO: &ui.IO{Out: &out, ErrOut: &errOut, OutTTY: true, Width: 80}}
	if err := app.renderCheck("table", rep, false); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if w := runewidth.StringWidth(l); w > 80 && strings.HasPrefix(l, "╭") || strings.HasPrefix(l, "│") && w > 80 {
			t.Fatalf("table line of %d columns:\n%s", w, out.String())
		}
	}
	if !strings.Contains(out.String(), "bbb1 ssh: "+hk) {
		t.Errorf("problem line not whole:\n%s", out.String())
	}
	out.Reset()
	app.renderCheck("table", rep, true)
	flat := strings.Join(strings.Fields(strings.NewReplacer("│", " ").Replace(out.String())), "")
	if !strings.Contains(flat, strings.Join(strings.Fields(hk), "")) {
		t.Errorf("--details lost part of the message:\n%s", out.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if w := runewidth.StringWidth(l); w > 80 {
			t.Fatalf("details line of %d columns:\n%s", w, out.String())
		}
	}
	out.Reset()
	writeNagios(&out, rep, fleet.DefaultCheckThresholds, true)
	if !strings.Contains(out.String(), "[CRITICAL] bbb1 ssh: "+hk+"\n") {
		t.Errorf("nagios long text lost the message:\n%s", out.String())
	}
	out.Reset()
	app.IO.JSON(rep)
	if !strings.Contains(out.String(), "known_hosts:17; if the server was reinstalled, remove that line with `ssh-keygen -R 127.0.0.3`\"") {
		t.Errorf("json lost the message:\n%s", out.String())
	}
}
