package reprise

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"testing"
	"time"

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
			if suiteFitsKey(s, scfg.Certificates[0].PrivateKey.Public()) != true {
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

// TestCryptoTLSInterop12 runs reprise against Go's crypto/tls in both roles.
func TestCryptoTLSInterop12(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	goCert, err := tls.X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA} {
		t.Run("reprise-client/"+CipherSuiteName(suite), func(t *testing.T) {
			a, b := memPipe()
			srv := tls.Server(b, &tls.Config{Certificates: []tls.Certificate{goCert}, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
			go func() {
				buf := make([]byte, 5)
				if _, err := io.ReadFull(srv, buf); err == nil {
					srv.Write(buf)
				}
			}()
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = VersionTLS12
			c := Client(a, ccfg)
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			if c.ConnectionState().CipherSuite != suite {
				t.Fatal("suite")
			}
		})
		t.Run("reprise-server/"+CipherSuiteName(suite), func(t *testing.T) {
			a, b := memPipe()
			scfg := testServerConfig(t)
			srv := Server(b, scfg)
			go func() {
				buf := make([]byte, 5)
				if _, err := io.ReadFull(srv, buf); err == nil {
					srv.Write(buf)
				}
			}()
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(mustRead(t, pc.CAFile))
			c := tls.Client(a, &tls.Config{ServerName: "localhost", RootCAs: pool, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			if c.ConnectionState().CipherSuite != suite {
				t.Fatal("suite")
			}
		})
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

var _ = time.Second

var osReadFile = os.ReadFile

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := osReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
