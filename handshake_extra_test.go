package reprise

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

func TestClientCertificates12(t *testing.T) {
	for _, tc := range []struct {
		name       string
		auth       ClientAuthType
		sendCert   bool
		wantErr    bool
		wantVerify bool
	}{
		{"request, none sent", RequestClientCert, false, false, false},
		{"request, sent", RequestClientCert, true, false, false},
		{"require, none sent", RequireAnyClientCert, false, true, false},
		{"require and verify, sent", RequireAndVerifyClientCert, true, false, true},
		{"require and verify, none sent", RequireAndVerifyClientCert, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.ClientAuth = tc.auth
			scfg.ClientCAs = peertest.CAPool(t)
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = VersionTLS12
			if tc.sendCert {
				ccfg.Certificates = []Certificate{testClientCert(t)}
			}
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if tc.wantErr {
				var ae *AlertError
				if serr == nil || !errors.As(cerr, &ae) || !ae.Received || ae.Alert != AlertHandshakeFailure {
					t.Fatalf("want handshake_failure: client %v, server %v", cerr, serr)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			exchange(t, client, server)
			st := server.ConnectionState()
			if got := len(st.PeerCertificates) > 0; got != tc.sendCert {
				t.Fatalf("server saw certificate: %v", got)
			}
			if got := len(st.VerifiedChains) > 0; got != tc.wantVerify {
				t.Fatalf("verified chains: %v", got)
			}
		})
	}
}

// TestClientCertificateUntrusted: a certificate from an unknown CA is
// refused with unknown_ca... or bad_certificate for a chain that does not
// verify for client use.
func TestClientCertificateUntrusted(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.ClientAuth = RequireAndVerifyClientCert // ClientCAs nil: system roots
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	ccfg.Certificates = []Certificate{testClientCert(t)}
	_, _, cerr, _ := handshakePair(t, ccfg, scfg)
	var ae *AlertError
	if !errors.As(cerr, &ae) || !ae.Received || ae.Alert != AlertUnknownCA {
		t.Fatalf("client error %v", cerr)
	}
}

func TestALPN12(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.NextProtos = []string{"h2", "http/1.1"}
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	ccfg.NextProtos = []string{"http/1.1", "h2"}
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if a, b := client.ConnectionState().NegotiatedProtocol, server.ConnectionState().NegotiatedProtocol; a != "h2" || b != "h2" {
		t.Fatalf("ALPN %q %q", a, b)
	}
	ccfg.NextProtos = []string{"spdy/3"}
	_, _, cerr, _ = handshakePair(t, ccfg, scfg)
	var ae *AlertError
	if !errors.As(cerr, &ae) || ae.Alert != AlertNoApplicationProtocol {
		t.Fatalf("want no_application_protocol, got %v", cerr)
	}
}

// tcpPair returns the two ends of a loopback TCP connection, closed when
// the test ends: for tests of deadlines, which memPipe does not keep.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// TestHandshakeDeadline: a peer that never speaks cannot hold a
// handshake past the connection's deadline.
func TestHandshakeDeadline(t *testing.T) {
	_, raw := tcpPair(t)
	srv := Server(raw, testServerConfig(t))
	srv.SetDeadline(time.Now().Add(100 * time.Millisecond))
	err := srv.Handshake()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
}

// gatedConn passes writes through until split is set; then it writes the
// first three bytes of the next write, waits for release, and writes the
// rest, so that the peer sees a record arrive in two parts with a pause.
type gatedConn struct {
	net.Conn
	split   chan struct{} // closed: split the next write
	release chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	select {
	case <-g.split:
	default:
		return g.Conn.Write(p)
	}
	n, err := g.Conn.Write(p[:3])
	if err != nil {
		return n, err
	}
	<-g.release
	m, err := g.Conn.Write(p[3:])
	return n + m, err
}

// TestReadTimeoutInsideRecord: a read deadline that passes while a record
// is half received is a timeout like any other, and nothing is lost: the
// next Read returns the record's data once the rest arrives.
func TestReadTimeoutInsideRecord(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			rawClient, rawServer := tcpPair(t)
			gate := &gatedConn{Conn: rawServer, split: make(chan struct{}), release: make(chan struct{})}
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = vers
			ccfg.SessionTicketsDisabled = true // no tickets in flight after the handshake
			scfg := testServerConfig(t)
			scfg.SessionTicketsDisabled = true
			client, server, cerr, serr := handshakeConns(t, rawClient, gate, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}

			close(gate.split)
			errc := make(chan error, 1)
			go func() { _, err := server.Write([]byte("hello")); errc <- err }()
			client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			buf := make([]byte, 16)
			_, err := client.Read(buf)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("first read: got %v, want a timeout", err)
			}
			close(gate.release)
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, err := client.Read(buf)
			if err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("read after the timeout: %q, %v; want \"hello\"", buf[:n], err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLargeWrites: application data is split into records of at most
// 2^14 bytes and reassembled in order.
func TestLargeWrites(t *testing.T) {
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	client, server, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640 KB
	go func() { client.Write(data); client.CloseWrite() }()
	var got bytes.Buffer
	buf := make([]byte, 10000)
	for {
		n, err := server.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d bytes, want %d", got.Len(), len(data))
	}
}

// TestRenegotiationRefused: openssl s_server asks for renegotiation ("R"
// on its stdin sends HelloRequest); RFC 5746 lets us refuse with a
// no_renegotiation warning, and the connection carries on.
func TestRenegotiationRefused(t *testing.T) {
	peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	addr, proc := peertest.OpenSSLServer(t, "-cert", pc.CertFile, "-key", pc.KeyFile, "-tls1_2")
	ccfg := testClientConfig(t)
	c, err := Dial("tcp", addr, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var events []string
	_ = events
	if err := proc.Send("R\n"); err != nil {
		t.Fatal(err)
	}
	// The HelloRequest arrives; Read answers it and goes on waiting for
	// data, which s_server echoes from its stdin.
	time.Sleep(200 * time.Millisecond)
	if err := proc.Send("after\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, err := c.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "after") {
		t.Fatalf("read %q, %v\n%s", buf[:n], err, proc.Output())
	}
}

// TestServerRefusesRenegotiation: a ClientHello after the handshake gets
// a no_renegotiation warning (RFC 5746, Section 4.4) and the connection
// carries on.
func TestServerRefusesRenegotiation(t *testing.T) {
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	var alerts []string
	ccfg.Tracer = func(ev TraceEvent) {
		if ev.Message == "Alert" && !ev.Sent {
			alerts = append(alerts, ev.Detail)
		}
	}
	client, server, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	hs := &clientHello{c: client}
	if err := hs.build(); err != nil {
		t.Fatal(err)
	}
	raw, err := hs.hello.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.writeHandshakeMsg(raw); err != nil {
		t.Fatal(err)
	}
	client.flush()
	client.Write([]byte("after"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "after" {
		t.Fatalf("server read %q, %v", buf, err)
	}
	server.Write([]byte("reply"))
	if _, err := io.ReadFull(client, buf); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0] != "no_renegotiation" {
		t.Fatalf("client received alerts %q", alerts)
	}
}

// fragmentingConn splits every plaintext handshake record it writes into
// records of one byte of payload, as a peer may (RFC 5246, Section
// 6.2.1). Records after a change_cipher_spec are protected and pass as
// they are.
type fragmentingConn struct {
	net.Conn
	protected *bool
}

func (f fragmentingConn) Write(p []byte) (int, error) {
	var out []byte
	for rest := p; len(rest) >= 5; {
		n := int(rest[3])<<8 | int(rest[4])
		rec := rest[:5+n]
		rest = rest[5+n:]
		if rec[0] == 20 {
			*f.protected = true
		}
		if rec[0] != 22 || n == 0 || *f.protected {
			out = append(out, rec...)
			continue
		}
		for _, b := range rec[5:] {
			out = append(out, rec[0], rec[1], rec[2], 0, 1, b)
		}
	}
	if _, err := f.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// TestFragmentedHandshake: the client's plaintext handshake records arrive
// one byte each; the server reassembles them.
func TestFragmentedHandshake(t *testing.T) {
	for _, v := range []uint16{VersionTLS12, VersionTLS13} {
		a, b := memPipe()
		ccfg := testClientConfig(t)
		ccfg.MaxVersion = v
		client := Client(fragmentingConn{a, new(bool)}, ccfg)
		server := Server(b, testServerConfig(t))
		errc := make(chan error, 1)
		go func() { errc <- server.Handshake() }()
		if err := client.Handshake(); err != nil {
			t.Fatalf("%s client: %v", VersionName(v), err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("%s server: %v", VersionName(v), err)
		}
	}
}
