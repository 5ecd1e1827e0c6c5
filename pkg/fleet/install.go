package fleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/pkg/bbb"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// Install steps: preflight → run → follow → verify → capture secret →
// register (DESIGN.md, "Operations that change servers").
const (
	StepPreflight = "preflight"
	StepRun       = "run"
	StepFollow    = "follow"
	StepVerify    = "verify"
	StepSecret    = "secret"
	StepRegister  = "register"
	// StepRecheck looks at the meetings and recording work again right
	// before an upgrade starts (the server is cordoned by then).
	StepRecheck = "recheck"
)

// InstallOptions are the choices of `install`.
type InstallOptions struct {
	// Force installs over running meetings (or meetings that cannot be seen).
	Force bool
	// Attach only follows an install that runs (or reports the last one).
	Attach bool
	// Register adds the server to Scalelite and enables it once verified.
	Register bool
	// SkipScalelite upgrades a server running BBB without cordoning it in
	// Scalelite (the administrator took it out by hand).
	SkipScalelite bool
	// Now names the log file (default time.Now).
	Now func() time.Time
	// Resolver resolves the hostname on this machine (default net.DefaultResolver).
	Resolver *net.Resolver
	// Reconnect is the pause before following again after a dropped
	// connection (default 1s).
	Reconnect time.Duration
}

// Preflight statuses.
const (
	PreflightOK    = "ok"
	PreflightWarn  = "warn"
	PreflightBlock = "block"
)

// PreflightCheck is one line of the preflight table.
type PreflightCheck struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Memory and core limits of preflight (reference §3: BBB 3.0 wants 16 GB
// and 8 cores in production). Memory is compared in GB of 10^9 bytes with
// room for what the kernel keeps: a "16 GB" machine shows ~15.6 GB.
const (
	memBlockGB = 7.5
	memWarnGB  = 15.0
	coresBlock = 4
	coresWarn  = 8
	diskWarnGB = 50.0
)

// PreflightError is a server that preflight blocks: nothing was started.
type PreflightError struct{ Blockers []PreflightCheck }

func (e *PreflightError) Error() string {
	var parts []string
	for _, b := range e.Blockers {
		parts = append(parts, b.Check+": "+b.Detail)
	}
	return "preflight blocks the install (nothing was started): " + strings.Join(parts, "; ")
}

// InstallFailedError is an installer that did not succeed, with its own
// error line, its last lines and where its whole output is.
type InstallFailedError struct {
	Status    int
	ErrorLine string
	Last      []string
	Log       string
	// Interrupted: the installer stopped without an exit status (power
	// loss, reboot, killed).
	Interrupted bool
}

func (e *InstallFailedError) Error() string {
	if e.Interrupted {
		return fmt.Sprintf("interrupted: the installer stopped without finishing (power loss or reboot?); its output is in %s on the server", e.Log)
	}
	msg := fmt.Sprintf("the installer exited with status %d", e.Status)
	if e.ErrorLine != "" {
		msg += ": " + e.ErrorLine
	} else if n := len(e.Last); n > 0 {
		msg += ": " + e.Last[n-1]
	}
	return msg + " (log: " + e.Log + " on the server)"
}

// VerifyError says an install that reported success is not a working BBB.
type VerifyError struct{ Problems []string }

func (e *VerifyError) Error() string {
	return "the installer reported success, but the server is not a working BBB: " + strings.Join(e.Problems, "; ")
}

// installRun is what the steps of one server's install share.
type installRun struct {
	series    bbb.InstallSeries
	args      []string
	log       string
	unit      string
	attach    bool // follow an install that runs (or ran)
	startedAt time.Time
	status    bbb.InstallStatus
	secret    string
	mu        sync.Mutex
	last      []string
}

// PlanInstall runs the preflight on every server (one SSH command each, in
// parallel) and plans the install: run, follow, verify, secret, register.
// A server whose install still runs is followed instead (attach).
func (o *Operation) PlanInstall(ctx context.Context, servers []Server, io InstallOptions) []*Plan {
	if io.Now == nil {
		io.Now = time.Now
	}
	if io.Resolver == nil {
		io.Resolver = net.DefaultResolver
	}
	par := o.Env.Opts.Parallel
	if par < 1 {
		par = 16
	}
	res := Run(ctx, servers, RunOptions{Parallel: par}, func(ctx context.Context, s Server) (*Plan, error) {
		return o.planInstall(ctx, s, io), nil
	})
	plans := make([]*Plan, len(res))
	for i, r := range res {
		if r.Value == nil {
			err := r.Err
			if err == nil {
				err = errors.New("no plan")
			}
			r.Value = &Plan{Server: r.Server, Name: r.Server.Name, Action: o.Action, Steps: []*Step{},
				Err: &OpError{Server: r.Server.Name, Step: StepPreflight, Kind: KindFailed, Err: err}}
		}
		plans[i] = r.Value
	}
	return plans
}

func (o *Operation) planInstall(ctx context.Context, s Server, io InstallOptions) *Plan {
	pl := &Plan{Server: s, Name: s.Name, Action: o.Action, Steps: []*Step{}, Meetings: []MeetingRef{}}
	fail := func(err error) *Plan {
		pl.Err = &OpError{Server: s.Name, Step: StepPreflight, Kind: KindFailed, Err: err}
		return pl
	}
	in := s.Install
	se, ok := bbb.Series[in.Series]
	if !ok {
		return fail(fmt.Errorf("install series %q is not known", in.Series))
	}
	ir := &installRun{series: se, unit: bbb.InstallUnit(s.Name),
		args: bbb.InstallArgs(in.Series, in.Hostname, in.Email, in.Args)}

	// One SSH command: the machine's facts and the state of an install.
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, s, ssh.Command{Script: bbb.PreflightScript + "\n" + bbb.InstallStatusScript,
			Stdin: strings.NewReader(in.Hostname + "\n" + in.ScriptURL + "\n")})
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("SSH: %w", trimPrefixErr(err, s.Name)))
	}
	out := string(res.Stdout)
	facts := bbb.ParsePreflight(out)
	st := bbb.ParseInstallStatus(out)
	ir.status = st
	if !facts.Complete {
		return fail(errors.New("the preflight script did not run to its end"))
	}

	// An install that runs is followed, never started twice.
	if st.Known && (st.Running || io.Attach) {
		ir.attach, ir.log, ir.unit = true, st.Log, orStr(st.Unit, ir.unit)
		what := "an install runs on this server: following it (not starting another)"
		if !st.Running {
			what = "the last install has ended: reporting it"
		}
		pl.Preflight = append(pl.Preflight, PreflightCheck{"install", PreflightOK, what + " (log " + st.Log + ")"})
		pl.Notes = append(pl.Notes, what)
		o.installSteps(pl, ir, io)
		return pl
	}
	if io.Attach {
		return fail(errors.New("no install started by bbbfleet was found on this server (nothing to attach to)"))
	}

	checks := o.preflightChecks(ctx, s, facts, io, se)
	pl.Preflight = checks
	var blockers []PreflightCheck
	for _, c := range checks {
		if c.Status == PreflightBlock {
			blockers = append(blockers, c)
		}
	}
	if len(blockers) > 0 {
		pl.Err = &OpError{Server: s.Name, Step: StepPreflight, Kind: KindFailed, Err: &PreflightError{Blockers: blockers}}
		return pl
	}
	// Meetings: only a server with BBB has any.
	if facts.BBBRelease != "" {
		pl.Release = facts.BBBRelease
		ms, err := o.meetings(ctx, s)
		var missing *MissingSecretError
		if errors.As(err, &missing) {
			// No secret here yet (a server installed by hand): read it on
			// the server for this one question, in memory only.
			ms, err = o.meetingsWithServerSecret(ctx, s)
		}
		pl.Meetings = meetingRefs(ms)
		switch {
		case err != nil:
			pl.MeetingsUnknown = trimPrefixErr(err, s.Name).Error()
			pl.Preflight = append(pl.Preflight, PreflightCheck{"meetings", PreflightWarn, "cannot see the meetings: " + pl.MeetingsUnknown})
			if !io.Force {
				pl.Refused = &OpError{Server: s.Name, Step: StepPreflight, Kind: KindRefused,
					Err: &MeetingsRunningError{Unknown: trimPrefixErr(err, s.Name)}}
			}
		case len(ms) > 0:
			pl.Preflight = append(pl.Preflight, PreflightCheck{"meetings", PreflightBlock, fmt.Sprintf("%d running: %s", len(ms), describeMeetings(pl.Meetings, 3))})
			if !io.Force {
				pl.Refused = &OpError{Server: s.Name, Step: StepPreflight, Kind: KindRefused, Meetings: pl.Meetings,
					Err: &MeetingsRunningError{Meetings: pl.Meetings}}
			}
		default:
			pl.Preflight = append(pl.Preflight, PreflightCheck{"meetings", PreflightOK, "none running"})
		}
		// The installer restarts BBB: Scalelite must stop sending meetings
		// here first, as for a stop.
		switch {
		case o.Env.Config.Scalelite == nil:
		case io.SkipScalelite:
			pl.Preflight = append(pl.Preflight, PreflightCheck{"scalelite", PreflightWarn, "--skip-scalelite: not cordoned, Scalelite may send meetings during the install"})
		default:
			sl := o.scalelite(ctx)
			switch {
			case sl.err != nil:
				pl.Preflight = append(pl.Preflight, PreflightCheck{"scalelite", PreflightBlock, sl.err.Error()})
				if pl.Refused == nil {
					pl.Refused = &OpError{Server: s.Name, Step: StepPreflight, Kind: KindRefused, Err: &ScaleliteUnsafeError{Err: sl.err}}
				}
			default:
				pl.Scalelite = sl.entry(s)
				switch {
				case pl.Scalelite == nil:
					pl.Preflight = append(pl.Preflight, PreflightCheck{"scalelite", PreflightOK, "not registered: nothing to cordon"})
				case pl.Scalelite.State == bbb.ScaleliteEnabled:
					pl.Preflight = append(pl.Preflight, PreflightCheck{"scalelite", PreflightOK, "enabled: cordoned before the install, enabled again after verify"})
				default:
					pl.Preflight = append(pl.Preflight, PreflightCheck{"scalelite", PreflightOK, pl.Scalelite.State + ": left as it is"})
				}
			}
		}
	}
	ir.log = bbb.InstallLogDir + "/install-" + io.Now().UTC().Format("20060102T150405Z") + ".log"
	pl.Command = bbb.InstallCommandLine(ir.unit, in.ScriptURL, ir.args, ir.log)
	if !facts.SystemdRun {
		pl.Command = "setsid nohup /bin/bash -c " + ssh.Quote([]string{bbb.InstallWrapper(in.ScriptURL, ir.args, ir.log)}) + " &"
	}
	o.installSteps(pl, ir, io)
	return pl
}

func orStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// preflightChecks turns the facts into the table.
func (o *Operation) preflightChecks(ctx context.Context, s Server, f bbb.PreflightFacts, io InstallOptions, se bbb.InstallSeries) []PreflightCheck {
	in := s.Install
	var cs []PreflightCheck
	add := func(check, status, format string, a ...any) {
		cs = append(cs, PreflightCheck{Check: check, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	hasFlag := func(fl string) bool { return slices.Contains(in.Args, fl) }
	// Ubuntu release.
	switch {
	case f.OSID != "ubuntu":
		add("ubuntu", PreflightBlock, "not Ubuntu (%s): %s needs Ubuntu %s", orStr(f.OSPretty, "unknown"), se.Name, se.Ubuntu)
	case f.OSVersion != se.Ubuntu:
		add("ubuntu", PreflightBlock, "Ubuntu %s: %s needs Ubuntu %s", f.OSVersion, se.Name, se.Ubuntu)
	default:
		add("ubuntu", PreflightOK, "%s", orStr(f.OSPretty, "Ubuntu "+f.OSVersion))
	}
	if f.Arch == "x86_64" {
		add("arch", PreflightOK, "x86_64")
	} else {
		add("arch", PreflightBlock, "%q: bbb-install.sh needs x86_64", f.Arch)
	}
	gb := float64(f.MemKB) * 1024 / 1e9
	switch {
	case f.MemKB == 0:
		add("memory", PreflightWarn, "unknown")
	case gb < memBlockGB:
		add("memory", PreflightBlock, "%.1f GB: at least 8 GB needed (16 GB for production)", gb)
	case gb < memWarnGB:
		add("memory", PreflightWarn, "%.1f GB: 16 GB recommended for production", gb)
	default:
		add("memory", PreflightOK, "%.1f GB", gb)
	}
	switch {
	case f.Cores == 0:
		add("cores", PreflightWarn, "unknown")
	case f.Cores < coresBlock:
		add("cores", PreflightBlock, "%d: at least 4 needed (8 for production)", f.Cores)
	case f.Cores < coresWarn:
		add("cores", PreflightWarn, "%d: 8 recommended for production", f.Cores)
	default:
		add("cores", PreflightOK, "%d", f.Cores)
	}
	dgb := float64(f.DiskFreeKB) * 1024 / 1e9
	switch {
	case !f.DiskKnown:
		add("disk", PreflightWarn, "free space on / unknown")
	case dgb < diskWarnGB:
		add("disk", PreflightWarn, "%.1f GB free on /: 50 GB recommended (500 GB with recordings)", dgb)
	default:
		add("disk", PreflightOK, "%.0f GB free on /", dgb)
	}
	cs = append(cs, o.resolveCheck(ctx, s, f, io))
	// Web ports.
	var holders []string
	for _, p := range f.Ports {
		if p.Process == "nginx" || p.Process == "haproxy" {
			continue // BBB's own (an upgrade)
		}
		holders = append(holders, fmt.Sprintf("port %d held by %s", p.Port, orStr(p.Process, "a process ss could not name")))
	}
	switch {
	case f.Apache2 && !hasFlag("-i"):
		add("ports", PreflightBlock, "apache2 is installed (bbb-install.sh refuses it): remove it, or add -i to install.flags%s", joinPrefix("; ", holders))
	case len(holders) > 0:
		add("ports", PreflightBlock, "%s: BBB needs ports 80 and 443", strings.Join(holders, ", "))
	default:
		add("ports", PreflightOK, "80 and 443 free (or BBB's own)")
	}
	switch {
	case !f.IPv6Known:
		add("ipv6", PreflightWarn, "unknown")
	case !f.IPv6Global:
		add("ipv6", PreflightWarn, "no global IPv6 address (BBB wants IPv4 and IPv6)")
	default:
		add("ipv6", PreflightOK, "present")
	}
	// An existing BBB.
	switch rs, ok := bbb.SeriesOfRelease(f.BBBRelease); {
	case f.BBBRelease == "":
		add("bbb", PreflightOK, "not installed: fresh install")
	case ok && rs.Name == se.Name:
		add("bbb", PreflightOK, "BBB %s installed: upgrade within %s", f.BBBRelease, se.Name)
	default:
		add("bbb", PreflightBlock, "BBB %s installed: another series than %s (bbb-install.sh upgrades only within a series)", f.BBBRelease, se.Name)
	}
	switch f.Sudo {
	case "root", "nopasswd":
		add("sudo", PreflightOK, "%s", map[string]string{"root": "logged in as root", "nopasswd": "sudo without a password"}[f.Sudo])
	default:
		add("sudo", PreflightBlock, "sudo wants a password for %s: allow it NOPASSWD in sudoers, or log in as root", orStr(s.SSH.User, "the login"))
	}
	switch {
	case f.URLStatus == 0:
		add("script", PreflightOK, "%s reachable", in.ScriptURL)
	case f.URLStatus == 22 || f.URLStatus == 8:
		add("script", PreflightBlock, "%s: not found on the server (%s)", in.ScriptURL, orStr(firstLine(f.URLOut), fmt.Sprintf("status %d", f.URLStatus)))
	default:
		add("script", PreflightBlock, "%s: not reachable from the server (%s)", in.ScriptURL, orStr(firstLine(f.URLOut), fmt.Sprintf("status %d", f.URLStatus)))
	}
	if f.SystemdRun {
		add("detach", PreflightOK, "systemd-run")
	} else {
		add("detach", PreflightWarn, "no systemd-run: setsid nohup instead")
	}
	return cs
}

func joinPrefix(sep string, parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return sep + strings.Join(parts, ", ")
}

// resolveCheck: the hostname resolves to the server's address, from here
// and from the server.
func (o *Operation) resolveCheck(ctx context.Context, s Server, f bbb.PreflightFacts, io InstallOptions) PreflightCheck {
	h := s.Install.Hostname
	c := PreflightCheck{Check: "dns"}
	rctx, cancel := context.WithTimeout(ctx, o.callTimeout())
	defer cancel()
	want, err := io.Resolver.LookupHost(rctx, s.Host)
	if err != nil {
		c.Status, c.Detail = PreflightWarn, fmt.Sprintf("cannot resolve the server's host %s here: %v", s.Host, err)
		return c
	}
	got, err := io.Resolver.LookupHost(rctx, h)
	if err != nil {
		c.Status, c.Detail = PreflightBlock, fmt.Sprintf("%s does not resolve here: %v (Let's Encrypt needs it to)", h, err)
		return c
	}
	if !overlap(want, got) {
		c.Status, c.Detail = PreflightBlock, fmt.Sprintf("%s resolves here to %s, not to the server's %s", h, strings.Join(got, " "), strings.Join(want, " "))
		return c
	}
	switch {
	case len(f.Resolved) == 0:
		c.Status, c.Detail = PreflightBlock, fmt.Sprintf("%s does not resolve on the server (getent)", h)
	case overlap(want, f.Resolved):
		c.Status, c.Detail = PreflightOK, fmt.Sprintf("%s → %s, here and on the server", h, strings.Join(got, " "))
	case allLoopback(f.Resolved):
		c.Status, c.Detail = PreflightWarn, fmt.Sprintf("%s → %s here, but %s on the server (/etc/hosts)", h, strings.Join(got, " "), strings.Join(f.Resolved, " "))
	default:
		c.Status, c.Detail = PreflightBlock, fmt.Sprintf("%s resolves on the server to %s, not to %s", h, strings.Join(f.Resolved, " "), strings.Join(want, " "))
	}
	return c
}

func overlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			ix, iy := net.ParseIP(x), net.ParseIP(y)
			if ix != nil && iy != nil && ix.Equal(iy) {
				return true
			}
		}
	}
	return false
}

func allLoopback(as []string) bool {
	for _, a := range as {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// installSteps appends the steps of an install (or of an attach).
func (o *Operation) installSteps(pl *Plan, ir *installRun, io InstallOptions) {
	s := pl.Server
	pre := &Step{Name: StepPreflight, Description: "the checks above (done while planning)",
		run: func(ctx context.Context, r *serverRun) error {
			w := 0
			for _, c := range pl.Preflight {
				if c.Status == PreflightWarn {
					w++
				}
			}
			r.done(fmt.Sprintf("%d %s, %d %s", len(pl.Preflight), plural(len(pl.Preflight), "check", "checks"), w, plural(w, "warning", "warnings")), nil, nil)
			return nil
		}}
	runStep := &Step{Name: StepRun, Description: "start bbb-install.sh detached from this SSH session",
		Touches: "ssh (sudo): " + pl.Command, run: func(ctx context.Context, r *serverRun) error { return o.runInstaller(ctx, r, ir) }}
	if ir.attach {
		runStep.Skip = "attaching to the install on the server"
	}
	follow := &Step{Name: StepFollow, Description: "follow the installer's output until it ends (" + s.Install.Timeout.D().String() + " at most)",
		Touches: "ssh: tail -F " + orStr(ir.log, bbb.InstallLogDir+"/install-TIME.log"),
		run:     func(ctx context.Context, r *serverRun) error { return o.followInstall(ctx, r, ir, io) }}
	verify := &Step{Name: StepVerify, Description: "units active, API answers, bbb-conf --check clean, version of " + ir.series.Name,
		Touches: "ssh: bbb-conf --status, sudo bbb-conf --check; API root call",
		run:     func(ctx context.Context, r *serverRun) error { return o.verifyInstall(ctx, r, ir) }}
	secret := &Step{Name: StepSecret, Description: "read the secret (bbb-conf --secret), verify it with a signed call, write the secrets file",
		Touches: "ssh: bbb-conf --secret; secrets file " + o.secretsPath(),
		run:     func(ctx context.Context, r *serverRun) error { return o.captureSecret(ctx, r, ir) }}
	register := &Step{Name: StepRegister, Description: "add to Scalelite and enable it",
		run: func(ctx context.Context, r *serverRun) error { return o.registerInstall(ctx, r, ir) }}
	switch {
	case !io.Register:
		register.Skip = "not asked (--register)"
	case o.Env.Config.Scalelite == nil:
		register.Skip = "Scalelite is not configured"
	default:
		h, _ := o.Env.Config.ScaleliteHost()
		register.Touches = fmt.Sprintf("Scalelite on %s: rails runner (URL and secret on stdin), then servers:enable", h.Host)
	}
	// An upgrade of a server running BBB: cordon, look again, and enable
	// again after verify what was enabled before.
	upgrade := !ir.attach && pl.Release != ""
	cordon := &Step{Name: StepCordon, Description: "take no new meetings during the install (Scalelite cordon)", run: o.runCordon}
	recheck := &Step{Name: StepRecheck, Description: "meetings and recording work, again, right before the installer starts",
		Touches: "API getMeetings; ssh: the recording status directories",
		run:     func(ctx context.Context, r *serverRun) error { return o.recheckInstall(ctx, r, io) }}
	enable := &Step{Name: StepEnable, Description: "take meetings again (Scalelite enable), as before the install", run: o.runEnable}
	h, _ := o.Env.Config.ScaleliteHost()
	switch {
	case !upgrade:
		cordon.Skip, enable.Skip = "no BBB running here", "no BBB was running here"
	case o.Env.Config.Scalelite == nil:
		cordon.Skip, enable.Skip = "Scalelite is not configured", "Scalelite is not configured"
	case io.SkipScalelite:
		cordon.Skip, enable.Skip = "--skip-scalelite: Scalelite is left alone", "--skip-scalelite: Scalelite is left alone"
	case pl.Scalelite == nil:
		cordon.Skip, enable.Skip = "not registered in Scalelite", "not registered in Scalelite"
	case pl.Scalelite.State != bbb.ScaleliteEnabled:
		cordon.Skip = "already " + pl.Scalelite.State + " in Scalelite"
		enable.Skip = "left as it was (" + pl.Scalelite.State + " in Scalelite before the install)"
	default:
		container := o.Env.Config.ScaleliteContainer()
		cordon.Touches = fmt.Sprintf("Scalelite on %s: %s", h.Host, ssh.Quote(bbb.RakeArgv(container, "servers:cordon", pl.Scalelite.ID)))
		enable.Touches = fmt.Sprintf("Scalelite on %s: %s", h.Host, ssh.Quote(bbb.RakeArgv(container, "servers:enable", pl.Scalelite.ID)))
	}
	if !upgrade {
		recheck.Skip = "no BBB running here"
	}
	pl.Steps = append(pl.Steps, pre, cordon, recheck, runStep, follow, verify, enable, secret, register)
}

// recheckInstall looks at the meetings and the recording work again right
// before an upgrade starts: the plan's look may be minutes old. Without
// --force, anything there (or anything that cannot be seen) refuses.
func (o *Operation) recheckInstall(ctx context.Context, r *serverRun, io InstallOptions) error {
	s := r.s
	p := &probe{}
	done := make(chan struct{})
	go func() {
		ms, err := o.meetings(ctx, s)
		var missing *MissingSecretError
		if errors.As(err, &missing) {
			ms, err = o.meetingsWithServerSecret(ctx, s)
		}
		p.meetings, p.apiErr = ms, err
		close(done)
	}()
	o.probeSSH(ctx, s, p)
	<-done
	refs := meetingRefs(p.meetings)
	var mr *MeetingsRunningError
	switch {
	case p.apiErr != nil:
		mr = &MeetingsRunningError{Unknown: trimPrefixErr(p.apiErr, s.Name), Recordings: p.recordings}
	case p.sshErr != nil:
		mr = &MeetingsRunningError{Unknown: fmt.Errorf("%w: %v", ErrRecordingsUnreadable, trimPrefixErr(p.sshErr, s.Name)), Meetings: refs}
	case p.recsErr != nil:
		mr = &MeetingsRunningError{Unknown: p.recsErr, Meetings: refs}
	case len(refs) > 0 || len(p.recordings) > 0:
		mr = &MeetingsRunningError{Meetings: refs, Recordings: p.recordings}
	}
	if mr == nil {
		r.done("no meetings, no recording work pending", nil, nil)
		return nil
	}
	if io.Force {
		r.done("--force: installing over "+mr.Error(), refs, nil)
		return nil
	}
	return &OpError{Server: s.Name, Step: StepRecheck, Kind: KindRefused, Err: mr, Meetings: refs, Recordings: p.recordings}
}

func (o *Operation) secretsPath() string {
	if o.Env.Secrets != nil && o.Env.Secrets.Path != "" {
		return o.Env.Secrets.Path
	}
	return "(none configured)"
}

// runInstaller starts the installer detached (systemd-run, or setsid
// nohup). The start script is sent once: never retried after a dropped
// connection (it may have run) and not cut off by Ctrl-C (the operation
// stops after it, as bbbConf does). The script refuses by itself to start
// while an install runs (bbb.InstallLiveGuard). After any error the
// install's status is read: a live install is followed, else the server's
// state is reported as unknown when the script may have run.
func (o *Operation) runInstaller(ctx context.Context, r *serverRun, ir *installRun) error {
	s := r.s
	script := bbb.InstallStartScript(ir.unit, s.Install.ScriptURL, ir.args, ir.log)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.callTimeout()+15*time.Second)
	defer cancel()
	stopNote := context.AfterFunc(ctx, func() {
		r.progress("interrupted: letting the installer's start finish (Ctrl-C again to leave at once)", nil, nil)
	})
	defer stopNote()
	res, err := o.Env.Remote(cctx, s, ssh.Command{Script: script, Sudo: true})
	if err == nil {
		ir.startedAt = time.Now()
		r.half = "installer started"
		if ctx.Err() != nil {
			return errStartedThenInterrupted
		}
		r.done("started as "+ir.unit+", output in "+ir.log+" on the server", nil, map[string]any{"unit": ir.unit, "log": ir.log})
		return nil
	}
	msg := trimPrefixErr(err, s.Name).Error()
	if res != nil {
		if l := firstLine(string(res.Stderr)); l != "" {
			msg += ": " + l
		}
	}
	broken := connectionBroken(err)
	if broken {
		o.Env.forget(s.Name)
	}
	st, serr := o.statusAfterStart(ctx, s, broken)
	switch {
	case serr == nil && st.Known && st.Log == ir.log && (st.Running || st.Ended):
		// Ours started (the answer was lost): follow it.
		ir.startedAt = time.Now()
		r.half = "installer started"
		r.done("started as "+ir.unit+" (the answer to the start was lost: "+firstLine(msg)+"), output in "+ir.log+" on the server",
			nil, map[string]any{"unit": ir.unit, "log": ir.log})
		return nil
	case serr == nil && st.Known && st.Running:
		// Another install runs (started meanwhile): follow that one.
		ir.log, ir.unit = st.Log, orStr(st.Unit, ir.unit)
		ir.startedAt = time.Now()
		r.half = "installer started"
		r.done("an install runs already on this server: following it (not starting another; log "+st.Log+")",
			nil, map[string]any{"unit": ir.unit, "log": ir.log})
		return nil
	case serr == nil:
		return fmt.Errorf("could not start the installer: %s", msg)
	case broken:
		return &InstallStartUnknownError{Server: s.Name, Err: fmt.Errorf("%s; reading the install's status: %w", msg, trimPrefixErr(serr, s.Name))}
	}
	return fmt.Errorf("could not start the installer: %s", msg)
}

// statusAfterStart reads the install's status after a failed start; after
// a broken connection it tries again for a while (sshd restarting, a
// network blip), as following does.
func (o *Operation) statusAfterStart(ctx context.Context, s Server, broken bool) (bbb.InstallStatus, error) {
	deadline := time.Now().Add(max(30*time.Second, 2*o.callTimeout()))
	for {
		st, err := o.installStatus(ctx, s)
		if err == nil || !broken || !followRetryable(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return st, err
		}
		o.Env.forget(s.Name)
		if sleepCtx(ctx, 500*time.Millisecond) != nil {
			return st, err
		}
	}
}

// errStartedThenInterrupted: Ctrl-C came while the installer was being
// started; the start finished, and the installer goes on.
var errStartedThenInterrupted = errors.New("interrupted after the installer had started (it goes on on the server)")

// InstallStartUnknownError: the start script was sent, the connection
// broke and the install's status could not be read: the installer may run.
type InstallStartUnknownError struct {
	Server string
	Err    error
}

func (e *InstallStartUnknownError) Error() string {
	return fmt.Sprintf("the connection broke while the installer was starting (%v): whether it runs is unknown, check with `bbbfleet install --attach %s`", e.Err, e.Server)
}

func (e *InstallStartUnknownError) Unwrap() error { return e.Err }

// installStatus reads the state of the install (one command).
func (o *Operation) installStatus(ctx context.Context, s Server) (bbb.InstallStatus, error) {
	var res *ssh.Result
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, s, ssh.Command{Script: bbb.InstallStatusScript})
		return err
	})
	if err != nil {
		return bbb.InstallStatus{}, err
	}
	return bbb.ParseInstallStatus(string(res.Stdout)), nil
}

// lineSink turns the followed output into lines.
type lineSink struct {
	n       int64
	partial []byte
	line    func(string)
}

// maxLine is the longest line kept whole; a longer one is cut there.
const maxLine = 64 << 10

func (w *lineSink) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	w.partial = append(w.partial, b...)
	for len(w.partial) > maxLine && slices.Index(w.partial[:maxLine], '\n') < 0 {
		w.line(string(w.partial[:maxLine]))
		w.partial = w.partial[maxLine:]
	}
	for {
		i := slices.Index(w.partial, '\n')
		if i < 0 {
			break
		}
		l := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		w.line(l)
	}
	return len(b), nil
}

// followInstall follows the log until the installer ends, reconnecting
// after a dropped connection; it never stops the installer.
func (o *Operation) followInstall(ctx context.Context, r *serverRun, ir *installRun, io InstallOptions) error {
	s := r.s
	timeout := s.Install.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultInstallTimeout
	}
	deadline := time.Now().Add(timeout)
	pause := io.Reconnect
	if pause <= 0 {
		pause = time.Second
	}
	phase := ""
	var exitLine string
	sink := &lineSink{line: func(l string) {
		if strings.HasPrefix(l, bbb.InstallExitMark) {
			exitLine = l
			return
		}
		if strings.TrimSpace(l) == "" {
			return
		}
		if p := bbb.InstallPhase(l); p != "" {
			phase = p
		}
		ir.mu.Lock()
		ir.last = append(ir.last, l)
		if len(ir.last) > 20 {
			ir.last = ir.last[len(ir.last)-20:]
		}
		ir.mu.Unlock()
		msg := l
		if phase != "" {
			msg = phase + ": " + l
		}
		r.progress(msg, nil, map[string]any{"phase": phase, "line": l})
	}}
	drops := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the installer still runs after install.timeout %s; it goes on on the server (log %s)", timeout, ir.log)
		}
		st, err := o.installStatus(ctx, s)
		if err == nil && st.Known && st.Log != ir.log {
			return fmt.Errorf("another install was started on the server meanwhile (log %s)", st.Log)
		}
		if err == nil {
			pid := 0
			if st.Running {
				pid = st.MainPID
			}
			fctx, cancel := context.WithDeadline(ctx, deadline)
			_, err = o.remote(fctx, s, ssh.Command{Script: bbb.InstallFollowScript(ir.log, sink.n, pid), Sudo: true, Stdout: sink, MaxOutput: 1 << 16})
			cancel()
			if err == nil || (errors.As(err, new(*ssh.ExitError)) && !connectionBroken(err)) {
				st2, err2 := o.installStatus(ctx, s)
				if err2 == nil {
					switch {
					case st2.Ended:
						return o.installEnded(r, ir, st2.ExitStatus)
					case exitLine != "":
						var n int
						fmt.Sscanf(strings.TrimPrefix(exitLine, bbb.InstallExitMark), "%d", &n)
						return o.installEnded(r, ir, n)
					case !st2.Running:
						return o.installFailure(ir, -1, true)
					}
					// Still running (tail ended early): follow on, after a
					// pause, so that a tail that keeps ending is no busy loop.
					if err := sleepCtx(ctx, pause/4); err != nil {
						return err
					}
					continue
				}
				err = err2
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !followRetryable(err) {
			return fmt.Errorf("following the installer: %w", trimPrefixErr(err, s.Name))
		}
		drops++
		o.Env.forget(s.Name)
		if drops == 1 || drops%10 == 0 {
			r.progress(fmt.Sprintf("connection lost (%s): the installer goes on; reconnecting", firstLine(trimPrefixErr(err, s.Name).Error())), nil, nil)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (o *Operation) installEnded(r *serverRun, ir *installRun, status int) error {
	if status != 0 {
		return o.installFailure(ir, status, false)
	}
	r.half = "installer finished"
	r.done("the installer exited with status 0 (not taken as proof: verifying)", nil, map[string]any{"exit_status": 0})
	return nil
}

func (o *Operation) installFailure(ir *installRun, status int, interrupted bool) error {
	ir.mu.Lock()
	last := append([]string(nil), ir.last...)
	ir.mu.Unlock()
	return &InstallFailedError{Status: status, ErrorLine: bbb.InstallerError(last), Last: last, Log: ir.log, Interrupted: interrupted}
}

// verifyInstall: the units, the API, bbb-conf --check and the version.
func (o *Operation) verifyInstall(ctx context.Context, r *serverRun, ir *installRun) error {
	s := r.s
	deadline := time.Now().Add(max(2*time.Minute, o.callTimeout()))
	var problems []string
	for {
		var settling bool
		problems, settling = o.verifyOnce(ctx, s, ir)
		if len(problems) == 0 {
			r.half = ""
			r.done("units active, API answers, bbb-conf --check clean, version fits "+ir.series.Name, nil, nil)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !settling || time.Now().After(deadline) {
			return &VerifyError{Problems: problems}
		}
		t := time.NewTimer(readyPoll * 4)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// verifyOnce returns what is wrong, and whether it may still settle
// (units starting, the API not answering yet) rather than be final (a
// unit failed, a problem bbb-conf --check reports on a started server).
func (o *Operation) verifyOnce(ctx context.Context, s Server, ir *installRun) (problems []string, settling bool) {
	us, err := o.units(ctx, s)
	switch {
	case err != nil:
		return []string{"bbb-conf --status: " + trimPrefixErr(err, s.Name).Error()}, true
	case len(us) == 0:
		problems = append(problems, "bbb-conf --status lists no units")
	case !unitsActive(us):
		problems = append(problems, "units not active: "+strings.Join(firstN(notActive(us), 4), ", "))
		for _, u := range us {
			if u.State == "activating" || u.State == "reloading" {
				settling = true
			}
		}
	}
	c, err := o.Env.APIUnsigned(s)
	if err == nil {
		err = o.call(ctx, func(ctx context.Context) error { _, err := c.Root(ctx); return err })
	}
	if err != nil {
		problems = append(problems, "API: "+trimPrefixErr(err, s.Name).Error())
		settling = true
	}
	var res *ssh.Result
	err = o.call(ctx, func(ctx context.Context) error {
		var err error
		res, err = o.remote(ctx, s, ssh.Command{Script: "bbb-conf --check; echo --bbbfleet-release--; cat /etc/bigbluebutton/bigbluebutton-release", Sudo: true})
		return err
	})
	if err != nil {
		return append(problems, "bbb-conf --check: "+trimPrefixErr(err, s.Name).Error()), true
	}
	check, rel, _ := strings.Cut(string(res.Stdout), "--bbbfleet-release--\n")
	if p, found := bbb.CheckProblems(check); !found {
		problems = append(problems, "bbb-conf --check printed no '# Potential problems described below'")
	} else if len(p) > 0 {
		problems = append(problems, "bbb-conf --check reports: "+strings.Join(firstN(p, 4), " | "))
	}
	release, err := bbb.ParseRelease(rel)
	if rs, ok := bbb.SeriesOfRelease(release); err != nil || !ok || rs.Name != ir.series.Name {
		problems = append(problems, fmt.Sprintf("BBB release %q does not fit %s (%s)", release, ir.series.Name, ir.series.BBB))
	}
	return problems, settling
}

// captureSecret reads, verifies and saves the secret as `secret fetch` does.
func (o *Operation) captureSecret(ctx context.Context, r *serverRun, ir *installRun) error {
	var f *SecretFetch
	o.call(ctx, func(ctx context.Context) error {
		f = o.Env.fetchSecret(ctx, r.s, SecretFetchOptions{})
		return nil
	})
	if f.Err != nil {
		return f.Err
	}
	n, err := o.Env.SaveFetchedSecrets([]*SecretFetch{f})
	if err != nil {
		return fmt.Errorf("the secret was verified but not saved: %w", err)
	}
	if o.Env.Secrets != nil {
		o.Env.Secrets.Set(r.s.Name, f.secret)
	}
	ir.secret = f.secret
	msg := "secret verified with a signed call, unchanged in the secrets file"
	if n > 0 {
		msg = "secret verified with a signed call and written to the secrets file"
	}
	if f.EnvOverride != "" {
		msg += "; note: " + f.EnvOverride + " is set and overrides the file"
	}
	if f.URLDiffers {
		msg += fmt.Sprintf("; note: bbb-conf reports %s, api.url is %s", f.ReportedURL, r.s.API.URL)
	}
	r.done(msg, nil, map[string]any{"secret": f.Status})
	return nil
}

// InstallOutcomes states what each server was left as after an install
// (the seam's words are about start and stop).
func InstallOutcomes(outs []*Outcome) {
	for _, oc := range outs {
		if oc.Action != "install" {
			continue
		}
		state := ""
		switch {
		case oc.Result == ResultDone:
			state, oc.Message = "installed, verified, secret saved", "installed and verified"
		case oc.Err == nil:
			continue
		case oc.Err.Step == StepPreflight || oc.Err.Step == StepCheck || oc.Err.Step == "":
			state = "untouched"
		case oc.Err.Step == StepCordon:
			state = "untouched (the cordon failed)"
		case oc.Err.Step == StepRecheck:
			// The installer did not start; the seam's words name the cordon
			// and its undo (bbbfleet start NAME).
			continue
		case oc.Err.Step == StepEnable:
			state = "installed and verified; still cordoned in Scalelite"
		case oc.Err.Step == StepRun && errors.Is(oc.Err, errStartedThenInterrupted):
			state = "the installer goes on on the server"
		case oc.Err.Step == StepRun && errors.As(oc.Err, new(*InstallStartUnknownError)):
			state = "unknown: the installer may run, check with `bbbfleet install --attach " + oc.Server + "`"
		case oc.Err.Step == StepRun:
			state = "untouched (the installer did not start)"
		case oc.Err.Step == StepFollow && oc.Result == ResultInterrupted:
			state = "the installer goes on on the server"
		case oc.Err.Step == StepFollow:
			var fe *InstallFailedError
			if errors.As(oc.Err, &fe) && fe.Interrupted {
				state = "as the interrupted installer left it"
			} else {
				state = "as the installer left it"
			}
		case oc.Err.Step == StepVerify:
			state = "installed but not working (as the installer left it)"
		case oc.Err.Step == StepSecret:
			state = "installed and verified; secret not saved"
		case oc.Err.Step == StepRegister:
			state = "installed and verified, secret saved; not (fully) in Scalelite"
		}
		undo := ""
		if oc.Err != nil && strings.Contains(oc.Err.State, "cordoned in Scalelite") {
			// Cordoned before the install and not enabled again.
			if !strings.Contains(state, "cordoned") {
				state += "; cordoned in Scalelite"
			}
			undo = "bbbfleet start " + oc.Server
		}
		oc.State = state
		oc.Undo = undo
		if oc.Err != nil {
			oc.Err.State, oc.Err.Undo = state, undo
		}
	}
}

// followRetryable: following again may help (a dropped or refused
// connection, a machine going down or booting, a command cut short), as
// opposed to an answer the next try would repeat (host key, no accepted
// key, sudo wanting a password).
func followRetryable(err error) bool {
	var hk *ssh.HostKeyError
	if errors.As(err, &hk) || errors.Is(err, ssh.ErrSudoPassword) || errors.Is(err, ErrEnvClosed) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"no usable key", "no accepted key", "host key"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// meetingsWithServerSecret asks getMeetings with the secret read from the
// server (bbb-conf --secret, as secret fetch reads it); the secret is
// neither saved nor shown.
func (o *Operation) meetingsWithServerSecret(ctx context.Context, s Server) ([]bbb.Meeting, error) {
	var f *SecretFetch
	o.call(ctx, func(ctx context.Context) error {
		f = o.Env.fetchSecret(ctx, s, SecretFetchOptions{NoVerify: true})
		return nil
	})
	if f.Err != nil || f.secret == "" {
		return nil, fmt.Errorf("no API secret, and none could be read on the server: %w", orErr(f.Err, errors.New("bbb-conf --secret printed none")))
	}
	c, err := o.Env.APIUnsigned(s)
	if err != nil {
		return nil, err
	}
	c.Secret = f.secret
	var ms []bbb.Meeting
	err = o.call(ctx, func(ctx context.Context) error {
		var err error
		ms, err = c.GetMeetings(ctx)
		return err
	})
	return ms, err
}

func orErr(err, d error) error {
	if err != nil {
		return err
	}
	return d
}
