package schedule

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// File is one file `schedule install` writes: a path under the root and
// its content.
type File struct {
	Path    string
	Content string
}

// InstallOptions say what the installed entries run.
type InstallOptions struct {
	// Binary and Config are absolute paths.
	Binary, Config string
	// User runs the cron entry (default root).
	User string
	// StopWait is how long a run may need to finish after SIGTERM: it
	// lets a `bbb-conf --stop` or a power hook that runs end (default
	// DefaultStopWait). The units' TimeoutStopSec= is this.
	StopWait time.Duration
}

// DefaultStopWait is StopWait when none is given: bbb-conf's 5 minutes,
// the default power.timeout of 10 minutes and a minute's margin.
const DefaultStopWait = 16 * time.Minute

// stopLines are the [Service] lines that let a run end by itself after
// SIGTERM: systemd's default of 90 s would SIGKILL it in the middle of a
// bbb-conf --stop or a power hook. KillMode=mixed sends SIGTERM to
// bbbfleet only (its ssh and hook children finish under its control) and
// SIGKILL to all of them at the timeout.
func (o InstallOptions) stopLines() string {
	d := o.StopWait
	if d <= 0 {
		d = DefaultStopWait
	}
	return fmt.Sprintf("KillMode=mixed\nTimeoutStopSec=%d\n", int64((d+time.Second-1)/time.Second))
}

// Names of the installed files. /etc/cron.d ignores file names with dots.
const (
	CronFile      = "/etc/cron.d/bbbfleet-schedule"
	ServiceFile   = "/etc/systemd/system/bbbfleet-schedule.service"
	TimerFile     = "/etc/systemd/system/bbbfleet-schedule.timer"
	DaemonFile    = "/etc/systemd/system/bbbfleet-scheduler.service"
	CronLock      = "/run/lock/bbbfleet-schedule.lock"
	CronEvery     = "*/5 * * * *"
	cronLogTarget = "/var/log/bbbfleet-schedule.log"
)

// quoteArg quotes a word for sh and for systemd's ExecStart (both accept
// single quotes) when it needs it.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"$&;|<>*?()[]{}\\`!#~%") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (o InstallOptions) command(sub ...string) string {
	args := append([]string{quoteArg(o.Binary), "-c", quoteArg(o.Config)}, sub...)
	return strings.Join(args, " ")
}

// Cron returns the /etc/cron.d entry: `schedule apply` every five minutes
// (apply converges, so every firing takes effect within five minutes, and
// a run that was missed is made up by the next), wrapped in `flock -n` so
// that a slow run (a drain takes up to its timeout) is never overlapped by
// the next.
func Cron(o InstallOptions) File {
	user := o.User
	if user == "" {
		user = "root"
	}
	var b strings.Builder
	b.WriteString("# bbbfleet: reconcile the fleet with its schedules (see `bbbfleet schedule list`).\n")
	b.WriteString("# Written by `bbbfleet schedule install --cron`. apply is idempotent: running it\n")
	b.WriteString("# every few minutes brings each server to the state its rules give it now;\n")
	b.WriteString("# flock -n skips a run while the previous one still works.\n")
	b.WriteString("SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n")
	// In a crontab, % ends the command: escape it.
	cmd := strings.ReplaceAll(o.command("schedule", "apply"), "%", `\%`)
	fmt.Fprintf(&b, "%s %s flock -n %s %s >>%s 2>&1\n", CronEvery, user, CronLock, cmd, cronLogTarget)
	return File{Path: CronFile, Content: b.String()}
}

// Systemd returns a oneshot service running `schedule apply` and its
// timer, with one OnCalendar= per firing pattern of the rules (in each
// rule's zone) plus one every five minutes, Persistent=true so that a run
// missed while the machine was off happens at boot. A timer never starts a
// second copy of a service still running.
func Systemd(s *Schedule, o InstallOptions) []File {
	service := "[Unit]\nDescription=bbbfleet: reconcile the fleet with its schedules\n" +
		"Documentation=man:bbbfleet-schedule(1)\nWants=network-online.target\nAfter=network-online.target\n\n" +
		"[Service]\nType=oneshot\nExecStart=" + systemdEscape(o.command("schedule", "apply")) + "\n" + o.stopLines()
	var cal []string
	seen := map[string]bool{}
	if s != nil {
		for _, r := range s.Rules {
			for _, c := range r.Spec.OnCalendar() {
				if !seen[c] {
					seen[c] = true
					cal = append(cal, "# "+r.Name+"\nOnCalendar="+c)
				}
			}
		}
	}
	cal = append(cal, "# every five minutes, so that a fault heals by itself\nOnCalendar=*:0/5")
	timer := "[Unit]\nDescription=bbbfleet: apply the fleet's schedules at each firing\n\n[Timer]\n" +
		strings.Join(cal, "\n") + "\nPersistent=true\nAccuracySec=1s\n\n[Install]\nWantedBy=timers.target\n"
	return []File{{Path: ServiceFile, Content: service}, {Path: TimerFile, Content: timer}}
}

// Daemon returns the unit of the long-running `schedule run` (Type=simple):
// it applies at start, at each firing and periodically; SIGTERM ends it.
func Daemon(o InstallOptions) File {
	return File{Path: DaemonFile, Content: "[Unit]\nDescription=bbbfleet: keep the fleet in the state its schedules give it\n" +
		"Wants=network-online.target\nAfter=network-online.target\n\n" +
		"[Service]\nType=simple\nExecStart=" + systemdEscape(o.command("schedule", "run")) + "\nExecReload=/bin/kill -HUP $MAINPID\n" +
		o.stopLines() + "Restart=on-failure\nRestartSec=30s\n\n[Install]\nWantedBy=multi-user.target\n"}
}

// systemdEscape doubles % (systemd's specifier character).
func systemdEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// starBit is robfig/cron's mark of a field written as * or ?.
const starBit = 1 << 63

var dowNames = []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// OnCalendar returns the systemd OnCalendar= expressions that fire when
// the spec does, in its zone. Cron matches a day when the day of month OR
// the weekday matches if both are restricted; systemd requires both, so
// such a spec gives two expressions.
func (s *Spec) OnCalendar() []string {
	f := s.fields
	minutes := list(f.Minute, 0, 59)
	hours := list(f.Hour, 0, 23)
	months := list(f.Month, 1, 12)
	doms := list(f.Dom, 1, 31)
	dows := weekdays(f.Dow)
	zone := ""
	if s.Zone != nil && s.Zone.String() != "Local" {
		zone = " " + s.Zone.String()
	}
	line := func(dow, dom string) string {
		d := ""
		if dow != "*" {
			d = dow + " "
		}
		return fmt.Sprintf("%s*-%s-%s %s:%s:00%s", d, months, dom, hours, minutes, zone)
	}
	if f.Dom&starBit == 0 && f.Dow&starBit == 0 {
		return []string{line("*", doms), line(dows, "*")}
	}
	return []string{line(dows, doms)}
}

// list writes the set bits of a field between lo and hi as "*" or a comma
// list of two-digit numbers.
func list(field uint64, lo, hi int) string {
	all := true
	var out []string
	for i := lo; i <= hi; i++ {
		if field&(1<<uint(i)) != 0 {
			out = append(out, fmt.Sprintf("%02d", i))
		} else {
			all = false
		}
	}
	if all || field&starBit != 0 {
		return "*"
	}
	return strings.Join(out, ",")
}

// weekdays writes a weekday field as systemd names, runs as Mon..Fri.
func weekdays(field uint64) string {
	if field&starBit != 0 || bits.OnesCount64(field&0x7f) == 7 {
		return "*"
	}
	var parts []string
	for i := 0; i < 7; {
		if field&(1<<uint(i)) == 0 {
			i++
			continue
		}
		j := i
		for j+1 < 7 && field&(1<<uint(j+1)) != 0 {
			j++
		}
		switch {
		case j-i >= 2:
			parts = append(parts, dowNames[i]+".."+dowNames[j])
		case j == i+1:
			parts = append(parts, dowNames[i], dowNames[j])
		default:
			parts = append(parts, dowNames[i])
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
