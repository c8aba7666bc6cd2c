package reprise

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// testCert returns a reprise Certificate for the peertest leaf of kind.
func testCert(t testing.TB, kind peertest.CertKind) Certificate {
	t.Helper()
	pc := peertest.Certs(t, kind)
	cert, err := X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func testServerConfig(t testing.TB, kinds ...peertest.CertKind) *Config {
	if len(kinds) == 0 {
		kinds = []peertest.CertKind{peertest.ECDSAP256}
	}
	cfg := &Config{}
	for _, k := range kinds {
		cfg.Certificates = append(cfg.Certificates, testCert(t, k))
	}
	return cfg
}

func testClientConfig(t testing.TB) *Config {
	return &Config{ServerName: "localhost", RootCAs: peertest.CAPool(t)}
}

// handshakePair runs a reprise client against a reprise server over memPipe
// and returns both ends after the handshake, or the errors.
func handshakePair(t testing.TB, ccfg, scfg *Config) (*Conn, *Conn, error, error) {
	t.Helper()
	a, b := memPipe()
	return handshakeConns(t, a, b, ccfg, scfg)
}

// handshakeConns is handshakePair over the given transports: a for the
// client, b for the server.
func handshakeConns(t testing.TB, a, b net.Conn, ccfg, scfg *Config) (*Conn, *Conn, error, error) {
	t.Helper()
	client, server := Client(a, ccfg), Server(b, scfg)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	cerr := client.Handshake()
	if cerr != nil {
		a.Close()
	}
	serr := <-errc
	if serr != nil {
		b.Close()
	}
	return client, server, cerr, serr
}

// exchange checks that application data flows both ways.
func exchange(t testing.TB, client, server *Conn) {
	t.Helper()
	go func() {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(server, buf); err == nil {
			server.Write(buf)
		}
	}()
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(client, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "hello" {
		t.Fatalf("echo = %q", buf)
	}
}

func TestHandshake12AllSuites(t *testing.T) {
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.ECDSAP384, peertest.RSA2048, peertest.Ed25519} {
		scfg := testServerConfig(t, kind)
		for _, s := range cipherSuites {
			if s.tls13 {
				continue
			}
			if suiteFitsKey(s, certSigner(&scfg.Certificates[0]).Public()) != true {
				continue
			}
			for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
				name := s.name + "/" + g.String() + "/" + scfg.Certificates[0].Leaf.PublicKeyAlgorithm.String()
				t.Run(name, func(t *testing.T) {
					ccfg := testClientConfig(t)
					ccfg.MaxVersion = VersionTLS12
					ccfg.CipherSuites = []uint16{s.id}
					// The certificate's curve is listed too (RFC 8422,
					// 5.1.1); the server's preference picks g.
					ccfg.CurvePreferences = []CurveID{g, CurveP256, CurveP384}
					s2 := scfg.Clone()
					s2.CurvePreferences = []CurveID{g}
					client, server, cerr, serr := handshakePair(t, ccfg, s2)
					if cerr != nil || serr != nil {
						t.Fatalf("client: %v, server: %v", cerr, serr)
					}
					exchange(t, client, server)
					st := client.ConnectionState()
					if st.Version != VersionTLS12 || st.CipherSuite != s.id || st.CurveID != g || !st.ExtendedMasterSecret {
						t.Fatalf("state %+v", st)
					}
					if s.bulk == bulkAESCBC && !st.EncryptThenMAC {
						t.Error("CBC suite without encrypt_then_mac")
					}
				})
			}
		}
	}
}

// TestCryptoTLSInterop12 runs reprise against Go's crypto/tls in both
// roles, for every suite, group and key type.
func TestCryptoTLSInterop12(t *testing.T) {
	goCurve := map[CurveID]tls.CurveID{X25519: tls.X25519, CurveP256: tls.CurveP256, CurveP384: tls.CurveP384}
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.ECDSAP384, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		for _, s := range cipherSuites {
			if s.tls13 || !suiteFitsKey(s, pc.Key.Public()) {
				continue
			}
			for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
				name := fmt.Sprintf("%v/%s/%v", kind, s.name, g)
				t.Run("reprise-client/"+name, func(t *testing.T) {
					a, b := memPipe()
					srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()},
						MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s.id}, CurvePreferences: []tls.CurveID{goCurve[g]}})
					go echoOnce(srv)
					ccfg := testClientConfig(t)
					ccfg.MaxVersion = VersionTLS12
					ccfg.CurvePreferences = []CurveID{g, CurveP256, CurveP384}
					c := Client(a, ccfg)
					roundTrip(t, c)
					if st := c.ConnectionState(); st.CipherSuite != s.id || st.CurveID != g || !st.ExtendedMasterSecret {
						t.Fatalf("state %+v", st)
					}
				})
				t.Run("reprise-server/"+name, func(t *testing.T) {
					a, b := memPipe()
					scfg := testServerConfig(t, kind)
					scfg.CurvePreferences = []CurveID{g}
					go echoOnce(Server(b, scfg))
					c := tls.Client(a, &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), MaxVersion: tls.VersionTLS12,
						CipherSuites: []uint16{s.id}, CurvePreferences: []tls.CurveID{goCurve[g], tls.CurveP256, tls.CurveP384}})
					roundTrip(t, c)
					if st := c.ConnectionState(); st.CipherSuite != s.id || st.CurveID != goCurve[g] {
						t.Fatalf("state %+v", st)
					}
				})
			}
		}
	}
}

// TestCryptoTLSResumption12: crypto/tls's client resumes by ticket
// against reprise, and reprise resumes by ticket against crypto/tls.
func TestCryptoTLSResumption12(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("crypto/tls client", func(t *testing.T) {
		scfg := testServerConfig(t)
		ccfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), MaxVersion: tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(0)}
		for i := range 3 {
			a, b := memPipe()
			srv := Server(b, scfg)
			go echoOnce(srv)
			c := tls.Client(a, ccfg)
			roundTrip(t, c)
			if got := c.ConnectionState().DidResume; got != (i > 0) {
				t.Fatalf("connection %d: DidResume=%v", i, got)
			}
		}
		if k := scfg.Counters().Snapshot(); k.TicketResumed != 2 {
			t.Fatalf("counters %+v", k)
		}
	})
	t.Run("reprise client", func(t *testing.T) {
		scfg := &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}, MaxVersion: tls.VersionTLS12}
		ccfg := resumeClient(t, true)
		for i := range 3 {
			a, b := memPipe()
			go echoOnce(tls.Server(b, scfg))
			c := Client(a, ccfg)
			roundTrip(t, c)
			st := c.ConnectionState()
			if want := map[bool]Resumption{false: ResumedNone, true: ResumedTicket}[i > 0]; st.Resumption != want {
				t.Fatalf("connection %d: %+v", i, st)
			}
		}
	})
}

func echoOnce(c net.Conn) {
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err == nil {
		c.Write(buf)
	}
}

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
}

func TestWrongServerName(t *testing.T) {
	ccfg := testClientConfig(t)
	ccfg.ServerName = "example.com"
	ccfg.MaxVersion = VersionTLS12
	_, _, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
	var ae *AlertError
	if !errors.As(cerr, &ae) || ae.Alert != AlertBadCertificate {
		t.Fatalf("client error %v", cerr)
	}
	if !errors.As(serr, &ae) || !ae.Received || ae.Alert != AlertBadCertificate {
		t.Fatalf("server error %v", serr)
	}
}
