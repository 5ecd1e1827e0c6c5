package cmd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

const loadCounts = `What the numbers count (from each server's getMeetings):
  MEETINGS   meetings that are not breakout rooms
  BREAKOUTS  breakout rooms (BBB lists them as meetings of their own)
  USERS      sum of participantCount over all meetings and breakout rooms:
             everyone, moderators included; a user in a breakout room is
             counted in the breakout room, not in its parent
  MODS       sum of moderatorCount (a subset of USERS)
  LISTEN     sum of listenerCount: users in listen-only audio
  VOICE      sum of voiceParticipantCount: users in audio with a microphone
  VIDEO      sum of videoCount: webcam streams
  UTIL       USERS as a percentage of capacity.participants ("-" when the
             server has no capacity set); the total is over the servers
             that answered and have a capacity
  SCALELITE  the load Scalelite's poller would record (multiplier 1): the sum
             over non-breakout meetings of participantCount + moderatorCount,
             a meeting younger than 15 minutes counting as at least 15
Users who left linger in these counts for up to about a minute.`

const loadJSONDoc = `JSON (-o json):
  {"time": RFC 3339 UTC,
   "servers": [{"server": name,
      "state": "up" | "down" (no answer, refused, timeout, HTTP 5xx) |
               "error" (answers wrongly: secret rejected, HTML, bad XML, TLS),
      "reason": short reason when not up, e.g. "secret rejected",
      "error": the full message when not up, e.g. "bbb2: API rejected the
               secret (checksumError): run \"bbbfleet secret fetch bbb2\"",
      "meetings", "breakout_rooms", "participants", "moderators",
      "listen_only", "voice", "video": the figures above (0 unless up),
      "capacity": capacity.participants (0 = unset),
      "utilization": participants / capacity, 3 decimals (null when
               capacity is unset or the server is not up),
      "scalelite_load": number, "latency_ms": getMeetings round trip
               (only when up)}],
   "total": {the same figures summed over the servers that are up,
      "servers_up": N, "servers_failed": N,
      "partial": true when any server failed}}`

// loadJSON is the stable -o json schema of `bbbfleet load`, per server and
// for the fleet total.
type loadJSON struct {
	Server string `json:"server,omitempty"`
	State  string `json:"state,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	// detail is Error without the server's name (asked of the error).
	detail        string
	Meetings      int      `json:"meetings"`
	BreakoutRooms int      `json:"breakout_rooms"`
	Participants  int      `json:"participants"`
	Moderators    int      `json:"moderators"`
	ListenOnly    int      `json:"listen_only"`
	Voice         int      `json:"voice"`
	Video         int      `json:"video"`
	Capacity      int      `json:"capacity"`
	Utilization   *float64 `json:"utilization"`
	ScaleliteLoad float64  `json:"scalelite_load"`
	LatencyMS     *float64 `json:"latency_ms,omitempty"`
}

type loadReport struct {
	Time    time.Time  `json:"time"`
	Servers []loadJSON `json:"servers"`
	Total   struct {
		loadJSON
		ServersUp     int  `json:"servers_up"`
		ServersFailed int  `json:"servers_failed"`
		Partial       bool `json:"partial"`
	} `json:"total"`
}

func newLoadCmd(app *App) *cobra.Command {
	var watch time.Duration
	cmd := &cobra.Command{
		Use:   "load [TARGETS]",
		Short: "Meetings, participants, voice and video per server, with fleet totals",
		Long: `Poll getMeetings on every selected server in parallel and show each
server's load and a fleet total. A server that does not answer is shown as
down or error with the reason, and the total says it is partial.

` + loadCounts + `

Formats: table (terminal), tsv (pipe), json, prometheus (text exposition
format for node_exporter's textfile collector: one gauge family per
figure, labelled by server, plus bbbfleet_up; a failed server has only
bbbfleet_up 0). Except with json, each failed server's full error is
printed on stderr.

Servers are polled 64 at once by default (API calls are cheap); -j
overrides it.

--watch redraws every INTERVAL until Ctrl-C: --watch alone is every 5s;
give the interval as --watch=10s or --watch 10s. With -o json, --watch
writes JSON lines: one compact report object per line, per interval.

` + loadJSONDoc + `

EXIT STATUS
  0 when every server answered, 1 when any failed, 2 on usage errors.`,
		Example: `  bbbfleet load
  bbbfleet load @pool -o json
  bbbfleet load -o prometheus > /var/lib/node_exporter/textfile/bbb.prom
  bbbfleet load --watch=10s`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat("prometheus")
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("watch") {
				args, watch = watchInterval(app, args, watch)
			}
			servers, env, err := app.targetsEnv(args, true, true)
			if err != nil {
				return err
			}
			defer env.Close()
			env.Opts.Parallel = app.apiParallel()
			if watch <= 0 {
				return app.loadOnce(env, servers, format, false)
			}
			if watch < time.Second {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--watch interval %s is too short; use 1s or more", watch)}
			}
			ctx := app.Context()
			for {
				if app.IO.OutTTY && format != "json" {
					fmt.Fprint(app.IO.Out, "\x1b[H\x1b[2J")
					fmt.Fprintf(app.IO.Out, "bbbfleet load, every %s (Ctrl-C to stop) - %s\n", watch, time.Now().Format("15:04:05"))
				}
				err := app.loadOnce(env, servers, format, true)
				if ctx.Err() != nil {
					return nil
				}
				if err != nil && !isSilent(err) {
					return err
				}
				if !app.IO.OutTTY && format != "json" {
					fmt.Fprintln(app.IO.Out)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(watch):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&watch, "watch", 0, "redraw every INTERVAL until Ctrl-C (default 5s when given without a value)")
	cmd.Flags().Lookup("watch").NoOptDefVal = "5s"
	return cmd
}

// watchInterval lets "--watch 10s" work although --watch takes an optional
// value (pflag then needs "--watch=10s" and leaves "10s" as an argument):
// a first argument that parses as a duration and is not a server name is
// taken as the interval.
func watchInterval(app *App, args []string, watch time.Duration) ([]string, time.Duration) {
	cfg, err := app.Config()
	if err != nil || len(args) == 0 {
		return args, watch
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return args, watch
	}
	if _, ok := cfg.Server(args[0]); ok {
		return args, watch
	}
	return args[1:], d
}

// apiParallel is -j when given, else fleet.DefaultAPIParallel.
func (app *App) apiParallel() int {
	if app.v != nil && app.v.IsSet("parallel") {
		return app.Parallel
	}
	return fleet.DefaultAPIParallel
}

func isSilent(err error) bool {
	ee, ok := err.(*ExitError)
	return ok && ee.Err == nil
}

// loadOnce polls the servers once and writes the report; with -o json in
// watch mode (lines) the report is one compact JSON object on one line.
func (app *App) loadOnce(env *fleet.Env, servers []fleet.Server, format string, lines bool) error {
	now := time.Now()
	results := env.Load(app.Context(), servers, now)
	if err := app.Context().Err(); err != nil {
		return err
	}
	rep := buildLoadReport(results, now)
	switch format {
	case "json":
		if lines {
			enc := json.NewEncoder(app.IO.Out)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(rep); err != nil {
				return err
			}
			break
		}
		if err := app.IO.JSON(rep); err != nil {
			return err
		}
	case "prometheus":
		if err := ui.WritePrometheus(app.IO.Out, loadGauges(rep)); err != nil {
			return err
		}
	default:
		// On a terminal the reason sits in STATE; in TSV, for scripts,
		// STATE is the bare word and the reason has a column of its own.
		tsv := format == "tsv"
		t := ui.Table{Headers: []string{"SERVER", "STATE", "MEETINGS", "BREAKOUTS", "USERS", "MODS", "LISTEN", "VOICE", "VIDEO", "UTIL", "SCALELITE"},
			// On a narrow terminal: a failure's reason wraps in STATE; the
			// secondary counts go first.
			Columns: []ui.Column{{}, {Wrap: true}, {Short: "MTGS"}, {Short: "BRK", Drop: 2}, {}, {Drop: 1}, {Short: "LSTN", Drop: 2},
				{}, {}, {}, {Short: "SL", Drop: 3}}}
		if tsv {
			t.Headers = append(t.Headers, "REASON")
		}
		row := func(j loadJSON, name, state, reason string) []string {
			var r []string
			if state != fleet.StateUp && name != "TOTAL" {
				shown := state
				reason = ui.Clean(reason) // may quote the server
				if !tsv {
					shown += ": " + reason
				}
				r = []string{name, shown, "-", "-", "-", "-", "-", "-", "-", "-", "-"}
			} else {
				util := "-"
				if j.Utilization != nil {
					util = fmt.Sprintf("%.0f%%", *j.Utilization*100)
				}
				r = []string{name, state, itoa(j.Meetings), itoa(j.BreakoutRooms), itoa(j.Participants), itoa(j.Moderators),
					itoa(j.ListenOnly), itoa(j.Voice), itoa(j.Video), util, fmt.Sprintf("%g", j.ScaleliteLoad)}
			}
			if tsv {
				r = append(r, reason)
			}
			return r
		}
		for _, j := range rep.Servers {
			// the short reason in the table, the full message on stderr
			t.Rows = append(t.Rows, row(j, j.Server, j.State, j.Reason))
		}
		totalState := fmt.Sprintf("%d/%d up", rep.Total.ServersUp, len(rep.Servers))
		if rep.Total.Partial {
			totalState = "partial: " + totalState
		}
		t.Footer = [][]string{row(rep.Total.loadJSON, "TOTAL", totalState, "")}
		if err := app.render(format, t); err != nil {
			return err
		}
	}
	if rep.Total.ServersFailed > 0 {
		if format != "json" {
			var names, msgs []string
			for _, j := range rep.Servers {
				if j.State != fleet.StateUp {
					names, msgs = append(names, j.Server), append(msgs, j.detail)
				}
			}
			app.listFailures(names, msgs)
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s; the totals are partial\n", ui.ServersFailed(rep.Total.ServersFailed, len(rep.Servers)))
		}
		return silentExit(ExitFailed)
	}
	return nil
}

func itoa(i int) string { return fmt.Sprint(i) }

func buildLoadReport(results []fleet.Result[*fleet.ServerLoad], now time.Time) *loadReport {
	rep := &loadReport{Time: now.UTC().Truncate(time.Second), Servers: []loadJSON{}}
	for _, r := range results {
		j := loadJSON{Server: r.Server.Name, Capacity: r.Server.Capacity.Participants}
		sl := r.Value
		if r.Err != nil {
			j.State, j.Reason, j.Error, j.detail = fleet.LoadState(r.Err), fleet.LoadReason(r.Err), r.Err.Error(), fleet.Detail(r.Err)
			if sl != nil && sl.Reason != "" {
				j.State, j.Reason = sl.State, sl.Reason
			}
		} else {
			l := sl.Load
			ms := float64(sl.Latency.Microseconds()) / 1000
			j = loadJSON{Server: r.Server.Name, State: fleet.StateUp, Meetings: l.Meetings, BreakoutRooms: l.BreakoutRooms,
				Participants: l.Participants, Moderators: l.Moderators, ListenOnly: l.ListenOnly, Voice: l.Voice, Video: l.Video,
				Capacity: sl.Capacity, ScaleliteLoad: l.ScaleliteLoad, LatencyMS: &ms}
			if sl.Capacity > 0 {
				u := round3(sl.Utilization)
				j.Utilization = &u
			}
		}
		rep.Servers = append(rep.Servers, j)
	}
	tot := fleet.TotalLoad(results)
	t := &rep.Total
	t.Meetings, t.BreakoutRooms, t.Participants, t.Moderators = tot.Meetings, tot.BreakoutRooms, tot.Participants, tot.Moderators
	t.ListenOnly, t.Voice, t.Video, t.Capacity, t.ScaleliteLoad = tot.ListenOnly, tot.Voice, tot.Video, tot.Capacity, tot.ScaleliteLoad
	if tot.HasUtilization {
		u := round3(tot.Utilization)
		t.Utilization = &u
	}
	t.ServersUp, t.ServersFailed, t.Partial = tot.ServersUp, tot.ServersFailed, tot.Partial()
	return rep
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func loadGauges(rep *loadReport) []ui.Gauge {
	type fig struct {
		name, help string
		val        func(j loadJSON) float64
	}
	figs := []fig{
		{"bbbfleet_meetings", "Meetings that are not breakout rooms.", func(j loadJSON) float64 { return float64(j.Meetings) }},
		{"bbbfleet_breakout_rooms", "Breakout rooms.", func(j loadJSON) float64 { return float64(j.BreakoutRooms) }},
		{"bbbfleet_participants", "Users in all meetings and breakout rooms, moderators included.", func(j loadJSON) float64 { return float64(j.Participants) }},
		{"bbbfleet_moderators", "Moderators (a subset of participants).", func(j loadJSON) float64 { return float64(j.Moderators) }},
		{"bbbfleet_listen_only", "Users in listen-only audio.", func(j loadJSON) float64 { return float64(j.ListenOnly) }},
		{"bbbfleet_voice", "Users in audio with a microphone.", func(j loadJSON) float64 { return float64(j.Voice) }},
		{"bbbfleet_video", "Webcam streams.", func(j loadJSON) float64 { return float64(j.Video) }},
		{"bbbfleet_capacity_participants", "Configured capacity in participants.", func(j loadJSON) float64 { return float64(j.Capacity) }},
		{"bbbfleet_utilization_ratio", "Participants divided by capacity (absent when capacity is unset).", func(j loadJSON) float64 { return *j.Utilization }},
		{"bbbfleet_scalelite_load", "Load as Scalelite's poller computes it (multiplier 1).", func(j loadJSON) float64 { return j.ScaleliteLoad }},
	}
	up := ui.Gauge{Name: "bbbfleet_up", Help: "1 when the server's getMeetings answered, else 0."}
	for _, j := range rep.Servers {
		v := 0.0
		if j.State == fleet.StateUp {
			v = 1
		}
		up.Samples = append(up.Samples, ui.Sample{Labels: map[string]string{"server": j.Server}, Value: v})
	}
	gs := []ui.Gauge{up}
	for _, f := range figs {
		g := ui.Gauge{Name: f.name, Help: f.help}
		for _, j := range rep.Servers {
			if j.State == fleet.StateUp && (j.Utilization != nil || f.name != "bbbfleet_utilization_ratio") {
				g.Samples = append(g.Samples, ui.Sample{Labels: map[string]string{"server": j.Server}, Value: f.val(j)})
			}
		}
		gs = append(gs, g)
	}
	return gs
}

// listFailures prints a line per failed server to stderr; the reasons
// (without the server's name: fleet.Detail; they may quote an API
// message) are cleaned for the terminal.
func (app *App) listFailures(names, reasons []string) {
	for i := range names {
		fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s: %s\n", names[i], ui.Clean(reasons[i]))
	}
}
