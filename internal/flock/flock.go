// Package flock is the one advisory file lock of bbbfleet (flock(2)): the
// secrets file, known_hosts appends, the simulator's state and the fleet's
// run lock all take it through here.
//
// It must not know what it locks.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrWouldBlock is returned by TryLock when another holder has the lock.
var ErrWouldBlock = errors.New("lock held by another process")

// Open opens (creating with perm) a lock file without following a symbolic
// link at its final component, so a planted link cannot make a privileged
// run create or truncate a file elsewhere.
func Open(path string, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|oNoFollow, perm)
}

// TryLock takes the lock on f without waiting (ErrWouldBlock when held).
func TryLock(f *os.File, exclusive bool) error { return tryLock(f, exclusive) }

// Lock takes the lock on f, waiting until ctx ends (polling every 10 ms, so
// a cancelled wait returns promptly).
func Lock(ctx context.Context, f *os.File, exclusive bool) error {
	for {
		err := tryLock(f, exclusive)
		if !errors.Is(err, ErrWouldBlock) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the lock on %s: %w", f.Name(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// LockTimeout is Lock bounded by d.
func LockTimeout(f *os.File, exclusive bool, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return Lock(ctx, f, exclusive)
}

// Unlock releases the lock on f (closing f releases it too).
func Unlock(f *os.File) { unlock(f) }

// LockPath opens path as Open does and takes an exclusive lock on it within
// d; unlock releases the lock and closes the file. The file is left in place
// (removing a lock file races with a process that just opened it).
func LockPath(path string, perm os.FileMode, d time.Duration) (unlock func(), err error) {
	f, err := Open(path, perm)
	if err != nil {
		return nil, err
	}
	if err := LockTimeout(f, true, d); err != nil {
		f.Close()
		return nil, err
	}
	return func() { Unlock(f); f.Close() }, nil
}
