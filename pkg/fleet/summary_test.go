package fleet

import (
	"errors"
	"testing"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
)

func TestSummarizeChecks(t *testing.T) {
	sc := func(s CheckStatus) *ServerCheck { return &ServerCheck{Status: s} }
	tests := []struct {
		in    []*ServerCheck
		sum   CheckSummary
		worst CheckStatus
	}{
		{nil, CheckSummary{}, CheckUnknown}, // nothing checked is not OK
		{[]*ServerCheck{sc(CheckOK), sc(CheckOK)}, CheckSummary{Servers: 2, OK: 2}, CheckOK},
		{[]*ServerCheck{sc(CheckOK), sc(CheckUnknown)}, CheckSummary{Servers: 2, OK: 1, Unknown: 1}, CheckUnknown},
		{[]*ServerCheck{sc(CheckUnknown), sc(CheckWarning), sc(CheckOK)}, CheckSummary{Servers: 3, OK: 1, Warning: 1, Unknown: 1}, CheckWarning},
		{[]*ServerCheck{sc(CheckWarning), sc(CheckCritical), sc(CheckUnknown)}, CheckSummary{Servers: 3, Warning: 1, Critical: 1, Unknown: 1}, CheckCritical},
	}
	for i, tt := range tests {
		sum, worst := SummarizeChecks(tt.in)
		if sum != tt.sum || worst != tt.worst {
			t.Errorf("%d: %+v %s, want %+v %s", i, sum, worst, tt.sum, tt.worst)
		}
	}
	if _, w := SummarizeChecks([]*ServerCheck{sc(CheckCritical)}); int(w) != 2 {
		t.Errorf("exit code %d", int(w))
	}
}

func TestTotalLoad(t *testing.T) {
	up := func(capacity int, l bbb.Load) Result[*ServerLoad] {
		return Result[*ServerLoad]{Value: &ServerLoad{State: StateUp, Capacity: capacity, Load: l}}
	}
	results := []Result[*ServerLoad]{
		up(100, bbb.Load{Meetings: 2, BreakoutRooms: 1, Participants: 30, Moderators: 3, ListenOnly: 5, Voice: 10, Video: 4, ScaleliteLoad: 33}),
		up(0, bbb.Load{Meetings: 1, Participants: 50, Moderators: 1, ScaleliteLoad: 51.5}), // no capacity: not in utilization
		{Value: &ServerLoad{State: StateDown, Capacity: 250}, Err: errors.New("bbb3: timeout")},
		up(200, bbb.Load{Participants: 20, ScaleliteLoad: 0}),
	}
	got := TotalLoad(results)
	want := LoadTotal{
		Load:     bbb.Load{Meetings: 3, BreakoutRooms: 1, Participants: 100, Moderators: 4, ListenOnly: 5, Voice: 10, Video: 4, ScaleliteLoad: 84.5},
		Capacity: 300, Utilization: 50.0 / 300, HasUtilization: true, ServersUp: 3, ServersFailed: 1,
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !got.Partial() {
		t.Error("not partial with a failed server")
	}
	// Nothing answered: no utilization, partial.
	none := TotalLoad(results[2:3])
	if none.HasUtilization || none.Utilization != 0 || none.ServersUp != 0 || !none.Partial() {
		t.Errorf("%+v", none)
	}
	if z := TotalLoad(nil); z != (LoadTotal{}) || z.Partial() {
		t.Errorf("%+v", z)
	}
}
