package sshtest

import (
	"slices"
	"syscall"
)

// DropConnections kills every process sshd started (connections,
// sessions) but keep and its descendants, leaving the listening sshd up:
// the clients see their connections break and can dial again. keep stands
// for a process the session detached that a real server would have
// re-parented (a systemd unit).
func (h *Host) DropConnections(keep int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil || h.stopped {
		return
	}
	spare := append(descendants(keep), keep)
	for _, pid := range descendants(h.PID) {
		if !slices.Contains(spare, pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
