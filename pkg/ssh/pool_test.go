package ssh_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sshtest"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// Five servers behind one jump host, dialled in parallel through a
// JumpPool: one login on the jump host, and a Client's Close leaves the
// shared jump connection to the others.
func TestJumpPoolSharesOneJumpConnection(t *testing.T) {
	hs := sshtest.Start(t, 6, sshtest.Options{})
	jump := hs.Hosts[0]
	pool := ssh.NewJumpPool()
	defer pool.Close()
	cfgFor := func(i int) ssh.Config {
		cfg := config(hs, i)
		cfg.ProxyJump = fmt.Sprintf("%s@%s", hs.User, jump.HostPort())
		return cfg
	}
	clients := make([]*ssh.Client, 6)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := 1; i < 6; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			clients[i], errs[i] = pool.Dial(ctx, cfgFor(i))
		}(i)
	}
	wg.Wait()
	for i := 1; i < 6; i++ {
		if errs[i] != nil {
			t.Fatalf("%s: %v", hs.Hosts[i].Name, errs[i])
		}
		res := run(t, clients[i], ssh.Command{Argv: []string{"sh", "-c", "echo $SSH_CONNECTION"}})
		if f := strings.Fields(string(res.Stdout)); len(f) != 4 || f[2] != hs.Hosts[i].Addr {
			t.Errorf("%s answered %q", hs.Hosts[i].Name, res.Stdout)
		}
	}
	if n := jump.Accepted(); n != 1 {
		t.Errorf("%d logins on the jump host, want 1", n)
	}

	// A Client's Close leaves the shared jump connection open.
	for i := 1; i < 5; i++ {
		clients[i].Close()
	}
	run(t, clients[5], ssh.Command{Argv: []string{"true"}})
	c := dial(t, cfgFor(1)) // ssh.Dial: its own jump connection
	c.Close()
	again, err := pool.Dial(context.Background(), cfgFor(2))
	if err != nil {
		t.Fatal(err)
	}
	run(t, again, ssh.Command{Argv: []string{"true"}})
	again.Close()
	if n := jump.Accepted(); n != 2 {
		t.Errorf("%d logins on the jump host, want 2 (the pool's and ssh.Dial's)", n)
	}

	// Close ends the shared connection and the Clients through it.
	if err := pool.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := clients[5].Run(ctx, ssh.Command{Argv: []string{"true"}}); err == nil {
		t.Error("a Client of a closed pool still runs commands")
	}
	clients[5].Close()
	if _, err := pool.Dial(context.Background(), cfgFor(1)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Dial after Close: %v", err)
	}
	if !sshtest.Poll(5*time.Second, func() bool { return jump.Children() == 0 }) {
		t.Errorf("jump host still has %d processes after Close", jump.Children())
	}
}

// A jump host that fails fails every Dial waiting for it, under each
// server's own name, and the next Dial tries again.
func TestJumpPoolFailureNamesEachServer(t *testing.T) {
	hs := sshtest.Start(t, 3, sshtest.Options{})
	pool := ssh.NewJumpPool()
	defer pool.Close()
	jump := hs.Hosts[0]
	jump.Stop()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := 1; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cfg := config(hs, i)
			cfg.ProxyJump = fmt.Sprintf("%s@%s", hs.User, jump.HostPort())
			_, errs[i] = pool.Dial(context.Background(), cfg)
		}(i)
	}
	wg.Wait()
	for i := 1; i < 3; i++ {
		if errs[i] == nil || !strings.HasPrefix(errs[i].Error(), hs.Hosts[i].Name+": ssh: jump host ") || !strings.Contains(errs[i].Error(), "refused") {
			t.Errorf("%s: err = %v", hs.Hosts[i].Name, errs[i])
		}
	}
}
