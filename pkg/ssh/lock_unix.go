//go:build unix

package ssh

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on f, waiting at most about 5 seconds.
func lockFile(f *os.File) error {
	for i := 0; i < 500; i++ {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
			time.Sleep(10 * time.Millisecond)
		default:
			return err
		}
	}
	return errors.New("timed out waiting for the file lock")
}

func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
