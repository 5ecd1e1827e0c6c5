package ssh_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// BenchmarkCompareTools20Hosts runs `true` on the same 20 sshd hosts with
// this package and, when installed, with OpenSSH's ssh (20 processes at
// once), parallel-ssh and ansible (-m raw); every tool dials afresh each
// time, with host keys checked. ns/op is the wall time for all 20 hosts.
func BenchmarkCompareTools20Hosts(b *testing.B) {
	hs := sshtest.Start(b, 20, sshtest.Options{})
	user := hs.User
	if sshtest.IsRoot() {
		sshtest.EnsureUser(b, hs.NonRootUser)
		user = hs.NonRootUser
	}
	dir := b.TempDir()
	sshOpts := []string{"-F", "/dev/null", "-i", hs.ClientKeyFile, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + hs.KnownHostsFile, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ControlMaster=no"}

	b.Run("bbbfleet", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			errs := make([]error, len(hs.Hosts))
			for i := range hs.Hosts {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					cfg := config(hs, i)
					cfg.User = user
					c, err := ssh.Dial(context.Background(), cfg)
					if err != nil {
						errs[i] = err
						return
					}
					defer c.Close()
					_, errs[i] = c.Run(context.Background(), ssh.Command{Argv: []string{"true"}})
				}(i)
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})

	b.Run("openssh", func(b *testing.B) {
		if _, err := exec.LookPath("ssh"); err != nil {
			b.Skip("ssh not installed")
		}
		for b.Loop() {
			var wg sync.WaitGroup
			errs := make([]error, len(hs.Hosts))
			for i, h := range hs.Hosts {
				wg.Add(1)
				go func(i int, h *sshtest.Host) {
					defer wg.Done()
					args := append(append([]string{}, sshOpts...), "-p", strconv.Itoa(h.Port), user+"@"+h.Addr, "true")
					if out, err := exec.Command("ssh", args...).CombinedOutput(); err != nil {
						errs[i] = fmt.Errorf("%v: %s", err, out)
					}
				}(i, h)
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})

	b.Run("parallel-ssh", func(b *testing.B) {
		pssh, err := exec.LookPath("parallel-ssh")
		if err != nil {
			b.Skip("parallel-ssh not installed")
		}
		var hosts strings.Builder
		for _, h := range hs.Hosts {
			fmt.Fprintf(&hosts, "%s:%d\n", h.Addr, h.Port)
		}
		hostsFile := filepath.Join(dir, "pssh-hosts")
		os.WriteFile(hostsFile, []byte(hosts.String()), 0o600)
		for b.Loop() {
			out, err := exec.Command(pssh, "-h", hostsFile, "-l", user, "-p", "20", "-t", "30",
				"-x", strings.Join(sshOpts, " "), "true").CombinedOutput()
			if err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})

	b.Run("ansible-raw", func(b *testing.B) {
		ansible, err := exec.LookPath("ansible")
		if err != nil {
			b.Skip("ansible not installed")
		}
		var inv strings.Builder
		inv.WriteString("[fleet]\n")
		for _, h := range hs.Hosts {
			fmt.Fprintf(&inv, "%s ansible_host=%s ansible_port=%d\n", h.Name, h.Addr, h.Port)
		}
		fmt.Fprintf(&inv, "[fleet:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\nansible_ssh_common_args='%s'\n",
			user, hs.ClientKeyFile, strings.Join(sshOpts, " "))
		invFile := filepath.Join(dir, "inventory.ini")
		os.WriteFile(invFile, []byte(inv.String()), 0o600)
		cfgFile := filepath.Join(dir, "ansible.cfg")
		os.WriteFile(cfgFile, nil, 0o600)
		env := append(os.Environ(), "ANSIBLE_HOME="+dir, "ANSIBLE_LOCAL_TEMP="+dir, "ANSIBLE_CONFIG="+cfgFile,
			"ANSIBLE_SSH_ARGS=-o ControlMaster=no", "ANSIBLE_HOST_KEY_CHECKING=True", "ANSIBLE_NOCOLOR=1")
		for b.Loop() {
			cmd := exec.Command(ansible, "fleet", "-i", invFile, "-m", "raw", "-a", "true", "-f", "20")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}
