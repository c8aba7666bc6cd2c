//go:build unix

package reprise

import (
	"net"
	"syscall"
	"testing"
)

// TestListenNoKeepAlive checks that Listen's accepted connections do not
// have TCP keep-alive on, as net.Listen's would: Listen documents that
// deadlines, not keep-alive probes, bound an idle peer.
func TestListenNoKeepAlive(t *testing.T) {
	ln, err := Listen("tcp", "127.0.0.1:0", testServerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*Conn).NetConn().(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var keepAlive, noDelay int
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		keepAlive, sockErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		if sockErr == nil {
			noDelay, sockErr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if sockErr != nil {
		t.Fatal(sockErr)
	}
	if keepAlive != 0 {
		t.Errorf("SO_KEEPALIVE = %d on an accepted connection, want 0", keepAlive)
	}
	// TCP_NODELAY stays as Go sets it: a handshake flight is one write,
	// and Nagle's algorithm would only delay the next one.
	if noDelay == 0 {
		t.Errorf("TCP_NODELAY is off on an accepted connection, want Go's default (on)")
	}
}
