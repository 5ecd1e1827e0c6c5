package fleet

import "github.com/bbbfleet/bbbfleet/pkg/bbb"

// Fleet-level summaries of per-server results, next to the operations they
// summarise, so that every command (and a schedule deciding whether the
// fleet is healthy, or a stop deciding whether a server is empty) reads a
// run the same way.

// CheckSummary counts the checked servers by their status.
type CheckSummary struct {
	Servers, OK, Warning, Critical, Unknown int
}

// SummarizeChecks counts results by server status and returns the fleet's
// status: the worst over every server (CRITICAL > WARNING > UNKNOWN > OK),
// UNKNOWN when no server was checked. The status's int is the exit code in
// the monitoring-plugin convention.
func SummarizeChecks(results []*ServerCheck) (CheckSummary, CheckStatus) {
	var sum CheckSummary
	worst := CheckOK
	for _, r := range results {
		switch r.Status {
		case CheckOK:
			sum.OK++
		case CheckWarning:
			sum.Warning++
		case CheckCritical:
			sum.Critical++
		default:
			sum.Unknown++
		}
		worst = WorstStatus(worst, r.Status)
		sum.Servers++
	}
	if sum.Servers == 0 {
		worst = CheckUnknown
	}
	return sum, worst
}

// LoadTotal is the fleet's load: the figures of the servers that answered,
// summed.
type LoadTotal struct {
	bbb.Load
	// Capacity sums capacity.participants over the servers that answered
	// (0 for a server without one).
	Capacity int
	// Utilization is the participants on the servers that answered and
	// have a capacity, divided by Capacity; HasUtilization is false (and
	// Utilization 0) when Capacity is 0.
	Utilization    float64
	HasUtilization bool
	// ServersUp and ServersFailed count the servers that answered and
	// those that did not.
	ServersUp, ServersFailed int
}

// Partial reports whether some server did not answer, so the figures
// are a lower bound.
func (t LoadTotal) Partial() bool { return t.ServersFailed > 0 }

// TotalLoad sums the results of Env.Load, in their order.
func TotalLoad(results []Result[*ServerLoad]) LoadTotal {
	var t LoadTotal
	capUsers := 0 // participants on servers with a capacity
	for _, r := range results {
		if r.Err != nil || r.Value == nil {
			t.ServersFailed++
			continue
		}
		sl, l := r.Value, r.Value.Load
		if sl.Capacity > 0 {
			capUsers += l.Participants
		}
		t.ServersUp++
		t.Meetings += l.Meetings
		t.BreakoutRooms += l.BreakoutRooms
		t.Participants += l.Participants
		t.Moderators += l.Moderators
		t.ListenOnly += l.ListenOnly
		t.Voice += l.Voice
		t.Video += l.Video
		t.Capacity += sl.Capacity
		t.ScaleliteLoad += l.ScaleliteLoad
	}
	if t.Capacity > 0 {
		t.Utilization = float64(capUsers) / float64(t.Capacity)
		t.HasUtilization = true
	}
	return t
}
