package sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"mvdan.cc/sh/v3/interp"
)

// WrittenFile is a regular file written on a simulated server: what tee,
// shell redirections and push's script (mktemp, chmod, chown, mv) leave.
type WrittenFile struct {
	Content string `json:"content"`
	Mode    int    `json:"mode"` // permission bits, e.g. 0o644
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
}

// writableRoots are the parts of the file system, outside the emulated
// system files, where files can be written in demo mode; their directories
// are stdDirs plus the directories of the files written.
var writableRoots = []string{"/etc", "/tmp", "/var/tmp", "/root", "/home", "/opt", "/srv", "/usr/local"}

// stdDirs are directories every simulated server has.
var stdDirs = []string{"/", "/etc", "/etc/default", "/etc/nginx", "/etc/nginx/sites-available", "/etc/nginx/conf.d",
	"/etc/systemd", "/etc/systemd/system", "/etc/cron.d", "/etc/bigbluebutton", "/tmp", "/var", "/var/tmp",
	"/root", "/home", "/opt", "/srv", "/usr", "/usr/local", "/usr/local/bin", "/usr/local/etc"}

// writable reports whether p is where the files emulation answers (demo
// mode only; with real programs allowed, real files are used).
func (h *Host) writable(p string) bool {
	if h.opts.FallbackToRealExec || virtualRoot(p) || installFile(p) {
		return false
	}
	for _, r := range writableRoots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// simDir reports whether p is a directory on the simulated server.
func simDir(s State, p string) bool {
	for _, d := range stdDirs {
		if p == d {
			return true
		}
	}
	if p == "/home/"+"bbbfleet" {
		return true
	}
	for f := range s.Written {
		if strings.HasPrefix(f, p+"/") {
			return true
		}
	}
	return false
}

// userIDs maps the users and groups a simulated server knows.
var userIDs = map[string]int{"root": 0, "www-data": 33, "bigbluebutton": 997, "freeswitch": 998, "redis": 110}

func idName(id int, login string) string {
	for n, i := range userIDs {
		if i == id {
			return n
		}
	}
	if id == 1000 && login != "" {
		return login
	}
	return strconv.Itoa(id)
}

// lookupID reads a user or group (name or number).
func lookupID(s, login string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n, true
	}
	if id, ok := userIDs[s]; ok {
		return id, true
	}
	if s == login && login != "root" {
		return 1000, true
	}
	return 0, false
}

// writtenInfo is a WrittenFile or a directory as fs.FileInfo.
type writtenInfo struct {
	name string
	f    *WrittenFile
}

func (i writtenInfo) Name() string { return i.name }
func (i writtenInfo) Size() int64 {
	if i.f == nil {
		return 0
	}
	return int64(len(i.f.Content))
}
func (i writtenInfo) Mode() fs.FileMode {
	if i.f == nil {
		return fs.ModeDir | 0o755
	}
	return fs.FileMode(i.f.Mode) & fs.ModePerm
}
func (i writtenInfo) ModTime() time.Time { return time.Time{} }
func (i writtenInfo) IsDir() bool        { return i.f == nil }
func (i writtenInfo) Sys() any           { return nil }

// statWritten answers stat for a path where files are written.
func (h *Host) statWritten(p string) (fs.FileInfo, error) {
	s, err := h.store.Load()
	if err != nil {
		return nil, err
	}
	if f, ok := s.Written[p]; ok {
		return writtenInfo{path.Base(p), &f}, nil
	}
	if simDir(s, p) {
		return writtenInfo{name: path.Base(p)}, nil
	}
	return nil, &os.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
}

// canWrite says why user may not create or change the file p ("" if it
// may): the directory must exist, and only root writes outside its home
// and /tmp.
func canWrite(s State, p, user string, f *WrittenFile) error {
	if !simDir(s, path.Dir(p)) {
		return fs.ErrNotExist
	}
	if user == "root" {
		return nil
	}
	if f != nil {
		if f.UID == uid(user) && f.Mode&0o200 != 0 || f.Mode&0o002 != 0 {
			return nil
		}
		return fs.ErrPermission
	}
	for _, r := range []string{"/tmp/", "/var/tmp/", "/home/" + user + "/"} {
		if strings.HasPrefix(p, r) {
			return nil
		}
	}
	return fs.ErrPermission
}

// openWritten opens a written file for reading or writing (creating it
// with mode 0644 minus nothing: umask 022 on 0666).
func (h *Host) openWritten(ctx context.Context, p string, flag int) (io.ReadWriteCloser, error) {
	user := userOf(ctx)
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		s, err := h.store.Load()
		if err != nil {
			return nil, err
		}
		f, ok := s.Written[p]
		switch {
		case ok:
			if user != "root" && f.Mode&0o004 == 0 && !(f.UID == uid(user) && f.Mode&0o400 != 0) {
				return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
			}
			return readOnly{strings.NewReader(f.Content)}, nil
		case simDir(s, p):
			return nil, &os.PathError{Op: "open", Path: p, Err: fmt.Errorf("is a directory")}
		}
		return nil, &os.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	err := h.store.Update(func(s *State) error {
		f, ok := s.Written[p]
		var fp *WrittenFile
		if ok {
			fp = &f
		}
		if err := canWrite(*s, p, user, fp); err != nil {
			return err
		}
		if !ok {
			f = WrittenFile{Mode: 0o644, UID: uid(user), GID: uid(user)}
		}
		if flag&os.O_TRUNC != 0 {
			f.Content = ""
		}
		if s.Written == nil {
			s.Written = map[string]WrittenFile{}
		}
		s.Written[p] = f
		return nil
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return writtenWriter{h: h, path: p}, nil
}

type writtenWriter struct {
	h    *Host
	path string
}

func (w writtenWriter) Write(b []byte) (int, error) {
	err := w.h.store.Update(func(s *State) error {
		f, ok := s.Written[w.path]
		if !ok {
			return fs.ErrNotExist
		}
		f.Content += string(b)
		s.Written[w.path] = f
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(b), nil
}
func (writtenWriter) Read([]byte) (int, error) { return 0, io.EOF }
func (writtenWriter) Close() error             { return nil }

// userOf is the login the shell of ctx runs as (LOGNAME).
func userOf(ctx context.Context) string {
	if u := interp.HandlerCtx(ctx).Env.Get("LOGNAME").String(); u != "" {
		return u
	}
	return "root"
}

// errText is how coreutils words an errno.
func errText(err error) string {
	switch {
	case err == nil:
		return ""
	case os.IsNotExist(err):
		return "No such file or directory"
	case os.IsPermission(err):
		return "Permission denied"
	}
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// ---- commands (coreutils) ----

// fileCommands are the coreutils that push's scripts and `exec -- tee`
// use; in fallback mode the real programs run.
var fileCommands = map[string]cmdFunc{
	"dirname": cmdDirname, "mktemp": cmdMktemp, "sha256sum": cmdSha256sum, "stat": cmdStat,
	"chmod": cmdChmod, "chown": cmdChown, "mv": cmdMv, "rm": cmdRm, "readlink": cmdReadlink, "tee": cmdTee,
}

func cmdDirname(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	if len(c.args) < 2 {
		c.errf("dirname: missing operand\nTry 'dirname --help' for more information.\n")
		return 1
	}
	for _, a := range c.args[1:] {
		d := path.Dir(strings.TrimRight(a, "/"))
		if strings.TrimRight(a, "/") == "" {
			d = "/"
		}
		c.outf("%s\n", d)
	}
	return 0
}

const tempChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func cmdMktemp(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	tmpl := "/tmp/tmp.XXXXXXXXXX"
	if len(c.args) == 2 {
		tmpl = c.abs(c.args[1])
	} else if len(c.args) > 2 {
		c.errf("mktemp: too many templates\nTry 'mktemp --help' for more information.\n")
		return 1
	}
	n := len(tmpl) - len(strings.TrimRight(tmpl, "X"))
	if n < 3 {
		c.errf("mktemp: too few X's in template '%s'\n", path.Base(tmpl))
		return 1
	}
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = tempChars[int(b[i])%len(tempChars)]
	}
	p := tmpl[:len(tmpl)-n] + string(b)
	err := c.h.store.Update(func(s *State) error {
		if err := canWrite(*s, p, c.user, nil); err != nil {
			return err
		}
		if s.Written == nil {
			s.Written = map[string]WrittenFile{}
		}
		s.Written[p] = WrittenFile{Mode: 0o600, UID: uid(c.user), GID: uid(c.user)}
		return nil
	})
	if err != nil {
		c.errf("mktemp: failed to create file via template '%s': %s\n", tmpl, errText(err))
		return 1
	}
	c.outf("%s\n", p)
	return 0
}

func cmdSha256sum(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	files := c.args[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	st := 0
	for _, f := range files {
		var b []byte
		if f == "-" {
			b, _ = io.ReadAll(c.stdin)
		} else {
			r, err := c.h.openFile(c, f)
			if err != nil {
				c.errf("sha256sum: %s: %s\n", f, errText(err))
				st = 1
				continue
			}
			b, _ = io.ReadAll(r)
		}
		c.outf("%x  %s\n", sha256.Sum256(b), f)
	}
	return st
}

// openFile opens a file for reading as the shell would (written files,
// the emulated system files).
func (h *Host) openFile(c *cmd, name string) (io.Reader, error) {
	p := c.abs(name)
	if h.writable(p) {
		return h.openWrittenAs(p, c.user)
	}
	v, err := c.vfs()
	if err != nil {
		return nil, err
	}
	b, msg := c.readFile(v, name)
	if msg != "" {
		return nil, &os.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return strings.NewReader(string(b)), nil
}

func (h *Host) openWrittenAs(p, user string) (io.Reader, error) {
	s, err := h.store.Load()
	if err != nil {
		return nil, err
	}
	f, ok := s.Written[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	if user != "root" && f.Mode&0o004 == 0 && !(f.UID == uid(user) && f.Mode&0o400 != 0) {
		return nil, fs.ErrPermission
	}
	return strings.NewReader(f.Content), nil
}

func cmdStat(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	args := c.args[1:]
	format := ""
	var files []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-c" && i+1 < len(args):
			format = args[i+1]
			i++
		case strings.HasPrefix(args[i], "--format="):
			format = strings.TrimPrefix(args[i], "--format=")
		case strings.HasPrefix(args[i], "-") && args[i] != "-":
			c.errf("stat: invalid option -- '%s'\n", strings.TrimLeft(args[i], "-"))
			return 1
		default:
			files = append(files, args[i])
		}
	}
	if len(files) == 0 {
		c.errf("stat: missing operand\nTry 'stat --help' for more information.\n")
		return 1
	}
	if format == "" {
		c.errf("stat: only stat -c FORMAT is emulated here\n")
		return 1
	}
	s, err := c.state()
	if err != nil {
		c.errf("stat: %v\n", err)
		return 1
	}
	st := 0
	for _, name := range files {
		p := c.abs(name)
		f, ok := s.Written[p]
		dir := !ok && (simDir(s, p) || c.h.vfs(s)[p] != nil && c.h.vfs(s)[p].dir)
		if !ok && !dir {
			if n := c.h.vfs(s)[p]; n != nil {
				f, ok = WrittenFile{Content: n.content, Mode: 0o644}, true
			}
		}
		if !ok && !dir {
			c.errf("stat: cannot statx '%s': No such file or directory\n", name)
			st = 1
			continue
		}
		mode, u, g, size := 0o755, 0, 0, 4096
		if ok {
			mode, u, g, size = f.Mode, f.UID, f.GID, len(f.Content)
		}
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			if format[i] != '%' || i+1 == len(format) {
				b.WriteByte(format[i])
				continue
			}
			i++
			switch format[i] {
			case 'a':
				fmt.Fprintf(&b, "%o", mode)
			case 'u':
				fmt.Fprintf(&b, "%d", u)
			case 'g':
				fmt.Fprintf(&b, "%d", g)
			case 'U':
				b.WriteString(idName(u, c.user))
			case 'G':
				b.WriteString(idName(g, c.user))
			case 's':
				fmt.Fprintf(&b, "%d", size)
			case 'n':
				b.WriteString(name)
			case '%':
				b.WriteByte('%')
			default:
				b.WriteByte('?')
			}
		}
		c.outf("%s\n", b.String())
	}
	return st
}

// changeWritten changes one written file (chmod, chown) as c's user.
func (c *cmd) changeWritten(name string, fn func(f *WrittenFile) error) error {
	p := c.abs(name)
	return c.h.store.Update(func(s *State) error {
		f, ok := s.Written[p]
		if !ok {
			return fs.ErrNotExist
		}
		if err := fn(&f); err != nil {
			return err
		}
		s.Written[p] = f
		return nil
	})
}

func cmdChmod(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	if len(c.args) < 3 {
		c.errf("chmod: missing operand\nTry 'chmod --help' for more information.\n")
		return 1
	}
	m, err := strconv.ParseUint(c.args[1], 8, 32)
	if err != nil || m > 0o7777 {
		c.errf("chmod: invalid mode: '%s'\nTry 'chmod --help' for more information.\n", c.args[1])
		return 1
	}
	st := 0
	for _, name := range c.args[2:] {
		err := c.changeWritten(name, func(f *WrittenFile) error {
			if c.user != "root" && f.UID != uid(c.user) {
				return fs.ErrPermission
			}
			f.Mode = int(m)
			return nil
		})
		switch {
		case os.IsNotExist(err):
			c.errf("chmod: cannot access '%s': No such file or directory\n", name)
			st = 1
		case err != nil:
			c.errf("chmod: changing permissions of '%s': Operation not permitted\n", name)
			st = 1
		}
	}
	return st
}

func cmdChown(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	if len(c.args) < 3 {
		c.errf("chown: missing operand\nTry 'chown --help' for more information.\n")
		return 1
	}
	us, gs, hasGroup := strings.Cut(c.args[1], ":")
	u, ok := lookupID(us, c.user)
	if !ok {
		c.errf("chown: invalid user: '%s'\n", c.args[1])
		return 1
	}
	g := -1
	if hasGroup && gs != "" {
		if g, ok = lookupID(gs, c.user); !ok {
			c.errf("chown: invalid group: '%s'\n", c.args[1])
			return 1
		}
	}
	st := 0
	for _, name := range c.args[2:] {
		err := c.changeWritten(name, func(f *WrittenFile) error {
			if c.user != "root" && (u != f.UID || u != uid(c.user)) {
				return fs.ErrPermission
			}
			f.UID = u
			if g >= 0 {
				f.GID = g
			}
			return nil
		})
		switch {
		case os.IsNotExist(err):
			c.errf("chown: cannot access '%s': No such file or directory\n", name)
			st = 1
		case err != nil:
			c.errf("chown: changing ownership of '%s': Operation not permitted\n", name)
			st = 1
		}
	}
	return st
}

func cmdMv(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	var ops []string
	for _, a := range c.args[1:] {
		if a == "-f" || a == "--force" {
			continue
		}
		ops = append(ops, a)
	}
	if len(ops) != 2 {
		c.errf("mv: only mv [-f] SOURCE DEST is emulated here\n")
		return 1
	}
	src, dst := c.abs(ops[0]), c.abs(ops[1])
	err := c.h.store.Update(func(s *State) error {
		f, ok := s.Written[src]
		if !ok {
			return fs.ErrNotExist
		}
		if simDir(*s, dst) {
			dst = path.Join(dst, path.Base(src))
		}
		old, exists := s.Written[dst]
		var op *WrittenFile
		if exists {
			op = &old
		}
		if err := canWrite(*s, dst, c.user, op); err != nil {
			return err
		}
		delete(s.Written, src)
		s.Written[dst] = f
		return nil
	})
	if err != nil {
		c.errf("mv: cannot move '%s' to '%s': %s\n", ops[0], ops[1], errText(err))
		return 1
	}
	return 0
}

func cmdRm(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	force := false
	var files []string
	for _, a := range c.args[1:] {
		if a == "-f" || a == "--force" {
			force = true
			continue
		}
		files = append(files, a)
	}
	st := 0
	for _, name := range files {
		p := c.abs(name)
		err := c.h.store.Update(func(s *State) error {
			if _, ok := s.Written[p]; !ok {
				return fs.ErrNotExist
			}
			if c.user != "root" && !strings.HasPrefix(p, "/tmp/") && !strings.HasPrefix(p, "/home/"+c.user+"/") {
				return fs.ErrPermission
			}
			delete(s.Written, p)
			return nil
		})
		if err != nil && !(force && os.IsNotExist(err)) {
			c.errf("rm: cannot remove '%s': %s\n", name, errText(err))
			st = 1
		}
	}
	return st
}

// cmdReadlink: the simulated servers have no symbolic links where files
// are written, so readlink prints nothing and fails, as coreutils does
// for a file that is not a link.
func cmdReadlink(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	return 1
}

func cmdTee(c *cmd) int {
	if c.fallback() {
		return notHandled
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	var files []string
	for _, a := range c.args[1:] {
		switch a {
		case "-a", "--append":
			flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		default:
			files = append(files, a)
		}
	}
	ws := []io.Writer{c.stdout}
	st := 0
	for _, name := range files {
		w, err := c.h.openHandler(c.ctx, name, flag, 0o666)
		if err != nil {
			c.errf("tee: %s: %s\n", name, errText(err))
			st = 1
			continue
		}
		ws = append(ws, w)
	}
	if _, err := io.Copy(io.MultiWriter(ws...), c.stdin); err != nil {
		c.errf("tee: %v\n", err)
		return 1
	}
	return st
}
