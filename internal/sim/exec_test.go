package sim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 3, 2, 13, 35, 28, 0, time.UTC)

func newTestHost(t *testing.T, mut func(*State)) *Host {
	t.Helper()
	s := DefaultState("bbb1")
	s.Hostname = "bbb1.example.org"
	s.Secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
	s.SudoUsers = map[string]string{"admin": SudoNoPasswd, "alice": SudoPassword}
	if mut != nil {
		mut(&s)
	}
	return NewHost(NewMemStore(s), Options{Now: func() time.Time { return fixedNow }})
}

func run(t *testing.T, h *Host, user, cmdline string) (stdout, stderr string, st int) {
	t.Helper()
	var o, e bytes.Buffer
	st = h.Exec(context.Background(), cmdline, user, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), st
}

var statusRE = regexp.MustCompile(`^(\S+) \S+ \[(✔|✘) - ([a-z-]+)\]$`)

func TestStatusLines(t *testing.T) {
	h := newTestHost(t, func(s *State) {
		s.Units["bbb-web"] = UnitFailed
		s.Units["bbb-transcription-controller"] = UnitActivating
	})
	out, errOut, st := run(t, h, "bbbadmin", "bbb-conf --status")
	if st != 0 || errOut != "" {
		t.Fatalf("status %d, stderr %q", st, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(Units30)+1 {
		t.Fatalf("got %d lines:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if !statusRE.MatchString(l) {
			t.Errorf("line does not match reference regex: %q", l)
		}
	}
	want := map[string]string{
		"nginx":                        "nginx ————————————————————————►  [✔ - active]",
		"bbb-web":                      "bbb-web ——————————————————————► [✘ - failed]",
		"bbb-graphql-middleware":       "bbb-graphql-middleware ———————► [✔ - active]",
		"bbb-transcription-controller": "bbb-transcription-controller —► [✘ - activating]",
	}
	// The arrow is line[len(unit):] of a 30-character line.
	want["nginx"] = "nginx ————————————————————————► [✔ - active]"
	for _, l := range lines {
		u := strings.Fields(l)[0]
		if w, ok := want[u]; ok && l != w {
			t.Errorf("%s:\n got %q\nwant %q", u, l, w)
		}
		if n := len([]rune(u)) + len([]rune(strings.Fields(l)[1])); n != 30 {
			t.Errorf("%s: unit+arrow is %d characters, want 30", u, n)
		}
	}
	if lines[0] != "nginx ————————————————————————► [✔ - active]" {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.HasPrefix(lines[len(lines)-1], "bbb-transcription-controller ") {
		t.Errorf("optional unit not last: %q", lines[len(lines)-1])
	}
	// always exit 0, even when stopped
	run(t, h, "root", "bbb-conf --stop")
	out, _, st = run(t, h, "bbbadmin", "bbb-conf --status")
	// bigbluebutton.target does not include nginx: it stays up (and answers 502)
	if st != 0 || !strings.Contains(out, "bbb-web ——————————————————————► [✘ - inactive]\n") ||
		!strings.Contains(out, "nginx ————————————————————————► [✔ - active]\n") {
		t.Errorf("stopped status %d:\n%s", st, out)
	}
}

func TestStatusArrowLengths(t *testing.T) {
	for _, u := range []string{"a", "nginx", "bbb-export-annotations", "abcdefghijklmnopqrstuvwxyz1234", "abcdefghijklmnopqrstuvwxyz12345"} {
		s := State{Units: map[string]string{u: UnitActive}}
		got := StatusLines(s)
		arrow := []rune(statusArrow)
		tail := ""
		if len(u) < 30 {
			tail = string(arrow[len(u):])
		}
		if want := u + " " + tail + " [✔ - active]\n"; got != want {
			t.Errorf("%s: got %q want %q", u, got, want)
		}
	}
}

var (
	urlRE    = regexp.MustCompile(`(?m)^\s*URL:\s*(\S+)`)
	secretRE = regexp.MustCompile(`(?m)^\s*(Secret|Salt):\s*(\S+)`)
)

func TestSecret(t *testing.T) {
	h := newTestHost(t, nil)
	out, _, st := run(t, h, "bbbadmin", "bbb-conf --secret")
	if st != 0 {
		t.Fatalf("status %d", st)
	}
	want := "\n    URL: https://bbb1.example.org/bigbluebutton/\n    Secret: 639259d4-9dd8-4b25-bf01-95f9567eaf4b\n\n    Link to the API-Mate:\n    https://mconf.github.io/api-mate/#server=https://bbb1.example.org/bigbluebutton/&sharedSecret=639259d4-9dd8-4b25-bf01-95f9567eaf4b\n\n"
	if out != want {
		t.Errorf("got %q", out)
	}
	if m := urlRE.FindStringSubmatch(out); m == nil || m[1] != "https://bbb1.example.org/bigbluebutton/" {
		t.Errorf("URL regex: %v", m)
	}
	if m := secretRE.FindStringSubmatch(out); m == nil || m[2] != "639259d4-9dd8-4b25-bf01-95f9567eaf4b" {
		t.Errorf("Secret regex: %v", m)
	}
}

func TestVersionAndRelease(t *testing.T) {
	h := newTestHost(t, nil)
	out, _, st := run(t, h, "bbbadmin", "bbb-conf --version")
	if st != 0 || !strings.HasPrefix(out, "\nBigBlueButton Server 3.0.4 (1010)\n\nii  bbb-apps-akka ") {
		t.Errorf("status %d:\n%s", st, out)
	}
	out, _, _ = run(t, h, "bbbadmin", "cat /etc/bigbluebutton/bigbluebutton-release")
	if out != "BIGBLUEBUTTON_RELEASE=3.0.4\n" {
		t.Errorf("release %q", out)
	}
}

func TestRootOnlyOptions(t *testing.T) {
	h := newTestHost(t, nil)
	for _, opt := range []string{"--check", "--stop", "--start", "--restart", "--clean", "--setsecret x"} {
		out, errOut, st := run(t, h, "bbbadmin", "bbb-conf "+opt)
		if st != 1 || out != "Need to be root to run this option\n" || errOut != "" {
			t.Errorf("%s: status %d out %q err %q", opt, st, out, errOut)
		}
	}
	if s, _ := h.State(); s.Stopped || s.Secret == "x" {
		t.Error("non-root changed state")
	}
}

func TestCheck(t *testing.T) {
	h := newTestHost(t, nil)
	out, _, st := run(t, h, "root", "bbb-conf --check")
	if st != 0 || !strings.HasSuffix(out, "\n# Potential problems described below\n") {
		t.Errorf("healthy check %d:\n%s", st, out)
	}
	h.Update(func(s *State) error { s.Units["bbb-webrtc-sfu"] = UnitInactive; return nil })
	out, _, st = run(t, h, "admin", "sudo -n bbb-conf --check")
	_, after, _ := strings.Cut(out, "# Potential problems described below\n")
	if st != 0 || !strings.Contains(after, "bbb-webrtc-sfu "+string([]rune(statusArrow)[14:])+" [✘ - inactive]") || !strings.Contains(after, "# Error: Detected some processes have not started correctly") {
		t.Errorf("problems check %d:\n%s", st, out)
	}
}

func TestSudo(t *testing.T) {
	h := newTestHost(t, nil)
	cases := []struct {
		user, cmd, out, err string
		st                  int
	}{
		{"root", "sudo -n whoami", "root\n", "", 0},
		{"admin", "sudo -n whoami", "root\n", "", 0},
		{"admin", "sudo -n id -u", "0\n", "", 0},
		{"alice", "sudo -n whoami", "", "sudo: a password is required\n", 1},
		{"alice", "sudo whoami", "", "sudo: a password is required\n", 1},
		{"mallory", "sudo -n bbb-conf --stop", "", "sudo: a password is required\n", 1},
		{"admin", "sudo -n nosuchcmd", "", "sudo: nosuchcmd: command not found\n", 1},
		{"admin", "sudo -n printf '%s\\n' 'a b'", "a b\n", "", 0},
	}
	for _, c := range cases {
		out, errOut, st := run(t, h, c.user, c.cmd)
		if out != c.out || errOut != c.err || st != c.st {
			t.Errorf("%s as %s: got (%q, %q, %d) want (%q, %q, %d)", c.cmd, c.user, out, errOut, st, c.out, c.err, c.st)
		}
	}
	out, _, st := run(t, h, "admin", "sudo -n bbb-conf --stop")
	if st != 0 || out != "Stopping BigBlueButton\n" {
		t.Errorf("sudo stop: %d %q", st, out)
	}
	if s, _ := h.State(); !s.Stopped || s.Units["bbb-web"] != UnitInactive || s.Units["nginx"] != UnitActive {
		t.Errorf("not stopped: %+v", s.Units)
	}
}

func TestShellQuotingAndOperators(t *testing.T) {
	h := newTestHost(t, nil)
	marker := filepath.Join(t.TempDir(), "x")
	out, errOut, st := run(t, h, "bbbadmin", `printf '%s\n' 'a; touch `+marker+` #'`)
	if st != 0 || out != "a; touch "+marker+" #\n" || errOut != "" {
		t.Errorf("got %q %q %d", out, errOut, st)
	}
	// In demo mode even an unquoted injection does not run.
	_, errOut, st = run(t, h, "bbbadmin", "echo a; touch "+marker)
	if st != 127 || errOut != "sh: 1: touch: not found\n" {
		t.Errorf("touch: %q %d", errOut, st)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("demo mode created a real file")
	}
	for cmd, want := range map[string]string{
		"true && echo yes || echo no":                  "yes\n",
		"false && echo yes || echo no":                 "no\n",
		"echo $(hostname)-$(nproc)":                    "bbb1.example.org-8\n",
		"bbb-conf --status | grep -c active":           "17\n",
		"cat /proc/loadavg":                            "0.42 0.35 0.30 2/380 48213\n",
		"date +%s; date -u +%s.%N":                     "1772458528\n1772458528.000000000\n",
		"echo hi > /tmp/sim-should-not-exist; echo ok": "ok\n",
		"systemctl is-active nginx bbb-web":            "active\nactive\n",
		"command -v bbb-conf":                          "/usr/bin/bbb-conf\n",
	} {
		out, errOut, st := run(t, h, "bbbadmin", cmd)
		if out != want || st != 0 {
			t.Errorf("%s: got %q (stderr %q, status %d), want %q", cmd, out, errOut, st, want)
		}
	}
	if _, err := os.Stat("/tmp/sim-should-not-exist"); err == nil {
		t.Error("demo redirection wrote a real file")
	}
	_, errOut, st = run(t, h, "bbbadmin", "frobnicate --now")
	if st != 127 || errOut != "sh: 1: frobnicate: not found\n" {
		t.Errorf("unknown: %q %d", errOut, st)
	}
	_, errOut, st = run(t, h, "bbbadmin", "echo 'unterminated")
	if st != 2 || !strings.HasPrefix(errOut, "sh: 1: Syntax error:") {
		t.Errorf("syntax: %q %d", errOut, st)
	}
}

func TestClockOffset(t *testing.T) {
	h := newTestHost(t, func(s *State) { s.ClockOffset = 90 * time.Second })
	out, _, _ := run(t, h, "bbbadmin", "date +%s")
	if out != "1772458618\n" {
		t.Errorf("got %q", out)
	}
}

func TestSystemctl(t *testing.T) {
	h := newTestHost(t, nil)
	_, errOut, st := run(t, h, "bbbadmin", "systemctl stop bbb-web")
	if st != 1 || !strings.HasPrefix(errOut, "Failed to stop bbb-web.service: Interactive authentication required.\n") {
		t.Errorf("non-root stop: %q %d", errOut, st)
	}
	if _, _, st := run(t, h, "root", "systemctl stop bbb-web"); st != 0 {
		t.Fatal(st)
	}
	out, _, st := run(t, h, "bbbadmin", "systemctl is-active nginx bbb-web")
	if out != "active\ninactive\n" || st != 3 {
		t.Errorf("is-active: %q %d", out, st)
	}
}

func TestRecordingFailuresAndSystemInfo(t *testing.T) {
	h := newTestHost(t, func(s *State) {
		s.RecordingFailures = []string{"processed/abc-1-presentation.fail", "archived/def-2.fail"}
		s.RecordingStatus = []string{"recorded/ghi-3.done"}
	})
	out, _, st := run(t, h, "bbbadmin", "find /var/bigbluebutton/recording/status -name '*.fail'")
	if st != 0 || out != "/var/bigbluebutton/recording/status/archived/def-2.fail\n/var/bigbluebutton/recording/status/processed/abc-1-presentation.fail\n" {
		t.Errorf("find: %q %d", out, st)
	}
	out, _, st = run(t, h, "bbbadmin", "ls /var/bigbluebutton/recording/status/*/*.fail")
	if st != 0 || out != "/var/bigbluebutton/recording/status/archived/def-2.fail\n/var/bigbluebutton/recording/status/processed/abc-1-presentation.fail\n" {
		t.Errorf("ls glob: %q %d", out, st)
	}
	out, _, st = run(t, h, "bbbadmin", "ls /var/bigbluebutton/recording/status/published")
	if st != 0 || out != "" {
		t.Errorf("ls empty: %q %d", out, st)
	}
	out, _, _ = run(t, h, "bbbadmin", "df -P -B1 / /var/bigbluebutton")
	want := "Filesystem         1-blocks         Used    Available Capacity Mounted on\n" +
		"/dev/sda1       85899345920  23622320128  62277025792      28% /\n" +
		"/dev/sdb1      536870912000 128849018880 408021893120      24% /var/bigbluebutton\n"
	if out != want {
		t.Errorf("df:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = run(t, h, "bbbadmin", "df -P /var/bigbluebutton/recording")
	want = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sdb1        524288000 125829120 398458880      24% /var/bigbluebutton\n"
	if out != want {
		t.Errorf("df -P:\n%q\nwant:\n%q", out, want)
	}
	out, _, _ = run(t, h, "bbbadmin", "free -b")
	want = "               total        used        free      shared  buff/cache   available\n" +
		"Mem:     17179869184  5368709120  5905580032    67108864  5905580032 11811160064\n" +
		"Swap:              0           0           0\n"
	if out != want {
		t.Errorf("free:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = run(t, h, "bbbadmin", "grep MemTotal /proc/meminfo; uptime")
	if out != "MemTotal:       16777216 kB\n 13:35:28 up 56 days,  7:35,  1 user,  load average: 0.42, 0.35, 0.30\n" {
		t.Errorf("meminfo/uptime %q", out)
	}
	_, errOut, st := run(t, h, "bbbadmin", "cat /etc/shadow")
	if st != 1 || errOut != "cat: /etc/shadow: No such file or directory\n" {
		t.Errorf("cat: %q %d", errOut, st)
	}
}

func TestShDashC(t *testing.T) {
	h := newTestHost(t, nil)
	for _, c := range []struct {
		cmd, out, err string
		st            int
	}{
		{`sh -c 'echo a; exit 3'`, "a\n", "", 3},
		{`bash -c "bbb-conf --status | grep -c active"`, "17\n", "", 0},
		{`echo 'echo from stdin' | sh`, "from stdin\n", "", 0},
		{`sh -c`, "", "sh: 0: -c requires an argument\n", 2},
		{`sh /tmp/nosuch.sh`, "", "sh: 0: cannot open /tmp/nosuch.sh: No such file\n", 2},
	} {
		out, errOut, st := run(t, h, "root", c.cmd)
		if out != c.out || errOut != c.err || st != c.st {
			t.Errorf("%s: got (%q, %q, %d) want (%q, %q, %d)", c.cmd, out, errOut, st, c.out, c.err, c.st)
		}
	}
}

func TestShDashCParams(t *testing.T) {
	h := newTestHost(t, nil)
	out, errOut, st := run(t, h, "root", `sh -c 'printf "[%s]\n" "$#" "$@"' sh 'x'\''; touch /tmp/y #' 'two words'`)
	if want := "[2]\n[x'; touch /tmp/y #]\n[two words]\n"; out != want || errOut != "" || st != 0 {
		t.Errorf("got (%q, %q, %d) want %q", out, errOut, st, want)
	}
}
