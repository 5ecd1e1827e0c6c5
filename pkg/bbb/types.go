package bbb

import (
	"time"
)

// Meeting is one <meeting> of a getMeetings response, or the body of a
// getMeetingInfo response (which carries the same fields directly under
// <response>). Fields missing from the XML (older servers) are left at their
// zero value. All text values are trimmed of surrounding whitespace.
type Meeting struct {
	MeetingName       string `json:"meetingName"`
	MeetingID         string `json:"meetingID"`
	InternalMeetingID string `json:"internalMeetingID"`
	// CreateTime is the creation time in milliseconds since the Unix epoch;
	// see Created.
	CreateTime int64 `json:"createTime"`
	// CreateDate is the server's own rendering, e.g. "Thu May 09 13:35:28 UTC 2024".
	CreateDate  string `json:"createDate"`
	VoiceBridge string `json:"voiceBridge"`
	DialNumber  string `json:"dialNumber"`
	AttendeePW  string `json:"attendeePW,omitempty"`
	ModeratorPW string `json:"moderatorPW,omitempty"`
	Running     bool   `json:"running"`
	// Duration is the maximum duration set at create time, in minutes (0 = unlimited).
	Duration             int  `json:"duration"`
	HasUserJoined        bool `json:"hasUserJoined"`
	Recording            bool `json:"recording"`
	HasBeenForciblyEnded bool `json:"hasBeenForciblyEnded"`
	// StartTime and EndTime are milliseconds since the Unix epoch (0 = not set).
	StartTime int64 `json:"startTime"`
	EndTime   int64 `json:"endTime"`

	// ParticipantCount counts every user in this meeting, moderators
	// included. Users in a breakout room are counted in the breakout
	// room's own Meeting. Departed users linger for up to ~60 s.
	ParticipantCount int `json:"participantCount"`
	// ListenerCount counts users connected to audio in listen-only mode.
	ListenerCount int `json:"listenerCount"`
	// VoiceParticipantCount counts users joined to audio with a microphone.
	VoiceParticipantCount int `json:"voiceParticipantCount"`
	// VideoCount counts webcam streams being shared.
	VideoCount int `json:"videoCount"`
	// MaxUsers is the create-time limit (0 = unlimited).
	MaxUsers int `json:"maxUsers"`
	// ModeratorCount counts moderators; they are also in ParticipantCount.
	ModeratorCount int `json:"moderatorCount"`

	Attendees []Attendee `json:"attendees,omitempty"`
	// Metadata holds the meta_* parameters given at create time, keyed by
	// element name (without the "meta_" prefix), values trimmed.
	Metadata map[string]string `json:"metadata,omitempty"`

	IsBreakout bool `json:"isBreakout"`
	// ParentMeetingID, Sequence and FreeJoin are set for breakout rooms,
	// whether the server sent them flat (2.4+) or wrapped in <breakout>.
	ParentMeetingID string `json:"parentMeetingID,omitempty"`
	Sequence        int    `json:"sequence,omitempty"`
	FreeJoin        bool   `json:"freeJoin,omitempty"`
	// BreakoutRooms lists the internal meeting IDs of a parent's breakout rooms.
	BreakoutRooms []string `json:"breakoutRooms,omitempty"`
}

// Created returns CreateTime as a time.Time (zero time when CreateTime is 0).
func (m *Meeting) Created() time.Time {
	if m.CreateTime == 0 {
		return time.Time{}
	}
	return time.UnixMilli(m.CreateTime)
}

// Attendee is one <attendee> of a meeting.
type Attendee struct {
	UserID   string `json:"userID"`
	FullName string `json:"fullName"`
	// Role is MODERATOR or VIEWER.
	Role            string `json:"role"`
	IsPresenter     bool   `json:"isPresenter"`
	IsListeningOnly bool   `json:"isListeningOnly"`
	HasJoinedVoice  bool   `json:"hasJoinedVoice"`
	HasVideo        bool   `json:"hasVideo"`
	// ClientType is HTML5 (FLASH on very old servers); empty when absent.
	ClientType string `json:"clientType,omitempty"`
	// CustomData holds the userdata-* join parameters (child elements of
	// <customdata>), or nil when empty. A text-only <customdata> is kept
	// under the key "".
	CustomData map[string]string `json:"customdata,omitempty"`
}

// IsModerator reports whether the attendee's role is MODERATOR.
func (a *Attendee) IsModerator() bool { return a.Role == "MODERATOR" }

// RootInfo is the answer of the root call GET /bigbluebutton/api/, which needs
// no checksum: it proves bbb-web answers, not that the secret is right.
type RootInfo struct {
	ReturnCode string `json:"returncode"`
	Version    string `json:"version"`
	APIVersion string `json:"apiVersion"`
	// BBBVersion is empty unless the administrator set
	// allowRevealOfBBBVersion=true; read the release over SSH instead.
	BBBVersion string `json:"bbbVersion"`
	// GraphQL endpoints, BBB 3.0+ only.
	GraphQLWebsocketURL string `json:"graphqlWebsocketUrl,omitempty"`
	GraphQLAPIURL       string `json:"graphqlApiUrl,omitempty"`
	// Latency is the time from sending the request to having read the
	// whole body.
	Latency time.Duration `json:"latency"`
}
