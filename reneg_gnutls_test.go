package reprise

import (
	"errors"
	"net"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// TestGnuTLSClientRequestClientCertificate: gnutls-cli with a certificate
// against RequestClientCertificate: post-handshake auth in TLS 1.3
// (--post-handshake-auth), a server-requested renegotiation in TLS 1.2.
// gnutls-serv has no command to renegotiate or to ask for a certificate
// after the handshake, so GnuTLS is tested in the client role only; its
// --rehandshake (client-initiated) is refused and counted.
func TestGnuTLSClientRequestClientCertificate(t *testing.T) {
	cli := peertest.Need(t, "gnutls-cli")
	cc := peertest.ClientCert(t, peertest.ECDSAP256)
	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, vers := range []struct {
		v     uint16
		prio  string
		extra []string
	}{
		{VersionTLS12, "NORMAL:-VERS-ALL:+VERS-TLS1.2", nil},
		{VersionTLS13, "NORMAL:-VERS-ALL:+VERS-TLS1.3", []string{"--post-handshake-auth"}},
	} {
		t.Run(versionName(vers.v), func(t *testing.T) {
			cfg := protectedServerConfig(t, vers.v)
			addr, results := serveProtected(t, cfg)
			host, port, _ := net.SplitHostPort(addr)
			args := append([]string{"--x509cafile", pc.CAFile, "--x509certfile", cc.CertFile, "--x509keyfile", cc.KeyFile,
				"--priority", vers.prio, "-p", port, host}, vers.extra...)
			// stdin stays open: gnutls-cli ends the session at its EOF.
			p := peertest.Start(t, cli, args, "Simple Client Mode")
			p.Send("GET /secret\n")
			if err := <-results; err != nil {
				t.Fatalf("server: %v\n%s", err, p.Output())
			}
			waitOutput(t, p, "subject=client")
		})
	}
}

// TestGnuTLSClientRehandshakeRefused: gnutls-cli --rehandshake renegotiates
// on its own right after the handshake; the server refuses each
// ClientHello with a no_renegotiation warning (RFC 5746, Section 4.4) and
// counts it. gnutls-cli answers a warning by sending its ClientHello
// again, a few times, and then gives up with internal_error: the server
// makes no handshake for any of them, and the loop is bounded by
// maxRecordsWithoutData if the client never gives up.
func TestGnuTLSClientRehandshakeRefused(t *testing.T) {
	cli := peertest.Need(t, "gnutls-cli")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	cfg := protectedServerConfig(t, VersionTLS12)
	addr, results := serveProtected(t, cfg)
	host, port, _ := net.SplitHostPort(addr)
	p := peertest.Start(t, cli, []string{"--x509cafile", pc.CAFile, "--rehandshake",
		"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2", "-p", port, host}, "")
	waitOutput(t, p, "ReHandshake has failed")
	err := <-results
	var ae *AlertError
	if !errors.As(err, &ae) || !ae.Received {
		t.Fatalf("server: want gnutls-cli's alert, got %v\n%s", err, p.Output())
	}
	waitOutput(t, p, "No renegotiation is allowed")
	if n := cfg.Counters().Snapshot().RenegotiationsRefused; n < 1 || n > maxRecordsWithoutData+1 {
		t.Fatalf("renegotiations_refused = %d\n%s", n, p.Output())
	}
	if n := cfg.Counters().Snapshot().PostHandshakeAuths; n != 0 {
		t.Fatalf("post_handshake_auths = %d, want 0", n)
	}
}
