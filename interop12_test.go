package reprise

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// serveTCP runs a reprise server on loopback for external peers. Each
// connection is handshaken, answers one request line with a short reply
// (so HTTP-style clients get something back) and is closed.
func serveTCP(t *testing.T, cfg *Config) string {
	t.Helper()
	l, err := Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func(c *Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := c.Handshake(); err != nil {
					return
				}
				buf := make([]byte, 4096)
				if n, err := c.Read(buf); err == nil && n > 0 {
					st := c.ConnectionState()
					fmt.Fprintf(c, "HTTP/1.0 200 OK\r\n\r\nresumed=%v via=%s client_certs=%d\n", st.DidResume, st.Resumption, len(st.PeerCertificates))
				}
			}(nc.(*Conn))
		}
	}()
	return l.Addr().String()
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestOpenSSLClient12: openssl s_client against reprise serve, every
// suite and group, and resumption by session ID and by ticket.
func TestOpenSSLClient12(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		for _, group := range []CurveID{X25519, CurveP256, CurveP384} {
			scfg := testServerConfig(t, kind)
			scfg.CurvePreferences = []CurveID{group}
			addr := serveTCP(t, scfg)
			for _, s := range cipherSuites {
				if s.tls13 || !suiteFitsKey(s, certSigner(&scfg.Certificates[0]).Public()) {
					continue
				}
				// The certificate's own curve must be listed too (RFC 8422, 5.1.1).
				out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, "s_client",
					"-connect", addr, "-tls1_2", "-CAfile", pc.CAFile, "-servername", "localhost",
					"-cipher", opensslName(s.id), "-groups", groupList(group), "-verify_return_error", "-ign_eof")
				if err != nil || !strings.Contains(out, "resumed=false") || !strings.Contains(out, "Extended master secret: yes") ||
					!strings.Contains(out, "Server Temp Key: "+map[CurveID]string{X25519: "X25519", CurveP256: "ECDH, prime256v1", CurveP384: "ECDH, secp384r1"}[group]) {
					t.Fatalf("%s %s %v: %v\n%s", s.name, group, kind, err, out)
				}
			}
		}
	}

	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		name  string
		setup func(*Config)
		args  []string
	}{
		{"session-id", func(*Config) {}, []string{"-no_ticket"}},
		{"ticket", func(c *Config) { c.SessionCacheMode = SessionCacheOff }, nil},
	} {
		t.Run("reconnect/"+tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			tc.setup(scfg)
			addr := serveTCP(t, scfg)
			args := append([]string{"s_client", "-connect", addr, "-tls1_2", "-CAfile", pc.CAFile,
				"-servername", "localhost", "-reconnect"}, tc.args...)
			out, err := peertest.Run(t, 30*time.Second, "", openssl, args...)
			if n := strings.Count(out, "Reused, TLSv1.2"); err != nil || n != 5 {
				t.Fatalf("reused %d times, want 5: %v\n%s", n, err, out)
			}
			if k := scfg.Counters().Snapshot(); k.Hits != 5 {
				t.Fatalf("server counted %d hits", k.Hits)
			}
		})
	}

	t.Run("sess_out-sess_in", func(t *testing.T) {
		scfg := testServerConfig(t)
		addr := serveTCP(t, scfg)
		sess := filepath.Join(t.TempDir(), "sess.pem")
		base := []string{"s_client", "-connect", addr, "-tls1_2", "-no_ticket", "-CAfile", pc.CAFile, "-servername", "localhost"}
		if out, err := peertest.Run(t, 20*time.Second, "", openssl, append(base, "-sess_out", sess)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		out, err := peertest.Run(t, 20*time.Second, "", openssl, append(base, "-sess_in", sess)...)
		if err != nil || !strings.Contains(out, "Reused, TLSv1.2") {
			t.Fatalf("not reused: %v\n%s", err, out)
		}
	})
}

// opensslName maps an IANA suite name to OpenSSL's.
func opensslName(id uint16) string {
	return map[uint16]string{
		TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
		TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
		TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
		TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
		TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
		TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
		TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
		TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
		TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
		TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
	}[id]
}

// dialResume connects to addr n+1 times with one client Config and
// returns each connection's state.
func dialResume(t *testing.T, addr string, ccfg *Config, n int) []ConnectionState {
	t.Helper()
	var states []ConnectionState
	for i := 0; i <= n; i++ {
		c, err := DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, ccfg)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		// Read whatever the server says so that close_notify and any
		// late messages are handled.
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		io.Copy(io.Discard, io.LimitReader(c, 1<<16))
		states = append(states, c.ConnectionState())
		c.Close()
	}
	return states
}

// TestOpenSSLServer12: reprise connect against openssl s_server, every
// suite and key type, and resumption by ID and ticket.
func TestOpenSSLServer12(t *testing.T) {
	peertest.Need(t, "openssl")
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		addr, _ := peertest.OpenSSLServer(t, "-cert", pc.CertFile, "-key", pc.KeyFile, "-www", "-tls1_2")
		key := pc.Key.Public()
		for _, s := range cipherSuites {
			if s.tls13 || !suiteFitsKey(s, key) {
				continue
			}
			for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
				ccfg := testClientConfig(t)
				ccfg.CipherSuites = []uint16{s.id}
				ccfg.CurvePreferences = []CurveID{g, CurveP256, CurveP384}
				st := dialResume(t, addr, ccfg, 0)[0]
				if st.CipherSuite != s.id || st.CurveID != g || !st.ExtendedMasterSecret {
					t.Fatalf("%s %v: %+v", s.name, g, st)
				}
			}
		}
	}
	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		name    string
		args    []string
		tickets bool
		via     Resumption
	}{
		{"session-id", []string{"-no_ticket"}, false, ResumedSessionID},
		{"ticket", []string{"-no_cache"}, true, ResumedTicket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := peertest.OpenSSLServer(t, append([]string{"-cert", pc.CertFile, "-key", pc.KeyFile, "-www", "-tls1_2"}, tc.args...)...)
			ccfg := resumeClient(t, tc.tickets)
			for i, st := range dialResume(t, addr, ccfg, 3)[1:] {
				if st.Resumption != tc.via {
					t.Fatalf("connection %d: %+v", i+1, st)
				}
			}
		})
	}
}

// TestGnuTLS12 covers both roles against GnuTLS, including a server
// without extended master secret (standing in for OpenSSL 1.0.2).
func TestGnuTLS12(t *testing.T) {
	cli := peertest.Need(t, "gnutls-cli")
	peertest.Need(t, "gnutls-serv")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		name, priority string
		cacheOff       bool
	}{
		{"session-id", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS", false},
		{"ticket", "NORMAL:-VERS-ALL:+VERS-TLS1.2", true},
	} {
		t.Run("gnutls-cli/"+tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			if tc.cacheOff {
				scfg.SessionCacheMode = SessionCacheOff
			}
			addr := serveTCP(t, scfg)
			out, err := peertest.Run(t, 30*time.Second, "", cli, "--x509cafile", pc.CAFile, "-p", port(addr),
				"--priority", tc.priority, "--resume", "127.0.0.1")
			if err != nil || !strings.Contains(out, "This is a resumed session") {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
	for _, tc := range []struct {
		name, priority string
		tickets, ems   bool
		via            Resumption
	}{
		{"session-id", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS", false, true, ResumedSessionID},
		{"ticket", "NORMAL:-VERS-ALL:+VERS-TLS1.2", true, true, ResumedTicket},
		{"no-ems", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS:%NO_SESSION_HASH", false, false, ResumedSessionID},
	} {
		t.Run("gnutls-serv/"+tc.name, func(t *testing.T) {
			addr, _ := peertest.GnuTLSServer(t, "--x509certfile", pc.CertFile, "--x509keyfile", pc.KeyFile, "--http", "--priority", tc.priority)
			ccfg := resumeClient(t, tc.tickets)
			states := dialResume(t, addr, ccfg, 3)
			for i, st := range states {
				if st.ExtendedMasterSecret != tc.ems {
					t.Fatalf("connection %d: ems=%v", i, st.ExtendedMasterSecret)
				}
				if i > 0 && st.Resumption != tc.via {
					t.Fatalf("connection %d: %+v", i, st)
				}
			}
		})
	}
}

// groupList lists g first, then the curves of the test certificates,
// without repeats (openssl refuses duplicates).
func groupList(g CurveID) string {
	list := []string{CurveName(g)}
	for _, c := range []CurveID{CurveP256, CurveP384} {
		if c != g {
			list = append(list, CurveName(c))
		}
	}
	return strings.Join(list, ":")
}

// TestGnuTLSServerSuites12: reprise's client against gnutls-serv for every
// suite, group and key type.
func TestGnuTLSServerSuites12(t *testing.T) {
	peertest.Need(t, "gnutls-serv")
	// NORMAL plus the CBC suites and SHA-1 MAC, which GnuTLS may leave out.
	const priority = "NORMAL:-VERS-ALL:+VERS-TLS1.2:+AES-128-CBC:+AES-256-CBC:+SHA1"
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		addr, _ := peertest.GnuTLSServer(t, "--x509certfile", pc.CertFile, "--x509keyfile", pc.KeyFile, "--echo", "--priority", priority)
		for _, s := range cipherSuites {
			if s.tls13 || !suiteFitsKey(s, pc.Key.Public()) {
				continue
			}
			for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
				ccfg := testClientConfig(t)
				ccfg.CipherSuites = []uint16{s.id}
				ccfg.CurvePreferences = []CurveID{g}
				if kind == peertest.ECDSAP256 && g != CurveP256 {
					// The certificate's curve (RFC 8422, 5.1.1), listed
					// after g.
					ccfg.CurvePreferences = append(ccfg.CurvePreferences, CurveP256)
				}
				c, err := DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, ccfg)
				if err != nil {
					t.Fatalf("%v %s %v: %v", kind, s.name, g, err)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte("ping\n")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 5)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
					t.Fatalf("%v %s %v: echo %q %v", kind, s.name, g, buf, err)
				}
				st := c.ConnectionState()
				if st.CipherSuite != s.id || st.CurveID != g {
					t.Fatalf("%v %s %v: got %s %v", kind, s.name, g, CipherSuiteName(st.CipherSuite), st.CurveID)
				}
				c.Close()
			}
		}
	}
}
