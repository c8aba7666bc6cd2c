package reprise

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// opensslGroup is OpenSSL's name for a group, and what s_client prints as
// the server's temporary key.
var opensslGroup = map[CurveID]struct{ name, tempKey string }{
	X25519:    {"X25519", "X25519"},
	CurveP256: {"P-256", "ECDH, prime256v1"},
	CurveP384: {"P-384", "ECDH, secp384r1"},
}

// traceHRR returns a server Config hook that counts HelloRetryRequests sent.
func traceHRR(cfg *Config) func() int {
	var mu sync.Mutex
	n := 0
	cfg.Tracer = func(ev TraceEvent) {
		if ev.Sent && strings.Contains(ev.Detail, "HelloRetryRequest") {
			mu.Lock()
			n++
			mu.Unlock()
		}
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// TestOpenSSLClient13: openssl s_client against a reprise server: every
// suite, group and key type; a HelloRetryRequest; PSK resumption through
// -sess_out/-sess_in; KeyUpdate both ways.
func TestOpenSSLClient13(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		addr := serveTCP(t, testServerConfig(t, kind))
		for _, s := range cipherSuites {
			if !s.tls13 {
				continue
			}
			for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
				out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, "s_client",
					"-connect", addr, "-tls1_3", "-CAfile", pc.CAFile, "-servername", "localhost",
					"-ciphersuites", s.name, "-groups", opensslGroup[g].name, "-verify_return_error", "-ign_eof")
				if err != nil || !strings.Contains(out, "resumed=false") || !strings.Contains(out, "New, TLSv1.3, Cipher is "+s.name) ||
					!strings.Contains(out, "Server Temp Key: "+opensslGroup[g].tempKey) {
					t.Fatalf("%s %v %v: %v\n%s", s.name, g, kind, err, out)
				}
			}
		}
	}

	pc := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("hello-retry-request", func(t *testing.T) {
		// The client's first share is for X448, which reprise does not
		// implement: the server asks for P-256.
		scfg := testServerConfig(t)
		hrrs := traceHRR(scfg)
		addr := serveTCP(t, scfg)
		out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, "s_client",
			"-connect", addr, "-tls1_3", "-CAfile", pc.CAFile, "-servername", "localhost",
			"-groups", "X448:P-256", "-verify_return_error", "-ign_eof")
		if err != nil || !strings.Contains(out, "resumed=false") || !strings.Contains(out, "Server Temp Key: ECDH, prime256v1") || hrrs() != 1 {
			t.Fatalf("%d HelloRetryRequests: %v\n%s", hrrs(), err, out)
		}
	})

	for _, tc := range []struct {
		name  string
		setup func(*Config)
	}{
		{"stateless", func(*Config) {}},
		{"single-use", func(c *Config) { c.SingleUseTickets = true }},
		{"hello-retry-request", func(c *Config) { c.CurvePreferences = []CurveID{CurveP384} }},
	} {
		t.Run("sess_out-sess_in/"+tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			tc.setup(scfg)
			addr := serveTCP(t, scfg)
			sess := filepath.Join(t.TempDir(), "sess.pem")
			base := []string{"s_client", "-connect", addr, "-tls1_3", "-CAfile", pc.CAFile, "-servername", "localhost", "-ign_eof"}
			// The request makes the client read on until the server's
			// tickets have arrived.
			if out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_out", sess)...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_in", sess)...)
			if err != nil || !strings.Contains(out, "Reused, TLSv1.3") || !strings.Contains(out, "resumed=true via=psk") {
				t.Fatalf("not reused: %v\n%s", err, out)
			}
			if k := scfg.Counters().Snapshot(); k.PSKResumed != 1 {
				t.Fatalf("counters %+v", k)
			}
		})
	}

	// s_client sends a KeyUpdate for a line "k", and one asking us to
	// update too for "K" (commands work only without -ign_eof, so the
	// client runs with its standard input open). The request after it
	// must still be read and answered.
	for _, cmd := range []string{"k", "K"} {
		t.Run("key-update/"+cmd, func(t *testing.T) {
			addr := serveTCP(t, testServerConfig(t))
			p := peertest.Start(t, openssl, []string{"s_client", "-connect", addr, "-tls1_3", "-CAfile", pc.CAFile,
				"-servername", "localhost", "-msg"}, "Verify return code")
			if err := p.Send(cmd + "\n"); err != nil {
				t.Fatal(err)
			}
			waitOutput(t, p, "KEYUPDATE")
			if err := p.Send("GET / HTTP/1.0\n\n"); err != nil {
				t.Fatal(err)
			}
			out := waitOutput(t, p, "resumed=false")
			if cmd == "K" && !strings.Contains(out, "<<< TLS 1.3, Handshake [length 0005], KeyUpdate") {
				t.Fatalf("server did not answer with its own KeyUpdate:\n%s", out)
			}
		})
	}
}

// waitOutput waits up to 10 s for a peer's output to contain want.
func waitOutput(t *testing.T, p *peertest.Process, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := p.Output()
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s", want, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOpenSSLServer13: a reprise client against openssl s_server: every
// suite, group and key type; a HelloRetryRequest; PSK resumption with
// stateless and stateful tickets.
func TestOpenSSLServer13(t *testing.T) {
	peertest.Need(t, "openssl")
	for _, kind := range []peertest.CertKind{peertest.ECDSAP256, peertest.RSA2048, peertest.Ed25519} {
		pc := peertest.Certs(t, kind)
		addr, _ := peertest.OpenSSLServer(t, "-cert", pc.CertFile, "-key", pc.KeyFile, "-www", "-tls1_3")
		for _, s := range cipherSuites {
			if !s.tls13 {
				continue
			}
			for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
				ccfg := testClientConfig(t)
				ccfg.CipherSuites = []uint16{s.id}
				ccfg.CurvePreferences = []CurveID{g}
				st := dialResume(t, addr, ccfg, 0)[0]
				if st.Version != VersionTLS13 || st.CipherSuite != s.id || st.CurveID != g || st.HelloRetryRequest {
					t.Fatalf("%s %v %v: %+v", s.name, g, kind, st)
				}
			}
		}
	}
	pc := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("hello-retry-request", func(t *testing.T) {
		addr, _ := peertest.OpenSSLServer(t, "-cert", pc.CertFile, "-key", pc.KeyFile, "-www", "-tls1_3", "-groups", "P-384")
		st := dialResume(t, addr, testClientConfig(t), 0)[0]
		if !st.HelloRetryRequest || st.CurveID != CurveP384 {
			t.Fatalf("%+v", st)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"stateless", nil},
		{"stateful", []string{"-no_ticket"}},
		{"one-ticket", []string{"-num_tickets", "1"}},
	} {
		t.Run("resume/"+tc.name, func(t *testing.T) {
			addr, _ := peertest.OpenSSLServer(t, append([]string{"-cert", pc.CertFile, "-key", pc.KeyFile, "-www", "-tls1_3"}, tc.args...)...)
			for i, st := range dialResume(t, addr, resumeClient13(t), 3) {
				if st.DidResume != (i > 0) || (i > 0 && (st.Resumption != ResumedPSK || len(st.PeerCertificates) == 0)) {
					t.Fatalf("connection %d: %+v", i, st)
				}
			}
		})
	}
}

// TestClientAuthInterop: client certificates with openssl in both roles
// and both versions, on the full handshake and on every resumption, which
// must carry the certificate the full handshake verified.
func TestClientAuthInterop(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	client := peertest.ClientCert(t, peertest.ECDSAP256)
	for _, vers := range []struct {
		v    uint16
		flag string
		name string
		via  Resumption
	}{
		{VersionTLS12, "-tls1_2", "TLSv1.2", ResumedTicket},
		{VersionTLS13, "-tls1_3", "TLSv1.3", ResumedPSK},
	} {
		t.Run("openssl-client/"+vers.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.ClientAuth, scfg.ClientCAs = RequireAndVerifyClientCert, peertest.CAPool(t)
			addr := serveTCP(t, scfg)
			sess := filepath.Join(t.TempDir(), "sess.pem")
			base := []string{"s_client", "-connect", addr, vers.flag, "-CAfile", pc.CAFile, "-servername", "localhost",
				"-cert", client.CertFile, "-key", client.KeyFile, "-ign_eof"}
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_out", sess)...)
			// s_client sends its certificate with the CA it chains to.
			if err != nil || !strings.Contains(out, "resumed=false via=none client_certs=2") {
				t.Fatalf("full handshake: %v\n%s", err, out)
			}
			// A server keeps only the client's leaf in its sessions
			// (clientLeafOnly): the resumed connection shows that.
			out, err = peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_in", sess)...)
			if err != nil || !strings.Contains(out, "Reused, "+vers.name) ||
				!strings.Contains(out, fmt.Sprintf("resumed=true via=%s client_certs=1", vers.via)) {
				t.Fatalf("resumption: %v\n%s", err, out)
			}
		})
		t.Run("openssl-server/"+vers.name, func(t *testing.T) {
			addr, _ := peertest.OpenSSLServer(t, "-cert", pc.CertFile, "-key", pc.KeyFile, "-www", vers.flag,
				"-Verify", "1", "-CAfile", client.CAFile, "-verify_return_error")
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = vers.v
			ccfg.ClientSessionCache = NewLRUClientSessionCache(0)
			ccfg.Certificates = []Certificate{testClientCert(t)}
			for i := range 3 {
				c, err := DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, ccfg)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
				page, _ := io.ReadAll(io.LimitReader(c, 1<<16))
				st := c.ConnectionState()
				c.Close()
				if st.Version != vers.v || st.DidResume != (i > 0) || (i > 0 && st.Resumption != vers.via) {
					t.Fatalf("connection %d: %+v", i, st)
				}
				if !bytes.Contains(page, []byte("Client certificate")) {
					t.Fatalf("connection %d: s_server saw no client certificate:\n%s", i, page)
				}
			}
		})
	}
}

// TestGnuTLS13 covers both roles against GnuTLS with TLS 1.3 resumption.
func TestGnuTLS13(t *testing.T) {
	cli := peertest.Need(t, "gnutls-cli")
	peertest.Need(t, "gnutls-serv")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	const tls13Only = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
	for _, g := range []CurveID{X25519, CurveP256, CurveP384} {
		t.Run("gnutls-cli/"+g.String(), func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.CurvePreferences = []CurveID{g}
			hrrs := traceHRR(scfg)
			addr := serveTCP(t, scfg)
			out, err := peertest.Run(t, 30*time.Second, "", cli, "--x509cafile", pc.CAFile, "-p", port(addr),
				"--priority", tls13Only, "--resume", "--waitresumption", "127.0.0.1")
			if err != nil || !strings.Contains(out, "This is a resumed session") || !strings.Contains(out, "TLS1.3") {
				t.Fatalf("%v\n%s", err, out)
			}
			if k := scfg.Counters().Snapshot(); k.PSKResumed != 1 {
				t.Fatalf("counters %+v", k)
			}
			// gnutls-cli sends X25519 and P-256 shares: P-384 needs a
			// HelloRetryRequest on both connections, the resumed one too.
			if want := map[bool]int{true: 2, false: 0}[g == CurveP384]; hrrs() != want {
				t.Fatalf("%d HelloRetryRequests, want %d", hrrs(), want)
			}
		})
	}
	t.Run("gnutls-cli/rekey", func(t *testing.T) {
		addr := serveTCP(t, testServerConfig(t))
		out, err := peertest.Run(t, 30*time.Second, "^rekey^\nGET / HTTP/1.0\n\n", cli, "--x509cafile", pc.CAFile, "-p", port(addr),
			"--priority", tls13Only, "--inline-commands", "127.0.0.1")
		if err != nil || !strings.Contains(out, "Rekey was completed") || !strings.Contains(out, "resumed=false") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	for _, g := range []struct {
		id       CurveID
		priority string
	}{
		{X25519, tls13Only},
		{CurveP256, tls13Only + ":-GROUP-ALL:+GROUP-SECP256R1"},
		{CurveP384, tls13Only + ":-GROUP-ALL:+GROUP-SECP384R1"},
	} {
		t.Run("gnutls-serv/"+g.id.String(), func(t *testing.T) {
			addr, _ := peertest.GnuTLSServer(t, "--x509certfile", pc.CertFile, "--x509keyfile", pc.KeyFile, "--http", "--priority", g.priority)
			states := dialResume(t, addr, resumeClient13(t), 2)
			for i, st := range states {
				if st.Version != VersionTLS13 || st.CurveID != g.id || st.DidResume != (i > 0) {
					t.Fatalf("connection %d: %s", i, fmt.Sprintf("%+v", st))
				}
			}
		})
	}
}
