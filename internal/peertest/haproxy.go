package peertest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// HAProxyServer starts haproxy (Debian haproxy) in the foreground (-db) on
// a free loopback port, terminating TLS with cert and the tls-ticket-keys
// file ticketKeys (HAProxy's base64 lines), answering every HTTP request
// with "haproxy ok". Its configuration lives in t.TempDir(); it is
// stopped by its PID (its process group) when the test ends.
func HAProxyServer(t testing.TB, cert *Cert, ticketKeys string) (addr string, p *Process) {
	t.Helper()
	dir := t.TempDir()
	// HAProxy's crt takes the certificate and its key in one file.
	combined := filepath.Join(dir, "server.pem")
	if err := os.WriteFile(combined, append(append([]byte{}, cert.CertPEM...), cert.KeyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, "haproxy", func(addr string) (argv []string, ready, failure string) {
		conf := fmt.Sprintf(`global
	maxconn 64
defaults
	mode http
	timeout connect 5s
	timeout client 5s
	timeout server 5s
frontend tls
	bind %s ssl crt %s tls-ticket-keys %s ssl-min-ver TLSv1.2
	http-request return status 200 content-type text/plain string "haproxy ok"
`, addr, combined, ticketKeys)
		path := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"-db", "-f", path}, "", ""
	}, true)
}
