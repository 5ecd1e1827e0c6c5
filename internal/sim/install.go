package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"mvdan.cc/sh/v3/syntax"
)

// This file is the stand-in for installing BBB (reference §3, §7): a
// machine without BBB (its release, architecture, IPv6, apache2, name
// resolution), bbb-install.sh as wget fetches it from its URL (answered by
// the emulation: nothing goes to the internet), the installer itself with
// its flags, its own checks and its progress in phases, and systemd-run
// with the transient unit it leaves (systemctl show, reset-failed), the
// files it writes under /var/log/bbbfleet and /var/lib/bbbfleet, and tail
// -F following them.
//
// A unit started with systemd-run runs detached from the SSH session that
// started it: in its own process when Options.Detach is set (bbbsim forks
// itself, so the run outlives sshd's session), else in a goroutine of the
// process that hosts the emulation (the demo). Power loss ends it: its
// unit is gone after the boot, its log stops where it was.

// Machine holds the facts of the machine under a simulated server that
// only matter before BBB is installed.
type Machine struct {
	// NoBBB: BigBlueButton is not installed (no bbb-conf, no units, the
	// API does not answer).
	NoBBB bool `json:"noBBB,omitempty"`
	// Ubuntu is the release (VERSION_ID); "" is 22.04.
	Ubuntu string `json:"ubuntu,omitempty"`
	// Arch is what uname -m prints; "" is x86_64.
	Arch string `json:"arch,omitempty"`
	// NoIPv6: the machine has no IPv6 (no /proc/net/if_inet6).
	NoIPv6 bool `json:"noIPv6,omitempty"`
	// Apache2 is installed and listens on port 80.
	Apache2 bool `json:"apache2,omitempty"`
	// Address is the machine's own address (what getent answers for its
	// host name); "" is the host name itself when it is an IP address.
	Address string `json:"address,omitempty"`
	// Resolve are getent's answers for other names.
	Resolve map[string][]string `json:"resolve,omitempty"`
	// ScriptURLs are more URLs that serve bbb-install.sh (value: the
	// series); the official URLs always do.
	ScriptURLs map[string]string `json:"scriptURLs,omitempty"`
	// Offline: the script's host cannot be reached (DNS fails).
	Offline bool `json:"offline,omitempty"`
	// NoSystemdRun: the machine has no systemd-run (a container, an
	// init without systemd): setsid and nohup are there.
	NoSystemdRun bool `json:"noSystemdRun,omitempty"`
	// InstallDelay is how long each installer phase takes.
	InstallDelay time.Duration `json:"installDelay,omitempty"`
	// StartDelay is how long systemd-run takes to return after it has
	// started its unit (a slow or loaded machine): a window in which a
	// connection can drop after the install has started.
	StartDelay time.Duration `json:"startDelay,omitempty"`
	// InstallFault makes the installer fail: "midway" (Let's Encrypt
	// fails), "unit-failed" (exit 0 but a unit failed).
	InstallFault string `json:"installFault,omitempty"`
	// InstallRuns counts the runs of the installer.
	InstallRuns int `json:"installRuns,omitempty"`
	// Files are the files under /var/log/bbbfleet and /var/lib/bbbfleet.
	Files map[string]string `json:"files,omitempty"`
	// Transient are the units systemd-run started, by name.
	Transient map[string]TransientUnit `json:"transient,omitempty"`
	NextPID   int                      `json:"nextPID,omitempty"`
}

// TransientUnit is a unit systemd-run started.
type TransientUnit struct {
	PID int `json:"pid"`
	// RealPID is the process that runs it, when it runs in a process of
	// its own (bbbsim unit-run): what $$ and kill -0 see.
	RealPID        int       `json:"realPID,omitempty"`
	Active         string    `json:"active"` // active, inactive, failed
	Result         string    `json:"result"` // success, exit-code
	ExecMainStatus int       `json:"execMainStatus"`
	Boot           time.Time `json:"boot"`
	Argv           []string  `json:"argv"`
}

// Installer fault modes (Machine.InstallFault).
const (
	FaultMidway     = "midway"
	FaultUnitFailed = "unit-failed"
)

// NewMachine makes s a fresh machine without BBB.
func (s *State) NewMachine() {
	s.Machine.NoBBB = true
	s.Units = map[string]string{}
	s.Meetings = nil
	s.Release = ""
	s.Secret = ""
	s.Stopped = false
}

func (m Machine) ubuntu() string {
	if m.Ubuntu == "" {
		return "22.04"
	}
	return m.Ubuntu
}

func (m Machine) arch() string {
	if m.Arch == "" {
		return "x86_64"
	}
	return m.Arch
}

var ubuntuNames = map[string][2]string{
	"20.04": {"focal", "Ubuntu 20.04.6 LTS"},
	"22.04": {"jammy", "Ubuntu 22.04.4 LTS"},
	"24.04": {"noble", "Ubuntu 24.04.1 LTS"},
}

func osRelease(m Machine) string {
	v := m.ubuntu()
	n := ubuntuNames[v]
	if n[0] == "" {
		n = [2]string{"unknown", "Ubuntu " + v}
	}
	return fmt.Sprintf("PRETTY_NAME=%q\nNAME=\"Ubuntu\"\nVERSION_ID=%q\nVERSION=\"%s (%s)\"\nVERSION_CODENAME=%s\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=%s\n",
		n[1], v, strings.TrimPrefix(n[1], "Ubuntu "), n[0], n[0], n[0])
}

func lsbRelease(m Machine) string {
	v := m.ubuntu()
	n := ubuntuNames[v]
	return fmt.Sprintf("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=%s\nDISTRIB_CODENAME=%s\nDISTRIB_DESCRIPTION=%q\n", v, n[0], n[1])
}

// installRoots are the directories whose files live in Machine.Files.
var installRoots = []string{"/var/log/bbbfleet", "/var/lib/bbbfleet"}

func installFile(p string) bool {
	for _, r := range installRoots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// addMachineFiles adds the machine's files to the virtual file system.
func (h *Host) addMachineFiles(v vfs, s State) {
	v.add("/etc/os-release", &vnode{content: osRelease(s.Machine)})
	if !s.Machine.NoIPv6 {
		v.add("/proc/net/if_inet6", &vnode{content: "00000000000000000000000000000001 01 80 10 80       lo\n" +
			"20010db8000000000000000000000013 02 40 00 80     eth0\nfe80000000000000025056fffe8a0b1c 02 40 20 80     eth0\n"})
	}
	for _, r := range installRoots {
		v.add(r, &vnode{dir: true, kids: map[string]bool{}})
	}
	for p, c := range s.Machine.Files {
		v.add(p, &vnode{content: c})
	}
}

// machineFileWriter writes a file under the install roots into the state.
type machineFileWriter struct {
	h    *Host
	path string
}

func (w machineFileWriter) Write(b []byte) (int, error) {
	err := w.h.store.Update(func(s *State) error {
		if s.Down(w.h.opts.Now()) {
			return fs.ErrClosed // a machine without power writes nothing
		}
		if s.Machine.Files == nil {
			s.Machine.Files = map[string]string{}
		}
		s.Machine.Files[w.path] += string(b)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(b), nil
}
func (machineFileWriter) Read([]byte) (int, error) { return 0, io.EOF }
func (machineFileWriter) Close() error             { return nil }

// openMachineFile opens a file under the install roots for writing.
func (h *Host) openMachineFile(p string, flag int) (io.ReadWriteCloser, error) {
	err := h.store.Update(func(s *State) error {
		if s.Machine.Files == nil {
			s.Machine.Files = map[string]string{}
		}
		if _, ok := s.Machine.Files[p]; !ok || flag&os.O_TRUNC != 0 {
			s.Machine.Files[p] = ""
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return machineFileWriter{h: h, path: p}, nil
}

// ---- commands ----

var installCommands = map[string]cmdFunc{
	"uname":               cmdUname,
	"getent":              cmdGetent,
	"ss":                  cmdSS,
	"dpkg-query":          cmdDpkgQuery,
	"wget":                cmdWget,
	"curl":                cmdCurl,
	"mkdir":               cmdMkdir,
	"systemd-run":         cmdSystemdRun,
	"setsid":              cmdSetsid,
	"nohup":               cmdNohup,
	"bbb-install-standin": cmdInstaller,
}

func cmdUname(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("uname: %v\n", err)
		return 1
	}
	switch {
	case len(c.args) == 1 || c.args[1] == "-s":
		c.outf("Linux\n")
	case c.args[1] == "-m" || c.args[1] == "-p" || c.args[1] == "-i":
		c.outf("%s\n", s.Machine.arch())
	case c.args[1] == "-r":
		c.outf("5.15.0-119-generic\n")
	case c.args[1] == "-n":
		c.outf("%s\n", s.Hostname)
	default:
		c.outf("Linux %s 5.15.0-119-generic #129-Ubuntu SMP %s GNU/Linux\n", s.Hostname, s.Machine.arch())
	}
	return 0
}

// address is the machine's own address.
func (s State) address() string {
	if s.Machine.Address != "" {
		return s.Machine.Address
	}
	if net.ParseIP(s.Hostname) != nil {
		return s.Hostname
	}
	return "127.0.1.1" // Ubuntu's /etc/hosts line for the machine's own name
}

// cmdGetent answers `getent hosts|ahosts|ahostsv4 NAME`.
func cmdGetent(c *cmd) int {
	if len(c.args) < 3 || (c.args[1] != "hosts" && c.args[1] != "ahosts" && c.args[1] != "ahostsv4") {
		if c.fallback() {
			return notHandled
		}
		c.errf("Unknown database: %s\n", strings.Join(c.args[1:], " "))
		return 1
	}
	s, err := c.state()
	if err != nil {
		return 2
	}
	name := c.args[2]
	var addrs []string
	switch {
	case net.ParseIP(name) != nil:
		addrs = []string{name}
	case s.Machine.Resolve[name] != nil:
		addrs = s.Machine.Resolve[name]
	case strings.EqualFold(name, s.Hostname) || name == "localhost":
		addrs = []string{s.address()}
	}
	if len(addrs) == 0 {
		return 2 // not found: no output
	}
	for _, a := range addrs {
		if c.args[1] == "hosts" {
			c.outf("%-15s %s\n", a, name)
			continue
		}
		c.outf("%-15s STREAM %s\n%-15s DGRAM  \n%-15s RAW    \n", a, name, a, a)
	}
	return 0
}

// cmdSS answers `ss -Hltn[p]`: the listening web ports.
func cmdSS(c *cmd) int {
	s, err := c.state()
	if err != nil {
		return 1
	}
	procs := false
	for _, a := range c.args[1:] {
		if strings.HasPrefix(a, "-") && strings.Contains(a, "p") {
			procs = procs || strings.Contains(a, "p")
		}
	}
	line := func(port int, proc string, pid int) {
		l := fmt.Sprintf("LISTEN 0      511          0.0.0.0:%d       0.0.0.0:*", port)
		if procs && c.root() {
			l += fmt.Sprintf("    users:((\"%s\",pid=%d,fd=6))", proc, pid)
		}
		c.outf("%s\n", l)
	}
	c.outf("LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\n")
	switch {
	case s.Machine.Apache2:
		line(80, "apache2", 811)
	case !s.Machine.NoBBB && s.unitState("nginx") == UnitActive:
		line(80, "nginx", 1021)
		line(443, "haproxy", 1033)
	}
	return 0
}

func cmdDpkgQuery(c *cmd) int {
	s, err := c.state()
	if err != nil {
		return 1
	}
	pkg := c.args[len(c.args)-1]
	installed := pkg == "apache2" && s.Machine.Apache2 || pkg == "bigbluebutton" && !s.Machine.NoBBB
	if !installed {
		c.errf("dpkg-query: no packages found matching %s\n", pkg)
		return 1
	}
	c.outf("install ok installed\n")
	return 0
}

func cmdMkdir(c *cmd) int {
	_, dirs := splitFlags(c.args[1:])
	for _, d := range dirs {
		p := c.abs(d)
		if !installFile(p) && !virtualRoot(p) {
			if c.fallback() {
				return notHandled
			}
		}
	}
	return 0
}

// scriptSeries is the series whose bbb-install.sh url serves ("" none).
func scriptSeries(s State, url string) string {
	for _, se := range []struct{ name, branch string }{{"focal-270", "v2.7.x-release"}, {"jammy-300", "v3.0.x-release"}, {"noble-400", "v4.0.x-release"}} {
		if url == "https://raw.githubusercontent.com/bigbluebutton/bbb-install/"+se.branch+"/bbb-install.sh" {
			return se.name
		}
	}
	return s.Machine.ScriptURLs[url]
}

// installerScript is what wget fetches: the stand-in's bbb-install.sh.
func installerScript(series string) string {
	return "#!/bin/bash -ex\n# bbb-install.sh for " + series + " (the simulator's stand-in; see internal/sim/install.go)\n" +
		"bbb-install-standin " + series + " \"$@\"\n"
}

func urlHost(u string) string {
	rest := u[strings.Index(u, "//")+2:]
	if i := strings.IndexAny(rest, "/:"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// cmdWget emulates `wget -qO- URL` and `wget -q --spider URL`.
func cmdWget(c *cmd) int {
	s, err := c.state()
	if err != nil {
		return 1
	}
	quiet, spider, toStdout := false, false, false
	url := ""
	for i := 1; i < len(c.args); i++ {
		a := c.args[i]
		switch {
		case a == "-O" && i+1 < len(c.args):
			toStdout = c.args[i+1] == "-"
			i++
		case a == "--spider":
			spider = true
		case strings.HasPrefix(a, "--"):
		case strings.HasPrefix(a, "-"):
			quiet = quiet || strings.Contains(a, "q")
			toStdout = toStdout || strings.HasSuffix(a, "O-")
		default:
			url = a
		}
	}
	if url == "" {
		c.errf("wget: missing URL\n")
		return 1
	}
	if s.Machine.Offline {
		if !quiet {
			c.errf("wget: unable to resolve host address '%s'\n", urlHost(url))
		}
		return 4
	}
	series := scriptSeries(s, url)
	if series == "" {
		if !quiet {
			c.errf("ERROR 404: Not Found.\n")
		}
		return 8
	}
	if spider || !toStdout {
		return 0
	}
	c.outf("%s", installerScript(series))
	return 0
}

// cmdCurl emulates `curl -fsS[I|L] [-o /dev/null] URL`.
func cmdCurl(c *cmd) int {
	s, err := c.state()
	if err != nil {
		return 1
	}
	head := false
	url := ""
	for i := 1; i < len(c.args); i++ {
		a := c.args[i]
		switch {
		case a == "-o" || a == "--max-time" || a == "-m" || a == "--connect-timeout":
			i++
		case strings.HasPrefix(a, "-"):
			head = head || (!strings.HasPrefix(a, "--") && strings.Contains(a, "I"))
		default:
			url = a
		}
	}
	if s.Machine.Offline {
		c.errf("curl: (6) Could not resolve host: %s\n", urlHost(url))
		return 6
	}
	series := scriptSeries(s, url)
	if series == "" {
		c.errf("curl: (22) The requested URL returned error: 404\n")
		return 22
	}
	if !head {
		c.outf("%s", installerScript(series))
	}
	return 0
}

// ---- systemd-run and transient units ----

// unitGone: a transient unit of an earlier boot is gone.
func (s State) unitGone(u TransientUnit) bool { return !u.Boot.Equal(s.BootTime) || s.Power.Off }

// missing reports whether an emulated command is absent on this machine.
func (h *Host) missing(name string) bool {
	if name != "systemd-run" {
		return false
	}
	s, err := h.store.Load()
	return err == nil && s.Machine.NoSystemdRun
}

func cmdSystemdRun(c *cmd) int {
	if c.h.missing("systemd-run") {
		c.errf("sh: 1: systemd-run: not found\n")
		return 127
	}
	args := c.args[1:]
	unit := ""
	var argv []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--unit="):
			unit = strings.TrimPrefix(a, "--unit=")
		case a == "--unit" || a == "-u" || a == "-p" || a == "--property" || a == "-E" || a == "--setenv":
			if a == "--unit" || a == "-u" {
				if i+1 < len(args) {
					unit = args[i+1]
				}
			}
			i++
		case strings.HasPrefix(a, "-"):
		default:
			argv = args[i:]
			i = len(args)
		}
	}
	if len(argv) == 0 {
		c.errf("Command line to execute required.\n")
		return 1
	}
	if !c.root() {
		c.errf("Failed to start transient service unit: Access denied\n")
		return 1
	}
	unit = strings.TrimSuffix(unit, ".service")
	if unit == "" {
		unit = fmt.Sprintf("run-u%d", time.Now().UnixNano()%100000)
	}
	var pid int
	err := c.h.store.Update(func(s *State) error {
		if u, ok := s.Machine.Transient[unit]; ok && !s.unitGone(u) && u.Active != UnitInactive {
			return fmt.Errorf("Unit %s.service was already loaded or has a fragment file.", unit)
		}
		if s.Machine.Transient == nil {
			s.Machine.Transient = map[string]TransientUnit{}
		}
		if s.Machine.NextPID < 4000 {
			s.Machine.NextPID = 4000
		}
		s.Machine.NextPID++
		pid = s.Machine.NextPID
		s.Machine.Transient[unit] = TransientUnit{PID: pid, Active: UnitActive, Boot: s.BootTime, Argv: argv}
		return nil
	})
	if err != nil {
		c.errf("Failed to start transient service unit: %v\n", err)
		return 1
	}
	if err := c.h.detach(unit, argv); err != nil {
		c.errf("Failed to start transient service unit: %v\n", err)
		return 1
	}
	if s, err := c.state(); err == nil && s.Machine.StartDelay > 0 {
		t := time.NewTimer(s.Machine.StartDelay)
		select {
		case <-c.ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	c.errf("Running as unit: %s.service; invocation ID: %032x\n", unit, pid)
	return 0
}

// cmdSetsid runs its command in a new session, detached as systemd-run's
// are (a pseudo unit "setsid-PID" records it), and returns at once.
func cmdSetsid(c *cmd) int {
	args := c.args[1:]
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		args = args[1:]
	}
	if len(args) == 0 {
		c.errf("setsid: no command specified\n")
		return 1
	}
	var unit string
	err := c.h.store.Update(func(s *State) error {
		if s.Machine.Transient == nil {
			s.Machine.Transient = map[string]TransientUnit{}
		}
		if s.Machine.NextPID < 4000 {
			s.Machine.NextPID = 4000
		}
		s.Machine.NextPID++
		unit = fmt.Sprintf("setsid-%d", s.Machine.NextPID)
		s.Machine.Transient[unit] = TransientUnit{PID: s.Machine.NextPID, Active: UnitActive, Boot: s.BootTime, Argv: args}
		return nil
	})
	if err != nil {
		c.errf("setsid: %v\n", err)
		return 1
	}
	if err := c.h.detach(unit, args); err != nil {
		c.errf("setsid: failed to execute %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// cmdNohup runs its command (the hang-up signal means nothing here).
func cmdNohup(c *cmd) int {
	if len(c.args) < 2 {
		c.errf("nohup: missing operand\n")
		return 125
	}
	q := make([]string, len(c.args)-1)
	for i, a := range c.args[1:] {
		q[i], _ = syntax.Quote(a, syntax.LangPOSIX)
	}
	return c.h.Exec(c.ctx, strings.Join(q, " "), c.user, c.stdin, c.stdout, c.stderr)
}

// detach starts a unit's command away from the calling session.
func (h *Host) detach(unit string, argv []string) error {
	if h.opts.Detach != nil {
		return h.opts.Detach(unit, argv)
	}
	go h.RunUnit(context.Background(), unit, argv)
	return nil
}

// RunUnit runs a transient unit's command as root to its end (or until
// the machine loses power) and records its result. Options.Detach calls
// it in the detached process.
func (h *Host) RunUnit(ctx context.Context, unit string, argv []string) int {
	s, err := h.store.Load()
	if err != nil {
		return 1
	}
	boot := s.BootTime
	if h.opts.Detach != nil {
		// In a process of its own: $$ and kill -0 see this process.
		h.store.Update(func(s *State) error {
			if u, ok := s.Machine.Transient[unit]; ok {
				u.RealPID = os.Getpid()
				s.Machine.Transient[unit] = u
			}
			return nil
		})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the power goes: the process is gone
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s, err := h.store.Load()
			if err == nil && (s.Down(h.opts.Now()) || !s.BootTime.Equal(boot)) {
				cancel()
				return
			}
		}
	}()
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i], _ = syntax.Quote(a, syntax.LangPOSIX)
	}
	st := h.Exec(ctx, strings.Join(q, " "), "root", strings.NewReader(""), io.Discard, io.Discard)
	if ctx.Err() != nil {
		return st
	}
	h.store.Update(func(s *State) error {
		u, ok := s.Machine.Transient[unit]
		if !ok || !u.Boot.Equal(boot) {
			return nil
		}
		if st == 0 {
			// A unit that ended well is unloaded (no --collect needed).
			delete(s.Machine.Transient, unit)
			return nil
		}
		u.Active, u.Result, u.ExecMainStatus = UnitFailed, "exit-code", st
		s.Machine.Transient[unit] = u
		return nil
	})
	return st
}

// transientShow answers `systemctl show -p A,B UNIT`.
func transientShow(c *cmd, rest []string) int {
	var props []string
	var units []string
	value := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "-p" || a == "--property":
			if i+1 < len(rest) {
				props = append(props, strings.Split(rest[i+1], ",")...)
				i++
			}
		case strings.HasPrefix(a, "--property="):
			props = append(props, strings.Split(strings.TrimPrefix(a, "--property="), ",")...)
		case a == "--value":
			value = true
		case strings.HasPrefix(a, "-"):
		default:
			units = append(units, a)
		}
	}
	s, err := c.state()
	if err != nil {
		return 1
	}
	for _, un := range units {
		name := strings.TrimSuffix(un, ".service")
		u, ok := s.Machine.Transient[name]
		if !ok || s.unitGone(u) {
			u = TransientUnit{Active: UnitInactive, Result: "success"}
		}
		if u.Active == UnitActive && !c.h.unitAlive(s, name) {
			u.Active = UnitActive
		}
		vals := map[string]string{
			"ActiveState": u.Active, "Result": u.Result, "ExecMainStatus": strconv.Itoa(u.ExecMainStatus),
			"MainPID": "0", "Id": name + ".service",
		}
		if u.Active == UnitActive {
			vals["MainPID"] = strconv.Itoa(u.PID)
		}
		if props == nil {
			props = []string{"Id", "ActiveState", "Result", "ExecMainStatus", "MainPID"}
		}
		for _, p := range props {
			if value {
				c.outf("%s\n", vals[p])
			} else {
				c.outf("%s=%s\n", p, vals[p])
			}
		}
	}
	return 0
}

func (h *Host) unitAlive(s State, name string) bool {
	u, ok := s.Machine.Transient[name]
	return ok && !s.unitGone(u) && u.Active == UnitActive
}

// pidAlive: a transient unit's main process pid runs.
func (s State) pidAlive(pid int) bool {
	for _, u := range s.Machine.Transient {
		if (u.PID == pid || u.RealPID == pid) && u.Active == UnitActive && !s.unitGone(u) {
			return true
		}
	}
	return false
}

// resetFailed answers `systemctl reset-failed UNIT`.
func resetFailed(c *cmd, units []string) int {
	if !c.root() {
		c.errf("Failed to reset failed state: Interactive authentication required.\n")
		return 1
	}
	c.h.store.Update(func(s *State) error {
		for _, un := range units {
			name := strings.TrimSuffix(un, ".service")
			if u, ok := s.Machine.Transient[name]; ok && (u.Active == UnitFailed || s.unitGone(u)) {
				delete(s.Machine.Transient, name)
			}
		}
		return nil
	})
	return 0
}

// tailFollow answers `tail [--pid=PID] [-s SECS] -c +N -F FILE` for a file
// under the install roots: it prints from byte N and follows the file
// until PID ends (forever without one).
func tailFollow(c *cmd) int {
	pid := 0
	var offset int64 = 1
	file := ""
	follow := false
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--pid="):
			pid, _ = strconv.Atoi(strings.TrimPrefix(a, "--pid="))
		case a == "-s":
			i++
		case a == "-c" && i+1 < len(args):
			offset, _ = strconv.ParseInt(strings.TrimPrefix(args[i+1], "+"), 10, 64)
			i++
		case a == "-F" || a == "-f" || a == "--follow":
			follow = true
		case strings.HasPrefix(a, "-"):
		default:
			file = c.abs(a)
		}
	}
	if offset < 1 {
		offset = 1
	}
	pos := offset - 1
	for {
		s, err := c.state()
		if err != nil {
			return 1
		}
		content, ok := s.Machine.Files[file]
		if !ok && !follow {
			c.errf("tail: cannot open '%s' for reading: No such file or directory\n", file)
			return 1
		}
		if int64(len(content)) > pos {
			io.WriteString(c.stdout, content[pos:])
			pos = int64(len(content))
		}
		if !follow || (pid > 0 && !s.pidAlive(pid)) || s.Down(c.h.opts.Now()) {
			return 0
		}
		select {
		case <-c.ctx.Done():
			return 130
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isTailFollow: tail asked to follow, or to read a file of the install roots.
func isTailFollow(c *cmd) bool {
	for _, a := range c.args[1:] {
		if a == "-F" || a == "-f" || strings.HasPrefix(a, "--pid=") {
			return true
		}
		if installFile(c.abs(a)) && strings.HasPrefix(c.args[1], "-c") {
			return true
		}
	}
	return false
}

// ---- the installer ----

// series facts the stand-in needs.
var standinSeries = map[string]struct{ ubuntu, release, bbb string }{
	"focal-270": {"20.04", "2.7.16", "2.7"},
	"jammy-300": {"22.04", "3.0.19", "3.0"},
	"noble-400": {"24.04", "4.0.0", "4.0"},
}

func newSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cmdInstaller is bbb-install.sh (the stand-in wget serves): its flags,
// its own checks (reference §3), its progress in phases and, at the end,
// BBB installed. `bbb-install-standin SERIES ARGS...`.
func cmdInstaller(c *cmd) int {
	if len(c.args) < 2 {
		return 2
	}
	scriptSeries := c.args[1]
	args := c.args[2:]
	s, err := c.state()
	if err != nil {
		return 1
	}
	errOut := func(msg string) int { c.errf("bbb-install: %s\n", msg); return 1 }
	if s.Machine.arch() != "x86_64" {
		return errOut("You must run this command on a 64-bit server.")
	}
	var host, email, version string
	skipReq, skipApache := false, false
	for i := 0; i < len(args); i++ {
		a := args[i]
		needArg := func() (string, bool) {
			if i+1 >= len(args) {
				return "", false
			}
			i++
			return args[i], true
		}
		switch a {
		case "-s", "-e", "-v", "-r", "-c", "-p", "-m", "-t":
			v, ok := needArg()
			if !ok {
				return errOut("Missing option argument for " + a)
			}
			switch a {
			case "-s":
				host = v
				if host == "bbb.example.com" {
					return errOut("You must specify a valid hostname (not the hostname given in the docs).")
				}
			case "-e":
				email = v
				if email == "info@example.com" {
					return errOut("You must specify a valid email address (not the email in the docs).")
				}
			case "-v":
				version = v
			}
		case "-w", "-g", "-k", "-d", "-b", "-x":
		case "-j":
			skipReq = true
		case "-i":
			skipApache = true
		case "-h":
			c.errf("\nScript for installing, upgrading, or configuring a BigBlueButton server.\n")
			return 0
		default:
			c.errf("bbb-install: Invalid option: %s\n", strings.TrimPrefix(a, "-"))
			return 1
		}
	}
	want := standinSeries[scriptSeries]
	if version != "" && version != scriptSeries {
		return errOut(fmt.Sprintf("This script can only install BigBlueButton %s and is meant to be run on Ubuntu %s (%s) server.",
			want.bbb, want.ubuntu, strings.Split(scriptSeries, "-")[0]))
	}
	if !skipApache && s.Machine.Apache2 {
		c.outf("You must uninstall the Apache2 server first\n")
		return 1
	}
	if version == "" {
		c.errf("\nScript for installing, upgrading, or configuring a BigBlueButton server.\n")
		return 0
	}
	if !c.root() {
		return errOut("You must run this command as root.")
	}
	if s.MemTotal/1024 < 3940000 {
		c.outf("Your server should have (at least) 4 GB of memory.\n")
		if !skipReq {
			return 1
		}
	}
	if s.Cores < 4 {
		c.outf("Your server needs to have (at least) 4 CPU cores (8 CPU cores recommended for production).\n")
		if !skipReq {
			return 1
		}
	}
	if s.Machine.NoIPv6 {
		c.outf("Your server does not support IPv6\n")
		if !skipReq {
			return 1
		}
	}
	c.h.store.Update(func(s *State) error { s.Machine.InstallRuns++; return nil })
	delay := s.Machine.InstallDelay
	emit := func(lines ...string) bool {
		for _, l := range lines {
			c.outf("%s\n", l)
			if delay > 0 {
				select {
				case <-c.ctx.Done():
					return false
				case <-time.After(delay / time.Duration(len(lines))):
				}
			}
		}
		return c.ctx.Err() == nil
	}
	codename := strings.Split(scriptSeries, "-")[0]
	// packages
	if !emit("Hit:1 http://archive.ubuntu.com/ubuntu "+codename+" InRelease",
		"Get:2 https://ubuntu.bigbluebutton.org/"+scriptSeries+" bigbluebutton-"+codename+" InRelease [5,474 B]",
		"Reading package lists...") {
		return 130
	}
	if s.Machine.ubuntu() != want.ubuntu {
		c.outf("E: The repository 'https://ubuntu.bigbluebutton.org/%s bigbluebutton-%s Release' does not have a Release file for Ubuntu %s.\n", scriptSeries, codename, s.Machine.ubuntu())
		c.outf("E: Unable to locate package bigbluebutton\n")
		return 100
	}
	if d, ok := s.Disks["/"]; ok && d.avail() < 2<<30 {
		c.outf("E: You don't have enough free space in /var/cache/apt/archives/.\n")
		return 100
	}
	if !emit("Setting up bbb-web (1:"+want.release+"-1) ...", "Setting up bbb-html5 (1:"+want.release+"-1) ...", "Setting up bigbluebutton (1:"+want.release+"-1) ...") {
		return 130
	}
	// certificates
	if email != "" {
		if !emit("Saving debug log to /var/log/letsencrypt/letsencrypt.log", "Requesting a certificate for "+host) {
			return 130
		}
		if s.Machine.InstallFault == FaultMidway {
			c.outf("Certbot failed to authenticate some domains (authenticator: webroot).\n")
			return errOut("Let's Encrypt SSL request for " + host + " did not succeed - exiting")
		}
		if !emit("Successfully received certificate.") {
			return 130
		}
	}
	// restart
	if !emit("Assigning "+host+" for web hostname", "Restarting BigBlueButton ..") {
		return 130
	}
	var final State
	err = c.h.store.Update(func(st *State) error {
		if st.Down(c.h.opts.Now()) {
			return fs.ErrClosed
		}
		st.Machine.NoBBB = false
		st.Release, st.Build = want.release, 1100
		st.Secret = newSecret()
		if host != "" {
			st.Hostname = host
		}
		st.Units = map[string]string{}
		units := Units30
		if strings.HasPrefix(want.release, "2.") {
			units = append(append([]string(nil), Units30[:5]...), "mongod", "bbb-html5", "bbb-webrtc-sfu", "etherpad", "bbb-web", "bbb-pads", "bbb-rap-resque-worker", "bbb-rap-starter")
		}
		for _, u := range units {
			st.Units[u] = UnitActive
		}
		if st.Machine.InstallFault == FaultUnitFailed {
			st.Units["bbb-webrtc-sfu"] = UnitFailed
		}
		st.Stopped = false
		final = st.Clone()
		return nil
	})
	if err != nil {
		return 130
	}
	// check: bbb-conf --check, as the real script ends
	if !emit(strings.Split(strings.TrimRight(CheckReport(final), "\n"), "\n")...) {
		return 130
	}
	return 0
}

// scaleliteAddProgram is the one `bin/rails runner` program the Scalelite
// stand-in knows: bbbfleet's, which adds a server as rake servers:add
// does, reading the URL and the secret from standard input.
const scaleliteAddProgram = `url = STDIN.gets.to_s.strip; secret = STDIN.gets.to_s.strip; ` +
	`server = Server.create!(url: url, secret: secret, load_multiplier: 1.0); puts "OK"; puts "id: #{server.id}"`

// railsRunner emulates `docker exec [-i] CONTAINER bin/rails runner PROGRAM`.
func (c *cmd) railsRunner(prog string, stdin bool) int {
	if prog != scaleliteAddProgram {
		c.errf("Please specify a valid ruby command or the path of a script to run.\n")
		return 1
	}
	var in []byte
	if stdin {
		in, _ = io.ReadAll(io.LimitReader(c.stdin, 1<<16))
	}
	ls := strings.SplitN(string(in), "\n", 3)
	url, secret := "", ""
	if len(ls) >= 2 {
		url, secret = strings.TrimSpace(ls[0]), strings.TrimSpace(ls[1])
	}
	if url == "" || secret == "" {
		c.errf("Validation failed: Url can't be blank, Secret can't be blank (ActiveModel::ValidationError)\n")
		return 1
	}
	var id string
	err := c.h.store.Update(func(s *State) error {
		id = fmt.Sprintf("%08x-0000-4000-8000-%012x", len(s.Scalelite.Servers)+1, len(url))
		s.Scalelite.Servers = append(s.Scalelite.Servers, ScaleliteServer{ID: id, URL: url, Secret: secret,
			State: ScaleliteDisabled, LoadMultiplier: "1.0"})
		return nil
	})
	if err != nil {
		c.errf("%v\n", err)
		return 1
	}
	c.outf("OK\nid: %s\n", id)
	return 0
}
