package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// AuditRecord is one line of the audit log: one step outcome on one server.
type AuditRecord struct {
	Time     time.Time `json:"time"`
	User     string    `json:"user"`
	Command  string    `json:"command"`
	Server   string    `json:"server"`
	Action   string    `json:"action"`
	Step     string    `json:"step"`
	Result   string    `json:"result"` // done, failed, skipped, refused, interrupted
	Message  string    `json:"message,omitempty"`
	Meetings []string  `json:"meetings,omitempty"`
	// MeetingsAffected counts the meetings the step affected (warned,
	// waited for, ended) or protected (a refusal).
	MeetingsAffected int   `json:"meetings_affected"`
	DurationMS       int64 `json:"duration_ms"`
}

// AuditLog appends AuditRecords as JSON lines.
type AuditLog struct {
	Path    string
	user    string
	command string

	mu   sync.Mutex
	f    *os.File
	errs []error
}

// AuditUnwritableError says the audit log cannot be written: a changing
// command refuses to run.
type AuditUnwritableError struct {
	Path string
	Err  error
}

func (e *AuditUnwritableError) Error() string {
	return fmt.Sprintf("the audit log %s cannot be written: %v", e.Path, e.Err)
}

func (e *AuditUnwritableError) Unwrap() error { return e.Err }

// OpenAudit opens (creating, 0600, the directory 0700) the audit log for
// appending, without following a symbolic link. command is the run's
// command line as shown (it must hold no secret).
func OpenAudit(path, command string) (*AuditLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &AuditUnwritableError{Path: path, Err: err}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			err = errors.New("it is a symbolic link (refused)")
		}
		return nil, &AuditUnwritableError{Path: path, Err: err}
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &AuditUnwritableError{Path: path, Err: errors.New("not a regular file")}
	}
	shareFile(f, filepath.Dir(path))
	return &AuditLog{Path: path, f: f, user: currentUser(), command: command}, nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		if su := os.Getenv("SUDO_USER"); su != "" && u.Username == "root" {
			return "root (sudo by " + su + ")"
		}
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// Subscriber is the audit log as an operation's subscriber: every step
// outcome (done, failed, skipped) becomes one line.
func (a *AuditLog) Subscriber() Subscriber {
	return func(ev Event) {
		if ev.Phase == PhaseStarted || ev.Phase == PhaseProgress {
			return
		}
		rec := AuditRecord{Time: ev.Time.UTC(), User: a.user, Command: a.command, Server: ev.Server, Action: ev.Action,
			Step: ev.Step, Result: ev.Result, Message: ev.Message, MeetingsAffected: len(ev.Meetings),
			DurationMS: ev.Duration.Milliseconds()}
		if rec.Result == "" {
			rec.Result = string(ev.Phase)
		}
		for _, m := range ev.Meetings {
			rec.Meetings = append(rec.Meetings, m.Name)
		}
		a.Write(rec)
	}
}

// Write appends one record (one write call, so concurrent appends from
// several runs never interleave within a line).
func (a *AuditLog) Write(rec AuditRecord) {
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return
	}
	if _, err := a.f.Write(append(b, '\n')); err != nil {
		a.errs = append(a.errs, err)
	}
}

// Close closes the log and returns the first write error, if any.
func (a *AuditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f != nil {
		a.f.Close()
		a.f = nil
	}
	if len(a.errs) > 0 {
		return &AuditUnwritableError{Path: a.Path, Err: a.errs[0]}
	}
	return nil
}
