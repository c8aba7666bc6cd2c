package reprise

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// goPair handshakes a reprise end against a crypto/tls end over memPipe.
// With repriseClient the reprise end is the client. It returns the reprise
// and crypto/tls connections after both handshakes, or fails the test.
func goPair(t *testing.T, repriseClient bool, rcfg *Config, gcfg *tls.Config) (*Conn, *tls.Conn) {
	t.Helper()
	a, b := memPipe()
	var rc *Conn
	var gc *tls.Conn
	if repriseClient {
		rc, gc = Client(a, rcfg), tls.Server(b, gcfg)
	} else {
		rc, gc = Server(a, rcfg), tls.Client(b, gcfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- gc.Handshake() }()
	rerr := rc.Handshake()
	if rerr != nil {
		a.Close()
	}
	gerr := <-errc
	if rerr != nil || gerr != nil {
		t.Fatalf("handshake: reprise %v, crypto/tls %v", rerr, gerr)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return rc, gc
}

func goServerConfig(t *testing.T) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{peertest.Certs(t, peertest.ECDSAP256).TLSCertificate()}}
}

func goClientConfig(t *testing.T) *tls.Config {
	return &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t)}
}

// TestExportKeyingMaterialMatchesCryptoTLS: both ends of a connection
// derive the same keying material, whichever library each end is, for TLS
// 1.2 with extended master secret (RFC 5705) and TLS 1.3 (RFC 8446,
// Section 7.5), with no context, an empty one and a real one.
func TestExportKeyingMaterialMatchesCryptoTLS(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		for _, repriseClient := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/reprise-client=%v", VersionName(vers), repriseClient), func(t *testing.T) {
				rcfg, gcfg := testClientConfig(t), goServerConfig(t)
				if !repriseClient {
					rcfg, gcfg = testServerConfig(t), goClientConfig(t)
				}
				rcfg.MaxVersion, gcfg.MaxVersion = vers, vers
				rc, gc := goPair(t, repriseClient, rcfg, gcfg)
				rs, gs := rc.ConnectionState(), gc.ConnectionState()
				for _, context := range [][]byte{nil, {}, []byte("context")} {
					got, err := rs.ExportKeyingMaterial("EXPERIMENTAL reprise", context, 42)
					if err != nil {
						t.Fatal(err)
					}
					want, err := gs.ExportKeyingMaterial("EXPERIMENTAL reprise", context, 42)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("context %q: reprise %x, crypto/tls %x", context, got, want)
					}
					// The crypto/tls view of reprise's state exports the same.
					converted := rs.TLS()
					if again, err := converted.ExportKeyingMaterial("EXPERIMENTAL reprise", context, 42); err != nil || !bytes.Equal(again, want) {
						t.Fatalf("converted state exported %x, %v", again, err)
					}
				}
				if vers == VersionTLS12 {
					if _, err := rs.ExportKeyingMaterial("master secret", nil, 10); err == nil {
						t.Fatal("a label RFC 5705 reserves was exported under")
					}
				}
			})
		}
	}
}

// TestExportKeyingMaterialNeedsEMS: RFC 7627, Section 5.4 — no export
// from a TLS 1.2 master secret made without extended master secret.
func TestExportKeyingMaterialNeedsEMS(t *testing.T) {
	ccfg := testClientConfig(t)
	ccfg.MaxVersion, ccfg.ExtendedMasterSecret = VersionTLS12, EMSDisable
	client, _, cerr, serr := handshakePair(t, ccfg, testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	st := client.ConnectionState()
	if _, err := st.ExportKeyingMaterial("label", nil, 16); err == nil {
		t.Fatal("exported without extended master secret")
	}
	var before ConnectionState
	if _, err := before.ExportKeyingMaterial("label", nil, 16); err == nil {
		t.Fatal("exported before a handshake")
	}
}

// TestTLSConnectionStateIsFaithful compares the crypto/tls view of
// reprise's state with what crypto/tls reports for the same connection,
// full and resumed, in both versions.
func TestTLSConnectionStateIsFaithful(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			gcfg := goClientConfig(t)
			gcfg.MaxVersion = vers
			gcfg.NextProtos = []string{"h2", "http/1.1"}
			gcfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			rcfg := testServerConfig(t)
			rcfg.NextProtos = []string{"h2"}
			for i := range 2 {
				rc, gc := goPair(t, false, rcfg, gcfg)
				if vers == VersionTLS13 {
					// Let the client take its tickets in.
					go rc.Write([]byte("x"))
					gc.Read(make([]byte, 1))
				}
				got, want := rc.ConnectionState(), gc.ConnectionState()
				conv := got.TLS()
				if conv.Version != want.Version || conv.CipherSuite != want.CipherSuite || conv.NegotiatedProtocol != "h2" ||
					conv.ServerName != "localhost" || conv.DidResume != (i == 1) || want.DidResume != (i == 1) ||
					!conv.HandshakeComplete || conv.ECHAccepted {
					t.Fatalf("connection %d: converted %+v\ncrypto/tls %+v", i, conv, want)
				}
				if !bytes.Equal(conv.TLSUnique, want.TLSUnique) {
					t.Fatalf("connection %d: TLSUnique %x, crypto/tls %x", i, conv.TLSUnique, want.TLSUnique)
				}
				if (vers == VersionTLS12) != (conv.TLSUnique != nil) {
					t.Fatalf("connection %d: TLSUnique %x", i, conv.TLSUnique)
				}
				// crypto/tls reports a TLS 1.2 session's original group on
				// resumption; reprise reports none, as no key exchange ran.
				if conv.CurveID != want.CurveID && !(vers == VersionTLS12 && i == 1 && conv.CurveID == 0) {
					t.Fatalf("connection %d: curve %v, crypto/tls %v", i, conv.CurveID, want.CurveID)
				}
			}
		})
	}
	// The client side carries the server's certificate and chains.
	rc, _ := goPair(t, true, testClientConfig(t), goServerConfig(t))
	st := rc.ConnectionState()
	conv := st.TLS()
	if len(conv.PeerCertificates) != 1 || len(conv.VerifiedChains) != 1 || conv.PeerCertificates[0] != st.PeerCertificates[0] {
		t.Fatalf("peer certificates %v, chains %v", conv.PeerCertificates, conv.VerifiedChains)
	}
}

// TestCryptoTLSHiddenFields: the values reprise hands to crypto/tls-typed
// callers behave as crypto/tls's own: Context is the handshake's, and a
// converted state's ExportKeyingMaterial does not panic. It fails when a Go
// release renames the unexported fields setHidden fills.
func TestCryptoTLSHiddenFields(t *testing.T) {
	var info tls.ClientHelloInfo
	if !setHidden(&info, "ctx", context.Background()) {
		t.Fatal("tls.ClientHelloInfo has no ctx field")
	}
	var req tls.CertificateRequestInfo
	if !setHidden(&req, "ctx", context.Background()) {
		t.Fatal("tls.CertificateRequestInfo has no ctx field")
	}
	var zero ConnectionState
	conv := zero.TLS()
	if _, err := conv.ExportKeyingMaterial("label", nil, 8); err == nil {
		t.Fatal("exported from an empty state")
	}
}

// TestGetCertificateWithCryptoTLSSignature: a function written for
// crypto/tls (autocert.Manager.GetCertificate, certmagic's) plugs into
// Config.GetCertificate unchanged and sees a full ClientHelloInfo.
func TestGetCertificateWithCryptoTLSSignature(t *testing.T) {
	cert := peertest.Certs(t, peertest.ECDSAP256).TLSCertificate()
	var seen *tls.ClientHelloInfo
	var getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error) = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		seen = hello
		if hello.Context() == nil || hello.Conn == nil {
			return nil, errors.New("ClientHelloInfo without context or conn")
		}
		if err := hello.SupportsCertificate(&cert); err != nil {
			return nil, err
		}
		return &cert, nil
	}
	scfg := &Config{GetCertificate: getCertificate}
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		ccfg := testClientConfig(t)
		ccfg.MaxVersion = vers
		if _, _, cerr, serr := handshakePair(t, ccfg, scfg); cerr != nil || serr != nil {
			t.Fatalf("%s: %v, %v", VersionName(vers), cerr, serr)
		}
		if seen.ServerName != "localhost" || len(seen.SupportedCurves) == 0 || len(seen.SignatureSchemes) == 0 {
			t.Fatalf("%s: ClientHelloInfo %+v", VersionName(vers), seen)
		}
	}
}

// TestAlertErrorAsCryptoTLS: errors.As with crypto/tls's AlertError, and
// with reprise's as a value, finds the alert and does not panic.
func TestAlertErrorAsCryptoTLS(t *testing.T) {
	ccfg := testClientConfig(t)
	ccfg.ServerName = "not-the-server.example"
	// Over TCP, as in real use: the TLS 1.3 server writes its tickets after
	// its Finished, and a socket buffers them where memPipe, closed by the
	// failing client at once, would fail that write before the server reads
	// the client's alert.
	a, b := tcpPair(t)
	_, _, cerr, serr := handshakeConns(t, a, b, ccfg, testServerConfig(t))
	var goAlert tls.AlertError
	if !errors.As(cerr, &goAlert) || goAlert != tls.AlertError(AlertBadCertificate) {
		t.Fatalf("client error %v as tls.AlertError: %v", cerr, goAlert)
	}
	var value AlertError
	if !errors.As(serr, &value) || !value.Received || value.Alert != AlertBadCertificate {
		t.Fatalf("server error %v as AlertError value: %+v", serr, value)
	}
	var ptr *AlertError
	if !errors.As(serr, &ptr) || ptr.Alert != AlertBadCertificate {
		t.Fatalf("server error %v as *AlertError", serr)
	}
}

// TestVerifyConnection runs on full and resumed handshakes, sees the
// connection's state, and its refusal ends the handshake with
// bad_certificate at the peer.
func TestVerifyConnection(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			var calls []bool
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = vers
			ccfg.ClientSessionCache = NewLRUClientSessionCache(4)
			ccfg.VerifyConnection = func(cs ConnectionState) error {
				calls = append(calls, cs.DidResume)
				if cs.Version != vers || len(cs.PeerCertificates) == 0 || cs.ServerName != "localhost" {
					return fmt.Errorf("state %+v", cs)
				}
				return nil
			}
			scfg := testServerConfig(t)
			for range 2 {
				client, server, cerr, serr := handshakePair(t, ccfg, scfg)
				if cerr != nil || serr != nil {
					t.Fatal(cerr, serr)
				}
				exchange(t, client, server) // takes TLS 1.3 tickets in
			}
			if len(calls) != 2 || calls[0] || !calls[1] {
				t.Fatalf("VerifyConnection saw DidResume %v, want [false true]", calls)
			}

			scfg.VerifyConnection = func(ConnectionState) error { return errors.New("no") }
			client, _, cerr, serr := handshakePair(t, testClientConfig(t), scfg)
			if cerr == nil {
				// The server decides after its last flight, so the client
				// may have finished; its first Read meets the alert.
				_, cerr = client.Read(make([]byte, 1))
			}
			var ae *AlertError
			if !errors.As(cerr, &ae) || !ae.Received || ae.Alert != AlertBadCertificate || serr == nil {
				t.Fatalf("refused: client %v, server %v", cerr, serr)
			}
		})
	}
}

// TestGetConfigForClientAndGetClientCertificate: the server swaps its
// Config per ClientHello, and the client picks its certificate per
// CertificateRequest, in both versions.
func TestGetConfigForClientAndGetClientCertificate(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			inner := testServerConfig(t, peertest.RSA2048)
			inner.ClientAuth = RequireAndVerifyClientCert
			inner.ClientCAs = peertest.CAPool(t)
			outer := &Config{GetConfigForClient: func(hello *ClientHelloInfo) (*Config, error) {
				if hello.ServerName != "localhost" {
					return nil, errors.New("unknown name")
				}
				return inner, nil
			}}
			clientCert := testClientCert(t)
			var asked *CertificateRequestInfo
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = vers
			ccfg.GetClientCertificate = func(req *CertificateRequestInfo) (*Certificate, error) {
				asked = req
				return &clientCert, nil
			}
			client, server, cerr, serr := handshakePair(t, ccfg, outer)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			if got := client.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm.String(); got != "RSA" {
				t.Fatalf("server certificate is %s, want the RSA one of the Config GetConfigForClient chose", got)
			}
			if len(server.ConnectionState().PeerCertificates) != 1 || asked == nil || asked.Version != vers || asked.Context() == nil {
				t.Fatalf("client certificate not sent; request %+v", asked)
			}
		})
	}
}

// TestDialer dials through Dialer.DialContext against crypto/tls.
func TestDialer(t *testing.T) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", goServerConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			echoOnce(c)
		}
	}()
	d := &Dialer{Config: &Config{RootCAs: peertest.CAPool(t), ServerName: "localhost"}}
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	if _, ok := c.(*Conn).NetConn().(*net.TCPConn); !ok {
		t.Fatalf("NetConn is %T", c.(*Conn).NetConn())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := d.DialContext(ctx, "tcp", ln.Addr().String()); err == nil || c != nil {
		t.Fatalf("dial with a cancelled context: %v, %v", c, err)
	}
}

func TestCipherSuitesLikeCryptoTLS(t *testing.T) {
	suites := CipherSuites()
	if len(suites) != len(cipherSuites) || len(InsecureCipherSuites()) != 0 {
		t.Fatalf("%d suites, %d insecure", len(suites), len(InsecureCipherSuites()))
	}
	for _, s := range suites {
		if CipherSuiteName(s.ID) != s.Name || tls.CipherSuiteName(s.ID) != s.Name {
			t.Errorf("suite %04x: name %q, crypto/tls says %q", s.ID, s.Name, tls.CipherSuiteName(s.ID))
		}
	}
}

func TestVerifyHostname(t *testing.T) {
	client, server, cerr, serr := handshakePair(t, testClientConfig(t), testServerConfig(t))
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	if err := client.VerifyHostname("localhost"); err != nil {
		t.Fatal(err)
	}
	if client.VerifyHostname("other.example") == nil || server.VerifyHostname("localhost") == nil {
		t.Fatal("VerifyHostname accepted a wrong name or a server connection")
	}
}
