package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// Interop: reprise serve and reprise connect against the openssl and
// GnuTLS binaries, the peers operators actually run.

// TestOpenSSLClientResumesAgainstServe: `s_client -reconnect` reconnects
// five times with the first session; all five resume.
func TestOpenSSLClientResumesAgainstServe(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		name  string
		serve []string
		flags []string
	}{
		{"session-id", []string{"--tickets", "off"}, []string{"-no_ticket"}},
		{"ticket", []string{"--session-cache", "off"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServe(t, append([]string{"--cert", cert.CertFile, "--key", cert.KeyFile, "--max-version", "1.2", "--json"}, tc.serve...)...)
			args := append([]string{"s_client", "-connect", s.addr, "-CAfile", cert.CAFile, "-servername", "localhost", "-tls1_2", "-reconnect"}, tc.flags...)
			out, err := peertest.Run(t, 30*time.Second, "", "openssl", args...)
			if err != nil {
				t.Fatalf("s_client: %v\n%s", err, out)
			}
			if n := strings.Count(out, "Reused, TLSv1.2"); n != 5 {
				t.Errorf("%d reused connections, want 5:\n%s", n, out)
			}
			reports := waitReports(t, s, 6)
			for _, r := range reports[1:] {
				if r.Resumption != tc.name {
					t.Errorf("server saw conn %d resume by %q, want %q", r.Conn, r.Resumption, tc.name)
				}
			}
		})
	}
}

// TestOpenSSLSessionFileAgainstServe: s_client's -sess_out/-sess_in across
// two processes resume against reprise serve: a TLS 1.2 session ID, and a
// TLS 1.3 ticket. (s_client -reconnect cannot show TLS 1.3 resumption: it
// reconnects before reading the tickets, against any server.)
func TestOpenSSLSessionFileAgainstServe(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		name, version, want string
		flags, serve        []string
	}{
		// TLS 1.2 by session ID; TLS 1.3 needs its tickets.
		{"session-id", "TLSv1.2", "session-id", []string{"-tls1_2", "-no_ticket"}, []string{"--max-version", "1.2", "--json"}},
		{"psk", "TLSv1.3", "psk", []string{"-tls1_3"}, []string{"--min-version", "1.3", "--json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServe(t, append([]string{"--cert", cert.CertFile, "--key", cert.KeyFile}, tc.serve...)...)
			sess := filepath.Join(t.TempDir(), "openssl.sess")
			base := append([]string{"s_client", "-connect", s.addr, "-CAfile", cert.CAFile, "-servername", "localhost", "-ign_eof"}, tc.flags...)
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", append(base, "-sess_out", sess)...)
			if err != nil || !strings.Contains(out, "New, "+tc.version) {
				t.Fatalf("first connection: %v\n%s", err, out)
			}
			out, err = peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", append(base, "-sess_in", sess)...)
			if err != nil || !strings.Contains(out, "Reused, "+tc.version) || !strings.Contains(out, "Resumed:         yes, by "+tc.want) {
				t.Fatalf("second connection did not resume: %v\n%s", err, out)
			}
			if r := waitReports(t, s, 2); r[1].Resumption != tc.want || r[1].Version != strings.Replace(tc.version, "v", "", 1) {
				t.Errorf("server saw %+v, want %s by %s", r[1], tc.version, tc.want)
			}
		})
	}
}

// connectResumes runs `reprise connect --reconnect 3` against addr at
// version ("1.2" or "1.3") and checks that connections 2 to 4 resume by
// want.
func connectResumes(t *testing.T, addr string, cert *peertest.Cert, version, want string, extra ...string) []connReport {
	t.Helper()
	args := append([]string{"connect", addr, "--ca", cert.CAFile, "--servername", "localhost",
		"--reconnect", "3", "--min-version", version, "--max-version", version, "--json"}, extra...)
	r := mustSucceed(t, args...)
	reports := parseReports(t, r.stdout)
	wantResumptions(t, reports, "none", want, want, want)
	wantVersion := "TLS" + version
	for _, rep := range reports {
		if rep.Version != wantVersion {
			t.Errorf("conn %d: %s, want %s", rep.Conn, rep.Version, wantVersion)
		}
	}
	return reports
}

func TestConnectAgainstOpenSSLServer(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("session-id", func(t *testing.T) {
		addr, _ := peertest.OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www", "-no_ticket")
		connectResumes(t, addr, cert, "1.2", "session-id", "--no-ticket")
	})
	t.Run("ticket", func(t *testing.T) {
		addr, _ := peertest.OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www", "-no_cache")
		connectResumes(t, addr, cert, "1.2", "ticket")
	})
	t.Run("psk", func(t *testing.T) {
		addr, _ := peertest.OpenSSLServer(t, "-cert", cert.CertFile, "-key", cert.KeyFile, "-www", "-tls1_3")
		connectResumes(t, addr, cert, "1.3", "psk")
	})
}

func TestConnectAgainstGnuTLSServer(t *testing.T) {
	peertest.Need(t, "gnutls-serv")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("session-id", func(t *testing.T) {
		addr, _ := peertest.GnuTLSServer(t, "--http", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile,
			"--priority", "NORMAL:%NO_TICKETS")
		for _, r := range connectResumes(t, addr, cert, "1.2", "session-id", "--no-ticket") {
			if !r.EMS {
				t.Errorf("conn %d: no extended master secret", r.Conn)
			}
		}
	})
	// Without RFC 7627 (standing in for OpenSSL 1.0.2): the sessions are
	// not EMS sessions and still resume.
	t.Run("no-ems", func(t *testing.T) {
		addr, _ := peertest.GnuTLSServer(t, "--http", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile,
			"--priority", "NORMAL:%NO_TICKETS:%NO_SESSION_HASH")
		for _, r := range connectResumes(t, addr, cert, "1.2", "session-id", "--no-ticket") {
			if r.EMS {
				t.Errorf("conn %d: EMS against a server without it", r.Conn)
			}
		}
	})
	t.Run("ticket", func(t *testing.T) {
		addr, _ := peertest.GnuTLSServer(t, "--http", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile,
			"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2")
		connectResumes(t, addr, cert, "1.2", "ticket")
	})
	t.Run("psk", func(t *testing.T) {
		addr, _ := peertest.GnuTLSServer(t, "--http", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile,
			"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3")
		connectResumes(t, addr, cert, "1.3", "psk")
	})
}

// TestGnuTLSClientResumesAgainstServe: gnutls-cli --resume with tickets
// off resumes by session ID. (gnutls-cli 3.7's --noticket still sends a
// TLS 1.2 ticket; the priority string really turns them off.)
func TestGnuTLSClientResumesAgainstServe(t *testing.T) {
	peertest.Need(t, "gnutls-cli")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	s := startServe(t, "--cert", cert.CertFile, "--key", cert.KeyFile, "--max-version", "1.2", "--json")
	_, port, _ := strings.Cut(s.addr, ":")
	out, err := peertest.Run(t, 20*time.Second, "", "gnutls-cli", "--x509cafile", cert.CAFile, "-p", port,
		"--resume", "--priority", "NORMAL:%NO_TICKETS", "127.0.0.1")
	if err != nil || !strings.Contains(out, "This is a resumed session") {
		t.Fatalf("gnutls-cli did not resume: %v\n%s", err, out)
	}
	if r := waitReports(t, s, 2); r[1].Resumption != "session-id" {
		t.Errorf("server saw %+v", r[1])
	}
}
