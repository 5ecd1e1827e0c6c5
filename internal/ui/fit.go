package ui

import (
	"sort"
	"strings"

	"github.com/mattn/go-runewidth"
)

// Column tells how a table column may give way when the table is wider
// than the terminal. The zero value is a column that is only shortened as
// a last resort.
type Column struct {
	// Short is a shorter header (e.g. "REC" for "RECORDINGS").
	Short string
	// Compact shortens a cell (e.g. "✔ 12ms" to "✔"); nil keeps it.
	Compact func(cell string) string
	// Drop > 0 lets the column be left out, higher numbers first.
	Drop int
	// Wrap makes the cell's text wrap onto more lines within its cell
	// instead of being cut: for messages that must be read whole.
	Wrap bool
}

// Box drawing costs per column: a border and one space of padding on each
// side; plus the table's closing border.
const cellOverhead = 3

func textWidth(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, runewidth.StringWidth(l))
	}
	return w
}

// fitted is a table laid out for a width: the columns kept (indexes into
// the original table) and their cells.
type fitted struct {
	headers []string
	rows    [][]string
	cols    []int
	dropped []string
}

// fit lays t out within width terminal columns (0: no limit): in order it
// shortens headers and compacts cells, wraps Wrap columns, leaves out Drop
// columns (highest Drop first, rightmost first), and last cuts the widest
// cells with "…". It never lets a line of the table exceed width unless
// even one character per column does not fit.
func fit(t Table, width int) fitted {
	rows := append(append([][]string{}, t.Rows...), t.Footer...)
	n := len(t.Headers)
	f := fitted{headers: append([]string{}, t.Headers...)}
	for _, r := range rows {
		f.rows = append(f.rows, append(make([]string, 0, n), r...))
	}
	for i := range n {
		f.cols = append(f.cols, i)
	}
	for j := range f.rows {
		for len(f.rows[j]) < n {
			f.rows[j] = append(f.rows[j], "")
		}
	}
	colOf := func(i int) Column {
		if i < len(t.Columns) {
			return t.Columns[i]
		}
		return Column{}
	}
	widths := func() []int {
		ws := make([]int, len(f.cols))
		for k := range f.cols {
			ws[k] = textWidth(f.headers[k])
			for _, r := range f.rows {
				if k < len(r) {
					ws[k] = max(ws[k], textWidth(r[k]))
				}
			}
		}
		return ws
	}
	total := func() int {
		s := 1
		for _, w := range widths() {
			s += w + cellOverhead
		}
		return s
	}
	if width <= 0 || total() <= width {
		return f
	}
	// 1. Shorter headers, compact cells.
	for k, i := range f.cols {
		c := colOf(i)
		if c.Short != "" {
			f.headers[k] = c.Short
		}
		if c.Compact != nil {
			for _, r := range f.rows {
				if k < len(r) {
					r[k] = c.Compact(r[k])
				}
			}
		}
	}
	if total() <= width {
		return f
	}
	// 2. Wrap columns give up their width, down to a readable minimum.
	const minWrap = 16
	for k, i := range f.cols {
		if !colOf(i).Wrap {
			continue
		}
		ws := widths()
		over := total() - width
		target := max(minWrap, ws[k]-over, textWidth(f.headers[k]))
		if target < ws[k] {
			for _, r := range f.rows {
				if k < len(r) {
					r[k] = wrapText(r[k], target)
				}
			}
		}
	}
	if total() <= width {
		return f
	}
	// 3. Leave out droppable columns, highest Drop first, rightmost first.
	var order []int
	for k, i := range f.cols {
		if colOf(i).Drop > 0 {
			order = append(order, k)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		da, db := colOf(f.cols[order[a]]).Drop, colOf(f.cols[order[b]]).Drop
		if da != db {
			return da > db
		}
		return order[a] > order[b]
	})
	drop := map[int]bool{}
	for _, k := range order {
		if total()-droppedWidth(widths(), drop) <= width {
			break
		}
		drop[k] = true
	}
	if len(drop) > 0 {
		f = f.without(drop, t.Headers)
	}
	if total() <= width {
		return f
	}
	// 4. Cut the widest cells (the rightmost of equals), one character at
	// a time.
	for total() > width {
		ws := widths()
		k := -1
		for j := range ws {
			if ws[j] > 1 && (k < 0 || ws[j] >= ws[k]) {
				k = j
			}
		}
		if k < 0 || ws[k] <= 1 {
			break
		}
		cut := ws[k] - 1
		f.headers[k] = cutText(f.headers[k], cut)
		for _, r := range f.rows {
			if k < len(r) {
				r[k] = cutText(r[k], cut)
			}
		}
	}
	return f
}

func droppedWidth(ws []int, drop map[int]bool) int {
	s := 0
	for k := range drop {
		s += ws[k] + cellOverhead
	}
	return s
}

// without removes the columns at the kept positions in drop.
func (f fitted) without(drop map[int]bool, orig []string) fitted {
	out := fitted{dropped: f.dropped}
	for k, i := range f.cols {
		if drop[k] {
			out.dropped = append(out.dropped, orig[i])
			continue
		}
		out.cols = append(out.cols, i)
		out.headers = append(out.headers, f.headers[k])
	}
	for _, r := range f.rows {
		var nr []string
		for k := range f.cols {
			if !drop[k] && k < len(r) {
				nr = append(nr, r[k])
			}
		}
		out.rows = append(out.rows, nr)
	}
	return out
}

// cutText shortens every line of s to w display columns, ending a cut
// line with "…".
func cutText(s string, w int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if runewidth.StringWidth(l) > w {
			lines[i] = runewidth.Truncate(l, w, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// wrapText breaks s into lines of at most w display columns, at spaces
// where it can and inside a word that is longer than a line.
func wrapText(s string, w int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for runewidth.StringWidth(word) > w {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				head := runewidth.Truncate(word, w, "")
				out = append(out, head)
				word = word[len(head):]
			}
			switch {
			case line == "":
				line = word
			case runewidth.StringWidth(line)+1+runewidth.StringWidth(word) <= w:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
