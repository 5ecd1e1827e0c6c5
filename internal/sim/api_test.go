package sim

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, target string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

func TestChecksumVectors(t *testing.T) {
	const secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
	for alg, want := range map[string]string{
		"sha1":   "2027baa7771026e9e93392f55031535d1444c41f",
		"sha256": "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c",
	} {
		if got, _ := Checksum(alg, "getMeetings", "", secret); got != want {
			t.Errorf("%s: %s", alg, got)
		}
	}
	got, _ := Checksum("sha1", "create", "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444", secret)
	if got != "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17" {
		t.Errorf("create: %s", got)
	}
}

func TestAPIChecksumValidation(t *testing.T) {
	h := newTestHost(t, nil)
	api := h.APIHandler()
	for _, cs := range []string{"2027baa7771026e9e93392f55031535d1444c41f", "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c", "2027BAA7771026E9E93392F55031535D1444C41F"} {
		code, ct, body := get(t, api, "/bigbluebutton/api/getMeetings?checksum="+cs)
		if code != 200 || ct != "text/xml;charset=utf-8" || body != NoMeetingsBody {
			t.Errorf("%s: %d %s %q", cs, code, ct, body)
		}
	}
	_, _, body := get(t, api, "/bigbluebutton/api/getMeetings?checksum=2027baa7771026e9e93392f55031535d1444c41e")
	if body != ChecksumErrorBody {
		t.Errorf("bad checksum: %q", body)
	}
	_, _, body = get(t, api, "/bigbluebutton/api/getMeetings")
	if body != "<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey><message>You must provide the checksum</message></response>" {
		t.Errorf("missing: %q", body)
	}
	// checksum in the middle and at the start of the query string
	q := "meetingID=nope"
	cs, _ := Checksum("sha256", "isMeetingRunning", q, h.mustState(t).Secret)
	for _, target := range []string{
		"/bigbluebutton/api/isMeetingRunning?meetingID=nope&checksum=" + cs,
		"/bigbluebutton/api/isMeetingRunning?checksum=" + cs + "&meetingID=nope",
	} {
		_, _, body = get(t, api, target)
		if body != "<response>\n<returncode>SUCCESS</returncode>\n<running>false</running>\n</response>" {
			t.Errorf("%s: %q", target, body)
		}
	}
	// sha1 disabled by the admin
	h.Update(func(s *State) error { s.ChecksumAlgorithms = []string{"sha256", "sha512"}; return nil })
	_, _, body = get(t, api, "/bigbluebutton/api/getMeetings?checksum=2027baa7771026e9e93392f55031535d1444c41f")
	if body != ChecksumErrorBody {
		t.Errorf("disabled sha1: %q", body)
	}
	_, _, body = get(t, api, "/bigbluebutton/api/getMeetings?checksum=a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c")
	if body != NoMeetingsBody {
		t.Errorf("sha256: %q", body)
	}
}

func (h *Host) mustState(t *testing.T) State {
	t.Helper()
	s, err := h.State()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signed(t *testing.T, h *Host, call, query string) string {
	cs, _ := Checksum("sha256", call, query, h.mustState(t).Secret)
	if query != "" {
		query += "&"
	}
	return "/bigbluebutton/api/" + call + "?" + query + "checksum=" + cs
}

type xmlMeetings struct {
	ReturnCode string `xml:"returncode"`
	Meetings   []struct {
		Name             string `xml:"meetingName"`
		ID               string `xml:"meetingID"`
		InternalID       string `xml:"internalMeetingID"`
		ParticipantCount int    `xml:"participantCount"`
		ListenerCount    int    `xml:"listenerCount"`
		VideoCount       int    `xml:"videoCount"`
		ModeratorCount   int    `xml:"moderatorCount"`
		Attendees        []struct {
			FullName string `xml:"fullName"`
		} `xml:"attendees>attendee"`
		IsBreakout      bool     `xml:"isBreakout"`
		ParentMeetingID string   `xml:"parentMeetingID"`
		Sequence        int      `xml:"sequence"`
		BreakoutRooms   []string `xml:"breakoutRooms>breakout"`
	} `xml:"meetings>meeting"`
}

func TestGetMeetings(t *testing.T) {
	ms := GenerateMeetings(7, 8, 60, fixedNow)
	if again := GenerateMeetings(7, 8, 60, fixedNow); again[5].Attendees[0].UserID != ms[5].Attendees[0].UserID {
		t.Fatal("generator not deterministic")
	}
	h := newTestHost(t, func(s *State) { s.Meetings = ms })
	code, _, body := get(t, h.APIHandler(), signed(t, h, "getMeetings", ""))
	if code != 200 {
		t.Fatal(code)
	}
	var r xmlMeetings
	if err := xml.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	if r.ReturnCode != "SUCCESS" || len(r.Meetings) != 8 {
		t.Fatalf("%s %d", r.ReturnCode, len(r.Meetings))
	}
	total, breakouts := 0, 0
	for i, m := range r.Meetings {
		if m.Name != ms[i].Name || m.ParticipantCount != len(m.Attendees) || m.ParticipantCount != len(ms[i].Attendees) {
			t.Errorf("meeting %d: %q %d %d", i, m.Name, m.ParticipantCount, len(m.Attendees))
		}
		total += m.ParticipantCount
		if m.IsBreakout {
			breakouts++
			if m.ParentMeetingID == "" || m.Sequence == 0 {
				t.Errorf("breakout %d without parent", i)
			}
		}
	}
	if total != 60 || breakouts == 0 {
		t.Errorf("total %d breakouts %d", total, breakouts)
	}
	for _, s := range []string{"&amp;", "&lt;", "&quot;", "<breakoutRooms>\n<breakout>", "</isBreakout>\n<parentMeetingID>"} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q", s)
		}
	}
	// template element order
	order := []string{"<meetingName>", "<meetingID>", "<internalMeetingID>", "<createTime>", "<createDate>", "<voiceBridge>", "<dialNumber>", "<attendeePW>", "<moderatorPW>", "<running>", "<duration>", "<hasUserJoined>", "<recording>", "<hasBeenForciblyEnded>", "<startTime>", "<endTime>", "<participantCount>", "<listenerCount>", "<voiceParticipantCount>", "<videoCount>", "<maxUsers>", "<moderatorCount>", "<attendees>", "<metadata>", "<isBreakout>"}
	first, _, _ := strings.Cut(strings.SplitN(body, "<meeting>", 3)[1], "</meeting>")
	pos := -1
	for _, e := range order {
		i := strings.Index(first, e)
		if i <= pos {
			t.Errorf("%s out of order", e)
		}
		pos = i
	}
	if !strings.HasPrefix(body, "<response>\n<returncode>SUCCESS</returncode>\n<meetings>\n<meeting>\n<meetingName>") {
		t.Errorf("head %q", body[:80])
	}
}

func TestAPIStopStartAndFaults(t *testing.T) {
	h := newTestHost(t, nil)
	api := h.APIHandler()
	code, _, body := get(t, api, "/bigbluebutton/api")
	if code != 200 || body != "<response>\n<returncode>SUCCESS</returncode>\n<version>2.0</version>\n<apiVersion>2.0</apiVersion>\n<bbbVersion></bbbVersion>\n<graphqlWebsocketUrl>wss://bbb1.example.org/graphql</graphqlWebsocketUrl>\n<graphqlApiUrl>https://bbb1.example.org/api/rest</graphqlApiUrl>\n</response>" {
		t.Errorf("root: %d %q", code, body)
	}
	run(t, h, "root", "bbb-conf --stop")
	code, ct, body := get(t, api, "/bigbluebutton/api")
	if code != 502 || ct != "text/html" || !strings.HasPrefix(body, "<html>\r\n<head><title>502 Bad Gateway</title>") {
		t.Errorf("stopped: %d %s %q", code, ct, body)
	}
	run(t, h, "root", "bbb-conf --start")
	if code, _, _ = get(t, api, "/bigbluebutton/api"); code != 200 {
		t.Errorf("restarted: %d", code)
	}
	h.Update(func(s *State) error { s.HTML200 = true; return nil })
	code, ct, body = get(t, api, signed(t, h, "getMeetings", ""))
	if code != 200 || ct != "text/html" || !strings.Contains(body, "<html>") {
		t.Errorf("html200: %d %s", code, ct)
	}
	h.Update(func(s *State) error {
		s.HTML200, s.Truncate = false, true
		s.Meetings = GenerateMeetings(1, 2, 5, fixedNow)
		return nil
	})
	_, _, body = get(t, api, signed(t, h, "getMeetings", ""))
	var r xmlMeetings
	if err := xml.Unmarshal([]byte(body), &r); err == nil || strings.HasSuffix(body, ">") {
		t.Errorf("truncated body parsed: %q", body)
	}
}

func TestAPIEndChatCreate(t *testing.T) {
	h := newTestHost(t, func(s *State) { s.Meetings = GenerateMeetings(3, 4, 10, fixedNow) })
	api := h.APIHandler()
	ms := h.mustState(t).Meetings
	_, _, body := get(t, api, signed(t, h, "sendChatMessage", "meetingID="+ms[0].ID+"&message=Server+stops+in+10+minutes"))
	if body != "<response>\n<returncode>SUCCESS</returncode>\n<messageKey></messageKey>\n<message></message>\n</response>" {
		t.Errorf("chat: %q", body)
	}
	if c := h.mustState(t).Meetings[0].Chat; len(c) != 1 || c[0].Message != "Server stops in 10 minutes" || c[0].UserName != "System" {
		t.Errorf("chat state %+v", c)
	}
	_, _, body = get(t, api, signed(t, h, "end", "meetingID="+ms[2].ID))
	if !strings.Contains(body, "<messageKey>sentEndMeetingRequest</messageKey>") {
		t.Errorf("end: %q", body)
	}
	_, _, body = get(t, api, signed(t, h, "end", "meetingID=gone"))
	if !strings.Contains(body, "<messageKey>notFound</messageKey>") {
		t.Errorf("end unknown: %q", body)
	}
	// ms[2] is the parent of the breakout ms[3]: both are gone.
	if n := len(h.mustState(t).Meetings); n != 2 {
		t.Errorf("after end %d meetings", n)
	}
	_, _, body = get(t, api, signed(t, h, "create", "name=Neu+%26+mehr&meetingID=new1"))
	if !strings.Contains(body, "<meetingID>new1</meetingID>") {
		t.Errorf("create: %q", body)
	}
	_, _, body = get(t, api, signed(t, h, "getMeetingInfo", "meetingID=new1"))
	if !strings.Contains(body, "<meetingName>Neu &amp; mehr</meetingName>") {
		t.Errorf("info: %q", body)
	}
}

func TestServeAPIRefuse(t *testing.T) {
	h := newTestHost(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, stop, err := h.ServeAPI(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<returncode>SUCCESS</returncode>") {
		t.Errorf("%s", b)
	}
	h.Update(func(s *State) error { s.Refuse = true; return nil })
	if _, err := c.Get(u); err == nil {
		t.Error("refused API answered")
	}
	h.Update(func(s *State) error { s.Refuse, s.Slow = false, 200*time.Millisecond; return nil })
	start := time.Now()
	resp, err = c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if time.Since(start) < 200*time.Millisecond {
		t.Error("Slow not applied")
	}
}

func TestFileStoreShared(t *testing.T) {
	dir := t.TempDir()
	s := DefaultState("bbb2")
	if err := WriteState(dir, s); err != nil {
		t.Fatal(err)
	}
	// two Host values on the same directory stand for two processes
	a := NewHost(NewFileStore(dir), Options{})
	b := NewHost(NewFileStore(dir), Options{})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			a.Update(func(s *State) error { s.Cores++; return nil })
		}()
		go func() {
			defer wg.Done()
			b.Update(func(s *State) error { s.Cores++; return nil })
			b.State()
		}()
	}
	wg.Wait()
	if got := a.mustState(t).Cores; got != 8+40 {
		t.Errorf("cores %d, lost updates", got)
	}
	run(t, a, "root", "bbb-conf --stop")
	if code, _, _ := get(t, b.APIHandler(), "/bigbluebutton/api"); code != 502 {
		t.Errorf("other host sees %d", code)
	}
	run(t, b, "root", "bbb-conf --start")
	if code, _, _ := get(t, a.APIHandler(), "/bigbluebutton/api"); code != 200 {
		t.Errorf("after start %d", code)
	}
}
