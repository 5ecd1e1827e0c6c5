package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// TestWantsNagios: -o nagios is found by pflag in every spelling, also
// after a flag error stopped the real parse, and BBBFLEET_OUTPUT counts
// when no -o was given.
func TestWantsNagios(t *testing.T) {
	t.Setenv("BBBFLEET_OUTPUT", "")
	tests := []struct {
		args []string
		env  string
		want bool
	}{
		{[]string{"check", "-o", "nagios"}, "", true},
		{[]string{"check", "--nonsense", "-o", "nagios"}, "", true},
		{[]string{"check", "--output=nagios", "nosuchserver"}, "", true},
		{[]string{"check", "-onagios", "--timeout", "0s"}, "", true},
		{[]string{"check", "-v", "bbb1", "--output", "NAGIOS"}, "", true},
		{[]string{"check", "-o", "json"}, "nagios", false}, // the flag wins
		{[]string{"check", "--", "-o", "nagios"}, "", false},
		{[]string{"check", "--only", "dsik"}, "nagios", true},
		{[]string{"check", "--only", "dsik"}, "", false},
	}
	for _, tt := range tests {
		t.Setenv("BBBFLEET_OUTPUT", tt.env)
		app := &App{IO: ui.Test(&bytes.Buffer{}, &bytes.Buffer{}), args: tt.args}
		NewRootCmd(app)
		if got := app.wantsNagios(); got != tt.want {
			t.Errorf("%q with BBBFLEET_OUTPUT=%q: %v, want %v", tt.args, tt.env, got, tt.want)
		}
	}
}

// TestEnvOverridesStayInTheRun: a run's environment overrides (what the
// demo's tour uses for BBBFLEET_SSH_CONFIG) reach its commands and leave
// the process's environment alone.
func TestEnvOverridesStayInTheRun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(cfg, []byte("servers:\n  - {name: bbb1, host: bbb1.example.org}\n"), 0o644)
	sc := filepath.Join(dir, "ssh_config")
	os.WriteFile(sc, []byte("Host bbb1.example.org\n  User fromsshconfig\n  Port 2222\n"), 0o644)
	t.Setenv("BBBFLEET_SSH_CONFIG", "")
	os.Unsetenv("BBBFLEET_SSH_CONFIG")

	var out, errOut bytes.Buffer
	code := runWithEnv(context.Background(), []string{"-c", cfg, "servers"}, ui.Test(&out, &errOut), map[string]string{"BBBFLEET_SSH_CONFIG": sc})
	if code != 0 || !strings.Contains(out.String(), "\tfromsshconfig@bbb1.example.org:2222\t") {
		t.Errorf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if v, set := os.LookupEnv("BBBFLEET_SSH_CONFIG"); set {
		t.Errorf("the process's environment changed: BBBFLEET_SSH_CONFIG=%q", v)
	}
	out.Reset()
	code = runWithEnv(context.Background(), []string{"-c", cfg, "servers"}, ui.Test(&out, &errOut), map[string]string{"BBBFLEET_SSH_CONFIG": "none"})
	if code != 0 || strings.Contains(out.String(), "fromsshconfig") {
		t.Errorf("exit %d\n%s", code, out.String())
	}
}
