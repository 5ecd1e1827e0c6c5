package bbb

import (
	"os"
	"testing"
	"time"
)

func TestScaleliteLoad(t *testing.T) {
	now := time.Date(2024, 5, 9, 14, 0, 0, 0, time.UTC)
	ms := func(offset time.Duration) int64 { return now.Add(-offset).UnixMilli() }
	tests := []struct {
		name       string
		meetings   []Meeting
		multiplier float64
		want       float64
	}{
		{"none", nil, 1, 0},
		{"old meeting: participants + moderators", []Meeting{{CreateTime: ms(time.Hour), ParticipantCount: 10, ModeratorCount: 2}}, 1, 12},
		{"new empty meeting counts 15", []Meeting{{CreateTime: ms(time.Minute)}}, 1, 15},
		{"new big meeting counts itself", []Meeting{{CreateTime: ms(time.Minute), ParticipantCount: 20, ModeratorCount: 3}}, 1, 23},
		{"exactly 15 min old is not new", []Meeting{{CreateTime: ms(15 * time.Minute), ParticipantCount: 1}}, 1, 1},
		{"14m59.5s old is new (seconds truncated)", []Meeting{{CreateTime: ms(15*time.Minute - 500*time.Millisecond), ParticipantCount: 1}}, 1, 1},
		{"14m58s old is new", []Meeting{{CreateTime: ms(15*time.Minute - 2*time.Second), ParticipantCount: 1}}, 1, 15},
		{"breakouts skipped", []Meeting{
			{CreateTime: ms(time.Hour), ParticipantCount: 4, ModeratorCount: 1},
			{CreateTime: ms(time.Minute), ParticipantCount: 3, IsBreakout: true},
			{CreateTime: ms(time.Hour), ParticipantCount: 2, IsBreakout: true},
		}, 1, 5},
		{"multiplier", []Meeting{{CreateTime: ms(time.Hour), ParticipantCount: 10, ModeratorCount: 2}}, 2.5, 30},
		{"multiplier 0 means 1", []Meeting{{CreateTime: ms(time.Hour), ParticipantCount: 10}}, 0, 10},
		{"missing createTime is old", []Meeting{{ParticipantCount: 2}}, 1, 2},
	}
	for _, tt := range tests {
		if got := ScaleliteLoad(tt.meetings, tt.multiplier, now); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	body, err := os.ReadFile("testdata/getMeetings-phpapi-1.xml")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := DecodeMeetings(body)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1554729625768).Add(5 * time.Minute) // meetings 1 and 2 are 5 min old
	got := Summarize(ms, now)
	want := Load{
		Meetings: 2, BreakoutRooms: 1,
		Participants: 5, Moderators: 1, ListenOnly: 2, Voice: 1, Video: 3,
		// meeting 1: new, 0 users -> 15; meeting 2: breakout, skipped;
		// meeting 3: created 2016, 5+1.
		ScaleliteLoad: 15 + 6,
	}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	hm, err := DecodeMeetings([]byte(handmadeGetMeetings))
	if err != nil {
		t.Fatal(err)
	}
	got = Summarize(hm, time.UnixMilli(1715261728123).Add(time.Hour))
	want = Load{Meetings: 1, BreakoutRooms: 2, Participants: 6, Moderators: 1, ListenOnly: 1, Voice: 1, Video: 2, ScaleliteLoad: 4}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if (Summarize(nil, time.Now()) != Load{}) {
		t.Error("empty summary not zero")
	}
}
