//go:build unix

package fleet

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts a hook in its own process group, so that a hook
// killed at its deadline takes its children (a provider CLI's helpers)
// along.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
