package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// demoEnv keeps the user's ssh config and agent out of the demo tests.
func demoEnv(t *testing.T) {
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("BBBFLEET_CONFIG", "")
}

var tourConfig = regexp.MustCompile("runs as `bbbfleet -c (\\S+) \\.\\.\\.`")

func TestDemoTour(t *testing.T) {
	demoEnv(t)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := Run(context.Background(), []string{"demo"}, ui.Test(&out, &errOut))
	took := time.Since(start)
	o := out.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s\nstderr:\n%s", code, o, errOut.String())
	}
	// Its speed is reported, not asserted (timed assertions flake on a
	// loaded machine): see the README and `time make demo`.
	t.Logf("tour: %s", took)
	wantInOrder := []string{
		"bbbfleet demo: 6 simulated BBB 3.0 servers on 127.0.0.1",
		"\n$ bbbfleet servers\n",
		"\nbbb1\t127.0.0.1\tcore\t",
		"\nbbb6\t127.0.0.1\tpool\t", "\tmissing\tenabled, online\n", // SCALELITE column (issue 10)
		"\n$ bbbfleet secret fetch all\n",
		"\nbbb6\tnew\tyes\t",
		"has a problem planted on purpose", "\n$ bbbfleet check\n", "\nbbb4\tCRITICAL\t",
		"\n$ bbbfleet load\n",
		"\nTOTAL\t6/6 up\t",
		"\n$ bbbfleet meetings ",
		" (Room 1)\t",
		"\n$ bbbfleet exec all -- systemctl is-active bbb-webrtc-sfu\n",
		"── bbb4 (exit 3, ",
		"\nfailed\n",
		"\n$ bbbfleet schedule plan --at '2026-03-10 09:25'\n", "\nbbb6\tup\tup\tnone\tstarted by schedule `warm-up` since 06:30\n",
		"\n$ bbbfleet exec bbb4 -- bbb-conf --status\n",
		"bbb-webrtc-sfu ———————————————► [✘ - failed]",
		"\n$ bbbfleet stop bbb6 --drain 2m --power-off --message ",
		" bbb6 cordon done: cordoned in Scalelite", " bbb6 warn done: warned ", " bbb6 drain done: empty after ",
		" bbb6 stop done: BBB stopped; units inactive", " bbb6 power-off done: ",
		"\n$ bbbfleet start bbb6\n", " bbb6 power-on done: ", " bbb6 wait-ssh done: ",
		" bbb6 ready done: ready ", " bbb6 enable done: enabled in Scalelite",
		"\nbbb6\tdone\t",
		"\n  bbbfleet demo --serve\n",
	}
	rest := o
	for _, w := range wantInOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("tour output lacks %q (in order); output:\n%s", w, o)
		}
		rest = rest[i+len(w):]
	}
	// Nothing is left behind.
	m := tourConfig.FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("no config path in\n%s", o)
	}
	if _, err := os.Stat(filepath.Dir(m[1])); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", filepath.Dir(m[1]), err)
	}
}

func TestDemoDeterministic(t *testing.T) {
	demoEnv(t)
	loadOf := func(args ...string) string {
		args = append(args, "--speed", "0.001")
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), append([]string{"demo"}, args...), ui.Test(&out, &errOut)); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
		o := out.String()
		i := strings.Index(o, "$ bbbfleet load\n")
		j := strings.Index(o, "\nTOTAL\t")
		if i < 0 || j < 0 {
			t.Fatalf("no load table in\n%s", o)
		}
		// Latency-free columns only: everything but the SCALELITE value
		// depends on the seed alone.
		return o[i:j]
	}
	a, b := loadOf("--seed", "7", "-n", "3"), loadOf("--seed", "7", "-n", "3")
	if a != b {
		t.Errorf("same seed, different load:\n%s\n%s", a, b)
	}
	if c := loadOf("--seed", "8", "-n", "3"); c == a {
		t.Errorf("seeds 7 and 8 give the same load:\n%s", a)
	}
	night := loadOf("--at", "02:00", "-n", "2")
	if !strings.Contains(night, "\nbbb1\tup\t0\t0\t0\t") {
		t.Errorf("meetings at night:\n%s", night)
	}
}

func TestDemoUsage(t *testing.T) {
	demoEnv(t)
	for _, args := range [][]string{
		{"demo", "--servers", "0"},
		{"demo", "-n", "51"},
		{"demo", "--speed", "-1"},
		{"demo", "--at", "25:99"},
		{"demo", "extra"},
	} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, ui.Test(&out, &errOut)); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUsage, errOut.String())
		}
	}
}

// notifyBuffer is a goroutine-safe buffer that signals when a pattern
// first appears.
type notifyBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	re   *regexp.Regexp
	hit  chan []string
	done bool
}

func (n *notifyBuffer) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.b.Write(p)
	if !n.done && n.re != nil {
		if m := n.re.FindStringSubmatch(n.b.String()); m != nil {
			n.done = true
			n.hit <- m
		}
	}
	return len(p), nil
}

func (n *notifyBuffer) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.String()
}

func TestDemoServe(t *testing.T) {
	demoEnv(t)
	out := &notifyBuffer{re: regexp.MustCompile(`(?ms)^config: (\S+)\n.*^Ctrl-C stops the servers and removes [^\n]+\n`), hit: make(chan []string, 1)}
	errOut := &notifyBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"demo", "--serve", "--speed", "600"}, ui.Test(out, errOut)) }()
	var cfg string
	select {
	case m := <-out.hit:
		cfg = m[1]
	case code := <-done:
		t.Fatalf("demo --serve ended with %d before printing its config\n%s%s", code, out.String(), errOut.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("no config path and commands printed\n%s", out.String())
	}
	o := out.String()
	for _, w := range []string{
		"export BBBFLEET_CONFIG=" + cfg + "\n",
		"bbbfleet load --watch 2s",
		"bbbfleet exec all -- bbb-conf --status",
		"bbbfleet exec bbb4 -- systemctl restart bbb-webrtc-sfu",
		"Ctrl-C stops the servers and removes " + filepath.Dir(cfg),
	} {
		if !strings.Contains(o, w) {
			t.Errorf("serve output lacks %q:\n%s", w, o)
		}
	}
	for _, w := range []string{"bbbfleet check", "bbbfleet secret fetch all", "bbbfleet install @new", "bbbfleet push all " + filepath.Join(filepath.Dir(cfg), "motd") + " /etc/motd"} {
		if !strings.Contains(o, w) {
			t.Errorf("serve output does not suggest %q:\n%s", w, o)
		}
	}

	// Other commands work against the running fleet, including one that
	// changes a server.
	t.Setenv("BBBFLEET_CONFIG", cfg)
	runCmd := func(want int, args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := Run(context.Background(), args, ui.Test(&o, &e)); code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, o.String(), e.String())
		}
		return o.String()
	}
	// The six BBB servers are @core and @pool; new1 (@new) has no BBB
	// yet: install's preflight finds it fit.
	bbbServers := "@core,@pool"
	if o := runCmd(0, "load", bbbServers); !strings.Contains(o, "TOTAL\t6/6 up") {
		t.Errorf("load:\n%s", o)
	}
	runCmd(0, "meetings", "@pool")
	if o := runCmd(0, "push", bbbServers, filepath.Join(filepath.Dir(cfg), "motd"), "/etc/motd"); strings.Count(o, "\tcreated\tcreated\t") != 6 {
		t.Errorf("push:\n%s", o)
	}
	runCmd(1, "exec", bbbServers, "--", "systemctl", "is-active", simfleet.ProblemUnit)
	runCmd(0, "exec", "bbb4", "--", "systemctl", "restart", simfleet.ProblemUnit)
	runCmd(0, "exec", bbbServers, "--", "systemctl", "is-active", simfleet.ProblemUnit)
	runCmd(0, "secret", "fetch", bbbServers)
	if o := runCmd(0, "install", "new1", "--preflight-only"); !strings.Contains(o, "new1\tbbb\tok\tnot installed: fresh install") {
		t.Errorf("install new1 --preflight-only:\n%s", o)
	}
	// The schedule: at the simulated hour every pool server is up, as the
	// warm-up wants: apply changes nothing.
	simAt := ""
	if i := strings.Index(o, "schedule apply --at \""); i >= 0 {
		simAt, _, _ = strings.Cut(o[i+len("schedule apply --at \""):], "\"")
	}
	if simAt == "" {
		t.Errorf("serve output does not suggest schedule apply:\n%s", o)
	} else {
		// the suggested command line works as printed
		runCmd(0, "schedule", "apply", "--dry-run", "--at", simAt)
		day, _, _ := strings.Cut(simAt, " ")
		if a := runCmd(0, "schedule", "apply", "--at", day+" 10:00"); !strings.Contains(a, "unchanged") {
			t.Errorf("schedule apply at %s 10:00:\n%s", day, a)
		}
	}
	{
		var o, e bytes.Buffer
		code := Run(context.Background(), []string{"check"}, ui.Test(&o, &e))
		if code > 2 {
			t.Errorf("check: exit %d\n%s%s", code, o.String(), e.String())
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo --serve exited %d after cancel\n%s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo --serve did not stop after cancel")
	}
	if _, err := os.Stat(filepath.Dir(cfg)); !os.IsNotExist(err) {
		t.Errorf("%s still exists after stop: %v", filepath.Dir(cfg), err)
	}
}
