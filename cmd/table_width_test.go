package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"

	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// On an 80-column terminal the servers table fits: the API URL and SSH
// columns give way (and are named), nothing wraps.
func TestServersTableFitsTheTerminal(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(cfg, []byte(`servers:
  - {name: bbb1, host: bbb1.schulen.example.org, tags: [core, pool]}
  - {name: bbb2, host: bbb2.schulen.example.org, tags: [pool]}
`), 0o644)
	var out, errOut bytes.Buffer
	io := &ui.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, OutTTY: true, Width: 80}
	if code := Run(t.Context(), []string{"-c", cfg, "servers"}, io); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if w := runewidth.StringWidth(l); w > 80 {
			t.Fatalf("a line of %d columns:\n%s", w, out.String())
		}
	}
	if !strings.Contains(out.String(), "bbb1.schulen.example.org") || !strings.Contains(out.String(), "not shown, the terminal is too narrow: API URL") {
		t.Errorf("servers table:\n%s", out.String())
	}
	// Wide enough: every column.
	out.Reset()
	io.Width = 200
	Run(t.Context(), []string{"-c", cfg, "servers"}, io)
	if !strings.Contains(out.String(), "https://bbb1.schulen.example.org/bigbluebutton/api/") {
		t.Errorf("wide servers table:\n%s", out.String())
	}
}
