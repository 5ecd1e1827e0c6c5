package sshtest

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Exec runs cmd in a new session of c and returns its stdout, its stderr
// and its exit status; t fails fatally when the session cannot be opened
// or ends without an exit status.
func Exec(t testing.TB, c *ssh.Client, cmd string) (stdout, stderr string, status int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var o, e bytes.Buffer
	s.Stdout, s.Stderr = &o, &e
	err = s.Run(cmd)
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return o.String(), e.String(), 0
	case errors.As(err, &ee):
		return o.String(), e.String(), ee.ExitStatus()
	}
	t.Fatalf("%s: %v", cmd, err)
	return "", "", -1
}

// Processes returns the pids whose command line is exactly argv. It scans
// /proc rather than counting sshd's children: a surviving remote command
// is reparented to PID 1 once sshd lets go of it.
func Processes(argv ...string) []int {
	want := strings.Join(argv, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && string(b) == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Poll calls cond every 25 ms until it holds (true) or max has passed
// (false).
func Poll(max time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(max); ; time.Sleep(25 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// GoroutinesBackTo fails t, with every goroutine's stack, unless the
// goroutine count drops to baseline within 5 s.
func GoroutinesBackTo(t testing.TB, baseline int) {
	t.Helper()
	var n int
	if !Poll(5*time.Second, func() bool { n = runtime.NumGoroutine(); return n <= baseline }) {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines %d after, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
