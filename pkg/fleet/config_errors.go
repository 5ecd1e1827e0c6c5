package fleet

import (
	"fmt"
	"strings"
)

// ConfigError is one problem in a config file, at a line when known.
type ConfigError struct {
	File string
	Line int
	Msg  string
	// Final is true when Msg itself says the fix (e.g. chmod 600): no
	// "check it with config validate" hint follows it.
	Final bool
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ConfigErrors is every problem found in one config file.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Severity says how much a ConfigNotice matters.
type Severity int

const (
	// SeverityWarning is a risk the config takes (e.g. plain http).
	SeverityWarning Severity = iota
	// SeverityNote is something the config should say otherwise, which
	// bbbfleet understands anyway.
	SeverityNote
)

func (s Severity) String() string {
	if s == SeverityNote {
		return "note"
	}
	return "warning"
}

// ConfigNotice is a warning or a note about a config that loads: where
// (File, Line) and what (Msg), as a ConfigError, with its severity.
type ConfigNotice struct {
	Severity Severity
	ConfigError
}

// ConfigNotices is every notice about one config file.
type ConfigNotices []*ConfigNotice

// Of returns the notices of one severity, in order.
func (ns ConfigNotices) Of(sev Severity) ConfigNotices {
	var out ConfigNotices
	for _, n := range ns {
		if n.Severity == sev {
			out = append(out, n)
		}
	}
	return out
}

// NotFoundError says no config file was found and where it was looked for.
type NotFoundError struct {
	Searched []string
	// Given is true when the path was given (--config, $BBBFLEET_CONFIG
	// pointing at one file) rather than searched for.
	Given bool
}

func (e *NotFoundError) Error() string {
	if e.Given && len(e.Searched) == 1 {
		return e.Searched[0] + ": no such file"
	}
	return "no fleet config found; searched: " + strings.Join(e.Searched, ", ")
}
