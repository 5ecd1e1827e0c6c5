package bbb

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// End asks the server to end a meeting. The call is asynchronous (messageKey
// sentEndMeetingRequest, reference §5): poll GetMeetings or
// IsMeetingRunning afterwards. moderatorPW is sent as password when not
// empty (BBB 2.7 may still want it; 3.0 ignores it). An unknown meeting gives
// an *APIError for which IsNotFound is true.
func (c *Client) End(ctx context.Context, meetingID, moderatorPW string) error {
	p := url.Values{"meetingID": {meetingID}}
	if moderatorPW != "" {
		p.Set("password", moderatorPW)
	}
	_, err := c.Call(ctx, "end", p)
	return err
}

// MaxChatMessage is the longest message sendChatMessage accepts (characters).
const MaxChatMessage = 500

// ErrChatMessageLength is returned for a message sendChatMessage would
// refuse (1 to 500 characters).
var ErrChatMessageLength = errors.New("a chat message must have 1 to 500 characters")

// SendChatMessage posts a plain-text message into a meeting's public chat
// (BBB 3.0+ only; userName defaults to "System" on the server when empty).
// On 2.7 the server answers as for an unknown call: IsUnknownCall is true.
func (c *Client) SendChatMessage(ctx context.Context, meetingID, message, userName string) error {
	if n := utf8.RuneCountInString(message); n < 1 || n > MaxChatMessage {
		return ErrChatMessageLength
	}
	p := url.Values{"meetingID": {meetingID}, "message": {message}}
	if userName != "" {
		p.Set("userName", userName)
	}
	_, err := c.Call(ctx, "sendChatMessage", p)
	return err
}

// IsUnknownCall reports whether err says the server does not know the API
// call (e.g. sendChatMessage on BBB 2.7).
func IsUnknownCall(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return strings.EqualFold(ae.MessageKey, "noSuchApiFunction") || strings.EqualFold(ae.MessageKey, "unsupportedRequest")
}
