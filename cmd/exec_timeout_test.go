package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
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

func TestLineWriterBoundsPartialLines(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := &lineWriter{mu: &mu, w: &out, prefix: "s | "}
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\n"))
	if out.String() != "s | one\ns | two\n" {
		t.Fatalf("%q", out.String())
	}
	out.Reset()
	w.Write(bytes.Repeat([]byte("x"), maxStreamLine+10))
	if out.Len() < maxStreamLine || w.buf.Len() != 0 {
		t.Fatalf("a long partial line was held back: wrote %d, kept %d", out.Len(), w.buf.Len())
	}
}
