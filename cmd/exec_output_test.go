package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// Grouped, TSV and JSON output keep the first 1 MiB of each stream and say
// what was cut; the rest of the run is unaffected.
func TestExecOutputIsBoundedAndMarked(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root to log in as root")
	}
	_, cfg := plainFleet(t, 2, "root")
	const script = "head -c 3000000 /dev/zero | tr '\\0' o; echo; head -c 1500000 /dev/zero | tr '\\0' e >&2; echo tail >&2"
	out, errOut, code := run(t, cfg, "exec", "-o", "json", "all", "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\n%.300s\n%s", code, out, errOut)
	}
	var res []map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		so, _ := r["stdout"].(string)
		se, _ := r["stderr"].(string)
		if len(so) != execKeep || len(se) != execKeep || r["stdout_truncated"] != true || r["stderr_truncated"] != true || r["ok"] != true {
			t.Errorf("%v: kept %d/%d bytes, truncated %v/%v, ok %v; want %d each, both truncated, ok",
				r["server"], len(so), len(se), r["stdout_truncated"], r["stderr_truncated"], r["ok"], execKeep)
		}
	}
	// Small output: nothing truncated, the fields are there and false.
	out, _, _ = run(t, cfg, "exec", "-o", "json", "h1", "--", "echo", "hi")
	if !strings.Contains(out, `"stdout_truncated": false`) || !strings.Contains(out, `"stderr_truncated": false`) {
		t.Errorf("json without truncation:\n%s", out)
	}

	// Grouped: a visible note in the block.
	out, errOut, code = run(t, cfg, "exec", "h1", "--", "sh", "-c", script)
	if code != 0 || !strings.Contains(out, "[bbbfleet: stdout cut: the first 1 MiB of 2.9 MiB shown") ||
		!strings.Contains(out, "[bbbfleet: stderr cut: the first 1 MiB of 1.4 MiB shown") {
		t.Errorf("grouped: exit %d, no truncation note:\n%s\n%s", code, out[max(0, len(out)-600):], errOut)
	}
	// TSV: a note on stderr.
	_, errOut, _ = run(t, cfg, "exec", "-o", "tsv", "h1", "--", "sh", "-c", script)
	if !strings.Contains(errOut, "bbbfleet: output of h1 cut to its first 1 MiB per stream") {
		t.Errorf("tsv: stderr %q", errOut)
	}
}

// The captures of one run share a budget: what one server holds is not
// available to another until it is shown and freed.
func TestExecCaptureBudget(t *testing.T) {
	b := newByteBudget(10)
	x, y := b.capture(8), b.capture(8)
	x.Write([]byte("0123456789"))
	y.Write([]byte("abcdef"))
	xs, xt, xn := x.snapshot()
	ys, yt, yn := y.snapshot()
	if xs != "01234567" || !xt || xn != 10 || ys != "ab" || !yt || yn != 6 {
		t.Fatalf("x %q %v %d, y %q %v %d", xs, xt, xn, ys, yt, yn)
	}
	x.free()
	z := b.capture(8)
	z.Write([]byte("ABCDEFGHI"))
	if zs, zt, _ := z.snapshot(); zs != "ABCDEFGH" || !zt {
		t.Errorf("after free: %q %v", zs, zt)
	}
	x.Write([]byte("late")) // an abandoned command still writing
	if xs, _, _ := x.snapshot(); xs != "" {
		t.Errorf("a freed capture kept %q", xs)
	}
}

// Output shown on a terminal cannot forge another server's line: --stream
// lines always and grouped output on a TTY are escaped; --raw passes the
// bytes; grouped output on a pipe and JSON keep them as they are.
func TestExecEscapesServerControls(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2})
	const evil = `printf 'ok\r\033[Kbbb2 | all good\n'`
	out, errOut, code := run(t, f.Config, "exec", "bbb1", "--stream", "--", "sh", "-c", evil)
	if code != 0 || out != `bbb1 | ok\x0d\x1b[Kbbb2 | all good`+"\n" {
		t.Errorf("--stream: exit %d %q %s", code, out, errOut)
	}
	out, _, _ = run(t, f.Config, "exec", "bbb1", "--stream", "--raw", "--", "sh", "-c", evil)
	if out != "bbb1 | ok\r\x1b[Kbbb2 | all good\n" {
		t.Errorf("--stream --raw: %q", out)
	}

	tty := func(args ...string) string {
		var o, e bytes.Buffer
		io := ui.Test(&o, &e)
		io.OutTTY = true
		if code := runIO(t, f.Config, io, args...); code != 0 {
			t.Errorf("%v: exit %d\n%s%s", args, code, o.String(), e.String())
		}
		return o.String()
	}
	if out := tty("exec", "bbb1", "--", "sh", "-c", evil); !strings.Contains(out, `ok\x0d\x1b[Kbbb2 | all good`+"\n") || strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("grouped on a terminal: %q", out)
	}
	if out := tty("exec", "bbb1", "--raw", "--", "sh", "-c", evil); !strings.Contains(out, "ok\r\x1b[Kbbb2 | all good\n") {
		t.Errorf("grouped --raw on a terminal: %q", out)
	}
	out, _, _ = run(t, f.Config, "exec", "bbb1", "--", "sh", "-c", evil)
	if !strings.Contains(out, "ok\r\x1b[Kbbb2 | all good\n") {
		t.Errorf("grouped on a pipe: %q", out)
	}
	out, _, _ = run(t, f.Config, "exec", "-o", "json", "bbb1", "--", "sh", "-c", evil)
	if !strings.Contains(out, `"stdout": "ok\r\u001b[Kbbb2 | all good\n"`) {
		t.Errorf("json: %s", out)
	}
}

// -o tsv is one tab-separated line per server under a header, the
// output's newlines and tabs escaped.
func TestExecTSV(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 2})
	script := whoami + fmt.Sprintf(`echo "one $3"; printf 'two\tthree\\\n'; echo err >&2; [ "$3" = %s ] && exit 4; exit 0`, f.Hosts[1].SSH.Addr)
	out, errOut, code := run(t, f.Config, "exec", "-o", "tsv", "all", "--", "sh", "-c", script)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "SERVER\tSTATUS\tEXIT\tDURATION_MS\tSTDOUT\tSTDERR\tERROR" {
		t.Fatalf("tsv:\n%s", out)
	}
	for i, h := range f.Hosts {
		cols := strings.Split(lines[i+1], "\t")
		if len(cols) != 7 {
			t.Errorf("%s: %d columns: %q", h.Name, len(cols), lines[i+1])
			continue
		}
		status, exit := "ok", "0"
		if i == 1 {
			status, exit = "failed", "4"
		}
		if cols[0] != h.Name || cols[1] != status || cols[2] != exit || !regexp.MustCompile(`^\d+\.\d$`).MatchString(cols[3]) ||
			cols[4] != `one `+h.SSH.Addr+`\ntwo\tthree\\` || cols[5] != "err" {
			t.Errorf("%s: %q", h.Name, cols)
		}
		if (i == 1) != strings.Contains(cols[6], "status 4") {
			t.Errorf("%s: error column %q", h.Name, cols[6])
		}
	}
	if strings.Contains(out, "──") || !strings.Contains(errOut, "1 of 2 servers failed") {
		t.Errorf("tsv:\n%s%s", out, errOut)
	}
}

// --batch rolls: a batch starts after the one before has finished; with
// --stop-on-error the servers after a failed batch are not run.
func TestExecBatch(t *testing.T) {
	f := testfleet.Start(t, testfleet.Options{N: 5})
	log := filepath.Join(t.TempDir(), "log")
	os.WriteFile(log, nil, 0o666)
	os.Chmod(filepath.Dir(log), 0o777)
	script := whoami + fmt.Sprintf(`echo "start $3" >> %[1]s; sleep 0.3; echo "end $3" >> %[1]s; [ "$3" = %[2]s ] && exit 1; exit 0`, log, f.Hosts[2].SSH.Addr)
	out, errOut, code := run(t, f.Config, "exec", "all", "--batch", "2", "--", "sh", "-c", script)
	if code != 1 || len(headers(out)) != 5 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	b, _ := os.ReadFile(log)
	ev := strings.Split(strings.TrimSpace(string(b)), "\n")
	pos := map[string]int{}
	for i, e := range ev {
		pos[e] = i
	}
	batchOf := func(i int) int { return i / 2 }
	for i, h := range f.Hosts {
		for j, g := range f.Hosts {
			if batchOf(j) < batchOf(i) && pos["start "+h.SSH.Addr] < pos["end "+g.SSH.Addr] {
				t.Errorf("%s (batch %d) started before %s (batch %d) ended:\n%s", h.Name, batchOf(i)+1, g.Name, batchOf(j)+1, b)
			}
		}
	}
	if len(ev) != 10 {
		t.Errorf("log: %q, want every server to run without --stop-on-error", ev)
	}

	os.WriteFile(log, nil, 0o666)
	out, errOut, code = run(t, f.Config, "exec", "all", "--batch", "2", "--stop-on-error", "--", "sh", "-c", script)
	hs := headers(out)
	if code != 1 || len(hs) != 5 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for i, want := range []string{"ok", "ok", "exit 1", "ok", "not run"} {
		if !strings.HasPrefix(hs[i], fmt.Sprintf("── bbb%d (%s, ", i+1, want)) {
			t.Errorf("header %d = %q, want %s", i, hs[i], want)
		}
	}
	if !strings.Contains(blocks(out)["bbb5"], "error: bbb5: not run: batch 2 failed (bbb3)") {
		t.Errorf("bbb5 block %q", blocks(out)["bbb5"])
	}
	if !strings.Contains(errOut, "bbbfleet: 1 of 5 servers failed; 1 not run (--stop-on-error)") {
		t.Errorf("stderr %q", errOut)
	}
	if b, _ := os.ReadFile(log); strings.Contains(string(b), f.Hosts[4].SSH.Addr) {
		t.Errorf("bbb5 ran after a failed batch:\n%s", b)
	}
	out, _, code = run(t, f.Config, "exec", "-o", "json", "all", "--batch", "2", "--stop-on-error", "--", "sh", "-c", script)
	var res []execJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || len(res) != 5 || res[4].Status != "not_run" || res[4].OK || res[2].Status != "failed" {
		t.Errorf("json: exit %d %v\n%s", code, err, out)
	}

	for _, args := range [][]string{{"--stop-on-error"}, {"--batch", "-1"}} {
		_, errOut, code := run(t, f.Config, append([]string{"exec", "all"}, append(args, "--", "true")...)...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	out, _, _ = run(t, f.Config, "exec", "--dry-run", "all", "--batch", "2", "--", "true")
	if !strings.Contains(out, ", batch 3): true\n") {
		t.Errorf("dry run: %s", out)
	}
}

// Ctrl-C on grouped output shows what the servers already returned, marks
// the others interrupted (with what they printed so far) and exits 130.
func TestExecCtrlCKeepsArrivedResults(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root to log in as root")
	}
	hs, cfg := plainFleet(t, 3, "root")
	secs := uniqueSecs()
	script := whoami + fmt.Sprintf(`echo "out $3"; [ "$3" = %s ] && sleep %s; echo done`, hs.Hosts[2].Addr, secs)
	for _, format := range []string{"", "json"} {
		ctx, cancel := context.WithCancel(context.Background())
		args := []string{"exec", "all", "--", "sh", "-c", script}
		if format != "" {
			args = append([]string{"-o", format}, args...)
		}
		done, out, errOut := runAsync(t, ctx, cfg, args...)
		if !sshtest.Poll(10*time.Second, func() bool { return len(sshtest.Processes("sleep", secs)) == 1 }) {
			cancel()
			t.Fatalf("the sleep did not start")
		}
		time.Sleep(time.Second) // bbb1 and bbb2 are done by now
		cancel()
		var code int
		select {
		case code = <-done:
		case <-time.After(8 * time.Second):
			t.Fatal("exec did not return after Ctrl-C")
		}
		if code != ExitInterrupted {
			t.Errorf("exit %d, want 130", code)
		}
		if format == "json" {
			var res []execJSON
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res) != 3 {
				t.Fatalf("json after Ctrl-C: %v\n%s", err, out)
			}
			if !res[0].OK || res[2].Status != "interrupted" || res[2].Stdout != "out "+hs.Hosts[2].Addr+"\n" {
				t.Errorf("json after Ctrl-C:\n%s", out)
			}
		} else {
			hd := headers(out.String())
			if len(hd) != 3 || !strings.HasPrefix(hd[0], "── h1 (ok, ") || !strings.HasPrefix(hd[1], "── h2 (ok, ") || !strings.HasPrefix(hd[2], "── h3 (interrupted, ") {
				t.Errorf("headers %q\n%s", hd, out)
			}
			b := blocks(out.String())
			if b["h1"] != "out "+hs.Hosts[0].Addr+"\ndone\n" || b["h3"] != "out "+hs.Hosts[2].Addr+"\n" {
				t.Errorf("blocks %q", b)
			}
		}
		if !strings.Contains(errOut.String(), "interrupted") {
			t.Errorf("stderr %q", errOut)
		}
		cancel()
		noneLeft(t, secs, "Ctrl-C")
	}
}

// The JSON array written one server at a time is byte for byte what
// ui.IO.JSON writes for the whole slice.
func TestExecJSONStreamedSameAsWhole(t *testing.T) {
	st := 3
	js := []execJSON{
		{Server: "bbb1", OK: true, Status: "ok", ExitStatus: &st, Stdout: "a <b> & \x00\n", DurationMS: 1.5},
		{Server: "bbb2", Status: "failed", Error: "bbb2: boom \u2028"},
	}
	var whole, streamed, e bytes.Buffer
	if err := ui.Test(&whole, &e).JSON(js); err != nil {
		t.Fatal(err)
	}
	app := &App{IO: ui.Test(&streamed, &e), ctx: context.Background()}
	v := &execView{app: app, format: "json"}
	for _, j := range js {
		if err := v.jsonItem(j); err != nil {
			t.Fatal(err)
		}
	}
	v.finish()
	if streamed.String() != whole.String() {
		t.Errorf("streamed:\n%s\nwhole:\n%s", streamed.String(), whole.String())
	}
	streamed.Reset()
	v = &execView{app: app, format: "json"}
	v.finish()
	if streamed.String() != "[]\n" {
		t.Errorf("no servers: %q", streamed.String())
	}
}
