package bbb

import "time"

// Scalelite's defaults for the start-up phase of a meeting (LOAD_MIN_USER_COUNT,
// LOAD_JOIN_BUFFER_TIME).
const (
	ScaleliteMinUserCount   = 15
	ScaleliteJoinBufferTime = 15 * time.Minute
)

// Load summarises the meetings of one server. Counts are sums of the
// server's own counters, not of the attendee lists (the two may disagree;
// departed users linger up to ~60 s).
type Load struct {
	// Meetings counts meetings that are not breakout rooms.
	Meetings int `json:"meetings"`
	// BreakoutRooms counts breakout rooms (listed as meetings of their own).
	BreakoutRooms int `json:"breakoutRooms"`
	// Participants sums participantCount over all meetings, breakout rooms
	// included: it counts every user, moderators included; a user in a
	// breakout room is counted in the breakout room's meeting.
	Participants int `json:"participants"`
	// Moderators sums moderatorCount (a subset of Participants).
	Moderators int `json:"moderators"`
	// ListenOnly sums listenerCount: users in listen-only audio.
	ListenOnly int `json:"listenOnly"`
	// Voice sums voiceParticipantCount: users in audio with a microphone.
	Voice int `json:"voice"`
	// Video sums videoCount: webcam streams.
	Video int `json:"video"`
	// ScaleliteLoad is ScaleliteLoad(ms, 1, now): the load Scalelite's
	// poller would record for a server with load multiplier 1.
	ScaleliteLoad float64 `json:"scaleliteLoad"`
}

// Summarize adds up the counters of ms (as returned by GetMeetings).
func Summarize(ms []Meeting, now time.Time) Load {
	var l Load
	for i := range ms {
		m := &ms[i]
		if m.IsBreakout {
			l.BreakoutRooms++
		} else {
			l.Meetings++
		}
		l.Participants += m.ParticipantCount
		l.Moderators += m.ModeratorCount
		l.ListenOnly += m.ListenerCount
		l.Voice += m.VoiceParticipantCount
		l.Video += m.VideoCount
	}
	l.ScaleliteLoad = ScaleliteLoad(ms, 1, now)
	return l
}

// ScaleliteLoad computes the load Scalelite's poller assigns to a server,
// as in blindsidenetworks/scalelite lib/tasks/poll.rake (task poll:servers,
// v1.x):
//
//	for each meeting in getMeetings, skipping those whose isBreakout is "true":
//	    created  = Time.at(createTime / 1000)      # integer seconds
//	    attendees = participantCount + moderatorCount
//	    if created > now - LOAD_JOIN_BUFFER_TIME    # 15 minutes
//	        attendees = max(attendees, LOAD_MIN_USER_COUNT)  # 15
//	    total += attendees
//	load = total * load_multiplier                # nil multiplier = 1.0
//
// So moderators are counted twice (they are in participantCount too), and a
// meeting created less than 15 minutes ago counts as at least 15 even when
// it is empty or not running. A multiplier <= 0 is taken as 1.0 (Scalelite's
// default for a server without one). Unlike Scalelite, which compares the
// raw text, isBreakout is trimmed and compared case-insensitively.
func ScaleliteLoad(ms []Meeting, multiplier float64, now time.Time) float64 {
	if multiplier <= 0 {
		multiplier = 1
	}
	cutoff := now.Add(-ScaleliteJoinBufferTime)
	total := 0
	for i := range ms {
		m := &ms[i]
		if m.IsBreakout {
			continue
		}
		attendees := m.ParticipantCount + m.ModeratorCount
		created := time.Unix(m.CreateTime/1000, 0)
		if created.After(cutoff) && attendees < ScaleliteMinUserCount {
			attendees = ScaleliteMinUserCount
		}
		total += attendees
	}
	return float64(total) * multiplier
}
