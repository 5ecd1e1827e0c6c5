package sshtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Stopped reports whether the host's sshd is stopped (Stop was called).
func (h *Host) Stopped() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopped
}

// Restart starts a stopped host's sshd again with the same address, port,
// host keys and config (a machine coming back after a power-off). It does
// nothing when sshd runs.
func (h *Host) Restart() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil || !h.stopped {
		return nil
	}
	before := h.countLog("Server listening on")
	var stderr bytes.Buffer
	cmd := exec.Command(SSHD, "-D", "-e", "-f", h.Config, "-E", h.LogFile)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %v", h.Name, err)
	}
	h.cmd, h.PID, h.done = cmd, cmd.Process.Pid, make(chan struct{})
	h.stopped = false
	go func(done chan struct{}) { cmd.Wait(); close(done) }(h.done)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-h.done:
			log, _ := os.ReadFile(h.LogFile)
			h.stopped = true
			return fmt.Errorf("%s: sshd exited on restart: %s%s", h.Name, stderr.String(), lastLines(string(log), 5))
		default:
		}
		if h.countLog("Server listening on") > before {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s: sshd not listening again after 10s", h.Name)
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
