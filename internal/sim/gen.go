package sim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

var genNames = []string{
	"Mathe 7b & 7c", "Deutsch <Leistungskurs>", `Physik "Optik"`, "Englisch 'Year 9'",
	"Kunst – Ölmalerei", "Geschichte: Französische Revolution", "Chemie Q1", "Elternabend 5a",
	"Café & Kuchen-Runde", "Informatik <AG> & Robotik", "Musik 🎵 Chor", "Ethik/Philosophie",
}

var genFirst = []string{"Anna", "Jürgen", "Zoë", "Mehmet", "Łukasz", "O'Brien", "Søren", "Ines", "José", "Chloé", "Ada", "Björn"}
var genLast = []string{"Müller", "Schmidt & Sohn", "<Gast>", `"Ko"`, "Nguyễn", "Öztürk", "Weiß", "Kowalski"}

// GenerateMeetings makes a deterministic set of meetings for tests: the
// same seed gives the same meetings. attendees is the total number of
// users, spread over the meetings. Names contain &, <, quotes and
// non-ASCII; every fourth meeting (when there are enough) is a breakout
// room of the meeting before it; users are listen-only, in voice, or on
// video at random.
func GenerateMeetings(seed int64, meetings, attendees int, now time.Time) []Meeting {
	if meetings <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	out := make([]Meeting, 0, meetings)
	for i := 0; i < meetings; i++ {
		name := genNames[r.IntN(len(genNames))]
		id := fmt.Sprintf("sim-%d-%d", seed, i)
		created := now.Add(-time.Duration(5+r.IntN(180)) * time.Minute).UnixMilli()
		sum := sha1.Sum([]byte(id))
		m := Meeting{
			Name: name, ID: id, InternalID: hex.EncodeToString(sum[:]) + "-" + strconv.FormatInt(created, 10),
			CreateTime: created, VoiceBridge: strconv.Itoa(70000 + r.IntN(29999)), DialNumber: "613-555-1234",
			AttendeePW: "ap&" + strconv.Itoa(r.IntN(1000)), ModeratorPW: "mp<" + strconv.Itoa(r.IntN(1000)) + ">",
			Running: true, HasUserJoined: true, Recording: r.IntN(3) == 0, StartTime: created + 37,
			Attendees: []Attendee{},
			Metadata: []KV{
				{Key: "bbb-origin", Value: "Greenlight"},
				{Key: "bbb-context-name", Value: name},
			},
		}
		if i%4 == 3 && len(out) > 0 && !out[len(out)-1].IsBreakout {
			parent := &out[len(out)-1]
			m.IsBreakout = true
			m.ParentMeetingID = parent.InternalID
			m.Sequence = len(parent.BreakoutRooms) + 1
			m.FreeJoin = r.IntN(2) == 0
			m.Name = parent.Name + " (Room " + strconv.Itoa(m.Sequence) + ")"
			m.ID = parent.ID + "-breakout-" + strconv.Itoa(m.Sequence)
			m.Metadata = nil
			parent.BreakoutRooms = append(parent.BreakoutRooms, m.InternalID)
		}
		out = append(out, m)
	}
	for j := 0; j < attendees; j++ {
		m := &out[r.IntN(len(out))]
		a := Attendee{
			UserID:     fmt.Sprintf("w_%x", r.Uint64()&0xffffffffff),
			FullName:   genFirst[r.IntN(len(genFirst))] + " " + genLast[r.IntN(len(genLast))],
			Role:       "VIEWER",
			ClientType: "HTML5",
		}
		if len(m.Attendees) == 0 {
			a.Role, a.IsPresenter = "MODERATOR", true
		} else if r.IntN(8) == 0 {
			a.Role = "MODERATOR"
		}
		switch r.IntN(4) {
		case 0:
			a.IsListeningOnly = true
		case 1, 2:
			a.HasJoinedVoice = true
		}
		a.HasVideo = r.IntN(5) == 0
		if r.IntN(6) == 0 {
			a.CustomData = []KV{{Key: "bbb_skip_check_audio", Value: "true"}}
		}
		m.Attendees = append(m.Attendees, a)
	}
	return out
}
