package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary as bbbfleet itself
// (BBBFLEET_TEST_MAIN=1), to send it real signals.
func TestMain(m *testing.M) {
	if os.Getenv("BBBFLEET_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// hangingListener accepts connections on loopback and never answers: an
// SSH login and an API call to it wait until their deadline.
func hangingListener(t *testing.T) (port int, accepted chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = make(chan struct{}, 16)
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

// TestCheckNagiosInterrupted: check -o nagios stopped by SIGINT or SIGTERM
// prints a plugin's UNKNOWN line and exits 3, as monitoring expects.
func TestCheckNagiosInterrupted(t *testing.T) {
	port, accepted := hangingListener(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fleet.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`defaults:
  ssh: {user: root, timeout: 60s, known_hosts: %s/known_hosts}
  api: {timeout: 60s}
servers:
  - name: bbb1
    host: 127.0.0.1
    ssh: {port: %d}
    api: {url: "http://127.0.0.1:%d/bigbluebutton/api/"}
`, dir, port, port)), 0o644)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			c := exec.Command(os.Args[0], "-c", cfg, "check", "-o", "nagios", "--timeout", "60s")
			c.Env = append(os.Environ(), "BBBFLEET_TEST_MAIN=1", "BBBFLEET_SSH_CONFIG=none", "SSH_AUTH_SOCK=")
			var out, errOut bytes.Buffer
			c.Stdout, c.Stderr = &out, &errOut
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-accepted:
			case <-time.After(20 * time.Second):
				c.Process.Kill()
				t.Fatal("check never connected")
			}
			time.Sleep(100 * time.Millisecond)
			c.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				c.Process.Kill()
				t.Fatal("check did not end after the signal")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Errorf("exit: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			want := "BBBFLEET UNKNOWN - interrupted"
			if !strings.HasPrefix(out.String(), want) || strings.Count(out.String(), "\n") != 1 {
				t.Errorf("stdout %q, want one line starting %q", out.String(), want)
			}
		})
	}
}
