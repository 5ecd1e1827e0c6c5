package ssh

import "fmt"

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
