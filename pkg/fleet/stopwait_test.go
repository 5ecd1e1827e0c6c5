package fleet

import (
	"testing"
	"time"
)

// TestStopWait: the units' stop timeout covers bbb-conf (5 minutes), the
// longest power.timeout and a minute.
func TestStopWait(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
servers:
  - {name: bbb1, host: bbb1.example.org}
  - {name: bbb2, host: bbb2.example.org, power: {on: [true], timeout: 20m}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.StopWait(), 5*time.Minute+20*time.Minute+time.Minute; got != want {
		t.Errorf("StopWait = %s, want %s", got, want)
	}
	cfg.Servers = cfg.Servers[:1]
	if got, want := cfg.StopWait(), 16*time.Minute; got != want {
		t.Errorf("StopWait with the default power.timeout = %s, want %s", got, want)
	}
}
