package reprise

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSessionUnmarshal: sessions come out of tickets, so their decoder
// sees attacker-chosen bytes once a ticket key leaks or a store is
// tampered with. Whatever decodes must re-encode to the same bytes.
func FuzzSessionUnmarshal(f *testing.F) {
	s := &Session{version: VersionTLS12, cipherSuite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		secret: bytes.Repeat([]byte{1}, 48), ems: true, id: bytes.Repeat([]byte{2}, 32),
		created: time.Unix(1700000000, 0), lifetime: time.Hour, serverName: "localhost",
		alpn: "h2", peerCerts: [][]byte{{1, 2, 3}}, ticket: []byte{9, 9}, isClient: true}
	enc, _ := s.MarshalBinary()
	f.Add(enc)
	f.Add([]byte{0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Session
		if s.UnmarshalBinary(data) != nil {
			return
		}
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}

// rwConn is a net.Conn that reads a fixed input and discards writes.
type rwConn struct {
	io.Reader
	memAddr
}

func (c *rwConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *rwConn) Close() error                       { return nil }
func (c *rwConn) LocalAddr() net.Addr                { return memAddr{} }
func (c *rwConn) RemoteAddr() net.Addr               { return memAddr{} }
func (c *rwConn) SetDeadline(t time.Time) error      { return nil }
func (c *rwConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *rwConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzServerHandshake feeds arbitrary bytes to a server as the client's
// side of the connection: the handshake must end with an error, never a
// panic or a hang.
func FuzzServerHandshake(f *testing.F) {
	// Seed with a real client's first flight.
	a, b := memPipe()
	go func() {
		c := Client(a, &Config{InsecureSkipVerify: true, ServerName: "localhost"})
		c.Handshake()
	}()
	buf := make([]byte, 4096)
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _ := b.Read(buf)
	a.Close()
	f.Add(buf[:n])
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	cfg := testServerConfig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Server(&rwConn{Reader: bytes.NewReader(data)}, cfg)
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake succeeded on fuzz input")
		}
	})
}

// FuzzClientHandshake feeds arbitrary bytes to a client as the server's
// answer.
func FuzzClientHandshake(f *testing.F) {
	f.Add([]byte{22, 3, 3, 0, 4, 2, 0, 0, 0})
	cfg := &Config{InsecureSkipVerify: true, ServerName: "localhost"}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Client(&rwConn{Reader: bytes.NewReader(data)}, cfg)
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake succeeded on fuzz input")
		}
	})
}
