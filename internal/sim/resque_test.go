package sim

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestResqueStandIn(t *testing.T) {
	clk := &manualClock{t: time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)}
	st := DefaultState("bbb1")
	st.ResqueQueues = map[string]int{"rap:process": 2, "rap:archive": 0, "webhooks": 1}
	st.ResqueWorking = []string{"rap:publish"}
	st.RecordingsDoneAt = clk.t.Add(time.Minute)
	h := NewHost(NewMemStore(st), Options{Now: clk.now})
	sh := func(cmd string) (string, int) {
		var out, errOut bytes.Buffer
		code := h.Exec(context.Background(), cmd, "bbbfleet", nil, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	for cmd, want := range map[string]string{
		"redis-cli --raw ping":                          "PONG\n",
		"redis-cli --raw smembers resque:queues":        "rap:archive\nrap:process\nwebhooks\n",
		"redis-cli --raw llen resque:queue:rap:process": "2\n",
		"redis-cli --raw llen resque:queue:nothing":     "0\n",
	} {
		if got, code := sh(cmd); got != want || code != 0 {
			t.Errorf("%s: %q (exit %d), want %q", cmd, got, code, want)
		}
	}
	if got, _ := sh("ps -eo args"); !strings.Contains(got, "resque-2.0.0: Processing rap:publish since ") {
		t.Errorf("ps: %q", got)
	}
	clk.t = clk.t.Add(time.Minute)
	if got, _ := sh("redis-cli --raw llen resque:queue:rap:process"); got != "0\n" {
		t.Errorf("after RecordingsDoneAt: %q", got)
	}
	if got, _ := sh("ps -eo args"); strings.Contains(got, "Processing") || !strings.Contains(got, "Waiting for rap:") {
		t.Errorf("ps after RecordingsDoneAt: %q", got)
	}
	if got, _ := sh("redis-cli --raw llen resque:queue:webhooks"); got != "1\n" {
		t.Errorf("a queue other than rap: was emptied: %q", got)
	}
	h.Update(func(s *State) error { s.RedisDown = true; return nil })
	if got, code := sh("redis-cli --raw ping"); code != 1 || !strings.Contains(got, "Could not connect to Redis") {
		t.Errorf("Redis down: %q (exit %d)", got, code)
	}
}
