package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/testfleet"
	"github.com/bbbfleet/bbbfleet/internal/ui"
)

// BenchmarkCheck20Hosts runs `bbbfleet check -o json` against 20 real sshd
// hosts (each a simulated BBB 3.0 server with its API stand-in) and
// against one host of the same kind, and reports:
//
//	ms/check-1host, ms/check-20hosts  wall time of one check run
//	ratio-20/1                        how much longer 20 hosts take than 1
//	logins/host/run                   "Accepted publickey" lines per host per run (want 1)
//	sessions/host/run                 "Starting session:" lines per host per run: remote commands, the round trips (want 1)
//	server-cpu-ms/host/run            CPU used by sshd and the BBB stand-in per host and run
//	client-cpu-ms/run                 CPU used by bbbfleet itself (this process) per 20-host run
//
// With -j 20 every host is checked at once; the ratio then shows the CPU
// the sshd processes and stand-ins need on this machine (all 20 "servers"
// share its cores), not waiting: see server-cpu-ms.
//
//	go test -run '^$' -bench BenchmarkCheck20Hosts -benchtime 5x ./cmd/
func BenchmarkCheck20Hosts(b *testing.B) {
	b.Setenv("BBBFLEET_SSH_CONFIG", "none")
	b.Setenv("SSH_AUTH_SOCK", "")
	one := testfleet.Start(b, testfleet.Options{N: 1})
	many := testfleet.Start(b, testfleet.Options{N: 20})
	runOnce := func(cfg string) time.Duration {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := Run(context.Background(), []string{"-c", cfg, "-j", "20", "check", "-o", "json"}, ui.Test(&out, &errOut))
		d := time.Since(start)
		if code != 0 {
			b.Fatalf("check exit %d\n%s\n%s", code, out.String(), errOut.String())
		}
		return d
	}
	count := func(f *testfleet.Fleet, what string) int {
		n := 0
		for _, h := range f.Hosts {
			n += strings.Count(h.SSH.Log(), what)
		}
		return n
	}
	// Warm up both (first process start of bbbsim, page cache).
	runOnce(one.Config)
	runOnce(many.Config)
	settle(many)
	acc0, ses0 := count(many, "Accepted publickey"), count(many, "Starting session:")
	srv0, cli0 := serverCPU(many), selfCPU()
	var srv1Total time.Duration

	var t1, t20, cliTotal time.Duration
	runs := 0
	b.ResetTimer()
	for b.Loop() {
		t20 += runOnce(many.Config)
		b.StopTimer()
		settle(many) // let every listening sshd reap its connection processes
		srv1, cli1 := serverCPU(many), selfCPU()
		srv1Total += srv1 - srv0
		cliTotal += cli1 - cli0
		t1 += runOnce(one.Config)
		settle(many)
		srv0, cli0 = serverCPU(many), selfCPU()
		b.StartTimer()
		runs++
	}
	b.StopTimer()
	hosts := float64(len(many.Hosts) * runs)
	b.ReportMetric(float64(t1.Microseconds())/1000/float64(runs), "ms/check-1host")
	b.ReportMetric(float64(t20.Microseconds())/1000/float64(runs), "ms/check-20hosts")
	b.ReportMetric(float64(t20)/float64(t1), "ratio-20/1")
	b.ReportMetric(float64(count(many, "Accepted publickey")-acc0)/hosts, "logins/host/run")
	b.ReportMetric(float64(count(many, "Starting session:")-ses0)/hosts, "sessions/host/run")
	b.ReportMetric(float64(srv1Total.Microseconds())/1000/hosts, "server-cpu-ms/host/run")
	b.ReportMetric(float64(cliTotal.Microseconds())/1000/float64(runs), "client-cpu-ms/run")
}

// serverCPU is the CPU time of every listening sshd's finished children
// (per-connection sshd and the commands they ran), from /proc/PID/stat.
func serverCPU(f *testfleet.Fleet) time.Duration {
	var total time.Duration
	for _, h := range f.Hosts {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.SSH.PID))
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// fields[0] is field 3 (state): utime, stime, cutime, cstime are 14-17.
		for _, i := range []int{11, 12, 13, 14} {
			if i < len(fields) {
				n, _ := strconv.ParseInt(fields[i], 10, 64)
				total += time.Duration(n) * time.Second / 100 // USER_HZ
			}
		}
	}
	return total
}

// settle waits (boundedly) until no sshd has connection processes left.
func settle(f *testfleet.Fleet) {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, h := range f.Hosts {
			n += h.SSH.Children()
		}
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
