package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// push over real sshd, as root and as a non-root login through sudo:
// created, unchanged, a dry run that writes nothing, mode and owner
// applied, a failing server that does not stop the others.
func TestPush(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root: logs in as root, creates a user and a sudoers rule")
	}
	const user = "bbbfleet-test"
	sshtest.EnsureUser(t, user)
	sshtest.AllowSudo(t, user, true)
	for _, login := range []string{"root", user} {
		t.Run(login, func(t *testing.T) {
			hs, cfg := plainFleet(t, 3, login)
			dir := t.TempDir() // root's, mode 0700: only sudo or root can write
			remote := filepath.Join(dir, "x.conf")
			local := filepath.Join(t.TempDir(), "x.conf")
			os.WriteFile(local, []byte("a=1\n"), 0o600)
			sudo := []string{}
			if login != "root" {
				sudo = []string{"--sudo"}
			}
			push := func(extra ...string) ([]pushJSON, string, int) {
				t.Helper()
				args := append([]string{"-j", "1", "-o", "json", "push", "h1,h2", local, remote}, sudo...)
				out, errOut, code := run(t, cfg, append(args, extra...)...)
				var res []pushJSON
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("%v\n%s%s", err, out, errOut)
				}
				return res, errOut, code
			}
			statuses := func(res []pushJSON) string {
				var s []string
				for _, r := range res {
					s = append(s, r.Server+"="+r.Status)
				}
				return strings.Join(s, " ")
			}
			// Both hosts are this machine, one after the other (-j 1): h1
			// creates the file, h2 finds it in place.
			res, errOut, code := push()
			if code != 0 || statuses(res) != "h1=created h2=unchanged" {
				t.Fatalf("first push: exit %d %s\n%s", code, statuses(res), errOut)
			}
			if res[0].SHA256Before != nil || res[0].SHA256After == nil || *res[0].SHA256After != sha256hex("a=1\n") ||
				res[0].Mode != "0644" || res[0].Owner != "root:root" || !res[0].Changed || res[1].Changed {
				t.Errorf("first push: %+v", res)
			}
			if b, _ := os.ReadFile(remote); string(b) != "a=1\n" {
				t.Errorf("remote holds %q", b)
			}
			if res, _, code = push(); code != 0 || statuses(res) != "h1=unchanged h2=unchanged" {
				t.Errorf("second push: exit %d %s", code, statuses(res))
			}

			// A dry run reads the checksums and writes nothing.
			os.WriteFile(local, []byte("a=2\n"), 0o600)
			st0, _ := os.Stat(remote)
			res, errOut, code = push("--dry-run")
			if code != 0 || statuses(res) != "h1=would-change h2=would-change" || strings.Join(res[0].Changes, ",") != "content" {
				t.Errorf("dry run: exit %d %s %+v\n%s", code, statuses(res), res, errOut)
			}
			if st, _ := os.Stat(remote); !st.ModTime().Equal(st0.ModTime()) {
				t.Errorf("the dry run touched %s", remote)
			}
			if b, _ := os.ReadFile(remote); string(b) != "a=1\n" {
				t.Errorf("the dry run wrote %q", b)
			}
			fresh := filepath.Join(dir, "new.conf")
			out, errOut, code := run(t, cfg, append([]string{"--dry-run", "-o", "json", "push", "h1", local, fresh}, sudo...)...)
			if code != 0 || !strings.Contains(out, `"status": "would-create"`) {
				t.Errorf("dry run of a new file: exit %d\n%s%s", code, out, errOut)
			}
			if _, err := os.Lstat(fresh); !os.IsNotExist(err) {
				t.Errorf("the dry run created %s: %v", fresh, err)
			}
			out, errOut, _ = run(t, cfg, append([]string{"--dry-run", "push", "h1", local, remote}, sudo...)...)
			if !strings.Contains(out, "would-change") || !strings.Contains(errOut, "dry run: 1 of 1 servers would change; nothing written") {
				t.Errorf("dry run, TSV:\n%s%s", out, errOut)
			}

			// Mode and owner applied with the new content.
			res, errOut, code = push("--mode", "0600", "--owner", user+":"+user)
			if code != 0 || statuses(res) != "h1=changed h2=unchanged" || strings.Join(res[0].Changes, ",") != "content,mode,owner" {
				t.Fatalf("mode/owner: exit %d %s %+v\n%s", code, statuses(res), res, errOut)
			}
			st, _ := os.Stat(remote)
			if st.Mode().Perm() != 0o600 || fileOwner(st) != user {
				t.Errorf("%s: mode %v owner %s", remote, st.Mode(), fileOwner(st))
			}
			if b, _ := os.ReadFile(remote); string(b) != "a=2\n" {
				t.Errorf("remote holds %q", b)
			}
			// Only the mode differs: the content is not sent again, the mode is set.
			res, _, code = push("--mode", "0640")
			if code != 0 || statuses(res) != "h1=changed h2=unchanged" || strings.Join(res[0].Changes, ",") != "mode" || res[0].Mode != "0640" {
				t.Errorf("mode only: exit %d %+v", code, res)
			}
			if st, _ := os.Stat(remote); fileOwner(st) != user {
				t.Errorf("the owner was not kept: %s", fileOwner(st))
			}

			// A failing server does not stop the others.
			os.WriteFile(local, []byte("a=3\n"), 0o600)
			hs.Hosts[1].Stop()
			out, errOut, code = run(t, cfg, append([]string{"-j", "1", "push", "all", local, remote}, sudo...)...)
			if code != 1 || !strings.Contains(errOut, "1 of 3 servers failed") {
				t.Errorf("with h2 down: exit %d\n%s%s", code, out, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[1], "h1\tchanged\t") || !strings.HasPrefix(lines[2], "h2\tfailed\t") ||
				!strings.Contains(lines[2], "connection refused") || !strings.HasPrefix(lines[3], "h3\tunchanged\t") {
				t.Errorf("with h2 down:\n%s", out)
			}
			if b, _ := os.ReadFile(remote); string(b) != "a=3\n" {
				t.Errorf("remote holds %q", b)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".bbbfleet-push.*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// push refuses what it cannot do, before connecting.
func TestPushRefuses(t *testing.T) {
	hs, cfg := plainFleet(t, 1, "root")
	local := filepath.Join(t.TempDir(), "f")
	os.WriteFile(local, []byte("x"), 0o644)
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(local, link)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"push", "h1", t.TempDir(), "/tmp/x"}, "is not a regular file (a directory)"},
		{[]string{"push", "h1", "/dev/null", "/tmp/x"}, "is not a regular file"},
		{[]string{"push", "h1", local + ".missing", "/tmp/x"}, "no such file"},
		{[]string{"push", "h1", local, "tmp/x"}, `remote path "tmp/x" is not absolute`},
		{[]string{"push", "h1", local, "/tmp/"}, "names a directory"},
		{[]string{"push", "h1", local, "/tmp/x", "--mode", "0999"}, "not an octal file mode"},
		{[]string{"push", "h1", local, "/tmp/x", "--owner", "root;id"}, "is not user or user:group"},
		{[]string{"push", local, "/tmp/x"}, "accepts 3 arg(s)"},
	} {
		out, errOut, code := run(t, cfg, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s%s", tc.args, code, tc.want, out, errOut)
		}
	}
	if n := hs.Hosts[0].Connections(); n != 0 {
		t.Errorf("%d connections for refused pushes", n)
	}
	// A LOCAL symlink to a regular file is fine; a REMOTE symlink is refused.
	dir := t.TempDir()
	target := filepath.Join(dir, "real")
	os.WriteFile(target, []byte("old"), 0o644)
	os.Symlink(target, filepath.Join(dir, "x"))
	out, errOut, code := run(t, cfg, "push", "h1", link, filepath.Join(dir, "x"))
	if code != 1 || !strings.Contains(out, "symbolic link") {
		t.Errorf("remote symlink: exit %d\n%s%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Errorf("the link's target was written: %q", b)
	}
	// A missing directory is a per-server failure naming it.
	out, _, code = run(t, cfg, "push", "h1", local, filepath.Join(dir, "nodir", "x"))
	if code != 1 || !strings.Contains(out, "directory "+filepath.Join(dir, "nodir")+" does not exist") {
		t.Errorf("missing directory: exit %d\n%s", code, out)
	}
}

// Ctrl-C shows the servers that were done and marks the others
// interrupted; exit 130.
func TestPushCtrlCKeepsResults(t *testing.T) {
	if !sshtest.IsRoot() {
		t.Skip("needs root to log in as root")
	}
	hs, cfg := plainFleet(t, 2, "root")
	hs.Hosts[1].Pause() // TCP accepted, no SSH banner: h2 hangs in the dial
	defer hs.Hosts[1].Resume()
	local := filepath.Join(t.TempDir(), "f")
	os.WriteFile(local, []byte("x\n"), 0o644)
	remote := filepath.Join(t.TempDir(), "f")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, out, errOut := runAsync(t, ctx, cfg, "-o", "json", "push", "all", local, remote)
	if !sshtest.Poll(10*time.Second, func() bool { _, err := os.Stat(remote); return err == nil }) {
		t.Fatal("h1 did not write the file")
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case code := <-done:
		var res []pushJSON
		if err := json.Unmarshal(out.Bytes(), &res); err != nil || code != ExitInterrupted || len(res) != 2 ||
			res[0].Status != "created" || res[1].Status != "interrupted" {
			t.Errorf("exit %d %v\n%s%s", code, err, out, errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("push did not return after Ctrl-C")
	}
}

// TestPushLockAndAudit: push holds the fleet lock (exit 4 while another
// run holds it, nothing written) and writes one valid audit line per
// server with the sha256 before and after, never the content; a dry run
// needs no lock and writes no audit line.
func TestPushLockAndAudit(t *testing.T) {
	hs, cfg := plainFleet(t, 2, "")
	stateDir := filepath.Join(hs.Dir, "state")
	dir := t.TempDir()
	remote := filepath.Join(dir, "x.conf")
	local := filepath.Join(t.TempDir(), "x.conf")
	const content = "secret-looking-content=42\n"
	os.WriteFile(local, []byte(content), 0o600)
	lock, err := fleet.AcquireLock(context.Background(), filepath.Join(stateDir, "lock"), "bbbfleet stop @pool --drain 45m", 0)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, cfg, "push", "h1,h2", local, remote)
	if code != ExitLocked || !strings.Contains(errOut, "bbbfleet stop @pool --drain 45m") {
		t.Fatalf("push while the lock is held: exit %d, want 4\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(remote); err == nil {
		t.Fatal("written while the lock was held")
	}
	if out, errOut, code := run(t, cfg, "push", "h1,h2", local, remote, "--dry-run"); code != 0 {
		t.Fatalf("dry run while the lock is held: exit %d\n%s\n%s", code, out, errOut)
	}
	lock.Release()
	if out, errOut, code := run(t, cfg, "-j", "1", "push", "h1,h2", local, remote); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	raw, err := os.ReadFile(filepath.Join(stateDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "secret-looking-content") {
		t.Errorf("the audit log holds the file's content:\n%s", raw)
	}
	recs := auditLines(t, filepath.Join(stateDir, "audit.log"))
	if len(recs) != 2 {
		t.Fatalf("%d audit lines, want 2 (one per server; none for the refused run and the dry run):\n%s", len(recs), raw)
	}
	sum := sha256hex(content)
	if r := recs[0]; r.Server != "h1" || r.Action != "push" || r.Result != "done" ||
		r.Message != remote+": created (sha256 none -> "+sum+")" || !strings.Contains(r.Command, "push h1,h2") {
		t.Errorf("h1: %+v", r)
	}
	if r := recs[1]; r.Server != "h2" || r.Result != "skipped" || r.Message != remote+": unchanged (sha256 "+sum+" -> "+sum+")" {
		t.Errorf("h2: %+v", r)
	}
}

// A dry run counts every server, and says how many could not be read; the
// JSON error is the detail, without the server (it is the "server" field).
func TestPushDryRunCountsAndJSONError(t *testing.T) {
	_, cfg := plainFleet(t, 2, "root")
	local := filepath.Join(t.TempDir(), "f")
	os.WriteFile(local, []byte("x"), 0o644)
	remote := filepath.Join(t.TempDir(), "nodir", "x")
	out, errOut, code := run(t, cfg, "--dry-run", "push", "h1,h2", local, remote)
	if code != ExitFailed || !strings.Contains(errOut, "dry run: 0 of 2 servers would change (2 could not be read); nothing written") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, cfg, "-o", "json", "push", "h1", local, remote)
	var res []pushJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	if code != ExitFailed || strings.HasPrefix(res[0].Error, "h1") || !strings.HasPrefix(res[0].Error, "push: ") ||
		!strings.Contains(res[0].Error, "does not exist") {
		t.Errorf("exit %d, error %q", code, res[0].Error)
	}
}
