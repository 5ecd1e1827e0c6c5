package ssh_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// BenchmarkRunTrue20Hosts compares the wall time of dial + `true` on one
// host with the same on 20 hosts in parallel (each host its own sshd).
// Metrics: ms/1host, ms/20hosts and their ratio (1.0 = perfectly parallel).
func BenchmarkRunTrue20Hosts(b *testing.B) {
	hs := sshtest.Start(b, 20, sshtest.Options{})
	user := hs.User
	if sshtest.IsRoot() {
		// root's shell start-up files (~/.bashrc) would dominate; the
		// test user has /bin/sh and no rc files.
		sshtest.EnsureUser(b, hs.NonRootUser)
		user = hs.NonRootUser
	}
	once := func(i int) error {
		cfg := config(hs, i)
		cfg.User = user
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := ssh.Dial(ctx, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Run(ctx, ssh.Command{Argv: []string{"true"}})
		return err
	}
	parallel := func(n int) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); errs[i] = once(i) }(i)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	parallel(20) // warm up
	var one, twenty time.Duration
	n := 0
	b.ResetTimer()
	for b.Loop() {
		one += parallel(1)
		twenty += parallel(20)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(n) / 1e6 }
	b.ReportMetric(ms(one), "ms/1host")
	b.ReportMetric(ms(twenty), "ms/20hosts")
	b.ReportMetric(float64(twenty)/float64(one), "ratio-20/1")
}
