package bbb

import (
	"context"
	"errors"
	"testing"
)

// Every error type that names its server says the same without the name
// in Detail, and names it once in Error.
func TestErrorDetailLeavesOutTheServer(t *testing.T) {
	for _, err := range []interface {
		error
		Detail() string
	}{
		&APIError{Server: "bbb1", Call: "getMeetings", MessageKey: "checksumError", Message: "Checksums do not match"},
		&APIError{Server: "bbb1", Call: "getMeetings", MessageKey: "notFound", Message: "no"},
		&HTTPStatusError{Server: "bbb1", StatusCode: 502, HTML: true},
		&HTTPStatusError{Server: "bbb1", StatusCode: 404},
		&HTMLPageError{Server: "bbb1"},
		&MalformedXMLError{Server: "bbb1", Err: errors.New("unexpected EOF")},
		&RedirectError{Server: "bbb1", StatusCode: 301, Location: "https://x/y", Suggested: "https://x/"},
		&BodyTooLargeError{Server: "bbb1", Limit: 10},
		&TransportError{Server: "bbb1", Kind: Canceled, Host: "x:443", Err: context.Canceled},
	} {
		if got, want := err.Error(), "bbb1: "+err.Detail(); got != want {
			t.Errorf("%T: Error() = %q, want %q", err, got, want)
		}
		if d := err.Detail(); len(d) > 6 && d[:6] == "bbb1: " {
			t.Errorf("%T: Detail() = %q names the server", err, d)
		}
	}
	if got := (&HTMLPageError{}).Error(); got != "expected BBB XML, got an HTML page: is the API URL right?" {
		t.Errorf("without a server: %q", got)
	}
}
