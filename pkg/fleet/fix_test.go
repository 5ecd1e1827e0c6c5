package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

// A run that gives up on a server names the limit as the run's options
// name it (the command line: its flag), and by default in the product's
// words.
func TestRunTimeoutNamedByTheCaller(t *testing.T) {
	hang := func(ctx context.Context, s Server) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
	for name, want := range map[string]string{"": RunTimeoutWords, "the deadline D": "the deadline D"} {
		res := Run(context.Background(), []Server{{Name: "bbb1"}}, RunOptions{Timeout: 20 * time.Millisecond, TimeoutName: name}, hang)
		var te *ErrTimeout
		if !errors.As(res[0].Err, &te) || te.Limit != name || te.Timeout != 20*time.Millisecond {
			t.Fatalf("TimeoutName %q: %#v", name, res[0].Err)
		}
		if d := te.Detail(); d != "not done within 20ms ("+want+"; raise it for long work or a slow server)" {
			t.Errorf("TimeoutName %q: %q", name, d)
		}
	}
}

// A missing secret carries its remedy as a value, and in the words the
// Env was given for it.
func TestMissingSecretCarriesTheFix(t *testing.T) {
	env := NewEnv(&Config{}, nil, RunOptions{})
	s := Server{Name: "bbb1"}
	s.API.URL = "http://127.0.0.1:1/bigbluebutton/api/"
	_, err := env.API(s)
	var me *MissingSecretError
	want := Fix{Kind: FixFetchSecretOrEnv, Server: "bbb1", Env: "BBBFLEET_SECRET_BBB1"}
	if !errors.As(err, &me) || me.Fix() != want || me.Remedy != "" {
		t.Fatalf("%#v", err)
	}
	env.FixWords = func(f Fix) string { return "get it for " + f.Server + " or set " + f.Env }
	if _, err = env.API(s); err == nil || err.Error() != "bbb1: no API secret: get it for bbb1 or set BBBFLEET_SECRET_BBB1" {
		t.Fatalf("%v", err)
	}
	// The API clients' errors get the remedy in their own words.
	env.APIFixWords = func(f Fix) string { return fmt.Sprintf("api fix %d for %s", f.Kind, f.Server) }
	c, err := env.APIUnsigned(s)
	if err != nil || c.SecretRemedy != fmt.Sprintf("api fix %d for bbb1", FixFetchSecret) {
		t.Fatalf("%v %+v", err, c)
	}
}

// The secret check says what is wrong; the remedy (fetch the secret
// again) is its Fix, not words in the message.
func TestCheckSecretRowsCarryTheFix(t *testing.T) {
	t.Setenv("BBBFLEET_SECRET_BBB1", "")
	os.Unsetenv("BBBFLEET_SECRET_BBB1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := sim.DefaultState("bbb1")
	st.Secret = "secret-bbb1-0123456789abcdef"
	url, stop, err := sim.NewHost(sim.NewMemStore(st), sim.Options{}).ServeAPI(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := t.TempDir()
	secrets, err := LoadSecrets(filepath.Join(dir, "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := Server{Name: "bbb1", Host: "127.0.0.1"}
	s.API.URL, s.API.Timeout = url, Duration(5*time.Second)
	cfg := &Config{Servers: []Server{s}}
	secretRow := func() CheckResult {
		t.Helper()
		env := NewEnv(cfg, secrets, RunOptions{Timeout: 10 * time.Second})
		defer env.Close()
		rs := env.Check(ctx, cfg.Servers, CheckOptions{Checks: []string{CheckAPI, CheckSecret}, IgnoreSchedule: true})
		c := rs[0].Get(CheckSecret)
		if c == nil {
			t.Fatal("no secret row")
		}
		return *c
	}
	fetch := Fix{Kind: FixFetchSecret, Server: "bbb1"}
	cases := []struct {
		file, env string
		msg       string
		fix       Fix
	}{
		{"", "", "not checked: no API secret", Fix{Kind: FixFetchSecretOrEnv, Server: "bbb1", Env: "BBBFLEET_SECRET_BBB1"}},
		{"wrong-0123456789abcdef", "", "rejected by the server (checksumError): the server rejects this secret with every checksum algorithm", fetch},
		{"wrong-0123456789abcdef", "wrong-too-0123456789abcdef", "rejected by the server (checksumError): the secret comes from BBBFLEET_SECRET_BBB1, " +
			"which overrides the secrets file, and the server rejects it with every checksum algorithm: unset BBBFLEET_SECRET_BBB1",
			Fix{Kind: FixThenFetchSecret, Server: "bbb1"}},
		{st.Secret, "", "accepted", Fix{}},
	}
	for _, c := range cases {
		secrets.Set("bbb1", c.file)
		if c.env != "" {
			t.Setenv("BBBFLEET_SECRET_BBB1", c.env)
		} else {
			os.Unsetenv("BBBFLEET_SECRET_BBB1")
		}
		r := secretRow()
		if r.Fix != c.fix || (c.msg != "accepted" && r.Message != c.msg) {
			t.Errorf("file %q env %q: %q %+v", c.file, c.env, r.Message, r.Fix)
		}
	}
}

// A row the schedule explains (a server stopped on purpose) says why, and
// no longer carries the remedy of the message it replaced.
func TestApplyScheduleDropsTheFix(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(scheduleYAML))
	if err != nil {
		t.Fatal(err)
	}
	be, _ := time.LoadLocation("Europe/Berlin")
	night := time.Date(2026, 12, 8, 23, 15, 0, 0, be)
	rc := downCheck("bbb1")
	sec := rc.Get(CheckSecret)
	sec.Message, sec.Fix = "not checked: no API secret", Fix{Kind: FixFetchSecretOrEnv, Server: "bbb1", Env: "BBBFLEET_SECRET_BBB1"}
	ApplySchedule([]*ServerCheck{rc}, cfg.Schedule, night)
	if c := rc.Get(CheckSecret); c.Status != CheckOK || c.Fix != (Fix{}) || c.Message == "not checked: no API secret" {
		t.Errorf("%+v", *c)
	}
}
