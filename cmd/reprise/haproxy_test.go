package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// TestHAProxyFleet: HAProxy seals OpenSSL's session state too, and binds
// it to the session ID context "haproxy". With its key file (base64
// lines, AES before HMAC) and that context, sessions cross between
// HAProxy and reprise serve both ways, TLS 1.2 and 1.3.
func TestHAProxyFleet(t *testing.T) {
	peertest.Need(t, "openssl")
	f := &fleet{cert: peertest.Certs(t, peertest.ECDSAP256)}
	f.keys = filepath.Join(t.TempDir(), "haproxy.keys")
	mustSucceed(t, "ticketkey", "new", "--format", "haproxy", "--out", f.keys)
	haproxy, _ := peertest.HAProxyServer(t, f.cert, f.keys)
	f.serve = startServe(t, "--cert", f.cert.CertFile, "--key", f.cert.KeyFile, "--ticket-keys", f.keys,
		"--ticket-key-format", "haproxy", "--ticket-format", "openssl", "--session-id-context", "haproxy",
		"--session-cache", "off", "--json")
	for _, v := range fleetVersions {
		t.Run(v.name, func(t *testing.T) {
			for _, dir := range [][2]string{{haproxy, f.serve.addr}, {f.serve.addr, haproxy}} {
				sess := filepath.Join(t.TempDir(), "s.pem")
				out := f.sClient(t, dir[0], v.flag, "-servername", "localhost", "-sess_out", sess)
				if !strings.Contains(out, "New, "+v.printed) {
					t.Fatalf("%s: first connection\n%s", dir[0], out)
				}
				out = f.sClient(t, dir[1], v.flag, "-servername", "localhost", "-sess_in", sess)
				if !strings.Contains(out, "Reused, "+v.printed) {
					t.Fatalf("session from %s not resumed on %s\n%s", dir[0], dir[1], out)
				}
			}
		})
	}
}
