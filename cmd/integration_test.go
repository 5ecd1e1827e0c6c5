package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// run runs bbbfleet in-process against a config and returns its output.
func run(t *testing.T, cfg string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	var out, errOut bytes.Buffer
	code = Run(context.Background(), append([]string{"-c", cfg}, args...), ui.Test(&out, &errOut))
	return out.String(), errOut.String(), code
}

func TestExecRealSSHD(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 3})
	out, errOut, code := run(t, f.Config, "exec", "all", "--", "bbb-conf", "--status")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, name := range []string{"bbb1", "bbb2", "bbb3"} {
		if !strings.Contains(out, "── "+name+" (ok, ") {
			t.Errorf("no header for %s in\n%s", name, out)
		}
	}
	if c := strings.Count(out, "bbb-web —"); c != 3 {
		t.Errorf("bbb-web status lines: %d, want 3\n%s", c, out)
	}

	// JSON, with one failing server
	out, _, code = run(t, f.Config, "exec", "-o", "json", "all", "--", "sh", "-c", "exit 3")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err, out)
	}
	if len(res) != 3 || res[0].ExitStatus == nil || *res[0].ExitStatus != 3 || res[0].OK {
		t.Errorf("json: %s", out)
	}
}
