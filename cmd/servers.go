package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// serverJSON is the stable -o json schema of `bbbfleet servers`.
type serverJSON struct {
	Name         string   `json:"name"`
	Host         string   `json:"host"`
	Tags         []string `json:"tags"`
	APIURL       string   `json:"api_url"`
	SSHUser      string   `json:"ssh_user"`
	SSHPort      int      `json:"ssh_port"`
	Capacity     int      `json:"capacity_participants"`
	HasPower     bool     `json:"power_control"`
	SecretSource string   `json:"secret_source"`
}

func newServersCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "servers [TARGETS]",
		Short:             "List the inventory: name, host, tags, API URL",
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			servers, cfg, err := app.selectTargets(args, true)
			if err != nil {
				return err
			}
			secrets, serr := app.secrets()
			source := func(name string) string {
				if serr != nil {
					return "unreadable"
				}
				if _, ok := lookupEnvSecret(name); ok {
					return "env"
				}
				if secrets.FromFile(name) != "" {
					return "file"
				}
				return "missing"
			}
			// Where SSH really goes: the fleet config, then ~/.ssh/config,
			// then ssh's defaults.
			target := func(s fleet.Server) ssh.Target {
				t, err := ssh.Resolve(fleet.SSHConfig(s, app.sshConfigFile()))
				if err != nil {
					return ssh.Target{User: "?", HostName: s.Host, Port: s.SSH.Port}
				}
				return t
			}
			if format == "json" {
				out := struct {
					Config  string       `json:"config"`
					Servers []serverJSON `json:"servers"`
				}{Config: cfg.Path, Servers: []serverJSON{}}
				for _, s := range servers {
					tags := s.Tags
					if tags == nil {
						tags = []string{}
					}
					tg := target(s)
					out.Servers = append(out.Servers, serverJSON{
						Name: s.Name, Host: s.Host, Tags: tags, APIURL: s.API.URL,
						SSHUser: tg.User, SSHPort: tg.Port, Capacity: s.Capacity.Participants,
						HasPower: len(s.Power.On) > 0, SecretSource: source(s.Name),
					})
				}
				return app.IO.JSON(out)
			}
			t := ui.Table{Headers: []string{"NAME", "HOST", "TAGS", "API URL", "SSH", "SECRET"},
				Columns: []ui.Column{{}, {}, {}, {Drop: 2}, {Drop: 1}, {}}}
			for _, s := range servers {
				t.Rows = append(t.Rows, []string{s.Name, s.Host, strings.Join(s.Tags, ","), s.API.URL,
					target(s).String(), source(s.Name)})
			}
			t.Tone = func(_, col int, v string) ui.Tone {
				if col == 5 && v != "file" && v != "env" {
					return ui.Warn
				}
				return ui.Plain
			}
			return app.render(format, t)
		},
	}
}
