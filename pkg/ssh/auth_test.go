package ssh_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// startAgent serves keyring on a unix socket and points SSH_AUTH_SOCK at it.
func startAgent(t *testing.T, keyring agent.Agent) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for i := 0; i < 100; i++ { // bounded: a test dials a few times
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); agent.ServeAgent(keyring, c) }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func addKey(t *testing.T, keyring agent.Agent, priv any) {
	t.Helper()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
}

func clientKey(t *testing.T, hs *sshtest.Hosts) any {
	t.Helper()
	data, _ := os.ReadFile(hs.ClientKeyFile)
	raw, err := gossh.ParseRawPrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func writePrivateKey(t *testing.T, file string, priv ed25519.PrivateKey, passphrase string) {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = gossh.MarshalPrivateKey(priv, "")
	} else {
		block, err = gossh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// With more agent keys than sshd's MaxAuthTries (6), the identity file's
// key must be offered first, whether or not the agent holds it too.
func TestIdentityFileBeforeManyAgentKeys(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	for _, agentHoldsIt := range []bool{false, true} {
		t.Run(fmt.Sprintf("agent holds it=%v", agentHoldsIt), func(t *testing.T) {
			keyring := agent.NewKeyring()
			for i := 0; i < 6; i++ {
				_, other, _ := ed25519.GenerateKey(rand.Reader)
				addKey(t, keyring, other)
			}
			if agentHoldsIt {
				addKey(t, keyring, clientKey(t, hs)) // the 7th
			} else {
				_, other, _ := ed25519.GenerateKey(rand.Reader)
				addKey(t, keyring, other)
			}
			startAgent(t, keyring)
			cfg := config(hs, 0)
			cfg.NoAgent = false
			c := dial(t, cfg)
			run(t, c, ssh.Command{Argv: []string{"true"}})
		})
	}
	if log := hs.Hosts[0].Log(); strings.Contains(log, "Too many authentication failures") {
		t.Errorf("sshd log:\n%s", log)
	}
}

// IdentitiesOnly yes: of the agent's keys only those of the identity
// files are offered, and a passphrase-protected file works through the
// agent that holds its key.
func TestIdentitiesOnly(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	h := hs.Hosts[0]
	dir := t.TempDir()
	_, wrongPriv, _ := ed25519.GenerateKey(rand.Reader)
	wrong := filepath.Join(dir, "wrong")
	writePrivateKey(t, wrong, wrongPriv, "")
	keyring := agent.NewKeyring()
	addKey(t, keyring, clientKey(t, hs))
	startAgent(t, keyring)

	sc := filepath.Join(dir, "ssh_config")
	cfg := ssh.Config{Name: "h", Host: "bbb", KnownHostsFile: hs.KnownHostsFile, SSHConfigFile: sc, Timeout: 5 * time.Second}
	writeConf := func(identity, only string) {
		writeKH(t, sc, "Host bbb", "  HostName "+h.Addr, fmt.Sprintf("  Port %d", h.Port), "  User "+hs.User,
			"  IdentityFile "+identity, "  IdentitiesOnly "+only)
	}
	writeConf(wrong, "no")
	dial(t, cfg).Close() // the agent's key after the file's

	writeConf(wrong, "yes")
	_, err := ssh.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no accepted key") || !strings.Contains(err.Error(), "IdentitiesOnly") {
		t.Errorf("IdentitiesOnly with the wrong file: err = %v", err)
	}

	// The right key in a passphrase-protected file, held by the agent.
	locked := filepath.Join(dir, "locked")
	writePrivateKey(t, locked, *clientKey(t, hs).(*ed25519.PrivateKey), "secret")
	writeConf(locked, "yes")
	c := dial(t, cfg)
	run(t, c, ssh.Command{Argv: []string{"true"}})
}

// Asking the agent is bounded by the dial's ctx: an agent that never
// answers cannot hold Dial past it.
func TestStalledAgentBoundedByDial(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := make(chan net.Conn, 10)
	go func() {
		for i := 0; i < 10; i++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c // accepted, never answered
		}
	}()
	defer func() {
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	cfg := config(hs, 0)
	cfg.NoAgent = false
	cfg.Timeout = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = ssh.Dial(ctx, cfg)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Dial returned after %v with a ctx of 300ms (err %v)", d, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "timed out")) {
		t.Errorf("err = %v, want a timeout", err)
	}
}
