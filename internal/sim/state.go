package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/flock"
)

// Unit states as printed by `systemctl is-active`.
const (
	UnitActive       = "active"
	UnitInactive     = "inactive"
	UnitFailed       = "failed"
	UnitActivating   = "activating"
	UnitDeactivating = "deactivating"
)

// Units30 are the systemd units `bbb-conf --status` lists on BBB 3.0, in
// the order bbb-conf prints them (reference §2).
var Units30 = []string{
	"nginx", "freeswitch", "redis-server", "bbb-apps-akka", "bbb-fsesl-akka",
	"bbb-graphql-actions", "bbb-graphql-middleware", "bbb-graphql-server",
	"bbb-webrtc-sfu", "bbb-webrtc-recorder", "etherpad", "bbb-web",
	"bbb-pads", "bbb-export-annotations", "bbb-rap-caption-inbox",
	"bbb-rap-resque-worker", "bbb-rap-starter",
}

// unitOrder is bbb-conf's order including the optional units
// (bbb-webhooks after bbb-web, bbb-transcription-controller last).
var unitOrder = []string{
	"nginx", "freeswitch", "redis-server", "bbb-apps-akka", "bbb-fsesl-akka",
	"mongod", "bbb-html5",
	"bbb-graphql-actions", "bbb-graphql-middleware", "bbb-graphql-server",
	"bbb-webrtc-sfu", "bbb-webrtc-recorder", "etherpad", "bbb-web",
	"bbb-webhooks", "bbb-pads", "bbb-export-annotations", "bbb-rap-caption-inbox",
	"bbb-rap-resque-worker", "bbb-rap-starter", "bbb-transcription-controller",
	"livekit-server",
}

// DefaultChecksumAlgorithms is bbb-web's default supportedChecksumAlgorithms.
var DefaultChecksumAlgorithms = []string{"sha1", "sha256", "sha384", "sha512"}

// Disk is one mounted file system as df reports it (sizes in bytes).
type Disk struct {
	Device string `json:"device"`
	Size   uint64 `json:"size"`
	Used   uint64 `json:"used"`
	// Avail defaults to Size-Used when zero.
	Avail uint64 `json:"avail,omitempty"`
}

func (d Disk) avail() uint64 {
	if d.Avail != 0 || d.Used >= d.Size {
		return d.Avail
	}
	return d.Size - d.Used
}

// Attendee is one user in a meeting.
type Attendee struct {
	UserID          string `json:"userID"`
	FullName        string `json:"fullName"`
	Role            string `json:"role"` // MODERATOR or VIEWER
	IsPresenter     bool   `json:"isPresenter,omitempty"`
	IsListeningOnly bool   `json:"isListeningOnly,omitempty"`
	HasJoinedVoice  bool   `json:"hasJoinedVoice,omitempty"`
	HasVideo        bool   `json:"hasVideo,omitempty"`
	ClientType      string `json:"clientType"`
	// CustomData, when non-nil, renders <customdata> (even if empty).
	CustomData []KV `json:"customData,omitempty"`
}

// KV is an ordered key/value pair (metadata, customdata).
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ChatMessage is a message posted with the sendChatMessage API call.
type ChatMessage struct {
	UserName string `json:"userName"`
	Message  string `json:"message"`
}

// Meeting is one running meeting (a breakout room is a meeting of its own).
type Meeting struct {
	Name                 string        `json:"name"`
	ID                   string        `json:"id"`
	InternalID           string        `json:"internalID"`
	CreateTime           int64         `json:"createTime"` // ms since epoch
	VoiceBridge          string        `json:"voiceBridge"`
	DialNumber           string        `json:"dialNumber"`
	AttendeePW           string        `json:"attendeePW"`
	ModeratorPW          string        `json:"moderatorPW"`
	Running              bool          `json:"running"`
	Duration             int           `json:"duration"`
	HasUserJoined        bool          `json:"hasUserJoined"`
	Recording            bool          `json:"recording"`
	HasBeenForciblyEnded bool          `json:"hasBeenForciblyEnded"`
	StartTime            int64         `json:"startTime"`
	EndTime              int64         `json:"endTime"`
	MaxUsers             int           `json:"maxUsers"`
	Attendees            []Attendee    `json:"attendees"`
	Metadata             []KV          `json:"metadata,omitempty"`
	IsBreakout           bool          `json:"isBreakout"`
	ParentMeetingID      string        `json:"parentMeetingID,omitempty"` // internal ID of the parent
	Sequence             int           `json:"sequence,omitempty"`
	FreeJoin             bool          `json:"freeJoin,omitempty"`
	BreakoutRooms        []string      `json:"breakoutRooms,omitempty"` // internal IDs
	Chat                 []ChatMessage `json:"chat,omitempty"`
	// EndsAt, when set, is when the meeting ends by itself (its last
	// user leaves, or an `end` request takes effect); it disappears from
	// the API then, with its breakout rooms.
	EndsAt time.Time `json:"endsAt,omitzero"`
}

// Counts derived from the attendee list, as bbb-web reports them.
func (m Meeting) participantCount() int { return len(m.Attendees) }

func (m Meeting) count(f func(Attendee) bool) int {
	n := 0
	for _, a := range m.Attendees {
		if f(a) {
			n++
		}
	}
	return n
}

// State is everything the simulator knows about one BBB server.
type State struct {
	Name     string `json:"name"`
	Hostname string `json:"hostname"`
	// ServerURL is bbb-web's bigbluebutton.web.serverURL; empty means
	// https://Hostname.
	ServerURL          string            `json:"serverURL,omitempty"`
	Release            string            `json:"release"` // e.g. 3.0.4
	Build              int               `json:"build"`   // the (NNNN) of bbb-conf --version
	Secret             string            `json:"secret"`
	ChecksumAlgorithms []string          `json:"checksumAlgorithms"`
	Units              map[string]string `json:"units"`
	Stopped            bool              `json:"stopped"`
	Meetings           []Meeting         `json:"meetings"`
	// RecordingFailures are paths relative to
	// /var/bigbluebutton/recording/status/, e.g. "processed/ID-presentation.fail".
	RecordingFailures []string `json:"recordingFailures,omitempty"`
	// RecordingStatus are other status files, e.g. "recorded/ID.done".
	RecordingStatus []string        `json:"recordingStatus,omitempty"`
	Disks           map[string]Disk `json:"disks"`        // by mount point: "/" and "/var/bigbluebutton"
	MemTotal        uint64          `json:"memTotal"`     // bytes
	MemAvailable    uint64          `json:"memAvailable"` // bytes
	Cores           int             `json:"cores"`
	LoadAvg         [3]float64      `json:"loadAvg"`
	BootTime        time.Time       `json:"bootTime"`
	ClockOffset     time.Duration   `json:"clockOffset"`
	// SudoUsers maps a login name to "nopasswd" or "password"; root needs no sudo.
	SudoUsers map[string]string `json:"sudoUsers,omitempty"`

	// API fault injection.
	Slow     time.Duration `json:"slow,omitempty"`     // delay before every API answer
	HTML200  bool          `json:"html200,omitempty"`  // answer 200 with an HTML page
	Truncate bool          `json:"truncate,omitempty"` // cut XML bodies mid-element
	Refuse   bool          `json:"refuse,omitempty"`   // reset API connections

	// Stand-ins for start, stop and power (see ops.go). Delays are
	// parameters so that tests wait seconds, not minutes.
	Power PowerState `json:"power,omitzero"`
	// StartDelay is how long the units of bigbluebutton.target stay
	// "activating" after `bbb-conf --start` (or a boot).
	StartDelay time.Duration `json:"startDelay,omitempty"`
	// StopDelay is how long `bbb-conf --stop` takes (systemd stopping
	// the units).
	StopDelay time.Duration `json:"stopDelay,omitempty"`
	// UnitsActiveAt is when activating units become active.
	UnitsActiveAt time.Time `json:"unitsActiveAt,omitzero"`
	// BBBStartedAt is when bbb-web last became active (zero: at boot), for
	// `systemctl show -p ActiveEnterTimestampMonotonic`.
	BBBStartedAt time.Time `json:"bbbStartedAt,omitzero"`
	// EndDelay is how long after an `end` request the meeting disappears
	// (bbb-web ends meetings asynchronously, reference §5).
	EndDelay time.Duration `json:"endDelay,omitempty"`
	// EndIgnored: `end` answers SUCCESS but the meeting never goes.
	EndIgnored bool `json:"endIgnored,omitempty"`
	// EndRejected: `end` is refused as a wrong moderator password is
	// (FAILED, invalidPassword).
	EndRejected bool `json:"endRejected,omitempty"`
	// RecordingsPrivate: the recording status directories are readable
	// by root only (find as another user: Permission denied).
	RecordingsPrivate bool `json:"recordingsPrivate,omitempty"`
	// RecordingsDoneAt, when set, is when pending recording work
	// (recorded/*.done, ended/*.done) is processed and its files go.
	RecordingsDoneAt time.Time `json:"recordingsDoneAt,omitzero"`
	// ResqueQueues are the jobs waiting in Resque by queue name, e.g.
	// {"rap:process": 1} (reference §5): `redis-cli --raw smembers
	// resque:queues` lists the names, `llen resque:queue:NAME` the counts.
	// At RecordingsDoneAt the rap: queues empty (their names stay, as
	// Resque keeps them).
	ResqueQueues map[string]int `json:"resqueQueues,omitempty"`
	// ResqueWorking are the queues whose job a worker processes now: its
	// process title (ps -eo args) reads "resque-2.0.0: Processing QUEUE
	// since ...". Done at RecordingsDoneAt.
	ResqueWorking []string `json:"resqueWorking,omitempty"`
	// RedisDown: redis-cli cannot connect (also when the redis-server
	// unit is not active).
	RedisDown bool `json:"redisDown,omitempty"`
	// Scalelite, when set, makes this host a Scalelite load balancer:
	// `docker exec CONTAINER bin/rake ...` answers from it.
	Scalelite *ScaleliteState `json:"scalelite,omitempty"`
	// Machine is the machine before BBB is installed and the install's
	// stand-ins (install.go).
	Machine Machine `json:"machine,omitzero"`
	// Written are the files written on the server (tee, redirections,
	// push's mktemp/chmod/chown/mv) outside the emulated system files:
	// files.go.
	Written map[string]WrittenFile `json:"written,omitempty"`
}

// Sudo rights in State.SudoUsers.
const (
	SudoNoPasswd = "nopasswd"
	SudoPassword = "password"
)

// DefaultState returns a healthy, empty BBB 3.0.4 server named name.
func DefaultState(name string) State {
	units := make(map[string]string, len(Units30))
	for _, u := range Units30 {
		units[u] = UnitActive
	}
	const gib = 1 << 30
	return State{
		Name:               name,
		Hostname:           name,
		Release:            "3.0.4",
		Build:              1010,
		Secret:             "changeme-" + name,
		ChecksumAlgorithms: append([]string(nil), DefaultChecksumAlgorithms...),
		Units:              units,
		Disks: map[string]Disk{
			"/":                  {Device: "/dev/sda1", Size: 80 * gib, Used: 22 * gib},
			"/var/bigbluebutton": {Device: "/dev/sdb1", Size: 500 * gib, Used: 120 * gib},
		},
		MemTotal:     16 * gib,
		MemAvailable: 11 * gib,
		Cores:        8,
		LoadAvg:      [3]float64{0.42, 0.35, 0.30},
		BootTime:     time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC),
		SudoUsers:    map[string]string{},
	}
}

// Clone returns a deep copy of s.
func (s State) Clone() State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c
}

// sortedUnits returns the units of s in bbb-conf's order; unknown units
// follow, sorted.
func (s State) sortedUnits() []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range unitOrder {
		if _, ok := s.Units[u]; ok {
			out = append(out, u)
			seen[u] = true
		}
	}
	var rest []string
	for u := range s.Units {
		if !seen[u] {
			rest = append(rest, u)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// unitState is what `systemctl is-active unit` prints.
func (s State) unitState(unit string) string {
	unit = strings.TrimSuffix(unit, ".service")
	if st, ok := s.Units[unit]; ok {
		return st
	}
	return UnitInactive
}

func (s *State) setAllUnits(state string) {
	if s.Units == nil {
		s.Units = map[string]string{}
	}
	for u := range s.Units {
		s.Units[u] = state
	}
}

// notInTarget are units bbb-conf --status lists that bigbluebutton.target
// does not stop: system services BBB shares with the machine. nginx in
// particular keeps answering, with 502, while bbb-web is stopped.
var notInTarget = map[string]bool{"nginx": true, "redis-server": true}

// setTarget starts or stops bigbluebutton.target: its units, and Stopped.
func (s *State) setTarget(start bool) {
	if start {
		s.setAllUnits(UnitActive)
	} else {
		for u := range s.Units {
			if !notInTarget[u] {
				s.Units[u] = UnitInactive
			}
		}
	}
	s.Stopped = !start
}

// Store holds one host's State.
type Store interface {
	// Load returns a snapshot of the state.
	Load() (State, error)
	// Update applies fn to the state atomically; if fn returns an error the
	// state is left unchanged.
	Update(fn func(*State) error) error
}

// MemStore is an in-memory Store.
type MemStore struct {
	mu sync.Mutex
	s  State
}

// NewMemStore returns a Store holding a copy of s.
func NewMemStore(s State) *MemStore { return &MemStore{s: s.Clone()} }

// Load implements Store.
func (m *MemStore) Load() (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.Clone(), nil
}

// Update implements Store.
func (m *MemStore) Update(fn func(*State) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.s.Clone()
	if err := fn(&c); err != nil {
		return err
	}
	m.s = c
	return nil
}

// StateFile is the name of the state file inside a state directory.
const StateFile = "state.json"

const lockFile = "state.lock"

// FileStore keeps the state in DIR/state.json. Every access takes an flock
// on DIR/state.lock (shared for Load, exclusive for Update), so separate
// processes (bbbsim run by sshd, a test's API server) see consistent state;
// writes go to a temporary file that is renamed over state.json.
type FileStore struct {
	Dir string
	mu  sync.Mutex // flock is per open file; this orders goroutines too
}

// NewFileStore returns the store for dir; the state must have been written
// with WriteState.
func NewFileStore(dir string) *FileStore { return &FileStore{Dir: dir} }

// WriteState creates dir if needed and writes s as dir/state.json.
func WriteState(dir string, s State) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sim: write state: %w", err)
	}
	fs := NewFileStore(dir)
	return fs.withLock(true, func() error { return fs.write(s) })
}

// ReadState reads dir/state.json.
func ReadState(dir string) (State, error) { return NewFileStore(dir).Load() }

// Load implements Store.
func (f *FileStore) Load() (State, error) {
	var s State
	err := f.withLock(false, func() error {
		var err error
		s, err = f.read()
		return err
	})
	return s, err
}

// Update implements Store.
func (f *FileStore) Update(fn func(*State) error) error {
	return f.withLock(true, func() error {
		s, err := f.read()
		if err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
		return f.write(s)
	})
}

func (f *FileStore) withLock(exclusive bool, fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lf, err := os.OpenFile(filepath.Join(f.Dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("sim: state lock: %w", err)
	}
	defer lf.Close()
	if err := flock.Lock(context.Background(), lf, exclusive); err != nil {
		return fmt.Errorf("sim: state lock %s: %w", lf.Name(), err)
	}
	defer flock.Unlock(lf)
	return fn()
}

func (f *FileStore) read() (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(f.Dir, StateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, fmt.Errorf("sim: no state in %s (write it with sim.WriteState or `bbbsim init`): %w", f.Dir, err)
		}
		return s, fmt.Errorf("sim: read state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("sim: parse %s: %w", filepath.Join(f.Dir, StateFile), err)
	}
	return s, nil
}

func (f *FileStore) write(s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: encode state: %w", err)
	}
	tmp, err := os.CreateTemp(f.Dir, ".state-*.json")
	if err != nil {
		return fmt.Errorf("sim: write state: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sim: write state: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sim: write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.Dir, StateFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sim: write state: %w", err)
	}
	return nil
}
