// Package ui renders results: lipgloss tables on a terminal, tab-separated
// rows on a pipe, JSON, and monitoring formats. It owns the colour rules
// (NO_COLOR, --no-color, non-TTY).
//
// It must not do network or SSH work.
package ui
