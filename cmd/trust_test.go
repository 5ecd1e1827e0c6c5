//go:build unix

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

// TestUntrustedConfigInCurrentDirectory: a ./bbbfleet.yaml that another
// user owns, or that others can write, is found as before (the search
// order is unchanged) but refused with exit 2, naming the file, its owner
// and mode and what to do; -v says which config was used.
func TestUntrustedConfigInCurrentDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "xdg"))
	t.Setenv("BBBFLEET_CONFIG", "")
	p := filepath.Join(dir, "bbbfleet.yaml")
	if err := os.WriteFile(p, []byte("servers:\n  - {name: bbb1, host: bbb1.example.org}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runHere := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, ui.Test(&out, &errOut))
		return out.String(), errOut.String(), code
	}

	out, errOut, code := runHere("-v", "servers")
	if code != 0 || !strings.HasPrefix(out, "NAME\t") || !strings.Contains(errOut, "bbbfleet: using config "+p+"\n") {
		t.Fatalf("own config: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, _ := runHere("servers"); strings.Contains(errOut, "using config") {
		t.Errorf("without -v: %q", errOut)
	}

	os.Chmod(p, 0o666)
	out, errOut, code = runHere("servers")
	if code != ExitUsage || out != "" ||
		!strings.Contains(errOut, "bbbfleet: error: refusing the config bbbfleet.yaml: group or others can write it (mode 0666, owner ") ||
		!strings.Contains(errOut, "`chmod go-w bbbfleet.yaml`") ||
		!strings.Contains(errOut, "bbbfleet: hint: or pass --config with a config file that you or root own") {
		t.Errorf("mode 0666: exit %d\n%s\n%s", code, out, errOut)
	}

	if os.Geteuid() != 0 {
		t.Skip("giving the config to another user needs root")
	}
	os.Chmod(p, 0o644)
	os.Chown(p, 65534, 65534)
	out, errOut, code = runHere("-v", "servers")
	if code != ExitUsage || out != "" ||
		!strings.Contains(errOut, "bbbfleet: error: refusing the config bbbfleet.yaml: it is owned by ") ||
		!strings.Contains(errOut, "(uid 65534), not by you (") || !strings.Contains(errOut, "mode 0644") ||
		strings.Contains(errOut, "using config") {
		t.Errorf("another user's config: exit %d\n%s\n%s", code, out, errOut)
	}
	// A secrets file of another user is refused the same way.
	os.Chown(p, 0, 0)
	sp := filepath.Join(dir, "secrets.yaml")
	os.WriteFile(sp, []byte("bbb1: s3cret\n"), 0o600)
	os.Chown(sp, 65534, 65534)
	_, errOut, code = runHere("config", "validate")
	if code != ExitUsage || !strings.Contains(errOut, "refusing the secrets file secrets.yaml: it is owned by ") ||
		!strings.Contains(errOut, "hint: or set secrets_file: to a file that you or root own, mode 0600") {
		t.Errorf("another user's secrets: exit %d\n%s", code, errOut)
	}
}
