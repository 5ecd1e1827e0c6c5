package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/simfleet"
)

// A command that outlives --timeout is reported as timed out, without a
// made-up exit status, while the other servers' results stand.
func TestExecTimeoutIsReported(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 2, NoLoad: true, NoProblem: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	out, errOut, code := run(t, f.Config, "--timeout", "1s", "exec", "all", "--", "sh", "-c", `case "$(hostname)" in bbb1.*) sleep 30;; esac; echo done`)
	if code != ExitFailed || time.Since(start) > 15*time.Second {
		t.Fatalf("exit %d after %s\n%s%s", code, time.Since(start), out, errOut)
	}
	if !strings.Contains(out, "── bbb1 (timed out, ") || !strings.Contains(out, "bbb1: not done within 1s") ||
		!strings.Contains(out, "── bbb2 (ok, ") || strings.Contains(out, "exit -1") {
		t.Errorf("grouped output:\n%s", out)
	}
	out, _, _ = run(t, f.Config, "--timeout", "1s", "-o", "json", "exec", "bbb1", "--", "sleep", "30")
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err, out)
	}
	if len(res) != 1 || res[0].OK || res[0].ExitStatus != nil || !strings.Contains(res[0].Error, "not done within 1s") {
		t.Errorf("json: %s", out)
	}
}

// A command that outlives --timeout is stopped on the server too, also for
// a root login (where sshd refuses signals and a cleanup session is needed
// after the runner has given up on the server).
func TestExecTimeoutStopsRemoteProcess(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root to log in as root")
	}
	hs, cfg := plainFleet(t, 2, "root")
	secs := fmt.Sprintf("%d.%03d", 40+time.Now().UnixNano()%50, time.Now().UnixNano()%1000)
	out, errOut, code := run(t, cfg, "--timeout", "1s", "exec", "all", "--", "sleep", secs)
	if code != ExitFailed || !strings.Contains(out, "timed out") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	gone := sshtest.Poll(5*time.Second, func() bool { return len(sshtest.Processes("sleep", secs)) == 0 })
	if left := sshtest.Processes("sleep", secs); !gone {
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL) // ours: started by this test
		}
		t.Errorf("remote sleeps on %d hosts still running after the timeout: %v", len(hs.Hosts), left)
	}
}
