package reprise

import (
	"crypto/tls"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// BenchmarkHandshake measures whole handshakes, client and server in one
// process over memPipe, for reprise and crypto/tls side by side so that
// benchstat can compare them: go test -bench Handshake -benchmem -count 10.
// Sub-benchmarks are named <case>/<impl>.
func BenchmarkHandshake(b *testing.B) {
	pc := peertest.Certs(b, peertest.ECDSAP256)
	goServer := func(maxVers uint16, tickets bool) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}, MaxVersion: maxVers,
			SessionTicketsDisabled: !tickets, CurvePreferences: []tls.CurveID{tls.X25519}}
	}
	goClient := func(maxVers uint16, cache bool) *tls.Config {
		c := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(b), MaxVersion: maxVers,
			CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
		if cache {
			c.ClientSessionCache = tls.NewLRUClientSessionCache(0)
		}
		return c
	}
	rServer := func(b *testing.B, cacheOn, tickets bool) *Config {
		s := testServerConfig(b)
		if !cacheOn {
			s.SessionCacheMode = SessionCacheOff
		}
		s.SessionTicketsDisabled = !tickets
		s.CurvePreferences = []CurveID{X25519}
		return s
	}
	rClient := func(b *testing.B, maxVers uint16, cache, tickets bool) *Config {
		c := testClientConfig(b)
		c.MaxVersion = maxVers
		// P-256 is listed for the certificate's curve (RFC 8422, 5.1.1);
		// the server's preference makes X25519 the key exchange.
		c.CurvePreferences = []CurveID{X25519, CurveP256}
		c.SessionTicketsDisabled = !tickets
		if cache {
			c.ClientSessionCache = NewLRUClientSessionCache(0)
		}
		return c
	}
	cases := []benchCase{
		{name: "tls12-full",
			reprise: func(b *testing.B) (*Config, *Config) {
				return rClient(b, VersionTLS12, false, true), rServer(b, true, true)
			},
			crypto: func(b *testing.B) (*tls.Config, *tls.Config) {
				return goClient(tls.VersionTLS12, false), goServer(tls.VersionTLS12, true)
			}},
		{name: "tls12-session-id",
			reprise: func(b *testing.B) (*Config, *Config) {
				return rClient(b, VersionTLS12, true, false), rServer(b, true, false)
			}},
		{name: "tls12-ticket",
			reprise: func(b *testing.B) (*Config, *Config) {
				return rClient(b, VersionTLS12, true, true), rServer(b, false, true)
			},
			crypto: func(b *testing.B) (*tls.Config, *tls.Config) {
				return goClient(tls.VersionTLS12, true), goServer(tls.VersionTLS12, true)
			}},
	}
	cases = append(cases, tls13BenchCases...)
	for _, bc := range cases {
		if bc.reprise != nil {
			b.Run(bc.name+"/reprise", func(b *testing.B) {
				ccfg, scfg := bc.reprise(b)
				benchReprise(b, ccfg, scfg)
			})
		}
		if bc.crypto != nil {
			b.Run(bc.name+"/cryptotls", func(b *testing.B) {
				ccfg, scfg := bc.crypto(b)
				benchCryptoTLS(b, ccfg, scfg)
			})
		}
	}
}

// benchCase is one handshake kind, for each implementation that has it.
type benchCase struct {
	name    string
	reprise func(b *testing.B) (client, server *Config)
	crypto  func(b *testing.B) (client, server *tls.Config)
}

// tls13BenchCases is filled in by the TLS 1.3 benchmarks.
var tls13BenchCases []benchCase

func benchReprise(b *testing.B, ccfg, scfg *Config) {
	// One warm-up handshake fills the caches for resumption cases.
	if _, _, cerr, serr := handshakePair(b, ccfg, scfg); cerr != nil || serr != nil {
		b.Fatal(cerr, serr)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		a, c := memPipe()
		client, server := Client(a, ccfg), Server(c, scfg)
		done := make(chan error, 1)
		go func() { done <- server.Handshake() }()
		if err := client.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

func benchCryptoTLS(b *testing.B, ccfg, scfg *tls.Config) {
	one := func() {
		a, c := memPipe()
		client, server := tls.Client(a, ccfg), tls.Server(c, scfg)
		done := make(chan error, 1)
		go func() { done <- server.Handshake() }()
		if err := client.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	one()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		one()
	}
}
