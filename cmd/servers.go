package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/bbb"
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
	// Scalelite is the server's entry in Scalelite (only when scalelite:
	// is configured; state "missing" when it has none, "unknown" when
	// Scalelite could not be asked).
	Scalelite *scaleliteJSON `json:"scalelite,omitempty"`
}

type scaleliteJSON struct {
	ID     string `json:"id,omitempty"`
	State  string `json:"state"`
	Online *bool  `json:"online,omitempty"`
	Load   string `json:"load,omitempty"`
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
				if _, ok := app.lookupEnvSecret(name); ok {
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
			sl, slErr := app.scaleliteColumn(servers)
			if slErr != nil {
				fmt.Fprintf(app.IO.ErrOut, "bbbfleet: warning: %v\n", slErr)
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
						HasPower: len(s.Power.On) > 0, SecretSource: source(s.Name), Scalelite: sl.json(s.Name),
					})
				}
				return app.IO.JSON(out)
			}
			t := ui.Table{Headers: []string{"NAME", "HOST", "TAGS", "API URL", "SSH", "SECRET"},
				Columns: []ui.Column{{}, {}, {}, {Drop: 2}, {Drop: 1}, {}}}
			if sl != nil {
				t.Headers = append(t.Headers, "SCALELITE")
				t.Columns = append(t.Columns, ui.Column{})
			}
			for _, s := range servers {
				row := []string{s.Name, s.Host, strings.Join(s.Tags, ","), ui.Clean(s.API.URL),
					ui.Clean(target(s).String()), source(s.Name)}
				if sl != nil {
					row = append(row, sl.word(s.Name))
				}
				t.Rows = append(t.Rows, row)
			}
			t.Tone = func(_, col int, v string) ui.Tone {
				if col == 5 && v != "file" && v != "env" {
					return ui.Warn
				}
				if col == 6 && v != "enabled, online" {
					return ui.Warn
				}
				return ui.Plain
			}
			return app.render(format, t)
		},
	}
}

// scaleliteView is Scalelite's state of the servers for the servers
// table: nil when Scalelite is not configured.
type scaleliteView struct {
	states map[string]bbb.ScaleliteServer
	failed bool
}

// scaleliteColumn asks Scalelite once (one rake call over SSH, bounded by
// --timeout) when scalelite: is configured.
func (app *App) scaleliteColumn(servers []fleet.Server) (*scaleliteView, error) {
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.ScaleliteHost(); !ok {
		return nil, nil
	}
	env, err := app.newEnv(false)
	if err != nil {
		return &scaleliteView{failed: true}, err
	}
	defer env.Close()
	states, err := env.ScaleliteStates(app.Context(), servers)
	if err != nil {
		return &scaleliteView{failed: true}, err
	}
	return &scaleliteView{states: states}, nil
}

func (v *scaleliteView) word(name string) string {
	switch {
	case v.failed:
		return "unknown"
	}
	en, ok := v.states[name]
	if !ok {
		return "missing"
	}
	return en.State + ", " + onlineWord(!en.OnlineKnown || en.Online)
}

func (v *scaleliteView) json(name string) *scaleliteJSON {
	if v == nil {
		return nil
	}
	if v.failed {
		return &scaleliteJSON{State: "unknown"}
	}
	en, ok := v.states[name]
	if !ok {
		return &scaleliteJSON{State: "missing"}
	}
	j := &scaleliteJSON{ID: en.ID, State: en.State, Load: en.Load}
	if en.OnlineKnown {
		on := en.Online
		j.Online = &on
	}
	return j
}
