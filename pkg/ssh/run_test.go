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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

type countWriter struct{ n atomic.Int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// Result keeps at most MaxOutput bytes of each stream (16 MiB by
// default), while the caller's writers still get everything.
func TestMaxOutput(t *testing.T) {
	hs := sshtest.Start(t, 1, sshtest.Options{})
	c := dial(t, config(hs, 0))

	var out countWriter
	res := run(t, c, ssh.Command{
		Script:    "head -c 100000 /dev/zero; head -c 50000 /dev/zero >&2",
		Stdout:    &out,
		MaxOutput: 1000,
	})
	if len(res.Stdout) != 1000 || !res.StdoutTruncated || len(res.Stderr) != 1000 || !res.StderrTruncated {
		t.Errorf("kept %d/%d bytes, truncated %v/%v; want 1000/1000, true/true",
			len(res.Stdout), len(res.Stderr), res.StdoutTruncated, res.StderrTruncated)
	}
	if n := out.n.Load(); n != 100000 {
		t.Errorf("streamed %d bytes, want 100000", n)
	}

	res = run(t, c, ssh.Command{Argv: []string{"echo", "short"}, MaxOutput: 6})
	if string(res.Stdout) != "short\n" || res.StdoutTruncated || res.StderrTruncated {
		t.Errorf("exactly MaxOutput: %q truncated %v", res.Stdout, res.StdoutTruncated)
	}

	const total = ssh.DefaultMaxOutput + 1<<20
	out.n.Store(0)
	res = run(t, c, ssh.Command{Argv: []string{"head", "-c", "17825792", "/dev/zero"}, Stdout: &out})
	if len(res.Stdout) != ssh.DefaultMaxOutput || !res.StdoutTruncated || res.StderrTruncated {
		t.Errorf("default: kept %d bytes, truncated %v; want %d, true", len(res.Stdout), res.StdoutTruncated, ssh.DefaultMaxOutput)
	}
	if n := out.n.Load(); n != total {
		t.Errorf("streamed %d bytes, want %d", n, total)
	}
}

// gatedConn stops delivering what it reads once stall is closed, until
// release is: the server seems to hang, as a stopped sshd would.
type gatedConn struct {
	net.Conn
	stall, release chan struct{}
}

func (g *gatedConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	select {
	case <-g.stall:
		<-g.release
	default:
	}
	return n, err
}

// stallingServer is an in-process SSH server that accepts any key and
// opens sessions, but stops reading its connection on the first exec
// request, so that request is never answered.
func stallingServer(t *testing.T) (addr string, hostKey gossh.PublicKey, execs chan struct{}) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	scfg := &gossh.ServerConfig{PublicKeyCallback: func(gossh.ConnMetadata, gossh.PublicKey) (*gossh.Permissions, error) { return nil, nil }}
	scfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	execs = make(chan struct{}, 10)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		close(release)
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ { // bounded: a test dials a few times
			conn, err := l.Accept()
			if err != nil {
				return
			}
			g := &gatedConn{Conn: conn, stall: make(chan struct{}), release: release}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				sc, chans, reqs, err := gossh.NewServerConn(g, scfg)
				if err != nil {
					return
				}
				defer sc.Close()
				go gossh.DiscardRequests(reqs)
				var once sync.Once
				for nc := range chans {
					ch, creqs, err := nc.Accept()
					if err != nil {
						continue
					}
					go func() {
						defer ch.Close()
						for r := range creqs {
							if r.Type == "exec" {
								once.Do(func() { close(g.stall) })
								execs <- struct{}{}
								continue // never answered
							}
							r.Reply(false, nil)
						}
					}()
				}
			}()
		}
	}()
	return l.Addr().String(), signer.PublicKey(), execs
}

// A server that never answers the exec request cannot hold Run past ctx.
func TestRunStartUnderContext(t *testing.T) {
	addr, hostKey, execs := stallingServer(t)
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{addr}, hostKey)+"\n"), 0o600)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := gossh.MarshalPrivateKey(priv, "")
	key := filepath.Join(dir, "id_ed25519")
	os.WriteFile(key, pem.EncodeToMemory(block), 0o600)
	c := dial(t, ssh.Config{Name: "stalled", Host: host, Port: port, User: "u", IdentityFiles: []string{key},
		KnownHostsFile: kh, SSHConfigFile: "none", NoAgent: true, Timeout: 5 * time.Second})
	goroutinesBefore := runtime.NumGoroutine()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := c.Run(ctx, ssh.Command{Argv: []string{"true"}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "stalled: ssh: ") {
			t.Errorf("err = %v, want stalled: ssh: ... DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Run returned after %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waits for the exec reply 10 s after its ctx ended")
	}
	select {
	case <-execs:
	default:
		t.Error("the server saw no exec request")
	}
	// Closing the connection ends the Start left waiting.
	c.Close()
	sshtest.GoroutinesBackTo(t, goroutinesBefore)
}
