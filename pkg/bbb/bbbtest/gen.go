package bbbtest

import (
	"bytes"
	"fmt"
)

// GetMeetingsXML returns a SUCCESS getMeetings body in the BBB 3.0 layout
// with the given number of meetings and attendees in total (spread evenly).
// Every tenth meeting is a breakout room of the one before it (flat 2.4+
// fields); names contain escaped characters and non-ASCII text.
func GetMeetingsXML(meetings, attendees int) []byte {
	var b bytes.Buffer
	b.Grow(1024 + meetings*2048 + attendees*420)
	b.WriteString("<response>\n  <returncode>SUCCESS</returncode>\n  <meetings>\n")
	const created = int64(1715261728123)
	left := attendees
	for i := 0; i < meetings; i++ {
		n := left / (meetings - i)
		left -= n
		breakout := i%10 == 9
		mods := 0
		if n > 0 {
			mods = 1
		}
		fmt.Fprintf(&b, `    <meeting>
      <meetingName>Kurs %d &amp; Übung &lt;%d&gt; 日本</meetingName>
      <meetingID>meeting-%d</meetingID>
      <internalMeetingID>%040x-%d</internalMeetingID>
      <createTime>%d</createTime>
      <createDate>Thu May 09 13:35:28 UTC 2024</createDate>
      <voiceBridge>%05d</voiceBridge>
      <dialNumber>613-555-1234</dialNumber>
      <attendeePW>ap%d</attendeePW>
      <moderatorPW>mp%d</moderatorPW>
      <running>true</running>
      <duration>0</duration>
      <hasUserJoined>true</hasUserJoined>
      <recording>false</recording>
      <hasBeenForciblyEnded>false</hasBeenForciblyEnded>
      <startTime>%d</startTime>
      <endTime>0</endTime>
      <participantCount>%d</participantCount>
      <listenerCount>%d</listenerCount>
      <voiceParticipantCount>%d</voiceParticipantCount>
      <videoCount>%d</videoCount>
      <maxUsers>0</maxUsers>
      <moderatorCount>%d</moderatorCount>
      <attendees>
`, i, i, i, i, created+int64(i), created+int64(i), 10000+i, i, i, created+int64(i)+19, n, n/2, n/4, n/8, mods)
		for j := 0; j < n; j++ {
			role := "VIEWER"
			if j == 0 {
				role = "MODERATOR"
			}
			fmt.Fprintf(&b, `        <attendee>
          <userID>w_%08d%04d</userID>
          <fullName>Teilnehmer %d &amp; Jürgen "%d"</fullName>
          <role>%s</role>
          <isPresenter>%t</isPresenter>
          <isListeningOnly>%t</isListeningOnly>
          <hasJoinedVoice>%t</hasJoinedVoice>
          <hasVideo>%t</hasVideo>
          <clientType>HTML5</clientType>
          <customdata></customdata>
        </attendee>
`, i, j, j, i, role, j == 0, j%2 == 1, j%4 == 0, j%8 == 0)
		}
		fmt.Fprintf(&b, `      </attendees>
      <metadata>
        <bbb-origin>Moodle</bbb-origin>
        <bbb-origin-server-name>lms.example.org</bbb-origin-server-name>
        <bbb-context><![CDATA[Kurs %d <Mathe> & Physik]]></bbb-context>
      </metadata>
      <isBreakout>%t</isBreakout>
`, i, breakout)
		if breakout {
			fmt.Fprintf(&b, "      <parentMeetingID>%040x-%d</parentMeetingID>\n      <sequence>1</sequence>\n      <freeJoin>false</freeJoin>\n", i-1, created+int64(i-1))
		}
		b.WriteString("    </meeting>\n")
	}
	b.WriteString("  </meetings>\n</response>\n")
	return b.Bytes()
}
