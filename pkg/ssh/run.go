package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"mvdan.cc/sh/v3/syntax"
)

// Command is one remote command. Exactly one of Argv and Script is set.
type Command struct {
	// Argv is the command and its arguments; every word is shell-quoted,
	// so values from the config or the user arrive as literal arguments.
	Argv []string
	// Sudo runs the command as root through "sudo -n --" when the login
	// user is not root. sudo must not want a password (ErrSudoPassword).
	Sudo bool
	// Stdin, when set, is copied to the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output live, all of it, in
	// addition to Result.Stdout and Result.Stderr (which keep at most
	// MaxOutput bytes each).
	Stdout, Stderr io.Writer
	// MaxOutput bounds what Result keeps of each stream: the first
	// MaxOutput bytes of stdout and of stderr; the rest is dropped (and
	// Result.StdoutTruncated or StderrTruncated set) but still streamed
	// to Stdout and Stderr. 0 or less means DefaultMaxOutput.
	MaxOutput int64
	// Script is an alternative to Argv: a shell script built by this tool
	// itself (never from unvalidated input). It is sent as the SSH command
	// line as is, or, with Sudo, as "sudo -n -- sh -c SCRIPT".
	Script string
}

// DefaultMaxOutput is what Result keeps of each stream when
// Command.MaxOutput is zero.
const DefaultMaxOutput = 16 << 20

// Result is what a finished (or cancelled) command produced.
type Result struct {
	// Stdout and Stderr are the first Command.MaxOutput bytes of each.
	Stdout, Stderr []byte
	// StdoutTruncated and StderrTruncated say that the stream was longer
	// than Command.MaxOutput: Stdout or Stderr holds only its beginning.
	StdoutTruncated, StderrTruncated bool
	ExitStatus                       int // -1 when no status was received
	Duration                         time.Duration
}

// ExitError is a remote command that exited with a non-zero status. Run
// returns it together with the Result.
type ExitError struct {
	Name   string // server name
	Status int
	Stderr string
	Signal string // set when the command was killed by a signal, e.g. "KILL"
}

func (e *ExitError) Error() string { return e.Name + ": " + e.Detail() }

// Detail is the message without the server's name.
func (e *ExitError) Detail() string {
	msg := fmt.Sprintf("remote command exited with status %d", e.Status)
	if e.Signal != "" {
		msg = fmt.Sprintf("remote command killed by signal %s", e.Signal)
	}
	if s := summarize(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// ErrSudoPassword is matched (errors.Is) by the error Run returns when sudo
// asks for a password. The error itself reads "bbb3: sudo on bbb3 wants a
// password; allow passwordless sudo for USER (NOPASSWD) or connect as root".
var ErrSudoPassword = errors.New("sudo wants a password")

type sudoPasswordError struct {
	name, user string
	exit       *ExitError
}

func (e *sudoPasswordError) Error() string { return e.name + ": " + e.Detail() }

// Detail is the message without the server's name in front (it names the
// server once, as the one whose sudo asks).
func (e *sudoPasswordError) Detail() string {
	return fmt.Sprintf("sudo on %s wants a password; allow passwordless sudo for %s (NOPASSWD) or connect as root", e.name, e.user)
}

func (e *sudoPasswordError) Unwrap() []error { return []error{ErrSudoPassword, e.exit} }

// Quote returns argv as one POSIX shell command line, each word quoted so
// that the remote shell passes it as one literal argument.
func Quote(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		q, err := syntax.Quote(a, syntax.LangPOSIX)
		if err != nil {
			// Non-printable bytes: single quotes are literal in POSIX sh.
			q = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words[i] = q
	}
	return strings.Join(words, " ")
}

// SudoArgv returns argv run as root through "sudo -n --": -n makes sudo
// fail at once instead of waiting for a password nobody can type.
func SudoArgv(argv []string) []string {
	return append([]string{"sudo", "-n", "--"}, argv...)
}

// CommandLine returns the remote command line that runs cmd for the login
// user: what Run sends, and what --verbose and --dry-run show. It is the
// one place a sudo command line is built: with cmd.Sudo and a user other
// than root, Argv becomes "sudo -n -- ARGV" and Script becomes
// "sudo -n -- sh -c SCRIPT", every word quoted with Quote.
func CommandLine(cmd Command, user string) (string, error) {
	sudo := cmd.Sudo && user != "root"
	switch {
	case len(cmd.Argv) > 0 && cmd.Script != "":
		return "", errors.New("command has both Argv and Script")
	case len(cmd.Argv) > 0:
		if cmd.Argv[0] == "" {
			return "", errors.New("empty command name")
		}
		for _, a := range cmd.Argv {
			if strings.ContainsRune(a, 0) {
				return "", errors.New("argument contains a NUL byte")
			}
		}
		argv := cmd.Argv
		if sudo {
			argv = SudoArgv(argv)
		}
		return Quote(argv), nil
	case cmd.Script != "":
		if strings.ContainsRune(cmd.Script, 0) {
			return "", errors.New("script contains a NUL byte")
		}
		if sudo {
			return Quote(SudoArgv([]string{"sh", "-c", cmd.Script})), nil
		}
		return cmd.Script, nil
	default:
		return "", errors.New("empty command")
	}
}

// commandLine builds the remote command line for cmd.
func (c *Client) commandLine(cmd Command) (string, error) { return CommandLine(cmd, c.user) }

// Run runs cmd in a new session on the connection and waits for it.
//
// A non-zero exit returns the Result and an *ExitError.
//
// When ctx ends first, Run stops the remote command and returns (within
// about a second, at most about four) the output so far with an error
// wrapping ctx.Err(). The session is always closed. Stopping the command:
//
//   - With Sudo under a non-root login, the command runs as root: the
//     login user's signals reach sudo, which relays them to the command
//     alone, so its children would run on. If this Run is the only one
//     active on the Client, one new session runs a constant, trusted sh
//     script (cleanupScript) through sudo first, which ends every process
//     of the connection's other sessions (see below); signals follow only
//     if the command still runs 250 ms later.
//   - Otherwise the session is sent SIGTERM as a signal request with
//     want-reply set, so sshd says whether it delivered it. When it did
//     (non-root logins: sshd signals the session's process group), SIGKILL
//     follows 250 ms later if the command still runs, and the session is
//     closed.
//   - When sshd refuses it — OpenSSH up to at least 9.2 refuses session
//     signals for root logins ("session signalling requires privilege
//     separation") and for ForceCommand sessions — the session is closed
//     and, if this Run is the only one active on the Client, one new
//     session on the same connection runs cleanupScript as the login
//     user. The script finds the connection's sshd process (the parent of
//     its own session's leader; it does nothing unless that is sshd) and
//     ends, SIGSTOP, SIGTERM, SIGCONT and 200 ms later SIGKILL, every
//     process of every other session of the connection (each session's
//     first process is a child of that sshd process and leads its own
//     session): by session id and by descent, found before the first
//     signal, so orphans are reached too. Behind a ForceCommand that runs
//     the command through a shell of the same session the script runs
//     the same way and reaches the forced commands and all they started.
//     The command line of the cancelled command itself is unchanged. New
//     Runs on the Client wait while the cleanup runs; it is bounded by 2 s
//     and best-effort (its errors are ignored). It is skipped when other
//     Runs are active, since it would kill their commands too: those
//     cancelled commands are then left to the refused signals, and run on
//     until they end or write to their closed output. Processes that left
//     the session (setsid, daemons) and are no longer descendants of it
//     are not reached.
//   - When sshd does not answer within 500 ms, SIGKILL is sent 250 ms
//     later and the session is closed, as for a delivered SIGTERM.
func (c *Client) Run(ctx context.Context, cmd Command) (*Result, error) {
	start := time.Now()
	res := &Result{ExitStatus: -1}
	line, err := c.commandLine(cmd)
	if err != nil {
		return res, errorf(c.name, "%w", err)
	}
	ctxErr := func() error { return errorf(c.name, "%w", ctx.Err()) }

	// Counted as active (see the cancel cleanup), after any cleanup.
	if c.enter(ctx) != nil {
		return res, ctxErr()
	}
	defer c.leave()

	// A slot, so that parallel Runs never exceed sshd's MaxSessions.
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return res, ctxErr()
	}
	release := func() { <-c.sem }

	// Opening a session waits for the server; do it under ctx.
	sess, err := c.openSessionCtx(ctx, release)
	if err != nil {
		if ctx.Err() != nil {
			return res, ctxErr()
		}
		return res, errorf(c.name, "opening session: %w", err)
	}
	// The slot is held until the session is closed, or, when ctx ends
	// before sshd answers the exec request, until it answers (see below).
	holdSlot := true
	defer func() {
		if holdSlot {
			release()
		}
	}()
	defer sess.Close()

	limit := cmd.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	outBuf, errBuf := syncBuffer{limit: limit}, syncBuffer{limit: limit}
	var userMu sync.Mutex // the caller may pass one writer for both
	sess.Stdout = teeWriter(&outBuf, cmd.Stdout, &userMu)
	sess.Stderr = teeWriter(&errBuf, cmd.Stderr, &userMu)
	var stdin io.WriteCloser
	if cmd.Stdin != nil {
		// Our own copy, so Wait never waits for the caller's reader.
		if stdin, err = sess.StdinPipe(); err != nil {
			return res, errorf(c.name, "%w", err)
		}
	}
	// Start waits for sshd's answer to the exec request: under ctx, so a
	// stalled server cannot hold the Run. When ctx ends first the session
	// is closed; Start returns once the server answers or the connection
	// ends, and only then is the slot released, so the sessions open on
	// the server never exceed maxSessions. A command the server starts
	// after all finds its session closed.
	started := make(chan error, 1)
	go func() { started <- sess.Start(line) }()
	select {
	case err := <-started:
		if err != nil {
			return res, errorf(c.name, "starting command: %w", err)
		}
	case <-ctx.Done():
		sess.Close()
		holdSlot = false
		go func() {
			<-started
			release()
		}()
		res.Duration = time.Since(start)
		return res, ctxErr()
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, cmd.Stdin)
			stdin.Close()
		}()
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()

	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		c.stop(sess, done, cmd.Sudo && c.user != "root")
		res.output(&outBuf, &errBuf)
		res.Duration = time.Since(start)
		return res, ctxErr()
	}
	res.output(&outBuf, &errBuf)
	res.Duration = time.Since(start)

	var ee *gossh.ExitError
	var missing *gossh.ExitMissingError
	switch {
	case werr == nil:
		res.ExitStatus = 0
		return res, nil
	case errors.As(werr, &ee):
		res.ExitStatus = ee.ExitStatus()
		xe := &ExitError{Name: c.name, Status: res.ExitStatus, Stderr: string(res.Stderr), Signal: ee.Signal()}
		if cmd.Sudo && c.user != "root" && sudoWantsPassword(res.Stderr) {
			return res, &sudoPasswordError{name: c.name, user: c.user, exit: xe}
		}
		return res, xe
	case errors.As(werr, &missing):
		return res, errorf(c.name, "the connection ended before the command reported its exit status")
	default:
		return res, errorf(c.name, "%w", werr)
	}
}

// stop ends the command of a cancelled Run and closes its session (see
// Run); done receives the result of sess.Wait.
//
// With sudo (the command runs as root under a non-root login) the cleanup
// comes first, through sudo: the login user's SIGTERM reaches only sudo,
// which relays it to the command alone, so the command's children would
// outlive it, orphaned. Signals follow when the command still runs (sudo
// refused the cleanup's sh, or other Runs are active).
func (c *Client) stop(sess *gossh.Session, done <-chan error, sudo bool) {
	if sudo && c.beginCleanup() {
		c.cleanup(true)
		c.endCleanup()
		t := time.NewTimer(termGrace)
		select {
		case <-done:
			t.Stop()
			sess.Close()
			return
		case <-t.C:
		}
	}
	ended := false
	answer := signal(sess, gossh.SIGTERM)
	if answer == signalRefused {
		select {
		case <-done: // it ended just now ("no pid for session")
			ended = true
		default:
		}
	} else {
		// Delivered, or no answer (SIGKILL then, in case), or closing.
		t := time.NewTimer(termGrace)
		select {
		case <-done:
			ended = true
		case <-t.C:
			_ = sess.Signal(gossh.SIGKILL)
		}
		t.Stop()
	}
	sess.Close()
	if answer == signalRefused && !ended && c.beginCleanup() {
		c.cleanup(false)
		c.endCleanup()
	}
	// Let Wait and the output copies finish. A healthy server closes the
	// channel at once, or, while the command still runs (signals refused,
	// no cleanup), as soon as it ends. Bounded, so neither can hold us.
	if !ended {
		t := time.NewTimer(time.Second)
		select {
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
}

// openSession opens a session, retrying (bounded, under ctx) while sshd
// refuses it: sshd frees a closed session's slot a moment after the close,
// and a server may set MaxSessions below our own limit.
// openSessionCtx opens a session but gives up when ctx ends; a session the
// server grants after that is closed. When it returns an error, failed (if
// set) is called exactly once: at once, or after a late session is closed.
func (c *Client) openSessionCtx(ctx context.Context, failed func()) (*gossh.Session, error) {
	type opened struct {
		s   *gossh.Session
		err error
	}
	och := make(chan opened, 1)
	go func() {
		s, err := c.openSession(ctx)
		och <- opened{s, err}
	}()
	select {
	case o := <-och:
		if o.err != nil && failed != nil {
			failed()
		}
		return o.s, o.err
	case <-ctx.Done():
		go func() {
			if o := <-och; o.s != nil {
				o.s.Close()
			}
			if failed != nil {
				failed()
			}
		}()
		return nil, ctx.Err()
	}
}

func (c *Client) openSession(ctx context.Context) (*gossh.Session, error) {
	var err error
	for attempt := 1; attempt <= 20; attempt++ {
		var s *gossh.Session
		s, err = c.gc.NewSession()
		var oce *gossh.OpenChannelError
		if err == nil || !errors.As(err, &oce) || oce.Reason != gossh.ConnectionFailed {
			return s, err
		}
		t := time.NewTimer(time.Duration(attempt) * 10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return nil, fmt.Errorf("%w (sshd keeps refusing new sessions; is MaxSessions very low?)", err)
}

func sudoWantsPassword(stderr []byte) bool {
	s := string(stderr)
	return strings.Contains(s, "sudo: a password is required") ||
		strings.Contains(s, "sudo: a terminal is required") ||
		strings.Contains(s, "sudo: no tty present")
}

// summarize returns the first meaningful line of stderr, shortened.
func summarize(s string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if len(l) > 200 {
			l = l[:200] + "..."
		}
		return l
	}
	return ""
}

func (r *Result) output(out, err *syncBuffer) {
	r.Stdout, r.StdoutTruncated = out.Bytes()
	r.Stderr, r.StderrTruncated = err.Bytes()
}

// syncBuffer keeps the first limit bytes written to it.
type syncBuffer struct {
	mu        sync.Mutex
	b         bytes.Buffer
	limit     int64
	truncated bool
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := p
	if room := s.limit - int64(s.b.Len()); int64(len(p)) > room {
		keep = p[:max(room, 0)]
		s.truncated = true
	}
	s.b.Write(keep)
	return len(p), nil
}

func (s *syncBuffer) Bytes() ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes()), s.truncated
}

type tee struct {
	buf  *syncBuffer
	user io.Writer
	mu   *sync.Mutex
}

func teeWriter(buf *syncBuffer, user io.Writer, mu *sync.Mutex) io.Writer {
	if user == nil {
		return buf
	}
	return &tee{buf: buf, user: user, mu: mu}
}

// Write captures p, then streams it; a failing caller writer does not
// lose the captured output or stop the command.
func (t *tee) Write(p []byte) (int, error) {
	t.buf.Write(p)
	t.mu.Lock()
	_, _ = t.user.Write(p)
	t.mu.Unlock()
	return len(p), nil
}
