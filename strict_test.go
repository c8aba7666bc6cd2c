package reprise

// Tests for the strict handshake core (issue 11): one way out for fatal
// errors, the alert the RFC names for each malformed message, and bounds
// on what a peer can make us hold before anything is authenticated.

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// tapConn records what is written through it.
type tapConn struct {
	net.Conn
	mu  sync.Mutex
	out []byte
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.out = append(c.out, p...)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *tapConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out)
}

// plainRecord frames payload as one unprotected record.
func plainRecord(typ record.ContentType, payload []byte) []byte {
	return append([]byte{byte(typ), 3, 3, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// alertRecord is an unprotected fatal alert record.
func alertRecord(a Alert) []byte { return plainRecord(record.Alert, []byte{2, byte(a)}) }

// testClientHello returns a well-formed ClientHello offering TLS 1.3 and
// 1.2, changed by mod before it is encoded.
func testClientHello(t testing.TB, mod func(*wire.ClientHello)) []byte {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &wire.ClientHello{
		Vers:                VersionTLS12,
		Random:              make([]byte, 32),
		SessionID:           make([]byte, 32),
		CipherSuites:        []uint16{TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		CompressionMethods:  []uint8{0},
		ServerName:          "localhost",
		SupportedGroups:     []uint16{uint16(X25519)},
		PointFormats:        []uint8{0},
		SignatureAlgorithms: []uint16{uint16(ECDSAWithP256AndSHA256)},
		SupportedVersions:   []uint16{VersionTLS13, VersionTLS12},
		KeyShares:           []wire.KeyShare{{Group: uint16(X25519), Data: key.PublicKey().Bytes()}},
		PSKModes:            []uint8{wire.PSKModeDHE},
	}
	if mod != nil {
		mod(h)
	}
	msg, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// serverGets runs a server handshake on input, which the test writes at
// once and then leaves the connection open: a server that waits for more
// than it was given fails the test instead of hanging it. It returns the
// handshake's error and what the server wrote.
func serverGets(t *testing.T, scfg *Config, input []byte) ([]byte, error) {
	t.Helper()
	a, b := memPipe()
	defer a.Close()
	tap := &tapConn{Conn: b}
	server := Server(tap, scfg)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if _, err := a.Write(input); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		return tap.written(), err
	case <-time.After(20 * time.Second):
		a.Close()
		<-errc
		t.Fatalf("the server waited for more than the %d bytes it was sent", len(input))
		return nil, nil
	}
}

// wantAlertSent checks that the handshake failed with alert a, and that the
// alert was the last thing on the wire, unprotected.
func wantAlertSent(t *testing.T, err error, wrote []byte, a Alert) {
	t.Helper()
	wantAlert(t, "server", err, a, false)
	if !bytes.HasSuffix(wrote, alertRecord(a)) {
		t.Fatalf("server wrote % x, want it to end with the %v alert", wrote, a)
	}
}

// ---- 1. Fatal errors, one way out --------------------------------------

// TestNothingAfterFatalAlert: after a fatal alert is sent, or received,
// nothing more goes on the wire: not close_notify from Close, not data
// from Write, not a KeyUpdate (RFC 8446, Section 6.2; RFC 5246, Section
// 7.2.2). Both ends' errors name the alert. The fatal errors are the
// post-handshake ones: a change_cipher_spec after Finished, a malformed
// KeyUpdate, an oversized record, a malformed alert.
func TestNothingAfterFatalAlert(t *testing.T) {
	sealed := func(typ record.ContentType, payload []byte) func(*Conn, net.Conn) {
		return func(client *Conn, _ net.Conn) {
			client.outMu.Lock()
			client.writeRecordLocked(typ, payload)
			client.outMu.Unlock()
		}
	}
	raw := func(b []byte) func(*Conn, net.Conn) {
		return func(_ *Conn, transport net.Conn) { transport.Write(b) }
	}
	for _, tc := range []struct {
		name   string
		vers   uint16
		inject func(client *Conn, transport net.Conn)
		want   Alert
	}{
		{"TLS1.2/change_cipher_spec after Finished", VersionTLS12, sealed(record.ChangeCipherSpec, []byte{1}), AlertUnexpectedMessage},
		{"TLS1.3/change_cipher_spec after Finished", VersionTLS13, sealed(record.ChangeCipherSpec, []byte{1}), AlertUnexpectedMessage},
		{"TLS1.3/malformed KeyUpdate", VersionTLS13, sealed(record.Handshake, []byte{wire.TypeKeyUpdate, 0, 0, 1, 7}), AlertIllegalParameter},
		{"TLS1.2/record over 2^14+2048", VersionTLS12, raw([]byte{23, 3, 3, 0x48, 0x01}), AlertRecordOverflow},
		{"TLS1.3/record over 2^14+256", VersionTLS13, raw(append([]byte{23, 3, 3, 0x41, 0x01}, make([]byte, 0x4101)...)), AlertRecordOverflow},
		{"TLS1.2/one-byte alert", VersionTLS12, sealed(record.Alert, []byte{2}), AlertDecodeError},
		{"TLS1.3/one-byte alert", VersionTLS13, sealed(record.Alert, []byte{2}), AlertDecodeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := memPipe()
			ctap, stap := &tapConn{Conn: a}, &tapConn{Conn: b}
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = tc.vers
			client, server, cerr, serr := handshakeConns(t, ctap, stap, ccfg, testServerConfig(t))
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			exchange(t, client, server)
			tc.inject(client, a)

			_, err := server.Read(make([]byte, 8))
			wantAlert(t, "server Read", err, tc.want, false)
			sentByServer := len(stap.written())
			_, err = server.Write([]byte("more"))
			wantAlert(t, "server Write", err, tc.want, false)
			if err := server.SendKeyUpdate(false); tc.vers == VersionTLS13 && err == nil {
				t.Error("server KeyUpdate after a fatal alert succeeded")
			}
			server.Close()
			if n := len(stap.written()); n != sentByServer {
				t.Errorf("server wrote %d bytes after its fatal alert (Write, KeyUpdate, Close)", n-sentByServer)
			}

			_, err = client.Read(make([]byte, 8))
			wantAlert(t, "client Read", err, tc.want, true)
			sentByClient := len(ctap.written())
			_, err = client.Write([]byte("more"))
			wantAlert(t, "client Write", err, tc.want, true)
			if err := client.SendKeyUpdate(false); tc.vers == VersionTLS13 && err == nil {
				t.Error("client KeyUpdate after a fatal alert succeeded")
			}
			client.Close()
			if n := len(ctap.written()); n != sentByClient {
				t.Errorf("client wrote %d bytes after receiving a fatal alert (Write, KeyUpdate, Close)", n-sentByClient)
			}
		})
	}
}

// TestFatalAlertSentOnce: a second failure after the first fatal error
// sends nothing, and reports the first alert.
func TestFatalAlertSentOnce(t *testing.T) {
	a, b := memPipe()
	stap := &tapConn{Conn: b}
	client, server, cerr, serr := handshakeConns(t, a, stap, testClientConfig(t), testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	before := len(stap.written())
	first := server.fail(peerError(AlertIllegalParameter, "first"))
	second := server.fail(peerError(AlertDecodeError, "second"))
	wantAlert(t, "first", first, AlertIllegalParameter, false)
	wantAlert(t, "second", second, AlertIllegalParameter, false)
	_, err := server.Read(make([]byte, 1))
	wantAlert(t, "Read", err, AlertIllegalParameter, false)
	wrote := stap.written()[before:]
	// One TLS 1.3 record: 5 header bytes, 2 alert bytes, inner type, tag.
	if len(wrote) != 5+2+1+16 {
		t.Errorf("server wrote %d bytes, want one alert record", len(wrote))
	}
	_, err = client.Read(make([]byte, 1))
	wantAlert(t, "client", err, AlertIllegalParameter, true)
}

func versionName(v uint16) string {
	if v == VersionTLS13 {
		return "TLS1.3"
	}
	return "TLS1.2"
}

// ---- 2. The right alert for each malformed message ---------------------

// truncateFinished makes a Conn send every Finished one byte short.
func truncateFinished(msg []byte) []byte {
	if msg[0] != wire.TypeFinished {
		return msg
	}
	n := len(msg) - 4 - 1
	out := append([]byte{wire.TypeFinished, byte(n >> 16), byte(n >> 8), byte(n)}, msg[4:len(msg)-1]...)
	return out
}

// flipFinished makes a Conn send a Finished of the right length whose last
// byte is wrong.
func flipFinished(msg []byte) []byte {
	if msg[0] != wire.TypeFinished {
		return msg
	}
	out := bytes.Clone(msg)
	out[len(out)-1] ^= 1
	return out
}

// TestFinishedLength: a Finished whose body is not exactly verify_data's
// length is decode_error; one of the right length that does not verify is
// decrypt_error (RFC 8446, Sections 4.4.4 and 6.2). Both versions, both
// directions.
func TestFinishedLength(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		for _, tc := range []struct {
			name   string
			mutate func([]byte) []byte
			want   Alert
		}{
			{"short", truncateFinished, AlertDecodeError},
			{"wrong", flipFinished, AlertDecryptError},
		} {
			for _, bad := range []string{"client", "server"} {
				t.Run(versionName(vers)+"/"+tc.name+"/"+bad, func(t *testing.T) {
					ccfg := testClientConfig(t)
					ccfg.MaxVersion = vers
					a, b := memPipe()
					client, server := Client(a, ccfg), Server(b, testServerConfig(t))
					if bad == "server" {
						server.mutateOutgoing = tc.mutate
					} else {
						client.mutateOutgoing = tc.mutate
					}
					errc := make(chan error, 1)
					go func() { errc <- server.Handshake() }()
					cerr := client.Handshake()
					serr := <-errc
					judged, told := serr, cerr
					if bad == "server" {
						judged, told = cerr, serr
					}
					wantAlert(t, bad+"'s peer", judged, tc.want, false)
					if told != nil {
						// The liar either got the alert or was still
						// writing; if it read anything, it was the alert.
						var ae *AlertError
						if errors.As(told, &ae) && ae.Received && ae.Alert != tc.want {
							t.Fatalf("%s received %v, want %v", bad, ae.Alert, tc.want)
						}
					}
				})
			}
		}
	}
}

// TestOversizedHandshakeMessage: a message longer than its type's limit is
// decode_error, found from the 4-byte header before the body is read: 64
// KiB for everything (the first ClientHello included), 256 KiB for
// Certificate once the version is agreed.
func TestOversizedHandshakeMessage(t *testing.T) {
	header := func(typ uint8, n int) []byte { return []byte{typ, byte(n >> 16), byte(n >> 8), byte(n)} }
	for _, tc := range []struct {
		name string
		typ  uint8
		n    int
	}{
		{"ClientHello over 64 KiB", wire.TypeClientHello, maxHandshakeMessage + 1},
		{"Certificate before the version", wire.TypeCertificate, 100 << 10},
		{"huge", wire.TypeClientHello, 1<<24 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrote, err := serverGets(t, testServerConfig(t), plainRecord(record.Handshake, header(tc.typ, tc.n)))
			wantAlertSent(t, err, wrote, AlertDecodeError)
		})
	}
	t.Run("Certificate after the version", func(t *testing.T) {
		c := Server(nil, testServerConfig(t))
		c.vers = VersionTLS13
		if err := c.checkMessageLen(wire.TypeCertificate, maxCertificateMessage); err != nil {
			t.Errorf("a %d-byte Certificate: %v", maxCertificateMessage, err)
		}
		if err := c.checkMessageLen(wire.TypeCertificate, maxCertificateMessage+1); err == nil {
			t.Errorf("a %d-byte Certificate was accepted", maxCertificateMessage+1)
		}
		if err := c.checkMessageLen(wire.TypeFinished, maxHandshakeMessage+1); err == nil {
			t.Errorf("a %d-byte Finished was accepted", maxHandshakeMessage+1)
		}
		c.hand = []byte{wire.TypeKeyUpdate, 1, 0, 1}
		c.handshakeDone.Store(true)
		if err := c.handlePostHandshakeLocked(); err == nil {
			t.Error("a KeyUpdate over 64 KiB was waited for")
		}
	})
}

// TestHandshakeMessageBufferedOnce: a message spanning records is buffered
// to its declared length once, when its header arrives, not grown by
// appends as its records come in.
func TestHandshakeMessageBufferedOnce(t *testing.T) {
	const n = 40000
	msg := append([]byte{wire.TypeClientHello, 0, byte(n >> 8), byte(n & 0xff)}, make([]byte, n)...)
	c := Server(nil, testServerConfig(t))
	if err := c.bufferHandshake(msg[:1000]); err != nil {
		t.Fatal(err)
	}
	if cap(c.hand) != len(msg) {
		t.Fatalf("after the first record the buffer holds %d bytes, want the message's %d", cap(c.hand), len(msg))
	}
	first := &c.hand[0]
	for off := 1000; off < len(msg); off += record.MaxPlaintext {
		if err := c.bufferHandshake(msg[off:min(off+record.MaxPlaintext, len(msg))]); err != nil {
			t.Fatal(err)
		}
	}
	if &c.hand[0] != first || !bytes.Equal(c.hand, msg) {
		t.Fatal("the buffer was reallocated, or holds the wrong bytes")
	}
	allocs := testing.AllocsPerRun(10, func() {
		c.hand = nil
		for off := 0; off < len(msg); off += record.MaxPlaintext {
			c.bufferHandshake(msg[off:min(off+record.MaxPlaintext, len(msg))])
		}
	})
	if allocs > 1 {
		t.Errorf("%v allocations to buffer one message, want 1", allocs)
	}
}

// TestLegacyVersionSSL3: a ClientHello that offers supported_versions with
// legacy_version 0x0300 or lower is protocol_version (RFC 8446, Appendix
// D.5).
func TestLegacyVersionSSL3(t *testing.T) {
	for _, v := range []uint16{0x0300, 0x0200, 0x0002} {
		hello := testClientHello(t, func(h *wire.ClientHello) { h.Vers = v })
		wrote, err := serverGets(t, testServerConfig(t), plainRecord(record.Handshake, hello))
		wantAlertSent(t, err, wrote, AlertProtocolVersion)
	}
}

// TestTLS12WithoutSignatureAlgorithms: RFC 9155, Section 4: a TLS 1.2
// server that would have to sign without the client's
// signature_algorithms aborts with handshake_failure rather than assume
// SHA-1.
func TestTLS12WithoutSignatureAlgorithms(t *testing.T) {
	hello := testClientHello(t, func(h *wire.ClientHello) {
		h.SupportedVersions, h.KeyShares, h.PSKModes = nil, nil, nil
		h.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
		h.SignatureAlgorithms = nil
	})
	wrote, err := serverGets(t, testServerConfig(t), plainRecord(record.Handshake, hello))
	wantAlertSent(t, err, wrote, AlertHandshakeFailure)
	if len(wrote) != len(alertRecord(AlertHandshakeFailure)) {
		t.Errorf("the server sent %d bytes before its alert", len(wrote)-len(alertRecord(AlertHandshakeFailure)))
	}
}

// TestServerNameNotAHostName: a host_name that is not a DNS host name is
// illegal_parameter (RFC 6066, Section 3).
func TestServerNameNotAHostName(t *testing.T) {
	for _, name := range []string{"local\x00host", "localhost.", "a..b", "exa mple", "bücher.example"} {
		hello := testClientHello(t, func(h *wire.ClientHello) { h.ServerName = name })
		wrote, err := serverGets(t, testServerConfig(t), plainRecord(record.Handshake, hello))
		wantAlertSent(t, err, wrote, AlertIllegalParameter)
	}
}

// TestFirstRecordNotTLS: a server's first record is judged on its 5-byte
// header: plain HTTP and other record types are unexpected_message, an
// SSLv2-format ClientHello protocol_version, without waiting for the
// length their first bytes declare.
func TestFirstRecordNotTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  Alert
		http  bool
	}{
		{"HTTP GET", "GET / HTTP/1.1\r\nHost: example\r\n", AlertUnexpectedMessage, true},
		{"HTTP POST", "POST /x HTTP/1.1\r\n", AlertUnexpectedMessage, true},
		// An SSLv2 CLIENT-HELLO: 2-byte length with the high bit, msg_type 1, version 3.1.
		{"SSLv2 hello", "\x80\x2e\x01\x03\x01\x00\x15", AlertProtocolVersion, false},
		{"application data first", "\x17\x03\x03\x40\x00", AlertUnexpectedMessage, false},
		{"alert first", "\x15\x03\x03\x40\x00", AlertUnexpectedMessage, false},
		{"unknown content type", "\x50\x03\x03\x40\x00", AlertUnexpectedMessage, false},
		{"handshake, version 2.0", "\x16\x02\x00\x40\x00", AlertProtocolVersion, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wrote, err := serverGets(t, testServerConfig(t), []byte(tc.input))
			wantAlertSent(t, err, wrote, tc.want)
			if errors.Is(err, ErrClientSpokeHTTP) != tc.http {
				t.Errorf("errors.Is(err, ErrClientSpokeHTTP) = %v, want %v", !tc.http, tc.http)
			}
		})
	}
}

// TestUnknownRecordTypeAfterHandshake: a record of unknown content type is
// rejected on its header, without waiting for its body.
func TestUnknownRecordTypeAfterHandshake(t *testing.T) {
	a, b := memPipe()
	client, server, cerr, serr := handshakeConns(t, a, b, testClientConfig(t), testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	exchange(t, client, server)
	a.Write([]byte{0x42, 3, 3, 0x40, 0})
	_, err := server.Read(make([]byte, 1))
	wantAlert(t, "server", err, AlertUnexpectedMessage, false)
}

// ---- 4. Bounded before authenticated -----------------------------------

// TestPostHandshakeFloodsBounded: messages that bring Read no data are
// bounded however they are mixed: maxRecordsWithoutData in a row are
// accepted, one more is unexpected_message.
func TestPostHandshakeFloodsBounded(t *testing.T) {
	helloRequest := []byte{wire.TypeHelloRequest, 0, 0, 0}
	ticket, err := (&wire.NewSessionTicket13{Lifetime: 0, Nonce: []byte{1}, Ticket: []byte("ticket")}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	warning := []byte{1, byte(alert.UserCanceled)}
	for _, tc := range []struct {
		name     string
		vers     uint16
		toServer bool // the flood goes to the server
		records  []rec
	}{
		{name: "TLS1.2/HelloRequests", vers: VersionTLS12, records: recs(record.Handshake, helloRequest)},
		{name: "TLS1.2/renegotiation ClientHellos", vers: VersionTLS12, toServer: true, records: recs(record.Handshake, testClientHello(t, nil))},
		{name: "TLS1.3/NewSessionTickets", vers: VersionTLS13, records: recs(record.Handshake, ticket)},
		{name: "TLS1.2/warnings and HelloRequests", vers: VersionTLS12, records: append(recs(record.Alert, warning), recs(record.Handshake, helloRequest)...)},
		{name: "TLS1.2/warnings and renegotiation", vers: VersionTLS12, toServer: true, records: append(recs(record.Alert, warning), recs(record.Handshake, testClientHello(t, nil))...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = tc.vers
			ccfg.SessionTicketsDisabled = true
			client, server, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			exchange(t, client, server)
			from, to := server, client
			if tc.toServer {
				from, to = client, server
			}
			flood := func(n int) {
				from.outMu.Lock()
				defer from.outMu.Unlock()
				for i := range n {
					r := tc.records[i%len(tc.records)]
					if _, err := from.writeRecordLocked(r.typ, r.payload); err != nil {
						t.Fatal(err)
					}
				}
			}
			buf := make([]byte, 8)
			flood(maxRecordsWithoutData)
			from.Write([]byte("a"))
			if n, err := to.Read(buf); err != nil || string(buf[:n]) != "a" {
				t.Fatalf("after %d records without data: %q, %v", maxRecordsWithoutData, buf[:n], err)
			}
			flood(maxRecordsWithoutData + 1)
			from.Write([]byte("b"))
			_, err := to.Read(buf)
			wantAlert(t, "flooded side", err, AlertUnexpectedMessage, false)
		})
	}
}

type rec = struct {
	typ     record.ContentType
	payload []byte
}

func recs(typ record.ContentType, payload []byte) []rec { return []rec{{typ, payload}} }

// TestHandshakeTimeout: Config.HandshakeTimeout ends a handshake with a
// silent peer; connections from Listen and NewListener have
// DefaultHandshakeTimeout unless the Config says otherwise.
func TestHandshakeTimeout(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.HandshakeTimeout = 50 * time.Millisecond
	a, b := memPipe()
	defer a.Close()
	errc := make(chan error, 1)
	go func() { errc <- Server(b, scfg).Handshake() }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("handshake with a silent client succeeded")
		}
	case <-time.After(time.Minute):
		t.Fatal("HandshakeTimeout did not end the handshake")
	}

	l, err := Listen("tcp", "127.0.0.1:0", testServerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := nc.(*Conn)
	for _, tc := range []struct {
		set, want time.Duration
	}{{0, DefaultHandshakeTimeout}, {time.Second, time.Second}, {-1, 0}} {
		cfg := testServerConfig(t)
		cfg.HandshakeTimeout = tc.set
		c.config = cfg
		if got := c.handshakeTimeout(); got != tc.want {
			t.Errorf("accepted, HandshakeTimeout %v: bound %v, want %v", tc.set, got, tc.want)
		}
	}
	if got := Server(nil, testServerConfig(t)).handshakeTimeout(); got != 0 {
		t.Errorf("Server with HandshakeTimeout 0: bound %v, want none", got)
	}
}

// TestSessionCacheByteBudget: the internal session cache has a byte budget
// by default, so that sessions of clients that send huge certificates
// cannot pin unbounded memory: 20,000 sessions each holding a 240 KB
// certificate stay within DefaultMaxCachedSessionBytes (measured on the
// heap, with runtime.ReadMemStats).
func TestSessionCacheByteBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 4.8 GB in passing")
	}
	const sessions, certSize = 20000, 240 << 10
	// The slack covers the cache's own tables for 20,480 entries and the
	// test's garbage not yet collected at the last measurement.
	const slack = 32 << 20
	cfg := testServerConfig(t)
	cache := cfg.internalCache()
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	now := time.Now()
	for i := range sessions {
		id := make([]byte, 32)
		binary.BigEndian.PutUint64(id, uint64(i))
		s := &Session{
			version: VersionTLS12, cipherSuite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			secret: make([]byte, 48), id: id, created: now, lifetime: time.Hour,
			peerCerts: [][]byte{make([]byte, certSize)},
		}
		cache.Put(context.Background(), id, s)
		if (i+1)%2000 == 0 {
			if grown := heap() - base; grown > DefaultMaxCachedSessionBytes+slack {
				t.Fatalf("after %d sessions the heap grew by %d MiB, over the %d MiB budget", i+1, grown>>20, DefaultMaxCachedSessionBytes>>20)
			}
		}
	}
	if cache.Len() == 0 || cache.Len() >= sessions {
		t.Errorf("the cache holds %d sessions", cache.Len())
	}
	runtime.KeepAlive(cache)
}

// longClientChain returns the test client certificate with copies of the
// CA appended until the chain is about size bytes.
func longClientChain(t *testing.T, size int) Certificate {
	cert := testClientCert(t)
	caPEM, err := os.ReadFile(peertest.ClientCert(t, peertest.ECDSAP256).CAFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	chain := append([][]byte(nil), cert.Certificate...)
	for certsLen(chain) < size {
		chain = append(chain, block.Bytes)
	}
	cert.Certificate = chain
	return cert
}

// TestServerKeepsOnlyClientLeaf: a 240 KB client chain (a Certificate
// message over 64 KiB, allowed once the version is agreed) verifies, and
// the server's session keeps only the leaf: the chain cannot fill the
// session cache, and does not travel in tickets.
func TestServerKeepsOnlyClientLeaf(t *testing.T) {
	chain := longClientChain(t, 240<<10)
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(versionName(vers), func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.ClientAuth, scfg.ClientCAs = RequireAndVerifyClientCert, peertest.CAPool(t)
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = vers
			ccfg.Certificates = []Certificate{chain}
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			exchange(t, client, server)
			if n := len(server.ConnectionState().PeerCertificates); n != len(chain.Certificate) {
				t.Fatalf("the connection shows %d client certificates, want %d", n, len(chain.Certificate))
			}
			s := server.state.session
			if s == nil {
				t.Fatal("no session")
			}
			if len(s.peerCerts) != 1 || !bytes.Equal(s.peerCerts[0], chain.Certificate[0]) || len(s.certs) > 1 {
				t.Fatalf("the session keeps %d certificates (%d parsed), want the leaf", len(s.peerCerts), len(s.certs))
			}
			if size := sessionSize(s); size > 4<<10 {
				t.Errorf("the session counts %d bytes against the cache budget", size)
			}
		})
	}
}

// countReads counts the bytes read through it, and the reads asked for
// once the first record's header had arrived.
type countReads struct {
	r          io.Reader
	n          int
	readsAfter int
}

func (c *countReads) Read(p []byte) (int, error) {
	if c.n >= record.HeaderLen {
		c.readsAfter++
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzServerFirstRecord: a server given anything fails without panicking,
// and a first record whose header is not a TLS handshake record's costs it
// no more than the header: it never asks the transport for more once the
// header is in. (The read that brought the header may have brought more,
// up to record.ReadAheadSize: Conn reads what has arrived, never waits
// for more than it needs.)
func FuzzServerFirstRecord(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"))
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15})
	f.Add(plainRecord(record.Handshake, testClientHello(f, nil)))
	f.Add(plainRecord(record.Handshake, []byte{wire.TypeClientHello, 1, 0, 1}))
	cfg := testServerConfig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &countReads{r: bytes.NewReader(data)}
		c := Server(&rwConn{Reader: r}, cfg)
		if err := c.Handshake(); err == nil {
			t.Fatal("handshake succeeded on fuzz input")
		}
		if len(data) >= record.HeaderLen && (data[0] != byte(record.Handshake) || data[1] != 3) && r.readsAfter > 0 {
			t.Fatalf("read on after a first record with header % x", data[:record.HeaderLen])
		}
	})
}

// FuzzBufferHandshake: handshake bytes arriving in any fragmentation are
// buffered as sent, and a message over its limit is refused as soon as its
// header is complete.
func FuzzBufferHandshake(f *testing.F) {
	f.Add([]byte{1, 0, 0, 5, 1, 2, 3, 4, 5}, uint8(3))
	f.Add([]byte{11, 1, 0, 1, 0}, uint8(1))
	f.Add(testClientHello(f, nil), uint8(100))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		c := Server(nil, &Config{})
		size := int(step) + 1
		var sent []byte
		for off := 0; off < len(data); off += size {
			frag := data[off:min(off+size, len(data))]
			err := c.bufferHandshake(frag)
			if err != nil {
				typ, n, _ := wire.ParseHeader(data)
				if n <= c.maxMessageLen(typ) {
					t.Fatalf("refused a %d-byte message: %v", n, err)
				}
				return
			}
			sent = append(sent, frag...)
		}
		if !bytes.Equal(c.hand, sent) {
			t.Fatal("buffered bytes differ from those sent")
		}
		if typ, n, ok := wire.ParseHeader(data); ok && n > c.maxMessageLen(typ) {
			t.Fatalf("accepted a %d-byte message", n)
		}
	})
}
