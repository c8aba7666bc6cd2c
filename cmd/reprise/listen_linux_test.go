package main

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestDeferAccept: serve's listener hands over a connection only once the
// client has sent something, so a handshake's first read finds the
// ClientHello.
func TestDeferAccept(t *testing.T) {
	ln, err := (&net.ListenConfig{KeepAlive: -1, Control: deferAccept}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl := ln.(*net.TCPListener)

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Silent: not accepted (waiting cannot make accept return early).
	tl.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if conn, err := tl.Accept(); !errors.Is(err, os.ErrDeadlineExceeded) {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("Accept of a connection that sent nothing: %v, want a timeout", err)
	}
	// Its first bytes arrive: accepted, with the bytes ready to read.
	if _, err := c.Write([]byte{0x16, 3, 1}); err != nil {
		t.Fatal(err)
	}
	tl.SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := tl.Accept()
	if err != nil {
		t.Fatalf("Accept after the client wrote: %v", err)
	}
	defer conn.Close()
	var b [3]byte
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(b[:]); n != 3 || err != nil {
		t.Fatalf("read %d bytes, %v", n, err)
	}
}
