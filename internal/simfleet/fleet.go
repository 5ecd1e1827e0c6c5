package simfleet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

// Options tune Start.
type Options struct {
	// N is the number of servers (default 6).
	N int
	// Seed makes the load model's school day (same seed, same meetings).
	Seed int64
	// Speed is how much faster than real time the simulated clock runs
	// (default 60: one simulated minute per second).
	Speed float64
	// Start is the simulated moment the fleet starts at (default
	// DefaultStart, a Tuesday at 09:10).
	Start time.Time
	// Tick is how often the load model updates the servers (default: every
	// simulated minute, at least every second and at most ten times a
	// second).
	Tick time.Duration
	// NoLoad leaves the meetings alone: no load model runs.
	NoLoad bool
	// NoProblem leaves every server healthy (by default one server has a
	// failed unit, an older release and a failed recording).
	NoProblem bool
	// State, when set, adjusts server i's initial state last.
	State func(i int, s *sim.State)
	// NoSecrets writes an empty secrets file, as before `secret fetch`.
	NoSecrets bool
	// Now is the servers' real clock (default time.Now).
	Now func() time.Time
	// StartDelay is how long the units stay "activating" after
	// `bbb-conf --start` (default 0: at once).
	StartDelay time.Duration
	// BootDelay is how long a server takes from power-on until SSH
	// answers (default 0).
	BootDelay time.Duration
	// NewServer adds a server without BBB, "new1" tagged @new, that
	// `bbbfleet install` can install (each installer phase takes
	// InstallDelay, default 2s). It takes no meetings from the model.
	NewServer    bool
	InstallDelay time.Duration
}

// Fleet is a running simulated fleet: servers on 127.0.0.1 answering SSH
// and the BBB API, and the files bbbfleet needs to reach them.
type Fleet struct {
	Files
	Hosts []*Host
	// Problem is the index of the server with the planted problem (-1: none).
	Problem int
	Clock   *Clock
	Model   *Model
	// Scalelite is the load balancer's host (SSH only: `docker exec
	// scalelite-api bin/rake ...`); a server it does not list as enabled
	// gets no new meetings from the load model.
	Scalelite *Host
	// ClientSigner is the client key written to Files.Key.
	ClientSigner ssh.Signer
	// New is the server without BBB (Options.NewServer), else nil.
	New *Host

	cancel context.CancelFunc
	stops  []func()
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.Mutex
	placed []map[string]bool // meeting IDs the model wrote last, per host
	// endOnCordon: server index -> within how long its classes end once
	// Scalelite cordons it (EndClassesWhenCordoned).
	endOnCordon map[int]time.Duration
	ended       map[string]bool // model meetings somebody ended
	simNow      time.Time       // simulated time of the last tick
}

// Host is one simulated server.
type Host struct {
	Name    string
	Tags    []string
	Sim     *sim.Host
	SSHAddr string // 127.0.0.1:PORT
	SSHPort int
	APIURL  string
	HostKey ssh.PublicKey
}

// ProblemUnit is the unit that has failed on the problem server, whose
// release is ProblemRelease.
const (
	ProblemUnit    = "bbb-webrtc-sfu"
	ProblemRelease = "3.0.2"
)

// Start starts a fleet on 127.0.0.1 with random free ports and writes
// fleet.yaml, secrets.yaml, known_hosts and the client key into a new
// temporary directory. Close stops it and removes the directory.
func Start(ctx context.Context, o Options) (_ *Fleet, err error) {
	if o.N <= 0 {
		o.N = 6
	}
	if o.Speed <= 0 {
		o.Speed = 60
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.Tick <= 0 {
		// A simulated minute per tick, between 0.1s and 1s.
		o.Tick = min(max(time.Duration(float64(time.Minute)/o.Speed), 100*time.Millisecond), time.Second)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	dir, err := os.MkdirTemp("", "bbbfleet-demo-")
	if err != nil {
		return nil, fmt.Errorf("simfleet: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &Fleet{cancel: cancel, Problem: -1, ended: map[string]bool{}}
	f.Dir = dir
	defer func() {
		if err != nil {
			f.Close()
		}
	}()

	client, err := newKey()
	if err != nil {
		return nil, err
	}
	f.ClientSigner = client.signer
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := client.write(keyFile, "bbbfleet-demo"); err != nil {
		return nil, err
	}
	if !o.NoProblem {
		f.Problem = o.N - 1
		if o.N >= 4 {
			f.Problem = 3
		}
	}
	var specs []HostSpec
	var kh []string
	for i := 0; i < o.N; i++ {
		name := fmt.Sprintf("bbb%d", i+1)
		st := sim.DefaultState(name)
		st.Hostname = name + ".school.example"
		secret := make([]byte, 20)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		st.Secret = hex.EncodeToString(secret)
		st.BootTime = o.Now().Add(-time.Duration(9+i*3) * 24 * time.Hour).Truncate(time.Hour)
		if i == f.Problem {
			st.Units[ProblemUnit] = sim.UnitFailed
			st.Release, st.Build = ProblemRelease, 893
			st.RecordingFailures = []string{"processed/" + sha1Hex("Physik 9b") + "-1773130201337-presentation.fail"}
		}
		st.StartDelay = o.StartDelay
		st.Power.BootDelay = o.BootDelay
		if o.State != nil {
			o.State(i, &st)
		}
		h := &Host{Name: name, Sim: sim.NewHost(sim.NewMemStore(st), sim.Options{Now: o.Now})}
		if i < 2 {
			h.Tags = []string{"core"}
		} else {
			h.Tags = []string{"pool"}
		}
		line, err := f.serveSSH(ctx, h, client.signer.PublicKey())
		if err != nil {
			return nil, err
		}
		url, err := f.serveAPI(ctx, h)
		if err != nil {
			return nil, err
		}
		f.Hosts = append(f.Hosts, h)
		spec := HostSpec{Name: name, Host: "127.0.0.1", SSHPort: h.SSHPort, APIURL: url, Tags: h.Tags, Secret: st.Secret}
		if o.NoSecrets {
			spec.Secret = ""
		}
		specs = append(specs, spec)
		kh = append(kh, line)
	}
	if o.NewServer {
		h, spec, line, err := f.startNew(ctx, o, client.signer.PublicKey())
		if err != nil {
			return nil, err
		}
		f.New = h
		specs = append(specs, spec)
		kh = append(kh, line)
	}
	// The Scalelite load balancer in front of the fleet.
	lb := sim.DefaultState("lb")
	lb.Hostname = "lb.school.example"
	lb.Units = map[string]string{}
	lb.Scalelite = &sim.ScaleliteState{Container: "scalelite-api"}
	for i, h := range f.Hosts {
		lb.Scalelite.Servers = append(lb.Scalelite.Servers, sim.ScaleliteServer{
			ID: fmt.Sprintf("%08x-5c1e-4e1d-9a0b-%012x", i+1, i+1), URL: strings.TrimSuffix(h.APIURL, "/"),
			Secret: specSecret(specs[i], h), State: sim.ScaleliteEnabled, Load: "0.0", LoadMultiplier: "1.0", Online: true})
	}
	lbHost := &Host{Name: "lb", Sim: sim.NewHost(sim.NewMemStore(lb), sim.Options{Now: o.Now})}
	lbLine, err := f.serveSSH(ctx, lbHost, client.signer.PublicKey())
	if err != nil {
		return nil, err
	}
	f.Scalelite = lbHost
	kh = append(kh, lbLine)
	extra := fmt.Sprintf("scalelite: {ssh_host: 127.0.0.1, container: scalelite-api, ssh: {port: %d}}\n", lbHost.SSHPort)
	// The run lock and the audit log stay in the fleet's directory.
	extra += fmt.Sprintf("state_dir: %q\n", filepath.Join(dir, "state"))
	// Power hooks: argv run by bbbfleet on this machine, as a provider's
	// CLI would be; here they leave a note in DIR/power that the fleet
	// picks up (watchPower) to switch the simulated machine.
	powerDir := filepath.Join(dir, "power")
	if err := os.Mkdir(powerDir, 0o700); err != nil {
		return nil, fmt.Errorf("simfleet: %w", err)
	}
	defaults := "  drain: {poll: 250ms, timeout: 10m}\n" +
		"  install: {email: bbb-admin@school.example.org}\n" +
		fmt.Sprintf("  power: {on: [touch, %q], off: [touch, %q], timeout: 30s}\n",
			filepath.Join(powerDir, "{name}.on"), filepath.Join(powerDir, "{name}.off"))
	files, err := WriteFiles(dir, specs, FileOptions{Key: keyFile, KnownHostsLines: kh, Extra: extra + Schedules(o.N),
		Defaults: defaults})
	if err != nil {
		return nil, err
	}
	f.Files = *files

	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.watchPower(ctx, powerDir, o.Now)
	}()

	f.Clock = &Clock{Start: o.Start, RealStart: o.Now(), Speed: o.Speed, Real: o.Now}
	f.Model = NewModel(o.Seed, o.N)
	f.placed = make([]map[string]bool, o.N)
	if o.NoLoad {
		return f, nil
	}
	f.tick()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(o.Tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.tick()
			}
		}
	}()
	return f, nil
}

// tick puts the model's meetings of the current simulated moment on the
// servers. Meetings made through the API stay; a model meeting somebody
// ended stays ended; a server that is stopped has none.
func (f *Fleet) tick() {
	real := f.Clock.real()
	now := f.Clock.At(real)
	all := f.Model.MeetingsAt(now, real.Sub(now))
	accepting := f.accepting()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.simNow = now
	for i, h := range f.Hosts {
		prev := f.placed[i]
		next := map[string]bool{}
		_ = h.Sim.Update(func(s *sim.State) error {
			up := !s.Stopped && s.Units["bbb-web"] == sim.UnitActive
			var keep []sim.Meeting
			present := map[string]bool{}
			endsAt := map[string]time.Time{}
			for _, m := range s.Meetings {
				present[m.ID] = true
				endsAt[m.ID] = m.EndsAt
				if !prev[m.ID] {
					keep = append(keep, m) // not ours
				}
			}
			if up {
				for id := range prev {
					if !present[id] {
						f.ended[id] = true
					}
				}
			}
			users, video := 0, 0
			if up {
				for _, m := range all[i] {
					if f.ended[m.ID] || (m.IsBreakout && f.ended[parentID(all[i], m)]) {
						continue
					}
					if present[m.ID] && !prev[m.ID] {
						continue // somebody made a meeting with this ID
					}
					if !accepting[i] && !prev[m.ID] && !(m.IsBreakout && next[parentID(all[i], m)]) {
						continue // cordoned: Scalelite sends it no new meeting
					}
					if e := endsAt[m.ID]; !e.IsZero() {
						m.EndsAt = e // its class is ending (EndClassesSoon)
					} else if m.IsBreakout {
						if e := endsAt[parentID(all[i], m)]; !e.IsZero() {
							m.EndsAt = e
						}
					}
					keep = append(keep, m)
					next[m.ID] = true
				}
			}
			for _, m := range keep {
				users += len(m.Attendees)
				for _, a := range m.Attendees {
					if a.HasVideo {
						video++
					}
				}
			}
			if keep == nil {
				keep = []sim.Meeting{}
			}
			s.Meetings = keep
			// The machine follows the load.
			l := 0.25 + 0.03*float64(users) + 0.04*float64(video)
			s.LoadAvg = [3]float64{round2(l), round2(l * 0.93), round2(l * 0.85)}
			const mib = 1 << 20
			used := uint64(users)*45*mib + uint64(video)*20*mib
			s.MemAvailable = 11 << 30
			if used < s.MemAvailable-(1<<30) {
				s.MemAvailable -= used
			} else {
				s.MemAvailable = 1 << 30
			}
			return nil
		})
		f.placed[i] = next
	}
}

// specSecret is the server's real secret (the spec's may be empty before
// `secret fetch`).
func specSecret(spec HostSpec, h *Host) string {
	if st, err := h.Sim.State(); err == nil {
		return st.Secret
	}
	return spec.Secret
}

// accepting reports, per server, whether Scalelite sends it new meetings
// (enabled there).
func (f *Fleet) accepting() []bool {
	out := make([]bool, len(f.Hosts))
	for i := range out {
		out[i] = true
	}
	if f.Scalelite == nil {
		return out
	}
	st, err := f.Scalelite.Sim.State()
	if err != nil || st.Scalelite == nil {
		return out
	}
	for i, h := range f.Hosts {
		for _, sv := range st.Scalelite.Servers {
			if strings.TrimSuffix(h.APIURL, "/") == sv.URL {
				out[i] = sv.State == sim.ScaleliteEnabled
			}
		}
	}
	return out
}

// EndClassesWhenCordoned makes every meeting on server i end within d of
// the moment Scalelite cordons it: the lessons finish while the server
// drains.
func (f *Fleet) EndClassesWhenCordoned(i int, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.endOnCordon == nil {
		f.endOnCordon = map[int]time.Duration{}
	}
	f.endOnCordon[i] = d
}

// endCordoned applies EndClassesWhenCordoned.
func (f *Fleet) endCordoned() {
	f.mu.Lock()
	pending := len(f.endOnCordon) > 0
	f.mu.Unlock()
	if !pending {
		return
	}
	acc := f.accepting()
	f.mu.Lock()
	var due []int
	var ds []time.Duration
	for i, d := range f.endOnCordon {
		if !acc[i] {
			due, ds = append(due, i), append(ds, d)
			delete(f.endOnCordon, i)
		}
	}
	f.mu.Unlock()
	for k, i := range due {
		_ = f.EndClassesSoon(i, ds[k])
	}
}

// EndClassesSoon makes every meeting on server i end by itself within d
// (its last users leave), one after another.
func (f *Fleet) EndClassesSoon(i int, d time.Duration) error {
	return f.Hosts[i].Sim.Update(func(s *sim.State) error {
		n := len(s.Meetings)
		now := time.Now()
		for j := range s.Meetings {
			at := now.Add(d * time.Duration(j+1) / time.Duration(max(n, 1)))
			if s.Meetings[j].IsBreakout {
				continue // it ends with its parent
			}
			s.Meetings[j].EndsAt = at
		}
		return nil
	})
}

// watchPower switches a server's power when a power hook left NAME.on or
// NAME.off in dir.
func (f *Fleet) watchPower(ctx context.Context, dir string, now func() time.Time) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.endCordoned()
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name, action, ok := strings.Cut(e.Name(), ".")
			if !ok || (action != "on" && action != "off") {
				continue
			}
			os.Remove(filepath.Join(dir, e.Name()))
			for _, h := range f.Hosts {
				if h.Name != name {
					continue
				}
				_ = h.Sim.Update(func(s *sim.State) error {
					if action == "on" {
						s.PowerOn(now())
					} else {
						s.PowerOff()
					}
					return nil
				})
			}
		}
	}
}

func parentID(ms []sim.Meeting, b sim.Meeting) string {
	for _, m := range ms {
		if m.InternalID == b.ParentMeetingID {
			return m.ID
		}
	}
	return ""
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

// SimNow is the simulated time of the last update of the servers.
func (f *Fleet) SimNow() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.simNow.IsZero() {
		return f.Clock.Now()
	}
	return f.simNow
}

// Load counts the meetings (breakout rooms included) and users on every
// server now.
func (f *Fleet) Load() (meetings, users int) {
	for _, h := range f.Hosts {
		s, err := h.Sim.State()
		if err != nil {
			continue
		}
		for _, m := range s.Meetings {
			meetings++
			users += len(m.Attendees)
		}
	}
	return meetings, users
}

// Close stops every server and the load model and removes the directory.
func (f *Fleet) Close() error {
	var err error
	f.once.Do(func() {
		f.cancel()
		for _, stop := range f.stops {
			stop()
		}
		f.wg.Wait()
		if f.Dir != "" {
			err = os.RemoveAll(f.Dir)
		}
	})
	return err
}

type key struct {
	priv   ed25519.PrivateKey
	signer ssh.Signer
}

func newKey() (*key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("simfleet: key: %w", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("simfleet: key: %w", err)
	}
	return &key{priv: priv, signer: s}, nil
}

// write saves the private key (OpenSSH format, mode 0600) and path.pub.
func (k *key) write(path, comment string) error {
	block, err := ssh.MarshalPrivateKey(k.priv, comment)
	if err != nil {
		return fmt.Errorf("simfleet: key: %w", err)
	}
	err = errors.Join(
		os.WriteFile(path, pem.EncodeToMemory(block), 0o600),
		os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(k.signer.PublicKey()), 0o644),
	)
	if err != nil {
		return fmt.Errorf("simfleet: key: %w", err)
	}
	return nil
}

// startNew starts the server without BBB.
func (f *Fleet) startNew(ctx context.Context, o Options, client ssh.PublicKey) (*Host, HostSpec, string, error) {
	st := sim.DefaultState("new1")
	st.Hostname = "127.0.0.1"
	st.NewMachine()
	st.Machine.InstallDelay = o.InstallDelay
	if st.Machine.InstallDelay <= 0 {
		st.Machine.InstallDelay = 2 * time.Second
	}
	st.BootTime = o.Now().Add(-2 * time.Hour).Truncate(time.Hour)
	h := &Host{Name: "new1", Tags: []string{"new"}, Sim: sim.NewHost(sim.NewMemStore(st), sim.Options{Now: o.Now})}
	line, err := f.serveSSH(ctx, h, client)
	if err != nil {
		return nil, HostSpec{}, "", err
	}
	url, err := f.serveAPI(ctx, h)
	if err != nil {
		return nil, HostSpec{}, "", err
	}
	spec := HostSpec{Name: "new1", Host: "127.0.0.1", SSHPort: h.SSHPort, APIURL: url, Tags: h.Tags}
	return h, spec, line, nil
}

// serveSSH gives h a new host key and an SSH server on a free loopback
// port that accepts client, and returns h's known_hosts line.
func (f *Fleet) serveSSH(ctx context.Context, h *Host, client ssh.PublicKey) (string, error) {
	hk, err := newKey()
	if err != nil {
		return "", err
	}
	h.HostKey = hk.signer.PublicKey()
	addr, stop, err := h.Sim.ServeSSH(ctx, "127.0.0.1:0", hk.signer, []ssh.PublicKey{client})
	if err != nil {
		return "", err
	}
	f.stops = append(f.stops, stop)
	h.SSHAddr = addr
	_, port, _ := net.SplitHostPort(addr)
	h.SSHPort, _ = strconv.Atoi(port)
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, h.HostKey), nil
}

// serveAPI gives h its BBB API on a free loopback port and returns its URL.
// bbb-web's serverURL is where its API really is, so that `bbb-conf
// --secret` reports the URL the config uses.
func (f *Fleet) serveAPI(ctx context.Context, h *Host) (string, error) {
	url, stopAPI, err := h.Sim.ServeAPI(ctx, "127.0.0.1:0", nil)
	if err != nil {
		return "", err
	}
	f.stops = append(f.stops, stopAPI)
	h.APIURL = url
	err = h.Sim.Update(func(s *sim.State) error {
		s.ServerURL = strings.TrimSuffix(url, "/bigbluebutton/api/")
		return nil
	})
	return url, err
}
