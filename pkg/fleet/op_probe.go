package fleet

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// probe is what one server reports before an operation (read-only).
type probe struct {
	sshErr     error // SSH did not answer (dial or command)
	units      []bbb.UnitStatus
	recordings []string
	recsErr    error // the recording status could not be read
	release    string
	apiErr     error // getMeetings failed
	meetings   []bbb.Meeting
	installing bool // a bbbfleet install runs on the server
}

// RecordingStatusDir is where BBB keeps its recording status files.
const RecordingStatusDir = "/var/bigbluebutton/recording/status"

// probeScript reads the units, the pending recording work (status files,
// Resque's rap: queues and workers, reference §5), a bbbfleet install
// still running, and the release in one SSH command. It is a constant:
// nothing from the config or a server goes into it (queue names Redis
// lists only ever reach the shell as a quoted variable).
const probeScript = "bbb-conf --status; echo " + probeRecMark + "; " +
	"find " + RecordingStatusDir + "/recorded " + RecordingStatusDir + "/ended -name '*.done' 2>/dev/null || echo " + probeRecFailed + "; " +
	"echo " + probeResqueMark + "; " +
	"if ! command -v redis-cli >/dev/null 2>&1; then echo " + probeResqueMissing + "; " +
	"elif [ \"$(redis-cli --raw ping 2>/dev/null)\" != PONG ]; then echo " + probeResqueFailed + "; else " +
	"qs=$(redis-cli --raw smembers resque:queues 2>/dev/null) || echo " + probeResqueFailed + "; " +
	"printf '%s\\n' \"$qs\" | while IFS= read -r q; do case \"$q\" in rap:*) " +
	"n=$(redis-cli --raw llen \"resque:queue:$q\" 2>/dev/null) || n=" + probeResqueFailed + "; echo \"queue $q $n\";; esac; done; " +
	"fi; " +
	"ps=$(ps -eo args 2>/dev/null) || echo " + probeResqueFailed + "; printf '%s\\n' \"$ps\" | grep '[P]rocessing rap:'; " +
	"echo " + probeInstMark + "; " + bbb.InstallStatusScript + "; " +
	"echo " + probeRelMark + "; cat /etc/bigbluebutton/bigbluebutton-release 2>/dev/null; true"

const (
	probeRecMark       = "--bbbfleet-recordings--"
	probeRecFailed     = "--bbbfleet-recordings-unreadable--"
	probeResqueMark    = "--bbbfleet-resque--"
	probeResqueFailed  = "--bbbfleet-resque-failed--"
	probeResqueMissing = "--bbbfleet-resque-no-redis-cli--"
	probeInstMark      = "--bbbfleet-install--"
	probeRelMark       = "--bbbfleet-release--"
)

// ErrRecordingsUnreadable says the recording status directories could not
// be read (missing, or no permission for the login): pending processing
// cannot be ruled out.
var ErrRecordingsUnreadable = errors.New("cannot read " + RecordingStatusDir + "/{recorded,ended} (find failed: missing, or no permission for the login user?)")

// ErrResqueUnreadable says Resque's queues could not be read on a server
// with BBB: recording work queued there cannot be ruled out.
var ErrResqueUnreadable = errors.New("cannot read Resque's rap: queues and workers (redis-cli or ps missing or failing, or Redis does not answer ping)")

// parseProbe splits the probe script's output.
func parseProbe(out string) (units []bbb.UnitStatus, recordings []string, release string, recsErr error) {
	status, rest, found := strings.Cut(out, probeRecMark+"\n")
	recs, rel, found2 := strings.Cut(rest, probeRelMark+"\n")
	recs, _, _ = strings.Cut(recs, probeResqueMark+"\n")
	if !found || !found2 || strings.Contains(recs, probeRecFailed) {
		recsErr = ErrRecordingsUnreadable
	}
	units = bbb.ParseStatus(status)
	for _, l := range strings.Split(recs, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, RecordingStatusDir+"/") && strings.HasSuffix(l, ".done") {
			recordings = append(recordings, strings.TrimPrefix(l, RecordingStatusDir+"/"))
		}
	}
	if r, err := bbb.ParseRelease(rel); err == nil {
		release = r
	}
	return units, recordings, release, recsErr
}

// probeSection is the text between the marks from and to.
func probeSection(out, from, to string) (string, bool) {
	_, rest, ok := strings.Cut(out, from+"\n")
	if !ok {
		return "", false
	}
	sec, _, _ := strings.Cut(rest, to+"\n")
	return sec, true
}

// resqueQueueRe is what a queue name must look like to be reported.
var resqueQueueRe = regexp.MustCompile(`^rap:[A-Za-z0-9_.:-]{1,64}$`)

// parseResque reads the Resque part of the probe: the rap: queues with
// jobs and the workers processing a rap: job, as words for the pending
// list ("Resque queue rap:process: 2 jobs", "Resque worker processing
// rap:archive"). err is ErrResqueUnreadable when they could not be read.
func parseResque(out string) (pending []string, err error) {
	sec, ok := probeSection(out, probeResqueMark, probeInstMark)
	if !ok {
		return nil, ErrResqueUnreadable
	}
	for _, l := range strings.Split(sec, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case l == probeResqueFailed || l == probeResqueMissing:
			err = ErrResqueUnreadable
		case strings.HasPrefix(l, "queue "):
			f := strings.Fields(l)
			if len(f) != 3 || !resqueQueueRe.MatchString(f[1]) {
				continue
			}
			if f[2] == probeResqueFailed {
				err = ErrResqueUnreadable
				continue
			}
			n, cerr := strconv.Atoi(f[2])
			if cerr != nil {
				err = ErrResqueUnreadable
				continue
			}
			if n > 0 {
				pending = append(pending, fmt.Sprintf("Resque queue %s: %d %s", f[1], n, plural(n, "job", "jobs")))
			}
		default:
			// A worker's process title: "resque-2.0.0: Processing rap:archive since ...".
			_, after, found := strings.Cut(l, "Processing ")
			if !found {
				continue
			}
			q, _, _ := strings.Cut(after, " ")
			if resqueQueueRe.MatchString(q) {
				pending = append(pending, "Resque worker processing "+q)
			} else if strings.HasPrefix(q, "rap:") {
				pending = append(pending, "Resque worker processing a rap: job")
			}
		}
	}
	return pending, err
}

// parseInstallRunning reads the install part of the probe: is a bbbfleet
// install running on the server?
func parseInstallRunning(out string) bool {
	sec, ok := probeSection(out, probeInstMark, probeRelMark)
	return ok && bbb.ParseInstallStatus(sec).Running
}

// readProbe is parseProbe with the Resque work added to the recordings
// (an unreadable Resque counts only where BBB is installed) and the
// install status.
func readProbe(out string) (units []bbb.UnitStatus, recordings []string, release string, recsErr error, installing bool) {
	units, recordings, release, recsErr = parseProbe(out)
	rq, rerr := parseResque(out)
	recordings = append(recordings, rq...)
	if recsErr == nil && rerr != nil && len(units) > 0 {
		recsErr = rerr
	}
	return units, recordings, release, recsErr, parseInstallRunning(out)
}

// probeSSH runs the probe script over SSH.
func (o *Operation) probeSSH(ctx context.Context, s Server, p *probe) {
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, s, ssh.Command{Script: probeScript})
		return err
	})
	if err != nil {
		p.sshErr = err
		return
	}
	p.units, p.recordings, p.release, p.recsErr, p.installing = readProbe(string(res.Stdout))
}

// probeAPI reads the meetings.
func (o *Operation) probeAPI(ctx context.Context, s Server, p *probe) {
	ms, err := o.meetings(ctx, s)
	p.meetings, p.apiErr = ms, err
}

// meetings asks getMeetings, bounded by --timeout.
func (o *Operation) meetings(ctx context.Context, s Server) ([]bbb.Meeting, error) {
	c, err := o.Env.API(s)
	if err != nil {
		return nil, err
	}
	var ms []bbb.Meeting
	err = o.call(ctx, func(ctx context.Context) error {
		ms, err = c.GetMeetings(ctx)
		return err
	})
	return ms, err
}

// unitsActive: every unit is active (and there are units).
func unitsActive(us []bbb.UnitStatus) bool {
	if len(us) == 0 {
		return false
	}
	for _, u := range us {
		if !u.OK {
			return false
		}
	}
	return true
}

// sharedUnits are listed by bbb-conf --status but not stopped by
// bigbluebutton.target (the machine's own nginx and redis).
var sharedUnits = map[string]bool{"nginx": true, "redis-server": true}

// unitsStopped: every BBB unit (not nginx, not redis) is not active.
func unitsStopped(us []bbb.UnitStatus) bool {
	if len(us) == 0 {
		return false
	}
	for _, u := range us {
		if !sharedUnits[u.Unit] && (u.State == "active" || u.State == "activating" || u.State == "reloading" || u.State == "deactivating") {
			return false
		}
	}
	return true
}

func notActive(us []bbb.UnitStatus) []string {
	var out []string
	for _, u := range us {
		if !u.OK {
			out = append(out, u.Unit+" "+u.State)
		}
	}
	return out
}

// remote runs a command on s; when the connection broke (not a command's
// own failure) it dials again once and retries, so a dropped connection
// in the middle of a long operation costs one reconnect.
func (o *Operation) remote(ctx context.Context, s Server, cmd ssh.Command) (*ssh.Result, error) {
	c, _ := o.Env.SSH(ctx, s) // the connection this call will use
	res, err := o.Env.Remote(ctx, s, cmd)
	if err == nil || ctx.Err() != nil || !connectionBroken(err) {
		return res, err
	}
	// Only the broken connection is dropped: another goroutine (sharing
	// the Scalelite host's) may have dialled a new one already.
	o.Env.forgetIf(s.Name, c)
	return o.Env.Remote(ctx, s, cmd)
}

// connectionBroken: the error is not the remote command's own status, nor
// a refusal the next dial would repeat (host key, auth, sudo password).
func connectionBroken(err error) bool {
	var ee *ssh.ExitError
	var hk *ssh.HostKeyError
	if errors.As(err, &ee) || errors.As(err, &hk) || errors.Is(err, ssh.ErrSudoPassword) || errors.Is(err, ErrEnvClosed) {
		return false
	}
	return true
}

// sshUnreachable reports whether an SSH error means nobody answers (the
// machine is off or not up yet: refused, timed out, reset, no route), as
// opposed to an answer that refuses us (host key, no accepted key, sudo)
// or a command that failed: a power hook cannot fix those.
func sshUnreachable(err error) bool {
	var ee *ssh.ExitError
	var hk *ssh.HostKeyError
	if err == nil || errors.As(err, &ee) || errors.As(err, &hk) || errors.Is(err, ssh.ErrSudoPassword) ||
		errors.Is(err, ssh.ErrNoKey) || errors.Is(err, ssh.ErrHostKey) {
		return false
	}
	var se *ssh.Error
	var dt *ssh.DialTimeoutError
	if errors.As(err, &se) || errors.As(err, &dt) {
		return true // typed by pkg/ssh, and none of the answers above
	}
	// An error that pkg/ssh did not make (no type to ask): its text.
	msg := err.Error()
	for _, s := range []string{"no usable key", "no accepted key", "host key"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// forget drops the run's cached connection to a server (closing it), so
// that the next SSH call dials again: after a drop, a reboot, a power-off.
func (e *Env) forget(name string) { e.forgetIf(name, nil) }

// forgetIf is forget, only when the cached connection is c (any when c is
// nil).
func (e *Env) forgetIf(name string, c *ssh.Client) {
	e.mu.Lock()
	cn, ok := e.conns[name]
	if ok && c != nil {
		select {
		case <-cn.done:
			ok = cn.c == c || cn.c == nil
		default:
			ok = false
		}
	}
	if ok {
		select {
		case <-cn.done:
			delete(e.conns, name)
		default:
			ok = false // a dial is under way: leave it to finish
		}
	}
	e.mu.Unlock()
	if ok && cn.c != nil {
		cn.c.Close()
	}
}

// sshAnswers dials s afresh within d: does SSH answer at all?
func (o *Operation) sshAnswers(ctx context.Context, s Server, d time.Duration) error {
	o.Env.forget(s.Name)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := o.Env.SSH(ctx, s)
	if err != nil {
		o.Env.forget(s.Name)
	}
	return err
}

// ---- Scalelite ----

// scaleliteView is the Scalelite state read once per operation.
type scaleliteView struct {
	host    Server
	servers []bbb.ScaleliteServer
	err     error
}

// ScaleliteHost is the Scalelite host as a Server for the SSH layer:
// ssh settings from scalelite.ssh, then defaults.ssh.
func (c *Config) ScaleliteHost() (Server, bool) {
	if c.Scalelite == nil || c.Scalelite.SSHHost == "" {
		return Server{}, false
	}
	s := Server{Name: "scalelite(" + c.Scalelite.SSHHost + ")", Host: c.Scalelite.SSHHost}
	s.SSH = c.Scalelite.SSH
	s.Settings = merge(s.Settings, c.Defaults)
	return s, true
}

// ScaleliteContainer is the docker container of Scalelite's API.
func (c *Config) ScaleliteContainer() string {
	if c.Scalelite == nil || c.Scalelite.Container == "" {
		return "scalelite-api"
	}
	return c.Scalelite.Container
}

// ScaleliteError says the Scalelite host could not be asked.
type ScaleliteError struct {
	Host string
	Err  error
	Out  string // the task's output (stdout and stderr), cleaned by the caller
}

func (e *ScaleliteError) Error() string {
	msg := fmt.Sprintf("scalelite on %s: %v", e.Host, e.Err)
	if o := strings.TrimSpace(e.Out); o != "" && !strings.Contains(msg, o) {
		msg += ": " + firstLine(o)
	}
	return msg
}

func (e *ScaleliteError) Unwrap() error { return e.Err }

// scalelite reads `bin/rake servers` once per operation.
func (o *Operation) scalelite(ctx context.Context) *scaleliteView {
	o.slOnce.Do(func() {
		host, ok := o.Env.Config.ScaleliteHost()
		if !ok {
			return
		}
		v := &scaleliteView{host: host}
		o.sl = v
		container := o.Env.Config.ScaleliteContainer()
		if !bbb.ValidContainer(container) {
			v.err = &ScaleliteError{Host: host.Host, Err: fmt.Errorf("container name %q is not valid", container)}
			return
		}
		out, err := o.rake(ctx, bbb.ScaleliteServersArgv(container))
		if err != nil {
			v.err = err
			return
		}
		v.servers, v.err = bbb.ParseScaleliteServers(out)
		if v.err != nil {
			v.err = &ScaleliteError{Host: host.Host, Err: v.err}
		}
	})
	return o.sl
}

// rake runs a rake task on the Scalelite host (sudo -n through a non-root
// login: docker needs root or group docker). Task errors come on stdout
// with exit 1: both streams are kept for the message.
func (o *Operation) rake(ctx context.Context, argv []string) (string, error) {
	host, _ := o.Env.Config.ScaleliteHost()
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, host, ssh.Command{Argv: argv, Sudo: true})
		return err
	})
	if err != nil {
		out := ""
		if res != nil {
			// Both streams (rake prints its errors on stdout), without
			// any line that could hold a server's secret.
			var keep []string
			for _, l := range strings.Split(string(res.Stdout)+"\n"+string(res.Stderr), "\n") {
				if l = strings.TrimSpace(l); l != "" && !strings.Contains(strings.ToLower(l), "secret") {
					keep = append(keep, l)
				}
			}
			out = strings.Join(keep, "\n")
		}
		return "", &ScaleliteError{Host: host.Host, Err: withoutServer(err), Out: out}
	}
	return string(res.Stdout), nil
}

// scaleliteEntry finds a server's Scalelite entry by API URL.
func (v *scaleliteView) entry(s Server) *bbb.ScaleliteServer {
	if v == nil {
		return nil
	}
	for i := range v.servers {
		if bbb.SameServerURL(v.servers[i].URL, s.API.URL) {
			return &v.servers[i]
		}
	}
	return nil
}

// entries finds every Scalelite entry with the server's API URL:
// Scalelite does not keep URLs unique, and a duplicate left enabled would
// still get meetings.
func (v *scaleliteView) entries(s Server) []*bbb.ScaleliteServer {
	if v == nil {
		return nil
	}
	var out []*bbb.ScaleliteServer
	for i := range v.servers {
		if bbb.SameServerURL(v.servers[i].URL, s.API.URL) {
			out = append(out, &v.servers[i])
		}
	}
	return out
}

// entryIDs lists the entries' ids.
func entryIDs(ens []*bbb.ScaleliteServer) string {
	ids := make([]string, len(ens))
	for i, en := range ens {
		ids[i] = en.ID
	}
	return strings.Join(ids, ", ")
}

// inState keeps the entries in the given state.
func inState(ens []*bbb.ScaleliteServer, state string) []*bbb.ScaleliteServer {
	var out []*bbb.ScaleliteServer
	for _, en := range ens {
		if en.State == state {
			out = append(out, en)
		}
	}
	return out
}

// ScaleliteStates reads Scalelite's view of the servers (one rake call):
// by server name, nil when Scalelite is not configured; an error when it
// could not be read. A server missing from Scalelite has no entry.
func (e *Env) ScaleliteStates(ctx context.Context, servers []Server) (map[string]bbb.ScaleliteServer, error) {
	if _, ok := e.Config.ScaleliteHost(); !ok {
		return nil, nil
	}
	o := e.NewOperation("read")
	v := o.scalelite(ctx)
	if v.err != nil {
		return nil, v.err
	}
	out := map[string]bbb.ScaleliteServer{}
	for _, s := range servers {
		if en := v.entry(s); en != nil {
			out[s.Name] = *en
		}
	}
	return out, nil
}

// setScalelite cordons or enables a server in Scalelite.
func (o *Operation) setScalelite(ctx context.Context, action string, en *bbb.ScaleliteServer) error {
	argv, err := bbb.ScaleliteStateArgv(o.Env.Config.ScaleliteContainer(), action, en.ID)
	if err != nil {
		return err
	}
	if _, err := o.rake(ctx, argv); err != nil {
		return err
	}
	if action == "cordon" {
		en.State = bbb.ScaleliteCordoned
	} else {
		en.State = bbb.ScaleliteEnabled
	}
	return nil
}
