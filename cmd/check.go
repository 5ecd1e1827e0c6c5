package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

const checkHelp = `Check the health of every selected server, in parallel:

  ssh          SSH login works, host key verified (value: login time, ms)
  services     bbb-conf --status: a unit failed or inactive is CRITICAL,
               activating (or any other state but active) is WARNING
  api          the API root call answers SUCCESS (value: latency, ms)
  secret       a signed call (isMeetingRunning) is accepted; UNKNOWN when
               no secret is configured
  version      the release in /etc/bigbluebutton/bigbluebutton-release; a
               server not on the most common release of the whole fleet
               is WARNING, naming both releases (when only some servers
               are checked, the others' releases are read too: one short
               SSH command each)
  certificate  days until the API host's TLS certificate expires, read from
               a TLS handshake (no SSH): WARNING under
               certificate_warning_days, CRITICAL under
               certificate_critical_days, expired, wrong name or unknown
               authority; an http:// API URL is OK ("http, no certificate")
  disk         space used on / and on the file system of /var/bigbluebutton
  memory       memory used (MemTotal - MemAvailable)
  load         5-minute load average per core
  recordings   *.fail files under /var/bigbluebutton/recording/status/
               (recording processing that failed): WARNING with the count
  clock        the server's clock against ours: over clock_skew_warning
               is WARNING, over clock_skew_critical CRITICAL

Thresholds come from the check: section of the config (see bbbfleet init).
All SSH checks of a server share one connection and one remote command.
A server that cannot be reached over SSH gets ssh CRITICAL and its other
SSH checks UNKNOWN ("not checked: ssh failed"); its API and certificate
checks still run. --timeout bounds each server: what has not answered by
then is reported as such, and the rest of that server's results are kept.

The schedule counts: a server whose schedule wants it stopped (see
bbbfleet schedule plan) and whose BBB does not answer is OK, its checks
saying "stopped by schedule ` + "`shutdown`" + ` since 22:00"; one that should be up and
is not stays CRITICAL and names the rule that wants it up.

Formats: table (terminal: a symbol per check, ✔ OK, ! WARNING, ✘ CRITICAL,
? UNKNOWN, then the problems), tsv (pipe: status words; the problems go to
stderr), json (every check of every server, schema in README.md), nagios
(monitoring-plugin output with performance data) and prometheus (text
format for node_exporter's textfile collector). --details adds every
check's message (table: a second table; tsv: one row per check instead;
nagios: every check in the long text).

EXIT STATUS
  check follows the monitoring-plugin convention in every output mode:
    0  OK        every check of every server is OK
    1  WARNING   at least one WARNING, no CRITICAL
    2  CRITICAL  at least one CRITICAL
    3  UNKNOWN   some check could not run, nothing worse
  Usage and configuration errors exit 2 as for every command, except with
  -o nagios (or BBBFLEET_OUTPUT=nagios), where they exit 3 with a line
  "BBBFLEET UNKNOWN - ..." on stdout, as monitoring plugins do. Ctrl-C
  exits 130; with -o nagios, SIGINT or SIGTERM prints "BBBFLEET UNKNOWN -
  interrupted ..." and exits 3.`

type checkFlags struct {
	only, skip []string
	details    bool
}

func newCheckCmd(app *App) *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check [TARGETS]",
		Short: "Health of the fleet for people, scripts and monitoring (exit 0/1/2/3)",
		Long:  checkHelp,
		Example: `  bbbfleet check
  bbbfleet check @pool --details
  bbbfleet check --only api,secret,certificate -o json
  bbbfleet check -o nagios               # as an Icinga/Nagios check command
  bbbfleet check -o prometheus > /var/lib/node_exporter/textfile/bbbfleet_check.prom`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(app, args, fl)
		},
	}
	cmd.Flags().StringSliceVar(&fl.only, "only", nil, "run only these checks (comma list: "+strings.Join(fleet.AllCheckNames, ",")+")")
	cmd.Flags().StringSliceVar(&fl.skip, "skip", nil, "skip these checks (comma list)")
	cmd.Flags().BoolVar(&fl.details, "details", false, "show every check's message")
	complete := func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completeCommaList(fleet.AllCheckNames, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	_ = cmd.RegisterFlagCompletionFunc("only", complete)
	_ = cmd.RegisterFlagCompletionFunc("skip", complete)
	app.onUsageError(cmd, app.checkUsageError)
	return cmd
}

func runCheck(app *App, args []string, fl checkFlags) error {
	format, err := app.outputFormat("nagios", "prometheus")
	if err != nil {
		return err
	}
	checks, err := fleet.SelectChecks(fl.only, fl.skip)
	if errors.Is(err, fleet.ErrNoChecksLeft) {
		err = fmt.Errorf("%w after --only and --skip", err)
	}
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	servers, env, err := app.targetsEnv(args, true, true)
	if err != nil {
		return err
	}
	defer env.Close()
	if checks, err = env.Config.ApplicableChecks(checks); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	now := time.Now()
	results := env.Check(app.Context(), servers, fleet.CheckOptions{Checks: checks, Fleet: env.Config.Servers})
	if err := app.Context().Err(); err != nil {
		return err
	}
	rep := buildCheckReport(results, checks, now)
	rep.HostKeysRecorded = hostKeysJSON(env)
	switch format {
	case "json":
		err = app.IO.JSON(rep)
	case "nagios":
		err = writeNagios(app.IO.Out, rep, env.Config.Check, fl.details)
		// The plugin output is complete: its code stands even if a
		// signal arrives now.
		app.keepCode = true
	case "prometheus":
		err = ui.WritePrometheus(app.IO.Out, checkGauges(rep))
	default:
		err = app.renderCheck(format, rep, fl.details)
	}
	if err != nil {
		return err
	}
	if rep.ExitCode != 0 {
		return silentExit(rep.ExitCode)
	}
	return nil
}

// checkReport is the stable -o json schema of `bbbfleet check` (also
// documented in README.md):
//
//	{
//	  "time": "2026-03-02T07:45:00Z",     // when the check started (UTC)
//	  "status": "CRITICAL",               // overall: the worst of all checks
//	  "exit_code": 2,                     // 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//	  "checks": ["ssh", "services", ...], // the checks that ran, in order
//	  "summary": {"servers": 3, "ok": 2, "warning": 0, "critical": 1, "unknown": 0},
//	  "servers": [{
//	    "server": "bbb3", "host": "bbb3.example.org",
//	    "status": "CRITICAL",             // the worst of its checks
//	    "release": "3.0.4",               // "" when not read
//	    "duration_ms": 84.2,
//	    "checks": [{
//	      "name": "services", "status": "CRITICAL",
//	      "message": "bbb-web failed",    // one line
//	      "value": null,                  // a number, or null when the check has none
//	      "unit": ""                      // "ms", "%", "days", "s" or "" (count, ratio)
//	    }, ...]
//	  }, ...],
//	  "host_keys_recorded": [...]         // only when accept-new recorded keys: see hostKeysJSONDoc
//	}
//
// Statuses are the strings OK, WARNING, CRITICAL, UNKNOWN. Values: ssh and
// api in ms, certificate in days left (negative once expired), disk (the
// fuller of / and /var/bigbluebutton) and memory in percent used, load per
// core (5-minute average), recordings the count of *.fail files, clock the
// offset in seconds (positive: the server is ahead).
type checkReport struct {
	Time     time.Time         `json:"time"`
	Status   string            `json:"status"`
	ExitCode int               `json:"exit_code"`
	Checks   []string          `json:"checks"`
	Summary  checkSummary      `json:"summary"`
	Servers  []checkServerJSON `json:"servers"`
	// HostKeysRecorded: see hostKeysJSONDoc.
	HostKeysRecorded []hostKeyJSON `json:"host_keys_recorded,omitempty"`

	status fleet.CheckStatus
}

type checkSummary struct {
	Servers  int `json:"servers"`
	OK       int `json:"ok"`
	Warning  int `json:"warning"`
	Critical int `json:"critical"`
	Unknown  int `json:"unknown"`
}

type checkServerJSON struct {
	Server     string            `json:"server"`
	Host       string            `json:"host"`
	Status     string            `json:"status"`
	Release    string            `json:"release"`
	DurationMS float64           `json:"duration_ms"`
	Checks     []checkResultJSON `json:"checks"`

	status fleet.CheckStatus
}

type checkResultJSON struct {
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Message string   `json:"message"`
	Value   *float64 `json:"value"`
	Unit    string   `json:"unit"`

	status fleet.CheckStatus
}

func buildCheckReport(results []*fleet.ServerCheck, checks []string, now time.Time) *checkReport {
	rep := &checkReport{Time: now.UTC().Truncate(time.Second), Checks: checks, Servers: []checkServerJSON{}}
	for _, r := range results {
		sj := checkServerJSON{Server: r.Server.Name, Host: r.Server.Host, Status: r.Status.String(), status: r.Status,
			Release: r.Release, DurationMS: round3(float64(r.Duration.Microseconds()) / 1000)}
		for _, c := range r.Checks {
			sj.Checks = append(sj.Checks, checkResultJSON{Name: c.Name, Status: c.Status.String(), Message: checkMessage(c),
				Value: c.Value, Unit: c.Unit, status: c.Status})
		}
		rep.Servers = append(rep.Servers, sj)
	}
	sum, worst := fleet.SummarizeChecks(results)
	rep.Summary = checkSummary{Servers: sum.Servers, OK: sum.OK, Warning: sum.Warning, Critical: sum.Critical, Unknown: sum.Unknown}
	rep.status, rep.Status, rep.ExitCode = worst, worst.String(), int(worst)
	return rep
}

// checkProblem is one check that is not OK.
type checkProblem struct {
	server string
	check  checkResultJSON
}

// String is the problem as one line; the message (which may quote what a
// server sent: unit names, certificate names) is cleaned for the terminal.
func (p checkProblem) String() string {
	return p.server + " " + p.check.Name + ": " + ui.Clean(p.check.Message)
}

// problems lists every check that is not OK (all checks with all=true),
// worst first, then in server and check order.
func (rep *checkReport) problems(all bool) []checkProblem {
	var out []checkProblem
	for _, s := range rep.Servers {
		for _, c := range s.Checks {
			if all || c.status != fleet.CheckOK {
				out = append(out, checkProblem{server: s.Server, check: c})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].check.status.Worse(out[j].check.status) })
	return out
}

// ---- table and tsv ----

var checkSymbols = map[fleet.CheckStatus]string{
	fleet.CheckOK: "✔", fleet.CheckWarning: "!", fleet.CheckCritical: "✘", fleet.CheckUnknown: "?",
}

func checkTone(s fleet.CheckStatus) ui.Tone {
	switch s {
	case fleet.CheckOK:
		return ui.Good
	case fleet.CheckWarning:
		return ui.Warn
	case fleet.CheckCritical:
		return ui.Bad
	}
	return ui.Faint
}

func checkHeader(name string) string {
	if name == fleet.CheckCertificate {
		return "CERT"
	}
	return strings.ToUpper(name)
}

// checkShortHeader is a check's column header on a narrow terminal.
func checkShortHeader(name string) string {
	switch name {
	case fleet.CheckServices:
		return "SVC"
	case fleet.CheckSecret:
		return "SEC"
	case fleet.CheckVersion:
		return "VER"
	case fleet.CheckMemory:
		return "MEM"
	case fleet.CheckRecordings:
		return "REC"
	case fleet.CheckClock:
		return "CLK"
	}
	return checkHeader(name)
}

// shortValue is the compact figure shown beside a symbol in the table.
func shortValue(c checkResultJSON, release string) string {
	if c.status == fleet.CheckUnknown {
		return ""
	}
	if c.Name == fleet.CheckVersion {
		return ui.Clean(release)
	}
	if c.Name == fleet.CheckCertificate && c.Value == nil && strings.HasPrefix(c.Message, "http") {
		return "http"
	}
	if c.Value == nil {
		return ""
	}
	v := *c.Value
	switch c.Name {
	case fleet.CheckAPI:
		return fmt.Sprintf("%.0fms", v)
	case fleet.CheckCertificate:
		return fmt.Sprintf("%.0fd", v)
	case fleet.CheckDisk, fleet.CheckMemory:
		return fmt.Sprintf("%.0f%%", v)
	case fleet.CheckLoad:
		return fmt.Sprintf("%.2f", v)
	case fleet.CheckRecordings:
		return fmt.Sprintf("%.0f", v)
	case fleet.CheckClock:
		return fmt.Sprintf("%+.1fs", v)
	}
	return ""
}

func (app *App) renderCheck(format string, rep *checkReport, details bool) error {
	if format == "tsv" && details {
		return app.render(format, detailsTable(rep, false))
	}
	t := ui.Table{Headers: []string{"SERVER", "STATUS"}, Columns: []ui.Column{{}, {}}}
	for i, n := range rep.Checks {
		t.Headers = append(t.Headers, checkHeader(n))
		// On a narrow terminal: short headers and bare symbols first, then
		// the columns where every server is OK go (the problems below the
		// table name every other check).
		col := ui.Column{Short: checkShortHeader(n), Compact: func(c string) string { s, _, _ := strings.Cut(c, " "); return s }, Drop: 2}
		for _, s := range rep.Servers {
			if i < len(s.Checks) && s.Checks[i].status != fleet.CheckOK {
				col.Drop = 1
			}
		}
		t.Columns = append(t.Columns, col)
	}
	var tones [][]ui.Tone
	for _, s := range rep.Servers {
		row := []string{s.Server, s.Status}
		tr := []ui.Tone{ui.Plain, checkTone(s.status)}
		for _, c := range s.Checks {
			cell := c.Status
			if format == "table" {
				cell = checkSymbols[c.status]
				if v := shortValue(c, s.Release); v != "" {
					cell += " " + v
				}
			}
			row = append(row, cell)
			tr = append(tr, checkTone(c.status))
		}
		t.Rows = append(t.Rows, row)
		tones = append(tones, tr)
	}
	t.Tone = func(row, col int, _ string) ui.Tone {
		if row < len(tones) && col < len(tones[row]) {
			return tones[row][col]
		}
		return ui.Plain
	}
	if err := app.render(format, t); err != nil {
		return err
	}
	if format == "tsv" {
		for _, p := range rep.problems(false) {
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s %s\n", p.check.Status, p)
		}
		return nil
	}
	if details {
		return app.render(format, detailsTable(rep, true))
	}
	fmt.Fprintln(app.IO.Out, checkSummaryLine(rep))
	for _, p := range rep.problems(false) {
		fmt.Fprintf(app.IO.Out, "%s %s\n", app.IO.Paint(checkTone(p.check.status), checkSymbols[p.check.status]), p)
	}
	return nil
}

func checkSummaryLine(rep *checkReport) string {
	s := rep.Summary
	parts := []string{fmt.Sprintf("%d/%d servers ok", s.OK, s.Servers)}
	for _, x := range []struct {
		n    int
		word string
	}{{s.Critical, "critical"}, {s.Warning, "warning"}, {s.Unknown, "unknown"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.word))
		}
	}
	return rep.Status + ": " + strings.Join(parts, ", ")
}

func detailsTable(rep *checkReport, symbols bool) ui.Table {
	// The message wraps within its cell on a narrow terminal: --details
	// shows it whole.
	t := ui.Table{Headers: []string{"SERVER", "CHECK", "STATUS", "VALUE", "MESSAGE"},
		Columns: []ui.Column{{}, {}, {}, {}, {Wrap: true}}}
	var tones []ui.Tone
	for _, s := range rep.Servers {
		for _, c := range s.Checks {
			st := c.Status
			if symbols {
				st = checkSymbols[c.status] + " " + c.Status
			}
			v := ""
			if c.Value != nil {
				v = strconv.FormatFloat(*c.Value, 'f', -1, 64) + c.Unit
				if c.Unit == "days" {
					v = strconv.FormatFloat(*c.Value, 'f', -1, 64) + " days"
				}
			}
			t.Rows = append(t.Rows, []string{s.Server, c.Name, st, v, ui.Clean(c.Message)})
			tones = append(tones, checkTone(c.status))
		}
	}
	t.Tone = func(row, col int, _ string) ui.Tone {
		if col == 2 && row < len(tones) {
			return tones[row]
		}
		return ui.Plain
	}
	return t
}

// ---- nagios ----

// writeNagios writes the monitoring-plugin output: the status line, one
// long-text line per problem (every check with details), then the
// performance data after "|" in the plugin guidelines' syntax
// 'label'=value[UOM];[warn];[crit];[min];[max].
func writeNagios(w io.Writer, rep *checkReport, th fleet.CheckThresholds, details bool) error {
	// The plugin format: "TEXT | PERFDATA", long text lines, then "| MORE
	// PERFDATA". The fleet's counts go on the first line, which every
	// parser reads; the per-server figures follow the long text.
	perf := nagiosPerfdata(rep, th)
	var b strings.Builder
	b.WriteString(nagiosStatusLine(rep))
	b.WriteString(" | ")
	b.WriteString(strings.Join(perf[:4], " "))
	b.WriteByte('\n')
	for _, p := range rep.problems(details) {
		fmt.Fprintf(&b, "[%s] %s\n", p.check.Status, nagiosText(p.String()))
	}
	if len(perf) > 4 {
		b.WriteString("| ")
		b.WriteString(strings.Join(perf[4:], " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// nagiosText keeps "|" (the perfdata separator) and line breaks out of text.
func nagiosText(s string) string {
	return strings.NewReplacer("|", "/", "\n", " ", "\r", " ").Replace(s)
}

func nagiosStatusLine(rep *checkReport) string {
	s := rep.Summary
	n := s.Servers
	if n == 0 {
		return "BBBFLEET UNKNOWN - no servers selected"
	}
	if rep.status == fleet.CheckOK {
		return fmt.Sprintf("BBBFLEET OK - %d/%d servers ok", s.OK, n)
	}
	counts := []struct {
		st fleet.CheckStatus
		n  int
	}{{fleet.CheckCritical, s.Critical}, {fleet.CheckWarning, s.Warning}, {fleet.CheckUnknown, s.Unknown}}
	var parts []string
	for _, c := range counts {
		if c.n == 0 {
			continue
		}
		word := strings.ToLower(c.st.String())
		if len(parts) == 0 {
			parts = append(parts, fmt.Sprintf("%d/%d servers %s", c.n, n, word))
		} else {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, word))
		}
	}
	line := "BBBFLEET " + rep.Status + " - " + strings.Join(parts, ", ")
	if ps := rep.problems(false); len(ps) > 0 {
		line += ": " + nagiosText(ps[0].String())
		if len(ps) > 1 {
			line += fmt.Sprintf(" (+%d more)", len(ps)-1)
		}
	}
	return line
}

// perfLabel quotes a label when the guidelines require it (spaces, '=',
// quotes): 'my label'=..., with ' doubled.
func perfLabel(l string) string {
	if strings.ContainsAny(l, " ='\"\t") {
		return "'" + strings.ReplaceAll(l, "'", "''") + "'"
	}
	return l
}

func perfNum(v float64) string {
	if v == 0 { // also -0, which would print as "-0"
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func nagiosPerfdata(rep *checkReport, th fleet.CheckThresholds) []string {
	n := strconv.Itoa(rep.Summary.Servers)
	out := []string{
		"servers_ok=" + strconv.Itoa(rep.Summary.OK) + ";;;0;" + n,
		"servers_warning=" + strconv.Itoa(rep.Summary.Warning) + ";;;0;" + n,
		"servers_critical=" + strconv.Itoa(rep.Summary.Critical) + ";;;0;" + n,
		"servers_unknown=" + strconv.Itoa(rep.Summary.Unknown) + ";;;0;" + n,
	}
	skewW, skewC := perfNum(th.ClockSkewWarning.D().Seconds()), perfNum(th.ClockSkewCritical.D().Seconds())
	for _, s := range rep.Servers {
		for _, c := range s.Checks {
			if c.Value == nil {
				continue
			}
			v := perfNum(*c.Value)
			var label, rest string
			switch c.Name {
			case fleet.CheckSSH:
				label, rest = "ssh_ms", v+"ms;;;0"
			case fleet.CheckAPI:
				label, rest = "api_ms", v+"ms;;;0"
			case fleet.CheckCertificate:
				label, rest = "certificate_days", fmt.Sprintf("%s;%d:;%d:", v, th.CertWarningDays, th.CertCriticalDays)
			case fleet.CheckDisk:
				label, rest = "disk_used", fmt.Sprintf("%s%%;%d;%d;0;100", v, th.DiskWarningPct, th.DiskCriticalPct)
			case fleet.CheckMemory:
				label, rest = "memory_used", fmt.Sprintf("%s%%;%d;%d;0;100", v, th.MemoryWarningPct, th.MemoryCriticalPct)
			case fleet.CheckLoad:
				label, rest = "load_per_core", fmt.Sprintf("%s;%s;%s;0", v, perfNum(th.LoadWarningPerCPU), perfNum(th.LoadCriticalPerCP))
			case fleet.CheckRecordings:
				label, rest = "recordings_failed", v+";0;;0"
			case fleet.CheckClock:
				label, rest = "clock_offset", fmt.Sprintf("%ss;-%s:%s;-%s:%s", v, skewW, skewW, skewC, skewC)
			default:
				continue
			}
			out = append(out, perfLabel(s.Server+"_"+label)+"="+rest)
		}
	}
	return out
}

// ---- prometheus ----

// checkValueFamilies maps a check's value to its gauge family, in base
// units (seconds, ratios).
var checkValueFamilies = []struct {
	check, name, help string
	scale             float64
}{
	{fleet.CheckSSH, "bbbfleet_check_ssh_login_seconds", "Time to log in over SSH.", 0.001},
	{fleet.CheckAPI, "bbbfleet_check_api_latency_seconds", "Latency of the API root call.", 0.001},
	{fleet.CheckCertificate, "bbbfleet_check_certificate_expiry_days", "Days until the API host's TLS certificate expires (negative: expired).", 1},
	{fleet.CheckDisk, "bbbfleet_check_disk_used_ratio", "Used share of the fuller of / and the file system of /var/bigbluebutton.", 0.01},
	{fleet.CheckMemory, "bbbfleet_check_memory_used_ratio", "Used share of memory (MemTotal - MemAvailable).", 0.01},
	{fleet.CheckLoad, "bbbfleet_check_load_per_core", "5-minute load average divided by the core count.", 1},
	{fleet.CheckRecordings, "bbbfleet_check_recordings_failed", "Failed recording processing steps (*.fail files).", 1},
	{fleet.CheckClock, "bbbfleet_check_clock_offset_seconds", "The server's clock minus ours.", 1},
}

func checkGauges(rep *checkReport) []ui.Gauge {
	status := ui.Gauge{Name: "bbbfleet_check_status", Help: "Status of one check of one server: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."}
	server := ui.Gauge{Name: "bbbfleet_check_server_status", Help: "Worst check status of the server: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."}
	release := ui.Gauge{Name: "bbbfleet_check_release_info", Help: "The BBB release a server runs (always 1)."}
	values := map[string]*ui.Gauge{}
	for _, f := range checkValueFamilies {
		values[f.check] = &ui.Gauge{Name: f.name, Help: f.help}
	}
	scale := map[string]float64{}
	for _, f := range checkValueFamilies {
		scale[f.check] = f.scale
	}
	for _, s := range rep.Servers {
		server.Samples = append(server.Samples, ui.Sample{Labels: map[string]string{"server": s.Server}, Value: float64(s.status)})
		if s.Release != "" {
			release.Samples = append(release.Samples, ui.Sample{Labels: map[string]string{"server": s.Server, "release": ui.Clean(s.Release)}, Value: 1})
		}
		for _, c := range s.Checks {
			status.Samples = append(status.Samples, ui.Sample{Labels: map[string]string{"server": s.Server, "check": c.Name}, Value: float64(c.status)})
			if g := values[c.Name]; g != nil && c.Value != nil {
				g.Samples = append(g.Samples, ui.Sample{Labels: map[string]string{"server": s.Server}, Value: round6(*c.Value * scale[c.Name])})
			}
		}
	}
	fleetStatus := ui.Gauge{Name: "bbbfleet_check_fleet_status", Help: "Worst status over every checked server (the exit code).",
		Samples: []ui.Sample{{Value: float64(rep.ExitCode)}}}
	ts := ui.Gauge{Name: "bbbfleet_check_timestamp_seconds", Help: "When the check ran (Unix time), to alert on a stale file.",
		Samples: []ui.Sample{{Value: float64(rep.Time.Unix())}}}
	gs := []ui.Gauge{fleetStatus, server, status}
	for _, f := range checkValueFamilies {
		gs = append(gs, *values[f.check])
	}
	return append(gs, release, ts)
}

func round6(v float64) float64 {
	s := strconv.FormatFloat(v, 'g', 12, 64)
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// ---- usage errors as a plugin's UNKNOWN ----

// checkUsageError renders a usage or configuration error of check (flag
// errors included) as a monitoring plugin does when Nagios output was asked
// for: "BBBFLEET UNKNOWN - ..." on stdout, exit 3. Otherwise a usage error
// takes the usual way (exit 2). Any other error means the fleet could not
// be checked at all: UNKNOWN (3) in every mode, never 1, which a monitor
// would read as WARNING.
func (app *App) checkUsageError(err error, code int) (int, bool) {
	if code == ExitInterrupted && app.wantsNagios() {
		// A monitoring system expects a plugin's line and 3, not 130.
		why := "interrupted"
		if c := context.Cause(app.Context()); c != nil && c != context.Canceled {
			why += " (" + c.Error() + ")"
		}
		fmt.Fprintf(app.IO.Out, "BBBFLEET UNKNOWN - %s before the check finished\n", why)
		app.keepCode = true
		return int(fleet.CheckUnknown), true
	}
	if code == ExitFailed && !app.wantsNagios() {
		printError(app.IO, err, "")
		return int(fleet.CheckUnknown), true
	}
	if (code != ExitUsage && code != ExitFailed) || !app.wantsNagios() {
		return 0, false
	}
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "BBBFLEET UNKNOWN - %s\n", nagiosText(ui.Clean(lines[0])))
	for _, l := range lines[1:] {
		fmt.Fprintf(&b, "%s\n", nagiosText(ui.Clean(strings.TrimSpace(l))))
	}
	io.WriteString(app.IO.Out, b.String())
	return int(fleet.CheckUnknown), true
}

// wantsNagios reports whether -o nagios was asked for: by the parsed flag
// (or BBBFLEET_OUTPUT, through viper), or, when a flag error stopped
// parsing before -o was read, by parsing the arguments again with pflag
// knowing only -o (other flags are skipped as unknown).
func (app *App) wantsNagios() bool {
	if strings.EqualFold(app.Output, "nagios") {
		return true
	}
	fs := pflag.NewFlagSet("output", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.ParseErrorsWhitelist.UnknownFlags = true
	out := fs.StringP("output", "o", "", "")
	_ = fs.Parse(app.args)
	if fs.Changed("output") {
		return strings.EqualFold(*out, "nagios")
	}
	return app.v != nil && strings.EqualFold(app.v.GetString("output"), "nagios")
}
