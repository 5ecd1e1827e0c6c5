package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// silentServer accepts TCP on loopback and never sends an SSH banner.
func silentServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func tempKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A login that times out names the limit that ended it and its value:
// ssh.timeout when it is the shorter, the caller's deadline (as
// Config.DeadlineName names it) when that comes first or at the same time; never a bare "context
// deadline exceeded".
func TestDialTimeoutNamesTheLimit(t *testing.T) {
	port := silentServer(t)
	cfg := ssh.Config{Name: "bbb3", Host: "127.0.0.1", Port: port, User: "root", IdentityFiles: []string{tempKey(t)},
		KnownHostsFile: filepath.Join(t.TempDir(), "known_hosts"), SSHConfigFile: "none", NoAgent: true}

	cfg.Timeout = 200 * time.Millisecond
	_, err := ssh.Dial(context.Background(), cfg)
	var de *ssh.DialTimeoutError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "SSH handshake timed out after") || !strings.Contains(err.Error(), "(ssh.timeout 200ms)") {
		t.Errorf("ssh.timeout: %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ssh.timeout reads as the caller's deadline: %v", err)
	}

	// The caller's deadline equal to the ssh timeout: the caller's
	// deadline is first, named as the caller names it.
	for name, want := range map[string]string{"": "(the caller's deadline, ", "the run's limit": "(the run's limit, "} {
		cfg.DeadlineName = name
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err = ssh.Dial(ctx, cfg)
		cancel()
		if !errors.As(err, &de) || !de.ByCaller() || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("caller's deadline %q: %v", name, err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("caller's deadline does not unwrap to context.DeadlineExceeded: %v", err)
		}
	}
	cfg.DeadlineName = ""

	// Cancelled (Ctrl-C) stays a cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = ssh.Dial(ctx, cfg)
	if !errors.Is(err, context.Canceled) || errors.As(err, &de) {
		t.Errorf("cancel: %v", err)
	}
}
