//go:build !unix

package peertest

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing where there are no POSIX process groups.
func setProcessGroup(cmd *exec.Cmd) {}

// killProcessGroup kills only the peer itself where there are no POSIX
// process groups.
func killProcessGroup(p *os.Process) error {
	if p == nil {
		return nil
	}
	return p.Kill()
}
