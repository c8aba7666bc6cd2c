package reprise

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/peertest"
)

// countingConn counts the Read calls that returned bytes and the Write
// calls made on a connection: each is one read(2) or write(2) on a TCP
// socket.
type countingConn struct {
	net.Conn
	reads, writes int
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.reads++
	}
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes++
	return c.Conn.Write(b)
}

// TestServerReadsAndWritesPerFlight counts the transport reads and writes
// of a server handshake against crypto/tls over loopback TCP: each flight
// the client sends at once is one read, however many records it holds,
// and each flight of ours is one write, TLS 1.3 tickets included.
func TestServerReadsAndWritesPerFlight(t *testing.T) {
	cases := []struct {
		name                  string
		vers                  uint16
		resume                bool
		wantReads, wantWrites int
	}{
		// ClientHello; ClientKeyExchange, ChangeCipherSpec and Finished.
		// ServerHello to ServerHelloDone; NewSessionTicket,
		// ChangeCipherSpec and Finished.
		{"tls12-full", VersionTLS12, false, 2, 2},
		// ClientHello; ChangeCipherSpec and Finished. ServerHello to
		// Finished.
		{"tls12-ticket", VersionTLS12, true, 2, 1},
		// ClientHello; ChangeCipherSpec and Finished. ServerHello to
		// Finished, and the tickets.
		{"tls13-full", VersionTLS13, false, 2, 1},
		{"tls13-psk", VersionTLS13, true, 2, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t),
				MinVersion: tc.vers, MaxVersion: tc.vers}
			ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			scfg := testServerConfig(t)
			connections := 1
			if tc.resume {
				connections = 2
			}
			var reads, writes int
			for i := range connections {
				craw, sraw := tcpPair(t)
				counted := &countingConn{Conn: sraw}
				srv := Server(counted, scfg)
				cli := tls.Client(craw, ccfg)
				done := make(chan error, 1)
				go func() {
					err := cli.Handshake()
					if err == nil {
						// Read to the server's close_notify, taking TLS
						// 1.3 tickets on the way.
						var b [1]byte
						cli.Read(b[:])
					}
					done <- err
				}()
				if err := srv.HandshakeContext(context.Background()); err != nil {
					t.Fatalf("connection %d: server: %v", i, err)
				}
				reads, writes = counted.reads, counted.writes
				srv.Close()
				if err := <-done; err != nil {
					t.Fatalf("connection %d: client: %v", i, err)
				}
				if resumed := srv.ConnectionState().DidResume; resumed != (i == 1) {
					t.Fatalf("connection %d: resumed %v", i, resumed)
				}
			}
			if reads != tc.wantReads || writes != tc.wantWrites {
				t.Errorf("server handshake: %d reads and %d writes, want %d and %d", reads, writes, tc.wantReads, tc.wantWrites)
			}
		})
	}
}

// TestCloseAfterResetWritesNothing: once a read finds the connection
// reset by the peer, Close sends no close_notify, a write that could
// only fail.
func TestCloseAfterResetWritesNothing(t *testing.T) {
	craw, sraw := tcpPair(t)
	counted := &countingConn{Conn: sraw}
	srv := Server(counted, testServerConfig(t))
	cli := tls.Client(craw, &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t)})
	done := make(chan error, 1)
	go func() { done <- cli.Handshake() }()
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// SO_LINGER 0: close(2) resets the connection.
	craw.(*net.TCPConn).SetLinger(0)
	craw.Close()
	var b [1]byte
	if _, err := srv.Read(b[:]); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after the peer's reset: got %v, want ECONNRESET", err)
	}
	writes := counted.writes
	srv.Close()
	if counted.writes != writes {
		t.Errorf("Close wrote %d times to a reset connection, want 0", counted.writes-writes)
	}
}

// TestCloseNotifyBeforeFIN: on a socket, Close's close_notify is written
// held for the FIN (MSG_MORE, close_linux.go) and still reaches the peer,
// after the data and before the end of the stream. The client is reprise,
// whose tracer shows the alert received (crypto/tls, like reprise, reads a
// bare FIN at a record boundary as io.EOF too, so EOF alone proves
// nothing).
func TestCloseNotifyBeforeFIN(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			craw, sraw := tcpPair(t)
			if _, ok := sraw.(*net.TCPConn); !ok {
				t.Fatal("tcpPair's server end is not a *net.TCPConn")
			}
			srv := Server(sraw, testServerConfig(t))
			ccfg := testClientConfig(t)
			ccfg.MinVersion, ccfg.MaxVersion = vers, vers
			var closeNotify atomic.Bool
			ccfg.Tracer = func(ev TraceEvent) {
				if ev.Message == "Alert" && !ev.Sent && ev.Detail == alert.CloseNotify.String() {
					closeNotify.Store(true)
				}
			}
			cli := Client(craw, ccfg)
			got := make(chan error, 1)
			go func() {
				data, err := io.ReadAll(cli)
				if err == nil && string(data) != "bye" {
					err = fmt.Errorf("read %q, want %q", data, "bye")
				}
				got <- err
			}()
			if _, err := srv.Write([]byte("bye")); err != nil {
				t.Fatal(err)
			}
			if err := srv.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := <-got; err != nil {
				t.Fatalf("client: %v", err)
			}
			if !closeNotify.Load() {
				t.Fatal("the stream ended without close_notify")
			}
		})
	}
}
