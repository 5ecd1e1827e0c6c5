package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// secretFetchJSON is the stable -o json schema of `bbbfleet secret fetch`.
// It never contains a secret.
type secretFetchJSON struct {
	SecretsFile string             `json:"secrets_file"`
	DryRun      bool               `json:"dry_run"`
	Written     int                `json:"written"`
	Servers     []secretServerJSON `json:"servers"`
	// HostKeysRecorded: see hostKeysJSONDoc.
	HostKeysRecorded []hostKeyJSON `json:"host_keys_recorded,omitempty"`
}

type secretServerJSON struct {
	Server      string `json:"server"`
	Status      string `json:"status"`
	Change      string `json:"change,omitempty"`
	URL         string `json:"url,omitempty"`
	APIURL      string `json:"api_url"`
	URLDiffers  bool   `json:"url_differs"`
	Verified    bool   `json:"verified"`
	Saved       bool   `json:"saved"`
	EnvOverride string `json:"env_override,omitempty"`
	EnvDiffers  bool   `json:"env_differs,omitempty"`
	Error       string `json:"error,omitempty"`
	// detail is Error without the server's name (asked of the error).
	detail string
	Advice string `json:"advice,omitempty"`
}

const secretFetchJSONDoc = `JSON (-o json), never containing a secret:
  {"secrets_file": PATH, "dry_run": BOOL, "written": N, "servers": [
    {"server":      name,
     "status":      "new" | "changed" | "unchanged" | "failed",
     "change":      what the fetched secret is compared with the file
                    ("new", "changed", "unchanged"; also when status is
                    failed because verification failed; absent when
                    nothing was read),
     "url":         the URL bbb-conf --secret printed (absent if not read),
     "api_url":     the configured api.url, which bbbfleet calls,
     "url_differs": true when url + "api/" is not api_url,
     "verified":    true when the signed API call accepted the secret,
     "saved":       true when the secret was written to the file,
     "env_override": BBBFLEET_SECRET_<NAME> when that variable is set
                    (it overrides the file for this server),
     "env_differs": true when that variable holds another secret than
                    bbb-conf printed (every command uses the variable's),
     "error":       why status is failed,
     "advice":      what to do about env_differs (absent otherwise)}]}`

func newSecretCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage the BBB API secrets bbbfleet uses",
		Args:  cobra.ArbitraryArgs,
		RunE:  groupRunE,
	}
	cmd.AddCommand(newSecretFetchCmd(app))
	return cmd
}

func newSecretFetchCmd(app *App) *cobra.Command {
	var noVerify bool
	cmd := &cobra.Command{
		Use:   "fetch TARGETS",
		Short: "Read each server's API secret with bbb-conf --secret and store it",
		Long: `Read each selected server's API URL and secret with "bbb-conf --secret" over
SSH, verify the secret with a signed API call (isMeetingRunning) to the
server's configured api.url, and write the verified new or changed secrets
to the secrets file (atomically, mode 0600). Secrets are never printed.

Per server it reports:
  new        the file had no secret for the server; it is saved
  changed    the file held another secret (it was rotated); it is saved
  unchanged  the file already holds this secret, and the API accepts it
  failed     bbb-conf could not be run or read, or the API did not accept
             the secret or did not answer: nothing is saved for the server
and notes when the URL bbb-conf reports differs from api.url ("bbb-conf
says URL, api.url differs": bbbfleet keeps calling api.url and does not
change the config; fix api.url if bbb-conf is right) or when the server's
BBBFLEET_SECRET_<NAME> variable is set and overrides the file.

A secret that fails verification is not saved: the secret bbb-conf prints
is the one in bbb-web.properties, and if bbb-web rejects it (not restarted
since "bbb-conf --setsecret", or api.url points at another server) saving it
would replace a working secret with a broken one. If the API cannot be
reached from here at all, --no-verify saves the secrets unverified.

With --dry-run it reads and verifies but writes nothing, and shows which
servers would change. It needs explicit targets because it changes the
local secrets file.

` + secretFetchJSONDoc + `

EXIT STATUS
  0 when every server's secret was read (and verified), 1 when any failed
  (the others are still saved), 2 on usage errors.`,
		Example: `  bbbfleet secret fetch all
  bbbfleet secret fetch bbb2 --dry-run
  bbbfleet secret fetch @pool -o json`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			servers, env, err := app.targetsEnv(args, false, true)
			if err != nil {
				return err
			}
			cfg := env.Config
			defer env.Close()
			fs := env.FetchSecrets(app.Context(), servers, fleet.SecretFetchOptions{NoVerify: noVerify})
			if err := app.Context().Err(); err != nil {
				return err
			}
			written := 0
			if !app.DryRun {
				if written, err = env.SaveFetchedSecrets(fs); err != nil {
					return err
				}
			}
			return app.reportSecretFetch(format, cfg.SecretsFile, fs, written, hostKeysJSON(env))
		},
	}
	cmd.Flags().BoolVar(&noVerify, "no-verify", false, "save secrets without checking them against the API (when the API cannot be reached from here)")
	return cmd
}

func (app *App) reportSecretFetch(format, path string, fs []*fleet.SecretFetch, written int, keys []hostKeyJSON) error {
	failed := 0
	rep := secretFetchJSON{SecretsFile: path, DryRun: app.DryRun, Written: written, Servers: []secretServerJSON{}, HostKeysRecorded: keys}
	for _, f := range fs {
		j := secretServerJSON{Server: f.Server, Status: f.Status, Change: f.Change, URL: f.ReportedURL, APIURL: f.ConfiguredURL,
			URLDiffers: f.URLDiffers, Verified: f.Verified, EnvOverride: f.EnvOverride, EnvDiffers: f.EnvDiffers}
		if f.EnvDiffers {
			j.Advice = fmt.Sprintf("%s is set to another secret than the server's and overrides the secrets file for every command: unset it (or set it to the new secret)", f.EnvOverride)
		}
		j.Saved = !app.DryRun && (f.Status == fleet.SecretNew || f.Status == fleet.SecretChanged)
		if f.Err != nil {
			j.Error, j.detail = errText(f.Err), errDetail(f.Err)
		}
		if f.Status == fleet.SecretFailed {
			failed++
		}
		rep.Servers = append(rep.Servers, j)
	}
	if format == "json" {
		if err := app.IO.JSON(rep); err != nil {
			return err
		}
	} else {
		t := ui.Table{Headers: []string{"SERVER", "STATUS", "VERIFIED", "NOTE"}, Columns: []ui.Column{{}, {}, {}, {Wrap: true}}}
		for _, j := range rep.Servers {
			status := j.Status
			if app.DryRun && (status == fleet.SecretNew || status == fleet.SecretChanged) {
				status = "would-change (" + status + ")"
			}
			verified := "no"
			switch {
			case j.Verified:
				verified = "yes"
			case j.Change != "" && j.Error == "":
				verified = "skipped"
			case j.Change == "":
				verified = "-"
			}
			var notes []string
			if j.Error != "" {
				notes = append(notes, j.detail)
			}
			if j.URLDiffers {
				notes = append(notes, fmt.Sprintf("bbb-conf says %s, api.url differs", j.URL))
			}
			switch {
			case j.Advice != "":
				notes = append(notes, j.Advice)
			case j.EnvOverride != "":
				notes = append(notes, j.EnvOverride+" is set and overrides the file for this server")
			}
			// The notes quote bbb-conf's output and API messages.
			t.Rows = append(t.Rows, []string{j.Server, status, verified, ui.Clean(strings.Join(notes, "; "))})
		}
		if err := app.render(format, t); err != nil {
			return err
		}
		would := 0
		for _, f := range fs {
			if f.Status == fleet.SecretNew || f.Status == fleet.SecretChanged {
				would++
			}
		}
		switch {
		case app.DryRun:
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: dry run: %d of %d secrets would be written to %s; nothing written\n", would, len(fs), path)
		case written > 0:
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: wrote %d %s to %s (mode 0600)\n", written, plural(written, "secret", "secrets"), path)
		default:
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: no secret to write; %s left as it was\n", path)
		}
		if failed > 0 {
			fmt.Fprintf(app.IO.ErrOut, "bbbfleet: %s\n", ui.ServersFailed(failed, len(fs)))
		}
	}
	if failed > 0 {
		return silentExit(ExitFailed)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
