package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth is what one hop offers to the server: the identity files' keys
// first (signed by the agent when it holds them), then the agent's other
// keys unless IdentitiesOnly.
type auth struct {
	signers []gossh.Signer
	tried   []string // human descriptions of every source, for errors
	agent   net.Conn // open while the handshake needs the agent
	stop    func() bool
}

func (a *auth) close() {
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
	if a.agent != nil {
		a.agent.Close()
		a.agent = nil
	}
}

// loadAuth collects signers. It never prompts: a passphrase-protected key
// file is reported, and belongs in ssh-agent. Talking to the agent
// happens under ctx and by deadline (the dial's); the agent connection
// stays open, under the same bounds, for the handshake's signatures.
//
// The order follows ssh(1), so that a key the server accepts comes
// before sshd's MaxAuthTries (6) runs out: each identity file's key, in
// order (through the agent's signer when the agent holds that key, so a
// passphrase-protected file in the agent works, found by its public
// key), then the agent's remaining keys, unless ep.identitiesOnly.
func loadAuth(ctx context.Context, ep endpoint, useAgent bool, deadline time.Time) *auth {
	a := &auth{}
	var agentSigners []gossh.Signer
	agentTried := -1 // index in a.tried of the agent's entry
	if useAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		switch {
		case sock == "":
			// Not worth mentioning unless nothing else works.
			a.tried = append(a.tried, "agent (SSH_AUTH_SOCK not set)")
		default:
			d := net.Dialer{Deadline: deadline}
			conn, err := d.DialContext(ctx, "unix", sock)
			if err != nil {
				a.tried = append(a.tried, "agent (cannot reach SSH_AUTH_SOCK: "+errText(err)+")")
				break
			}
			// Bound the agent's answers too, by the deadline and ctx.
			_ = conn.SetDeadline(deadline)
			a.agent = conn
			a.stop = context.AfterFunc(ctx, func() { conn.Close() })
			signers, err := agent.NewClient(conn).Signers()
			if err != nil {
				a.close()
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				a.tried = append(a.tried, "agent ("+errText(err)+")")
				break
			}
			agentSigners = signers
			agentTried = len(a.tried)
			a.tried = append(a.tried, "")
		}
	}
	used := map[string]bool{}
	add := func(s gossh.Signer) bool {
		k := string(s.PublicKey().Marshal())
		if used[k] {
			return false
		}
		used[k] = true
		a.signers = append(a.signers, s)
		return true
	}
	fromAgent := func(pub gossh.PublicKey) gossh.Signer {
		if pub == nil {
			return nil
		}
		for _, s := range agentSigners {
			if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
				return s
			}
		}
		return nil
	}
	for _, f := range ep.keyFiles {
		shown := tildePath(f)
		data, err := os.ReadFile(f)
		if err != nil {
			// The agent may hold the key of a file that is not here, by
			// its .pub (as ssh does).
			if s := fromAgent(readPublicKey(f + ".pub")); s != nil {
				add(s)
				a.tried = append(a.tried, shown+" (via agent)")
				continue
			}
			if errors.Is(err, os.ErrNotExist) {
				// Missing default keys are normal; mention them only
				// when the file was asked for explicitly.
				if ep.keySrc != "default" {
					a.tried = append(a.tried, shown+" (missing)")
				}
				continue
			}
			a.tried = append(a.tried, shown+" (unreadable: "+errText(err)+")")
			continue
		}
		signer, err := gossh.ParsePrivateKey(data)
		if err == nil {
			if s := fromAgent(signer.PublicKey()); s != nil {
				signer = s
			}
			add(signer)
			a.tried = append(a.tried, shown)
			continue
		}
		// Not usable by itself: the agent may hold it.
		var pub gossh.PublicKey
		var pe *gossh.PassphraseMissingError
		if errors.As(err, &pe) {
			pub = pe.PublicKey
		}
		if pub == nil {
			pub = readPublicKey(f + ".pub")
		}
		if pub == nil {
			pub, _, _, _, _ = gossh.ParseAuthorizedKey(data) // IdentityFile may name a public key
		}
		if s := fromAgent(pub); s != nil {
			add(s)
			a.tried = append(a.tried, shown+" (via agent)")
			continue
		}
		if pe != nil {
			a.tried = append(a.tried, shown+" (passphrase-protected: load it into ssh-agent with ssh-add)")
		} else {
			a.tried = append(a.tried, shown+" (not a private key: "+errText(err)+")")
		}
	}
	if agentTried >= 0 {
		n := 0
		if !ep.identitiesOnly {
			for _, s := range agentSigners {
				if add(s) {
					n++
				}
			}
		}
		desc := fmt.Sprintf("agent (%d %s)", len(agentSigners), plural(len(agentSigners), "key", "keys"))
		if ep.identitiesOnly {
			desc = fmt.Sprintf("agent (%d %s; IdentitiesOnly: only those of the identity files)", len(agentSigners), plural(len(agentSigners), "key", "keys"))
		}
		a.tried[agentTried] = desc
	}
	if ep.keySrc == "default" && len(a.signers) == 0 {
		a.tried = append(a.tried, "default keys "+strings.Join(defaultKeyFiles, ", ")+" (missing)")
	}
	return a
}

// readPublicKey reads an authorized_keys-format public key file; nil when
// it is missing or not one.
func readPublicKey(file string) gossh.PublicKey {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	pub, _, _, _, err := gossh.ParseAuthorizedKey(data)
	if err != nil {
		return nil
	}
	return pub
}

func (a *auth) methods() []gossh.AuthMethod {
	signers := a.signers
	return []gossh.AuthMethod{gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
		return signers, nil
	})}
}

func (a *auth) describe() string {
	if len(a.tried) == 0 {
		return "nothing"
	}
	return strings.Join(a.tried, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func errText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "open ") {
		return s[i+2:]
	}
	return s
}
