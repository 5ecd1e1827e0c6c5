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

# schedules: cron rules (5 fields, optional CRON_TZ=Zone prefix); actions
# start, stop or restart; targets are names, @tag or all.
schedules:
  - {name: warm-up,  cron: "CRON_TZ=Europe/Berlin 30 6 * * 1-5", action: start, targets: ["@pool"]}
  - {name: shutdown, cron: "CRON_TZ=Europe/Berlin 0 22 * * *",   action: stop,  targets: ["@pool"], drain: 45m}

# holidays: dates (YYYY-MM-DD) or inclusive ranges on which schedules rest.
holidays: ["2026-12-21/2027-01-06"]

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
`

func newInitCmd(app *App) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Write a commented starter config",
		Long: `Write a commented starter fleet config to PATH (default: --config, or
./bbbfleet.yaml); when PATH is a directory, to PATH/bbbfleet.yaml. Refuses
to overwrite an existing file without --force.`,
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
			if _, err := os.Stat(path); err == nil && !force {
				return exitf(ExitRefused, "use --force to replace it", "%s exists already; not overwriting it", path)
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
			if err := os.WriteFile(path, []byte(starterConfig), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(app.IO.Out, "wrote %s\nnext: edit the servers, then run `bbbfleet config validate`\n", path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
