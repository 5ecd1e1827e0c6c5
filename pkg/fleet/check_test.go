package fleet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

var th = DefaultCheckThresholds

// runScript runs the check script through the simulated server, as the
// sshd stand-in would, and evaluates the sections.
func runScript(t *testing.T, st sim.State, checks []string) ([]CheckResult, string) {
	t.Helper()
	now := time.Now()
	h := sim.NewHost(sim.NewMemStore(st), sim.Options{Now: func() time.Time { return now }})
	var out, errOut bytes.Buffer
	if rc := h.Exec(context.Background(), CheckScript(checks), "root", nil, &out, &errOut); rc != 0 {
		t.Fatalf("script exit %d: %s", rc, errOut.String())
	}
	secs := ParseSections(out.String())
	return EvalSections(checks, secs, ClockReading{Sent: now.Add(-5 * time.Millisecond), Received: now.Add(5 * time.Millisecond)}, th, "cut off")
}

func byName(rs []CheckResult) map[string]CheckResult {
	m := map[string]CheckResult{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

func TestCheckScriptHealthy(t *testing.T) {
	rs, rel := runScript(t, sim.DefaultState("bbb1"), CheckNames)
	if rel != "3.0.4" {
		t.Errorf("release %q", rel)
	}
	if len(rs) != 7 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	for _, r := range rs {
		if r.Status != CheckOK {
			t.Errorf("%s: %s %s", r.Name, r.Status, r.Message)
		}
	}
	m := byName(rs)
	if got := m[CheckServices].Message; got != "17 units active" {
		t.Errorf("services: %q", got)
	}
	if v := m[CheckDisk].Value; v == nil || *v != 27.5 {
		t.Errorf("disk value %v (%s)", v, m[CheckDisk].Message)
	}
	if !strings.Contains(m[CheckDisk].Message, "/var/bigbluebutton 24% used") {
		t.Errorf("disk: %s", m[CheckDisk].Message)
	}
	if v := m[CheckMemory].Value; v == nil || *v != 31.3 {
		t.Errorf("memory value %v", v)
	}
	if v := m[CheckLoad].Value; v == nil || *v != 0.044 {
		t.Errorf("load value %v", v)
	}
	if v := m[CheckClock].Value; v == nil || *v != 0 {
		t.Errorf("clock value %v", v)
	}
}

func TestCheckScriptProblems(t *testing.T) {
	const gib = 1 << 30
	st := sim.DefaultState("bbb1")
	st.Units["bbb-web"] = sim.UnitFailed
	st.Units["etherpad"] = sim.UnitInactive
	st.Units["freeswitch"] = sim.UnitActivating
	st.RecordingFailures = []string{"processed/r1-presentation.fail", "archived/r2.fail"}
	st.Disks["/var/bigbluebutton"] = sim.Disk{Device: "/dev/sdb1", Size: 100 * gib, Used: 90 * gib}
	st.MemAvailable = gib / 4
	st.LoadAvg = [3]float64{40, 16, 10}
	st.ClockOffset = 10 * time.Second
	st.Release = "2.7.12"
	m := byName(func() []CheckResult { rs, _ := runScript(t, st, CheckNames); return rs }())
	want := map[string]CheckStatus{
		CheckServices: CheckCritical, CheckRecordings: CheckWarning, CheckDisk: CheckWarning,
		CheckMemory: CheckCritical, CheckLoad: CheckWarning, CheckClock: CheckWarning, CheckVersion: CheckOK,
	}
	for name, ws := range want {
		if m[name].Status != ws {
			t.Errorf("%s: %s (%s), want %s", name, m[name].Status, m[name].Message, ws)
		}
	}
	if got := m[CheckServices].Message; got != "etherpad inactive, bbb-web failed, freeswitch activating" {
		t.Errorf("services message %q", got)
	}
	if got := m[CheckRecordings].Message; !strings.HasPrefix(got, "2 failed recording steps: archived/r2.fail, processed/r1-presentation.fail") {
		t.Errorf("recordings message %q", got)
	}
	if got := m[CheckClock].Message; !strings.HasPrefix(got, "10.0 s ahead of ours") {
		t.Errorf("clock message %q", got)
	}
	if m[CheckVersion].Message != "2.7.12" {
		t.Errorf("version %q", m[CheckVersion].Message)
	}
}

// The 2.7 unit set (mongod, bbb-html5 instances, kurento) parses as well.
func TestCheckServices27(t *testing.T) {
	st := sim.DefaultState("old")
	st.Units = map[string]string{}
	for _, u := range append(bbb.Units27, "bbb-html5-backend@1", "bbb-html5-frontend@1") {
		st.Units[u] = sim.UnitActive
	}
	st.Units["kurento-media-server"] = sim.UnitFailed
	rs, _ := runScript(t, st, []string{CheckServices})
	if len(rs) != 1 || rs[0].Status != CheckCritical || rs[0].Message != "kurento-media-server failed" {
		t.Fatalf("%+v", rs)
	}
	st.Units["kurento-media-server"] = sim.UnitActive
	rs, _ = runScript(t, st, []string{CheckServices})
	if rs[0].Status != CheckOK || rs[0].Message != "19 units active" {
		t.Fatalf("%+v", rs)
	}
}

func TestCheckScriptSelection(t *testing.T) {
	if s := CheckScript([]string{CheckAPI, CheckCertificate, CheckSSH}); s != "" {
		t.Errorf("no SSH data needed, got script %q", s)
	}
	s := CheckScript([]string{CheckDisk})
	if !strings.Contains(s, "df -P -k") || strings.Contains(s, "bbb-conf") || strings.Contains(s, "date") {
		t.Errorf("disk only: %q", s)
	}
	// Constant: the same selection gives the same bytes.
	if CheckScript(CheckNames) != CheckScript(CheckNames) {
		t.Error("script not constant")
	}
}

func TestParseSections(t *testing.T) {
	out := "motd noise\n" +
		"@@bbbfleet:begin a\nline1\nline2\n\n@@bbbfleet:end a 0\n" +
		"@@bbbfleet:begin b\nno final newline\n@@bbbfleet:end b 3\n" +
		"@@bbbfleet:begin c\n@@bbbfleet:end zzz 1\nkept\n" + // a foreign end marker is output
		"@@bbbfleet:begin d\npartial"
	secs := ParseSections(out)
	if s := secs["a"]; !s.Done || s.Exit != 0 || s.Body != "line1\nline2" {
		t.Errorf("a: %+v", s)
	}
	if s := secs["b"]; !s.Done || s.Exit != 3 || s.Body != "no final newline" {
		t.Errorf("b: %+v", s)
	}
	if s := secs["c"]; s.Done || s.Body != "@@bbbfleet:end zzz 1\nkept" {
		t.Errorf("c: %+v", s)
	}
	if s := secs["d"]; s.Done || s.Exit != -1 || s.Body != "partial" {
		t.Errorf("d: %+v", s)
	}
	// Missing and cut-off sections become UNKNOWN with the reason.
	rs, _ := EvalSections([]string{CheckDisk, CheckServices}, map[string]Section{secDf: {Body: "x"}}, ClockReading{}, th, "the remote script did not finish")
	for _, r := range rs {
		if r.Status != CheckUnknown || r.Message != "not checked: the remote script did not finish" {
			t.Errorf("%+v", r)
		}
	}
}

func TestCheckSectionErrors(t *testing.T) {
	secs := map[string]Section{
		secRelease:    {Body: "cat: /etc/bigbluebutton/bigbluebutton-release: No such file or directory", Exit: 1, Done: true},
		secStatus:     {Body: "sh: 1: bbb-conf: not found", Exit: 127, Done: true},
		secRecordings: {Body: "find: '/var/bigbluebutton/recording/status': No such file or directory", Exit: 1, Done: true},
		secDf:         {Body: "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 50 50 50% /\ndf: /var/bigbluebutton: No such file or directory", Exit: 1, Done: true},
		secClock:      {Body: "garbage", Exit: 0, Done: true},
	}
	m := byName(func() []CheckResult {
		rs, _ := EvalSections(CheckNames, secs, ClockReading{Sent: time.Now(), Received: time.Now()}, th, "x")
		return rs
	}())
	if r := m[CheckVersion]; r.Status != CheckUnknown || !strings.Contains(r.Message, "No such file") {
		t.Errorf("version %+v", r)
	}
	if r := m[CheckServices]; r.Status != CheckCritical || !strings.Contains(r.Message, "bbb-conf not found") {
		t.Errorf("services %+v", r)
	}
	if r := m[CheckRecordings]; r.Status != CheckUnknown {
		t.Errorf("recordings %+v", r)
	}
	if r := m[CheckDisk]; r.Status != CheckWarning || !strings.Contains(r.Message, "/var/bigbluebutton not found") {
		t.Errorf("disk %+v", r)
	}
	if r := m[CheckClock]; r.Status != CheckUnknown {
		t.Errorf("clock %+v", r)
	}
}

func TestEvalThresholds(t *testing.T) {
	const gib = 1 << 30
	disk := func(usedPct uint64) []DfRow {
		return []DfRow{{Device: "/dev/sda1", Mount: "/", Used: usedPct * gib, Avail: (100 - usedPct) * gib}, {Device: "/dev/sda1", Mount: "/", Used: usedPct * gib, Avail: (100 - usedPct) * gib}}
	}
	cases := []struct {
		name string
		r    CheckResult
		want CheckStatus
	}{
		{"disk 84", EvalDisk(disk(84), th), CheckOK},
		{"disk 85", EvalDisk(disk(85), th), CheckWarning},
		{"disk 95", EvalDisk(disk(95), th), CheckCritical},
		{"memory 89", EvalMemory(100*gib, 11*gib, th), CheckOK},
		{"memory 90", EvalMemory(100*gib, 10*gib, th), CheckWarning},
		{"memory 97", EvalMemory(100*gib, 3*gib, th), CheckCritical},
		{"memory avail>total", EvalMemory(gib, 2*gib, th), CheckOK},
		{"memory no total", EvalMemory(0, 0, th), CheckUnknown},
		{"load 1.4", EvalLoad([3]float64{99, 1.4 * 8, 0}, 8, th), CheckOK},
		{"load 1.5", EvalLoad([3]float64{0, 1.5 * 8, 0}, 8, th), CheckWarning},
		{"load 3", EvalLoad([3]float64{0, 24, 0}, 8, th), CheckCritical},
		{"load no cores", EvalLoad([3]float64{1, 1, 1}, 0, th), CheckUnknown},
		{"recordings 0", EvalRecordings(nil), CheckOK},
		{"recordings 1", EvalRecordings([]string{"published/x.fail"}), CheckWarning},
		{"clock 1.9", EvalClock(1900*time.Millisecond, 0, th), CheckOK},
		{"clock 2.5", EvalClock(2500*time.Millisecond, 0, th), CheckWarning},
		{"clock -2.5", EvalClock(-2500*time.Millisecond, 0, th), CheckWarning},
		{"clock 2.5 ±1", EvalClock(2500*time.Millisecond, time.Second, th), CheckOK},
		{"clock 31", EvalClock(31*time.Second, 0, th), CheckCritical},
		{"services none", EvalServices(nil), CheckUnknown},
		{"services deactivating", EvalServices([]bbb.UnitStatus{{Unit: "nginx", State: "deactivating"}}), CheckWarning},
	}
	for _, c := range cases {
		if c.r.Status != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, c.r.Status, c.r.Message, c.want)
		}
	}
	if r := EvalDisk(disk(50), th); strings.Count(r.Message, "used") != 1 || !strings.Contains(r.Message, "(also /var/bigbluebutton)") {
		t.Errorf("same file system twice: %s", r.Message)
	}
	custom := th
	custom.DiskWarningPct, custom.DiskCriticalPct = 40, 60
	if r := EvalDisk(disk(50), custom); r.Status != CheckWarning {
		t.Errorf("custom threshold: %s", r.Status)
	}
}

func TestCheckStatusOrder(t *testing.T) {
	if WorstStatus(CheckOK, CheckUnknown) != CheckUnknown || WorstStatus(CheckUnknown, CheckWarning) != CheckWarning ||
		WorstStatus(CheckCritical, CheckUnknown) != CheckCritical || WorstStatus() != CheckOK {
		t.Error("severity order")
	}
	b, _ := CheckWarning.MarshalJSON()
	var s CheckStatus
	if string(b) != `"WARNING"` || s.UnmarshalJSON(b) != nil || s != CheckWarning {
		t.Errorf("json %s %v", b, s)
	}
}

func TestSelectChecks(t *testing.T) {
	got, err := SelectChecks([]string{"disk,API", " ssh"}, nil)
	if err != nil || strings.Join(got, ",") != "ssh,api,disk" {
		t.Errorf("%v %v", got, err)
	}
	got, err = SelectChecks(nil, []string{"certificate,clock"})
	if err != nil || len(got) != len(AllCheckNames)-2 { // scalelite is selected by default too (issue 10)
		t.Errorf("%v %v", got, err)
	}
	var ue *UnknownCheckError
	if _, err := SelectChecks([]string{"dsik"}, nil); err == nil || !strings.Contains(err.Error(), `unknown check "dsik"`) {
		t.Errorf("%v", err)
	} else if !asUnknown(err, &ue) {
		t.Errorf("type %T", err)
	}
	if _, err := SelectChecks([]string{"ssh"}, []string{"ssh"}); err == nil {
		t.Error("empty selection accepted")
	}
}

func asUnknown(err error, target **UnknownCheckError) bool {
	e, ok := err.(*UnknownCheckError)
	*target = e
	return ok
}

func TestApplyVersionDrift(t *testing.T) {
	mk := func(name, rel string) *ServerCheck {
		sc := &ServerCheck{Server: Server{Name: name}, Release: rel, Checks: []CheckResult{{Name: CheckVersion, Message: rel}}}
		if rel == "" {
			sc.Checks[0] = NotChecked(CheckVersion, "ssh failed")
		}
		return sc
	}
	rs := []*ServerCheck{mk("a", "3.0.4"), mk("b", "3.0.4"), mk("c", "3.0.3"), mk("d", "3.0.4"), mk("e", ""), mk("f", "3.0.3")}
	ApplyVersionDrift(rs)
	for _, r := range rs {
		c := r.Get(CheckVersion)
		switch r.Release {
		case "3.0.3":
			if c.Status != CheckWarning || c.Message != "3.0.3, but 3 of 5 servers run 3.0.4" || r.Status != CheckWarning {
				t.Errorf("%s: %+v", r.Server.Name, c)
			}
		case "3.0.4":
			if c.Status != CheckOK || c.Message != "3.0.4 (like 3 of 5 servers)" {
				t.Errorf("%s: %+v", r.Server.Name, c)
			}
		default:
			if c.Status != CheckUnknown {
				t.Errorf("%s: %+v", r.Server.Name, c)
			}
		}
	}
	// A tie goes to the higher release; 3.0.10 > 3.0.9.
	rs = []*ServerCheck{mk("a", "3.0.9"), mk("b", "3.0.10")}
	ApplyVersionDrift(rs)
	if rs[0].Checks[0].Status != CheckWarning || rs[1].Checks[0].Status != CheckOK {
		t.Errorf("tie: %+v %+v", rs[0].Checks, rs[1].Checks)
	}
	// One release: nothing changes.
	rs = []*ServerCheck{mk("a", "3.0.4"), mk("b", "3.0.4")}
	ApplyVersionDrift(rs)
	if rs[0].Checks[0].Message != "3.0.4" {
		t.Errorf("no drift: %+v", rs[0].Checks)
	}
}

func TestParsers(t *testing.T) {
	if ts, err := ParseEpoch("1767600000.5"); err != nil || ts.UnixNano() != 1767600000500000000 {
		t.Errorf("%v %v", ts, err)
	}
	if ts, err := ParseEpoch("1767600000.N"); err != nil || ts.Unix() != 1767600000 {
		t.Errorf("busybox date: %v %v", ts, err)
	}
	for _, bad := range []string{"", "-1", "abc", "99999999999999999999"} {
		if _, err := ParseEpoch(bad); err == nil {
			t.Errorf("ParseEpoch(%q) accepted", bad)
		}
	}
	rows := ParseDf("Filesystem     1024-blocks Used Available Capacity Mounted on\n" +
		"my disk  100 40 60 40% /mnt/with space\n" +
		"tmpfs 0 0 0 - /run\n")
	if len(rows) != 2 || rows[0].Device != "my disk" || rows[0].Mount != "/mnt/with space" || rows[0].UsedPercent() != 40 || rows[1].UsedPercent() != 0 {
		t.Errorf("%+v", rows)
	}
	if total, avail, err := ParseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 50 kB\n"); err != nil || total != 1024000 || avail != 204800 {
		t.Errorf("old kernel meminfo: %d %d %v", total, avail, err)
	}
	fails, errs := ParseFails("/var/bigbluebutton/recording/status/processed/x.fail\nfind: 'y': Permission denied\n")
	if len(fails) != 1 || fails[0] != "processed/x.fail" || len(errs) != 1 {
		t.Errorf("%v %v", fails, errs)
	}
}

// certFor makes a self-signed certificate for name with the given validity.
func certFor(t *testing.T, names []string, ips []net.IP, from, to time.Time) (*x509.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: from, NotAfter: to, DNSNames: names, IPAddresses: ips, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return c, pool
}

func TestEvalCertificate(t *testing.T) {
	now := time.Date(2026, 3, 1, 7, 45, 0, 0, time.UTC)
	day := 24 * time.Hour
	eval := func(names []string, from, to time.Time, host string, trusted bool) CheckResult {
		c, pool := certFor(t, names, nil, from, to)
		if !trusted {
			pool = x509.NewCertPool()
		}
		_, verr := c.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, CurrentTime: now})
		return EvalCertificate(CertInfo{Host: host, Leaf: c, NotAfter: c.NotAfter, VerifyErr: verr}, now, th)
	}
	h := "bbb1.example.org"
	cases := []struct {
		name string
		r    CheckResult
		want CheckStatus
		msg  string
	}{
		{"valid", eval([]string{h}, now.Add(-day), now.Add(60*day), h, true), CheckOK, "valid for 60 days, until 2026-04-30"},
		{"5 days", eval([]string{h}, now.Add(-day), now.Add(5*day), h, true), CheckWarning, "expires in 5 days, on 2026-03-06"},
		{"2 days", eval([]string{h}, now.Add(-day), now.Add(2*day), h, true), CheckCritical, "expires in 2 days, on 2026-03-03"},
		{"expired", eval([]string{h}, now.Add(-90*day), now.Add(-3*day), h, true), CheckCritical, "expired 3 days ago, on 2026-02-26"},
		{"not yet", eval([]string{h}, now.Add(day), now.Add(90*day), h, true), CheckCritical, "not valid before 2026-03-02T07:45:00Z (check the clocks)"},
		{"wrong name", eval([]string{"other.example.org"}, now.Add(-day), now.Add(60*day), h, true), CheckCritical, "wrong name: valid for other.example.org, not bbb1.example.org"},
		{"unknown CA", eval([]string{h}, now.Add(-day), now.Add(60*day), h, false), CheckCritical, "signed by an unknown authority (for a private CA, set api.ca_file)"},
	}
	for _, c := range cases {
		if c.r.Status != c.want || c.r.Message != c.msg {
			t.Errorf("%s: %s %q, want %s %q", c.name, c.r.Status, c.r.Message, c.want, c.msg)
		}
	}
	if r := EvalCertificate(CertInfo{}, now, th); r.Status != CheckCritical {
		t.Errorf("no certificate: %+v", r)
	}
}

func TestEvalServicesMessages(t *testing.T) {
	units := func(state string, names ...string) []bbb.UnitStatus {
		var out []bbb.UnitStatus
		for _, n := range names {
			out = append(out, bbb.UnitStatus{Unit: n, State: state, OK: state == "active"})
		}
		return out
	}
	one := EvalServices(append(units("active", "nginx", "bbb-web"), units("failed", "bbb-webrtc-sfu")...))
	if one.Status != CheckCritical || one.Message != "bbb-webrtc-sfu failed" {
		t.Errorf("one failed: %+v", one)
	}
	// a stopped server: many inactive units are folded, other states kept
	stopped := append(units("active", "nginx", "redis-server"), units("inactive", "freeswitch", "bbb-apps-akka", "bbb-fsesl-akka", "bbb-web", "etherpad", "bbb-pads")...)
	stopped = append(stopped, units("activating", "bbb-rap-starter")...)
	r := EvalServices(stopped)
	want := "6 units inactive: freeswitch, bbb-apps-akka, bbb-fsesl-akka and 3 more, bbb-rap-starter activating"
	if r.Status != CheckCritical || r.Message != want {
		t.Errorf("stopped: %s %q, want %q", r.Status, r.Message, want)
	}
	if r := EvalServices(units("active", "nginx", "bbb-web")); r.Status != CheckOK || r.Message != "2 units active" {
		t.Errorf("healthy: %+v", r)
	}
}

// A long diagnosis (a changed host key names the known_hosts line and the
// fix at its end) reaches the check result whole.
func TestCheckMessagesAreWhole(t *testing.T) {
	hk := "bbb3: ssh: HOST KEY CHANGED for 127.0.0.3:22: it presented ssh-ed25519 SHA256:v0iOabcdefghijklmnopqrstuvwxyz0123456789Xm0 but the recorded key is at /home/admin/.ssh/known_hosts:17 (ssh-ed25519); " +
		"if the server was reinstalled, remove that line with `ssh-keygen -R 127.0.0.3` and connect again"
	got := trimServer(hk, "bbb3")
	if !strings.HasSuffix(got, "and connect again") || !strings.Contains(got, "known_hosts:17") {
		t.Errorf("trimServer shortened the message: %q", got)
	}
	if got := trimServer("bbb3: first line\n  second line\n", "bbb3"); got != "first line; second line" {
		t.Errorf("multi-line message: %q", got)
	}
	long := strings.Repeat("x", 300)
	secs := map[string]Section{secRelease: {Body: "cat: " + long, Exit: 1, Done: true}}
	rs, _ := EvalSections([]string{CheckVersion}, secs, ClockReading{Sent: time.Now(), Received: time.Now()}, th, "x")
	if len(rs) != 1 || !strings.Contains(rs[0].Message, long) {
		t.Errorf("version message shortened: %+v", rs)
	}
}
