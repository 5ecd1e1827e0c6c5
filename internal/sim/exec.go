package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Options change how a Host emulates a server.
type Options struct {
	// FallbackToRealExec runs commands the emulation does not know as real
	// programs (and lets redirections touch real files). The bbbsim helper
	// run by a real sshd sets it, so tests can prove that an injected command
	// would really run. Off (demo mode), unknown commands answer
	// "sh: 1: NAME: not found" with status 127 and nothing real is changed.
	FallbackToRealExec bool
	// Now is the simulator's clock (before State.ClockOffset); default time.Now.
	Now func() time.Time
	// Detach starts a systemd-run unit's command away from the SSH
	// session (bbbsim forks itself); nil runs it in a goroutine.
	Detach func(unit string, argv []string) error
}

// Host is one simulated BBB server: its state plus the emulation of what it
// answers over SSH and HTTP.
type Host struct {
	store Store
	opts  Options

	sshSessions atomic.Int64
	apiRequests atomic.Int64
}

// NewHost returns a Host whose state lives in store.
func NewHost(store Store, opts Options) *Host {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Host{store: settleStore{inner: store, now: opts.Now}, opts: opts}
}

// Down reports whether the host's machine is off or still booting.
func (h *Host) Down() bool {
	s, err := h.store.Load()
	return err == nil && s.Down(h.opts.Now())
}

// Store returns the host's state store.
func (h *Host) Store() Store { return h.store }

// State returns a snapshot of the host's state.
func (h *Host) State() (State, error) { return h.store.Load() }

// Update changes the host's state atomically.
func (h *Host) Update(fn func(*State) error) error { return h.store.Update(fn) }

// SSHSessions is the number of SSH sessions the in-process server accepted.
func (h *Host) SSHSessions() int64 { return h.sshSessions.Load() }

// APIRequests is the number of HTTP API requests served.
func (h *Host) APIRequests() int64 { return h.apiRequests.Load() }

// now is the host's clock, ClockOffset applied.
func (h *Host) now(s State) time.Time { return h.opts.Now().Add(s.ClockOffset) }

// Exec runs cmdline as `sh -c cmdline` would on the server, logged in as
// user, and returns the exit status. It parses and interprets the command
// line with mvdan.cc/sh (quoting, ;, &&, ||, pipes, redirections, $(...))
// and emulates the commands a BBB server offers.
func (h *Host) Exec(ctx context.Context, cmdline, user string, stdin io.Reader, stdout, stderr io.Writer) (exitStatus int) {
	return h.execParams(ctx, cmdline, nil, user, stdin, stdout, stderr)
}

// execParams is Exec with positional parameters ($1, $2, ...), as
// `sh -c SCRIPT NAME ARGS...` gives them.
func (h *Host) execParams(ctx context.Context, cmdline string, params []string, user string, stdin io.Reader, stdout, stderr io.Writer) (exitStatus int) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if user == "" {
		user = "root"
	}
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmdline), "")
	if err != nil {
		msg := err.Error()
		var perr syntax.ParseError
		if errors.As(err, &perr) {
			msg = perr.Text
		}
		fmt.Fprintf(stderr, "sh: 1: Syntax error: %s\n", msg)
		return 2
	}
	return h.run(ctx, file, params, user, stdin, stdout, stderr)
}

func (h *Host) run(ctx context.Context, node syntax.Node, params []string, user string, stdin io.Reader, stdout, stderr io.Writer) int {
	home := "/home/" + user
	if user == "root" {
		home = "/root"
	}
	var env expand.Environ
	dir := "/"
	if h.opts.FallbackToRealExec {
		vars := append(os.Environ(), "USER="+user, "LOGNAME="+user)
		env = expand.ListEnviron(vars...)
		if wd, err := os.Getwd(); err == nil {
			dir = wd
		}
	} else {
		env = expand.ListEnviron(
			"HOME="+home, "USER="+user, "LOGNAME="+user, "SHELL=/bin/sh",
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"LANG=C.UTF-8",
		)
	}
	r, err := interp.New(
		interp.StdIO(stdin, stdout, stderr),
		interp.Env(env),
		interp.Dir(dir),
		interp.CallHandler(h.callHandler),
		interp.ExecHandlers(h.execMiddleware(user)),
		interp.OpenHandler(h.openHandler),
		interp.ReadDirHandler2(h.readDirHandler),
		interp.StatHandler(h.statHandler),
		interp.Params(append([]string{"--"}, params...)...),
	)
	if err != nil {
		fmt.Fprintf(stderr, "sh: %v\n", err)
		return 2
	}
	err = r.Run(ctx, node)
	if err == nil {
		return 0
	}
	if st, ok := interp.IsExitStatus(err); ok {
		return int(st)
	}
	if ctx.Err() != nil {
		return 130
	}
	fmt.Fprintf(stderr, "sh: %v\n", err)
	return 2
}

// binDirs are where the emulated commands live.
var binDirs = map[string]bool{
	"/bin": true, "/usr/bin": true, "/sbin": true, "/usr/sbin": true,
	"/usr/local/bin": true, "/usr/local/sbin": true,
}

// cmdName maps "/usr/bin/bbb-conf" to "bbb-conf".
func cmdName(arg0 string) string {
	if strings.Contains(arg0, "/") && binDirs[path.Dir(arg0)] {
		return path.Base(arg0)
	}
	return arg0
}

// cmdPath is where `command -v` finds an emulated command.
func cmdPath(name string) string {
	switch name {
	case "bbb-conf", "bbb-record":
		return "/usr/bin/" + name
	case "systemctl", "hostname", "df", "date", "cat", "ls", "echo", "true", "false":
		return "/usr/bin/" + name
	}
	return "/usr/bin/" + name
}

// callHandler answers `command -v NAME` for emulated commands, which the
// interpreter would otherwise look up on the real PATH.
func (h *Host) callHandler(ctx context.Context, args []string) ([]string, error) {
	if len(args) >= 3 && args[0] == "command" && args[1] == "-v" {
		out := []string{"printf", "%s\n"}
		for _, n := range args[2:] {
			switch {
			case interp.IsBuiltin(n):
				out = append(out, n)
			case h.missing(n):
				return []string{"false"}, nil
			case commands[n] != nil:
				out = append(out, cmdPath(n))
			default:
				if !h.opts.FallbackToRealExec {
					return []string{"false"}, nil
				}
				return args, nil
			}
		}
		return out, nil
	}
	// kill is a builtin the interpreter does not implement ("unsupported
	// builtin"); a real server's sh has it. With real programs allowed,
	// the real kill(1) stands in for it (the cancel cleanup of bbbfleet's
	// SSH layer signals processes with it).
	if len(args) > 0 && args[0] == "kill" && h.opts.FallbackToRealExec {
		if p, err := exec.LookPath("kill"); err == nil {
			return append([]string{p}, args[1:]...), nil
		}
	}
	return args, nil
}

// cmd is one emulated command invocation.
type cmd struct {
	h      *Host
	ctx    context.Context
	args   []string
	user   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	dir    string
}

func (c *cmd) root() bool { return c.user == "root" }

func (c *cmd) state() (State, error) { return c.h.store.Load() }

func (c *cmd) errf(format string, a ...any) { fmt.Fprintf(c.stderr, format, a...) }
func (c *cmd) outf(format string, a ...any) { fmt.Fprintf(c.stdout, format, a...) }

// abs resolves p against the shell's current directory.
func (c *cmd) abs(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return path.Join(c.dir, p)
}

type cmdFunc func(c *cmd) int

// commands are the emulated programs; see commands.go.
var commands map[string]cmdFunc

func init() {
	commands = map[string]cmdFunc{
		"sudo":      cmdSudo,
		"bbb-conf":  cmdBBBConf,
		"systemctl": cmdSystemctl,
		"cat":       cmdCat,
		"ls":        cmdLs,
		"find":      cmdFind,
		"df":        cmdDf,
		"free":      cmdFree,
		"nproc":     cmdNproc,
		"uptime":    cmdUptime,
		"date":      cmdDate,
		"hostname":  cmdHostname,
		"id":        cmdID,
		"whoami":    cmdWhoami,
		"which":     cmdWhich,
		"grep":      cmdGrep,
		"head":      cmdHead,
		"tail":      cmdTail,
		"wc":        cmdWc,
		"sleep":     cmdSleep,
		"sh":        cmdSh,
		"bash":      cmdSh,
		"docker":    cmdDocker,
		"poweroff":  cmdPoweroff,
		"redis-cli": cmdRedisCli,
		"ps":        cmdPs,
	}
	for k, f := range installCommands {
		commands[k] = f
	}
	for k, f := range fileCommands {
		commands[k] = f
	}
}

// errNotHandled asks the middleware to fall back to the real program.
var errNotHandled = errors.New("sim: not handled")

func (h *Host) execMiddleware(user string) func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
		return func(ctx context.Context, args []string) error {
			hc := interp.HandlerCtx(ctx)
			name := cmdName(args[0])
			f := commands[name]
			if f == nil {
				// A real program runs in fallback mode; a missing one
				// fails as sh does, in both modes.
				if h.opts.FallbackToRealExec {
					if _, err := interp.LookPathDir(hc.Dir, hc.Env, args[0]); err == nil {
						return next(ctx, args)
					}
				}
				fmt.Fprintf(hc.Stderr, "sh: 1: %s: not found\n", args[0])
				return interp.ExitStatus(127)
			}
			c := &cmd{h: h, ctx: ctx, args: args, user: user, stdin: hc.Stdin,
				stdout: hc.Stdout, stderr: hc.Stderr, dir: hc.Dir}
			st := f(c)
			if st == notHandled {
				return next(ctx, args)
			}
			if st == 0 {
				return nil
			}
			return interp.ExitStatus(uint8(st))
		}
	}
}

// notHandled is returned by a command that wants the real program to run
// (only in FallbackToRealExec mode).
const notHandled = -1

// fallback reports whether a command should hand over to the real program.
func (c *cmd) fallback() bool { return c.h.opts.FallbackToRealExec }

// cmdSudo emulates sudo: root runs anything; a user with NOPASSWD in
// sudoers runs as root; anybody else gets "sudo: a password is required".
func cmdSudo(c *cmd) int {
	args := c.args[1:]
	runAs := "root"
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		a := args[0]
		args = args[1:]
		switch {
		case a == "--":
			goto done
		case a == "-u" || a == "-g" || a == "-p" || a == "-C" || a == "-D" || a == "-U" || a == "-r" || a == "-t" || a == "-T":
			if len(args) == 0 {
				c.errf("sudo: option requires an argument -- '%s'\n", a[1:])
				return 1
			}
			if a == "-u" {
				runAs = args[0]
			}
			args = args[1:]
		case strings.HasPrefix(a, "-u") && len(a) > 2:
			runAs = a[2:]
		case strings.HasPrefix(a, "--user="):
			runAs = strings.TrimPrefix(a, "--user=")
		case a == "-V" || a == "--version":
			c.outf("Sudo version 1.9.9\n")
			return 0
		default:
			// -n, -H, -E, -S, -i, -k and combinations: accepted.
		}
	}
done:
	if len(args) == 0 {
		c.errf("usage: sudo -h | -K | -k | -V\n")
		return 1
	}
	if !c.root() {
		s, err := c.state()
		if err != nil {
			c.errf("sudo: %v\n", err)
			return 1
		}
		if s.SudoUsers[c.user] != SudoNoPasswd {
			c.errf("sudo: a password is required\n")
			return 1
		}
	}
	name := cmdName(args[0])
	if commands[name] == nil && !interp.IsBuiltin(name) && (!c.fallback() || !onRealPath(args[0])) {
		c.errf("sudo: %s: command not found\n", args[0])
		return 1
	}
	if interp.IsBuiltin(name) && !isExternalBuiltin(name) && !c.fallback() {
		// sudo runs programs, not shell builtins (sudo cd, sudo exit).
		c.errf("sudo: %s: command not found\n", args[0])
		return 1
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		q, err := syntax.Quote(a, syntax.LangPOSIX)
		if err != nil {
			c.errf("sudo: %v\n", err)
			return 1
		}
		quoted[i] = q
	}
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(strings.Join(quoted, " ")), "")
	if err != nil {
		c.errf("sudo: %v\n", err)
		return 1
	}
	return c.h.run(c.ctx, file, nil, runAs, c.stdin, c.stdout, c.stderr)
}

// onRealPath reports whether a program exists on the process's PATH (for
// sudo in fallback mode).
func onRealPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// isExternalBuiltin: builtins that also exist as programs in /usr/bin.
func isExternalBuiltin(name string) bool {
	switch name {
	case "echo", "printf", "true", "false", "test", "[", "pwd", "kill":
		return true
	}
	return false
}

// ---- the virtual file system ----

const statusDir = "/var/bigbluebutton/recording/status"

var statusSubdirs = []string{"archived", "ended", "processed", "published", "recorded", "sanity"}

type vnode struct {
	dir     bool
	content string
	kids    map[string]bool
}

// vfs is the part of the server's file system the emulation knows.
type vfs map[string]*vnode

// virtualRoot reports whether p is inside the emulated file system (as
// opposed to the real one, which only FallbackToRealExec mode uses).
func virtualRoot(p string) bool {
	for _, r := range []string{"/var/bigbluebutton", "/etc/bigbluebutton", "/proc/loadavg",
		"/proc/meminfo", "/proc/uptime", "/etc/hostname", "/etc/lsb-release",
		"/etc/os-release", "/proc/net/if_inet6", "/var/log/bbbfleet", "/var/lib/bbbfleet"} {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

func (v vfs) add(p string, n *vnode) {
	v[p] = n
	for p != "/" {
		parent := path.Dir(p)
		pn := v[parent]
		if pn == nil {
			pn = &vnode{dir: true, kids: map[string]bool{}}
			v[parent] = pn
		}
		pn.kids[path.Base(p)] = true
		p = parent
	}
}

func (h *Host) vfs(s State) vfs {
	v := vfs{"/": {dir: true, kids: map[string]bool{}}}
	for _, d := range statusSubdirs {
		v.add(statusDir+"/"+d, &vnode{dir: true, kids: map[string]bool{}})
	}
	for _, d := range []string{"/var/bigbluebutton/published", "/var/bigbluebutton/unpublished",
		"/var/bigbluebutton/deleted", "/var/bigbluebutton/recording/raw"} {
		v.add(d, &vnode{dir: true, kids: map[string]bool{}})
	}
	for _, f := range append(append([]string(nil), s.RecordingFailures...), s.RecordingStatus...) {
		p := path.Join(statusDir, f)
		if strings.HasPrefix(p, statusDir+"/") {
			v.add(p, &vnode{})
		}
	}
	if !s.Machine.NoBBB {
		v.add("/etc/bigbluebutton/bigbluebutton-release", &vnode{content: "BIGBLUEBUTTON_RELEASE=" + s.Release + "\n"})
		v.add("/etc/bigbluebutton/bbb-web.properties", &vnode{content: "#\n# Local properties for bbb-web\n#\n\n" +
			"bigbluebutton.web.serverURL=https://" + s.Hostname + "\n" +
			"securitySalt=" + s.Secret + "\n" +
			"supportedChecksumAlgorithms=" + strings.Join(s.ChecksumAlgorithms, ",") + "\n"})
	}
	v.add("/etc/hostname", &vnode{content: s.Hostname + "\n"})
	v.add("/etc/lsb-release", &vnode{content: lsbRelease(s.Machine)})
	h.addMachineFiles(v, s)
	v.add("/proc/loadavg", &vnode{content: loadavgFile(s)})
	v.add("/proc/meminfo", &vnode{content: meminfoFile(s)})
	v.add("/proc/uptime", &vnode{content: uptimeFile(s, h.now(s))})
	return v
}

func (c *cmd) vfs() (vfs, error) {
	s, err := c.state()
	if err != nil {
		return nil, err
	}
	return c.h.vfs(s), nil
}

type vFileInfo struct {
	name string
	n    *vnode
}

func (i vFileInfo) Name() string { return i.name }
func (i vFileInfo) Size() int64  { return int64(len(i.n.content)) }
func (i vFileInfo) Mode() fs.FileMode {
	if i.n.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i vFileInfo) ModTime() time.Time { return time.Time{} }
func (i vFileInfo) IsDir() bool        { return i.n.dir }
func (i vFileInfo) Sys() any           { return nil }

func (h *Host) absPath(ctx context.Context, p string) string {
	if !path.IsAbs(p) {
		p = path.Join(interp.HandlerCtx(ctx).Dir, p)
	}
	return path.Clean(p)
}

func (h *Host) openHandler(ctx context.Context, p string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	ap := h.absPath(ctx, p)
	if ap == "/dev/null" {
		return nopRWC{}, nil
	}
	if installFile(ap) && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		return h.openMachineFile(ap, flag)
	}
	if virtualRoot(ap) {
		s, err := h.store.Load()
		if err != nil {
			return nil, err
		}
		n := h.vfs(s)[ap]
		if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
			return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
		if n == nil {
			return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		if n.dir {
			return nil, &os.PathError{Op: "open", Path: p, Err: errors.New("is a directory")}
		}
		return readOnly{strings.NewReader(n.content)}, nil
	}
	if h.writable(ap) {
		return h.openWritten(ctx, ap, flag)
	}
	if h.opts.FallbackToRealExec {
		return interp.DefaultOpenHandler()(ctx, p, flag, perm)
	}
	if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		// Demo mode: writes go nowhere, nothing real is changed.
		return nopRWC{}, nil
	}
	return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

func (h *Host) readDirHandler(ctx context.Context, p string) ([]fs.DirEntry, error) {
	ap := h.absPath(ctx, p)
	if !virtualRoot(ap) {
		return interp.DefaultReadDirHandler2()(ctx, p)
	}
	s, err := h.store.Load()
	if err != nil {
		return nil, err
	}
	v := h.vfs(s)
	n := v[ap]
	if n == nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	if !n.dir {
		return nil, &os.PathError{Op: "readdirent", Path: p, Err: errors.New("not a directory")}
	}
	var out []fs.DirEntry
	for _, k := range sortedKeys(n.kids) {
		out = append(out, fs.FileInfoToDirEntry(vFileInfo{k, v[path.Join(ap, k)]}))
	}
	return out, nil
}

func (h *Host) statHandler(ctx context.Context, p string, follow bool) (fs.FileInfo, error) {
	ap := h.absPath(ctx, p)
	if h.writable(ap) {
		return h.statWritten(ap)
	}
	if !virtualRoot(ap) {
		return interp.DefaultStatHandler()(ctx, p, follow)
	}
	s, err := h.store.Load()
	if err != nil {
		return nil, err
	}
	n := h.vfs(s)[ap]
	if n == nil {
		return nil, &os.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
	return vFileInfo{path.Base(ap), n}, nil
}

type nopRWC struct{}

func (nopRWC) Read([]byte) (int, error)    { return 0, io.EOF }
func (nopRWC) Write(b []byte) (int, error) { return len(b), nil }
func (nopRWC) Close() error                { return nil }

type readOnly struct{ *strings.Reader }

func (readOnly) Write([]byte) (int, error) { return 0, fs.ErrPermission }
func (readOnly) Close() error              { return nil }

// realPath is used by the fallback: a path relative to the shell's dir.
func realPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
