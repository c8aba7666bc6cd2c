package peertest

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// RedisServer starts redis-server on a free loopback port with a
// configuration of its own: nothing saved to disk (--save "", no
// append-only file), its working directory a test temporary directory. It
// is stopped by PID when the test ends. extra are more "--option value"
// arguments.
func RedisServer(t testing.TB, extra ...string) (addr string, p *Process) {
	t.Helper()
	dir := t.TempDir()
	return startServer(t, "redis-server", func(addr string) ([]string, string, string) {
		return redisArgs(addr, dir, extra), "Ready to accept connections", ""
	}, false)
}

// RedisServerAt starts redis-server on addr, for a test that restarts
// Redis where its clients expect it.
func RedisServerAt(t testing.TB, addr string, extra ...string) *Process {
	t.Helper()
	return Start(t, "redis-server", redisArgs(addr, t.TempDir(), extra), "Ready to accept connections")
}

func redisArgs(addr, dir string, extra []string) []string {
	host, port, _ := net.SplitHostPort(addr)
	return append([]string{
		"--port", port, "--bind", host,
		"--save", "", "--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "", // log to stdout, where Start looks for the ready line
	}, extra...)
}

// Signal sends sig to the process (SIGSTOP to freeze a peer, SIGCONT to
// let it go on).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill kills the process and waits for it to exit.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	p.stop()
}
