package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	good := []string{"30 6 * * 1-5", "CRON_TZ=Europe/Berlin 0 22 * * *", "TZ=UTC 0 0 1 1 *", "@daily"}
	for _, s := range good {
		if _, err := ParseSpec(s); err != nil {
			t.Errorf("ParseSpec(%q): %v", s, err)
		}
	}
	bad := map[string]string{
		"":                            "empty",
		"0 0 * *":                     "4 fields",
		"61 0 * * *":                  "61",
		"CRON_TZ=Mars/Base 0 0 * * *": `unknown time zone "Mars/Base"`,
		"CRON_TZ=":                    "no fields",
		"CRON_TZ= ":                   "no fields",
		"TZ=":                         "no fields",
		"CRON_TZ= 0 0 * * *":          "unknown time zone",
	}
	for s, want := range bad {
		_, err := ParseSpec(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q) = %v, want error containing %q", s, err, want)
		}
	}
}

func TestParseSpecZone(t *testing.T) {
	s, err := ParseSpec("CRON_TZ=Europe/Berlin 30 6 * * 1-5")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) // a Friday
	next := s.Next(from)
	want := time.Date(2026, 11, 23, 5, 30, 0, 0, time.UTC) // Monday 06:30 CET
	if !next.Equal(want) {
		t.Fatalf("next = %v, want %v", next, want)
	}
}
