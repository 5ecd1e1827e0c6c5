package sshtest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is the sshd binary the harness runs.
var SSHD = "/usr/sbin/sshd"

// Options tune Start.
type Options struct {
	// ForceCommand, when set and returning non-empty, becomes host i's
	// ForceCommand (dir is the host's directory, e.g. for a state dir).
	// The original command is in $SSH_ORIGINAL_COMMAND.
	ForceCommand func(i int, dir string) string
	// NonRootUser may also log in with the client key; default
	// "bbbfleet-test". It is not created: call EnsureUser.
	NonRootUser string
	// HostKeyTypes are the host key types every host gets, the first one
	// being Host.HostKey; default ["ed25519"]. Known: ed25519, ecdsa, rsa.
	HostKeyTypes []string
	// ExtraConfig, when set, is appended to host i's sshd_config.
	ExtraConfig func(i int) string
}

// Hosts is a running set of sshd test hosts.
type Hosts struct {
	Hosts []*Host
	// Dir holds the shared files (client key, authorized_keys, known_hosts).
	Dir string
	// User is the user to log in as: root when running as root, otherwise
	// the current user.
	User string
	// NonRootUser is Options.NonRootUser (or its default).
	NonRootUser string
	// ClientKeyFile is the client's private key (ed25519, no passphrase);
	// ClientKeyFile+".pub" is its public key.
	ClientKeyFile string
	// ClientSigner is the same key, loaded.
	ClientSigner ssh.Signer
	// KnownHostsFile lists every host key of every host.
	KnownHostsFile string
	// AuthorizedKeysFile is what every sshd reads for every user.
	AuthorizedKeysFile string
}

// Host is one sshd.
type Host struct {
	Name     string // host1, host2, ...
	Addr     string // 127.0.0.2, ...
	Port     int
	Dir      string // the host's own directory (mode 0777)
	HostKey  ssh.PublicKey
	HostKeys []ssh.PublicKey // every host key, HostKey first
	PID      int
	LogFile  string
	Config   string // sshd_config path

	cmd     *exec.Cmd
	done    chan struct{}
	mu      sync.Mutex
	paused  bool
	stopped bool
}

// Require skips the test when sshd is not installed, or fails it when
// BBBFLEET_REQUIRE_SSHD=1.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		if os.Getenv("BBBFLEET_REQUIRE_SSHD") == "1" {
			t.Fatalf("sshtest: %s not found and BBBFLEET_REQUIRE_SSHD=1: %v", SSHD, err)
		}
		t.Skipf("sshtest: %s not found (install openssh-server; BBBFLEET_REQUIRE_SSHD=1 makes this fatal)", SSHD)
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sshtest: no sh")
	}
}

// IsRoot reports whether the tests run as root.
func IsRoot() bool { return os.Geteuid() == 0 }

// maxHosts is the number of loopback addresses the harness hands out.
const maxHosts = 250

// Start starts n sshd hosts and registers their shutdown with t.Cleanup.
func Start(t testing.TB, n int, opts Options) *Hosts {
	t.Helper()
	Require(t)
	if n < 1 || n > maxHosts {
		t.Fatalf("sshtest: n=%d out of range 1..%d", n, maxHosts)
	}
	if opts.NonRootUser == "" {
		opts.NonRootUser = "bbbfleet-test"
	}
	if len(opts.HostKeyTypes) == 0 {
		opts.HostKeyTypes = []string{"ed25519"}
	}
	if IsRoot() {
		// Privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}

	// Our own directory, world-traversable: sshd reads authorized_keys as
	// the logging-in user, and a non-root user must reach it.
	dir, err := os.MkdirTemp("", "bbbfleet-sshtest-")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	chmod(t, dir, 0o755)

	hs := &Hosts{
		Dir:                dir,
		NonRootUser:        opts.NonRootUser,
		ClientKeyFile:      filepath.Join(dir, "id_ed25519"),
		KnownHostsFile:     filepath.Join(dir, "known_hosts"),
		AuthorizedKeysFile: filepath.Join(dir, "authorized_keys"),
	}
	if IsRoot() {
		hs.User = "root"
	} else if u, err := user.Current(); err == nil {
		hs.User = u.Username
	}

	// Client key.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	hs.ClientSigner, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	writeKey(t, hs.ClientKeyFile, priv, "bbbfleet-sshtest-client")
	writeFile(t, hs.AuthorizedKeysFile, ssh.MarshalAuthorizedKey(hs.ClientSigner.PublicKey()), 0o644)

	t.Cleanup(func() {
		for _, h := range hs.Hosts {
			h.Stop()
		}
	})

	// Start every host in parallel; sshd takes ~10-50 ms each.
	hs.Hosts = make([]*Host, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		h := &Host{
			Name: fmt.Sprintf("host%d", i+1),
			Addr: fmt.Sprintf("127.0.0.%d", i+2),
			Dir:  filepath.Join(dir, fmt.Sprintf("host%d", i+1)),
		}
		hs.Hosts[i] = h
		if err := os.Mkdir(h.Dir, 0o777); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		chmod(t, h.Dir, 0o777)
		for _, typ := range opts.HostKeyTypes {
			pub := hostKey(t, h.Dir, typ)
			h.HostKeys = append(h.HostKeys, pub)
		}
		h.HostKey = h.HostKeys[0]
		force := ""
		if opts.ForceCommand != nil {
			force = opts.ForceCommand(i, h.Dir)
		}
		extra := ""
		if opts.ExtraConfig != nil {
			extra = opts.ExtraConfig(i)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = h.start(hs, opts, force, extra)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}

	var kh bytes.Buffer
	for i := range hs.Hosts {
		for _, k := range hs.Hosts[i].HostKeys {
			kh.WriteString(knownhosts.Line([]string{hs.Hosts[i].HostPort()}, k) + "\n")
		}
	}
	writeFile(t, hs.KnownHostsFile, kh.Bytes(), 0o644)
	return hs
}

// KnownHostsLine is the known_hosts line for host i's first host key.
func (hs *Hosts) KnownHostsLine(i int) string {
	h := hs.Hosts[i]
	return knownhosts.Line([]string{h.HostPort()}, h.HostKey)
}

// HostPort is "127.0.0.x:port".
func (h *Host) HostPort() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

func (h *Host) start(hs *Hosts, opts Options, force, extra string) error {
	h.LogFile = filepath.Join(h.Dir, "sshd.log")
	h.Config = filepath.Join(h.Dir, "sshd_config")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // a port may be taken between probe and bind
		port, err := freePort(h.Addr)
		if err != nil {
			return fmt.Errorf("%s: no free port on %s: %v", h.Name, h.Addr, err)
		}
		h.Port = port
		var cfg strings.Builder
		fmt.Fprintf(&cfg, "Port %d\nListenAddress %s\n", port, h.Addr)
		for _, k := range h.HostKeys {
			fmt.Fprintf(&cfg, "HostKey %s\n", filepath.Join(h.Dir, "ssh_host_"+keyName(k)+"_key"))
		}
		fmt.Fprintf(&cfg, "PidFile %s\n", filepath.Join(h.Dir, "sshd.pid"))
		fmt.Fprintf(&cfg, "AuthorizedKeysFile %s\n", hs.AuthorizedKeysFile)
		cfg.WriteString("StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n" +
			"PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n" +
			"LogLevel VERBOSE\nMaxSessions 10\nMaxStartups 200:30:400\nUseDNS no\n" +
			"PrintMotd no\nPrintLastLog no\nAllowTcpForwarding yes\nX11Forwarding no\n" +
			"Subsystem sftp internal-sftp\n")
		// Debian's bash sources ~/.bashrc for a command run by sshd when it
		// is the top-level shell (SHLVL < 2). A developer's or CI machine's
		// root ~/.bashrc may print to stderr (e.g. pyenv's rehash racing
		// between parallel logins), which would leak into what tests
		// compare; SHLVL=1 makes the login shell level 2, so bash reads no
		// startup file, as a server's non-interactive shell usually does.
		cfg.WriteString("SetEnv SHLVL=1\n")
		if force != "" {
			fmt.Fprintf(&cfg, "ForceCommand %s\n", force)
		}
		if extra != "" {
			cfg.WriteString(extra + "\n")
		}
		if err := os.WriteFile(h.Config, []byte(cfg.String()), 0o644); err != nil {
			return err
		}
		os.Remove(h.LogFile)
		var stderr bytes.Buffer
		cmd := exec.Command(SSHD, "-D", "-e", "-f", h.Config, "-E", h.LogFile)
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %v", h.Name, err)
		}
		h.cmd, h.PID, h.done = cmd, cmd.Process.Pid, make(chan struct{})
		h.stopped = false
		go func(done chan struct{}) { cmd.Wait(); close(done) }(h.done)
		if err := h.waitListening(10 * time.Second); err != nil {
			h.Stop()
			log, _ := os.ReadFile(h.LogFile)
			lastErr = fmt.Errorf("%s: sshd on %s: %v\n%s%s", h.Name, h.HostPort(), err, stderr.String(), log)
			if bytes.Contains(log, []byte("Address already in use")) {
				continue
			}
			return lastErr
		}
		return nil
	}
	return lastErr
}

// waitListening waits for sshd's "Server listening" log line (no probe
// connection, so logs stay clean for counting).
func (h *Host) waitListening(max time.Duration) error {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		select {
		case <-h.done:
			return errors.New("sshd exited")
		default:
		}
		if b, err := os.ReadFile(h.LogFile); err == nil && bytes.Contains(b, []byte("Server listening on")) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("not listening after %s", max)
}

// Stop kills sshd and every process it started (connections, sessions)
// and waits for it. Safe to call twice.
func (h *Host) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil || h.stopped {
		return
	}
	h.stopped = true
	kids := descendants(h.PID)
	if h.paused {
		h.cmd.Process.Signal(syscall.SIGCONT)
		h.paused = false
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	for _, pid := range kids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-h.done
	}
}

// Pause stops the listening sshd with SIGSTOP: the kernel still accepts
// TCP connections, but no SSH banner is sent. Established connections
// (handled by child processes) are not affected.
func (h *Host) Pause() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || h.paused {
		return
	}
	h.cmd.Process.Signal(syscall.SIGSTOP)
	h.paused = true
}

// Resume continues a paused sshd.
func (h *Host) Resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || !h.paused {
		return
	}
	h.cmd.Process.Signal(syscall.SIGCONT)
	h.paused = false
}

// Children counts the processes below the listening sshd: per-connection
// sshd processes and the commands they run.
func (h *Host) Children() int { return len(descendants(h.PID)) }

// Accepted counts successful logins ("Accepted publickey") in the log.
func (h *Host) Accepted() int { return h.countLog("Accepted publickey") }

// Connections counts TCP connections sshd saw ("Connection from").
func (h *Host) Connections() int { return h.countLog("Connection from") }

// Log returns the host's sshd log.
func (h *Host) Log() string {
	b, _ := os.ReadFile(h.LogFile)
	return string(b)
}

func (h *Host) countLog(s string) int {
	f, err := os.Open(h.LogFile)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parens.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		children[pp] = append(children[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 100000 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func hostKey(t testing.TB, dir, typ string) ssh.PublicKey {
	t.Helper()
	var priv any
	var err error
	switch typ {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("sshtest: unknown host key type %q", typ)
	}
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	writeKey(t, filepath.Join(dir, "ssh_host_"+keyName(signer.PublicKey())+"_key"), priv, "")
	return signer.PublicKey()
}

func keyName(k ssh.PublicKey) string {
	switch k.Type() {
	case ssh.KeyAlgoED25519:
		return "ed25519"
	case ssh.KeyAlgoRSA:
		return "rsa"
	default:
		return "ecdsa"
	}
}

func writeKey(t testing.TB, path string, priv any, comment string) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	writeFile(t, path, pem.EncodeToMemory(block), 0o600)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	writeFile(t, path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	chmod(t, path, mode)
}

func chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}
