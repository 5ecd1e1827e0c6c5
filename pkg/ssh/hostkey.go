package ssh

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys checks host keys of one hop against the known_hosts files.
type hostKeys struct {
	files  []string // existing or not; files[0] is written by accept-new
	policy string
	cb     gossh.HostKeyCallback // nil when no file exists yet
}

func loadHostKeys(files []string, policy string) (*hostKeys, error) {
	hk := &hostKeys{files: files, policy: policy}
	var existing []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	if len(existing) > 0 {
		cb, err := knownhosts.New(existing...)
		if err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
		hk.cb = cb
	}
	return hk, nil
}

// dummyKey never matches a recorded key; checking it against known_hosts
// yields every key recorded for a host (KeyError.Want).
var dummyKey = func() gossh.PublicKey {
	k, err := gossh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		panic(err)
	}
	return k
}()

// known returns the keys recorded for addr ("host:port").
func (hk *hostKeys) known(addr string) []knownhosts.KnownKey {
	if hk.cb == nil {
		return nil
	}
	err := hk.cb(addr, fakeAddr(addr), dummyKey)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

// algorithms returns the host-key algorithms to offer for addr: those of
// the keys known_hosts holds for it first (in file order), then the rest,
// so a server with several host keys presents the one we know
// (golang/go#49631). Nil when the host is unknown: use the defaults.
func (hk *hostKeys) algorithms(addr string) []string {
	known := hk.known(addr)
	if len(known) == 0 {
		return nil
	}
	var algos []string
	for _, k := range known {
		for _, a := range algorithmsForKeyType(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	for _, a := range gossh.SupportedAlgorithms().HostKeys {
		if !slices.Contains(algos, a) {
			algos = append(algos, a)
		}
	}
	return algos
}

func algorithmsForKeyType(t string) []string {
	switch t {
	case gossh.KeyAlgoRSA:
		return []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256}
	case gossh.CertAlgoRSAv01:
		return []string{gossh.CertAlgoRSASHA512v01, gossh.CertAlgoRSASHA256v01}
	default:
		return []string{t}
	}
}

// HostKeyError is a refused host key: unknown under the strict policy,
// changed, or revoked.
type HostKeyError struct {
	Name        string
	Addr        string // host:port as checked
	Fingerprint string // SHA256 fingerprint the server presented
	Unknown     bool   // not in known_hosts (strict policy)
	Changed     bool   // known_hosts holds another key
	msg         string
}

func (e *HostKeyError) Error() string { return e.msg }

// callback returns the HostKeyCallback for the hop ep. The key is checked
// under ep.hostKeyAddr() (lower-cased host name, or HostKeyAlias),
// whatever address the connection was made to.
func (hk *hostKeys) callback(name string, ep endpoint) gossh.HostKeyCallback {
	addr := ep.hostKeyAddr()
	return func(_ string, _ net.Addr, key gossh.PublicKey) error {
		var err error
		if hk.cb != nil {
			err = hk.cb(addr, fakeAddr(addr), key) // addr is what known_hosts lists
		} else {
			err = &knownhosts.KeyError{}
		}
		if err == nil {
			return nil
		}
		fp := gossh.FingerprintSHA256(key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return &HostKeyError{Name: name, Addr: addr, Fingerprint: fp, Changed: true,
				msg: fmt.Sprintf("%s: ssh: host key %s of %s is marked @revoked in %s:%d; refusing to connect",
					name, fp, addr, re.Revoked.Filename, re.Revoked.Line)}
		case errors.As(err, &ke) && len(ke.Want) == 0:
			if hk.policy == PolicyAcceptNew {
				if err := hk.record(name, ep, key); err != nil {
					return err
				}
				return nil
			}
			scan := "ssh-keyscan " + Quote([]string{ep.hostname})
			if ep.port != 22 {
				scan = "ssh-keyscan -p " + strconv.Itoa(ep.port) + " " + Quote([]string{ep.hostname})
			}
			if ep.keyAlias != "" {
				// Recorded under the alias, not the host name.
				scan += " | sed " + Quote([]string{"s/^[^ ]*/" + ep.keyAlias + "/"})
			}
			return &HostKeyError{Name: name, Addr: addr, Fingerprint: fp, Unknown: true,
				msg: fmt.Sprintf("%s: ssh: host %s is not in %s (%s key %s); "+
					"after checking the fingerprint with the server's administrator, trust it with: "+
					"%s >> %s   (or set host_key_policy: accept-new to record new hosts on first contact)",
					name, addr, tildePath(hk.files[0]), key.Type(), fp, scan, tildePath(hk.files[0]))}
		case errors.As(err, &ke):
			var where []string
			sameType := false
			for _, w := range ke.Want {
				where = append(where, fmt.Sprintf("%s:%d (%s)", w.Filename, w.Line, w.Key.Type()))
				if w.Key.Type() == key.Type() {
					sameType = true
				}
			}
			what := "HOST KEY HAS CHANGED"
			if !sameType {
				what = "server presented a key of a type known_hosts does not hold for it"
			}
			return &HostKeyError{Name: name, Addr: addr, Fingerprint: fp, Changed: true,
				msg: fmt.Sprintf("%s: ssh: %s for %s: it presented %s %s but the recorded key is at %s; "+
					"refusing to connect (possible man-in-the-middle). If the server was really "+
					"reinstalled, remove the old line (ssh-keygen -R %s -f %s) and check the new fingerprint",
					name, what, addr, key.Type(), fp, strings.Join(where, ", "),
					Quote([]string{knownhosts.Normalize(addr)}), tildePath(ke.Want[0].Filename))}
		default:
			return fmt.Errorf("%s: ssh: checking host key of %s: %w", name, addr, err)
		}
	}
}

// knownHostsMu serialises appends within this process; flock serialises
// them across processes.
var knownHostsMu sync.Mutex

// record appends key for addr to the first known_hosts file (accept-new).
// Under the lock it re-reads the file: a parallel dial may have recorded
// the same key already, or (refused) a different one.
func (hk *hostKeys) record(name string, ep endpoint, key gossh.PublicKey) error {
	addr := ep.hostKeyAddr()
	file := hk.files[0]
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("%s: ssh: recording host key: %w", name, err)
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%s: ssh: recording host key: %w", name, err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return fmt.Errorf("%s: ssh: locking %s: %w", name, file, err)
	}
	defer unlockFile(f)

	// Re-check against the current content.
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%s: ssh: recording host key: %w", name, err)
	}
	if len(data) > 0 {
		fresh := &hostKeys{files: hk.files, policy: PolicyStrict}
		// Parse what is on disk now, for this file only.
		cb, err := knownhosts.New(file)
		if err != nil {
			return fmt.Errorf("%s: ssh: %w", name, err)
		}
		fresh.cb = cb
		if err := fresh.callback(name, ep)(addr, fakeAddr(addr), key); err == nil {
			return nil // recorded meanwhile
		} else if hke, ok := err.(*HostKeyError); !ok || !hke.Unknown {
			return err
		}
	}
	line := knownhosts.Line([]string{addr}, key) + "\n"
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("%s: ssh: recording host key in %s: %w", name, file, err)
	}
	return f.Sync()
}

func splitHostPort(addr string) (host, port string) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, "22"
	}
	return h, p
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
