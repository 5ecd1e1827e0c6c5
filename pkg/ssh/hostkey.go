package ssh

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/flock"
)

// systemKnownHostsFiles are ssh(1)'s default GlobalKnownHostsFile: read,
// never written. A variable so that tests can point it elsewhere.
var systemKnownHostsFiles = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}

// hostKeys checks host keys of one hop against the known_hosts files.
type hostKeys struct {
	files   []string // the user's files, existing or not; files[0] is written by accept-new
	system  []string // read-only files (GlobalKnownHostsFile)
	policy  string
	cb      gossh.HostKeyCallback // nil when no file exists yet
	skipped []string              // file:line of each unparsable line, skipped
	// onRecord is told each key accept-new recorded (Config.OnHostKeyRecorded).
	onRecord func(RecordedHostKey)
}

// RecordedHostKey is a host key that accept-new added to known_hosts.
type RecordedHostKey struct {
	// Name is the server's name (Config.Name).
	Name string
	// Addr is the host:port dialled (a jump host's for a jump hop).
	Addr string
	// KnownAs is what known_hosts lists the key under (lower-cased host
	// name and port, or HostKeyAlias).
	KnownAs     string
	Type        string // e.g. ssh-ed25519
	Fingerprint string // SHA256:...
	File        string // the known_hosts file written
}

// loadHostKeys reads the user's known_hosts files and the system-wide
// ones. A key recorded in any of them counts: a host known only to
// /etc/ssh/ssh_known_hosts with another key has a changed key, not an
// unknown one.
func loadHostKeys(files, system []string, policy string) (*hostKeys, error) {
	hk := &hostKeys{files: files, system: system, policy: policy}
	var all []khFile
	for _, f := range files {
		all = append(all, khFile{name: f})
	}
	for _, f := range system {
		all = append(all, khFile{name: f, system: true})
	}
	cb, skipped, err := readKnownHosts(all)
	if err != nil {
		return nil, err
	}
	hk.cb, hk.skipped = cb, skipped
	return hk, nil
}

type khFile struct {
	name   string
	system bool // unreadable is as missing (ssh(1) only logs it)
}

// readKnownHosts parses the files that exist with knownhosts, as ssh(1)
// reads them: a line that does not parse (unknown key type, bad base64, a
// malformed hashed entry, an overlong line) is skipped rather than
// failing the whole file, and plain host patterns match whatever their
// case. Such files are parsed from a cleaned copy in which a skipped line
// is an empty line, so file:line in messages stays right; the copy's name
// is mapped back to the file's in the errors the callback returns.
func readKnownHosts(files []khFile) (gossh.HostKeyCallback, []string, error) {
	var names, temps, skipped []string
	rename := map[string]string{}
	defer func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}()
	for _, f := range files {
		data, err := os.ReadFile(f.name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || (f.system && errors.Is(err, os.ErrPermission)) {
				continue
			}
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
		clean, bad := cleanKnownHosts(data)
		for _, n := range bad {
			skipped = append(skipped, f.name+":"+strconv.Itoa(n))
		}
		if clean == nil {
			names = append(names, f.name)
			continue
		}
		tf, err := os.CreateTemp("", "bbbfleet-known_hosts-")
		if err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
		temps = append(temps, tf.Name())
		_, err = tf.Write(clean)
		if cerr := tf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
		names = append(names, tf.Name())
		rename[tf.Name()] = f.name
	}
	if len(names) == 0 {
		return nil, skipped, nil
	}
	cb, err := knownhosts.New(names...)
	if err != nil {
		msg := err.Error()
		for t, f := range rename {
			msg = strings.ReplaceAll(msg, t, f)
		}
		return nil, nil, fmt.Errorf("known_hosts: %s", msg)
	}
	if len(rename) == 0 {
		return cb, skipped, nil
	}
	return func(addr string, remote net.Addr, key gossh.PublicKey) error {
		err := cb(addr, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &ke):
			for i, w := range ke.Want {
				if f, ok := rename[w.Filename]; ok {
					ke.Want[i].Filename = f
				}
			}
		case errors.As(err, &re):
			if f, ok := rename[re.Revoked.Filename]; ok {
				re.Revoked.Filename = f
			}
		}
		return err
	}, skipped, nil
}

// maxKnownHostsLine is below bufio.Scanner's limit, beyond which
// knownhosts would fail the whole file.
const maxKnownHostsLine = 60 * 1024

// cleanKnownHosts returns data with every line knownhosts cannot parse
// made empty and every plain host pattern lower-cased (ssh(1) matches
// host names case-insensitively), with the numbers (1-based) of the lines
// made empty; clean is nil when nothing changed.
func cleanKnownHosts(data []byte) (clean []byte, bad []int) {
	lines := strings.Split(string(data), "\n")
	changed := false
	for i, l := range lines {
		t := strings.Trim(strings.TrimSuffix(l, "\r"), " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		hostAt, host, err := checkKnownHostsLine(t)
		if err != nil || len(l) > maxKnownHostsLine {
			lines[i] = ""
			bad = append(bad, i+1)
			changed = true
			continue
		}
		if host != "" && host[0] != '|' {
			if lower := asciiLower(host); lower != host {
				lines[i] = t[:hostAt] + lower + t[hostAt+len(host):]
				changed = true
			}
		}
	}
	if !changed {
		return nil, nil
	}
	return []byte(strings.Join(lines, "\n")), bad
}

// checkKnownHostsLine checks one non-empty, non-comment known_hosts line
// (trimmed) the way knownhosts parses it, and returns the host pattern
// and its offset in line.
func checkKnownHostsLine(line string) (hostAt int, host string, err error) {
	rest := line
	marker := ""
	if w, next := khNextWord(rest); w == "@cert-authority" || w == "@revoked" {
		marker, rest = w, next
	}
	hostAt = len(line) - len(rest)
	host, rest = khNextWord(rest)
	if strings.HasPrefix(host, "@") {
		return 0, "", fmt.Errorf("unexpected marker %q", host)
	}
	if rest == "" {
		return 0, "", errors.New("missing host pattern")
	}
	typ, rest := khNextWord(rest)
	if rest == "" {
		return 0, "", errors.New("missing key type")
	}
	blob, _ := khNextWord(rest)
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return 0, "", err
	}
	key, err := gossh.ParsePublicKey(raw)
	if err != nil {
		return 0, "", err
	}
	if key.Type() != typ {
		return 0, "", fmt.Errorf("key type %q, line says %q", key.Type(), typ)
	}
	if marker == "@revoked" {
		return hostAt, host, nil
	}
	if host[0] == '|' {
		parts := strings.Split(host, "|")
		if len(parts) != 4 || parts[1] != "1" {
			return 0, "", errors.New("malformed hashed host")
		}
		for _, p := range parts[2:] {
			if _, err := base64.StdEncoding.DecodeString(p); err != nil {
				return 0, "", errors.New("malformed hashed host")
			}
		}
		return hostAt, host, nil
	}
	for _, p := range strings.Split(host, ",") {
		if p == "" {
			continue
		}
		if p = strings.TrimPrefix(p, "!"); p == "" {
			return 0, "", errors.New("negation without a host name")
		}
		if p[0] == '[' {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return 0, "", err
			}
		}
	}
	return hostAt, host, nil
}

func khNextWord(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.Trim(s[i:], " \t")
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
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

func (e *HostKeyError) Error() string { return e.Name + ": " + e.Detail() }

// Detail is the message without the server's name.
func (e *HostKeyError) Detail() string { return "ssh: " + e.msg }

// Reason is Detail without "ssh: ".
func (e *HostKeyError) Reason() string { return e.msg }

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
				msg: fmt.Sprintf("host key %s of %s is marked @revoked in %s:%d; refusing to connect",
					fp, addr, re.Revoked.Filename, re.Revoked.Line)}
		case errors.As(err, &ke) && len(ke.Want) == 0:
			if hk.policy == PolicyAcceptNew {
				recorded, err := hk.record(name, ep, key)
				if err != nil {
					return err
				}
				if recorded && hk.onRecord != nil {
					hk.onRecord(RecordedHostKey{Name: name, Addr: ep.addr(), KnownAs: knownhosts.Normalize(addr), Type: key.Type(),
						Fingerprint: fp, File: hk.files[0]})
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
				msg: fmt.Sprintf("host %s is not in %s (%s key %s); "+
					"compare that fingerprint out of band first, e.g. on the server's console: ssh-keygen -lf %s; "+
					"if it matches, trust it with: %s >> %s   (ssh-keyscan itself trusts whatever answers, as "+
					"host_key_policy: accept-new does when it records new hosts on first contact)%s",
					addr, tildePath(hk.files[0]), key.Type(), fp, hostKeyPubFile(key.Type()), scan, tildePath(hk.files[0]), hk.skippedNote())}
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
				msg: fmt.Sprintf("%s for %s: it presented %s %s but the recorded key is at %s; "+
					"refusing to connect (possible man-in-the-middle). If the server was really "+
					"reinstalled, remove the old line (ssh-keygen -R %s -f %s) and check the new fingerprint",
					what, addr, key.Type(), fp, strings.Join(where, ", "),
					Quote([]string{knownhosts.Normalize(addr)}), tildePath(ke.Want[0].Filename))}
		default:
			return taggedf(ErrHostKey, name, "checking host key of %s: %w", addr, err)
		}
	}
}

// hostKeyPubFile is where OpenSSH's sshd keeps the public host key of a
// type, for comparing a fingerprint on the server itself.
func hostKeyPubFile(keyType string) string {
	switch {
	case strings.Contains(keyType, "ed25519"):
		return "/etc/ssh/ssh_host_ed25519_key.pub"
	case strings.Contains(keyType, "ecdsa"):
		return "/etc/ssh/ssh_host_ecdsa_key.pub"
	case strings.Contains(keyType, "rsa"):
		return "/etc/ssh/ssh_host_rsa_key.pub"
	}
	return "/etc/ssh/ssh_host_*_key.pub"
}

// skippedNote mentions the unparsable known_hosts lines that were
// skipped: one of them may have been meant for an unknown host.
func (hk *hostKeys) skippedNote() string {
	if len(hk.skipped) == 0 {
		return ""
	}
	shown := hk.skipped
	more := ""
	if len(shown) > 3 {
		more = fmt.Sprintf(" and %d more", len(shown)-3)
		shown = shown[:3]
	}
	for i, s := range shown {
		shown[i] = tildePath(s)
	}
	return fmt.Sprintf("; note: unparsable known_hosts %s skipped: %s%s",
		plural(len(hk.skipped), "line", "lines"), strings.Join(shown, ", "), more)
}

// knownHostsMu serialises appends within this process; flock serialises
// them across processes.
var knownHostsMu sync.Mutex

// record appends key for addr to the first known_hosts file (accept-new)
// and reports whether it did. Under the lock it re-reads the file: a
// parallel dial may have recorded the same key already (false, no error),
// or (refused) a different one.
func (hk *hostKeys) record(name string, ep endpoint, key gossh.PublicKey) (bool, error) {
	addr := ep.hostKeyAddr()
	file := hk.files[0]
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return false, taggedf(ErrHostKey, name, "recording host key: %w", err)
	}
	f, err := openKnownHostsForAppend(file)
	if err != nil {
		return false, taggedf(ErrHostKey, name, "recording host key: %w", err)
	}
	defer f.Close()
	if err := flock.LockTimeout(f, true, 5*time.Second); err != nil {
		return false, errorf(name, "locking %s: %w", file, err)
	}
	defer flock.Unlock(f)

	// Re-check against the current content (of the file opened, whatever
	// happens to the path meanwhile).
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<40))
	if err != nil {
		return false, taggedf(ErrHostKey, name, "recording host key: %w", err)
	}
	if len(data) > 0 {
		fresh := &hostKeys{files: hk.files, policy: PolicyStrict}
		// Parse what is on disk now, for this file only.
		cb, _, err := readKnownHosts([]khFile{{name: file}})
		if err != nil {
			return false, errorf(name, "%w", err)
		}
		fresh.cb = cb
		if err := fresh.callback(name, ep)(addr, fakeAddr(addr), key); err == nil {
			return false, nil // recorded meanwhile
		} else if hke, ok := err.(*HostKeyError); !ok || !hke.Unknown {
			return false, err
		}
	}
	line := knownhosts.Line([]string{addr}, key) + "\n"
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		line = "\n" + line
	}
	if _, err := f.WriteString(line); err != nil {
		return false, taggedf(ErrHostKey, name, "recording host key in %s: %w", file, err)
	}
	if err := f.Sync(); err != nil {
		return false, taggedf(ErrHostKey, name, "recording host key in %s: %w", file, err)
	}
	return true, nil
}

// openKnownHostsForAppend opens the known_hosts file accept-new writes to,
// creating it (0600) when missing. Like ssh(1) with its own config file
// ("Bad owner or permissions"), it writes only to a file that the user
// running bbbfleet or root owns and that neither group nor others can
// write, and it follows a symbolic link only when that user or root owns
// the link: a link or file another user planted (in a shared or
// misconfigured directory) could otherwise make a privileged run append
// to, or create, any file. Reading known_hosts is not restricted, as with
// ssh(1).
func openKnownHostsForAppend(file string) (*os.File, error) {
	self := os.Geteuid()
	trusted := func(uid int) bool { return uid == self || uid == 0 }
	flags := os.O_RDWR | os.O_CREATE | os.O_APPEND
	if li, err := os.Lstat(file); err == nil && li.Mode()&os.ModeSymlink != 0 {
		if uid, ok := fileOwner(li); ok && !trusted(uid) {
			return nil, fmt.Errorf("%s is a symbolic link owned by uid %d, not by you or root: refusing to write through it", file, uid)
		}
	} else {
		flags |= oNoFollow // no link now: none may appear before the open
	}
	f, err := os.OpenFile(file, flags, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s became a symbolic link while it was opened: refusing to write through it", file)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", file)
	}
	if uid, ok := fileOwner(fi); ok && (!trusted(uid) || fi.Mode().Perm()&0o022 != 0) {
		f.Close()
		return nil, fmt.Errorf("%s is owned by uid %d with mode %04o: it must be owned by you or root and writable by its owner only (chown, chmod go-w)", file, uid, fi.Mode().Perm())
	}
	return f, nil
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
