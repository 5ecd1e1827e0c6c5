package testfleet

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"

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
}

// Fleet is a running test fleet.
type Fleet struct {
	simfleet.Files
	SSH   *sshtest.Hosts
	Hosts []*Host
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
	f.SSH = sshtest.Start(t, o.N, sshtest.Options{
		NonRootUser:  o.User,
		ForceCommand: func(i int, dir string) string { return bin + " --state " + stateDir(dir) },
	})
	var specs []simfleet.HostSpec
	var khLines []string
	for i, sh := range f.SSH.Hosts {
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
		// sshd runs bbbsim as the login user: let it lock and replace the state.
		os.Chmod(dir, 0o777)
		for _, fn := range []string{"state.json", "state.lock"} {
			p := filepath.Join(dir, fn)
			if _, err := os.Stat(p); os.IsNotExist(err) {
				os.WriteFile(p, nil, 0o666)
			}
			os.Chmod(p, 0o666)
		}
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
	files, err := simfleet.WriteFiles(filepath.Join(f.SSH.Dir, "client"), specs, simfleet.FileOptions{
		Key: f.SSH.ClientKeyFile, KnownHostsLines: khLines, Extra: o.Extra,
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
