package reprise

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// serveProtected runs the seed 002 pattern on every accepted connection:
// read one request line, ask for a client certificate
// (RequestClientCertificate), and answer "subject=CN" or "403 ...".
func serveProtected(t *testing.T, cfg *Config) (addr string, results chan error) {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	results = make(chan error, 16)
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func(c *Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				results <- answerProtected(c)
			}(nc.(*Conn))
		}
	}()
	return l.Addr().String(), results
}

func answerProtected(c *Conn) error {
	if err := c.Handshake(); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := c.RequestClientCertificate(ctx)
	switch {
	case err == nil:
		_, err = fmt.Fprintf(c, "subject=%s\n", c.ConnectionState().PeerCertificates[0].Subject.CommonName)
		return err
	case errors.Is(err, ErrNoClientCertificate):
		_, err = fmt.Fprintf(c, "403 no client certificate\n")
		return err
	}
	return err
}

func protectedServerConfig(t *testing.T, vers uint16) *Config {
	cfg := testServerConfig(t)
	cfg.MinVersion, cfg.MaxVersion = vers, vers
	cfg.ClientCAs = peertest.CAPool(t)
	return cfg
}

// TestOpenSSLClientRequestClientCertificate: openssl s_client with and
// without -cert/-key against RequestClientCertificate: a renegotiation in
// TLS 1.2, post-handshake auth (-enable_pha) in TLS 1.3.
func TestOpenSSLClientRequestClientCertificate(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	cc := peertest.ClientCert(t, peertest.ECDSAP256)
	for _, vers := range []struct {
		v     uint16
		flags []string
	}{
		{VersionTLS12, []string{"-tls1_2"}},
		{VersionTLS13, []string{"-tls1_3", "-enable_pha"}},
	} {
		for _, withCert := range []bool{true, false} {
			name := versionName(vers.v)
			if !withCert {
				name += "/no-cert"
			}
			t.Run(name, func(t *testing.T) {
				cfg := protectedServerConfig(t, vers.v)
				addr, results := serveProtected(t, cfg)
				args := append([]string{"s_client", "-connect", addr, "-CAfile", pc.CAFile, "-servername", "localhost", "-ign_eof"}, vers.flags...)
				if withCert {
					args = append(args, "-cert", cc.CertFile, "-key", cc.KeyFile)
				}
				out, _ := peertest.Run(t, 30*time.Second, "GET /secret\n", openssl, args...)
				if err := <-results; err != nil {
					t.Fatalf("server: %v\n%s", err, out)
				}
				want := "403 no client certificate"
				if withCert {
					want = "subject=client"
				}
				if !strings.Contains(out, want) {
					t.Fatalf("s_client output lacks %q:\n%s", want, out)
				}
				if n := cfg.Counters().Snapshot().PostHandshakeAuths; n != 1 {
					t.Fatalf("post_handshake_auths = %d, want 1", n)
				}
			})
		}
	}
}

// TestOpenSSLServerRequestsCertificate: a reprise client with a
// certificate against openssl s_server's interactive "R" (renegotiate
// asking for a certificate; TLS 1.2) and "c" (post-handshake
// CertificateRequest; TLS 1.3) commands. After the renegotiation the
// client's Session and cache hold the new session.
func TestOpenSSLServerRequestsCertificate(t *testing.T) {
	peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, vers := range []struct {
		v       uint16
		flag    string
		command string
	}{
		{VersionTLS12, "-tls1_2", "R\n"},
		{VersionTLS13, "-tls1_3", "c\n"},
	} {
		for _, verify := range [][]string{nil, {"-verify", "1"}} {
			name := versionName(vers.v)
			if verify != nil {
				name += "/verify-1"
			}
			t.Run(name, func(t *testing.T) {
				// Without -verify the certificate is asked for only by the
				// command; with -verify 1 the handshake asks too, and the
				// command asks again.
				args := append([]string{"-cert", pc.CertFile, "-key", pc.KeyFile, "-CAfile", pc.CAFile, vers.flag}, verify...)
				addr, p := peertest.OpenSSLServer(t, args...)
				ccfg := testClientConfig(t)
				ccfg.Certificates = []Certificate{testClientCert(t)}
				ccfg.Renegotiation = RenegotiateOnceAsClient
				ccfg.ClientSessionCache = NewLRUClientSessionCache(4)
				d := &net.Dialer{Timeout: 10 * time.Second}
				c, err := DialWithDialer(d, "tcp", addr, ccfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				before := c.Session()
				if _, err := c.Write([]byte("hello from reprise\n")); err != nil {
					t.Fatal(err)
				}
				waitOutput(t, p, "hello from reprise")
				if err := p.Send(vers.command); err != nil {
					t.Fatal(err)
				}
				// The client answers while it reads; s_server's verify
				// callback prints the certificate it verified. s_server
				// reads its commands a buffer at a time, so the next line
				// waits for the command's outcome.
				readDone := make(chan string, 1)
				go func() {
					line, _ := bufio.NewReader(c).ReadString('\n')
					readDone <- line
				}()
				waitOutput(t, p, "CN = client")
				waitOutput(t, p, "SSL_do_handshake -> 1")
				p.Send("after the request\n")
				if line := <-readDone; !strings.Contains(line, "after the request") {
					t.Fatalf("read %q\n%s", line, p.Output())
				}
				if vers.v == VersionTLS12 {
					after := c.Session()
					if after == nil || after == before {
						t.Fatalf("Session not refreshed by the renegotiation")
					}
					if ccfg.ClientSessionCache.Get("localhost") != after {
						t.Fatalf("client cache not refreshed")
					}
				}
				if _, err := c.Write([]byte("still here\n")); err != nil {
					t.Fatal(err)
				}
				waitOutput(t, p, "still here")
			})
		}
	}
}

var _ = io.EOF
