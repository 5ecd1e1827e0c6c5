package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// starterConfig is what `bbbfleet init` writes: every section, explained.
const starterConfig = `# bbbfleet fleet inventory. Check it with: bbbfleet config validate
# Keep it in git: it holds no secrets. API secrets live in secrets.yaml beside
# this file (mode 0600, written by "bbbfleet secret fetch TARGETS") or in
# BBBFLEET_SECRET_<NAME> environment variables.

# defaults apply to every server; any of them may be set per server too.
defaults:
  ssh:
    user: bbbadmin                    # non-root users need passwordless sudo (sudo -n)
    port: 22
    identity_file: ~/.ssh/id_ed25519  # also: ssh-agent and ~/.ssh/config
    known_hosts: ~/.ssh/known_hosts
    host_key_policy: strict           # strict: refuse unknown hosts; accept-new: record them
    timeout: 10s                      # TCP dial and SSH handshake
  api:
    checksum: sha256                  # sha1, sha256, sha384 or sha512
    timeout: 10s
    # ca_file: /etc/ssl/private-ca.pem  # for a private PKI
  capacity:
    participants: 250                 # what one server is sized for (load %)
  # stop --drain: how long to wait, how often to look, what to tell the class
  # drain: {timeout: 45m, poll: 10s, message: "This server shuts down in {remaining}. Please save your work."}
  # power hooks: argv run on this machine; {name} and {host} are filled in
  # power: {on: [hcloud, server, poweron, "{name}"], off: [hcloud, server, shutdown, "{name}"], timeout: 10m}

# servers: a list; names are lower-case letters, digits, '.', '_' and '-'.
servers:
  - name: bbb1
    host: bbb1.schulen.example.org
    tags: [core]
  - name: bbb2
    host: bbb2.schulen.example.org
    tags: [pool]
    # power commands run on this machine to switch the server on and off:
    # power: {on: [hcloud, server, poweron, bbb2], off: [hcloud, server, shutdown, bbb2]}
  - name: bbb3
    host: 192.0.2.13
    tags: [pool]
    # the API URL defaults to https://HOST/bigbluebutton/api/
    api: {url: "https://bbb3.schulen.example.org/bigbluebutton/api/", checksum: sha512}

# scalelite: the load balancer in front of the fleet, reached over SSH.
# scalelite: {ssh_host: lb.schulen.example.org, container: scalelite-api}
# (stop cordons a server there first, start enables it; servers are matched by API URL)

# schedules: cron rules (5 fields, optional CRON_TZ=Zone prefix); actions
# start, stop or restart; targets are names, @tag or all.
schedules:
  - {name: warm-up,  cron: "CRON_TZ=Europe/Berlin 30 6 * * 1-5", action: start, targets: ["@pool"]}
  - {name: shutdown, cron: "CRON_TZ=Europe/Berlin 0 22 * * *",   action: stop,  targets: ["@pool"], drain: 45m}

# Also per rule: message (posted before a stop), power: true (power off
# after stop, on before start), skip_holidays: false (fire on holidays too).
# timezone: the zone of rules without CRON_TZ= (default: this machine's).
# timezone: Europe/Berlin

# holidays: dates (YYYY-MM-DD) or inclusive ranges on which schedules rest.
holidays: ["2026-12-21/2027-01-06"]
# holidays_file: an iCal file of school holidays (e.g. from OpenHolidays),
# relative to this file; DTEND is the day after the last holiday.
# holidays_file: ferien-ni-2026.ics

# check: thresholds of "bbbfleet check" (these are the defaults).
check:
  certificate_warning_days: 14
  certificate_critical_days: 3
  disk_warning_percent: 85
  disk_critical_percent: 95
  memory_warning_percent: 90
  memory_critical_percent: 97
  load_warning_per_core: 1.5
  load_critical_per_core: 3
  clock_skew_warning: 2s
  clock_skew_critical: 30s

# secrets_file: secrets.yaml          # relative to this file
# state_dir: /var/lib/bbbfleet         # the fleet lock and audit.log of start/stop/restart
# audit_log: /var/log/bbbfleet/audit.log
`

func newInitCmd(app *App) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Write a commented starter config",
		Long: `Write a commented starter fleet config to PATH (default: --config, or
./bbbfleet.yaml); when PATH is a directory, to PATH/bbbfleet.yaml. Refuses
to overwrite an existing file without --force. It never writes through a
symbolic link: an existing link (even one pointing nowhere) is refused like
a file, and --force replaces the link itself, not what it points to.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := app.ConfigPath
			if len(args) == 1 {
				path = args[0]
			}
			if path == "" {
				path = "bbbfleet.yaml"
			}
			// A directory gets the config inside it, as its name says.
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				path = filepath.Join(path, "bbbfleet.yaml")
			}
			// Lstat: a symbolic link (dangling or not) is there already;
			// init never writes through one.
			if fi, err := os.Lstat(path); err == nil && !force {
				what := ""
				if fi.Mode()&os.ModeSymlink != 0 {
					what = " (a symbolic link)"
				}
				return exitf(ExitRefused, "use --force to replace it", "%s exists already%s; not overwriting it", path, what)
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if app.DryRun {
				fmt.Fprintf(app.IO.Out, "would write %s\n", path)
				return nil
			}
			if dir := filepath.Dir(path); dir != "." {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
			}
			if err := writeStarter(path, force); err != nil {
				var pe *os.PathError
				if errors.Is(err, os.ErrExist) && errors.As(err, &pe) && pe.Op == "open" {
					return exitf(ExitRefused, "use --force to replace it", "%s exists already; not overwriting it", path)
				}
				return err
			}
			fmt.Fprintf(app.IO.Out, "wrote %s\nnext: edit the servers, then run `bbbfleet config validate`\n", path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// writeStarter writes the starter config to path without ever following a
// symbolic link there. Without replace it creates the file exclusively
// (O_EXCL and O_NOFOLLOW: an existing file or link, even a dangling one,
// is an error). With replace it writes a temporary file beside path and
// renames it over path, which replaces a link itself, not what it points
// to.
func writeStarter(path string, replace bool) error {
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(starterConfig); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".bbbfleet-init-*.yaml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if _, err := f.WriteString(starterConfig); err != nil {
		f.Close()
		return err
	}
	// 0644 as a new file would get with the usual umask: the config holds
	// no secrets, and only its owner may write it.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
