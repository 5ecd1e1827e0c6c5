package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadCheckConfig(t *testing.T, check string) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	doc := "servers:\n  - {name: bbb1, host: bbb1.example.org}\n" + check
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

func TestCheckThresholdsConfig(t *testing.T) {
	cfg, err := loadCheckConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Check != DefaultCheckThresholds {
		t.Errorf("defaults: %+v", cfg.Check)
	}
	cfg, err = loadCheckConfig(t, "check:\n  disk_warning_percent: 70\n  clock_skew_warning: 1s\n  load_critical_per_core: 4\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Check.DiskWarningPct != 70 || cfg.Check.ClockSkewWarning.D() != time.Second || cfg.Check.LoadCriticalPerCP != 4 || cfg.Check.DiskCriticalPct != 95 {
		t.Errorf("partial override: %+v", cfg.Check)
	}
	bad := []struct{ yaml, want string }{
		{"check:\n  memory_warning_percent: 98\n", "fleet.yaml:4: check: memory_critical_percent (97) is below memory_warning_percent (98)"},
		{"check:\n  load_warning_per_core: 5\n", "check: load_critical_per_core (3) is below load_warning_per_core (5)"},
		{"check:\n  load_warning_per_core: -1\n", "load thresholds per core must not be negative"},
		{"check:\n  clock_skew_warning: 1m\n", "check: clock_skew_critical (30s) is below clock_skew_warning (1m0s)"},
		{"check:\n  certificate_critical_days: -1\n", "certificate_critical_days -1 must not be negative"},
		{"check:\n  disk_warning_percent: 101\n", "is not a percentage"},
		{"check:\n  disk_warn: 1\n", `unknown key "disk_warn"`},
	}
	for _, b := range bad {
		_, err := loadCheckConfig(t, b.yaml)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: %v, want %q", b.yaml, err, b.want)
		}
	}
}
