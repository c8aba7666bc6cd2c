package main

import (
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// TestClientAuthPathOpenSSL: openssl s_client against `reprise serve
// --client-auth-path`: a protected path is served after a renegotiation
// (TLS 1.2) or post-handshake authentication (TLS 1.3, -enable_pha) with
// the certificate's subject, and is a 403 without a certificate; other
// paths are served without asking.
func TestClientAuthPathOpenSSL(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	client := peertest.ClientCert(t, peertest.ECDSAP256)
	s := startServe(t, "--client-auth-path", "/secret", "--client-ca", client.CAFile)
	for _, vers := range []struct {
		name  string
		flags []string
	}{
		{"TLS1.2", []string{"-tls1_2"}},
		{"TLS1.3", []string{"-tls1_3", "-enable_pha"}},
	} {
		for _, tc := range []struct {
			name, path string
			cert       bool
			want       string
		}{
			{"protected", "/secret/page", true, "Verified client certificate subject: CN=client"},
			{"protected-no-cert", "/secret/page", false, "HTTP/1.0 403 Forbidden"},
			{"open", "/", true, "HTTP/1.0 200 OK"},
		} {
			t.Run(vers.name+"/"+tc.name, func(t *testing.T) {
				args := append([]string{"s_client", "-connect", s.addr, "-ign_eof", "-servername", "localhost"}, vers.flags...)
				if tc.cert {
					args = append(args, "-cert", client.CertFile, "-key", client.KeyFile)
				}
				out, _ := peertest.Run(t, 30*time.Second, "GET "+tc.path+" HTTP/1.0\r\n\r\n", openssl, args...)
				if !strings.Contains(out, tc.want) {
					t.Fatalf("s_client output lacks %q:\n%s", tc.want, out)
				}
				if tc.path == "/" && strings.Contains(out, "Verified client certificate") {
					t.Fatalf("an open path asked for a certificate:\n%s", out)
				}
			})
		}
	}
}

// TestClientAuthPathConnect: `reprise connect --cert --key` answers both
// ways of asking, and without --cert gets the 403 page.
func TestClientAuthPathConnect(t *testing.T) {
	client := peertest.ClientCert(t, peertest.ECDSAP256)
	s := startServe(t, "--client-auth-path", "/secret", "--client-ca", client.CAFile)
	for _, vers := range []string{"1.2", "1.3"} {
		t.Run("TLS"+vers, func(t *testing.T) {
			base := []string{"connect", s.addr, "--insecure", "--servername", "localhost", "--min-version", vers, "--max-version", vers,
				"--send", `GET /secret HTTP/1.0\r\n\r\n`}
			r := mustSucceed(t, append(base, "--cert", client.CertFile, "--key", client.KeyFile)...)
			if !strings.Contains(r.stdout, "Verified client certificate subject: CN=client") {
				t.Fatalf("with --cert:\n%s\n%s", r.stdout, r.stderr)
			}
			r = mustSucceed(t, base...)
			if !strings.Contains(r.stdout, "403 Forbidden") {
				t.Fatalf("without --cert:\n%s\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestClientAuthPathCurl: curl (libcurl with OpenSSL, which answers a
// renegotiation and offers post-handshake auth) over net/http's HTTP/1.1,
// whose background read waits on the connection while the handler asks;
// over HTTP/2 the protected path is a 403 that says why.
func TestClientAuthPathCurl(t *testing.T) {
	curl := peertest.Need(t, "curl")
	client := peertest.ClientCert(t, peertest.ECDSAP256)
	s := startServe(t, "--client-auth-path", "/secret", "--client-ca", client.CAFile, "--alpn", "h2,http/1.1")
	for _, vers := range [][]string{{"--tlsv1.2", "--tls-max", "1.2"}, {"--tlsv1.3"}} {
		for _, proto := range []string{"--http1.1", "--http2"} {
			t.Run(vers[0]+proto, func(t *testing.T) {
				args := append([]string{"-sk", proto, "--cert", client.CertFile, "--key", client.KeyFile, "-w", "\ncode=%{http_code}\n",
					"https://" + s.addr + "/secret/page"}, vers...)
				out, err := peertest.Run(t, 30*time.Second, "", curl, args...)
				if err != nil {
					t.Fatalf("curl: %v\n%s", err, out)
				}
				want := []string{"code=200", "Verified client certificate subject: CN=client"}
				if proto == "--http2" {
					want = []string{"code=403", "HTTP/2 cannot ask"}
				}
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Fatalf("curl output lacks %q:\n%s", w, out)
					}
				}
			})
		}
	}
}
