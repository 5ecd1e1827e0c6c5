package simfleet

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/sim"
)

// DefaultStart is the simulated moment a fleet starts at by default: a
// Tuesday at 09:25, in the second lesson, near the morning
// peak.
var DefaultStart = time.Date(2026, time.March, 10, 9, 25, 0, 0, time.UTC)

// Clock is simulated time running Speed times faster than real time from
// Start.
type Clock struct {
	Start     time.Time // simulated time at RealStart
	RealStart time.Time
	Speed     float64
	// Real is the real clock; default time.Now.
	Real func() time.Time
}

func (c *Clock) real() time.Time {
	if c.Real != nil {
		return c.Real()
	}
	return time.Now()
}

// Now is the simulated time.
func (c *Clock) Now() time.Time { return c.At(c.real()) }

// At is the simulated time at the real time t.
func (c *Clock) At(t time.Time) time.Time {
	d := float64(t.Sub(c.RealStart)) * c.Speed
	return c.Start.Add(time.Duration(d))
}

// Model is a deterministic school day spread over a fleet: lessons start on
// the hour from 8:00 to 15:00 (most in the morning), teachers open their
// rooms a few minutes early, pupils trickle in, some lessons split into
// breakout rooms for group work, a few clubs meet in the afternoon and
// parents meet some evenings. Nights and weekends are quiet. The same
// seed and host count give the same meetings at the same simulated time.
type Model struct {
	Seed  int64
	Hosts int

	mu   sync.Mutex
	days map[int64][]*lesson // by day number, a few cached
}

// NewModel returns the model for a fleet of hosts servers.
func NewModel(seed int64, hosts int) *Model {
	if hosts < 1 {
		hosts = 1
	}
	return &Model{Seed: seed, Hosts: hosts, days: map[int64][]*lesson{}}
}

// lesson is one meeting of the day with everything that happens in it.
type lesson struct {
	host        int
	id, name    string
	context     string
	open, end   time.Time // simulated: the teacher opens, the meeting ends
	recording   bool
	voiceBridge int
	users       []pupil
	rooms       []room // breakout rooms, all open at once
}

type pupil struct {
	id, name    string
	moderator   bool
	join, leave time.Time
	listenOnly  bool
	voice       bool
	video       bool
}

type room struct {
	seq       int
	open, end time.Time
}

// Hourly share of the lessons that start at each hour, peaking in the
// morning.
var lessonWeight = map[int]float64{8: 0.75, 9: 1.0, 10: 0.9, 11: 0.75, 12: 0.5, 13: 0.4, 14: 0.3, 15: 0.2}

// lessonsPerHostAtPeak is how many lessons start at 9:00 per server.
const lessonsPerHostAtPeak = 4

var (
	subjects = []string{"Mathematik", "Deutsch", "Englisch", "Französisch", "Biologie", "Physik", "Chemie",
		"Geschichte", "Erdkunde", "Kunst", "Musik", "Informatik", "Latein", "Religion", "Sport-Theorie", "Politik"}
	classes  = []string{"5a", "5b", "5c", "6a", "6b", "7a", "7b", "7c", "8a", "8b", "9a", "9b", "9c", "10a", "10b", "Q1", "Q2"}
	teachers = []string{"Frau Müller", "Herr Schmidt", "Frau Öztürk", "Herr Weiß", "Frau Nguyễn", "Herr Kowalski",
		"Frau Jensen", "Herr Fischer", "Frau Yılmaz", "Herr Becker", "Frau Wagner", "Herr Hoffmann"}
	firstNames = []string{"Anna", "Ben", "Chloé", "David", "Elif", "Finn", "Greta", "Hamza", "Ida", "Jonas", "Kira",
		"Luca", "Mia", "Noah", "Olga", "Paul", "Rania", "Sofia", "Tim", "Zoë", "Emil", "Lea", "Mehmet", "Søren"}
	clubs = []string{"Theater-AG", "Robotik-AG", "Schülerzeitung", "Schach-AG", "Chor", "Nachhilfe Mathe"}
)

// dayNumber counts days since the Unix epoch in t's location.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func (m *Model) day(t time.Time) []*lesson {
	n := dayNumber(t)
	m.mu.Lock()
	defer m.mu.Unlock()
	if ls, ok := m.days[n]; ok {
		return ls
	}
	if len(m.days) >= 4 {
		for k := range m.days {
			delete(m.days, k)
		}
	}
	y, mo, d := t.Date()
	ls := m.plan(n, time.Date(y, mo, d, 0, 0, 0, 0, t.Location()))
	m.days[n] = ls
	return ls
}

// plan makes the lessons of one day.
func (m *Model) plan(dayNum int64, midnight time.Time) []*lesson {
	wd := midnight.Weekday()
	if wd == time.Saturday || wd == time.Sunday {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(m.Seed), uint64(dayNum)*0x9e3779b97f4a7c15+1))
	var out []*lesson
	at := func(h, min int) time.Time {
		return midnight.Add(time.Duration(h)*time.Hour + time.Duration(min)*time.Minute)
	}
	for h := 8; h <= 15; h++ {
		want := float64(lessonsPerHostAtPeak*m.Hosts) * lessonWeight[h] * (0.85 + 0.3*r.Float64())
		n := int(math.Round(want))
		for i := 0; i < n; i++ {
			start := at(h, 0)
			length := 45 * time.Minute
			if r.IntN(10) < 3 {
				length = 90 * time.Minute // a double lesson
			}
			subj := subjects[r.IntN(len(subjects))]
			class := classes[r.IntN(len(classes))]
			l := &lesson{
				name:    subj + " " + class,
				context: "Klasse " + class,
				open:    start.Add(-time.Duration(r.IntN(7)) * time.Minute),
				end:     start.Add(length + time.Duration(r.IntN(6))*time.Minute),
			}
			l.recording = r.IntN(8) == 0
			m.people(r, l, start, 12+r.IntN(17), false)
			if r.IntN(3) == 0 { // group work in breakout rooms
				offset := 5 + r.IntN(26)
				if length > 45*time.Minute && r.IntN(2) == 0 {
					offset += 45 // in the second half of a double lesson
				}
				ro := start.Add(time.Duration(offset) * time.Minute)
				re := ro.Add(time.Duration(10+r.IntN(11)) * time.Minute)
				k := 2 + r.IntN(4)
				for j := 1; j <= k; j++ {
					l.rooms = append(l.rooms, room{seq: j, open: ro, end: re})
				}
			}
			out = append(out, l)
		}
	}
	// Afternoon clubs.
	for i := 0; i < (m.Hosts+1)/2; i++ {
		start := at(15, 30+15*r.IntN(3))
		l := &lesson{
			name:    clubs[r.IntN(len(clubs))],
			context: "AG",
			open:    start.Add(-time.Duration(r.IntN(5)) * time.Minute),
			end:     start.Add(time.Duration(60+r.IntN(31)) * time.Minute),
		}
		m.people(r, l, start, 5+r.IntN(10), false)
		out = append(out, l)
	}
	// Parents' evenings, mostly listening, on some days.
	if r.IntN(3) == 0 {
		for i := 0; i < 1+r.IntN(2); i++ {
			start := at(19, 0)
			class := classes[r.IntN(len(classes))]
			l := &lesson{
				name:    "Elternabend " + class,
				context: "Klasse " + class,
				open:    start.Add(-time.Duration(5+r.IntN(10)) * time.Minute),
				end:     start.Add(time.Duration(75+r.IntN(31)) * time.Minute),
			}
			m.people(r, l, start, 15+r.IntN(20), true)
			out = append(out, l)
		}
	}
	// Stable order, IDs, and servers: each lesson goes to the server with
	// the fewest users at its opening, as Scalelite would place it.
	sort.SliceStable(out, func(i, j int) bool { return out[i].open.Before(out[j].open) })
	for i, l := range out {
		sum := sha1.Sum([]byte(fmt.Sprintf("%d/%d/%d", m.Seed, dayNum, i)))
		l.id = hex.EncodeToString(sum[:])[:24]
		l.voiceBridge = 70000 + int(sum[0])*100 + int(sum[1])%100
		l.host = m.place(out[:i], l.open, r)
	}
	return out
}

// people fills a lesson's participants: a teacher (moderator, presenter)
// and n others joining around the start and leaving around the end.
func (m *Model) people(r *rand.Rand, l *lesson, start time.Time, n int, parents bool) {
	t := pupil{
		name: teachers[r.IntN(len(teachers))], moderator: true,
		join: l.open, leave: l.end, voice: true, video: r.IntN(10) < 7,
	}
	l.users = append(l.users, t)
	for i := 0; i < n; i++ {
		p := pupil{name: firstNames[r.IntN(len(firstNames))] + " " + string(rune('A'+r.IntN(26))) + "."}
		if parents {
			p.name = "Familie " + strings.TrimSuffix(p.name, ".")
		}
		// Most arrive in the five minutes around the start, a few late.
		p.join = start.Add(time.Duration(r.IntN(300)-150) * time.Second)
		if r.IntN(10) == 0 {
			p.join = start.Add(time.Duration(5+r.IntN(15)) * time.Minute)
		}
		if p.join.Before(l.open) {
			p.join = l.open.Add(time.Duration(r.IntN(60)) * time.Second)
		}
		p.leave = l.end.Add(-time.Duration(r.IntN(120)) * time.Second)
		if r.IntN(12) == 0 { // connection lost, or left early
			p.leave = p.join.Add(time.Duration(5+r.IntN(30)) * time.Minute)
		}
		switch x := r.IntN(100); {
		case parents && x < 60, x < 12:
			p.listenOnly = true
		case x < 70:
			p.voice = true
		}
		p.video = !parents && r.IntN(100) < 12
		l.users = append(l.users, p)
	}
	for i := range l.users {
		l.users[i].id = fmt.Sprintf("w_%06x", r.Uint32()&0xffffff)
	}
}

// place picks the server with the fewest users at t among the lessons
// placed so far; ties go to a random one of them.
func (m *Model) place(placed []*lesson, t time.Time, r *rand.Rand) int {
	load := make([]int, m.Hosts)
	for _, l := range placed {
		if !t.Before(l.open) && t.Before(l.end) {
			load[l.host] += len(l.users)
		}
	}
	best := []int{}
	for i, n := range load {
		switch {
		case len(best) == 0 || n < load[best[0]]:
			best = []int{i}
		case n == load[best[0]]:
			best = append(best, i)
		}
	}
	return best[r.IntN(len(best))]
}

// MeetingsAt returns each server's meetings at simulated time t, breakout
// rooms included (a user in a breakout room is not in its parent). shift
// is added to every timestamp, so the meetings' ages can be expressed
// relative to the real clock; internal IDs use the simulated times.
func (m *Model) MeetingsAt(t time.Time, shift time.Duration) [][]sim.Meeting {
	out := make([][]sim.Meeting, m.Hosts)
	for i := range out {
		out[i] = []sim.Meeting{}
	}
	for _, l := range m.day(t) {
		if t.Before(l.open) || !t.Before(l.end) {
			continue
		}
		out[l.host] = append(out[l.host], l.meetings(t, shift)...)
	}
	return out
}

func (l *lesson) meetings(t time.Time, shift time.Duration) []sim.Meeting {
	created := l.open.UnixMilli()
	parent := sim.Meeting{
		Name: l.name, ID: l.id,
		InternalID:    sha1Hex(l.id) + "-" + strconv.FormatInt(created, 10),
		CreateTime:    l.open.Add(shift).UnixMilli(),
		StartTime:     l.open.Add(shift).UnixMilli() + 37,
		VoiceBridge:   strconv.Itoa(l.voiceBridge),
		DialNumber:    "613-555-1234",
		AttendeePW:    "ap-" + l.id[:8],
		ModeratorPW:   "mp-" + l.id[8:16],
		Running:       true,
		HasUserJoined: true,
		Recording:     l.recording,
		Attendees:     []sim.Attendee{},
		Metadata: []sim.KV{
			{Key: "bbb-context-name", Value: l.context},
			{Key: "bbb-origin", Value: "Moodle"},
		},
	}
	var rooms []sim.Meeting
	var open []room
	for _, ro := range l.rooms {
		if !t.Before(ro.open) && t.Before(ro.end) {
			open = append(open, ro)
		}
	}
	for _, ro := range open {
		// IDs as BBB's BreakoutRoomsUtil makes them.
		ts := strconv.FormatInt(ro.open.UnixMilli(), 10)
		ext := sha1Hex(parent.InternalID+"-"+ts+"-"+strconv.Itoa(ro.seq)) + "-" + ts
		b := sim.Meeting{
			Name:            fmt.Sprintf("%s (Room %d)", l.name, ro.seq),
			ID:              ext,
			InternalID:      sha1Hex(ext) + "-" + ts,
			CreateTime:      ro.open.Add(shift).UnixMilli(),
			StartTime:       ro.open.Add(shift).UnixMilli() + 21,
			VoiceBridge:     strconv.Itoa(l.voiceBridge + ro.seq),
			DialNumber:      "613-555-1234",
			AttendeePW:      parent.AttendeePW,
			ModeratorPW:     parent.ModeratorPW,
			Running:         true,
			HasUserJoined:   true,
			Attendees:       []sim.Attendee{},
			IsBreakout:      true,
			ParentMeetingID: parent.InternalID,
			Sequence:        ro.seq,
			FreeJoin:        false,
		}
		parent.BreakoutRooms = append(parent.BreakoutRooms, b.InternalID)
		rooms = append(rooms, b)
	}
	presenter := false
	k := 0 // pupils sent to rooms, in turn
	for i, u := range l.users {
		if t.Before(u.join) || !t.Before(u.leave) {
			continue
		}
		a := sim.Attendee{
			UserID: u.id, FullName: u.name, Role: "VIEWER", ClientType: "HTML5",
			IsListeningOnly: u.listenOnly, HasJoinedVoice: u.voice, HasVideo: u.video,
		}
		if u.moderator {
			a.Role = "MODERATOR"
			if !presenter {
				a.IsPresenter, presenter = true, true
			}
		}
		if len(rooms) > 0 && i > 0 {
			rm := &rooms[k%len(rooms)]
			k++
			a.UserID = fmt.Sprintf("%s_%d", u.id, rm.Sequence)
			a.IsPresenter = false
			if len(rm.Attendees) == 0 {
				a.IsPresenter = true
			}
			rm.Attendees = append(rm.Attendees, a)
			continue
		}
		parent.Attendees = append(parent.Attendees, a)
	}
	return append([]sim.Meeting{parent}, rooms...)
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Totals counts meetings (breakout rooms included) and users.
func Totals(ms [][]sim.Meeting) (meetings, users int) {
	for _, host := range ms {
		for _, m := range host {
			meetings++
			users += len(m.Attendees)
		}
	}
	return meetings, users
}
