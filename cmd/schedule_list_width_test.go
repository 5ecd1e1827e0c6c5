package cmd

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// schedule list on an 80-column terminal shows every rule's three next
// firings whole (one per line), and no line is wider than the terminal.
func TestScheduleListNextFitsEightyColumns(t *testing.T) {
	f := opSimFleet(t)
	t.Setenv("BBBFLEET_SSH_CONFIG", "none")
	var out, errOut bytes.Buffer
	io := ui.Test(&out, &errOut)
	io.OutTTY, io.Width = true, 80
	if code := Run(context.Background(), []string{"-c", f.Config, "schedule", "list"}, io); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	o := ansi.Strip(out.String())
	for _, l := range strings.Split(o, "\n") {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d cells wide: %q", w, l)
		}
	}
	rules := strings.Count(o, "│ ") // rough: the table has rows
	if rules == 0 {
		t.Fatalf("no table:\n%s", o)
	}
	firing := regexp.MustCompile(`[A-Z][a-z]{2} \d{4}-\d{2}-\d{2} \d{2}:\d{2}`)
	if strings.Contains(o, "…") {
		t.Errorf("a cell was cut:\n%s", o)
	}
	n := len(firing.FindAllString(o, -1))
	if n == 0 || n%3 != 0 {
		t.Errorf("%d firings shown, want 3 per rule:\n%s", n, o)
	}
}
