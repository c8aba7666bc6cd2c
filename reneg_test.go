package reprise

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// askAfterRequest runs the protected-path pattern on server: read a
// 5-byte request, ask for a certificate, answer with the subject's CN or
// "none".
func askAfterRequest(server *Conn) (string, error) {
	buf := make([]byte, 5)
	if _, err := io.ReadFull(server, buf); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := server.RequestClientCertificate(ctx)
	answer := "none"
	switch {
	case err == nil:
		answer = server.ConnectionState().PeerCertificates[0].Subject.CommonName
	case errors.Is(err, ErrNoClientCertificate):
	default:
		return "", err
	}
	_, werr := server.Write([]byte(answer + "\n"))
	return answer, werr
}

func readLine(t testing.TB, c *Conn) string {
	t.Helper()
	var out []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("client read: %v (after %q)", err, out)
		}
		if b[0] == '\n' {
			return string(out)
		}
		out = append(out, b[0])
	}
}

func TestRequestClientCertificateReprise(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		for _, withCert := range []bool{true, false} {
			name := versionName(vers)
			if !withCert {
				name += "/no-cert"
			}
			t.Run(name, func(t *testing.T) {
				scfg := testServerConfig(t)
				scfg.MaxVersion = vers
				scfg.ClientCAs = peertest.CAPool(t)
				ccfg := testClientConfig(t)
				ccfg.Renegotiation = RenegotiateOnceAsClient
				ccfg.ClientSessionCache = NewLRUClientSessionCache(4)
				if withCert {
					ccfg.Certificates = []Certificate{testClientCert(t)}
				} else if vers == VersionTLS13 {
					ccfg.testForcePostHandshakeAuth = true
				}
				client, server, cerr, serr := handshakePair(t, ccfg, scfg)
				if cerr != nil || serr != nil {
					t.Fatal(cerr, serr)
				}
				before := client.Session()
				done := make(chan error, 1)
				var answer string
				go func() {
					var err error
					answer, err = askAfterRequest(server)
					done <- err
				}()
				if _, err := client.Write([]byte("GET /")); err != nil {
					t.Fatal(err)
				}
				got := readLine(t, client)
				if err := <-done; err != nil {
					t.Fatalf("server: %v", err)
				}
				want := "none"
				if withCert {
					want = "client"
				}
				if got != want || answer != want {
					t.Fatalf("got %q/%q, want %q", got, answer, want)
				}
				// Data still flows both ways afterwards.
				exchange(t, client, server)
				if vers == VersionTLS12 && withCert {
					after := client.Session()
					if after == nil || after == before {
						t.Fatalf("client session not refreshed after renegotiation")
					}
					if s := server.Session(); s == nil || len(s.peerCerts) == 0 {
						t.Fatalf("server session after renegotiation lacks the client certificate")
					}
				}
			})
		}
	}
}
