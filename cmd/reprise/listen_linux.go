package main

import (
	"syscall"
)

// deferAcceptSeconds is how long the kernel holds a connection that has
// sent nothing before handing it to accept anyway.
const deferAcceptSeconds = 5

// deferAccept sets TCP_DEFER_ACCEPT on a listening socket, as nginx's
// `listen ... deferred` does: accept returns a connection only once its
// first bytes (a TLS client always speaks first, with its ClientHello)
// have arrived, so the server's first read finds them instead of failing
// with EAGAIN and parking the connection's goroutine until they come.
func deferAccept(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, deferAcceptSeconds)
	})
	if err != nil {
		return err
	}
	return serr
}
