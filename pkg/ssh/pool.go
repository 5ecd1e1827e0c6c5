package ssh

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
)

// JumpPool shares jump-host (ProxyJump) connections among Clients: one
// authenticated connection per jump host, reused by every Client dialled
// through the pool, instead of one per Client as with Dial. Dialling 16
// servers behind one bastion at once then makes one login on the bastion,
// not 16 parallel handshakes that its MaxStartups (default 10:30:100)
// refuses at random.
//
// A jump connection is keyed by the chain that leads to it
// (user@host:port of every hop so far) and by the host-key settings
// (policy and known_hosts files) it was checked under; it is dialled
// once, by the first Dial that needs it, under that Dial's ctx, Timeout,
// keys and host-key checks; concurrent Dials wait for it (under their
// own ctx). A failed jump dial fails the Dials waiting for it, and the
// next Dial tries again; so does one after the connection has died.
//
// Usage:
//
//	pool := ssh.NewJumpPool()
//	defer pool.Close() // after the Clients: it ends their connections
//	c, err := pool.Dial(ctx, cfg) // as ssh.Dial
//	...
//	c.Close() // leaves the shared jump connection open
//
// A JumpPool is safe for concurrent use. Close closes the shared jump
// connections, which ends every Client dialled through them; Dial fails
// after Close.
type JumpPool struct {
	mu     sync.Mutex
	conns  map[string]*poolConn
	open   []*poolConn // dialled, in order (outer hops first)
	closed bool
}

type poolConn struct {
	ready  chan struct{} // closed once client or err is set
	client *gossh.Client
	err    error
	ctxErr bool // it failed because that Dial's ctx ended
}

// NewJumpPool returns an empty pool.
func NewJumpPool() *JumpPool {
	return &JumpPool{conns: map[string]*poolConn{}}
}

// Dial is ssh.Dial, but the jump hosts' connections are the pool's.
// Without a jump host it is ssh.Dial.
func (p *JumpPool) Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, p)
}

// Close closes every shared jump connection (and with them the Clients
// dialled through them). Safe to call twice.
func (p *JumpPool) Close() error {
	p.mu.Lock()
	p.closed = true
	open := p.open
	p.open, p.conns = nil, map[string]*poolConn{}
	p.mu.Unlock()
	var first error
	for i := len(open) - 1; i >= 0; i-- {
		if err := open[i].client.Close(); err != nil && !errors.Is(err, net.ErrClosed) && first == nil {
			first = err
		}
	}
	return first
}

// via returns the pool's connection to r's last jump host, dialling the
// hops it does not hold yet.
func (p *JumpPool) via(ctx context.Context, r *resolved, hk *hostKeys) (*gossh.Client, error) {
	key := r.policy + "\x00" + strings.Join(r.knownHosts, "\x00") + "\x00" + strings.Join(r.systemKnownHosts, "\x00")
	var via *gossh.Client
	for _, ep := range r.jumps {
		key += "\x00" + ep.user + "@" + ep.addr()
		c, err := p.hop(ctx, key, r, hk, ep, via)
		if err != nil {
			return nil, err
		}
		via = c
	}
	return via, nil
}

// maxJumpWaits bounds how often a Dial retries after the Dial it waited
// for gave up with its own ctx.
const maxJumpWaits = 3

func (p *JumpPool) hop(ctx context.Context, key string, r *resolved, hk *hostKeys, ep endpoint, via *gossh.Client) (*gossh.Client, error) {
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, errorf(r.name, "jump host %s: the jump pool is closed", ep.addr())
		}
		pc := p.conns[key]
		if pc == nil {
			pc = &poolConn{ready: make(chan struct{})}
			p.conns[key] = pc
			p.mu.Unlock()
			return p.dialHop(ctx, key, pc, r, hk, ep, via)
		}
		p.mu.Unlock()
		select {
		case <-pc.ready:
		case <-ctx.Done():
			return nil, errorf(r.name, "jump host %s: %w", ep.addr(), ctx.Err())
		}
		if pc.err == nil {
			return pc.client, nil
		}
		if pc.ctxErr && attempt < maxJumpWaits && ctx.Err() == nil {
			continue // that Dial gave up; dial it ourselves
		}
		return nil, withServer(pc.err, r.name)
	}
}

// dialHop dials the pool's connection pc (registered under key).
func (p *JumpPool) dialHop(ctx context.Context, key string, pc *poolConn, r *resolved, hk *hostKeys, ep endpoint, via *gossh.Client) (*gossh.Client, error) {
	c, err := dialHop(ctx, r, hk, ep, via, true)
	p.mu.Lock()
	defer p.mu.Unlock()
	defer close(pc.ready)
	if err == nil && p.closed {
		c.Close()
		c, err = nil, errorf(r.name, "jump host %s: the jump pool is closed", ep.addr())
	}
	pc.client, pc.err = c, err
	if err != nil {
		pc.ctxErr = ctx.Err() != nil
		if p.conns[key] == pc {
			delete(p.conns, key)
		}
		return nil, err
	}
	p.open = append(p.open, pc)
	go func() {
		// Once the connection ends, the next Dial dials anew.
		_ = c.Wait()
		p.mu.Lock()
		if p.conns[key] == pc {
			delete(p.conns, key)
		}
		p.open = slices.DeleteFunc(p.open, func(o *poolConn) bool { return o == pc })
		p.mu.Unlock()
	}()
	return c, nil
}
