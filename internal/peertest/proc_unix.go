//go:build unix

package peertest

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the peer in its own process group, so that killing
// the group also ends anything the peer started (shell wrappers, helpers).
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup sends SIGKILL to the peer's whole process group.
func killProcessGroup(p *os.Process) error {
	if p == nil {
		return nil
	}
	// A negative pid addresses the process group (kill(2)); with Setpgid
	// the group id equals the leader's pid.
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}
