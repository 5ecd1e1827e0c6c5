package cmd

import (
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/bbbfleet/bbbfleet/internal/ui"
	"github.com/bbbfleet/bbbfleet/pkg/fleet"
)

// meetingJSON is the stable -o json schema of `bbbfleet meetings`.
type meetingJSON struct {
	Server          string     `json:"server"`
	Name            string     `json:"name"`
	MeetingID       string     `json:"meeting_id"`
	InternalID      string     `json:"internal_id"`
	Participants    int        `json:"participants"`
	Moderators      int        `json:"moderators"`
	ListenOnly      int        `json:"listen_only"`
	Voice           int        `json:"voice"`
	Video           int        `json:"video"`
	Created         *time.Time `json:"created,omitempty"`
	RunningSeconds  int64      `json:"running_seconds"`
	Recording       bool       `json:"recording"`
	IsBreakout      bool       `json:"is_breakout"`
	ParentMeetingID string     `json:"parent_meeting_id,omitempty"`
	ParentName      string     `json:"parent_name,omitempty"`
}

const meetingsJSONDoc = `JSON (-o json): an array, largest first, of
  {"server", "name", "meeting_id", "internal_id",
   "participants" (everyone, moderators included), "moderators",
   "listen_only", "voice", "video" (webcam streams),
   "created" (RFC 3339 UTC, from createTime; absent when unknown),
   "running_seconds" (since createTime), "recording",
   "is_breakout", and for a breakout room "parent_meeting_id" (the
   parent's internal meeting ID, as BBB reports it) and "parent_name"
   (when the parent is on the same server's list)}`

func newMeetingsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "meetings [TARGETS]",
		Short: "The meetings running across the fleet",
		Long: `List every meeting on the selected servers, largest first: server, name,
meeting ID, participants (moderators included), voice, video streams,
listen-only users, moderators, how long it has run (from createTime),
whether it records, and a breakout room's parent meeting. Ties keep
the config's server order. A server that fails is listed on stderr with
its error. Servers are polled 64 at once by default; -j overrides it.

` + meetingsJSONDoc + `

EXIT STATUS
  0 when every server answered, 1 when any failed (its meetings are missing
  from the list), 2 on usage errors.`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: app.completeTargets,
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := app.outputFormat()
			if err != nil {
				return err
			}
			servers, env, err := app.targetsEnv(args, true, true)
			if err != nil {
				return err
			}
			defer env.Close()
			env.Opts.Parallel = app.apiParallel()
			now := time.Now()
			results := env.Load(app.Context(), servers, now)
			if err := app.Context().Err(); err != nil {
				return err
			}
			var list []meetingJSON
			var failed, reasons []string
			for _, r := range results {
				if r.Err != nil {
					failed = append(failed, r.Server.Name)
					reasons = append(reasons, fleet.Detail(r.Err))
					continue
				}
				for _, m := range r.Value.Meetings {
					j := meetingJSON{Server: r.Server.Name, Name: m.MeetingName, MeetingID: m.MeetingID, InternalID: m.InternalMeetingID,
						Participants: m.ParticipantCount, Moderators: m.ModeratorCount, ListenOnly: m.ListenerCount,
						Voice: m.VoiceParticipantCount, Video: m.VideoCount, Recording: m.Recording,
						IsBreakout: m.IsBreakout, ParentMeetingID: m.ParentMeetingID}
					if c := m.Created(); !c.IsZero() {
						c = c.UTC()
						j.Created = &c
						j.RunningSeconds = max(0, int64(now.Sub(c).Seconds()))
					}
					if m.IsBreakout {
						j.ParentName = nameOf(results, r.Server.Name, m.ParentMeetingID)
					}
					list = append(list, j)
				}
			}
			sort.SliceStable(list, func(i, k int) bool { return list[i].Participants > list[k].Participants })
			if format == "json" {
				if list == nil {
					list = []meetingJSON{}
				}
				if err := app.IO.JSON(list); err != nil {
					return err
				}
			} else {
				t := ui.Table{Headers: []string{"SERVER", "NAME", "MEETING ID", "USERS", "VOICE", "VIDEO", "LISTEN", "MODS", "RUNNING", "REC", "PARENT"},
					Columns: []ui.Column{{}, {Wrap: true}, {Short: "ID", Drop: 2}, {}, {}, {}, {Short: "LSTN", Drop: 1}, {Drop: 1}, {}, {Drop: 1}, {Drop: 3}}}
				for _, j := range list {
					rec, running := "no", "-"
					if j.Recording {
						rec = "yes"
					}
					if j.Created != nil {
						running = fmtRunning(time.Duration(j.RunningSeconds) * time.Second)
					}
					parent := ""
					if j.IsBreakout {
						parent = j.ParentMeetingID
						if j.ParentName != "" {
							parent = j.ParentName
						}
					}
					// Names and IDs are whatever create was given: cleaned
					// for the terminal (the JSON keeps them, JSON-escaped).
					t.Rows = append(t.Rows, []string{j.Server, ui.Clean(j.Name), ui.Clean(j.MeetingID), itoa(j.Participants), itoa(j.Voice), itoa(j.Video),
						itoa(j.ListenOnly), itoa(j.Moderators), running, rec, ui.Clean(parent)})
				}
				t.Tone = func(_, _ int, _ string) ui.Tone { return ui.Plain }
				if err := app.render(format, t); err != nil {
					return err
				}
				if len(list) == 0 && format == "table" {
					fmt.Fprintln(app.IO.Out, "no meetings running")
				}
			}
			if len(failed) > 0 {
				app.listFailures(failed, reasons)
				return silentExit(ExitFailed)
			}
			return nil
		},
	}
}

// nameOf finds a parent meeting's name by its internal ID on one server.
func nameOf(rs []fleet.Result[*fleet.ServerLoad], server, internalID string) string {
	for _, r := range rs {
		if r.Server.Name != server || r.Value == nil {
			continue
		}
		for _, m := range r.Value.Meetings {
			if m.InternalMeetingID == internalID {
				return m.MeetingName
			}
		}
	}
	return ""
}

// fmtRunning renders how long a meeting has run: "45s", "12m", "2h05m".
func fmtRunning(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
