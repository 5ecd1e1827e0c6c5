package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// push and `exec -- tee` work against the simulated servers (demo --serve
// and the in-process tests): created, unchanged, mode and owner, read back.
func TestPushOnSimulatedServers(t *testing.T) {
	f := opSimFleet(t)
	local := filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(local, []byte("important=1\n"), 0o600)
	push := func(args ...string) ([]pushJSON, string, int) {
		t.Helper()
		out, errOut, code := run(t, f.Config, append([]string{"-o", "json", "push", "all", local, "/etc/x.conf"}, args...)...)
		var res []pushJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s%s", err, out, errOut)
		}
		return res, errOut, code
	}
	res, errOut, code := push()
	if code != 0 || len(res) != 2 || res[0].Status != "created" || res[1].Status != "created" ||
		res[0].Mode != "0644" || res[0].Owner != "root:root" || *res[0].SHA256After != sha256hex("important=1\n") {
		t.Fatalf("first push: exit %d %+v\n%s", code, res, errOut)
	}
	if res, errOut, code = push(); code != 0 || res[0].Status != "unchanged" {
		t.Fatalf("second push: exit %d %+v\n%s", code, res, errOut)
	}
	if res, errOut, code = push("--mode", "0640", "--owner", "root:www-data"); code != 0 || res[0].Status != "changed" ||
		res[0].Mode != "0640" || res[0].Owner != "root:www-data" || strings.Join(res[0].Changes, ",") != "mode,owner" {
		t.Fatalf("mode and owner: exit %d %+v\n%s", code, res, errOut)
	}
	out, errOut, code := run(t, f.Config, "exec", "bbb1", "--", "cat", "/etc/x.conf")
	if code != 0 || !strings.Contains(out, "important=1") {
		t.Errorf("cat: exit %d\n%s%s", code, out, errOut)
	}
	// No temporary file is left behind.
	out, _, _ = run(t, f.Config, "exec", "bbb1", "--", "sh", "-c", "ls -a /etc; stat -c '%a %U:%G %s' /etc/x.conf")
	if strings.Contains(out, ".bbbfleet-push") || !strings.Contains(out, "640 root:www-data 12") {
		t.Errorf("after push:\n%s", out)
	}
	// A missing directory fails on each server, naming it.
	out, errOut, code = run(t, f.Config, "push", "bbb1", local, "/etc/nope/x.conf")
	if code != ExitFailed || !strings.Contains(out, "directory /etc/nope does not exist") {
		t.Errorf("missing directory: exit %d\n%s%s", code, out, errOut)
	}
	// The README's tee example.
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	out, errOut, code = runStdin(t, f.Config, strings.NewReader("other=2\n"), "exec", "all", "--sudo", "--", "tee", "/etc/y.conf")
	if code != 0 || strings.Contains(errOut, "not found") {
		t.Fatalf("tee: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = run(t, f.Config, "exec", "bbb2", "--", "cat", "/etc/y.conf")
	if !strings.Contains(out, "other=2") {
		t.Errorf("tee did not write:\n%s", out)
	}
}
