package fleet

import (
	"fmt"
	"strings"
)

// TargetError says a target matched nothing; it lists what would have.
type TargetError struct {
	Target string
	Valid  []string
	// Why replaces "unknown target" when the words are known but do not
	// make a selection.
	Why string
}

func (e *TargetError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("targets %q: %s", e.Target, e.Why)
	}
	return fmt.Sprintf("unknown target %q; valid targets: %s", e.Target, strings.Join(e.Valid, ", "))
}

// Targets returns every valid target word: all, server names, @tags, each
// once (a config with a duplicate server name lists it once).
func (c *Config) Targets() []string {
	out := []string{"all"}
	seen := map[string]bool{}
	for _, s := range c.Servers {
		if !seen[s.Name] && s.Name != "" {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	for _, t := range c.Tags() {
		out = append(out, "@"+t)
	}
	return out
}

// Select resolves target words (server names, @tag, all) to servers,
// de-duplicated and in config order. A word starting with "!" excludes
// what it names ("all,!bbb3", "@pool,!@broken"): the result is every
// server the other words select, less every excluded one. No words
// selects nothing; exclusions alone, or a selection that exclusions leave
// empty, are errors.
func (c *Config) Select(words []string) ([]Server, error) {
	want := map[string]bool{}
	drop := map[string]bool{}
	var excl []string
	positive := false
	for _, w := range words {
		for _, w := range strings.Split(w, ",") {
			w = strings.TrimSpace(w)
			if w == "" {
				continue
			}
			into, excluding := want, false
			if strings.HasPrefix(w, "!") {
				excluding = true
				w = strings.TrimSpace(w[1:])
				into = drop
				excl = append(excl, w)
				if w == "" {
					return nil, &TargetError{Target: "!", Valid: c.Targets(), Why: "an exclusion needs a name or @tag after !"}
				}
			} else {
				positive = true
			}
			matched := false
			for _, s := range c.Servers {
				if w == "all" || w == s.Name || (strings.HasPrefix(w, "@") && s.HasTag(w[1:])) {
					into[s.Name] = true
					matched = true
				}
			}
			if !matched {
				t := w
				if excluding {
					t = "!" + w
				}
				return nil, &TargetError{Target: t, Valid: c.Targets()}
			}
		}
	}
	if !positive && len(excl) > 0 {
		return nil, &TargetError{Target: "!" + excl[0], Valid: c.Targets(),
			Why: "exclusions need targets to exclude from: e.g. all,!" + excl[0] + " (or --exclude " + excl[0] + ")"}
	}
	var out []Server
	for _, s := range c.Servers {
		if want[s.Name] && !drop[s.Name] {
			out = append(out, s)
		}
	}
	if len(out) == 0 && len(want) > 0 {
		return nil, &TargetError{Target: strings.Join(words, ","), Valid: c.Targets(),
			Why: "the exclusions leave no server"}
	}
	return out, nil
}

// HasTag reports whether the server carries tag t.
func (s *Server) HasTag(t string) bool {
	for _, x := range s.Tags {
		if x == t {
			return true
		}
	}
	return false
}
