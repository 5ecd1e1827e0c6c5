package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// PowerState is the machine under a simulated BBB server: off, booting, on.
type PowerState struct {
	// Off: the machine is powered off; SSH and the API refuse connections.
	Off bool `json:"off,omitempty"`
	// BootUntil is when a machine powered on answers SSH and the API.
	BootUntil time.Time `json:"bootUntil,omitzero"`
	// BootDelay is how long a power-on takes until SSH answers.
	BootDelay time.Duration `json:"bootDelay,omitempty"`
}

// Down reports whether the machine is off or still booting at now: it
// answers neither SSH nor the API.
func (s State) Down(now time.Time) bool {
	return s.Power.Off || now.Before(s.Power.BootUntil)
}

// PowerOff switches the machine off: every meeting is gone, every unit
// stops (what a `poweroff` or a provider's hard stop does).
func (s *State) PowerOff() {
	s.Power.Off = true
	s.Power.BootUntil = time.Time{}
	s.Meetings = nil
	s.setAllUnits(UnitInactive)
	s.Stopped = true
	s.UnitsActiveAt = time.Time{}
}

// PowerOn switches the machine on: it answers SSH after BootDelay, and the
// units of bigbluebutton.target (enabled, so started at boot) are active
// StartDelay after that.
func (s *State) PowerOn(now time.Time) {
	if !s.Power.Off {
		return
	}
	s.Power.Off = false
	s.Power.BootUntil = now.Add(s.Power.BootDelay)
	s.BootTime = s.Power.BootUntil
	s.BBBStartedAt = s.Power.BootUntil.Add(s.StartDelay)
	s.setAllUnits(UnitActive)
	s.Stopped = false
	if s.StartDelay > 0 {
		for u := range s.Units {
			if !notInTarget[u] {
				s.Units[u] = UnitActivating
			}
		}
		s.UnitsActiveAt = s.Power.BootUntil.Add(s.StartDelay)
	}
}

// settle applies what time has done to the state by now: meetings whose
// EndsAt passed are gone (with their breakout rooms), activating units
// whose start-up is over are active, processed recordings leave the
// pending directories.
func (s *State) settle(now time.Time) bool {
	changed := false
	var gone []string
	for _, m := range s.Meetings {
		if !m.EndsAt.IsZero() && !now.Before(m.EndsAt) {
			gone = append(gone, m.InternalID)
		}
	}
	if len(gone) > 0 {
		s.Meetings = slices.DeleteFunc(s.Meetings, func(m Meeting) bool {
			return slices.Contains(gone, m.InternalID) || m.IsBreakout && slices.Contains(gone, m.ParentMeetingID)
		})
		changed = true
	}
	if !s.UnitsActiveAt.IsZero() && !now.Before(s.UnitsActiveAt) {
		for u, st := range s.Units {
			if st == UnitActivating {
				s.Units[u] = UnitActive
			}
		}
		s.UnitsActiveAt = time.Time{}
		changed = true
	}
	if !s.RecordingsDoneAt.IsZero() && !now.Before(s.RecordingsDoneAt) {
		s.RecordingStatus = slices.DeleteFunc(s.RecordingStatus, RecordingPending)
		for q := range s.ResqueQueues {
			if strings.HasPrefix(q, "rap:") {
				s.ResqueQueues[q] = 0
			}
		}
		s.ResqueWorking = slices.DeleteFunc(s.ResqueWorking, func(q string) bool { return strings.HasPrefix(q, "rap:") })
		s.RecordingsDoneAt = time.Time{}
		changed = true
	}
	if !s.Power.BootUntil.IsZero() && !now.Before(s.Power.BootUntil) {
		s.Power.BootUntil = time.Time{}
		changed = true
	}
	return changed
}

// RecordingPending reports whether a status file (relative to
// /var/bigbluebutton/recording/status/) is recording work still to do
// (reference §5: recorded/*.done, ended/*.done).
func RecordingPending(f string) bool {
	return (strings.HasPrefix(f, "recorded/") || strings.HasPrefix(f, "ended/")) && strings.HasSuffix(f, ".done")
}

// settleStore applies State.settle on every load and update, so that
// delays work alike for every process sharing a file-backed state.
type settleStore struct {
	inner Store
	now   func() time.Time
}

func (s settleStore) Load() (State, error) {
	st, err := s.inner.Load()
	if err == nil {
		st.settle(s.now())
	}
	return st, err
}

func (s settleStore) Update(fn func(*State) error) error {
	return s.inner.Update(func(st *State) error {
		st.settle(s.now())
		return fn(st)
	})
}

// is27 reports whether the simulated server runs BBB 2.x.
func (s State) is27() bool { return strings.HasPrefix(s.Release, "2.") }

// ---- Scalelite ----

// ScaleliteState is the Scalelite load balancer a host runs in docker.
type ScaleliteState struct {
	// Container is the docker container of the API (scalelite-api).
	Container string `json:"container"`
	// DockerUsers may use docker without sudo (members of group docker).
	DockerUsers []string          `json:"dockerUsers,omitempty"`
	Servers     []ScaleliteServer `json:"servers"`
}

// Scalelite server states (reference §4).
const (
	ScaleliteEnabled  = "enabled"
	ScaleliteCordoned = "cordoned"
	ScaleliteDisabled = "disabled"
)

// ScaleliteServer is one BBB server registered in Scalelite.
type ScaleliteServer struct {
	ID     string `json:"id"`
	URL    string `json:"url"` // ends in /api (no slash)
	Secret string `json:"secret"`
	State  string `json:"state"`
	// Load is "" for unavailable.
	Load           string `json:"load,omitempty"`
	LoadMultiplier string `json:"loadMultiplier,omitempty"`
	Online         bool   `json:"online"`
}

// Server returns the registered server with id.
func (sc *ScaleliteState) Server(id string) *ScaleliteServer {
	for i := range sc.Servers {
		if sc.Servers[i].ID == id {
			return &sc.Servers[i]
		}
	}
	return nil
}

// dockerDenied is docker's answer to a user outside group docker.
func dockerDenied(container string) string {
	return "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: " +
		"Get \"http://%2Fvar%2Frun%2Fdocker.sock/v1.24/containers/" + container + "/json\": dial unix /var/run/docker.sock: connect: permission denied\n"
}

// cmdDocker emulates `docker exec [-i] [-t] CONTAINER bin/rake TASK` on a
// Scalelite host (lib/tasks/servers.rake of Scalelite v1.8).
func cmdDocker(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("docker: %v\n", err)
		return 1
	}
	if s.Scalelite == nil {
		if c.fallback() {
			return notHandled
		}
		c.errf("sh: 1: docker: not found\n")
		return 127
	}
	args := c.args[1:]
	if len(args) == 0 || args[0] != "exec" {
		c.errf("docker: this host only emulates `docker exec`\n")
		return 125
	}
	args = args[1:]
	stdin := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-i", "--interactive", "-it", "-ti":
			stdin = true
		}
		args = args[1:]
	}
	if len(args) < 2 {
		c.errf("\"docker exec\" requires at least 2 arguments.\nSee 'docker exec --help'.\n\nUsage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\nExecute a command in a running container\n")
		return 1
	}
	container := args[0]
	if !c.root() && !slices.Contains(s.Scalelite.DockerUsers, c.user) {
		c.errf("%s", dockerDenied(container))
		return 1
	}
	if container != s.Scalelite.Container {
		c.errf("Error response from daemon: No such container: %s\n", container)
		return 1
	}
	prog := args[1]
	if (prog == "bin/rails" || prog == "./bin/rails") && len(args) >= 4 && args[2] == "runner" {
		return c.railsRunner(args[3], stdin)
	}
	if prog != "bin/rake" && prog != "./bin/rake" && prog != "rake" {
		c.outf("OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown\n", prog)
		return 126
	}
	if len(args) < 3 {
		c.errf("rake aborted!\nDon't know how to build task 'default' (See the list of available tasks with `rake --tasks`)\n")
		return 1
	}
	return c.rake(args[2], stdin)
}

// rake runs one Scalelite rake task. Task errors are printed on stdout
// with exit 1, as servers.rake does (reference §4).
func (c *cmd) rake(task string, stdin bool) int {
	name, argStr, hasArgs := strings.Cut(task, "[")
	var targs []string
	if hasArgs {
		argStr = strings.TrimSuffix(argStr, "]")
		targs = strings.Split(argStr, ",")
	}
	arg := func(i int) string {
		if i < len(targs) {
			return strings.TrimSpace(targs[i])
		}
		return ""
	}
	switch name {
	case "servers":
		s, err := c.state()
		if err != nil {
			c.errf("rake aborted!\n%v\n", err)
			return 1
		}
		if len(s.Scalelite.Servers) == 0 {
			c.outf("No servers are configured\n")
			return 0
		}
		for _, sv := range s.Scalelite.Servers {
			load := sv.Load
			if load == "" {
				load = "unavailable"
			}
			mult := sv.LoadMultiplier
			if mult == "" {
				mult = "1.0"
			}
			online := "offline"
			if sv.Online {
				online = "online"
			}
			c.outf("id: %s\n\turl: %s\n\tsecret: %s\n\t%s\n\tload: %s\n\tload multiplier: %s\n\t%s\n",
				sv.ID, sv.URL, sv.Secret, sv.State, load, mult, online)
		}
		return 0
	case "servers:enable", "servers:cordon", "servers:disable":
		id := arg(0)
		found := false
		prompt := false
		err := c.h.store.Update(func(s *State) error {
			sv := s.Scalelite.Server(id)
			if sv == nil {
				return nil
			}
			found = true
			switch name {
			case "servers:enable":
				sv.State = ScaleliteEnabled
			case "servers:cordon":
				sv.State = ScaleliteCordoned
			case "servers:disable":
				if sv.Load != "" && sv.Load != "0" && sv.Load != "0.0" {
					prompt = true
					return nil
				}
				sv.State = ScaleliteDisabled
			}
			return nil
		})
		if err != nil {
			c.errf("rake aborted!\n%v\n", err)
			return 1
		}
		if !found {
			c.outf("ERROR: No server found with id: %s\n", id)
			return 1
		}
		if prompt {
			// Interactive: without stdin (docker exec without -i) the
			// answer is empty and the task aborts.
			c.outf("WARNING: You are trying to disable a server with active load. You should use the cordon option if you do not want to clear all the meetings\n")
			c.outf("If you still wish to continue please enter `yes`\n")
			_ = stdin
			c.outf("ABORTED: Server not disabled\n")
			return 1
		}
		c.outf("OK\n")
		return 0
	case "servers:add":
		url, secret := arg(0), arg(1)
		if url == "" || secret == "" {
			c.outf("Error: Please input at least a URL and a secret!\n")
			return 1
		}
		var id string
		err := c.h.store.Update(func(s *State) error {
			id = fmt.Sprintf("%08x-0000-4000-8000-%012x", len(s.Scalelite.Servers)+1, len(url))
			s.Scalelite.Servers = append(s.Scalelite.Servers, ScaleliteServer{ID: id, URL: url, Secret: secret,
				State: ScaleliteDisabled, LoadMultiplier: orStr(arg(2), "1.0")})
			return nil
		})
		if err != nil {
			c.errf("rake aborted!\n%v\n", err)
			return 1
		}
		c.outf("OK\nid: %s\n", id)
		return 0
	}
	c.errf("rake aborted!\nDon't know how to build task '%s' (See the list of available tasks with `rake --tasks`)\n", task)
	return 1
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// cmdPoweroff emulates poweroff (systemd): root only; the machine goes
// down and the connection with it.
func cmdPoweroff(c *cmd) int {
	if !c.root() {
		c.errf("Call to PowerOff failed: Interactive authentication required.\n")
		return 1
	}
	if err := c.h.store.Update(func(s *State) error { s.PowerOff(); return nil }); err != nil {
		c.errf("poweroff: %v\n", err)
		return 1
	}
	return 0
}
