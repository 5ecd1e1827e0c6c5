package ssh

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth is what one hop offers to the server: agent keys, then key files.
type auth struct {
	signers []gossh.Signer
	tried   []string // human descriptions of every source, for errors
	agent   net.Conn // open while the handshake needs the agent
}

func (a *auth) close() {
	if a.agent != nil {
		a.agent.Close()
		a.agent = nil
	}
}

// loadAuth collects signers. It never prompts: a passphrase-protected key
// file is reported, and belongs in ssh-agent.
func loadAuth(ep endpoint, useAgent bool, timeout time.Duration) *auth {
	a := &auth{}
	var agentKeys [][]byte
	if useAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		switch {
		case sock == "":
			// Not worth mentioning unless nothing else works.
			a.tried = append(a.tried, "agent (SSH_AUTH_SOCK not set)")
		default:
			conn, err := net.DialTimeout("unix", sock, timeout)
			if err != nil {
				a.tried = append(a.tried, "agent (cannot reach SSH_AUTH_SOCK: "+errText(err)+")")
				break
			}
			// Bound the agent's answers too.
			_ = conn.SetDeadline(time.Now().Add(timeout))
			ag := agent.NewClient(conn)
			signers, err := ag.Signers()
			if err != nil {
				conn.Close()
				a.tried = append(a.tried, "agent ("+errText(err)+")")
				break
			}
			a.agent = conn
			for _, s := range signers {
				agentKeys = append(agentKeys, s.PublicKey().Marshal())
			}
			a.signers = append(a.signers, signers...)
			a.tried = append(a.tried, fmt.Sprintf("agent (%d %s)", len(signers), plural(len(signers), "key", "keys")))
		}
	}
	for _, f := range ep.keyFiles {
		shown := tildePath(f)
		data, err := os.ReadFile(f)
		if err != nil {
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
		if err != nil {
			var pe *gossh.PassphraseMissingError
			if errors.As(err, &pe) {
				a.tried = append(a.tried, shown+" (passphrase-protected: load it into ssh-agent with ssh-add)")
			} else {
				a.tried = append(a.tried, shown+" (not a private key: "+errText(err)+")")
			}
			continue
		}
		dup := false
		for _, k := range agentKeys {
			if bytes.Equal(k, signer.PublicKey().Marshal()) {
				dup = true
			}
		}
		if !dup {
			a.signers = append(a.signers, signer)
		}
		a.tried = append(a.tried, shown)
	}
	if ep.keySrc == "default" && len(a.signers) == 0 {
		a.tried = append(a.tried, "default keys "+strings.Join(defaultKeyFiles, ", ")+" (missing)")
	}
	return a
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
