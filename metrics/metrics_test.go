package metrics

import (
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
)

// handshake runs one client handshake against a server on a loopback
// pair and reads once, so a TLS 1.3 client takes its tickets in.
func handshake(t *testing.T, ccfg, scfg *reprise.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server's outcome is counted when its handshake returns, which
	// may be after the client's: wait for it before the metrics are read.
	serverDone := make(chan struct{})
	defer func() { <-serverDone }()
	go func() {
		defer close(serverDone)
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		c := reprise.Server(raw, scfg)
		if c.Handshake() == nil {
			c.Write([]byte("x"))
		}
		c.Close()
	}()
	c, err := reprise.Dial("tcp", ln.Addr().String(), ccfg)
	if err != nil {
		ln.Close() // a Dial that never connected leaves Accept waiting
		return err
	}
	defer c.Close()
	_, err = io.ReadFull(c, make([]byte, 1))
	return err
}

func TestCollectorExportsHandshakesAndCounters(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	cert, err := reprise.X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	scfg := &reprise.Config{Certificates: []reprise.Certificate{cert}}
	m := New(scfg)
	ccfg := &reprise.Config{RootCAs: peertest.CAPool(t), ServerName: "localhost", ClientSessionCache: reprise.NewLRUClientSessionCache(4)}
	for range 2 {
		if err := handshake(t, ccfg, scfg); err != nil {
			t.Fatal(err)
		}
	}
	// A client that trusts nothing: the server gets unknown_ca.
	if err := handshake(t, &reprise.Config{ServerName: "localhost"}, scfg); err == nil {
		t.Fatal("untrusted handshake succeeded")
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`reprise_handshakes_total{resumption="none",role="server",version="TLS1.3"} 1`,
		`reprise_handshakes_total{resumption="psk",role="server",version="TLS1.3"} 1`,
		`reprise_handshake_failures_total{alert="unknown_ca",role="server"} 1`,
		`reprise_handshake_duration_seconds_count{resumption="psk",role="server",version="TLS1.3"} 1`,
		`reprise_server_handshakes_started_total 3`,
		`reprise_server_resumptions_by_kind_total{kind="psk"} 1`,
		`reprise_tickets_opened_total{key="current"} 1`,
		"# TYPE reprise_tickets_issued_total counter",
		"# TYPE reprise_handshake_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}
