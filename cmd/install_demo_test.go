package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// The demo fleet's server without BBB can be installed, and is a working
// BBB afterwards.
func TestInstallDemoNewServer(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 2, NoLoad: true, NewServer: true, InstallDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, errOut, code := run(t, f.Config, "install", "@new", "--register")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "new1\tdone\t") {
		t.Errorf("output:\n%s", out)
	}
	// Healthy; Scalelite has it enabled (offline until its poller
	// polls it, which the stand-in does not do).
	out, errOut, code = run(t, f.Config, "check", "new1")
	if !strings.Contains(out, "new1\tWARNING\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tOK\tWARNING") || !strings.Contains(errOut, "scalelite: enabled, offline") {
		t.Fatalf("check after install: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := run(t, f.Config, "load", "all"); code != 0 {
		t.Errorf("load all: exit %d", code)
	}
}

func TestInstallRegisterSecretNotOnCommandLine(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NewServer: true, InstallDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, errOut, code := run(t, f.Config, "-v", "install", "new1", "--register")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	st, _ := f.New.Sim.State()
	lb, _ := f.Scalelite.Sim.State()
	found := false
	for _, sv := range lb.Scalelite.Servers {
		if sv.URL == strings.TrimSuffix(f.New.APIURL, "/") {
			found = true
			if sv.Secret != st.Secret || sv.State != "enabled" {
				t.Errorf("scalelite entry: %+v", sv)
			}
		}
	}
	if !found {
		t.Fatalf("new1 not added to Scalelite:\n%s", out)
	}
	// -v shows every remote command: the secret is on none of them.
	if strings.Contains(out+errOut, st.Secret) {
		t.Error("the secret appears in the output (a command line?)")
	}
	if !strings.Contains(out+errOut, "bin/rails runner") {
		t.Errorf("-v did not show the runner:\n%s\n%s", out, errOut)
	}
}

func TestInstallJSONEventsAndAttachWithoutInstall(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NewServer: true, InstallDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, errOut, code := run(t, f.Config, "install", "--attach", "new1")
	if code != ExitFailed || !strings.Contains(errOut, "no install started by bbbfleet was found on this server") {
		t.Fatalf("attach without an install: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, f.Config, "install", "new1", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var pre, progress, result bool
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		switch m["type"] {
		case "preflight":
			pre = len(m["checks"].([]any)) > 0
		case "event":
			if d, ok := m["data"].(map[string]any); ok && m["step"] == "follow" && d["phase"] == "packages" && d["line"] != "" {
				progress = true
			}
		case "result":
			result = m["result"] == "done"
		}
	}
	if !pre || !progress || !result {
		t.Errorf("preflight %v, progress %v, result %v:\n%s", pre, progress, result, out)
	}
}

func TestInstallLiveLineOnATerminal(t *testing.T) {
	f, err := simfleet.Start(context.Background(), simfleet.Options{N: 1, NoLoad: true, NewServer: true, InstallDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	t.Setenv("SSH_AUTH_SOCK", "")
	var out, errOut bytes.Buffer
	io := ui.Test(&out, &errOut)
	io.OutTTY = true
	if code := Run(context.Background(), []string{"-c", f.Config, "install", "new1"}, io); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	o := out.String()
	for _, w := range []string{"new1  follow    packages: Setting up bigbluebutton", "new1  follow    certificates: ", "\r\x1b[2K", "new1  secret    secret verified with a signed call"} {
		if !strings.Contains(o, w) {
			t.Errorf("live line lacks %q:\n%q", w, o)
		}
	}
	if strings.Contains(o, "Z new1 follow progress") {
		t.Error("timestamped pipe lines on a terminal")
	}
}
