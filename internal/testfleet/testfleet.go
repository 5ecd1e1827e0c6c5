package testfleet

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
	"github.com/bbbfleet/bbbfleet/internal/simfleet"
	"github.com/bbbfleet/bbbfleet/internal/sshtest"
)

// Options tune Start.
type Options struct {
	// N is the number of hosts (default 3).
	N int
	// Tags returns host i's tags (default none).
	Tags func(i int) []string
	// State adjusts host i's initial simulated state.
	State func(i int, s *sim.State)
	// User logs in instead of root for every host ("" = root).
	User string
	// Extra YAML appended to the config.
	Extra string
	// SSHTimeout / APITimeout for the written config (default 5s).
	SSHTimeout, APITimeout string
	// Defaults is more YAML inside the config's defaults: (e.g.
	// "  drain: {poll: 100ms}\n").
	Defaults string
	// Scalelite adds a Scalelite host (one more sshd, reached over real
	// SSH) that lists every server enabled and online, and configures it.
	Scalelite bool
	// ScaleliteState adjusts the Scalelite host's initial state.
	ScaleliteState func(s *sim.State)
	// Power gives every server power hooks (local scripts that switch the
	// simulated machine) and runs the harness that stops a powered-off
	// host's sshd and starts it again at power-on.
	Power bool
	// PowerWatch runs only that harness (for tests with hooks of their own).
	PowerWatch bool
}

// Fleet is a running test fleet.
type Fleet struct {
	simfleet.Files
	SSH   *sshtest.Hosts
	Hosts []*Host
	// Scalelite is the Scalelite host (nil without Options.Scalelite).
	Scalelite *Host
	// PowerScript is the power hook: PowerScript NAME on|off.
	PowerScript string
}

// Host is one server of the fleet.
type Host struct {
	Name     string
	SSH      *sshtest.Host
	Sim      *sim.Host // reads and writes the same state as the sshd side
	StateDir string
	APIURL   string
	StopAPI  func()
}

var (
	buildOnce sync.Once
	simBin    string
	buildErr  error
)

// SimBinary builds the bbbsim helper once per test process, into one
// directory shared by all test processes of this user (replaced atomically,
// so a running bbbsim keeps its file), so that test runs leave no copies
// behind.
func SimBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := binDir(root)
		if err != nil {
			buildErr = err
			return
		}
		simBin = filepath.Join(dir, "bbbsim")
		tmp := fmt.Sprintf("%s.%d.tmp", simBin, os.Getpid())
		defer os.Remove(tmp)
		cmd := exec.Command("go", "build", "-o", tmp, "./internal/sim/bbbsim")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building bbbsim: %v\n%s", err, out)
			return
		}
		buildErr = os.Rename(tmp, simBin)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return simBin
}

// binDir is $TMPDIR/bbbfleet-bbbsim-UID-HASH, HASH naming the checkout (two
// work trees with different simulators never share a binary), readable by
// the test hosts' other users; one that is not ours alone to write is not
// trusted.
func binDir(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("bbbfleet-bbbsim-%d-%x", os.Getuid(), sum[:4]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 || (ok && int(st.Uid) != os.Getuid()) {
		return "", fmt.Errorf("testfleet: %s is not a directory that only this user can write", dir)
	}
	return dir, nil
}

// Start starts the fleet; everything stops on t.Cleanup.
func Start(t testing.TB, o Options) *Fleet {
	t.Helper()
	sshtest.Require(t)
	if o.N == 0 {
		o.N = 3
	}
	bin := SimBinary(t)
	if o.User != "" && o.User != "root" {
		sshtest.EnsureUser(t, o.User)
	}
	f := &Fleet{}
	stateDir := func(dir string) string { return filepath.Join(dir, "bbb") }
	n := o.N
	if o.Scalelite {
		n++
	}
	f.SSH = sshtest.Start(t, n, sshtest.Options{
		NonRootUser:  o.User,
		ForceCommand: func(i int, dir string) string { return bin + " --state " + stateDir(dir) },
	})
	var specs []simfleet.HostSpec
	var khLines []string
	for i, sh := range f.SSH.Hosts[:o.N] {
		name := fmt.Sprintf("bbb%d", i+1)
		st := sim.DefaultState(name)
		st.Hostname = sh.Addr
		st.Secret = fmt.Sprintf("secret-%s-0123456789abcdef", name)
		if o.User != "" {
			st.SudoUsers = map[string]string{o.User: sim.SudoNoPasswd}
		}
		if o.State != nil {
			o.State(i, &st)
		}
		dir := stateDir(sh.Dir)
		if err := sim.WriteState(dir, st); err != nil {
			t.Fatal(err)
		}
		shareState(dir)
		h := &Host{Name: name, SSH: sh, StateDir: dir, Sim: sim.NewHost(sim.NewFileStore(dir), sim.Options{})}
		url, stop, err := h.Sim.ServeAPI(context.Background(), sh.Addr+":0", nil)
		if err != nil {
			t.Fatal(err)
		}
		h.APIURL, h.StopAPI = url, stop
		t.Cleanup(stop)
		var tags []string
		if o.Tags != nil {
			tags = o.Tags(i)
		}
		specs = append(specs, simfleet.HostSpec{Name: name, Host: sh.Addr, SSHPort: sh.Port, SSHUser: o.User,
			APIURL: url, Tags: tags, Secret: st.Secret})
		khLines = append(khLines, f.SSH.KnownHostsLine(i))
		f.Hosts = append(f.Hosts, h)
	}
	extra, defaults := o.Extra, o.Defaults
	if o.Scalelite {
		sh := f.SSH.Hosts[o.N]
		st := sim.DefaultState("lb")
		st.Hostname = sh.Addr
		st.Units = map[string]string{}
		st.Scalelite = &sim.ScaleliteState{Container: "scalelite-api"}
		for i, h := range f.Hosts {
			st.Scalelite.Servers = append(st.Scalelite.Servers, sim.ScaleliteServer{
				ID: fmt.Sprintf("%08d-aaaa-4bbb-8ccc-%012d", i+1, i+1), URL: strings.TrimSuffix(h.APIURL, "/"),
				Secret: specs[i].Secret, State: sim.ScaleliteEnabled, Load: "0.0", LoadMultiplier: "1.0", Online: true})
		}
		if o.User != "" {
			st.SudoUsers = map[string]string{o.User: sim.SudoNoPasswd}
		}
		if o.ScaleliteState != nil {
			o.ScaleliteState(&st)
		}
		dir := stateDir(sh.Dir)
		if err := sim.WriteState(dir, st); err != nil {
			t.Fatal(err)
		}
		shareState(dir)
		f.Scalelite = &Host{Name: "lb", SSH: sh, StateDir: dir, Sim: sim.NewHost(sim.NewFileStore(dir), sim.Options{})}
		khLines = append(khLines, f.SSH.KnownHostsLine(o.N))
		ssh := fmt.Sprintf("port: %d", sh.Port)
		if o.User != "" {
			ssh += ", user: " + o.User
		}
		extra += fmt.Sprintf("scalelite: {ssh_host: %s, container: scalelite-api, ssh: {%s}}\n", sh.Addr, ssh)
	}
	if o.Power {
		f.PowerScript = filepath.Join(f.SSH.Dir, "power.sh")
		var sb strings.Builder
		sb.WriteString("#!/bin/sh\n# power hook of the test fleet: power.sh NAME on|off\ncase \"$1\" in\n")
		for _, h := range f.Hosts {
			fmt.Fprintf(&sb, "%s) d=%s ;;\n", h.Name, h.StateDir)
		}
		sb.WriteString("*) echo \"power.sh: unknown server $1\" >&2; exit 2 ;;\nesac\n")
		fmt.Fprintf(&sb, "exec %s power --state \"$d\" \"$2\"\n", bin)
		if err := os.WriteFile(f.PowerScript, []byte(sb.String()), 0o755); err != nil {
			t.Fatal(err)
		}
		defaults += fmt.Sprintf("  power: {on: [%q, \"{name}\", \"on\"], off: [%q, \"{name}\", \"off\"], timeout: 20s}\n", f.PowerScript, f.PowerScript)
	}
	if o.Power || o.PowerWatch {
		f.watchPower(t)
	}
	files, err := simfleet.WriteFiles(filepath.Join(f.SSH.Dir, "client"), specs, simfleet.FileOptions{
		Key: f.SSH.ClientKeyFile, KnownHostsLines: khLines, Extra: extra, Defaults: defaults,
		SSHTimeout: o.SSHTimeout, APITimeout: o.APITimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Files = *files
	return f
}

// Update changes host i's simulated state (seen by sshd and the API).
func (f *Fleet) Update(t testing.TB, i int, fn func(*sim.State)) {
	t.Helper()
	if err := f.Hosts[i].Sim.Update(func(s *sim.State) error { fn(s); return nil }); err != nil {
		t.Fatal(err)
	}
}

// State reads host i's simulated state.
func (f *Fleet) State(t testing.TB, i int) sim.State {
	t.Helper()
	s, err := f.Hosts[i].Sim.State()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// shareState lets bbbsim, run by sshd as the login user, lock and replace
// the state.
func shareState(dir string) {
	os.Chmod(dir, 0o777)
	for _, fn := range []string{"state.json", "state.lock"} {
		p := filepath.Join(dir, fn)
		if _, err := os.Stat(p); os.IsNotExist(err) {
			os.WriteFile(p, nil, 0o666)
		}
		os.Chmod(p, 0o666)
	}
}

// watchPower is the machine under each host: when the simulated power is
// off (or the machine still boots) its sshd is stopped (connections drop,
// new ones are refused); when it is up, sshd runs again on the same port.
func (f *Fleet) watchPower(t testing.TB) {
	f.syncPower(t) // a host that starts powered off has no sshd from the start
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			f.syncPower(t)
		}
	}()
}

// syncPower makes every host's sshd follow its simulated power.
func (f *Fleet) syncPower(t testing.TB) {
	for _, h := range f.Hosts {
		down := h.Sim.Down()
		switch {
		case down && !h.SSH.Stopped():
			h.SSH.Stop()
		case !down && h.SSH.Stopped():
			if err := h.SSH.Restart(); err != nil {
				t.Logf("testfleet: %v", err)
			}
		}
	}
}
