package bbb

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// response is everything the package reads from a BBB <response>.
type response struct {
	ReturnCode string
	MessageKey string
	Message    string
	Errors     []ErrorDetail

	// Meetings holds the <meetings><meeting> list of getMeetings.
	Meetings []Meeting
	// Top holds meeting fields found directly under <response>
	// (getMeetingInfo; isMeetingRunning's <running>).
	Top        Meeting
	TopFields  int
	SawRunning bool

	// Root call fields.
	Version, APIVersion, BBBVersion    string
	GraphQLWebsocketURL, GraphQLAPIURL string
}

// DecodeMeetings decodes a getMeetings response body. A SUCCESS without
// meetings (messageKey noMeetings) gives an empty, non-nil slice. FAILED gives
// an *APIError; a body that is not a well-formed BBB <response> gives a
// *MalformedXMLError. Unknown elements are ignored, missing ones left at
// their zero value.
func DecodeMeetings(body []byte) ([]Meeting, error) {
	r, err := decodeResponse(body)
	if err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	if r.Meetings == nil {
		r.Meetings = []Meeting{}
	}
	return r.Meetings, nil
}

// DecodeMeetingInfo decodes a getMeetingInfo response body, whose meeting
// fields sit directly under <response>. Errors as for DecodeMeetings
// (FAILED notFound for an unknown meeting: see IsNotFound).
func DecodeMeetingInfo(body []byte) (*Meeting, error) {
	r, err := decodeResponse(body)
	if err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r.Top, nil
}

// check turns a FAILED or returncode-less response into an error.
func (r *response) check() error {
	switch {
	case strings.EqualFold(r.ReturnCode, "SUCCESS"):
		return nil
	case strings.EqualFold(r.ReturnCode, "FAILED"):
		e := &APIError{MessageKey: r.MessageKey, Message: r.Message, Errors: r.Errors}
		if e.MessageKey == "" && e.Message == "" && len(e.Errors) > 0 {
			e.MessageKey, e.Message = e.Errors[0].Key, e.Errors[0].Message
		}
		return e
	case r.ReturnCode == "":
		return &MalformedXMLError{Err: errors.New("<response> has no <returncode>")}
	}
	return &MalformedXMLError{Err: fmt.Errorf("unknown returncode %q", shorten(r.ReturnCode, 40))}
}

// decoder is a streaming reader over encoding/xml tokens. Every method is
// called right after the start tag of the element it reads and consumes the
// element up to and including its end tag. Recursion depth is fixed by the
// schema (response > meetings > meeting > attendees > attendee > customdata >
// value); deeper, unknown content is skipped by xml.Decoder.Skip, which does
// not recurse, so hostile nesting cannot blow the stack.
type decoder struct {
	d   *xml.Decoder
	buf []byte
	// meetings and items count what one response decoded so far: the body
	// is capped at MaxBody, but a body of tiny empty elements would still
	// become far more memory than its bytes.
	meetings, items int
}

// Limits of one response. A BBB server runs a few hundred meetings with a
// few thousand users; these are far above that and keep a hostile or
// broken body of tiny elements to a bounded amount of memory.
const (
	MaxMeetings = 10000
	// MaxItems bounds attendees, metadata and customdata entries and
	// breakout room IDs together.
	MaxItems = 200000
)

// countMeeting and countItem enforce the limits.
func (p *decoder) countMeeting() error {
	if p.meetings++; p.meetings > MaxMeetings {
		return &MalformedXMLError{Err: fmt.Errorf("more than %d meetings in one response: not a BBB server's answer", MaxMeetings)}
	}
	return nil
}

func (p *decoder) countItem() error {
	if p.items++; p.items > MaxItems {
		return &MalformedXMLError{Err: fmt.Errorf("more than %d attendees and metadata entries in one response: not a BBB server's answer", MaxItems)}
	}
	return nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decodeResponse parses a BBB <response>. Characters XML 1.0 forbids in
// names and other text are replaced by U+FFFD on the way in (charFilter),
// so one such meeting name does not make the whole answer unreadable.
func decodeResponse(body []byte) (*response, error) {
	body = utf8Body(body)
	d := xml.NewDecoder(newCharFilter(bytes.NewReader(body)))
	d.Strict = true
	d.Entity = xml.HTMLEntity // tolerate &nbsp; and friends
	d.CharsetReader = charsetReader
	p := &decoder{d: d}
	r := &response{}
	if err := p.root(r); err != nil {
		var me *MalformedXMLError
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, &MalformedXMLError{Err: cleanXMLError(err)}
	}
	return r, nil
}

// cleanXMLError makes io.ErrUnexpectedEOF and xml's "unexpected EOF" read
// like what they are.
func cleanXMLError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("document ends early (truncated body?)")
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
		return fmt.Errorf("document ends early at line %d (truncated body?)", se.Line)
	}
	return err
}

func (p *decoder) root(r *response) error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return errors.New("no XML element in the body")
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "response" {
				return fmt.Errorf("root element is <%s>, expected <response>", shorten(se.Name.Local, 40))
			}
			break
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
			return errors.New("text before the root element")
		}
	}
	// Content after </response> is not read.
	return p.children(func(name string) error { return p.responseChild(r, name) })
}

func (p *decoder) responseChild(r *response, name string) error {
	var err error
	switch name {
	case "returncode":
		r.ReturnCode, err = p.str()
	case "messageKey":
		r.MessageKey, err = p.str()
	case "message":
		r.Message, err = p.str()
	case "errors":
		err = p.children(func(name string) error {
			if name != "error" {
				return p.d.Skip()
			}
			var e ErrorDetail
			err := p.children(func(name string) error {
				var err error
				switch name {
				case "key":
					e.Key, err = p.str()
				case "message":
					e.Message, err = p.str()
				default:
					err = p.d.Skip()
				}
				return err
			})
			r.Errors = append(r.Errors, e)
			return err
		})
	case "meetings":
		if r.Meetings == nil {
			r.Meetings = []Meeting{}
		}
		err = p.children(func(name string) error {
			if name != "meeting" {
				return p.d.Skip()
			}
			if err := p.countMeeting(); err != nil {
				return err
			}
			r.Meetings = append(r.Meetings, Meeting{})
			m := &r.Meetings[len(r.Meetings)-1]
			return p.children(func(name string) error {
				ok, err := p.meetingField(m, name)
				if !ok && err == nil {
					err = p.d.Skip()
				}
				return err
			})
		})
	case "version":
		r.Version, err = p.str()
	case "apiVersion":
		r.APIVersion, err = p.str()
	case "bbbVersion":
		r.BBBVersion, err = p.str()
	case "graphqlWebsocketUrl":
		r.GraphQLWebsocketURL, err = p.str()
	case "graphqlApiUrl":
		r.GraphQLAPIURL, err = p.str()
	default:
		var ok bool
		ok, err = p.meetingField(&r.Top, name)
		if !ok && err == nil {
			return p.d.Skip()
		}
		r.TopFields++
		if name == "running" {
			r.SawRunning = true
		}
	}
	return err
}

// meetingField reads the meeting field name into m. It returns false (and
// reads nothing) for an unknown name.
func (p *decoder) meetingField(m *Meeting, name string) (bool, error) {
	var err error
	switch name {
	case "meetingName":
		m.MeetingName, err = p.str()
	case "meetingID":
		m.MeetingID, err = p.str()
	case "internalMeetingID":
		m.InternalMeetingID, err = p.str()
	case "createTime":
		m.CreateTime, err = p.int64()
	case "createDate":
		m.CreateDate, err = p.str()
	case "voiceBridge":
		m.VoiceBridge, err = p.str()
	case "dialNumber":
		m.DialNumber, err = p.str()
	case "attendeePW":
		m.AttendeePW, err = p.str()
	case "moderatorPW":
		m.ModeratorPW, err = p.str()
	case "running":
		m.Running, err = p.bool()
	case "duration":
		m.Duration, err = p.int()
	case "hasUserJoined":
		m.HasUserJoined, err = p.bool()
	case "recording":
		m.Recording, err = p.bool()
	case "hasBeenForciblyEnded":
		m.HasBeenForciblyEnded, err = p.bool()
	case "startTime":
		m.StartTime, err = p.int64()
	case "endTime":
		m.EndTime, err = p.int64()
	case "participantCount":
		m.ParticipantCount, err = p.int()
	case "listenerCount":
		m.ListenerCount, err = p.int()
	case "voiceParticipantCount":
		m.VoiceParticipantCount, err = p.int()
	case "videoCount":
		m.VideoCount, err = p.int()
	case "maxUsers":
		m.MaxUsers, err = p.int()
	case "moderatorCount":
		m.ModeratorCount, err = p.int()
	case "isBreakout":
		m.IsBreakout, err = p.bool()
	case "parentMeetingID":
		m.ParentMeetingID, err = p.str()
	case "sequence":
		m.Sequence, err = p.int()
	case "freeJoin":
		m.FreeJoin, err = p.bool()
	case "attendees":
		err = p.children(func(name string) error {
			if name != "attendee" {
				return p.d.Skip()
			}
			if err := p.countItem(); err != nil {
				return err
			}
			m.Attendees = append(m.Attendees, Attendee{})
			return p.attendee(&m.Attendees[len(m.Attendees)-1])
		})
	case "metadata":
		err = p.children(func(name string) error {
			if err := p.countItem(); err != nil {
				return err
			}
			v, err := p.str()
			if m.Metadata == nil {
				m.Metadata = make(map[string]string)
			}
			m.Metadata[name] = v
			return err
		})
	case "breakout":
		// Pre-2.4 form: <breakout><parentMeetingID/><sequence/><freeJoin/></breakout>.
		err = p.children(func(name string) error {
			var err error
			switch name {
			case "parentMeetingID":
				m.ParentMeetingID, err = p.str()
			case "sequence":
				m.Sequence, err = p.int()
			case "freeJoin":
				m.FreeJoin, err = p.bool()
			case "isBreakout":
				m.IsBreakout, err = p.bool()
			default:
				err = p.d.Skip()
			}
			return err
		})
	case "breakoutRooms":
		err = p.children(func(name string) error {
			if name != "breakout" {
				return p.d.Skip()
			}
			v, err := p.str()
			if v != "" {
				if err := p.countItem(); err != nil {
					return err
				}
				m.BreakoutRooms = append(m.BreakoutRooms, v)
			}
			return err
		})
	default:
		return false, nil
	}
	return true, err
}

func (p *decoder) attendee(a *Attendee) error {
	return p.children(func(name string) error {
		var err error
		switch name {
		case "userID":
			a.UserID, err = p.str()
		case "fullName":
			a.FullName, err = p.str()
		case "role":
			a.Role, err = p.str()
		case "isPresenter":
			a.IsPresenter, err = p.bool()
		case "isListeningOnly":
			a.IsListeningOnly, err = p.bool()
		case "hasJoinedVoice":
			a.HasJoinedVoice, err = p.bool()
		case "hasVideo":
			a.HasVideo, err = p.bool()
		case "clientType":
			a.ClientType, err = p.str()
		case "customdata":
			a.CustomData, err = p.customData()
		default:
			err = p.d.Skip()
		}
		return err
	})
}

// customData reads <customdata>: child elements become keys; text without
// child elements is kept under "".
func (p *decoder) customData() (map[string]string, error) {
	var (
		m    map[string]string
		text []byte
	)
	for {
		tok, err := p.d.Token()
		if err != nil {
			return m, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(text) > 0 || len(bytes.TrimSpace(t)) > 0 {
				text = append(text, t...)
			}
		case xml.StartElement:
			if err := p.countItem(); err != nil {
				return m, err
			}
			v, err := p.str()
			if m == nil {
				m = make(map[string]string)
			}
			m[t.Name.Local] = v
			if err != nil {
				return m, err
			}
		case xml.EndElement:
			if t := bytes.TrimSpace(text); len(m) == 0 && len(t) > 0 {
				m = map[string]string{"": string(t)}
			}
			return m, nil
		}
	}
}

// children calls fn with the local name of each child element of the
// element just opened, until its end tag. fn must consume the child. Text
// between children is ignored.
func (p *decoder) children(fn func(name string) error) error {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t.Name.Local); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// text returns the trimmed character data of the element just opened
// (CDATA included), skipping any child elements. The slice is valid until
// the next call.
func (p *decoder) text() ([]byte, error) {
	p.buf = p.buf[:0]
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			p.buf = append(p.buf, t...)
		case xml.StartElement:
			if err := p.d.Skip(); err != nil {
				return nil, err
			}
		case xml.EndElement:
			return bytes.TrimSpace(p.buf), nil
		}
	}
}

func (p *decoder) str() (string, error) {
	b, err := p.text()
	if err != nil || len(b) == 0 {
		return "", err
	}
	// Share the few values that repeat for every attendee.
	switch string(b) {
	case "MODERATOR":
		return "MODERATOR", nil
	case "VIEWER":
		return "VIEWER", nil
	case "HTML5":
		return "HTML5", nil
	}
	return string(b), nil
}

func (p *decoder) bool() (bool, error) {
	b, err := p.text()
	return bytes.EqualFold(b, []byte("true")), err
}

func (p *decoder) int64() (int64, error) {
	b, err := p.text()
	return parseInt(b), err
}

func (p *decoder) int() (int, error) {
	b, err := p.text()
	n := parseInt(b)
	if int64(int(n)) != n {
		n = 0
	}
	return int(n), err
}

// parseInt parses a decimal integer leniently: anything that is not an
// optionally signed run of digits fitting in int64 gives 0.
func parseInt(b []byte) int64 {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// charsetReader accepts the single-byte encodings an old server or a proxy
// might declare; encoding/xml handles UTF-8 itself. An ISO-8859-1 body has
// been converted to UTF-8 before parsing (utf8Body), so it passes through.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	if isLatin1(charset) {
		return input, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q", charset)
}
