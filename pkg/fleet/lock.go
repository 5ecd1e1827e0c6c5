package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bbbfleet/bbbfleet/internal/flock"
)

// LockHolder is who holds the fleet lock; it is written into the lock file.
type LockHolder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	User    string    `json:"user,omitempty"`
	Since   time.Time `json:"since"`
}

// LockHeldError says another run holds the fleet lock.
type LockHeldError struct {
	Path   string
	Holder *LockHolder // nil when the file could not be read
	Waited time.Duration
}

func (e *LockHeldError) Error() string {
	who := "another bbbfleet run"
	if h := e.Holder; h != nil {
		who = fmt.Sprintf("pid %d (%s) since %s", h.PID, h.Command, h.Since.Local().Format("2006-01-02 15:04:05"))
	}
	if e.Waited > 0 {
		return fmt.Sprintf("the fleet lock %s is still held by %s after waiting %s", e.Path, who, e.Waited)
	}
	return fmt.Sprintf("the fleet lock %s is held by %s", e.Path, who)
}

// Lock is the fleet lock, held until Release.
type Lock struct {
	f    *os.File
	Path string
}

// AcquireLock takes the fleet lock at path (an flock'd file; the directory
// is created 0700 when missing). wait 0 fails at once with *LockHeldError
// when another run holds it; otherwise it waits up to wait. The holder
// (pid, command, user, since) is written into the file for the next run
// to name.
func AcquireLock(ctx context.Context, path, command string, wait time.Duration) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("fleet lock: %w", err)
	}
	f, err := flock.Open(path, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fleet lock: %w", err)
	}
	shareFile(f, filepath.Dir(path))
	if wait <= 0 {
		err = flock.TryLock(f, true)
	} else {
		wctx, cancel := context.WithTimeout(ctx, wait)
		err = flock.Lock(wctx, f, true)
		cancel()
		if err != nil && ctx.Err() != nil {
			f.Close()
			return nil, ctx.Err()
		}
	}
	if err != nil {
		defer f.Close()
		if errors.Is(err, flock.ErrWouldBlock) || errors.Is(err, context.DeadlineExceeded) {
			return nil, &LockHeldError{Path: path, Holder: readHolder(f), Waited: wait}
		}
		return nil, fmt.Errorf("fleet lock %s: %w", path, err)
	}
	h := LockHolder{PID: os.Getpid(), Command: command, User: currentUser(), Since: time.Now().UTC().Truncate(time.Second)}
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f, Path: path}, nil
}

func readHolder(f *os.File) *LockHolder {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 64<<10))
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	var h LockHolder
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

// Release lets the lock go (the holder line stays; it is overwritten by the
// next holder).
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	flock.Unlock(l.f)
	l.f.Close()
	l.f = nil
}

// Guard is what every changing run holds before it looks at or touches a
// server: the audit log, open for appending, and the fleet lock. Commands
// and the schedule daemon take it the same way.
type Guard struct {
	Audit *AuditLog
	Lock  *Lock
}

// OpenGuard opens the audit log (an *AuditUnwritableError when it cannot
// be written: refuse to change anything) and takes the fleet lock (a
// *LockHeldError naming the holder, after waiting up to waitLock).
// command is the run's command line as shown in both (no secret in it).
func OpenGuard(ctx context.Context, cfg *Config, command string, waitLock time.Duration) (*Guard, error) {
	audit, err := OpenAudit(cfg.AuditLogPath(), command)
	if err != nil {
		return nil, err
	}
	lock, err := AcquireLock(ctx, cfg.LockPath(), command, waitLock)
	if err != nil {
		audit.Close()
		return nil, err
	}
	return &Guard{Audit: audit, Lock: lock}, nil
}

// Close releases the lock and closes the audit log; it returns the audit
// log's first write error, if any. Closing again does nothing more.
func (g *Guard) Close() error {
	g.Lock.Release()
	return g.Audit.Close()
}
