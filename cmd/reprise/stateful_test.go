package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// With --tickets off, TLS 1.3 still resumes through the session cache:
// serve issues stateful tickets, random identities of sessions kept in
// --store and taken on first use, as OpenSSL and nginx do.

// TestConnectStatefulTicketsAgainstServe: connect --reconnect 2 resumes
// each time by PSK; with --session-cache off too there are no tickets.
func TestConnectStatefulTicketsAgainstServe(t *testing.T) {
	s := startServe(t, "--tickets", "off", "--json")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--servername", "localhost",
		"--min-version", "1.3", "--reconnect", "2", "--json")
	wantResumptions(t, parseReports(t, r.stdout), "none", "psk", "psk")
	wantResumptions(t, waitReports(t, s, 3), "none", "psk", "psk")

	off := startServe(t, "--tickets", "off", "--session-cache", "off", "--json")
	r = mustSucceed(t, "connect", off.addr, "--insecure", "--servername", "localhost",
		"--min-version", "1.3", "--reconnect", "1", "--json")
	wantResumptions(t, parseReports(t, r.stdout), "none", "none")
}

// TestOpenSSLStatefulTicketsAgainstServe: s_client -sess_out/-sess_in
// resumes TLS 1.3 against serve --tickets off, and the same ticket
// offered a second time is refused: it was taken on first use.
func TestOpenSSLStatefulTicketsAgainstServe(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	s := startServe(t, "--cert", cert.CertFile, "--key", cert.KeyFile, "--tickets", "off", "--json")
	sess := filepath.Join(t.TempDir(), "openssl.sess")
	base := []string{"s_client", "-connect", s.addr, "-CAfile", cert.CAFile, "-servername", "localhost", "-ign_eof", "-tls1_3"}
	const req = "GET / HTTP/1.0\r\n\r\n"
	out, err := peertest.Run(t, 20*time.Second, req, "openssl", append(base, "-sess_out", sess)...)
	if err != nil || !strings.Contains(out, "New, TLSv1.3") {
		t.Fatalf("first connection: %v\n%s", err, out)
	}
	out, err = peertest.Run(t, 20*time.Second, req, "openssl", append(base, "-sess_in", sess)...)
	if err != nil || !strings.Contains(out, "Reused, TLSv1.3") || !strings.Contains(out, "Resumed:         yes, by psk") {
		t.Fatalf("second connection did not resume: %v\n%s", err, out)
	}
	out, err = peertest.Run(t, 20*time.Second, req, "openssl", append(base, "-sess_in", sess)...)
	if err != nil || !strings.Contains(out, "New, TLSv1.3") {
		t.Fatalf("the ticket resumed twice: %v\n%s", err, out)
	}
	r := waitReports(t, s, 3)
	wantResumptions(t, r, "none", "psk", "none")
	if r[2].Refused != "unknown-session" {
		t.Errorf("second use refused as %q, want unknown-session", r[2].Refused)
	}
}

// TestGnuTLSStatefulTicketsAgainstServe: gnutls-cli --resume
// --waitresumption resumes TLS 1.3 against serve --tickets off.
func TestGnuTLSStatefulTicketsAgainstServe(t *testing.T) {
	peertest.Need(t, "gnutls-cli")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	s := startServe(t, "--cert", cert.CertFile, "--key", cert.KeyFile, "--tickets", "off", "--json")
	_, port, _ := strings.Cut(s.addr, ":")
	out, err := peertest.Run(t, 20*time.Second, "", "gnutls-cli", "--x509cafile", cert.CAFile, "-p", port,
		"--resume", "--waitresumption", "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "127.0.0.1")
	if err != nil || !strings.Contains(out, "This is a resumed session") {
		t.Fatalf("gnutls-cli did not resume: %v\n%s", err, out)
	}
	if r := waitReports(t, s, 2); r[1].Resumption != "psk" || r[1].Version != "TLS1.3" {
		t.Errorf("server saw %+v", r[1])
	}
}
