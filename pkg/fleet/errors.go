package fleet

import (
	"errors"
	"slices"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// ServerError is a failure on one server as a value: which server, which
// step (may be empty), and the cause, reachable with errors.Is and
// errors.As (ssh.ErrSudoPassword, *ssh.ExitError, *bbb.APIError,
// *ssh.DialTimeoutError, ...). Its message names the server once, in
// front: "bbb1: push: ...".
//
// The errors of pkg/ssh and pkg/bbb carry their server as a field and say
// their message without it (Detail); so does every per-server error of
// this package (ServerError, OpError, ErrTimeout, NotRunError, ...). Code
// that shows a server's failure in a row that names the server already
// asks for Detail (or Reason) instead of cutting the name off a string.
type ServerError struct {
	Server string
	Step   string
	Err    error
}

func (e *ServerError) Error() string { return e.Server + ": " + e.Detail() }

// Detail is the failure without the server's name: the step and the
// cause's own Detail.
func (e *ServerError) Detail() string {
	if e.Step == "" {
		return Detail(e.Err)
	}
	return e.Step + ": " + Detail(e.Err)
}

func (e *ServerError) Unwrap() error { return e.Err }

// serverErr is err as the failure of step on server s, or nil.
func serverErr(s, step string, err error) error {
	if err == nil {
		return nil
	}
	return &ServerError{Server: s, Step: step, Err: err}
}

// Detail returns err's message without the name of the server it is
// about: errors that carry their server as a field say it (Detail()
// string); any other error is its own message.
func Detail(err error) string {
	if err == nil {
		return ""
	}
	if d, ok := err.(interface{ Detail() string }); ok {
		return d.Detail()
	}
	return err.Error()
}

// Reason is Detail without the "ssh: " that says which layer failed, for
// a check row that says it already (the row "ssh").
func Reason(err error) string {
	var se *ssh.Error
	if errors.As(err, &se) && error(se) == err {
		return se.Reason()
	}
	if e, ok := err.(*ServerError); ok && e.Step == "ssh" {
		return Detail(e.Err)
	}
	var dt *ssh.DialTimeoutError
	if errors.As(err, &dt) && error(dt) == err {
		return dt.Reason()
	}
	var hk *ssh.HostKeyError
	if errors.As(err, &hk) && error(hk) == err {
		return hk.Reason()
	}
	return Detail(err)
}

// detailed is err as a cause inside another message about the same
// server: its text is err's Detail, and it unwraps to err.
type detailed struct{ err error }

func (d *detailed) Error() string { return Detail(d.err) }
func (d *detailed) Unwrap() error { return d.err }

// withoutServer returns err for wrapping in a message (or an OpError) that
// names the server already; nil stays nil.
func withoutServer(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(interface{ Detail() string }); !ok {
		return err
	}
	return &detailed{err}
}

// reasoned is err as a cause inside a message that names the server and
// says it is about SSH: its text is err's Reason.
type reasoned struct{ err error }

func (r *reasoned) Error() string { return Reason(r.err) }
func (r *reasoned) Unwrap() error { return r.err }

// withoutServerSSH is withoutServer without the "ssh: " of the cause.
func withoutServerSSH(err error) error {
	if err == nil {
		return nil
	}
	return &reasoned{err}
}

// trimPrefixErr is withoutServer under the name code written before
// ServerError uses (install); "ssh" among names also leaves out the
// cause's "ssh: " (withoutServerSSH). The names themselves are not needed:
// the error is asked for its message without its server.
func trimPrefixErr(err error, names ...string) error {
	if slices.Contains(names, "ssh") {
		return withoutServerSSH(err)
	}
	return withoutServer(err)
}

// Failure is the result's error as a ServerError (nil when it succeeded):
// the server attached once, as a value, for logs and audit lines that
// want server, step and cause apart. Err itself is left as the operation
// returned it.
func (r Result[T]) Failure() *ServerError {
	if r.Err == nil {
		return nil
	}
	if se, ok := r.Err.(*ServerError); ok && se.Server == r.Server.Name {
		return se
	}
	return &ServerError{Server: r.Server.Name, Err: r.Err}
}
