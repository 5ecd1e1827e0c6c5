package sim

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func loadavgFile(s State) string {
	return fmt.Sprintf("%.2f %.2f %.2f 2/%d 48213\n", s.LoadAvg[0], s.LoadAvg[1], s.LoadAvg[2], 380+len(s.Meetings))
}

// memory figures (kB) consistent between /proc/meminfo and free.
type memFigures struct{ total, free, avail, buffers, cached, shared uint64 }

func mem(s State) memFigures {
	total := s.MemTotal / 1024
	avail := s.MemAvailable / 1024
	if avail > total {
		avail = total
	}
	free := avail / 2
	bc := avail - free
	return memFigures{total: total, free: free, avail: avail, buffers: bc / 10, cached: bc - bc/10, shared: 65536}
}

func meminfoFile(s State) string {
	m := mem(s)
	var b strings.Builder
	for _, l := range []struct {
		k string
		v uint64
	}{
		{"MemTotal:", m.total}, {"MemFree:", m.free}, {"MemAvailable:", m.avail},
		{"Buffers:", m.buffers}, {"Cached:", m.cached}, {"SwapCached:", 0},
		{"Shmem:", m.shared}, {"SwapTotal:", 0}, {"SwapFree:", 0},
	} {
		fmt.Fprintf(&b, "%-15s %8d kB\n", l.k, l.v)
	}
	return b.String()
}

func uptimeFile(s State, now time.Time) string {
	up := now.Sub(s.BootTime).Seconds()
	if up < 0 {
		up = 0
	}
	return fmt.Sprintf("%.2f %.2f\n", up, up*float64(max(s.Cores, 1))*0.9)
}

// readArg reads a file argument: "-" is stdin, virtual paths come from the
// emulated file system; real files only in fallback mode.
func (c *cmd) readFile(v vfs, name string) ([]byte, string) {
	if name == "-" {
		b, _ := io.ReadAll(c.stdin)
		return b, ""
	}
	p := c.abs(name)
	if c.h.writable(p) {
		r, err := c.h.openWrittenAs(p, c.user)
		if err != nil {
			return nil, errText(err)
		}
		b, _ := io.ReadAll(r)
		return b, ""
	}
	if n := v[p]; n != nil {
		if n.dir {
			return nil, "Is a directory"
		}
		return []byte(n.content), ""
	}
	if c.fallback() && !virtualRoot(p) {
		b, err := os.ReadFile(realPath(c.dir, name))
		if err != nil {
			if os.IsNotExist(err) {
				return nil, "No such file or directory"
			}
			if os.IsPermission(err) {
				return nil, "Permission denied"
			}
			return nil, err.Error()
		}
		return b, ""
	}
	return nil, "No such file or directory"
}

func cmdCat(c *cmd) int {
	v, err := c.vfs()
	if err != nil {
		c.errf("cat: %v\n", err)
		return 1
	}
	files := c.args[1:]
	if len(files) == 0 {
		files = []string{"-"}
	}
	st := 0
	for _, f := range files {
		if strings.HasPrefix(f, "-") && f != "-" {
			continue // -A, -n, ... accepted and ignored
		}
		b, e := c.readFile(v, f)
		if e != "" {
			c.errf("cat: %s: %s\n", f, e)
			st = 1
			continue
		}
		c.stdout.Write(b)
	}
	return st
}

// splitFlags separates "-x" style flags from operands (stops at "--").
func splitFlags(args []string) (flags map[rune]bool, operands []string) {
	flags = map[rune]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(operands, args[i+1:]...)
		}
		if len(a) > 1 && a[0] == '-' && !strings.HasPrefix(a, "--") {
			for _, r := range a[1:] {
				flags[r] = true
			}
			continue
		}
		if strings.HasPrefix(a, "--") {
			continue
		}
		operands = append(operands, a)
	}
	return flags, operands
}

func cmdLs(c *cmd) int {
	flags, ops := splitFlags(c.args[1:])
	if len(ops) == 0 {
		ops = []string{"."}
	}
	if c.fallback() {
		for _, o := range ops {
			if !virtualRoot(c.abs(o)) {
				return notHandled
			}
		}
	}
	v, err := c.vfs()
	if err != nil {
		c.errf("ls: %v\n", err)
		return 2
	}
	st := 0
	var files, dirs []string
	for _, o := range ops {
		n := v[c.abs(o)]
		switch {
		case n == nil:
			c.errf("ls: cannot access '%s': No such file or directory\n", o)
			st = 2
		case n.dir && !flags['d']:
			dirs = append(dirs, o)
		default:
			files = append(files, o)
		}
	}
	sort.Strings(files)
	sort.Strings(dirs)
	for _, f := range files {
		c.outf("%s\n", f)
	}
	multi := len(files)+len(dirs) > 1 || st != 0
	for i, d := range dirs {
		if multi {
			if i > 0 || len(files) > 0 {
				c.outf("\n")
			}
			c.outf("%s:\n", d)
		}
		ap := c.abs(d)
		for _, k := range sortedKeys(v[ap].kids) {
			if strings.HasPrefix(k, ".") && !flags['a'] && !flags['A'] {
				continue
			}
			c.outf("%s\n", k)
		}
	}
	return st
}

func cmdFind(c *cmd) int {
	args := c.args[1:]
	var roots []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		roots = append(roots, args[0])
		args = args[1:]
	}
	if len(roots) == 0 {
		roots = []string{"."}
	}
	if c.fallback() {
		for _, r := range roots {
			if !virtualRoot(c.abs(r)) {
				return notHandled
			}
		}
	}
	maxDepth, minDepth := -1, 0
	typ := ""
	var namePat string
	nameFold := false
	for len(args) > 0 {
		a := args[0]
		need := func() (string, bool) {
			if len(args) < 2 {
				c.errf("find: missing argument to `%s'\n", a)
				return "", false
			}
			return args[1], true
		}
		switch a {
		case "-print":
			args = args[1:]
			continue
		case "-maxdepth", "-mindepth", "-type", "-name", "-iname":
			val, ok := need()
			if !ok {
				return 1
			}
			switch a {
			case "-maxdepth":
				maxDepth, _ = strconv.Atoi(val)
			case "-mindepth":
				minDepth, _ = strconv.Atoi(val)
			case "-type":
				typ = val
			default:
				namePat, nameFold = val, a == "-iname"
			}
			args = args[2:]
			continue
		}
		if c.fallback() {
			return notHandled
		}
		c.errf("find: unknown predicate `%s'\n", a)
		return 1
	}
	v, err := c.vfs()
	if err != nil {
		c.errf("find: %v\n", err)
		return 1
	}
	st := 0
	var walk func(shown, abs string, depth int)
	walk = func(shown, abs string, depth int) {
		n := v[abs]
		ok := depth >= minDepth
		if typ == "f" && n.dir || typ == "d" && !n.dir {
			ok = false
		}
		if namePat != "" {
			base, pat := path.Base(shown), namePat
			if nameFold {
				base, pat = strings.ToLower(base), strings.ToLower(pat)
			}
			if m, _ := path.Match(pat, base); !m {
				ok = false
			}
		}
		if ok {
			c.outf("%s\n", shown)
		}
		if n.dir && (maxDepth < 0 || depth < maxDepth) {
			for _, k := range sortedKeys(n.kids) {
				walk(strings.TrimSuffix(shown, "/")+"/"+k, path.Join(abs, k), depth+1)
			}
		}
	}
	private := false
	if s, err := c.state(); err == nil && s.RecordingsPrivate && !c.root() {
		private = true
	}
	for _, r := range roots {
		if ap := c.abs(r); private && strings.HasPrefix(ap+"/", statusDir+"/") && ap != statusDir {
			c.errf("find: '%s': Permission denied\n", r)
			st = 1
			continue
		}
		if v[c.abs(r)] == nil {
			c.errf("find: '%s': No such file or directory\n", r)
			st = 1
			continue
		}
		walk(r, c.abs(r), 0)
	}
	return st
}

// cmdDf prints like GNU df: columns as wide as their widest cell
// (Filesystem at least 14, numbers at least 5), numbers right-aligned, the
// mount point unpadded.
func cmdDf(c *cmd) int {
	args := c.args[1:]
	posix := false
	bs := uint64(1024)
	var paths []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-P" || a == "--portability":
			posix = true
		case a == "-k":
			bs = 1024
		case a == "-B" && i+1 < len(args):
			i++
			bs = parseBlockSize(args[i])
		case strings.HasPrefix(a, "-B"):
			bs = parseBlockSize(a[2:])
		case strings.HasPrefix(a, "--block-size="):
			bs = parseBlockSize(strings.TrimPrefix(a, "--block-size="))
		case a == "-l" || a == "--local" || a == "-x" || a == "--":
		case strings.HasPrefix(a, "-"):
			if c.fallback() {
				return notHandled
			}
			c.errf("df: invalid option -- '%s'\nTry 'df --help' for more information.\n", strings.TrimLeft(a, "-"))
			return 1
		default:
			paths = append(paths, a)
		}
	}
	if bs == 0 {
		c.errf("df: invalid block size\n")
		return 1
	}
	s, err := c.state()
	if err != nil {
		c.errf("df: %v\n", err)
		return 1
	}
	mounts := make([]string, 0, len(s.Disks))
	for m := range s.Disks {
		mounts = append(mounts, m)
	}
	sort.Strings(mounts)
	var rows [][]string
	sizeHdr, pctHdr := "", "Use%"
	switch {
	case posix:
		sizeHdr, pctHdr = fmt.Sprintf("%d-blocks", bs), "Capacity"
	case bs == 1024:
		sizeHdr = "1K-blocks"
	case bs == 1:
		sizeHdr = "1B-blocks"
	default:
		sizeHdr = fmt.Sprintf("%d-blocks", bs)
	}
	rows = append(rows, []string{"Filesystem", sizeHdr, "Used", "Available", pctHdr, "Mounted on"})
	row := func(m string) []string {
		d := s.Disks[m]
		ceil := func(x uint64) uint64 { return (x + bs - 1) / bs }
		u, a := d.Used, d.avail()
		pct := "-"
		if u+a > 0 {
			p := u * 100 / (u + a)
			if u*100%(u+a) != 0 {
				p++
			}
			pct = fmt.Sprintf("%d%%", p)
		}
		return []string{d.Device, strconv.FormatUint(ceil(d.Size), 10), strconv.FormatUint(ceil(u), 10),
			strconv.FormatUint(ceil(a), 10), pct, m}
	}
	st := 0
	if len(paths) == 0 {
		for _, m := range mounts {
			rows = append(rows, row(m))
		}
	}
	for _, p := range paths {
		ap := c.abs(p)
		best := ""
		for _, m := range mounts {
			if (ap == m || m == "/" || strings.HasPrefix(ap, m+"/")) && len(m) > len(best) {
				best = m
			}
		}
		if best == "" {
			c.errf("df: %s: No such file or directory\n", p)
			st = 1
			continue
		}
		rows = append(rows, row(best))
	}
	widths := []int{14, 5, 5, 5, 4, 0}
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	if len(rows) == 1 && st != 0 {
		return st
	}
	for _, r := range rows {
		var b strings.Builder
		for i, cell := range r {
			if i > 0 {
				b.WriteByte(' ')
			}
			pad := strings.Repeat(" ", widths[i]-len([]rune(cell)))
			switch i {
			case 0:
				b.WriteString(cell + pad)
			case len(r) - 1:
				b.WriteString(cell)
			default:
				b.WriteString(pad + cell)
			}
		}
		c.outf("%s\n", b.String())
	}
	return st
}

func parseBlockSize(s string) uint64 {
	mult := map[string]uint64{"": 1, "K": 1024, "M": 1 << 20, "G": 1 << 30, "KB": 1000, "MB": 1000000, "GB": 1000000000}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n := uint64(1)
	if i > 0 {
		n, _ = strconv.ParseUint(s[:i], 10, 64)
	}
	m, ok := mult[s[i:]]
	if !ok {
		return 0
	}
	return n * m
}

// cmdFree prints like procps-ng free (columns of 11, values in KiB by default).
func cmdFree(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("free: %v\n", err)
		return 1
	}
	unit := uint64(1024) // bytes per printed unit; input figures are kB
	for _, a := range c.args[1:] {
		switch a {
		case "-b", "--bytes":
			unit = 1
		case "-k", "--kibi", "-w", "--wide", "-t":
			if a == "-k" || a == "--kibi" {
				unit = 1024
			}
		case "-m", "--mebi":
			unit = 1 << 20
		case "-g", "--gibi":
			unit = 1 << 30
		default:
			if c.fallback() {
				return notHandled
			}
			c.errf("free: invalid option -- '%s'\n", strings.TrimLeft(a, "-"))
			return 1
		}
	}
	m := mem(s)
	conv := func(kb uint64) uint64 { return kb * 1024 / unit }
	used := m.total - m.avail
	c.outf("%s\n", "               total        used        free      shared  buff/cache   available")
	c.outf("%-9s%11d %11d %11d %11d %11d %11d\n", "Mem:", conv(m.total), conv(used), conv(m.free), conv(m.shared), conv(m.buffers+m.cached), conv(m.avail))
	c.outf("%-9s%11d %11d %11d\n", "Swap:", 0, 0, 0)
	return 0
}

func cmdNproc(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("nproc: %v\n", err)
		return 1
	}
	c.outf("%d\n", max(s.Cores, 1))
	return 0
}

func cmdUptime(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("uptime: %v\n", err)
		return 1
	}
	now := c.h.now(s).UTC()
	up := now.Sub(s.BootTime)
	if up < 0 {
		up = 0
	}
	for _, a := range c.args[1:] {
		switch a {
		case "-s", "--since":
			c.outf("%s\n", s.BootTime.UTC().Format("2006-01-02 15:04:05"))
			return 0
		case "-p", "--pretty":
			c.outf("up %s\n", prettyUp(up))
			return 0
		}
	}
	days := int(up.Hours()) / 24
	hours := int(up.Hours()) % 24
	mins := int(up.Minutes()) % 60
	var u string
	switch {
	case days > 0:
		dw := "days"
		if days == 1 {
			dw = "day"
		}
		u = fmt.Sprintf("%d %s, %2d:%02d", days, dw, hours, mins)
	case hours > 0:
		u = fmt.Sprintf("%2d:%02d", hours, mins)
	default:
		u = fmt.Sprintf("%d min", mins)
	}
	c.outf(" %s up %s,  1 user,  load average: %.2f, %.2f, %.2f\n", now.Format("15:04:05"), u, s.LoadAvg[0], s.LoadAvg[1], s.LoadAvg[2])
	return 0
}

func prettyUp(d time.Duration) string {
	var parts []string
	days := int(d.Hours()) / 24
	if w := days / 7; w > 0 {
		parts = append(parts, plural(w, "week"))
	}
	if dd := days % 7; dd > 0 {
		parts = append(parts, plural(dd, "day"))
	}
	if h := int(d.Hours()) % 24; h > 0 {
		parts = append(parts, plural(h, "hour"))
	}
	if m := int(d.Minutes()) % 60; m > 0 || len(parts) == 0 {
		parts = append(parts, plural(m, "minute"))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	return fmt.Sprintf("%d %ss", n, w)
}

// cmdDate supports [-u] [+FORMAT] with the common conversions; the clock
// is the host's, ClockOffset applied. The simulated servers run in UTC.
func cmdDate(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("date: %v\n", err)
		return 1
	}
	now := c.h.now(s).UTC()
	format := "%a %b %e %H:%M:%S %Z %Y"
	for _, a := range c.args[1:] {
		switch {
		case a == "-u" || a == "--utc" || a == "--universal":
		case a == "-R" || a == "--rfc-email":
			format = "%a, %d %b %Y %H:%M:%S %z"
		case a == "-Iseconds" || a == "--iso-8601=seconds":
			format = "%Y-%m-%dT%H:%M:%S%:z"
		case strings.HasPrefix(a, "+"):
			format = a[1:]
		default:
			if c.fallback() {
				return notHandled
			}
			c.errf("date: invalid date '%s'\n", a)
			return 1
		}
	}
	c.outf("%s\n", strftime(now, format))
	return 0
}

func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'N':
			fmt.Fprintf(&b, "%09d", t.Nanosecond())
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case ':':
			if i+1 < len(f) && f[i+1] == 'z' {
				i++
				b.WriteString(t.Format("-07:00"))
			} else {
				b.WriteString("%:")
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func cmdHostname(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("hostname: %v\n", err)
		return 1
	}
	c.outf("%s\n", s.Hostname)
	return 0
}

func uid(user string) int {
	if user == "root" {
		return 0
	}
	return 1000
}

func cmdID(c *cmd) int {
	flags, _ := splitFlags(c.args[1:])
	switch {
	case flags['u'] && flags['n']:
		c.outf("%s\n", c.user)
	case flags['u']:
		c.outf("%d\n", uid(c.user))
	case flags['g'] && flags['n']:
		c.outf("%s\n", c.user)
	case flags['g']:
		c.outf("%d\n", uid(c.user))
	default:
		u := uid(c.user)
		c.outf("uid=%d(%s) gid=%d(%s) groups=%d(%s)\n", u, c.user, u, c.user, u, c.user)
	}
	return 0
}

func cmdWhoami(c *cmd) int {
	c.outf("%s\n", c.user)
	return 0
}

func cmdWhich(c *cmd) int {
	st := 0
	for _, n := range c.args[1:] {
		if commands[n] != nil {
			c.outf("%s\n", cmdPath(n))
			continue
		}
		if c.fallback() {
			return notHandled
		}
		st = 1
	}
	return st
}

// inputs returns the contents to filter: the files named, or stdin.
func (c *cmd) inputs(name string, files []string) ([][]byte, []string, int) {
	if len(files) == 0 {
		b, _ := io.ReadAll(c.stdin)
		return [][]byte{b}, []string{""}, 0
	}
	v, err := c.vfs()
	if err != nil {
		c.errf("%s: %v\n", name, err)
		return nil, nil, 2
	}
	var out [][]byte
	var names []string
	st := 0
	for _, f := range files {
		b, e := c.readFile(v, f)
		if e != "" {
			c.errf("%s: %s: %s\n", name, f, e)
			st = 2
			continue
		}
		out = append(out, b)
		names = append(names, f)
	}
	return out, names, st
}

func lines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.Split(s, "\n")
}

func cmdGrep(c *cmd) int {
	args := c.args[1:]
	var quiet, invert, count, fold, fixed, extended, whole bool
	var pats []string
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-e" && i+1 < len(args) {
			pats = append(pats, args[i+1])
			i++
			continue
		}
		if a == "--" {
			files = append(files, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			for _, r := range a[1:] {
				switch r {
				case 'q', 's':
					quiet = quiet || r == 'q'
				case 'v':
					invert = true
				case 'c':
					count = true
				case 'i':
					fold = true
				case 'F':
					fixed = true
				case 'E':
					extended = true
				case 'x':
					whole = true
				case 'h':
				default:
					if c.fallback() {
						return notHandled
					}
					c.errf("grep: invalid option -- '%c'\n", r)
					return 2
				}
			}
			continue
		}
		if len(pats) == 0 {
			pats = append(pats, a)
		} else {
			files = append(files, a)
		}
	}
	if len(pats) == 0 {
		c.errf("Usage: grep [OPTION]... PATTERNS [FILE]...\n")
		return 2
	}
	var res []*regexp.Regexp
	for _, p := range pats {
		src := p
		if fixed {
			src = regexp.QuoteMeta(p)
		} else if !extended {
			src = breToERE(p)
		}
		if whole {
			src = "^(?:" + src + ")$"
		}
		if fold {
			src = "(?i)" + src
		}
		re, err := regexp.Compile(src)
		if err != nil {
			c.errf("grep: %v\n", err)
			return 2
		}
		res = append(res, re)
	}
	bufs, names, st := c.inputs("grep", files)
	matched := false
	for i, b := range bufs {
		n := 0
		for _, l := range lines(b) {
			m := false
			for _, re := range res {
				m = m || re.MatchString(l)
			}
			if m == invert {
				continue
			}
			matched = true
			n++
			if quiet {
				return 0
			}
			if !count {
				if len(names) > 1 {
					c.outf("%s:", names[i])
				}
				c.outf("%s\n", l)
			}
		}
		if count && !quiet {
			if len(names) > 1 {
				c.outf("%s:", names[i])
			}
			c.outf("%d\n", n)
		}
	}
	if st != 0 && !matched {
		return st
	}
	if !matched {
		return 1
	}
	return 0
}

// breToERE converts the common basic-regex escapes to Go syntax.
func breToERE(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch == '\\' && i+1 < len(p) {
			switch p[i+1] {
			case '(', ')', '{', '}', '|', '+', '?':
				b.WriteByte(p[i+1])
				i++
				continue
			}
			b.WriteByte(ch)
			b.WriteByte(p[i+1])
			i++
			continue
		}
		switch ch {
		case '(', ')', '{', '}', '|', '+', '?':
			b.WriteByte('\\')
		}
		b.WriteByte(ch)
	}
	return b.String()
}

func headTailArgs(c *cmd) (n int, files []string, ok bool) {
	n = 10
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-n" && i+1 < len(args):
			v, err := strconv.Atoi(strings.TrimPrefix(args[i+1], "+"))
			if err != nil {
				c.errf("%s: invalid number of lines: '%s'\n", c.args[0], args[i+1])
				return 0, nil, false
			}
			n = v
			i++
		case strings.HasPrefix(a, "-n"):
			v, err := strconv.Atoi(a[2:])
			if err != nil {
				return 0, nil, false
			}
			n = v
		case len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9':
			v, _ := strconv.Atoi(a[1:])
			n = v
		default:
			files = append(files, a)
		}
	}
	return n, files, true
}

func cmdHead(c *cmd) int {
	n, files, ok := headTailArgs(c)
	if !ok {
		return 1
	}
	bufs, _, st := c.inputs("head", files)
	for _, b := range bufs {
		ls := lines(b)
		if n < len(ls) {
			ls = ls[:n]
		}
		for _, l := range ls {
			c.outf("%s\n", l)
		}
	}
	return min(st, 1)
}

func cmdTail(c *cmd) int {
	if isTailFollow(c) {
		return tailFollow(c)
	}
	n, files, ok := headTailArgs(c)
	if !ok {
		return 1
	}
	bufs, _, st := c.inputs("tail", files)
	for _, b := range bufs {
		ls := lines(b)
		if n < len(ls) {
			ls = ls[len(ls)-n:]
		}
		for _, l := range ls {
			c.outf("%s\n", l)
		}
	}
	return min(st, 1)
}

func cmdWc(c *cmd) int {
	flags, files := splitFlags(c.args[1:])
	bufs, names, st := c.inputs("wc", files)
	if len(flags) == 0 {
		flags = map[rune]bool{'l': true, 'w': true, 'c': true}
	}
	for i, b := range bufs {
		var parts []string
		if flags['l'] {
			parts = append(parts, strconv.Itoa(bytes.Count(b, []byte("\n"))))
		}
		if flags['w'] {
			parts = append(parts, strconv.Itoa(len(strings.Fields(string(b)))))
		}
		if flags['c'] {
			parts = append(parts, strconv.Itoa(len(b)))
		}
		out := strings.Join(parts, " ")
		if names[i] != "" {
			out += " " + names[i]
		}
		c.outf("%s\n", out)
	}
	return min(st, 1)
}

// cmdSh runs `sh -c SCRIPT` (and `sh` / `sh -s` reading the script from
// stdin) in the same emulation, as the server's shell would.
func cmdSh(c *cmd) int {
	name := c.args[0]
	args := c.args[1:]
	switch {
	case len(args) >= 2 && args[0] == "-c":
		// sh -c SCRIPT [NAME [ARGS...]]: ARGS are $1...; NAME ($0) is not kept.
		var params []string
		if len(args) > 3 {
			params = args[3:]
		}
		return c.h.execParams(c.ctx, args[1], params, c.user, c.stdin, c.stdout, c.stderr)
	case len(args) == 1 && args[0] == "-c":
		c.errf("%s: 0: -c requires an argument\n", name)
		return 2
	case len(args) >= 2 && args[0] == "-s" && args[1] == "--":
		// bash -s -- ARGS: the script on stdin, ARGS as $1...
		script, err := io.ReadAll(io.LimitReader(c.stdin, 1<<20))
		if err != nil {
			c.errf("%s: 0: %v\n", name, err)
			return 2
		}
		return c.h.execParams(c.ctx, string(script), args[2:], c.user, strings.NewReader(""), c.stdout, c.stderr)
	case len(args) == 0 || (len(args) == 1 && args[0] == "-s"):
		script, err := io.ReadAll(io.LimitReader(c.stdin, 1<<20))
		if err != nil {
			c.errf("%s: 0: %v\n", name, err)
			return 2
		}
		return c.h.Exec(c.ctx, string(script), c.user, strings.NewReader(""), c.stdout, c.stderr)
	}
	c.errf("%s: 0: cannot open %s: No such file\n", name, args[0])
	return 2
}

func cmdSleep(c *cmd) int {
	var total time.Duration
	for _, a := range c.args[1:] {
		f, err := strconv.ParseFloat(strings.TrimSuffix(a, "s"), 64)
		if err != nil {
			c.errf("sleep: invalid time interval '%s'\n", a)
			return 1
		}
		total += time.Duration(f * float64(time.Second))
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-c.ctx.Done():
		return 130
	}
}
