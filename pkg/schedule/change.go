package schedule

import "fmt"

// Observed is what a server reports now, read without changing it.
type Observed string

// Observed states.
const (
	// ObservedUp: the BBB API answers.
	ObservedUp Observed = "up"
	// ObservedDown: the machine answers over SSH, the BBB API does not.
	ObservedDown Observed = "down"
	// ObservedUnreachable: neither SSH nor the API answers (powered off,
	// or a network fault).
	ObservedUnreachable Observed = "unreachable"
	// ObservedUnknown: the API answers, but wrongly (a TLS or proxy
	// problem): BBB may be running; an administrator must look.
	ObservedUnknown Observed = "unknown"
	// ObservedNotRead: the server was not read (--offline, or no rule
	// decides its state).
	ObservedNotRead Observed = ""
)

// Change is what reconciling a server with its desired state would do.
type Change struct {
	// Steps are the operations, in order: "power-on", "start", "stop",
	// "power-off", "restart"; none when the server is as it should be.
	Steps []string
	// Reason says why, in a few words.
	Reason string
	// Failed is set when the server cannot be reconciled as it is (no
	// answer and no power hook to explain it).
	Failed bool
}

// None reports whether nothing would change.
func (c Change) None() bool { return len(c.Steps) == 0 && !c.Failed }

// String is the steps joined by " + ", or "none" / "unknown".
func (c Change) String() string {
	if c.Failed {
		return "unknown"
	}
	if len(c.Steps) == 0 {
		return "none"
	}
	s := ""
	for i, st := range c.Steps {
		if i > 0 {
			s += " + "
		}
		s += st
	}
	return s
}

// Reconcile says what bringing a server from what it reports to its
// desired state takes. It is the decision `schedule apply` acts on; it
// changes nothing.
//
//   - desired up: a server that is down is started; one that does not
//     answer is powered on and started when its rule has power: true, else
//     it cannot be reconciled (Failed). A restart rule restarts a server
//     that is up unless BBB started after the firing.
//   - desired down: a server that is up is stopped (with the rule's drain),
//     then powered off when the rule has power: true; a server that is down
//     is powered off with power: true; one that does not answer is as it
//     should be with power: true (powered off), else Failed.
func Reconcile(d Desired, o Observed) Change {
	if !d.Targeted || !d.OK {
		return Change{Reason: "no desired state"}
	}
	power := d.Rule.Power
	switch o {
	case ObservedNotRead:
		return Change{Reason: "not read"}
	case ObservedUp:
		switch {
		case d.State == Down && power:
			return Change{Steps: []string{"stop", "power-off"}, Reason: "up, should be powered off"}
		case d.State == Down:
			return Change{Steps: []string{"stop"}, Reason: "up, should be stopped"}
		case d.Action == Restart:
			return Change{Steps: []string{"restart"}, Reason: fmt.Sprintf("unless BBB started after %s", d.Since.In(d.Rule.Spec.Zone).Format("Mon 15:04"))}
		}
		return Change{Reason: "up, as it should be"}
	case ObservedDown:
		switch {
		case d.State == Up:
			return Change{Steps: []string{"start"}, Reason: "down, should be up"}
		case power:
			return Change{Steps: []string{"power-off"}, Reason: "stopped but still powered on"}
		}
		return Change{Reason: "down, as it should be"}
	case ObservedUnreachable:
		switch {
		case d.State == Up && power:
			return Change{Steps: []string{"power-on", "start"}, Reason: "no answer: power on"}
		case d.State == Down && power:
			return Change{Reason: "no answer: powered off, as it should be"}
		}
		return Change{Failed: true, Reason: "no answer over SSH or the API"}
	case ObservedUnknown:
		return Change{Failed: true, Reason: "the API answers wrongly: fix it before the schedule can act"}
	}
	return Change{Failed: true, Reason: fmt.Sprintf("unknown observed state %q", o)}
}
