package sshtest_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

func TestHarness(t *testing.T) {
	hs := sshtest.Start(t, 3, sshtest.Options{
		ForceCommand: func(i int, dir string) string {
			if i == 2 {
				return "echo forced " + dir
			}
			return ""
		},
	})
	if len(hs.Hosts) != 3 {
		t.Fatalf("hosts = %d", len(hs.Hosts))
	}
	cb, err := knownhosts.New(hs.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs.Hosts {
		if want := "127.0.0." + string(rune('2'+i)); h.Addr != want {
			t.Errorf("host %d addr %s, want %s", i, h.Addr, want)
		}
		if !strings.Contains(hs.KnownHostsLine(i), "["+h.Addr+"]:") {
			t.Errorf("KnownHostsLine(%d) = %q", i, hs.KnownHostsLine(i))
		}
		c, err := ssh.Dial("tcp", h.HostPort(), &ssh.ClientConfig{
			User:            hs.User,
			Auth:            []ssh.AuthMethod{ssh.PublicKeys(hs.ClientSigner)},
			HostKeyCallback: cb,
			Timeout:         5 * time.Second,
		})
		if err != nil {
			t.Fatalf("%s: %v\n%s", h.Name, err, h.Log())
		}
		if n := h.Children(); n < 1 {
			t.Errorf("%s: Children() = %d with a connection open", h.Name, n)
		}
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Output("echo hello")
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		want := "hello\n"
		if i == 2 {
			want = "forced " + h.Dir + "\n"
		}
		if string(out) != want {
			t.Errorf("%s: output %q, want %q", h.Name, out, want)
		}
		c.Close()
		if n := h.Accepted(); n != 1 {
			t.Errorf("%s: Accepted() = %d, want 1", h.Name, n)
		}
	}

	// Pause: TCP is accepted but no banner arrives.
	h := hs.Hosts[0]
	h.Pause()
	conn, err := net.DialTimeout("tcp", h.HostPort(), 2*time.Second)
	if err != nil {
		t.Fatalf("paused host refused TCP: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 16)
	if n, err := conn.Read(buf); err == nil {
		t.Errorf("paused host sent %q", buf[:n])
	}
	conn.Close()
	h.Resume()

	// Stop: the port is closed afterwards.
	h.Stop()
	if c, err := net.DialTimeout("tcp", h.HostPort(), time.Second); err == nil {
		c.Close()
		t.Errorf("stopped host still accepts connections")
	}
}
