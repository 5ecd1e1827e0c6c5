package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// maxSSHConns bounds the connections (and so the goroutines) the
// in-process SSH server handles at once; more wait in the kernel backlog.
const maxSSHConns = 64

// maxSessionsPerConn bounds concurrent session channels per connection
// (OpenSSH's MaxSessions default is 10).
const maxSessionsPerConn = 10

// ServeSSH runs an in-process SSH server on addr that authenticates by
// public key (any user name; the name is the login user that matters for
// sudo) and runs exec requests through Host.Exec in demo mode. It returns
// the address it listens on and a stop function that closes the listener
// and every connection and waits for them.
func (h *Host) ServeSSH(ctx context.Context, addr string, hostKey ssh.Signer, authorized []ssh.PublicKey) (actualAddr string, stop func(), err error) {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range authorized {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return &ssh.Permissions{Extensions: map[string]string{"pubkey-fp": ssh.FingerprintSHA256(key)}}, nil
				}
			}
			return nil, fmt.Errorf("sim: unknown public key for %s", meta.User())
		},
		ServerVersion: "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
		// An ssh-agent holding many keys offers them all before the
		// demo's key file; OpenSSH's limit of 6 would refuse the client.
		MaxAuthTries: 64,
	}
	cfg.AddHostKey(hostKey)

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("sim: SSH listen %s: %w", addr, err)
	}
	srvCtx, cancel := context.WithCancel(ctx)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	sem := make(chan struct{}, maxSSHConns)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case sem <- struct{}{}:
			case <-srvCtx.Done():
				return
			}
			c, err := ln.Accept()
			if err != nil {
				<-sem
				if errors.Is(err, net.ErrClosed) || srvCtx.Err() != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if h.Down() { // powered off or booting: nobody answers
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				c.Close()
				<-sem
				continue
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				h.serveSSHConn(srvCtx, c, cfg)
			}()
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			ln.Close()
			mu.Lock()
			for c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	context.AfterFunc(ctx, func() { go stop() })
	return ln.Addr().String(), stop, nil
}

func (h *Host) serveSSHConn(ctx context.Context, c net.Conn, cfg *ssh.ServerConfig) {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	// A machine that powers off drops its connections.
	connDone := make(chan struct{})
	defer close(connDone)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-connDone:
				return
			case <-t.C:
				if h.Down() {
					sc.Close()
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxSessionsPerConn)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			nc.Reject(ssh.ResourceShortage, "too many sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			<-sem
			continue
		}
		h.sshSessions.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h.serveSession(ctx, sc.User(), ch, chReqs)
		}()
	}
}

// serveSession handles one session channel: env requests are accepted and
// ignored, exec runs the command, shell/pty/subsystem are refused.
func (h *Host) serveSession(ctx context.Context, user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for {
		var req *ssh.Request
		select {
		case req = <-reqs:
			if req == nil {
				return
			}
		case <-ctx.Done():
			return
		}
		switch req.Type {
		case "env":
			req.Reply(true, nil)
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			runCtx, cancel := context.WithCancel(ctx)
			go func() {
				// A "signal" or the channel closing ends the command.
				for r := range reqs {
					if r.Type == "signal" {
						cancel()
					}
					if r.WantReply {
						r.Reply(false, nil)
					}
				}
				cancel()
			}()
			st := h.Exec(runCtx, payload.Command, user, ch, ch, ch.Stderr())
			cancel()
			ch.CloseWrite()
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(st))
			ch.SendRequest("exit-status", false, b[:])
			return
		case "shell":
			fmt.Fprint(ch.Stderr(), "interactive shell not supported\n")
			req.Reply(false, nil)
		default: // pty-req, subsystem (sftp), x11-req, ...
			req.Reply(false, nil)
		}
	}
}
