package sim

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bodies quoted verbatim by reference §1.
const (
	NoMeetingsBody    = "<response><returncode>SUCCESS</returncode><meetings/><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message></response>"
	ChecksumErrorBody = "<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey><message>Checksums do not match</message></response>"
)

// BadGatewayBody is nginx's 502 page (nginx writes CRLF line ends).
const BadGatewayBody = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// CaptivePortalBody is what the HTML200 fault answers, with status 200.
const CaptivePortalBody = "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>Network login required</h1><p>Please sign in to continue.</p></body></html>\n"

func failedBody(key, msg string) string {
	return "<response><returncode>FAILED</returncode><messageKey>" + xmlEscape(key) + "</messageKey><message>" + xmlEscape(msg) + "</message></response>"
}

// xmlEscape escapes like FreeMarker's XML output format.
func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// compress does what FreeMarker's <#compress> does to bbb-web's templates:
// every run of white space becomes one newline (if it held one) or one
// space, and leading and trailing white space goes. It applies to the
// values too, as in bbb-web.
func compress(s string) string {
	var b strings.Builder
	inWS, nl := false, false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			inWS = true
			nl = nl || r == '\n' || r == '\r'
			continue
		}
		if inWS && b.Len() > 0 {
			if nl {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		inWS, nl = false, false
		b.WriteRune(r)
	}
	return b.String()
}

// Checksum computes hex(H(call + query + secret)) with the named algorithm.
func Checksum(algorithm, call, query, secret string) (string, error) {
	h, err := newHash(algorithm)
	if err != nil {
		return "", err
	}
	h.Write([]byte(call + query + secret))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func newHash(algorithm string) (hash.Hash, error) {
	switch algorithm {
	case "sha1":
		return sha1.New(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("sim: unknown checksum algorithm %q", algorithm)
}

// checksumAlgorithmForLength is how bbb-web picks the algorithm.
func checksumAlgorithmForLength(n int) string {
	switch n {
	case 40:
		return "sha1"
	case 64:
		return "sha256"
	case 96:
		return "sha384"
	case 128:
		return "sha512"
	}
	return ""
}

// stripChecksum removes the checksum parameter from the raw query the way
// bbb-web does: by string replacement, not by parsing.
func stripChecksum(raw, checksum string) string {
	switch {
	case strings.Contains(raw, "&checksum="+checksum):
		return strings.ReplaceAll(raw, "&checksum="+checksum, "")
	case strings.Contains(raw, "checksum="+checksum+"&"):
		return strings.ReplaceAll(raw, "checksum="+checksum+"&", "")
	case strings.Contains(raw, "checksum="+checksum):
		return strings.ReplaceAll(raw, "checksum="+checksum, "")
	}
	return raw
}

// validChecksum returns "" when the request's checksum is right, else the
// FAILED body to answer.
func validChecksum(s State, call, rawQuery string, q url.Values) string {
	cs := strings.TrimSpace(q.Get("checksum"))
	if cs == "" {
		return failedBody("checksumError", "You must provide the checksum")
	}
	alg := checksumAlgorithmForLength(len(cs))
	algs := s.ChecksumAlgorithms
	if algs == nil {
		algs = DefaultChecksumAlgorithms
	}
	if alg == "" || !slices.Contains(algs, alg) {
		return ChecksumErrorBody
	}
	want, _ := Checksum(alg, call, stripChecksum(rawQuery, cs), s.Secret)
	if !strings.EqualFold(want, cs) {
		return ChecksumErrorBody
	}
	return ""
}

// APIHandler serves the BBB 3.0 API under /bigbluebutton/api from the
// host's state, with the faults the state asks for.
func (h *Host) APIHandler() http.Handler {
	return http.HandlerFunc(h.serveAPI)
}

func (h *Host) serveAPI(w http.ResponseWriter, r *http.Request) {
	h.apiRequests.Add(1)
	s, err := h.store.Load()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// After `bbb-conf --stop` nginx answers 502 (reference §1); nginx
	// stopped on its own (systemctl stop nginx) means nobody answers.
	if s.Refuse || s.Machine.NoBBB || s.Down(h.opts.Now()) || !s.Stopped && s.unitState("nginx") != UnitActive {
		resetConn(w)
		return
	}
	if s.Slow > 0 {
		t := time.NewTimer(s.Slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Server", "nginx")
	if s.HTML200 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(CaptivePortalBody))
		return
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	const base = "/bigbluebutton/api"
	if p != base && !strings.HasPrefix(p, base+"/") {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
		return
	}
	if !apiUp(s) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(BadGatewayBody))
		return
	}
	call := strings.TrimPrefix(strings.TrimPrefix(p, base), "/")
	body := h.apiCall(r, s, call)
	if s.Truncate {
		body = truncateXML(body)
	}
	w.Header().Set("Content-Type", "text/xml;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(body))
}

// truncateXML cuts a body in the middle of an element.
func truncateXML(body string) string {
	cut := len(body) / 2
	if i := strings.Index(body[cut:], "<"); i >= 0 {
		cut += i + 2 // inside a tag name
	}
	if cut > len(body) {
		cut = len(body) - 1
	}
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return body[:cut]
}

// resetConn drops the connection with a TCP reset.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func (h *Host) apiCall(r *http.Request, s State, call string) string {
	if call == "" {
		return compress(fmt.Sprintf(`<response>
    <returncode>SUCCESS</returncode>
    <version>2.0</version>
    <apiVersion>2.0</apiVersion>
    <bbbVersion></bbbVersion>
    <graphqlWebsocketUrl>wss://%s/graphql</graphqlWebsocketUrl>
    <graphqlApiUrl>https://%s/api/rest</graphqlApiUrl>
</response>`, xmlEscape(s.Hostname), xmlEscape(s.Hostname)))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return failedBody("unsupportedRequestType", "The request type is not supported.")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		q = url.Values{}
	}
	switch call {
	case "getMeetings", "getMeetingInfo", "isMeetingRunning", "end", "create":
	case "sendChatMessage":
		if s.is27() { // 3.0+ only (reference §5)
			return failedBody("noSuchApiFunction", "API call "+call+" does not exist.")
		}
	default:
		return failedBody("noSuchApiFunction", "API call "+call+" does not exist.")
	}
	if bad := validChecksum(s, call, r.URL.RawQuery, q); bad != "" {
		return bad
	}
	switch call {
	case "getMeetings":
		return renderMeetings(s)
	case "getMeetingInfo":
		m := findMeeting(s, q.Get("meetingID"))
		if q.Get("meetingID") == "" {
			return failedBody("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
		}
		if m == nil {
			return failedBody("notFound", "A meeting with that ID does not exist")
		}
		return renderMeetingInfo(*m)
	case "isMeetingRunning":
		if q.Get("meetingID") == "" {
			return failedBody("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
		}
		m := findMeeting(s, q.Get("meetingID"))
		return compress(fmt.Sprintf("<response>\n<returncode>SUCCESS</returncode>\n<running>%t</running>\n</response>", m != nil && m.Running))
	case "end":
		return h.apiEnd(q)
	case "sendChatMessage":
		return h.apiChat(q)
	case "create":
		return h.apiCreate(q)
	}
	return ""
}

func findMeeting(s State, id string) *Meeting {
	for i := range s.Meetings {
		if s.Meetings[i].ID == id {
			return &s.Meetings[i]
		}
	}
	return nil
}

func (h *Host) apiEnd(q url.Values) string {
	id := q.Get("meetingID")
	if id == "" {
		return failedBody("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
	}
	found, badPW := false, false
	err := h.store.Update(func(s *State) error {
		var internal string
		for _, m := range s.Meetings {
			if m.ID == id {
				internal, found = m.InternalID, true
				// 2.7 still wants the moderator password (reference §5).
				if s.is27() && q.Get("password") != m.ModeratorPW || s.EndRejected {
					badPW = true
				}
			}
		}
		if !found || badPW || s.EndIgnored {
			return nil
		}
		if s.EndDelay > 0 {
			at := h.opts.Now().Add(s.EndDelay)
			for i := range s.Meetings {
				if m := &s.Meetings[i]; m.ID == id && (m.EndsAt.IsZero() || m.EndsAt.After(at)) {
					m.EndsAt, m.HasBeenForciblyEnded = at, true
				}
			}
			return nil
		}
		s.Meetings = slices.DeleteFunc(s.Meetings, func(m Meeting) bool {
			return m.ID == id || (m.IsBreakout && m.ParentMeetingID == internal)
		})
		return nil
	})
	if err != nil {
		return failedBody("internalError", err.Error())
	}
	if badPW {
		return failedBody("invalidPassword", "You must supply the moderator password for this call.")
	}
	if !found {
		return failedBody("notFound", "We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?")
	}
	return compress("<response>\n<returncode>SUCCESS</returncode>\n<messageKey>sentEndMeetingRequest</messageKey>\n<message>A request to end the meeting was sent.  Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.</message>\n</response>")
}

func (h *Host) apiChat(q url.Values) string {
	id, msg := q.Get("meetingID"), q.Get("message")
	user := q.Get("userName")
	if user == "" {
		user = "System"
	}
	if id == "" {
		return failedBody("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
	}
	if n := utf8.RuneCountInString(msg); n < 1 || n > 500 {
		return failedBody("validationError", "Message must be between 1 and 500 characters")
	}
	if utf8.RuneCountInString(user) > 255 {
		return failedBody("validationError", "User name must be at most 255 characters")
	}
	found := false
	err := h.store.Update(func(s *State) error {
		for i := range s.Meetings {
			if s.Meetings[i].ID == id {
				found = true
				s.Meetings[i].Chat = append(s.Meetings[i].Chat, ChatMessage{UserName: user, Message: msg})
			}
		}
		return nil
	})
	if err != nil {
		return failedBody("internalError", err.Error())
	}
	if !found {
		return failedBody("notFound", "A meeting with that ID does not exist")
	}
	return compress("<response>\n<returncode>SUCCESS</returncode>\n<messageKey></messageKey>\n<message></message>\n</response>")
}

func (h *Host) apiCreate(q url.Values) string {
	id := q.Get("meetingID")
	if id == "" {
		return failedBody("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
	}
	var m Meeting
	dup := false
	err := h.store.Update(func(s *State) error {
		if old := findMeeting(*s, id); old != nil {
			m, dup = *old, true
			return nil
		}
		now := h.now(*s)
		ms := now.UnixMilli()
		sum := sha1.Sum([]byte(id))
		name := q.Get("name")
		if name == "" {
			name = id
		}
		m = Meeting{
			Name: name, ID: id, InternalID: hex.EncodeToString(sum[:]) + "-" + strconv.FormatInt(ms, 10),
			CreateTime: ms, VoiceBridge: strconv.Itoa(70000 + int(sum[0])*100 + int(sum[1])%100),
			DialNumber: "613-555-1234", AttendeePW: q.Get("attendeePW"), ModeratorPW: q.Get("moderatorPW"),
			Recording: q.Get("record") == "true", Attendees: []Attendee{},
		}
		if m.AttendeePW == "" {
			m.AttendeePW = "ap" + hex.EncodeToString(sum[2:6])
		}
		if m.ModeratorPW == "" {
			m.ModeratorPW = "mp" + hex.EncodeToString(sum[6:10])
		}
		for k, v := range q {
			if strings.HasPrefix(k, "meta_") && len(v) > 0 {
				m.Metadata = append(m.Metadata, KV{Key: strings.ToLower(strings.TrimPrefix(k, "meta_")), Value: v[0]})
			}
		}
		slices.SortFunc(m.Metadata, func(a, b KV) int { return strings.Compare(a.Key, b.Key) })
		s.Meetings = append(s.Meetings, m)
		return nil
	})
	if err != nil {
		return failedBody("internalError", err.Error())
	}
	key, msg := "", ""
	if dup {
		key, msg = "duplicateWarning", "This conference was already in existence and may currently be in progress."
	}
	var b strings.Builder
	b.WriteString("<response>\n<returncode>SUCCESS</returncode>\n")
	el(&b, "meetingID", m.ID)
	el(&b, "internalMeetingID", m.InternalID)
	el(&b, "parentMeetingID", "bbb-none")
	el(&b, "attendeePW", m.AttendeePW)
	el(&b, "moderatorPW", m.ModeratorPW)
	el(&b, "createTime", strconv.FormatInt(m.CreateTime, 10))
	el(&b, "voiceBridge", m.VoiceBridge)
	el(&b, "dialNumber", m.DialNumber)
	el(&b, "createDate", javaDate(m.CreateTime))
	el(&b, "hasUserJoined", strconv.FormatBool(m.HasUserJoined))
	el(&b, "duration", strconv.Itoa(m.Duration))
	el(&b, "hasBeenForciblyEnded", strconv.FormatBool(m.HasBeenForciblyEnded))
	el(&b, "messageKey", key)
	el(&b, "message", msg)
	b.WriteString("</response>")
	return compress(b.String())
}

func el(b *strings.Builder, name, value string) {
	b.WriteString("<" + name + ">" + xmlEscape(value) + "</" + name + ">\n")
}

// javaDate formats like java.util.Date.toString in UTC.
func javaDate(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("Mon Jan 02 15:04:05 MST 2006")
}

// meetingFields renders the elements get-meetings.ftlx and
// get-meeting-info.ftlx share, in template order.
func meetingFields(b *strings.Builder, m Meeting, info bool) {
	el(b, "meetingName", m.Name)
	el(b, "meetingID", m.ID)
	el(b, "internalMeetingID", m.InternalID)
	el(b, "createTime", strconv.FormatInt(m.CreateTime, 10))
	el(b, "createDate", javaDate(m.CreateTime))
	el(b, "voiceBridge", m.VoiceBridge)
	el(b, "dialNumber", m.DialNumber)
	if !info || m.AttendeePW != "" {
		el(b, "attendeePW", m.AttendeePW)
	}
	if !info || m.ModeratorPW != "" {
		el(b, "moderatorPW", m.ModeratorPW)
	}
	el(b, "running", strconv.FormatBool(m.Running))
	el(b, "duration", strconv.Itoa(m.Duration))
	el(b, "hasUserJoined", strconv.FormatBool(m.HasUserJoined))
	el(b, "recording", strconv.FormatBool(m.Recording))
	el(b, "hasBeenForciblyEnded", strconv.FormatBool(m.HasBeenForciblyEnded))
	el(b, "startTime", strconv.FormatInt(m.StartTime, 10))
	el(b, "endTime", strconv.FormatInt(m.EndTime, 10))
	el(b, "participantCount", strconv.Itoa(m.participantCount()))
	el(b, "listenerCount", strconv.Itoa(m.count(func(a Attendee) bool { return a.IsListeningOnly })))
	el(b, "voiceParticipantCount", strconv.Itoa(m.count(func(a Attendee) bool { return a.HasJoinedVoice })))
	el(b, "videoCount", strconv.Itoa(m.count(func(a Attendee) bool { return a.HasVideo })))
	el(b, "maxUsers", strconv.Itoa(m.MaxUsers))
	el(b, "moderatorCount", strconv.Itoa(m.count(func(a Attendee) bool { return a.Role == "MODERATOR" })))
	b.WriteString("<attendees>\n")
	for _, a := range m.Attendees {
		b.WriteString("<attendee>\n")
		el(b, "userID", a.UserID)
		el(b, "fullName", a.FullName)
		el(b, "role", a.Role)
		el(b, "isPresenter", strconv.FormatBool(a.IsPresenter))
		el(b, "isListeningOnly", strconv.FormatBool(a.IsListeningOnly))
		el(b, "hasJoinedVoice", strconv.FormatBool(a.HasJoinedVoice))
		el(b, "hasVideo", strconv.FormatBool(a.HasVideo))
		el(b, "clientType", a.ClientType)
		if a.CustomData != nil {
			b.WriteString("<customdata>\n")
			for _, kv := range a.CustomData {
				el(b, kv.Key, kv.Value)
			}
			b.WriteString("</customdata>\n")
		}
		b.WriteString("</attendee>\n")
	}
	b.WriteString("</attendees>\n<metadata>\n")
	for _, kv := range m.Metadata {
		el(b, kv.Key, kv.Value)
	}
	b.WriteString("</metadata>\n")
}

func breakoutFields(b *strings.Builder, m Meeting) {
	el(b, "isBreakout", strconv.FormatBool(m.IsBreakout))
	if m.IsBreakout {
		el(b, "parentMeetingID", m.ParentMeetingID)
		el(b, "sequence", strconv.Itoa(m.Sequence))
		el(b, "freeJoin", strconv.FormatBool(m.FreeJoin))
	}
	if len(m.BreakoutRooms) > 0 {
		b.WriteString("<breakoutRooms>\n")
		for _, id := range m.BreakoutRooms {
			el(b, "breakout", id)
		}
		b.WriteString("</breakoutRooms>\n")
	}
}

// RenderGetMeetings is the getMeetings body for s.
func RenderGetMeetings(s State) string { return renderMeetings(s) }

func renderMeetings(s State) string {
	if len(s.Meetings) == 0 {
		return NoMeetingsBody
	}
	var b strings.Builder
	b.WriteString("<response>\n<returncode>SUCCESS</returncode>\n<meetings>\n")
	for _, m := range s.Meetings {
		b.WriteString("<meeting>\n")
		meetingFields(&b, m, false)
		breakoutFields(&b, m)
		b.WriteString("</meeting>\n")
	}
	b.WriteString("</meetings>\n</response>")
	return compress(b.String())
}

func renderMeetingInfo(m Meeting) string {
	var b strings.Builder
	b.WriteString("<response>\n<returncode>SUCCESS</returncode>\n")
	meetingFields(&b, m, true)
	breakoutFields(&b, m)
	b.WriteString("</response>")
	return compress(b.String())
}

// ServeAPI serves APIHandler on addr (TLS when tlsConfig is set) and
// returns the API base URL (…/bigbluebutton/api/). While State.Refuse is
// set, every connection is reset as soon as it is accepted.
func (h *Host) ServeAPI(ctx context.Context, addr string, tlsConfig *tls.Config) (apiURL string, stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("sim: API listen %s: %w", addr, err)
	}
	rl := &refusingListener{Listener: ln, h: h}
	var l net.Listener = rl
	scheme := "http"
	if tlsConfig != nil {
		l = tls.NewListener(rl, tlsConfig)
		scheme = "https"
	}
	srv := &http.Server{
		Handler:           h.APIHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		// Clients that reject the certificate on purpose (the TLS tests)
		// are not news: keep the server's own log quiet.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	stopCtx := context.AfterFunc(ctx, func() { srv.Close() })
	stop = func() {
		stopCtx()
		srv.Close()
		<-done
	}
	return scheme + "://" + ln.Addr().String() + "/bigbluebutton/api/", stop, nil
}

type refusingListener struct {
	net.Listener
	h *Host
}

func (l *refusingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s, err := l.h.store.Load()
		if err == nil && (s.Refuse || s.Machine.NoBBB || s.Down(l.h.opts.Now())) {
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			c.Close()
			continue
		}
		return c, nil
	}
}
