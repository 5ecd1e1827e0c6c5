package ssh

import (
	"errors"
	"fmt"
)

// Error is a failure of this package on one server. Server is the name
// from Config.Name (the host when none was given); Err is the cause,
// matchable with errors.Is and errors.As. The server's name is a field,
// not part of Err's text: Error() puts it in front ("bbb1: ssh: ..."), and
// Detail gives the message without it, for callers that name the server
// themselves (fleet.ServerError).
type Error struct {
	Server string
	Err    error
}

func (e *Error) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the message without the server's name: "ssh: " and the cause.
func (e *Error) Detail() string { return "ssh: " + e.Err.Error() }

// Reason is the cause's message alone, without "ssh: ".
func (e *Error) Reason() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error of server with a formatted cause.
func errorf(server, format string, args ...any) error {
	return &Error{Server: server, Err: fmt.Errorf(format, args...)}
}

// ErrNoKey is matched (errors.Is) by a login that had no key to offer or
// whose every key the server refused: the server answered.
var ErrNoKey = errors.New("no key accepted")

// ErrHostKey is matched (errors.Is) by a failure to check or record a
// host key (besides *HostKeyError, a key refused): the server answered.
var ErrHostKey = errors.New("host key not checked")

// tagged is err, also matching tag with errors.Is.
type tagged struct {
	err, tag error
}

func (t *tagged) Error() string        { return t.err.Error() }
func (t *tagged) Unwrap() error        { return t.err }
func (t *tagged) Is(target error) bool { return target == t.tag }

// taggedf is errorf whose cause also matches tag.
func taggedf(tag error, server, format string, args ...any) error {
	return &Error{Server: server, Err: &tagged{err: fmt.Errorf(format, args...), tag: tag}}
}

// Detailer is an error that can say its message without the server's
// name: every per-server error of this package is one.
type Detailer interface {
	error
	Detail() string
}

// withServer returns err as server reports it: a shared jump host's error
// reached while dialling another server is that server's error.
func withServer(err error, server string) error {
	switch e := err.(type) {
	case *Error:
		c := *e
		c.Server = server
		return &c
	case *DialTimeoutError:
		c := *e
		c.Server = server
		return &c
	case *HostKeyError:
		c := *e
		c.Name = server
		return &c
	}
	return err
}
