package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// BenchmarkExecTrue20Hosts runs `bbbfleet exec all -- true` in-process (the
// whole CLI path: config, targets, runner, SSH dial with host-key check and
// auth, one session per host) against 20 real sshd hosts, and against 1
// host of the same kind, and reports:
//
//	ns/op            one 20-host run
//	1host-ns/op      one 1-host run (measured in the same benchmark)
//	ratio-20/1       their ratio (1.0 would be perfect parallelism)
//	conns/host/run   logins per host per run, from sshd's own log
//	                 ("Accepted publickey"); must be 1
//
// The hosts run real shells (no ForceCommand) and are logged into as a
// non-root user whose shell is /bin/sh, so the time is bbbfleet's and
// sshd's, not a login shell's start-up files.
func BenchmarkExecTrue20Hosts(b *testing.B) {
	user := "root"
	if sshtest.IsRoot() {
		user = "bbbfleet-test"
		sshtest.EnsureUser(b, user)
	}
	hs20, cfg20 := benchFleet(b, 20, user)
	_, cfg1 := benchFleet(b, 1, user)
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	b.Setenv("SSH_AUTH_SOCK", "")

	once := func(cfg string) time.Duration {
		var out, errOut bytes.Buffer
		start := time.Now()
		if code := Run(context.Background(), []string{"-c", cfg, "exec", "all", "--", "true"}, ui.Test(&out, &errOut)); code != 0 {
			b.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
		}
		return time.Since(start)
	}
	// Warm up both (page cache, sshd binaries), then count from here.
	once(cfg20)
	once(cfg1)
	base20 := accepted(hs20)
	var one time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		once(cfg20)
		b.StopTimer()
		one += once(cfg1)
		b.StartTimer()
	}
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(one.Nanoseconds())/float64(b.N), "1host-ns/op")
	b.ReportMetric(per/(float64(one.Nanoseconds())/float64(b.N)), "ratio-20/1")
	after := accepted(hs20)
	worst := 0.0
	for i := range after {
		c := float64(after[i]-base20[i]) / float64(b.N)
		if c != 1 {
			b.Errorf("%s: %.2f logins per run, want exactly 1", hs20.Hosts[i].Name, c)
		}
		worst = max(worst, c)
	}
	b.ReportMetric(worst, "conns/host/run")
}

func accepted(hs *sshtest.Hosts) []int {
	var n []int
	for _, h := range hs.Hosts {
		n = append(n, h.Accepted())
	}
	return n
}

// benchFleet starts n plain sshd hosts and writes a config logging in as user.
func benchFleet(b *testing.B, n int, user string) (*sshtest.Hosts, string) {
	b.Helper()
	hs := sshtest.Start(b, n, sshtest.Options{NonRootUser: user})
	cfg := hs.Dir + "/fleet.yaml"
	s := fmt.Sprintf("defaults:\n  ssh: {user: %s, identity_file: %q, known_hosts: %q, timeout: 10s}\nservers:\n", user, hs.ClientKeyFile, hs.KnownHostsFile)
	for i, h := range hs.Hosts {
		s += fmt.Sprintf("  - name: h%d\n    host: %s\n    ssh: {port: %d}\n    api: {url: \"http://%s/bigbluebutton/\"}\n", i+1, h.Addr, h.Port, h.Addr)
	}
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		b.Fatal(err)
	}
	return hs, cfg
}
