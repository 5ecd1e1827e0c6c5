package fleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

// scaleliteCheck is the scalelite check of a check run: Scalelite's server
// list, read once (one rake call over SSH) while the servers are checked.
type scaleliteCheck struct {
	done   chan struct{}
	states map[string]bbb.ScaleliteServer
	err    error
}

func (e *Env) startScaleliteCheck(ctx context.Context, servers []Server) *scaleliteCheck {
	c := &scaleliteCheck{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		if t := e.Opts.Timeout; t > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, t)
			defer cancel()
		}
		c.states, c.err = e.ScaleliteStates(ctx, servers)
	}()
	return c
}

// scaleliteNotRegistered starts the message of a server Scalelite does not
// know (ApplySchedule tells it from a cordoned one by it).
const scaleliteNotRegistered = "not registered in Scalelite"

// result is one server's scalelite check: enabled and online is OK;
// cordoned, disabled, offline or not registered is WARNING; Scalelite not
// answering is UNKNOWN.
func (c *scaleliteCheck) result(s Server) CheckResult {
	<-c.done
	r := CheckResult{Name: CheckScalelite}
	if c.err != nil {
		r.Status, r.Message = CheckUnknown, "cannot read Scalelite's servers: "+firstLine(c.err.Error())
		return r
	}
	en, ok := c.states[s.Name]
	if !ok {
		r.Status = CheckWarning
		r.Message = fmt.Sprintf("%s (no server with url %s)", scaleliteNotRegistered, strings.TrimSuffix(s.API.URL, "/"))
		return r
	}
	online := "online"
	if en.OnlineKnown && !en.Online {
		online = "offline"
	}
	r.Message = fmt.Sprintf("%s, %s, load %s", en.State, online, en.Load)
	switch {
	case en.State != bbb.ScaleliteEnabled:
		r.Status = CheckWarning
		r.Message += " (takes no new meetings)"
	case online == "offline":
		r.Status = CheckWarning
		r.Message += " (Scalelite's poller cannot reach it)"
	}
	return r
}

// ApplicableChecks drops the checks this fleet cannot have: scalelite
// without scalelite: in the config. Nothing left is an error.
func (c *Config) ApplicableChecks(names []string) ([]string, error) {
	if _, ok := c.ScaleliteHost(); ok {
		return names, nil
	}
	var out []string
	for _, n := range names {
		if n != CheckScalelite {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the scalelite check needs scalelite: (ssh_host, container) in the config")
	}
	return out, nil
}
