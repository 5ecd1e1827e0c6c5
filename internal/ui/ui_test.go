package ui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

func TestTableOnPipeIsTSV(t *testing.T) {
	var out bytes.Buffer
	o := Test(&out, &out)
	err := o.Render(Table{Headers: []string{"NAME", "STATE"}, Rows: [][]string{{"bbb1", "up"}, {"bbb2", "down\tx"}}, Footer: [][]string{{"TOTAL", "1/2"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "NAME\tSTATE\nbbb1\tup\nbbb2\tdown x\nTOTAL\t1/2\n"
	if out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
}

func TestTableOnTTY(t *testing.T) {
	var out bytes.Buffer
	o := &IO{Out: &out, ErrOut: &out, OutTTY: true, Color: true}
	if err := o.Render(Table{Headers: []string{"NAME", "STATE"}, Rows: [][]string{{"bbb1", "up"}, {"bbb2", "down"}}}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "╭") || !strings.Contains(s, "bbb1") {
		t.Errorf("no box drawing:\n%s", s)
	}
	if !strings.Contains(s, "\x1b[") {
		t.Errorf("no colour on a colour terminal:\n%q", s)
	}

	out.Reset()
	o.DisableColor() // --no-color / NO_COLOR
	if err := o.Render(Table{Headers: []string{"NAME", "STATE"}, Rows: [][]string{{"bbb2", "down"}}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Errorf("colour despite --no-color:\n%q", out.String())
	}
	if o.Paint(Bad, "x") != "x" {
		t.Error("Paint coloured without colour")
	}
}

func TestToneOf(t *testing.T) {
	for s, want := range map[string]Tone{"OK": Good, "up": Good, "WARNING": Warn, "down: refused": Bad, "CRITICAL": Bad, "-": Faint, "bbb1": Plain} {
		if got := ToneOf(s); got != want {
			t.Errorf("ToneOf(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestPrometheus(t *testing.T) {
	var out bytes.Buffer
	err := WritePrometheus(&out, []Gauge{{Name: "x_up", Help: "Up.\nTwo lines", Samples: []Sample{{Labels: map[string]string{"server": `a"b`, "check": "c"}, Value: 1}}}, {Name: "empty"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "# HELP x_up Up.\\nTwo lines\n# TYPE x_up gauge\nx_up{check=\"c\",server=\"a\\\"b\"} 1\n"
	if out.String() != want {
		t.Fatalf("got %q\nwant %q", out.String(), want)
	}
}

func TestTSVForcedOnTTY(t *testing.T) {
	var out bytes.Buffer
	o := &IO{Out: &out, ErrOut: &out, OutTTY: true, Color: true}
	if err := o.Render(Table{Headers: []string{"A"}, Rows: [][]string{{"down"}}, TSV: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "A\ndown\n" {
		t.Fatalf("-o tsv on a terminal: %q", out.String())
	}
}

func lineWidths(s string) []int {
	var ws []int
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		ws = append(ws, runewidth.StringWidth(l))
	}
	return ws
}

// A table wider than the terminal is fitted: shorter headers, compact
// cells, then droppable columns left out (and said so), then cut cells;
// never a line wider than the terminal.
func TestTableFitsTheTerminal(t *testing.T) {
	var out bytes.Buffer
	io := &IO{Out: &out, OutTTY: true, Width: 80}
	tb := Table{Headers: []string{"SERVER", "STATUS"}}
	for i := range 11 {
		tb.Headers = append(tb.Headers, fmt.Sprintf("CHECKNAME%d", i))
		col := Column{Short: fmt.Sprintf("C%d", i), Compact: func(s string) string { return strings.Fields(s)[0] }}
		if i%2 == 0 {
			col.Drop = 1
		}
		tb.Columns = append(tb.Columns, col)
	}
	tb.Columns = append([]Column{{}, {}}, tb.Columns...)
	for _, name := range []string{"bbb1.example.org", "bbb2"} {
		row := []string{name, "CRITICAL"}
		for range 11 {
			row = append(row, "✔ 123.4ms")
		}
		tb.Rows = append(tb.Rows, row)
	}
	if err := io.Render(tb); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, w := range lineWidths(s) {
		if w > 80 {
			t.Fatalf("a line is %d columns wide on an 80-column terminal:\n%s", w, s)
		}
	}
	if !strings.Contains(s, "bbb1.example.org") || !strings.Contains(s, "CRITICAL") || !strings.Contains(s, "C1 ") {
		t.Errorf("fitted table lost its key columns:\n%s", s)
	}
	// Wide enough: nothing changes.
	out.Reset()
	io.Width = 300
	io.Render(tb)
	if !strings.Contains(out.String(), "CHECKNAME10") || !strings.Contains(out.String(), "✔ 123.4ms") {
		t.Errorf("wide terminal changed the table:\n%s", out.String())
	}
	// A narrower terminal leaves out droppable columns and says which.
	out.Reset()
	io.Width = 50
	io.Render(tb)
	s = out.String()
	if !strings.Contains(s, "not shown, the terminal is too narrow: CHECKNAME0,") || !strings.Contains(s, "CHECKNAME10") {
		t.Errorf("dropped columns not named:\n%s", s)
	}
	for _, w := range lineWidths(s) {
		if w > 50 {
			t.Fatalf("a line is %d columns wide on a 50-column terminal:\n%s", w, s)
		}
	}
}

// A Wrap column keeps every word of its text, on more lines of its cell.
func TestTableWrapKeepsMessages(t *testing.T) {
	var out bytes.Buffer
	io := &IO{Out: &out, OutTTY: true, Width: 60}
	msg := "HOST KEY CHANGED: it presented SHA256:v0iOabcdefghijklmnopqrstuvwxyz0123456789Xm0 but known_hosts:17 records another; run ssh-keygen -R host"
	tb := Table{Headers: []string{"SERVER", "MESSAGE"}, Rows: [][]string{{"bbb3", msg}}, Columns: []Column{{}, {Wrap: true}}}
	io.Render(tb)
	s := out.String()
	for _, w := range lineWidths(s) {
		if w > 60 {
			t.Fatalf("line of %d columns:\n%s", w, s)
		}
	}
	var words []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.Trim(l, "│ ")
		if i := strings.LastIndex(l, "│"); i >= 0 {
			l = l[i+len("│"):]
		}
		words = append(words, strings.Fields(l)...)
	}
	if got := strings.Join(words, " "); !strings.Contains(strings.ReplaceAll(got, " ", ""), strings.ReplaceAll(msg, " ", "")) {
		t.Errorf("message not kept whole:\n%s", s)
	}
}
