package fleet

import (
	"fmt"
	"strings"
)

// TargetError says a target matched nothing; it lists what would have.
type TargetError struct {
	Target string
	Valid  []string
}

func (e *TargetError) Error() string {
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
// de-duplicated and in config order. No words selects nothing.
func (c *Config) Select(words []string) ([]Server, error) {
	want := map[string]bool{}
	for _, w := range words {
		for _, w := range strings.Split(w, ",") {
			w = strings.TrimSpace(w)
			if w == "" {
				continue
			}
			matched := false
			for _, s := range c.Servers {
				if w == "all" || w == s.Name || (strings.HasPrefix(w, "@") && s.HasTag(w[1:])) {
					want[s.Name] = true
					matched = true
				}
			}
			if !matched {
				return nil, &TargetError{Target: w, Valid: c.Targets()}
			}
		}
	}
	var out []Server
	for _, s := range c.Servers {
		if want[s.Name] {
			out = append(out, s)
		}
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
