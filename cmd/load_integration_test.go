package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/testpki"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// standin is one in-process API stand-in (no SSH: load and meetings only
// call the API).
type standin struct {
	Name string
	Sim  *sim.Host
	URL  string
	Stop func()
}

// standinOptions tune startStandins.
type standinOptions struct {
	N int
	// State adjusts stand-in i's state.
	State func(i int, s *sim.State)
	// TLS, when it returns a config, serves stand-in i over TLS; CAFile is
	// then written as its api.ca_file.
	TLS    func(i int) *tls.Config
	CAFile string
	// FileSecret overrides the secret written to the secrets file for
	// stand-in i ("" keeps the state's).
	FileSecret func(i int) string
	APITimeout string
	Capacity   int
}

// startStandins serves N API stand-ins on 127.0.0.1 and writes a fleet
// config (bbb1..bbbN) and secrets file for them.
func startStandins(t testing.TB, o standinOptions) (cfg string, hosts []*standin) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var specs []simfleet.HostSpec
	for i := range o.N {
		name := fmt.Sprintf("bbb%d", i+1)
		st := sim.DefaultState(name)
		st.Secret = fmt.Sprintf("secret-%s-0123456789abcdef", name)
		if o.State != nil {
			o.State(i, &st)
		}
		h := sim.NewHost(sim.NewMemStore(st), sim.Options{})
		var tc *tls.Config
		if o.TLS != nil {
			tc = o.TLS(i)
		}
		url, stop, err := h.ServeAPI(ctx, "127.0.0.1:0", tc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		spec := simfleet.HostSpec{Name: name, Host: "127.0.0.1", SSHPort: 22, APIURL: url, Secret: st.Secret}
		if o.FileSecret != nil {
			if s := o.FileSecret(i); s != "" {
				spec.Secret = s
			}
		}
		if tc != nil {
			spec.CAFile = o.CAFile
		}
		specs = append(specs, spec)
		hosts = append(hosts, &standin{Name: name, Sim: h, URL: url, Stop: stop})
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id_unused")
	if err := os.WriteFile(key, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := simfleet.WriteFiles(filepath.Join(dir, "client"), specs, simfleet.FileOptions{
		Key: key, APITimeout: o.APITimeout, Capacity: o.Capacity,
	})
	if err != nil {
		t.Fatal(err)
	}
	return files.Config, hosts
}

// loadFaults is the fleet of TestLoadErrors: bbb1 healthy, each other
// stand-in failing in its own way.
var loadFaults = []struct {
	name, state, reason, message string
}{
	{"bbb1", "up", "", ""},
	{"bbb2", "error", "secret rejected", `bbb2: API rejected the secret (checksumError): run "bbbfleet secret fetch bbb2"`},
	{"bbb3", "down", "bbb-web down (HTTP 502)", "bbb3: bbb-web is not answering (HTTP 502 from nginx)"},
	{"bbb4", "error", "HTML page, not BBB XML", "bbb4: expected BBB XML, got an HTML page: is the API URL right?"},
	{"bbb5", "error", "malformed XML", "bbb5: truncated or malformed XML: "},
	{"bbb6", "down", "connection refused", "bbb6: connection refused by 127.0.0.1:"},
	{"bbb7", "error", "TLS: name mismatch", `bbb7: TLS certificate does not match "127.0.0.1": it is valid for bbb7.example.org`},
	{"bbb8", "error", "TLS: certificate expired", "bbb8: TLS certificate of 127.0.0.1:"},
	{"bbb9", "down", "timeout", "bbb9: no answer from 127.0.0.1:"},
}

// TestLoadErrors runs load end to end against stand-ins that fail in
// every way an administrator meets, and checks the table, stderr, the
// JSON and Prometheus output, and the exit status.
func TestLoadErrors(t *testing.T) {
	now := time.Now()
	ca := testpki.NewCA(t, "bbbfleet test CA", now.Add(-24*time.Hour), now.Add(24*time.Hour))
	cfg, hosts := startStandins(t, standinOptions{
		N: len(loadFaults), APITimeout: "1s", CAFile: ca.File(t),
		State: func(i int, s *sim.State) {
			switch loadFaults[i].name {
			case "bbb1":
				s.Meetings = sim.GenerateMeetings(1, 8, 40, now)
			case "bbb3":
				s.Stopped = true
			case "bbb4":
				s.HTML200 = true
			case "bbb5":
				s.Truncate = true
				s.Meetings = sim.GenerateMeetings(5, 4, 10, now)
			case "bbb9":
				s.Slow = 3 * time.Second // api.timeout is 1s
			}
		},
		FileSecret: func(i int) string {
			if loadFaults[i].name == "bbb2" {
				return "an-old-secret-0123456789abcdef"
			}
			return ""
		},
		TLS: func(i int) *tls.Config {
			lo := []net.IP{net.ParseIP("127.0.0.1")}
			switch loadFaults[i].name {
			case "bbb7": // valid, but for another name
				return ca.ServerConfig(t, []string{"bbb7.example.org"}, nil, now.Add(-time.Hour), now.Add(time.Hour))
			case "bbb8": // right name, expired an hour ago
				return ca.ServerConfig(t, nil, lo, now.Add(-48*time.Hour), now.Add(-time.Hour))
			}
			return nil
		},
	})
	hosts[5].Stop() // bbb6: nothing listens on its port any more

	// The table (tsv off a terminal): short reasons in the table, the
	// full messages on stderr.
	out, errOut, code := run(t, cfg, "load", "-o", "tsv")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		rows[f[0]] = f
	}
	for _, lf := range loadFaults {
		row := rows[lf.name]
		if row == nil {
			t.Errorf("%s: no row in\n%s", lf.name, out)
			continue
		}
		if lf.state == "up" {
			if row[1] != "up" || row[2] != "6" || row[3] != "2" || row[4] != "40" {
				t.Errorf("%s row: %q", lf.name, row)
			}
			continue
		}
		// TSV: the bare state, the reason in the last column
		if row[1] != lf.state || row[len(row)-1] != lf.reason {
			t.Errorf("%s state %q reason %q, want %q %q", lf.name, row[1], row[len(row)-1], lf.state, lf.reason)
		}
		if !strings.Contains(errOut, "bbbfleet: "+lf.message) {
			t.Errorf("%s: stderr lacks %q:\n%s", lf.name, lf.message, errOut)
		}
	}
	if tot := rows["TOTAL"]; tot == nil || tot[1] != "partial: 1/9 up" || tot[4] != "40" {
		t.Errorf("total row %q", tot)
	}
	if !strings.Contains(errOut, "8 of 9 servers failed; the totals are partial") {
		t.Errorf("stderr: %s", errOut)
	}

	// JSON: state and the full error per server, partial totals.
	out, errOut, code = run(t, cfg, "load", "-o", "json")
	if code != ExitFailed {
		t.Fatalf("json exit %d\n%s", code, errOut)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err, out)
	}
	if errOut != "" {
		t.Errorf("json run wrote to stderr: %s", errOut)
	}
	if len(rep.Servers) != len(loadFaults) {
		t.Fatalf("%d servers in JSON", len(rep.Servers))
	}
	for i, lf := range loadFaults {
		j := rep.Servers[i]
		if j.Server != lf.name || j.State != lf.state || j.Reason != lf.reason || !strings.HasPrefix(j.Error, lf.message) {
			t.Errorf("json %s: state %q reason %q error %q; want %q %q %q…", j.Server, j.State, j.Reason, j.Error, lf.state, lf.reason, lf.message)
		}
		if (j.Utilization == nil) != (lf.state != "up") || (j.LatencyMS == nil) != (lf.state != "up") {
			t.Errorf("json %s: utilization %v latency %v", j.Server, j.Utilization, j.LatencyMS)
		}
	}
	if !rep.Total.Partial || rep.Total.ServersUp != 1 || rep.Total.ServersFailed != 8 || rep.Total.Participants != 40 {
		t.Errorf("total %+v", rep.Total)
	}
	// The timeout came from api.timeout, not from the 30s --timeout, and
	// the message names it with its value.
	if d := rep.Servers[8].Error; !strings.Contains(d, "(api.timeout 1s)") {
		t.Errorf("timeout message %q", d)
	}

	// Prometheus: only bbbfleet_up for the failed servers.
	out, errOut, code = run(t, cfg, "load", "-o", "prometheus")
	if code != ExitFailed {
		t.Fatalf("prometheus exit %d", code)
	}
	fams := parseProm(t, out)
	for _, m := range fams["bbbfleet_up"].GetMetric() {
		want := 0.0
		if label(m, "server") == "bbb1" {
			want = 1
		}
		if m.GetGauge().GetValue() != want {
			t.Errorf("bbbfleet_up{server=%q} = %g", label(m, "server"), m.GetGauge().GetValue())
		}
	}
	if n := len(fams["bbbfleet_participants"].GetMetric()); n != 1 {
		t.Errorf("bbbfleet_participants has %d samples, want only bbb1's", n)
	}
	if !strings.Contains(errOut, loadFaults[1].message) {
		t.Errorf("prometheus stderr lacks the failures: %s", errOut)
	}
}

// TestLoadMissingSecret: a server without a secret says how to get one.
func TestLoadMissingSecret(t *testing.T) {
	cfg, _ := startStandins(t, standinOptions{N: 2})
	// Rewrite the secrets file with bbb1 only.
	secrets := filepath.Join(filepath.Dir(cfg), "secrets.yaml")
	if err := os.WriteFile(secrets, []byte("bbb1: secret-bbb1-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, cfg, "load", "-o", "tsv")
	if code != ExitFailed || !strings.Contains(out, "bbb2\terror\t-\t") || !strings.Contains(out, "\tno API secret\n") ||
		!strings.Contains(errOut, "bbb2: no API secret: run `bbbfleet secret fetch bbb2` or set BBBFLEET_SECRET_BBB2") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// fleetMeetings gives stand-in i its own generated meetings, breakouts
// included.
func fleetMeetings(now time.Time) func(i int, s *sim.State) {
	return func(i int, s *sim.State) {
		if i == 2 {
			return // no meetings: the noMeetings SUCCESS answer
		}
		s.Meetings = sim.GenerateMeetings(int64(100+i), 6+4*i, 25+30*i, now)
	}
}

// expectedLoad computes a stand-in's figures from its state, independently
// of pkg/bbb: the sim's counters are derived from the attendee lists.
func expectedLoad(s sim.State, now time.Time) loadJSON {
	var j loadJSON
	total := 0
	for _, m := range s.Meetings {
		mods := 0
		for _, a := range m.Attendees {
			if a.Role == "MODERATOR" {
				mods++
			}
			if a.IsListeningOnly {
				j.ListenOnly++
			}
			if a.HasJoinedVoice {
				j.Voice++
			}
			if a.HasVideo {
				j.Video++
			}
		}
		j.Participants += len(m.Attendees)
		j.Moderators += mods
		if m.IsBreakout {
			j.BreakoutRooms++
			continue
		}
		j.Meetings++
		n := len(m.Attendees) + mods
		if now.Sub(time.UnixMilli(m.CreateTime)) < 15*time.Minute {
			n = max(n, 15)
		}
		total += n
	}
	j.ScaleliteLoad = float64(total)
	return j
}

// TestLoadJSONTotals: per-server figures match the stand-ins' meetings and
// the totals are the sums over the servers.
func TestLoadJSONTotals(t *testing.T) {
	now := time.Now()
	cfg, hosts := startStandins(t, standinOptions{N: 4, State: fleetMeetings(now), Capacity: 200})
	out, errOut, code := run(t, cfg, "load", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var sum loadJSON
	breakouts := 0
	for i, j := range rep.Servers {
		st, _ := hosts[i].Sim.State()
		want := expectedLoad(st, now)
		want.Server, want.State, want.Capacity = hosts[i].Name, "up", 200
		got := j
		got.LatencyMS, got.Utilization = nil, nil
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", j.Server, got, want)
		}
		if j.Utilization == nil || *j.Utilization != round3(float64(want.Participants)/200) {
			t.Errorf("%s utilization %v", j.Server, j.Utilization)
		}
		sum.Meetings += j.Meetings
		sum.BreakoutRooms += j.BreakoutRooms
		sum.Participants += j.Participants
		sum.Moderators += j.Moderators
		sum.ListenOnly += j.ListenOnly
		sum.Voice += j.Voice
		sum.Video += j.Video
		sum.Capacity += j.Capacity
		sum.ScaleliteLoad += j.ScaleliteLoad
		breakouts += j.BreakoutRooms
	}
	if breakouts == 0 {
		t.Fatal("the generated meetings have no breakout rooms")
	}
	tot := rep.Total.loadJSON
	if tot.Utilization == nil || *tot.Utilization != round3(float64(sum.Participants)/float64(sum.Capacity)) {
		t.Errorf("total utilization %v", tot.Utilization)
	}
	tot.Utilization = nil
	if tot != sum {
		t.Errorf("total\n got %+v\nwant %+v (sum over servers)", tot, sum)
	}
	if rep.Total.Partial || rep.Total.ServersUp != 4 || rep.Total.ServersFailed != 0 {
		t.Errorf("total flags %+v", rep.Total)
	}
	if rep.Servers[2].Meetings != 0 || rep.Servers[2].State != "up" {
		t.Errorf("server without meetings: %+v", rep.Servers[2])
	}

	// The table's total row says the same.
	out, _, _ = run(t, cfg, "load", "-o", "tsv")
	wantRow := fmt.Sprintf("TOTAL\t4/4 up\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t", sum.Meetings, sum.BreakoutRooms, sum.Participants,
		sum.Moderators, sum.ListenOnly, sum.Voice, sum.Video)
	if !strings.Contains(out, wantRow) {
		t.Errorf("no %q in\n%s", wantRow, out)
	}
}

func parseProm(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("prometheus text does not parse: %v\n%s", err, text)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestLoadPrometheus: the exposition parses, has one gauge family per
// figure with one sample per server labelled by server, and the values
// are the JSON's.
func TestLoadPrometheus(t *testing.T) {
	now := time.Now()
	cfg, _ := startStandins(t, standinOptions{N: 3, State: fleetMeetings(now), Capacity: 100})
	out, errOut, code := run(t, cfg, "load", "-o", "prometheus")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	fams := parseProm(t, out)
	jout, _, _ := run(t, cfg, "load", "-o", "json")
	var rep loadReport
	if err := json.Unmarshal([]byte(jout), &rep); err != nil {
		t.Fatal(err)
	}
	byServer := map[string]loadJSON{}
	for _, j := range rep.Servers {
		byServer[j.Server] = j
	}
	figures := map[string]func(j loadJSON) float64{
		"bbbfleet_up":                    func(loadJSON) float64 { return 1 },
		"bbbfleet_meetings":              func(j loadJSON) float64 { return float64(j.Meetings) },
		"bbbfleet_breakout_rooms":        func(j loadJSON) float64 { return float64(j.BreakoutRooms) },
		"bbbfleet_participants":          func(j loadJSON) float64 { return float64(j.Participants) },
		"bbbfleet_moderators":            func(j loadJSON) float64 { return float64(j.Moderators) },
		"bbbfleet_listen_only":           func(j loadJSON) float64 { return float64(j.ListenOnly) },
		"bbbfleet_voice":                 func(j loadJSON) float64 { return float64(j.Voice) },
		"bbbfleet_video":                 func(j loadJSON) float64 { return float64(j.Video) },
		"bbbfleet_capacity_participants": func(j loadJSON) float64 { return float64(j.Capacity) },
		"bbbfleet_utilization_ratio":     func(j loadJSON) float64 { return *j.Utilization },
		"bbbfleet_scalelite_load":        func(j loadJSON) float64 { return j.ScaleliteLoad },
	}
	if len(fams) != len(figures) {
		var names []string
		for n := range fams {
			names = append(names, n)
		}
		t.Errorf("families %v, want the %d figures", names, len(figures))
	}
	for name, val := range figures {
		f := fams[name]
		if f == nil {
			t.Errorf("no family %s", name)
			continue
		}
		if f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
			t.Errorf("%s: type %v help %q", name, f.GetType(), f.GetHelp())
		}
		if len(f.GetMetric()) != 3 {
			t.Errorf("%s: %d samples, want 3", name, len(f.GetMetric()))
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 1 {
				t.Errorf("%s: labels %v, want only server", name, m.GetLabel())
			}
			j, ok := byServer[label(m, "server")]
			if !ok {
				t.Errorf("%s: sample for unknown server %q", name, label(m, "server"))
				continue
			}
			if got, want := m.GetGauge().GetValue(), val(j); got != want {
				t.Errorf("%s{server=%q} = %g, want %g", name, j.Server, got, want)
			}
		}
	}
}

// TestMeetings: every meeting of the fleet, largest first, with the
// breakout rooms' parents, as a table and as JSON.
func TestMeetings(t *testing.T) {
	now := time.Now()
	cfg, hosts := startStandins(t, standinOptions{N: 3, State: fleetMeetings(now)})
	out, errOut, code := run(t, cfg, "meetings", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var list []meetingJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err, out)
	}
	want := 0
	names := map[string]string{} // server/internal ID -> name
	for _, h := range hosts {
		st, _ := h.Sim.State()
		want += len(st.Meetings)
		for _, m := range st.Meetings {
			names[h.Name+"/"+m.InternalID] = m.Name
		}
	}
	if len(list) != want {
		t.Fatalf("%d meetings, want %d", len(list), want)
	}
	breakouts := 0
	for i, m := range list {
		if i > 0 && m.Participants > list[i-1].Participants {
			t.Errorf("not sorted by participants at %d: %d after %d", i, m.Participants, list[i-1].Participants)
		}
		if m.Created == nil || m.RunningSeconds < 5*60 || m.RunningSeconds > 186*60 {
			t.Errorf("%s: created %v running %ds", m.MeetingID, m.Created, m.RunningSeconds)
		}
		if m.IsBreakout {
			breakouts++
			if m.ParentMeetingID == "" || m.ParentName != names[m.Server+"/"+m.ParentMeetingID] || m.ParentName == "" {
				t.Errorf("breakout %s: parent %q %q", m.MeetingID, m.ParentMeetingID, m.ParentName)
			}
		} else if m.ParentMeetingID != "" || m.ParentName != "" {
			t.Errorf("meeting %s has a parent", m.MeetingID)
		}
	}
	if breakouts == 0 {
		t.Fatal("no breakout rooms generated")
	}

	out, _, code = run(t, cfg, "meetings", "-o", "tsv")
	if code != 0 {
		t.Fatal(code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "SERVER\tNAME\tMEETING ID\tUSERS\tVOICE\tVIDEO\tLISTEN\tMODS\tRUNNING\tREC\tPARENT" || len(lines) != want+1 {
		t.Fatalf("table:\n%s", out)
	}
	for i, line := range lines[1:] {
		f := strings.Split(line, "\t")
		m := list[i]
		if f[0] != m.Server || f[1] != m.Name || f[2] != m.MeetingID || f[3] != itoa(m.Participants) {
			t.Errorf("row %d %q, json %+v", i, f, m)
		}
		if m.IsBreakout && f[10] != m.ParentName {
			t.Errorf("row %d parent %q, want %q", i, f[10], m.ParentName)
		}
	}

	// A failing server: the others' meetings are listed, the failure is
	// on stderr, exit 1.
	if err := hosts[1].Sim.Update(func(s *sim.State) error { s.Stopped = true; return nil }); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, cfg, "meetings", "-o", "tsv")
	if code != ExitFailed || !strings.Contains(errOut, "bbbfleet: bbb2: bbb-web is not answering (HTTP 502 from nginx)") ||
		strings.Contains(out, "bbb2\t") || !strings.Contains(out, "bbb1\t") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// watchWriter counts redraws (table headers) and cancels after n.
type watchWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	n      int
	cancel context.CancelFunc
	marker string // what one redraw writes once (default: the table header)
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	marker := w.marker
	if marker == "" {
		marker = "SERVER\tSTATE"
	}
	if c := strings.Count(w.buf.String(), marker); c >= w.n {
		w.cancel()
	}
	return len(p), nil
}

// TestLoadWatch redraws until the context is cancelled after two redraws,
// and takes "--watch 1s" with the interval as a separate word.
func TestLoadWatch(t *testing.T) {
	cfg, hosts := startStandins(t, standinOptions{N: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := &watchWriter{n: 2, cancel: cancel}
	var errOut bytes.Buffer
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	start := time.Now()
	code := Run(ctx, []string{"-c", cfg, "load", "-o", "tsv", "--watch", "1s"}, ui.Test(w, &errOut))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, w.buf.String(), errOut.String())
	}
	if d := time.Since(start); d < time.Second || d > 10*time.Second {
		t.Errorf("two redraws took %s, want about 1s", d)
	}
	out := w.buf.String()
	if c := strings.Count(out, "SERVER\tSTATE"); c != 2 {
		t.Errorf("%d redraws:\n%s", c, out)
	}
	for _, h := range hosts {
		if strings.Count(out, h.Name+"\tup") != 2 {
			t.Errorf("%s not shown twice:\n%s", h.Name, out)
		}
	}
}

// TestLoadSHA1Disabled: a server that no longer accepts the configured
// sha1 checksums answers checksumError; the message says so beside the
// secret.
func TestLoadSHA1Disabled(t *testing.T) {
	cfg, _ := startStandins(t, standinOptions{N: 2, State: func(i int, s *sim.State) {
		if i == 1 {
			s.ChecksumAlgorithms = []string{"sha256", "sha384", "sha512"}
		}
	}})
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), "  api: {timeout: 5s}", "  api: {timeout: 5s, checksum: sha1}", 1))
	if err := os.WriteFile(cfg, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, cfg, "load", "-o", "tsv")
	want := `bbb2: API rejected the secret (checksumError): run "bbbfleet secret fetch bbb2", or the server no longer accepts sha1 checksums: set api.checksum to sha256`
	if code != ExitFailed || !strings.Contains(out, "bbb1\tup\t") || !strings.Contains(errOut, want) {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestLoadWatchJSONLines: with -o json, --watch writes one compact JSON
// object per line, per interval (JSON lines).
func TestLoadWatchJSONLines(t *testing.T) {
	cfg, _ := startStandins(t, standinOptions{N: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := &watchWriter{n: 2, cancel: cancel, marker: "\n"}
	var errOut bytes.Buffer
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	code := Run(ctx, []string{"-c", cfg, "load", "-o", "json", "--watch", "1s"}, ui.Test(w, &errOut))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, w.buf.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (one object per interval):\n%s", len(lines), w.buf.String())
	}
	for _, l := range lines {
		var rep struct {
			Servers []json.RawMessage `json:"servers"`
		}
		if err := json.Unmarshal([]byte(l), &rep); err != nil || len(rep.Servers) != 2 {
			t.Errorf("not a report on one line (%v): %s", err, l)
		}
	}
}
