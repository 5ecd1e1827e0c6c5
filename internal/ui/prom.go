package ui

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Gauge is one Prometheus gauge family in the text exposition format.
type Gauge struct {
	Name    string
	Help    string
	Samples []Sample
}

// Sample is one labelled value of a gauge.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// WritePrometheus writes gauge families in the text exposition format
// (version 0.0.4), as node_exporter's textfile collector reads it.
func WritePrometheus(w io.Writer, gauges []Gauge) error {
	var b strings.Builder
	for _, g := range gauges {
		if len(g.Samples) == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", g.Name, escapeHelp(g.Help), g.Name)
		for _, s := range g.Samples {
			b.WriteString(g.Name)
			if len(s.Labels) > 0 {
				keys := make([]string, 0, len(s.Labels))
				for k := range s.Labels {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				b.WriteByte('{')
				for i, k := range keys {
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%s=\"%s\"", k, escapeLabel(s.Labels[k]))
				}
				b.WriteByte('}')
			}
			b.WriteByte(' ')
			b.WriteString(strconv.FormatFloat(s.Value, 'g', -1, 64))
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}
