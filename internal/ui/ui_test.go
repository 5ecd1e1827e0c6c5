package ui

import (
	"bytes"
	"strings"
	"testing"
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
