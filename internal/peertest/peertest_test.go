package peertest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var allKinds = []CertKind{ECDSAP256, ECDSAP384, RSA2048, Ed25519}

var tlsVersions = []struct {
	name    string
	version uint16
}{
	{"TLS12", tls.VersionTLS12},
	{"TLS13", tls.VersionTLS13},
}

func TestCertsVerify(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind.String(), func(t *testing.T) {
			server := Certs(t, kind)
			for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
				_, err := server.Leaf.Verify(x509.VerifyOptions{
					DNSName:   name,
					Roots:     CAPool(t),
					KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				})
				if err != nil {
					t.Errorf("server cert for %s: %v", name, err)
				}
			}
			client := ClientCert(t, kind)
			if client.Leaf.Subject.CommonName != "client" {
				t.Errorf("client CN = %q", client.Leaf.Subject.CommonName)
			}
			if _, err := client.Leaf.Verify(x509.VerifyOptions{
				Roots:     CAPool(t),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}); err != nil {
				t.Errorf("client cert: %v", err)
			}
			for _, c := range []*Cert{server, client} {
				if _, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
					t.Errorf("X509KeyPair: %v", err)
				}
				if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
					t.Errorf("LoadX509KeyPair: %v", err)
				}
				caPEM, err := os.ReadFile(c.CAFile)
				if err != nil {
					t.Fatal(err)
				}
				if !x509.NewCertPool().AppendCertsFromPEM(caPEM) {
					t.Errorf("CAFile %s holds no certificate", c.CAFile)
				}
			}
			// The cache must hand out the same key, not generate a new one.
			if again := Certs(t, kind); !again.Leaf.Equal(server.Leaf) {
				t.Errorf("Certs(%v) not cached", kind)
			}
		})
	}
}

func TestCappedBuffer(t *testing.T) {
	b := newCappedBuffer()
	chunk := strings.Repeat("x", maxOutput/2+1)
	b.Write([]byte(chunk))
	b.Write([]byte(chunk))
	out := b.String()
	if !strings.Contains(out, "bytes of output dropped") {
		t.Errorf("no truncation note in output")
	}
	if len(out) > maxOutput+100 {
		t.Errorf("kept %d bytes, cap is %d", len(out), maxOutput)
	}
}

func TestStartWaitsForCompleteLine(t *testing.T) {
	// Like gnutls-serv: the ready text appears before the line is finished.
	p := Start(t, "sh", []string{"-c", "printf 'listening...'; sleep 0.3; echo done; exec sleep 60"}, "listening")
	if !strings.Contains(p.Output(), "listening...done") {
		t.Fatalf("Start returned before the ready line was complete: %q", p.Output())
	}
	if err := p.Wait(50 * time.Millisecond); err == nil {
		t.Fatalf("Wait: want a timeout error, the process is still running")
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	_, err := start(t, "sh", []string{"-c", "echo boom; exit 3"}, "never printed", "")
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("err = %v, want an early-exit error with the output", err)
	}
}

func TestStartReportsFailureLine(t *testing.T) {
	began := time.Now()
	_, err := start(t, "sh", []string{"-c", "echo 'bind() failed: Address already in use'; exec sleep 60"}, "never printed", "bind() failed")
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want the failure line", err)
	}
	if time.Since(began) > 5*time.Second {
		t.Errorf("failure line noticed only after %v", time.Since(began))
	}
}

func TestProcessSend(t *testing.T) {
	p := Start(t, "cat", nil, "")
	if err := p.Send("hello\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Output(), "hello") {
		if time.Now().After(deadline) {
			t.Fatalf("cat did not echo: %q", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	began := time.Now()
	// The backgrounded sleep keeps stdout open; only a group kill ends it
	// before WaitDelay.
	out, err := Run(t, 300*time.Millisecond, "", "sh", "-c", "echo started; sleep 60 & wait")
	if err == nil || !strings.Contains(err.Error(), "killed after") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if !strings.Contains(out, "started") {
		t.Errorf("output = %q", out)
	}
	if elapsed := time.Since(began); elapsed > waitDelay {
		t.Errorf("Run took %v; the process group was not killed", elapsed)
	}
}

func TestRunStdinAndExitCode(t *testing.T) {
	out, err := Run(t, 10*time.Second, "ping\n", "sh", "-c", "read line; echo got $line; exit 2")
	if !strings.Contains(out, "got ping") {
		t.Errorf("output = %q", out)
	}
	var exitErr interface{ ExitCode() int }
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
		t.Errorf("err = %v, want exit status 2", err)
	}
}

// goClient connects with crypto/tls, trusting only the test CA.
func goClient(t *testing.T, addr string, version uint16) *tls.Conn {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{
		RootCAs:    CAPool(t),
		ServerName: "localhost",
		MinVersion: version,
		MaxVersion: version,
	})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return conn
}

func httpGet(t *testing.T, conn *tls.Conn) string {
	t.Helper()
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	body, err := io.ReadAll(io.LimitReader(conn, 1<<20))
	if err != nil && len(body) == 0 {
		t.Fatalf("read: %v", err)
	}
	return string(body)
}

func TestGoClientOpenSSLServer(t *testing.T) {
	for _, kind := range allKinds {
		for _, v := range tlsVersions {
			t.Run(kind.String()+"/"+v.name, func(t *testing.T) {
				cert := Certs(t, kind)
				addr, p := OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www")
				conn := goClient(t, addr, v.version)
				if got := httpGet(t, conn); !strings.HasPrefix(got, "HTTP/1.0 200 ok") {
					t.Fatalf("response %q\nserver output:\n%s", got, p.Output())
				}
				if conn.ConnectionState().Version != v.version {
					t.Errorf("negotiated %x", conn.ConnectionState().Version)
				}
			})
		}
	}
}

func TestOpenSSLServerQuiet(t *testing.T) {
	cert := Certs(t, ECDSAP256)
	addr, _ := OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www", "-quiet")
	if got := httpGet(t, goClient(t, addr, tls.VersionTLS13)); !strings.HasPrefix(got, "HTTP/1.0 200 ok") {
		t.Fatalf("response %q", got)
	}
}

func TestGoClientGnuTLSServer(t *testing.T) {
	for _, kind := range []CertKind{ECDSAP256, RSA2048} {
		for _, v := range tlsVersions {
			t.Run(kind.String()+"/"+v.name+"/http", func(t *testing.T) {
				cert := Certs(t, kind)
				addr, p := GnuTLSServer(t, "--http", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile)
				if got := httpGet(t, goClient(t, addr, v.version)); !strings.HasPrefix(got, "HTTP/1.0 200 OK") {
					t.Fatalf("response %q\nserver output:\n%s", got, p.Output())
				}
			})
			t.Run(kind.String()+"/"+v.name+"/echo", func(t *testing.T) {
				cert := Certs(t, kind)
				addr, p := GnuTLSServer(t, "--echo", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile)
				conn := goClient(t, addr, v.version)
				if _, err := io.WriteString(conn, "ping\n"); err != nil {
					t.Fatal(err)
				}
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil || line != "ping\n" {
					t.Fatalf("echo = %q, %v\nserver output:\n%s", line, err, p.Output())
				}
			})
		}
	}
}

// goServer serves crypto/tls on loopback; each connection reads one line,
// reports it on the returned channel, answers "pong\n" and closes.
func goServer(t *testing.T, cert *Cert, version uint16) (string, <-chan string) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert.TLSCertificate()},
		MinVersion:   version,
		MaxVersion:   version,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	lines := make(chan string, 16)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadString('\n')
				if err != nil {
					return
				}
				select {
				case lines <- line:
				default:
				}
				io.WriteString(conn, "pong\n")
			}()
		}
	}()
	return l.Addr().String(), lines
}

func expectLine(t *testing.T, lines <-chan string, want, peerOutput string) {
	t.Helper()
	select {
	case got := <-lines:
		if got != want {
			t.Fatalf("server read %q, want %q\npeer output:\n%s", got, want, peerOutput)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("server read nothing\npeer output:\n%s", peerOutput)
	}
}

func TestOpenSSLClientGoServer(t *testing.T) {
	for _, kind := range []CertKind{ECDSAP256, RSA2048} {
		for _, v := range tlsVersions {
			t.Run(kind.String()+"/"+v.name, func(t *testing.T) {
				cert := Certs(t, kind)
				addr, lines := goServer(t, cert, v.version)
				out, err := Run(t, 20*time.Second, "ping\n", "openssl", "s_client",
					"-connect", addr, "-servername", "localhost",
					"-CAfile", cert.CAFile, "-verify_return_error", "-ign_eof")
				if err != nil {
					t.Fatalf("s_client: %v\n%s", err, out)
				}
				expectLine(t, lines, "ping\n", out)
				for _, want := range []string{"pong", "Verify return code: 0 (ok)"} {
					if !strings.Contains(out, want) {
						t.Errorf("s_client output lacks %q:\n%s", want, out)
					}
				}
			})
		}
	}
}

func TestGnuTLSClientGoServer(t *testing.T) {
	for _, kind := range []CertKind{ECDSAP256, RSA2048} {
		for _, v := range []struct{ name, priority string }{
			{"TLS12", "NORMAL:-VERS-ALL:+VERS-TLS1.2"},
			{"TLS13", "NORMAL:-VERS-ALL:+VERS-TLS1.3"},
		} {
			t.Run(kind.String()+"/"+v.name, func(t *testing.T) {
				cert := Certs(t, kind)
				addr, lines := goServer(t, cert, 0)
				host, port, _ := net.SplitHostPort(addr)
				out, err := Run(t, 20*time.Second, "ping\n", "gnutls-cli",
					"--x509cafile", cert.CAFile, "--verify-hostname", "localhost",
					"--priority", v.priority, "-p", port, host)
				if err != nil {
					t.Fatalf("gnutls-cli: %v\n%s", err, out)
				}
				expectLine(t, lines, "ping\n", out)
				if !strings.Contains(out, "Handshake was completed") {
					t.Errorf("gnutls-cli output lacks the handshake line:\n%s", out)
				}
			})
		}
	}
}

// The resumption command lines documented in doc.go, run peer against
// itself: if one stops working after a peer upgrade, this says so before
// the reprise interop tests fail mysteriously.

func TestDocOpenSSLReconnect(t *testing.T) {
	cert := Certs(t, ECDSAP256)
	addr, _ := OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www")
	for _, extra := range [][]string{nil, {"-no_ticket"}} {
		args := append([]string{"s_client", "-connect", addr, "-CAfile", cert.CAFile, "-tls1_2", "-reconnect"}, extra...)
		out, err := Run(t, 30*time.Second, "", "openssl", args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", extra, err, out)
		}
		if strings.Count(out, "Reused, TLSv1.2") != 5 {
			t.Errorf("%v: want 5 resumed reconnections:\n%s", extra, out)
		}
	}
}

func TestDocOpenSSLSessionFile(t *testing.T) {
	cert := Certs(t, ECDSAP256)
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		t.Run(v, func(t *testing.T) {
			addr, _ := OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www")
			sess := filepath.Join(t.TempDir(), "session.pem")
			// Sending a request and waiting for the reply gives a TLS 1.3
			// server time to deliver its NewSessionTicket.
			out, err := Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", "s_client",
				"-connect", addr, "-CAfile", cert.CAFile, v, "-ign_eof", "-sess_out", sess)
			if err != nil || !strings.Contains(out, "New, TLSv1.") {
				t.Fatalf("first connection: %v\n%s", err, out)
			}
			out, err = Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", "s_client",
				"-connect", addr, "-CAfile", cert.CAFile, v, "-ign_eof", "-sess_in", sess)
			if err != nil || !strings.Contains(out, "Reused, TLSv1.") {
				t.Fatalf("second connection did not resume: %v\n%s", err, out)
			}
		})
	}
}

func TestDocGnuTLSResume(t *testing.T) {
	cert := Certs(t, ECDSAP256)
	addr, p := GnuTLSServer(t, "--echo", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile)
	_, port, _ := net.SplitHostPort(addr)
	for _, priority := range []string{
		"NORMAL:-VERS-ALL:+VERS-TLS1.2",             // ticket (RFC 5077)
		"NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS", // session ID
		"NORMAL:-VERS-ALL:+VERS-TLS1.3",             // PSK (RFC 8446, Section 2.2)
	} {
		out, err := Run(t, 20*time.Second, "ping\n", "gnutls-cli", "--resume", "--waitresumption",
			"--x509cafile", cert.CAFile, "--priority", priority, "-p", port, "127.0.0.1")
		if err != nil {
			t.Fatalf("%s: %v\n%s", priority, err, out)
		}
		if !strings.Contains(out, "This is a resumed session") {
			t.Errorf("%s: not resumed:\n%s\nserver:\n%s", priority, out, p.Output())
		}
	}
}

// recordingTB records how Need gave up instead of stopping the test.
type recordingTB struct {
	testing.TB
	fatal, skipped bool
}

func (r *recordingTB) Helper()                      {}
func (r *recordingTB) Fatalf(string, ...any)        { r.fatal = true }
func (r *recordingTB) Skipf(string, ...any)         { r.skipped = true }
func (r *recordingTB) Logf(format string, a ...any) {}

func TestNeedMissingBinary(t *testing.T) {
	const missing = "reprise-peertest-no-such-binary"
	t.Setenv("CI", "true")
	onCI := &recordingTB{TB: t}
	Need(onCI, missing)
	if !onCI.fatal || onCI.skipped {
		t.Errorf("CI=true: fatal=%v skipped=%v, want a failure", onCI.fatal, onCI.skipped)
	}
	t.Setenv("CI", "")
	onLaptop := &recordingTB{TB: t}
	Need(onLaptop, missing)
	if onLaptop.fatal || !onLaptop.skipped {
		t.Errorf("CI unset: fatal=%v skipped=%v, want a skip", onLaptop.fatal, onLaptop.skipped)
	}
	if path := Need(t, "sh"); !filepath.IsAbs(path) {
		t.Errorf("Need(sh) = %q, want an absolute path", path)
	}
}
