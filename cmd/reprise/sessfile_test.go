package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// Session files across tools: openssl s_client's -sess_out files resume in
// `reprise connect --sess-in`, and `reprise connect --sess-out F
// --sess-format openssl` files resume in `openssl s_client -sess_in`,
// against openssl s_server, for both versions.

var sessionFileCases = []struct {
	name, version string // version as s_client prints it
	server        []string
	client        []string // s_client flags
	connect       []string // reprise connect flags
	resumption    string   // reprise's JSON "resumption"
}{
	{"TLS1.2-ticket", "TLSv1.2", []string{"-tls1_2"}, []string{"-tls1_2"}, []string{"--max-version", "1.2"}, "ticket"},
	{"TLS1.2-session-id", "TLSv1.2", []string{"-tls1_2"}, []string{"-tls1_2", "-no_ticket"}, []string{"--max-version", "1.2", "--no-ticket"}, "session-id"},
	// RFC 8446, Section 4.6.1: a PSK resumes only with a suite of its hash,
	// and the server picks the suite first. openssl's clients prefer
	// TLS_AES_256_GCM_SHA384 and reprise's TLS_AES_128_GCM_SHA256, so
	// reprise offers (and makes) SHA-384 sessions here, as s_client does.
	{"TLS1.3", "TLSv1.3", []string{"-tls1_3"}, []string{"-tls1_3"}, []string{"--min-version", "1.3", "--ciphers", "TLS_AES_256_GCM_SHA384"}, "psk"},
}

// TestConnectResumesOpenSSLSessionFile: s_client saves, reprise resumes.
func TestConnectResumesOpenSSLSessionFile(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range sessionFileCases {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := peertest.OpenSSLServer(t, append([]string{"-cert", cert.CertFile, "-key", cert.KeyFile, "-www"}, tc.server...)...)
			sess := filepath.Join(t.TempDir(), "openssl.pem")
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", append([]string{"s_client", "-connect", addr,
				"-CAfile", cert.CAFile, "-servername", "localhost", "-ign_eof", "-sess_out", sess}, tc.client...)...)
			if err != nil || !strings.Contains(out, "New, "+tc.version) {
				t.Fatalf("s_client: %v\n%s", err, out)
			}
			r := mustSucceed(t, append([]string{"connect", addr, "--ca", cert.CAFile, "--servername", "localhost",
				"--sess-in", sess, "--json"}, tc.connect...)...)
			wantResumptions(t, parseReports(t, r.stdout), tc.resumption)
		})
	}
}

// TestOpenSSLResumesConnectSessionFile: reprise saves in OpenSSL's format,
// openssl sess_id prints it and s_client resumes with it.
func TestOpenSSLResumesConnectSessionFile(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range sessionFileCases {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := peertest.OpenSSLServer(t, append([]string{"-cert", cert.CertFile, "-key", cert.KeyFile, "-www"}, tc.server...)...)
			sess := filepath.Join(t.TempDir(), "reprise.pem")
			mustSucceed(t, append([]string{"connect", addr, "--ca", cert.CAFile, "--servername", "localhost",
				"--sess-out", sess, "--sess-format", "openssl"}, tc.connect...)...)
			data, err := os.ReadFile(sess)
			if err != nil || !strings.HasPrefix(string(data), "-----BEGIN SSL SESSION PARAMETERS-----") {
				t.Fatalf("session file: %v\n%s", err, data)
			}
			text, err := peertest.Run(t, 10*time.Second, "", "openssl", "sess_id", "-in", sess, "-text", "-noout")
			if err != nil || !strings.Contains(text, "Protocol  : "+tc.version) {
				t.Fatalf("openssl sess_id: %v\n%s", err, text)
			}
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", append([]string{"s_client", "-connect", addr,
				"-CAfile", cert.CAFile, "-servername", "localhost", "-ign_eof", "-sess_in", sess}, tc.client...)...)
			if err != nil || !strings.Contains(out, "Reused, "+tc.version) {
				t.Fatalf("s_client -sess_in did not resume: %v\n%s", err, out)
			}
		})
	}
}

func TestSessFormatFlags(t *testing.T) {
	r := runReprise(t, "connect", "127.0.0.1:1", "--sess-format", "gnutls")
	if r.code != 2 || !strings.Contains(r.stderr, "--sess-format") {
		t.Fatalf("connect: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runReprise(t, "serve", "--addr", "127.0.0.1:0", "--ticket-format", "boringssl")
	if r.code != 2 || !strings.Contains(r.stderr, "--ticket-format") {
		t.Fatalf("serve: exit %d, stderr %q", r.code, r.stderr)
	}
	// Without --cert, the self-signed certificate's nginx context is used.
	s := startServe(t, "--ticket-format", "openssl")
	if !strings.Contains(s.stdout.String(), "nginx's for this certificate") {
		t.Fatalf("serve did not say which session ID context it took:\n%s", s.stdout)
	}
}
