package reprise

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/ticket"
	"github.com/reprise-tls/reprise/internal/wire"
)

// connect13 makes one TLS 1.3 connection, exchanges data (so the client
// has read the server's tickets) and returns both ends.
func connect13(t *testing.T, ccfg, scfg *Config) (*Conn, *Conn) {
	t.Helper()
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v; server %v", cerr, serr)
	}
	exchange(t, client, server)
	if v := client.ConnectionState().Version; v != VersionTLS13 {
		t.Fatalf("version %x", v)
	}
	return client, server
}

// wantAlert checks that err is an AlertError for a, sent (received false)
// or received.
func wantAlert(t *testing.T, who string, err error, a Alert, received bool) {
	t.Helper()
	var ae *AlertError
	if !errors.As(err, &ae) || ae.Alert != a || ae.Received != received {
		t.Fatalf("%s: want alert %v (received %v), got %v", who, a, received, err)
	}
}

func TestHandshake13AllSuites(t *testing.T) {
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.ECDSAP384, peertest.RSA2048, peertest.Ed25519} {
		scfg := testServerConfig(t, kind)
		for _, s := range cipherSuites {
			if !s.tls13 {
				continue
			}
			for _, g := range []CurveID{X25519MLKEM768, X25519, CurveP256, CurveP384} {
				t.Run(fmt.Sprintf("%v/%s/%v", kind, s.name, g), func(t *testing.T) {
					ccfg := testClientConfig(t)
					ccfg.CipherSuites = []uint16{s.id}
					ccfg.CurvePreferences = []CurveID{g}
					var keyLog bytes.Buffer
					ccfg.KeyLogWriter = &keyLog
					client, server := connect13(t, ccfg, scfg)
					for _, st := range []ConnectionState{client.ConnectionState(), server.ConnectionState()} {
						if st.CipherSuite != s.id || st.CurveID != g || !st.ExtendedMasterSecret || st.DidResume || st.HelloRetryRequest {
							t.Fatalf("state %+v", st)
						}
					}
					if n := len(server.ConnectionState().PeerCertificates); n != 0 {
						t.Fatalf("server saw %d client certificates", n)
					}
					for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
						if !strings.Contains(keyLog.String(), label+" ") {
							t.Errorf("key log lacks %s", label)
						}
					}
				})
			}
		}
	}
}

// TestHandshake13DefaultShares: the default client sends X25519MLKEM768
// and X25519 shares, and a server that prefers either needs no retry.
func TestHandshake13DefaultShares(t *testing.T) {
	for _, g := range []CurveID{X25519MLKEM768, X25519} {
		scfg := testServerConfig(t)
		scfg.CurvePreferences = []CurveID{g}
		ccfg := testClientConfig(t)
		var hellos int
		ccfg.Tracer = func(ev TraceEvent) {
			if ev.Sent && ev.Message == "ClientHello" {
				hellos++
			}
		}
		client, _ := connect13(t, ccfg, scfg)
		if st := client.ConnectionState(); st.CurveID != g || st.HelloRetryRequest || hellos != 1 {
			t.Fatalf("%v: state %+v, %d ClientHellos", g, st, hellos)
		}
	}
}

// TestHelloRetryRequest: a server preferring a group the client sent no
// share for asks for it, and the handshake completes with the transcript
// rebuilt from the cookie.
func TestHelloRetryRequest(t *testing.T) {
	for _, g := range []CurveID{CurveP256, CurveP384} {
		scfg := testServerConfig(t)
		scfg.CurvePreferences = []CurveID{g}
		ccfg := testClientConfig(t)
		var flow []string
		ccfg.Tracer = func(ev TraceEvent) { flow = append(flow, ev.String()) }
		client, server := connect13(t, ccfg, scfg)
		for _, st := range []ConnectionState{client.ConnectionState(), server.ConnectionState()} {
			if st.CurveID != g || !st.HelloRetryRequest {
				t.Fatalf("%v: state %+v", g, st)
			}
		}
		if !strings.Contains(strings.Join(flow, "\n"), "HelloRetryRequest") {
			t.Fatalf("no HelloRetryRequest in %q", flow)
		}
	}
}

func TestFlights13(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := testClientConfig(t)
	ccfg.ClientSessionCache = NewLRUClientSessionCache(0)
	flow := func(ccfg, scfg *Config) []string {
		var out []string
		c := ccfg.Clone()
		c.Tracer = func(ev TraceEvent) {
			out = append(out, strings.Fields(ev.String())[0]+" "+ev.Message)
		}
		connect13(t, c, scfg)
		return out
	}
	full := []string{"-> ClientHello", "<- ServerHello", "<- EncryptedExtensions", "<- Certificate", "<- CertificateVerify", "<- Finished",
		"-> ChangeCipherSpec", "-> Finished", "<- NewSessionTicket", "<- NewSessionTicket"}
	// After a resumption the server replaces the one ticket spent.
	psk := []string{"-> ClientHello", "<- ServerHello", "<- EncryptedExtensions", "<- Finished",
		"-> ChangeCipherSpec", "-> Finished", "<- NewSessionTicket"}
	check := func(name string, got, want []string) {
		t.Helper()
		// The server's compatibility change_cipher_spec is dropped by the
		// record layer before the tracer sees a message; filter it out of
		// what we got in case it is traced.
		got = filter(got, "<- ChangeCipherSpec")
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s flow:\n got %v\nwant %v", name, got, want)
		}
	}
	check("full", flow(ccfg, scfg), full)
	check("psk", flow(ccfg, scfg), psk)
}

func filter(in []string, drop string) []string {
	var out []string
	for _, s := range in {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func TestClientCertificates13(t *testing.T) {
	for _, tc := range []struct {
		name       string
		auth       ClientAuthType
		sendCert   bool
		wantAlert  Alert
		wantVerify bool
	}{
		{"request, none sent", RequestClientCert, false, 0, false},
		{"request, sent", RequestClientCert, true, 0, false},
		{"require, none sent", RequireAnyClientCert, false, AlertCertificateRequired, false},
		{"require and verify, sent", RequireAndVerifyClientCert, true, 0, true},
		{"require and verify, none sent", RequireAndVerifyClientCert, false, AlertCertificateRequired, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.ClientAuth = tc.auth
			scfg.ClientCAs = peertest.CAPool(t)
			ccfg := testClientConfig(t)
			if tc.sendCert {
				ccfg.Certificates = []Certificate{testClientCert(t)}
			}
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if tc.wantAlert != 0 {
				wantAlert(t, "server", serr, tc.wantAlert, false)
				// The client finished its side before the server judged
				// its flight; it learns of the alert on its first read.
				if cerr == nil {
					_, cerr = client.Read(make([]byte, 1))
				}
				wantAlert(t, "client", cerr, tc.wantAlert, true)
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

func TestALPN13(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.NextProtos = []string{"h2", "http/1.1"}
	ccfg := testClientConfig(t)
	ccfg.NextProtos = []string{"http/1.1", "h2"}
	client, server := connect13(t, ccfg, scfg)
	if c, s := client.ConnectionState().NegotiatedProtocol, server.ConnectionState().NegotiatedProtocol; c != "h2" || s != "h2" {
		t.Fatalf("ALPN client %q server %q", c, s)
	}
	ccfg.NextProtos = []string{"spdy/1"}
	_, _, cerr, serr := handshakePair(t, ccfg, scfg)
	wantAlert(t, "server", serr, AlertNoApplicationProtocol, false)
	wantAlert(t, "client", cerr, AlertNoApplicationProtocol, true)
}

func TestKeyUpdate(t *testing.T) {
	client, server := connect13(t, testClientConfig(t), testServerConfig(t))
	echo := func(from, to *Conn, msg string) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { _, err := from.Write([]byte(msg)); errc <- err }()
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(to, buf); err != nil || string(buf) != msg {
			t.Fatalf("read %q, %v", buf, err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// Each side updates, without and with asking the peer to follow; the
	// requested answer is sent when the peer reads.
	for _, tc := range []struct {
		from, to *Conn
		request  bool
	}{{client, server, false}, {server, client, false}, {client, server, true}, {server, client, true}} {
		if err := tc.from.SendKeyUpdate(tc.request); err != nil {
			t.Fatal(err)
		}
		echo(tc.from, tc.to, "after update")
		echo(tc.to, tc.from, "and back")
	}
	// Many updates in a row.
	for range 20 {
		if err := client.SendKeyUpdate(true); err != nil {
			t.Fatal(err)
		}
	}
	echo(client, server, "still here")
	echo(server, client, "still here too")
}

// TestKeyUpdateNotAtRecordEnd: a KeyUpdate followed by more handshake data
// in the same record is unexpected_message (RFC 8446, Section 5.1).
// TestRecordsWithoutDataBounded: a peer may send KeyUpdates and empty
// application-data records, but not endlessly without data between them:
// maxRecordsWithoutData in a row is accepted, and the count starts again
// with each read of data; one more ends the connection.
func TestRecordsWithoutDataBounded(t *testing.T) {
	keyUpdate := func(t *testing.T, c *Conn) {
		if err := c.SendKeyUpdate(false); err != nil {
			t.Fatal(err)
		}
	}
	emptyRecord := func(t *testing.T, c *Conn) {
		c.outMu.Lock()
		defer c.outMu.Unlock()
		if _, err := c.writeRecordLocked(record.ApplicationData, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		vers uint16
		send func(*testing.T, *Conn)
	}{
		{"TLS1.3/KeyUpdate", VersionTLS13, keyUpdate},
		{"TLS1.3/empty records", VersionTLS13, emptyRecord},
		{"TLS1.2/empty records", VersionTLS12, emptyRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = tc.vers
			client, server, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			buf := make([]byte, 8)
			for _, data := range []string{"a", "b"} {
				for range maxRecordsWithoutData {
					tc.send(t, server)
				}
				server.Write([]byte(data))
				if n, err := client.Read(buf); err != nil || string(buf[:n]) != data {
					t.Fatalf("after %d records without data: %q, %v", maxRecordsWithoutData, buf[:n], err)
				}
			}
			for range maxRecordsWithoutData + 1 {
				tc.send(t, server)
			}
			server.Write([]byte("c"))
			_, err := client.Read(buf)
			wantAlert(t, "client", err, AlertUnexpectedMessage, false)
			// The client told the server.
			_, err = server.Read(buf)
			wantAlert(t, "server", err, AlertUnexpectedMessage, true)
		})
	}
}

func TestKeyUpdateNotAtRecordEnd(t *testing.T) {
	client, server := connect13(t, testClientConfig(t), testServerConfig(t))
	ku, _ := (&wire.KeyUpdate{}).Marshal()
	client.outMu.Lock()
	client.writeRecordLocked(22, append(ku, ku[:2]...))
	client.flushLocked()
	client.outMu.Unlock()
	_, err := server.Read(make([]byte, 1))
	wantAlert(t, "server", err, AlertUnexpectedMessage, false)
}

func TestSendKeyUpdateTLS12(t *testing.T) {
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	client, _, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if err := client.SendKeyUpdate(false); err == nil {
		t.Fatal("KeyUpdate on TLS 1.2")
	}
}

// TestCryptoTLSInterop13 runs reprise against crypto/tls in both roles for
// every suite and group, X25519MLKEM768 included.
func TestCryptoTLSInterop13(t *testing.T) {
	goCurve := map[CurveID]tls.CurveID{X25519MLKEM768: tls.X25519MLKEM768, X25519: tls.X25519, CurveP256: tls.CurveP256, CurveP384: tls.CurveP384}
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		for _, s := range cipherSuites {
			if !s.tls13 {
				continue
			}
			for _, g := range []CurveID{X25519MLKEM768, X25519, CurveP256, CurveP384} {
				name := fmt.Sprintf("%v/%s/%v", kind, s.name, g)
				t.Run("reprise-client/"+name, func(t *testing.T) {
					a, b := memPipe()
					// crypto/tls picks the TLS 1.3 suite itself; a client
					// offering one suite pins it.
					srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}, CurvePreferences: []tls.CurveID{goCurve[g]}})
					go echoOnce(srv)
					ccfg := testClientConfig(t)
					ccfg.CipherSuites = []uint16{s.id}
					c := Client(a, ccfg)
					roundTrip(t, c)
					st := c.ConnectionState()
					if st.Version != VersionTLS13 || st.CipherSuite != s.id || st.CurveID != g {
						t.Fatalf("state %+v", st)
					}
				})
				t.Run("reprise-server/"+name, func(t *testing.T) {
					a, b := memPipe()
					scfg := testServerConfig(t, kind)
					scfg.CipherSuites = []uint16{s.id}
					scfg.CurvePreferences = []CurveID{g}
					go echoOnce(Server(b, scfg))
					c := tls.Client(a, &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t),
						CurvePreferences: []tls.CurveID{goCurve[g]}})
					roundTrip(t, c)
					st := c.ConnectionState()
					if st.Version != tls.VersionTLS13 || st.CipherSuite != s.id || st.CurveID != goCurve[g] {
						t.Fatalf("state %+v", st)
					}
				})
			}
		}
	}
}

// TestCryptoTLSHelloRetryRequest13: each side asks crypto/tls for a retry,
// and answers crypto/tls's.
func TestCryptoTLSHelloRetryRequest13(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("reprise-client", func(t *testing.T) {
		a, b := memPipe()
		go echoOnce(tls.Server(b, &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}, CurvePreferences: []tls.CurveID{tls.CurveP384}}))
		c := Client(a, testClientConfig(t))
		roundTrip(t, c)
		if st := c.ConnectionState(); !st.HelloRetryRequest || st.CurveID != CurveP384 {
			t.Fatalf("state %+v", st)
		}
	})
	t.Run("reprise-server", func(t *testing.T) {
		a, b := memPipe()
		scfg := testServerConfig(t)
		scfg.CurvePreferences = []CurveID{CurveP384}
		srv := Server(b, scfg)
		go echoOnce(srv)
		c := tls.Client(a, &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t)})
		roundTrip(t, c)
		if st := srv.ConnectionState(); !st.HelloRetryRequest || st.CurveID != CurveP384 {
			t.Fatalf("state %+v", st)
		}
	})
}

func init() {
	// BenchmarkHandshake (bench_test.go) runs these beside the TLS 1.2
	// cases. Key exchange is X25519 on both sides, as in those cases.
	rServer := func(b *testing.B) *Config {
		s := testServerConfig(b)
		s.CurvePreferences = []CurveID{X25519}
		// crypto/tls sends one NewSessionTicket per handshake; reprise
		// defaults to two after a full handshake and one after a
		// resumption (as OpenSSL does). Compare like with like.
		s.TicketsPerConnection = 1
		return s
	}
	rClient := func(b *testing.B) *Config {
		c := testClientConfig(b)
		c.CurvePreferences = []CurveID{X25519}
		return c
	}
	goServer := func(b *testing.B) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{peertest.Certs(b, peertest.ECDSAP256).TLSCertificate()},
			CurvePreferences: []tls.CurveID{tls.X25519}}
	}
	goClient := func(b *testing.B) *tls.Config {
		return &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(b), CurvePreferences: []tls.CurveID{tls.X25519}}
	}
	tls13BenchCases = append(tls13BenchCases,
		benchCase{name: "tls13-full",
			reprise: func(b *testing.B) (*Config, *Config) { return rClient(b), rServer(b) },
			crypto:  func(b *testing.B) (*tls.Config, *tls.Config) { return goClient(b), goServer(b) }},
		benchCase{name: "tls13-psk",
			// One connection that reads its tickets; every handshake then
			// offers its session (stateless tickets may be offered again).
			reprise: func(b *testing.B) (*Config, *Config) {
				c, s := rClient(b), rServer(b)
				client, server, cerr, serr := handshakePair(b, c, s)
				if cerr != nil || serr != nil {
					b.Fatal(cerr, serr)
				}
				exchange(b, client, server)
				c.Session = client.Session()
				return c, s
			},
			crypto: func(b *testing.B) (*tls.Config, *tls.Config) {
				c, s := goClient(b), goServer(b)
				c.ClientSessionCache = tls.NewLRUClientSessionCache(0)
				a, p := memPipe()
				go echoOnce(tls.Server(p, s))
				conn := tls.Client(a, c)
				if _, err := conn.Write([]byte("hello")); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, make([]byte, 5)); err != nil {
					b.Fatal(err)
				}
				return c, s
			}},
	)
}

// recordWrites wraps a net.Conn and keeps a copy of everything written.
type recordWrites struct {
	net.Conn
	mu  sync.Mutex
	out []byte
}

func (r *recordWrites) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.out = append(r.out, p...)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *recordWrites) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.out)
}

// flights13 runs one TLS 1.3 handshake and returns what each side wrote.
func flights13(t testing.TB, ccfg, scfg *Config) (client, server []byte) {
	a, b := memPipe()
	ca, sb := &recordWrites{Conn: a}, &recordWrites{Conn: b}
	c, s := Client(ca, ccfg), Server(sb, scfg)
	errc := make(chan error, 1)
	go func() { errc <- s.Handshake() }()
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return ca.bytes(), sb.bytes()
}

// FuzzServerHandshake13 feeds a TLS 1.3 server arbitrary client flights,
// seeded with real ones: a full handshake, one that needs a
// HelloRetryRequest, and a resumption whose ticket and binder verify, so
// that mutations reach the PSK decision and beyond. Nothing may panic or
// hang.
func FuzzServerHandshake13(f *testing.F) {
	scfg := testServerConfig(f)
	// Fixed ticket keys: fuzz workers are other processes, and the
	// resumption seed's ticket must open in them too.
	ring, err := ticket.NewRing([]ticket.Key{{Name: [16]byte{'f', 'u', 'z', 'z'}, AESKey: make([]byte, 32), HMACKey: make([]byte, 32)}})
	if err != nil {
		f.Fatal(err)
	}
	scfg.TicketKeys = &TicketKeys{ring: ring}
	// X25519 only: ML-KEM under the fuzzer's coverage instrumentation
	// would make every execution slow.
	clientConfig := func() *Config {
		c := testClientConfig(f)
		c.CurvePreferences = []CurveID{X25519, CurveP384}
		return c
	}
	full, _ := flights13(f, clientConfig(), scfg)
	f.Add(full)
	retry := scfg.Clone()
	retry.CurvePreferences = []CurveID{CurveP384}
	hrr, _ := flights13(f, clientConfig(), retry)
	f.Add(hrr)
	client, server, cerr, serr := handshakePair(f, clientConfig(), scfg)
	if cerr != nil || serr != nil {
		f.Fatal(cerr, serr)
	}
	exchange(f, client, server)
	ccfg := clientConfig()
	ccfg.Session = client.Session()
	psk, _ := flights13(f, ccfg, scfg)
	f.Add(psk)
	f.Fuzz(func(t *testing.T, data []byte) {
		Server(&rwConn{Reader: bytes.NewReader(data)}, scfg).Handshake()
	})
}

// FuzzClientHandshake13 feeds a TLS 1.3 client arbitrary server flights,
// seeded with a real full handshake and a real HelloRetryRequest.
func FuzzClientHandshake13(f *testing.F) {
	scfg := testServerConfig(f)
	_, full := flights13(f, testClientConfig(f), scfg)
	f.Add(full)
	retry := scfg.Clone()
	retry.CurvePreferences = []CurveID{CurveP384}
	_, hrr := flights13(f, testClientConfig(f), retry)
	f.Add(hrr)
	ccfg := testClientConfig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		Client(&rwConn{Reader: bytes.NewReader(data)}, ccfg).Handshake()
	})
}

// TestSecondClientHelloChecks: the server accepts a second ClientHello
// only with its own cookie and the changes RFC 8446, Section 4.1.2 allows.
func TestSecondClientHelloChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(h *wire.ClientHello)
		want   Alert
	}{
		{"tampered cookie", func(h *wire.ClientHello) { h.Cookie = bytes.Clone(h.Cookie); h.Cookie[len(h.Cookie)-1] ^= 1 }, AlertIllegalParameter},
		{"no cookie", func(h *wire.ClientHello) { h.Cookie = nil }, AlertIllegalParameter},
		{"wrong group", func(h *wire.ClientHello) { h.KeyShares[0].Group = uint16(CurveP256) }, AlertIllegalParameter},
		{"two shares", func(h *wire.ClientHello) { h.KeyShares = append(h.KeyShares, h.KeyShares[0]) }, AlertIllegalParameter},
		{"other suites", func(h *wire.ClientHello) { h.CipherSuites = h.CipherSuites[1:] }, AlertIllegalParameter},
		{"other server name", func(h *wire.ClientHello) { h.ServerName = "example.com" }, AlertIllegalParameter},
		{"early data", func(h *wire.ClientHello) { h.EarlyData = true }, AlertIllegalParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.CurvePreferences = []CurveID{CurveP384}
			withHellos13(t, func(h *wire.ClientHello, retry bool) {
				if retry {
					tc.change(h)
				}
			})
			_, _, _, serr := handshakePair(t, testClientConfig(t), scfg)
			wantAlert(t, "server", serr, tc.want, false)
		})
	}
}

// TestCookieFromAnotherHandshake: a cookie opens with our keys but stands
// for another ClientHello1: the rebuilt transcript would differ, so the
// server refuses it.
func TestCookieFromAnotherHandshake(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.CurvePreferences = []CurveID{CurveP384}
	var first []byte
	withHellos13(t, func(h *wire.ClientHello, retry bool) {
		if retry {
			if first == nil {
				first = h.Cookie
			} else {
				h.Cookie = first
			}
		}
	})
	connect13(t, testClientConfig(t), scfg)
	_, _, _, serr := handshakePair(t, testClientConfig(t), scfg)
	wantAlert(t, "server", serr, AlertIllegalParameter, false)
}

// TestClientChecksServerHello13: the client's checks on a HelloRetryRequest
// and ServerHello from a server that breaks RFC 8446, Sections 4.1.3,
// 4.1.4 and 4.2.8.
func TestClientChecksServerHello13(t *testing.T) {
	newClient := func(t *testing.T) *client13 {
		a, _ := memPipe()
		c := Client(a, testClientConfig(t))
		c.vers = VersionTLS13
		ch := &clientHello{c: c}
		if err := ch.build(); err != nil {
			t.Fatal(err)
		}
		raw, err := ch.marshal()
		if err != nil {
			t.Fatal(err)
		}
		ch.t = newTranscript(false)
		ch.t.add(raw)
		return &client13{c: c, ch: ch, hello: ch.hello, offer: ch.tls13, t: ch.t}
	}
	// parse encodes and decodes sh, as a received message would be.
	parse := func(t *testing.T, sh *wire.ServerHello) (*wire.ServerHello, []byte) {
		msg, err := sh.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out := new(wire.ServerHello)
		if err := out.Unmarshal(msg); err != nil {
			t.Fatal(err)
		}
		return out, msg
	}
	hrr := func(hs *client13, group CurveID) *wire.ServerHello {
		return &wire.ServerHello{Vers: VersionTLS12, Random: wire.HelloRetryRequestRandom[:], SessionID: hs.hello.SessionID,
			CipherSuite: TLS_AES_128_GCM_SHA256, SupportedVersion: VersionTLS13, SelectedGroup: uint16(group)}
	}
	serverHello := func(hs *client13, group CurveID, share []byte) *wire.ServerHello {
		return &wire.ServerHello{Vers: VersionTLS12, Random: make([]byte, 32), SessionID: hs.hello.SessionID,
			CipherSuite: TLS_AES_128_GCM_SHA256, SupportedVersion: VersionTLS13, KeyShare: wire.KeyShare{Group: uint16(group), Data: share}}
	}
	x25519Share := func(t *testing.T) []byte {
		kx, err := newKeyExchange(nil, X25519)
		if err != nil {
			t.Fatal(err)
		}
		return kx.share()
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, hs *client13) error
		want Alert
	}{
		{"HRR asks for no change", func(t *testing.T, hs *client13) error {
			hs.sh, _ = parse(t, hrr(hs, 0))
			_, msg := parse(t, hs.sh)
			return hs.handleHelloRetryRequest(msg)
		}, AlertIllegalParameter},
		{"HRR for a group we sent a share for", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, hrr(hs, X25519))
			return hs.handleHelloRetryRequest(msg)
		}, AlertIllegalParameter},
		{"HRR for a group we did not offer", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, hrr(hs, 30))
			return hs.handleHelloRetryRequest(msg)
		}, AlertIllegalParameter},
		{"ServerHello suite differs from HRR's", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, hrr(hs, CurveP256))
			if err := hs.handleHelloRetryRequest(msg); err != nil {
				return err
			}
			sh := serverHello(hs, CurveP256, x25519Share(t))
			sh.CipherSuite = TLS_AES_256_GCM_SHA384
			hs.sh, msg = parse(t, sh)
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
		{"ServerHello group differs from HRR's", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, hrr(hs, CurveP256))
			if err := hs.handleHelloRetryRequest(msg); err != nil {
				return err
			}
			hs.sh, msg = parse(t, serverHello(hs, X25519, x25519Share(t)))
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
		{"session ID not echoed", func(t *testing.T, hs *client13) error {
			sh := serverHello(hs, X25519, x25519Share(t))
			sh.SessionID = nil
			var msg []byte
			hs.sh, msg = parse(t, sh)
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
		{"TLS 1.2 suite", func(t *testing.T, hs *client13) error {
			sh := serverHello(hs, X25519, x25519Share(t))
			sh.CipherSuite = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
			var msg []byte
			hs.sh, msg = parse(t, sh)
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
		{"share for a group we sent none for", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, serverHello(hs, CurveP256, x25519Share(t)))
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
		{"no key share", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, serverHello(hs, 0, nil))
			return hs.processServerHello(msg)
		}, AlertMissingExtension},
		{"invalid X25519 point", func(t *testing.T, hs *client13) error {
			var msg []byte
			hs.sh, msg = parse(t, serverHello(hs, X25519, make([]byte, 32)))
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
		{"TLS 1.2 extension in a TLS 1.3 ServerHello", func(t *testing.T, hs *client13) error {
			sh := serverHello(hs, X25519, x25519Share(t))
			sh.ExtendedMasterSecret = true
			var msg []byte
			hs.sh, msg = parse(t, sh)
			return hs.processServerHello(msg)
		}, AlertIllegalParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t, newClient(t))
			if a, ok := alertFor(err); !ok || a != tc.want {
				t.Fatalf("want %v, got %v", tc.want, err)
			}
		})
	}
}

// stripSupportedVersions is an active attacker between client and server:
// it renames the supported_versions extension of the client's first
// ClientHello (the one record it reads first) to an unknown type, so the
// server sees a TLS 1.2-only client, and relays everything else as is.
func stripSupportedVersions(t *testing.T, client, server net.Conn) {
	go func() {
		var buf []byte
		rec, err := record.ReadRecord(client, &buf)
		if err != nil {
			return
		}
		rec = bytes.Clone(rec)
		// record header, handshake header, legacy_version, random
		s := cryptobyte.String(rec[record.HeaderLen+4+2+32:])
		var sid, suites, comp, exts cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16LengthPrefixed(&suites) ||
			!s.ReadUint8LengthPrefixed(&comp) || !s.ReadUint16LengthPrefixed(&exts) {
			t.Error("attacker: cannot parse the ClientHello")
			client.Close() // the client waits for an answer
			return
		}
		found := false
		for !exts.Empty() {
			at := len(rec) - len(exts)
			var typ uint16
			var body cryptobyte.String
			if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&body) {
				t.Error("attacker: cannot parse the extensions")
				client.Close()
				return
			}
			if typ == wire.ExtSupportedVersions {
				rec[at], rec[at+1] = 0xfe, 0xfe
				found = true
			}
		}
		if !found {
			t.Error("attacker: the ClientHello has no supported_versions")
		}
		server.Write(rec)
		go io.Copy(client, server)
		io.Copy(server, client)
	}()
}

// TestDowngradeSentinel: RFC 8446, Section 4.1.3. A server that can speak
// TLS 1.3 but negotiates TLS 1.2 ends ServerHello.random with
// "DOWNGRD\x01"; a TLS 1.3 client that sees it aborts with
// illegal_parameter, before Finished would have caught the tampering.
// Checked with crypto/tls on the other side in each direction, so both our
// sentinel and our check are held to another implementation.
func TestDowngradeSentinel(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	attack := func() (clientSide, serverSide net.Conn, closeAll func()) {
		a, b := memPipe()
		c, d := memPipe()
		stripSupportedVersions(t, b, c)
		return a, d, func() { a.Close(); b.Close(); c.Close(); d.Close() }
	}
	wantSentinelAbort := func(t *testing.T, err error) {
		t.Helper()
		var ae *AlertError
		if !errors.As(err, &ae) || ae.Alert != AlertIllegalParameter || ae.Received || !strings.Contains(err.Error(), "downgrade sentinel") {
			t.Fatalf("client: got %v, want our illegal_parameter for the downgrade sentinel", err)
		}
	}

	t.Run("reprise-both", func(t *testing.T) {
		cs, ss, closeAll := attack()
		defer closeAll()
		server := Server(ss, testServerConfig(t))
		go server.Handshake()
		wantSentinelAbort(t, Client(cs, testClientConfig(t)).Handshake())
	})
	t.Run("cryptotls-client", func(t *testing.T) {
		cs, ss, closeAll := attack()
		defer closeAll()
		server := Server(ss, testServerConfig(t))
		go server.Handshake()
		err := tls.Client(cs, &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t)}).Handshake()
		if err == nil || !strings.Contains(err.Error(), "downgrade") {
			t.Fatalf("crypto/tls client: got %v, want its downgrade error", err)
		}
	})
	t.Run("cryptotls-server", func(t *testing.T) {
		cs, ss, closeAll := attack()
		defer closeAll()
		server := tls.Server(ss, &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}})
		go server.Handshake()
		wantSentinelAbort(t, Client(cs, testClientConfig(t)).Handshake())
	})
	// Without the attacker, a client limited to TLS 1.2 meets the same
	// server without trouble: only a client that could do TLS 1.3 cares.
	t.Run("tls12-client", func(t *testing.T) {
		ccfg := testClientConfig(t)
		ccfg.MaxVersion = VersionTLS12
		if _, _, cerr, serr := handshakePair(t, ccfg, testServerConfig(t)); cerr != nil || serr != nil {
			t.Fatal(cerr, serr)
		}
	})
}
