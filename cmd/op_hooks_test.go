package cmd

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// A power.off hook that is not on this machine is a config problem found
// while planning: stop --power-off refuses (exit 2, file:line) before
// anything is cordoned, warned or stopped; config validate warns of it.
func TestStopPowerOffMissingHookChangesNothing(t *testing.T) {
	f := opSimFleet(t)
	b, err := os.ReadFile(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "off: [touch,", "off: [/nonexistent/hook,", 1)
	if cfg == string(b) {
		t.Fatalf("no power.off hook in the config:\n%s", b)
	}
	if err := os.WriteFile(f.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var all []byte
		for _, h := range append(f.Hosts, f.Scalelite) {
			st, err := h.Sim.State()
			if err != nil {
				t.Fatal(err)
			}
			j, _ := json.Marshal(st)
			all = append(all, j...)
		}
		return string(all)
	}
	before := snapshot()
	out, errOut, code := run(t, f.Config, "stop", "bbb1", "--power-off")
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitUsage, out, errOut)
	}
	for _, w := range []string{f.Config + ":", "power.off hook of bbb1", "/nonexistent/hook: no such program", "nothing was changed"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("the simulated fleet changed:\nbefore %s\nafter  %s", before, after)
	}
	// The dry run says so too, with the same exit code.
	out, errOut, code = run(t, f.Config, "--dry-run", "stop", "bbb1", "--power-off")
	if code != ExitUsage || !strings.Contains(out, "cannot plan:") {
		t.Errorf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	// A stop without --power-off does not need the hook.
	if out, errOut, code = run(t, f.Config, "--dry-run", "stop", "bbb2"); code != 0 {
		t.Errorf("stop without --power-off: exit %d\n%s\n%s", code, out, errOut)
	}
	// config validate: ok, with a warning per server.
	out, errOut, code = run(t, f.Config, "config", "validate")
	if code != 0 || !strings.Contains(errOut, "warning: ") || !strings.Contains(errOut, "power.off hook of bbb2: /nonexistent/hook: no such program") {
		t.Errorf("config validate: exit %d\n%s\n%s", code, out, errOut)
	}
}
