package bbb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file is what bbbfleet knows about bbb-install.sh (reference §3, §7):
// the series it installs, its flags, the command line that runs it
// detached from the SSH session, the preflight script and the parsers of
// their output. Nothing here touches the network.

// InstallSeries is one release line bbb-install.sh installs.
type InstallSeries struct {
	Name      string // the -v value: jammy-300
	Ubuntu    string // the Ubuntu release it needs: 22.04
	BBB       string // the BBB release prefix: 3.0
	ScriptURL string // the official bbb-install.sh of the series
}

// Series are the series bbbfleet knows, by -v value.
var Series = map[string]InstallSeries{
	"focal-270": {Name: "focal-270", Ubuntu: "20.04", BBB: "2.7", ScriptURL: "https://raw.githubusercontent.com/bigbluebutton/bbb-install/v2.7.x-release/bbb-install.sh"},
	"jammy-300": {Name: "jammy-300", Ubuntu: "22.04", BBB: "3.0", ScriptURL: "https://raw.githubusercontent.com/bigbluebutton/bbb-install/v3.0.x-release/bbb-install.sh"},
	"noble-400": {Name: "noble-400", Ubuntu: "24.04", BBB: "4.0", ScriptURL: "https://raw.githubusercontent.com/bigbluebutton/bbb-install/v4.0.x-release/bbb-install.sh"},
}

// DefaultSeries is the series installed when the config names none.
const DefaultSeries = "jammy-300"

// SeriesNames lists the known series, sorted.
func SeriesNames() []string { return []string{"focal-270", "jammy-300", "noble-400"} }

// SeriesOfRelease returns the series a BBB release (3.0.4) belongs to.
func SeriesOfRelease(release string) (InstallSeries, bool) {
	for _, n := range SeriesNames() {
		s := Series[n]
		if release == s.BBB || strings.HasPrefix(release, s.BBB+".") {
			return s, true
		}
	}
	return InstallSeries{}, false
}

// InstallFlag describes one documented flag of bbb-install.sh.
type InstallFlag struct {
	Arg  bool   // takes a value
	Help string // what it does
}

// InstallFlags are bbb-install.sh's documented flags that may appear in
// install.flags (reference §3). -v, -s and -e are set by bbbfleet from
// series, hostname and email; -x is interactive and never allowed.
var InstallFlags = map[string]InstallFlag{
	"-w": {Help: "install the UFW firewall"},
	"-g": {Help: "install Greenlight"},
	"-k": {Help: "install Keycloak (needs -g)"},
	"-c": {Arg: true, Help: "external TURN server host:secret"},
	"-m": {Arg: true, Help: "recordings storage path"},
	"-p": {Arg: true, Help: "apt proxy host[:port]"},
	"-r": {Arg: true, Help: "package repository host"},
	"-d": {Help: "use the certificates in /local/certs/"},
	"-j": {Help: "skip the hardware checks"},
	"-i": {Help: "allow apache2"},
}

// flagValueRe is what a flag's value may be: host names, paths, host:secret.
var flagValueRe = regexp.MustCompile(`^[A-Za-z0-9._:/@+=-]{1,255}$`)

// ParseInstallFlags checks install.flags: each element is a flag ("-w") or
// a flag and its value ("-p proxy:3142" or "-p", "proxy:3142" as two
// elements). It returns the argv words.
func ParseInstallFlags(flags []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(flags); i++ {
		f := strings.TrimSpace(flags[i])
		name, val, hasVal := strings.Cut(f, " ")
		val = strings.TrimSpace(val)
		switch name {
		case "-x":
			return nil, fmt.Errorf("flag -x asks for a manual DNS challenge (interactive): bbbfleet never runs it")
		case "-v", "-s", "-e":
			return nil, fmt.Errorf("flag %s is set by bbbfleet (from install.series, install.hostname, install.email): remove it from install.flags", name)
		}
		spec, ok := InstallFlags[name]
		if !ok {
			return nil, fmt.Errorf("flag %q is not one of bbb-install.sh's documented flags (%s)", f, strings.Join(installFlagNames(), " "))
		}
		if seen[name] {
			return nil, fmt.Errorf("flag %s is given twice", name)
		}
		seen[name] = true
		if !spec.Arg {
			if hasVal {
				return nil, fmt.Errorf("flag %s takes no value (got %q)", name, val)
			}
			out = append(out, name)
			continue
		}
		if !hasVal {
			if i+1 >= len(flags) {
				return nil, fmt.Errorf("flag %s needs a value (%s)", name, spec.Help)
			}
			i++
			val = strings.TrimSpace(flags[i])
		}
		if !flagValueRe.MatchString(val) {
			return nil, fmt.Errorf("flag %s: value %q has characters bbbfleet does not pass on (allowed: letters, digits and ._:/@+=-)", name, val)
		}
		out = append(out, name, val)
	}
	if seen["-k"] && !seen["-g"] {
		return nil, fmt.Errorf("flag -k (Keycloak) needs -g (Greenlight)")
	}
	return out, nil
}

func installFlagNames() []string {
	return []string{"-w", "-g", "-k", "-c", "-m", "-p", "-r", "-d", "-j", "-i"}
}

// PlaceholderHostname and PlaceholderEmail are the values bbb-install.sh
// rejects (its documentation's examples).
const (
	PlaceholderHostname = "bbb.example.com"
	PlaceholderEmail    = "info@example.com"
)

// IsPlaceholderEmail: info@example.com or any address at example.com.
func IsPlaceholderEmail(e string) bool {
	e = strings.ToLower(e)
	return e == PlaceholderEmail || strings.HasSuffix(e, "@example.com")
}

// InstallArgs is the argument list of bbb-install.sh: -v SERIES -s HOST
// -e EMAIL then the extra flags.
func InstallArgs(series, hostname, email string, flags []string) []string {
	args := []string{"-v", series, "-s", hostname}
	if email != "" {
		args = append(args, "-e", email)
	}
	return append(args, flags...)
}

// Files bbbfleet keeps on the server for an install.
const (
	InstallLogDir   = "/var/log/bbbfleet"
	InstallStateDir = "/var/lib/bbbfleet"
	// InstallCurrent names the running (or last) install: its log path and
	// how it was started ("unit NAME" or "pid" for the fallback).
	InstallCurrent = InstallStateDir + "/install.current"
	// InstallPIDFile holds the pid of a fallback (setsid nohup) run.
	InstallPIDFile = InstallStateDir + "/install.pid"
	// InstallExitMark starts the last line the wrapper appends to the
	// log: the installer's exit status.
	InstallExitMark = "bbbfleet-install-exit: "
)

// InstallUnit is the systemd unit name of a server's install.
func InstallUnit(server string) string { return "bbbfleet-install-" + server }

// quote is POSIX single-quoting (bbb cannot import pkg/ssh's).
func quote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9._:/@+=,-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func quoteAll(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = quote(w)
	}
	return strings.Join(q, " ")
}

// InstallWrapper is the script run detached: it fetches the installer and
// pipes it into bash (reference §3), keeps all its output in logPath and
// appends the exit status. pipefail makes a failed download count.
func InstallWrapper(scriptURL string, args []string, logPath string) string {
	return "set -o pipefail; wget -qO- " + quote(scriptURL) + " | bash -s -- " + quoteAll(args) +
		" >> " + quote(logPath) + " 2>&1; echo \"" + InstallExitMark + "$?\" >> " + quote(logPath)
}

// InstallStartScript starts the installer detached from the SSH session:
// under systemd-run as a transient unit (kept after it ends: no
// --collect, so its result can be read after a disconnect), or, where
// systemd-run is missing, with setsid nohup in the background. It records
// the log path in InstallCurrent. It runs as root (sudo).
func InstallStartScript(unit, scriptURL string, args []string, logPath string) string {
	w := InstallWrapper(scriptURL, args, logPath)
	return InstallLiveGuard + "umask 022; mkdir -p " + InstallLogDir + " " + InstallStateDir + " && : > " + quote(logPath) + " && " +
		"if command -v systemd-run >/dev/null 2>&1; then " +
		"systemctl reset-failed " + quote(unit+".service") + " >/dev/null 2>&1; " +
		"echo " + quote("unit "+unit+" "+logPath) + " > " + InstallCurrent + " && " +
		"systemd-run --unit=" + quote(unit) + " -p User=root -E HOME=/root /bin/bash -c " + quote(w) + "; " +
		"else echo " + quote("pid "+unit+" "+logPath) + " > " + InstallCurrent + " && : > " + InstallPIDFile + " && " +
		"{ setsid nohup /bin/bash -c " + quote("echo $$ > "+InstallPIDFile+"; "+w) + " </dev/null >/dev/null 2>&1 & } ; " +
		// Return once the pid is written (at most 10 s), so that the
		// install is seen running from the first look on.
		"i=0; while [ ! -s " + InstallPIDFile + " ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi"
}

// InstallLiveStatus is the exit status of InstallStartScript when an
// install runs already: it starts nothing and leaves the log alone.
const InstallLiveStatus = 75

// InstallLiveGuard begins InstallStartScript: when the install recorded in
// InstallCurrent still runs (its unit active, or the fallback's pid
// alive), it says so on stderr and exits InstallLiveStatus. A start script
// sent twice (a retry after a dropped connection) so never truncates a
// running installer's log nor starts a second bbb-install.sh.
const InstallLiveGuard = "live=; set -- $(cat " + InstallCurrent + " 2>/dev/null); " +
	"if [ \"$1\" = unit ]; then case \"$(systemctl show -p ActiveState \"$2.service\" 2>/dev/null)\" in " +
	"*=active|*=activating|*=reloading|*=deactivating) live=1;; esac; " +
	"elif [ \"$1\" = pid ] && [ -s " + InstallPIDFile + " ] && kill -0 \"$(cat " + InstallPIDFile + ")\" 2>/dev/null; then live=1; fi; " +
	"if [ -n \"$live\" ]; then echo \"bbbfleet: an install runs already on this server (log $3): not starting another\" >&2; exit 75; fi; "

// InstallCommandLine is the command line the install runs on the server,
// as shown by --dry-run (the wrapper without the bookkeeping).
func InstallCommandLine(unit, scriptURL string, args []string, logPath string) string {
	return "systemd-run --unit=" + unit + " -p User=root -E HOME=/root /bin/bash -c " + quote(InstallWrapper(scriptURL, args, logPath))
}

// InstallStatusScript reports the running or last install: the current
// record, whether it still runs (ActiveState of the unit, or the pid
// alive), and the log's size. A constant script.
const InstallStatusScript = "echo " + isCurMark + "; cat " + InstallCurrent + " 2>/dev/null; " +
	"echo " + isRunMark + "; set -- $(cat " + InstallCurrent + " 2>/dev/null); " +
	"if [ \"$1\" = unit ]; then systemctl show -p ActiveState,Result,ExecMainStatus,MainPID \"$2.service\" 2>/dev/null; " +
	"elif [ \"$1\" = pid ] && [ -s " + InstallPIDFile + " ]; then p=$(cat " + InstallPIDFile + "); if kill -0 \"$p\" 2>/dev/null; then echo ActiveState=active; echo MainPID=$p; else echo ActiveState=inactive; fi; fi; " +
	"echo " + isEndMark + "; if [ -n \"$3\" ]; then tail -n 1 \"$3\"; fi; true"

const (
	isCurMark = "--bbbfleet-install-current--"
	isRunMark = "--bbbfleet-install-running--"
	isEndMark = "--bbbfleet-install-exit--"
)

// InstallStatus is what InstallStatusScript found.
type InstallStatus struct {
	// Known: an install record exists on the server.
	Known bool
	// Unit is the systemd unit (empty for a fallback run).
	Unit string
	Log  string
	// Running: the unit is active (or the fallback's pid lives).
	Running bool
	// MainPID of the running installer (0 when unknown).
	MainPID int
	// Ended: the wrapper wrote the exit status; ExitStatus is it.
	Ended      bool
	ExitStatus int
	// UnitResult and UnitStatus are systemd's Result and ExecMainStatus.
	UnitResult string
	UnitStatus string
}

// What an install record on a server may name: only a log bbbfleet
// writes (never another file to follow with sudo) and a unit it starts.
var (
	installLogRe = regexp.MustCompile(`^` + InstallLogDir + `/install-[0-9]{8}T[0-9]{6}Z\.log$`)
	unitRe       = regexp.MustCompile(`^bbbfleet-install-[a-z0-9][a-z0-9._-]*$`)
)

// ParseInstallStatus reads InstallStatusScript's output.
func ParseInstallStatus(out string) InstallStatus {
	var st InstallStatus
	_, rest, _ := strings.Cut(out, isCurMark+"\n")
	cur, rest, _ := strings.Cut(rest, isRunMark+"\n")
	run, end, _ := strings.Cut(rest, isEndMark+"\n")
	f := strings.Fields(cur)
	if len(f) == 3 && (f[0] == "unit" || f[0] == "pid") && installLogRe.MatchString(f[2]) && unitRe.MatchString(f[1]) {
		st.Known = true
		if f[0] == "unit" {
			st.Unit = f[1]
		}
		st.Log = f[2]
	}
	for _, l := range strings.Split(run, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok {
			continue
		}
		switch k {
		case "ActiveState":
			st.Running = v == "active" || v == "activating" || v == "reloading"
		case "MainPID":
			st.MainPID, _ = strconv.Atoi(v)
		case "Result":
			st.UnitResult = v
		case "ExecMainStatus":
			st.UnitStatus = v
		}
	}
	if l := strings.TrimSpace(end); strings.HasPrefix(l, InstallExitMark) {
		if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, InstallExitMark))); err == nil {
			st.Ended, st.ExitStatus = true, n
		}
	}
	return st
}

// InstallFollowScript prints the log from byte offset (1-based, as tail -c
// +N) and follows it until the installer's process pid ends (tail --pid);
// with pid 0 it prints what is there and ends.
func InstallFollowScript(log string, offset int64, pid int) string {
	if pid > 0 {
		return fmt.Sprintf("tail --pid=%d -s 0.2 -c +%d -F %s", pid, offset+1, quote(log))
	}
	return fmt.Sprintf("tail -c +%d %s", offset+1, quote(log))
}

// Install phases shown on the live line.
const (
	PhasePackages     = "packages"
	PhaseCertificates = "certificates"
	PhaseRestart      = "restart"
	PhaseCheck        = "check"
)

// InstallPhase says which phase an installer output line starts, if any:
// apt work is packages, certbot is certificates, bbb-conf --restart or
// --setip is restart, bbb-conf --check (or its report) is check.
func InstallPhase(line string) string {
	l := strings.ToLower(line)
	switch {
	case strings.Contains(l, "potential problems") || strings.Contains(l, "bbb-conf --check") || strings.HasPrefix(l, "bigbluebutton server "):
		return PhaseCheck
	case strings.Contains(l, "bbb-conf --restart") || strings.Contains(l, "bbb-conf --setip") || strings.Contains(l, "restarting bigbluebutton") ||
		strings.HasPrefix(l, "assigning ") && strings.HasSuffix(l, " for web hostname"):
		return PhaseRestart
	case strings.Contains(l, "certbot") || strings.Contains(l, "letsencrypt") || strings.Contains(l, "let's encrypt") || strings.Contains(l, "certificate"):
		return PhaseCertificates
	case strings.HasPrefix(l, "get:") || strings.HasPrefix(l, "hit:") || strings.Contains(l, "apt-get") ||
		strings.HasPrefix(l, "setting up ") || strings.HasPrefix(l, "unpacking ") || strings.HasPrefix(l, "reading package lists"):
		return PhasePackages
	}
	return ""
}

// InstallerError returns the installer's own error line (err() prints
// "bbb-install: <msg>", reference §7), the last one in lines.
func InstallerError(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "bbb-install: ") {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

// CheckProblems returns what `bbb-conf --check` reports after "# Potential
// problems described below" (empty: nothing), and whether the header was
// found at all.
func CheckProblems(out string) (problems []string, found bool) {
	_, after, ok := strings.Cut(out, "# Potential problems described below")
	if !ok {
		return nil, false
	}
	for _, l := range strings.Split(after, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			problems = append(problems, l)
		}
	}
	return problems, true
}

// PreflightScript gathers every fact preflight needs in one SSH command.
// It is a constant; the two values it needs (the hostname to resolve and
// the script URL to try) come on its standard input, one a line, so
// nothing from the config is put into a shell command line.
const PreflightScript = `read -r h; read -r u
echo ` + pfMark + `os; cat /etc/os-release 2>/dev/null
echo ` + pfMark + `arch; uname -m
echo ` + pfMark + `mem; grep '^MemTotal:' /proc/meminfo
echo ` + pfMark + `cores; nproc
echo ` + pfMark + `disk; df -P -k /
echo ` + pfMark + `ipv6; cat /proc/net/if_inet6 2>/dev/null
echo ` + pfMark + `apache2; dpkg-query -W -f='${Status}\n' apache2 2>/dev/null
echo ` + pfMark + `ports; if [ "$(id -u)" = 0 ]; then ss -Hltnp; else sudo -n ss -Hltnp 2>/dev/null || ss -Hltn; fi
echo ` + pfMark + `bbb; cat /etc/bigbluebutton/bigbluebutton-release 2>/dev/null
echo ` + pfMark + `sudo; if [ "$(id -u)" = 0 ]; then echo root; elif sudo -n true 2>/dev/null; then echo nopasswd; else echo password; fi
echo ` + pfMark + `systemd-run; command -v systemd-run
echo ` + pfMark + `resolve; getent ahosts "$h" 2>/dev/null
echo ` + pfMark + `url; if command -v curl >/dev/null 2>&1; then curl -fsSI --max-time 15 -o /dev/null "$u" 2>&1; else wget -q --spider --timeout=15 --tries=1 "$u" 2>&1; fi; echo "status=$?"
echo ` + pfMark + `end
true`

const pfMark = "--bbbfleet-preflight-"

// PreflightFacts are the server's answers to PreflightScript.
type PreflightFacts struct {
	OSID, OSVersion string // ubuntu, 22.04
	OSPretty        string
	Arch            string
	MemKB           uint64
	Cores           int
	DiskFreeKB      uint64
	DiskKnown       bool
	IPv6Global      bool
	IPv6Known       bool
	Apache2         bool
	// Ports are the listening sockets on 80 and 443: "PORT PROCESS" (the
	// process name is empty when ss could not show it).
	Ports []PortHolder
	// BBBRelease is the installed BBB release ("" when none).
	BBBRelease string
	// Sudo is root, nopasswd or password.
	Sudo       string
	SystemdRun bool
	// Resolved are the server's addresses for the hostname (getent).
	Resolved []string
	// URLStatus is the exit status of curl/wget against the script URL
	// (-1: not reported); URLOut their message.
	URLStatus int
	URLOut    string
	// Complete: the script ran to its end.
	Complete bool
}

// PortHolder is a listening TCP socket on a web port.
type PortHolder struct {
	Port    int
	Process string
}

var (
	ssProcRe = regexp.MustCompile(`users:\(\("([^"]+)"`)
	osKVRe   = regexp.MustCompile(`^([A-Z_]+)=(.*)$`)
)

// ParsePreflight reads PreflightScript's output. Anything odd is left
// unknown rather than guessed.
func ParsePreflight(out string) PreflightFacts {
	f := PreflightFacts{URLStatus: -1}
	sections := map[string]string{}
	cur := ""
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, pfMark) {
			if cur != "" {
				sections[cur] = b.String()
			}
			cur, b = strings.TrimPrefix(l, pfMark), strings.Builder{}
			continue
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
	if cur != "" {
		sections[cur] = b.String()
	}
	_, f.Complete = sections["end"]
	for _, l := range strings.Split(sections["os"], "\n") {
		m := osKVRe.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		v := strings.Trim(m[2], `"'`)
		switch m[1] {
		case "ID":
			f.OSID = v
		case "VERSION_ID":
			f.OSVersion = v
		case "PRETTY_NAME":
			f.OSPretty = v
		}
	}
	f.Arch = strings.TrimSpace(sections["arch"])
	if fs := strings.Fields(sections["mem"]); len(fs) >= 2 {
		f.MemKB, _ = strconv.ParseUint(fs[1], 10, 64)
	}
	f.Cores, _ = strconv.Atoi(strings.TrimSpace(sections["cores"]))
	if ls := strings.Split(strings.TrimSpace(sections["disk"]), "\n"); len(ls) >= 2 {
		if fs := strings.Fields(ls[len(ls)-1]); len(fs) >= 4 {
			if n, err := strconv.ParseUint(fs[3], 10, 64); err == nil {
				f.DiskFreeKB, f.DiskKnown = n, true
			}
		}
	}
	if s, ok := sections["ipv6"]; ok {
		f.IPv6Known = true
		for _, l := range strings.Split(s, "\n") {
			fs := strings.Fields(l)
			// /proc/net/if_inet6: ADDR IFINDEX PREFIXLEN SCOPE FLAGS NAME; scope 00 is global.
			if len(fs) >= 6 && fs[3] == "00" && fs[5] != "lo" {
				f.IPv6Global = true
			}
		}
	}
	f.Apache2 = strings.Contains(sections["apache2"], "install ok installed")
	for _, l := range strings.Split(sections["ports"], "\n") {
		fs := strings.Fields(l)
		if len(fs) < 4 {
			continue
		}
		local := fs[3]
		i := strings.LastIndex(local, ":")
		if i < 0 {
			continue
		}
		port, err := strconv.Atoi(local[i+1:])
		if err != nil || (port != 80 && port != 443) {
			continue
		}
		ph := PortHolder{Port: port}
		if m := ssProcRe.FindStringSubmatch(l); m != nil {
			ph.Process = m[1]
		}
		f.Ports = append(f.Ports, ph)
	}
	if r, err := ParseRelease(sections["bbb"]); err == nil {
		f.BBBRelease = r
	}
	f.Sudo = strings.TrimSpace(sections["sudo"])
	f.SystemdRun = strings.TrimSpace(sections["systemd-run"]) != ""
	seen := map[string]bool{}
	for _, l := range strings.Split(sections["resolve"], "\n") {
		if fs := strings.Fields(l); len(fs) >= 1 && !seen[fs[0]] {
			seen[fs[0]] = true
			f.Resolved = append(f.Resolved, fs[0])
		}
	}
	us := strings.TrimSpace(sections["url"])
	if i := strings.LastIndex(us, "status="); i >= 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(us[i+len("status="):])); err == nil {
			f.URLStatus = n
		}
		f.URLOut = strings.TrimSpace(us[:i])
	}
	return f
}

// ScaleliteAddProgram is the Ruby program that adds a server to Scalelite
// (as rake servers:add does: Server.create!, added disabled) with the URL
// and the secret read from standard input, so that the secret is never on
// a command line. It is a constant.
const ScaleliteAddProgram = `url = STDIN.gets.to_s.strip; secret = STDIN.gets.to_s.strip; ` +
	`server = Server.create!(url: url, secret: secret, load_multiplier: 1.0); puts "OK"; puts "id: #{server.id}"`

// ScaleliteAddArgv runs ScaleliteAddProgram in the container, stdin open.
func ScaleliteAddArgv(container string) []string {
	return []string{"docker", "exec", "-i", container, "bin/rails", "runner", ScaleliteAddProgram}
}

// ParseScaleliteAdded reads the id ScaleliteAddProgram printed.
func ParseScaleliteAdded(out string) (string, error) {
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(l), "id: "); ok && id != "" && !strings.ContainsAny(id, " \t[],") {
			return id, nil
		}
	}
	return "", fmt.Errorf("Scalelite did not report the new server's id")
}
