package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServeLogsHTTPClient: a plain HTTP request to `reprise serve` is
// answered at once, after its first five bytes, with an
// unexpected_message alert, and logged as what it is; the connection is
// not held open for the length those bytes happen to declare.
func TestServeLogsHTTPClient(t *testing.T) {
	s := startServe(t)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// "GET /" declares a record of 0x202f bytes; send fewer and keep the
	// connection open.
	c.Write([]byte("GET / HTTP/1.1\r\nHost: example\r\n"))
	c.SetReadDeadline(time.Now().Add(8 * time.Second)) // below serve's 10 s handshake timeout
	got, _ := io.ReadAll(c)
	if want := []byte{21, 3, 3, 0, 2, 2, 10}; !bytes.Equal(got, want) {
		t.Fatalf("serve answered % x, want the unexpected_message alert % x", got, want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.stderr.String(), "client spoke HTTP to a TLS port") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(s.stderr.String(), "client spoke HTTP to a TLS port") {
		t.Fatalf("log:\n%s", s.stderr)
	}
}
