package fleet

import (
	"strings"
	"testing"
	"time"
)

func TestParseStarted(t *testing.T) {
	now := time.Date(2026, 12, 8, 7, 0, 0, 0, time.UTC)
	got, err := parseStarted("3600.50 7000.00\nActiveEnterTimestampMonotonic=600500000\n", now)
	if err != nil || !got.Equal(now.Add(-3000*time.Second)) {
		t.Errorf("got %s, %v; want %s", got, err, now.Add(-3000*time.Second))
	}
	for in, want := range map[string]string{
		"":                  "/proc/uptime",
		"3600.50 7000.00\n": "no ActiveEnterTimestampMonotonic",
		"3600.50 7000.00\nActiveEnterTimestampMonotonic=0\n":   "has not been active since boot",
		"3600.50 7000.00\nActiveEnterTimestampMonotonic=-5\n":  "unexpected",
		"3600.50 7000.00\nActiveEnterTimestampMonotonic=abc\n": "unexpected",
		"x y\nActiveEnterTimestampMonotonic=5\n":               "/proc/uptime",
	} {
		if _, err := parseStarted(in, now); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", in, err, want)
		}
	}
	// A start later than the uptime (clock oddities) is taken as now.
	if got, err := parseStarted("10.0 1\nActiveEnterTimestampMonotonic=20000000\n", now); err != nil || !got.Equal(now) {
		t.Errorf("got %s, %v", got, err)
	}
}
