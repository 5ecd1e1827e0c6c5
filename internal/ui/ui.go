package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/muesli/termenv"
	"golang.org/x/term"
)

// IO carries the streams of one run and how to render on them.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY is true when Out is a terminal: tables get borders.
	OutTTY bool
	// InTTY is true when In is a terminal (exec then sends no stdin).
	InTTY bool
	// Color is true when colour may be used on Out.
	Color bool
	// Width is the terminal's width in columns: boxed tables are fitted
	// to it (see Column). 0 means unknown: no limit.
	Width int
}

// System returns the process's streams. Colour is on only for a terminal
// and when neither NO_COLOR nor noColor says otherwise.
func System(noColor bool) *IO {
	tty := term.IsTerminal(int(os.Stdout.Fd()))
	return &IO{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY: tty,
		InTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		Color:  tty && !noColor && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb",
		Width:  termWidth(tty),
	}
}

// termWidth is the width of the terminal on stdout, else $COLUMNS, else 0.
func termWidth(tty bool) int {
	if tty {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if w, err := strconv.Atoi(strings.TrimSpace(os.Getenv("COLUMNS"))); err == nil && w > 0 {
		return w
	}
	return 0
}

// Test returns an IO writing to the given buffers, as a pipe would.
func Test(out, errOut io.Writer) *IO {
	return &IO{In: strings.NewReader(""), Out: out, ErrOut: errOut}
}

// DisableColor turns colour off (for --no-color).
func (o *IO) DisableColor() { o.Color = false }

func (o *IO) renderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(o.Out)
	if o.Color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// Tone is the meaning of a value, for colouring.
type Tone int

// Tones, from good to bad.
const (
	Plain Tone = iota
	Good
	Warn
	Bad
	Faint
)

// ToneOf guesses the tone of a status word such as OK, WARNING, down.
func ToneOf(s string) Tone {
	w := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(w, " (:"); i > 0 {
		w = w[:i]
	}
	switch w {
	case "ok", "up", "active", "running", "✔", "yes", "enabled", "success":
		return Good
	case "warning", "warn", "activating", "partial", "cordoned", "changed", "would-change":
		return Warn
	case "critical", "crit", "down", "error", "failed", "fail", "inactive", "✘", "unknown", "refused":
		return Bad
	case "-", "":
		return Faint
	}
	return Plain
}

// Paint colours s by tone when colour is on.
func (o *IO) Paint(t Tone, s string) string {
	if !o.Color {
		return s
	}
	if t == Plain {
		return s
	}
	return withTone(o.renderer().NewStyle(), t).Render(s)
}

// withTone adds a tone's colour to a style.
func withTone(st lipgloss.Style, t Tone) lipgloss.Style {
	switch t {
	case Good:
		return st.Foreground(lipgloss.Color("2"))
	case Warn:
		return st.Foreground(lipgloss.Color("3"))
	case Bad:
		return st.Foreground(lipgloss.Color("1")).Bold(true)
	case Faint:
		return st.Faint(true)
	}
	return st
}

// Bold makes s bold when colour is on.
func (o *IO) Bold(s string) string {
	if !o.Color {
		return s
	}
	return o.renderer().NewStyle().Bold(true).Render(s)
}

// Table is rows of text under a header. On a terminal it is drawn with
// lipgloss; on a pipe it is tab-separated with a header line.
type Table struct {
	Headers []string
	Rows    [][]string
	// Footer rows (e.g. a fleet total) are set apart on a terminal.
	Footer [][]string
	// Tone picks a cell's colour; nil means ToneOf on status-like columns.
	Tone func(row, col int, value string) Tone
	// Boxed forces the lipgloss table even when not on a terminal.
	Boxed bool
	// TSV forces tab-separated rows even on a terminal.
	TSV bool
	// Columns, by index, say how columns give way on a narrow terminal;
	// a boxed table never grows wider than IO.Width (see fit).
	Columns []Column
}

// Render writes the table.
func (o *IO) Render(t Table) error {
	if t.TSV || (!o.OutTTY && !t.Boxed) {
		return o.tsv(t)
	}
	r := o.renderer()
	f := fit(t, o.Width)
	all := f.rows
	tone := t.Tone
	if tone == nil {
		tone = func(_, _ int, v string) Tone { return ToneOf(v) }
	}
	border := r.NewStyle().Faint(true)
	tb := table.New().
		Border(lipgloss.RoundedBorder()).
		BorderStyle(border).
		BorderRow(false).
		Headers(f.headers...).
		Rows(all...).
		StyleFunc(func(row, col int) lipgloss.Style {
			st := r.NewStyle().Padding(0, 1)
			if row == table.HeaderRow {
				return st.Bold(true)
			}
			if row >= len(t.Rows) {
				st = st.Bold(true)
			}
			if row < len(all) && col < len(all[row]) && o.Color {
				st = withTone(st, tone(row, f.cols[col], all[row][col]))
			}
			return st
		})
	if _, err := fmt.Fprintln(o.Out, tb.Render()); err != nil {
		return err
	}
	if len(f.dropped) > 0 {
		note := "not shown, the terminal is too narrow: " + strings.Join(f.dropped, ", ")
		if o.Width > 0 {
			note = wrapText(note, o.Width)
		}
		_, err := fmt.Fprintf(o.Out, "%s\n", o.Paint(Faint, note))
		return err
	}
	return nil
}

func (o *IO) tsv(t Table) error {
	clean := func(s string) string {
		return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
	}
	var b strings.Builder
	write := func(row []string) {
		for i, c := range row {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(clean(c))
		}
		b.WriteByte('\n')
	}
	write(t.Headers)
	for _, r := range t.Rows {
		write(r)
	}
	for _, r := range t.Footer {
		write(r)
	}
	_, err := io.WriteString(o.Out, b.String())
	return err
}

// JSON writes v as indented JSON with a final newline.
func (o *IO) JSON(v any) error {
	enc := json.NewEncoder(o.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
