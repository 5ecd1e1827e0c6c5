package sim

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// statusArrow is bbb-conf's `line=` (reference §2): 29 em dashes and ►.
const statusArrow = "—————————————————————————————►"

// StatusLines renders `bbb-conf --status` for s: for every unit
// `printf "%s %s [✔ - %s]\n" $unit "${line:${#unit}}" $status`
// (✘ when not active). bash slices by characters in a UTF-8 locale.
func StatusLines(s State) string {
	arrow := []rune(statusArrow)
	var b strings.Builder
	for _, u := range s.sortedUnits() {
		st := s.unitState(u)
		tail := ""
		if n := utf8.RuneCountInString(u); n < len(arrow) {
			tail = string(arrow[n:])
		}
		mark := "✘"
		if st == UnitActive {
			mark = "✔"
		}
		fmt.Fprintf(&b, "%s %s [%s - %s]\n", u, tail, mark, st)
	}
	return b.String()
}

const needRoot = "Need to be root to run this option\n"

func bbbConfUsage(s State) string {
	return "BigBlueButton Configuration Utility - Version " + s.Release + `

   bbb-conf [options]

Configuration:
   --version                        Display BigBlueButton version (packages)
   --setip <IP/hostname>            Set IP/hostname for BigBlueButton
   --setsecret <secret>             Change the shared secret in /etc/bigbluebutton/bbb-web.properties
   --set-port-range MIN-MAX         Change UDP port range used for audio/video/screenshare

Monitoring:
   --check                          Check configuration files and processes for problems
   --debug                          Scan the log files for error messages
   --watch                          Scan the log files for error messages every 2 seconds
   --network                        View network connections on 80, 443 and 1935 by IP address. 1935 is deprecated. You will need to modify bbb-conf if you have custom ports.
   --secret                         View the URL and shared secret for the server

Administration:
   --restart                        Restart BigBlueButton
   --stop                           Stop BigBlueButton
   --start                          Start BigBlueButton
   --clean                          Restart and clean all log files
   --status                         Display running status of components
   --zip                            Zip up log files for reporting an error

`
}

// bbbPackages are the packages `dpkg -l | grep bbb` lists on 3.0.
var bbbPackages = []struct{ name, arch, desc string }{
	{"bbb-apps-akka", "all", "BigBlueButton Apps (Akka)"},
	{"bbb-config", "amd64", "BigBlueButton configuration utilities"},
	{"bbb-etherpad", "amd64", "The EtherPad Lite components for BigBlueButton"},
	{"bbb-export-annotations", "amd64", "BigBlueButton Export Annotations"},
	{"bbb-freeswitch-core", "amd64", "BigBlueButton build of FreeSWITCH"},
	{"bbb-freeswitch-sounds", "amd64", "FreeSWITCH Sounds"},
	{"bbb-fsesl-akka", "all", "BigBlueButton FS-ESL (Akka)"},
	{"bbb-graphql-actions", "amd64", "BigBlueButton GraphQL Actions"},
	{"bbb-graphql-middleware", "amd64", "GraphQL middleware component for BigBlueButton"},
	{"bbb-graphql-server", "amd64", "GraphQL server component for BigBlueButton"},
	{"bbb-html5", "amd64", "The HTML5 components for BigBlueButton"},
	{"bbb-learning-dashboard", "amd64", "BigBlueButton bbb-learning-dashboard"},
	{"bbb-libreoffice-docker", "amd64", "BigBlueButton setup for LibreOffice running in docker"},
	{"bbb-mkclean", "amd64", "Clean and optimize Matroska and WebM files"},
	{"bbb-pads", "amd64", "BigBlueButton Pads"},
	{"bbb-playback", "amd64", "Player for BigBlueButton presentation format recordings"},
	{"bbb-playback-presentation", "amd64", "BigBlueButton presentation recording format"},
	{"bbb-record-core", "amd64", "BigBlueButton record and playback"},
	{"bbb-web", "amd64", "BigBlueButton API"},
	{"bbb-webrtc-recorder", "amd64", "BigBlueButton WebRTC Recorder"},
	{"bbb-webrtc-sfu", "amd64", "BigBlueButton WebRTC SFU"},
}

func versionHeader(s State) string {
	return "\nBigBlueButton Server " + s.Release + fmt.Sprintf(" (%d)\n", s.Build)
}

func dpkgLines(s State) string {
	var b strings.Builder
	series := s.Release
	if i := strings.LastIndex(series, "."); i > 0 {
		series = series[:i]
	}
	for i, p := range bbbPackages {
		ver := fmt.Sprintf("1:%s-%d", series, 10+(i*7)%23)
		fmt.Fprintf(&b, "ii  %-34s %-24s %-12s %s\n", p.name, ver, p.arch, p.desc)
	}
	return b.String()
}

func (c *cmd) bbbWebURL(s State) string { return serverURL(s) }

// serverURL is bbb-web's bigbluebutton.web.serverURL.
func serverURL(s State) string {
	if s.ServerURL != "" {
		return strings.TrimSuffix(s.ServerURL, "/")
	}
	return "https://" + s.Hostname
}

// cmdBBBConf emulates bigbluebutton-config/bin/bbb-conf.
func cmdBBBConf(c *cmd) int {
	s, err := c.state()
	if err != nil {
		c.errf("bbb-conf: %v\n", err)
		return 1
	}
	if s.Machine.NoBBB {
		c.errf("sh: 1: %s: not found\n", c.args[0])
		return 127
	}
	args := c.args[1:]
	if len(args) == 0 {
		c.outf("%s", bbbConfUsage(s))
		return 1
	}
	var check, version, restart, clean bool
	secret := ""
	for len(args) > 0 {
		a := args[0]
		switch a {
		case "-stop", "--stop":
			if !c.root() {
				c.outf(needRoot)
				return 1
			}
			c.outf("Stopping BigBlueButton\n")
			if s.StopDelay > 0 {
				// systemd shows the units "deactivating" while they stop.
				_ = c.h.store.Update(func(st *State) error {
					for u, v := range st.Units {
						if !notInTarget[u] && v == UnitActive {
							st.Units[u] = UnitDeactivating
						}
					}
					return nil
				})
				t := time.NewTimer(s.StopDelay)
				select {
				case <-t.C:
				case <-c.ctx.Done():
					t.Stop()
					return 130
				}
			}
			return c.setBBB(false)
		case "-start", "--start":
			if !c.root() {
				c.outf(needRoot)
				return 1
			}
			c.startOutput(s)
			return c.setBBB(true)
		case "-check", "--check", "-c":
			check = true
			args = shift(args, 2) // bbb-conf shifts twice here
			continue
		case "--version", "-version", "-v":
			version = true
		case "--debug", "-debug", "-d", "--watch", "-watch", "-w", "--network", "-network", "-n", "--zip", "-zip", "-z":
			// Accepted; they only read logs on a real server.
		case "--clean", "-clean":
			clean = true
		case "--status", "-status":
			c.outf("%s", StatusLines(s))
			return 0
		case "--restart", "-restart":
			restart = true
		case "-setip", "--setip", "--set-port-range":
			args = shift(args, 2)
			continue
		case "--salt", "-salt", "--setsalt", "--secret", "-secret", "--setsecret":
			if len(args) < 2 || args[1] == "" {
				u := c.bbbWebURL(s)
				c.outf("\n    URL: %s/bigbluebutton/\n    Secret: %s\n\n    Link to the API-Mate:\n    https://mconf.github.io/api-mate/#server=%s/bigbluebutton/&sharedSecret=%s\n\n",
					u, s.Secret, u, s.Secret)
				return 0
			}
			secret = args[1]
			args = shift(args, 2)
			continue
		default:
			c.outf("%s", bbbConfUsage(s))
			return 1
		}
		args = shift(args, 1)
	}
	if version {
		c.outf("%s\n%s", versionHeader(s), dpkgLines(s))
		return 0
	}
	if secret != "" {
		if !c.root() {
			c.outf(needRoot)
			return 1
		}
		if err := c.h.store.Update(func(st *State) error { st.Secret = secret; return nil }); err != nil {
			c.errf("bbb-conf: %v\n", err)
			return 1
		}
		c.outf("Assigning secret in /etc/bigbluebutton/bbb-web.properties\n\nBigBlueButton's shared secret is now %s\n\nYou must restart BigBlueButton for the changes to take effect\n\n   bbb-conf --restart\n\n\n", secret)
	}
	if check {
		if !c.root() {
			c.outf(needRoot)
			return 1
		}
		c.outf("%s", CheckReport(s))
		return 0
	}
	if restart || clean {
		if !c.root() {
			c.outf(needRoot)
			return 1
		}
		c.outf("Stopping BigBlueButton\n")
		c.startOutput(s)
		return c.setBBB(true)
	}
	return 0
}

func shift(args []string, n int) []string {
	if n > len(args) {
		n = len(args)
	}
	return args[n:]
}

// startOutput is what start_bigbluebutton prints.
func (c *cmd) startOutput(s State) {
	if s.unitState("nginx") != UnitActive {
		c.errf("nginx.service is not active, cannot reload.\n")
	}
	c.outf("Reloading NginX configuration\nStarting BigBlueButton\n")
}

// setBBB starts or stops bigbluebutton.target: every unit, and Stopped.
func (c *cmd) setBBB(start bool) int {
	err := c.h.store.Update(func(s *State) error {
		s.setTarget(start)
		if start {
			s.BBBStartedAt = c.h.opts.Now().Add(s.StartDelay)
		}
		if start && s.StartDelay > 0 {
			for u := range s.Units {
				if !notInTarget[u] {
					s.Units[u] = UnitActivating
				}
			}
			s.UnitsActiveAt = c.h.opts.Now().Add(s.StartDelay)
		}
		return nil
	})
	if err != nil {
		c.errf("bbb-conf: %v\n", err)
		return 1
	}
	return 0
}

// apiUp reports whether bbb-web answers behind nginx.
func apiUp(s State) bool {
	return !s.Stopped && s.unitState("bbb-web") == UnitActive
}

// CheckReport renders `bbb-conf --check` for s: a configuration summary,
// then "# Potential problems described below" and the problems found (none
// on a healthy server, so the header is the last line).
func CheckReport(s State) string {
	var b strings.Builder
	memMB := s.MemTotal / 1024 / 1000
	b.WriteString(versionHeader(s))
	b.WriteString("                    Kernel version: 5.15.0-119-generic\n")
	b.WriteString("                      Distribution: Ubuntu 22.04.4 LTS (64-bit)\n")
	fmt.Fprintf(&b, "                            Memory: %d MB\n", memMB)
	fmt.Fprintf(&b, "                         CPU cores: %d\n", s.Cores)
	b.WriteString("\n/etc/bigbluebutton/bbb-web.properties (override for bbb-web)\n")
	b.WriteString("/usr/share/bbb-web/WEB-INF/classes/bigbluebutton.properties (bbb-web)\n")
	fmt.Fprintf(&b, "       bigbluebutton.web.serverURL: %s\n", serverURL(s))
	b.WriteString("                defaultGuestPolicy: ALWAYS_ACCEPT\n")
	b.WriteString("              defaultMeetingLayout: CUSTOM_LAYOUT\n")
	b.WriteString("\n/etc/nginx/sites-available/bigbluebutton (nginx)\n")
	fmt.Fprintf(&b, "                       server_name: %s\n", s.Hostname)
	b.WriteString("                              port: 80, [::]:80\n")
	b.WriteString("                              port: 443 ssl\n")
	b.WriteString("\nUDP port ranges\n\n")
	b.WriteString("                        FreeSWITCH: 16384-24574\n")
	b.WriteString("                    bbb-webrtc-sfu: 24577-32768\n")
	b.WriteString("                    bbb-webrtc-recorder: 24577-32768\n")
	// check_state
	b.WriteString("\n\n# Potential problems described below\n")
	var notRunning []string
	for _, u := range []struct{ unit, label string }{{"freeswitch", "freeswitch"}, {"nginx", "Nginx"}, {"redis-server", "redis-server"}} {
		if s.unitState(u.unit) != UnitActive {
			notRunning = append(notRunning, u.label)
		}
	}
	if len(notRunning) > 0 {
		fmt.Fprintf(&b, "# Not running:  %s\n", strings.Join(notRunning, " "))
	}
	if !apiUp(s) || s.unitState("nginx") != UnitActive {
		fmt.Fprintf(&b, "# Error: Could not connect to the configured hostname/IP address\n#\n#    https://%s/\n#\n# If your BigBlueButton server is behind a firewall, see FAQ.\n\n", s.Hostname)
	}
	if memMB < 3940 {
		b.WriteString("# Warning: You are running BigBlueButton on a server with less than 4G of memory.  Your\n# performance may suffer.\n\n")
	}
	// bbb-conf greps --status for "inactive"; the simulator reports every
	// unit that is not active (failed, activating too).
	var bad []string
	for _, l := range strings.SplitAfter(StatusLines(s), "\n") {
		if strings.Contains(l, "[✘ - ") {
			bad = append(bad, strings.TrimSuffix(l, "\n"))
		}
	}
	if len(bad) > 0 {
		joined := strings.Join(bad, "\n")
		fmt.Fprintf(&b, "%s\n# Error: Detected some processes have not started correctly\n#\n#   %s\n#\n", joined, joined)
	}
	if s.Cores < 4 {
		fmt.Fprintf(&b, "# Warning: found only %d cores, whereas this server should have (at least) 4 CPU cores\n# to run BigBlueButton in production.\n#\n#   https://docs.bigbluebutton.org/administration/install#minimum-server-requirements\n#\n", s.Cores)
	}
	return b.String()
}

// cmdSystemctl emulates systemctl for the BBB units.
func cmdSystemctl(c *cmd) int {
	args := c.args[1:]
	quiet := false
	var rest []string
	for _, a := range args {
		switch a {
		case "-q", "--quiet":
			quiet = true
		case "--no-pager", "--no-legend", "--plain", "--full", "-l":
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) == 0 {
		if c.fallback() {
			return notHandled
		}
		c.errf("Too few arguments.\n")
		return 1
	}
	verb, units := rest[0], rest[1:]
	switch verb {
	case "show":
		// `show -p ActiveEnterTimestampMonotonic UNIT` (when BBB started)
		// reads the simulated BBB below; every other show is about the
		// transient units that install starts.
		if !(len(units) == 3 && units[0] == "-p" && units[1] == "ActiveEnterTimestampMonotonic") {
			return transientShow(c, rest[1:])
		}
	case "reset-failed":
		return resetFailed(c, units)
	}
	s, err := c.state()
	if err != nil {
		c.errf("systemctl: %v\n", err)
		return 1
	}
	switch verb {
	case "is-active":
		if len(units) == 0 {
			c.errf("Too few arguments.\n")
			return 1
		}
		st := 0
		for _, u := range units {
			us := s.unitState(u)
			if !quiet {
				c.outf("%s\n", us)
			}
			if us != UnitActive {
				st = 3
			}
		}
		return st
	case "status":
		st := 0
		for i, u := range units {
			name := strings.TrimSuffix(u, ".service")
			us := s.unitState(name)
			sub := "running"
			if us != UnitActive {
				sub = "dead"
				st = 3
			}
			if i > 0 {
				c.outf("\n")
			}
			c.outf("● %s.service\n     Loaded: loaded (/lib/systemd/system/%s.service; enabled; vendor preset: enabled)\n     Active: %s (%s)\n", name, name, us, sub)
		}
		return st
	case "show":
		// only `show -p ActiveEnterTimestampMonotonic UNIT`
		if len(units) != 3 || units[0] != "-p" || units[1] != "ActiveEnterTimestampMonotonic" {
			if c.fallback() {
				return notHandled
			}
			c.errf("systemctl show: only -p ActiveEnterTimestampMonotonic UNIT is simulated\n")
			return 1
		}
		at := s.BBBStartedAt
		if at.IsZero() || at.Before(s.BootTime) {
			at = s.BootTime.Add(10 * time.Second) // started at boot
		}
		c.outf("ActiveEnterTimestampMonotonic=%d\n", at.Sub(s.BootTime).Microseconds())
		return 0
	case "start", "stop", "restart", "reload", "try-restart", "reload-or-restart":
		if len(units) == 0 {
			c.errf("Too few arguments.\n")
			return 1
		}
		if !c.root() {
			u := units[0]
			if !strings.Contains(u, ".") {
				u += ".service"
			}
			c.errf("Failed to %s %s: Interactive authentication required.\nSee system logs and 'systemctl status %s' for details.\n", verb, u, u)
			return 1
		}
		for _, u := range units {
			name := strings.TrimSuffix(u, ".service")
			if name == "bigbluebutton.target" {
				continue
			}
			if _, ok := s.Units[name]; !ok {
				c.errf("Failed to %s %s.service: Unit %s.service not found.\n", verb, name, name)
				return 5
			}
			if verb == "reload" && s.unitState(name) != UnitActive {
				c.errf("%s.service is not active, cannot reload.\n", name)
				return 1
			}
		}
		err := c.h.store.Update(func(st *State) error {
			for _, u := range units {
				name := strings.TrimSuffix(u, ".service")
				switch verb {
				case "stop":
					if name == "bigbluebutton.target" {
						st.setTarget(false)
					} else {
						st.Units[name] = UnitInactive
					}
				case "reload":
				default:
					if name == "bigbluebutton.target" {
						st.setAllUnits(UnitActive)
					} else {
						st.Units[name] = UnitActive
					}
					if name == "bigbluebutton.target" || name == "bbb-web" {
						st.BBBStartedAt = c.h.opts.Now()
					}
				}
			}
			all := true
			for _, us := range st.Units {
				all = all && us == UnitActive
			}
			if all {
				st.Stopped = false
			}
			return nil
		})
		if err != nil {
			c.errf("systemctl: %v\n", err)
			return 1
		}
		return 0
	}
	if c.fallback() {
		return notHandled
	}
	c.errf("Unknown command verb %s.\n", verb)
	return 1
}
