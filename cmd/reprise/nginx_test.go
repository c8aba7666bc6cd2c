package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// Mixed fleet: nginx and reprise serve load one ticket key file, and a
// client resumes on either whichever minted its ticket. The client is
// openssl s_client, saving its session with -sess_out on one server and
// offering it with -sess_in to the other.

type fleet struct {
	cert  *peertest.Cert
	keys  string
	nginx string
	serve *serveProc
}

func startFleet(t *testing.T, serveArgs ...string) *fleet {
	t.Helper()
	peertest.Need(t, "openssl")
	f := &fleet{cert: peertest.Certs(t, peertest.ECDSAP256)}
	f.keys = filepath.Join(t.TempDir(), "ticket.key")
	mustSucceed(t, "ticketkey", "new", "--out", f.keys)
	f.nginx, _ = peertest.NginxServer(t, peertest.NginxOptions{Cert: f.cert, TicketKeyFiles: []string{f.keys}})
	f.serve = startServe(t, append([]string{"--cert", f.cert.CertFile, "--key", f.cert.KeyFile,
		"--ticket-keys", f.keys, "--session-cache", "off", "--json"}, serveArgs...)...)
	return f
}

// sClient runs s_client against addr with a request, so that TLS 1.3
// tickets arrive before it exits, and returns its output.
func (f *fleet) sClient(t *testing.T, addr string, args ...string) string {
	t.Helper()
	out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", "openssl", append([]string{"s_client", "-connect", addr,
		"-CAfile", f.cert.CAFile, "-ign_eof"}, args...)...)
	if err != nil {
		t.Fatalf("s_client: %v\n%s", err, out)
	}
	return out
}

var fleetVersions = []struct {
	name, flag, printed, resumption, json string
}{
	{"TLS1.2", "-tls1_2", "TLSv1.2", "ticket", "TLS1.2"},
	{"TLS1.3", "-tls1_3", "TLSv1.3", "psk", "TLS1.3"},
}

// TestNginxTicketsResumeOnReprise: a session from nginx resumes on reprise.
func TestNginxTicketsResumeOnReprise(t *testing.T) {
	f := startFleet(t, "--ticket-format", "openssl")
	for i, v := range fleetVersions {
		t.Run(v.name, func(t *testing.T) {
			sess := filepath.Join(t.TempDir(), "nginx.pem")
			out := f.sClient(t, f.nginx, v.flag, "-servername", "localhost", "-sess_out", sess)
			if !strings.Contains(out, "New, "+v.printed) || !strings.Contains(out, "reused=.") {
				t.Fatalf("nginx: first connection\n%s", out)
			}
			out = f.sClient(t, f.serve.addr, v.flag, "-servername", "localhost", "-sess_in", sess)
			if !strings.Contains(out, "Reused, "+v.printed) {
				t.Fatalf("reprise did not resume nginx's session\n%s", out)
			}
			r := waitReports(t, f.serve, i+1)[i]
			if r.Resumption != v.resumption || r.Version != v.json || !r.EMS {
				t.Errorf("serve reported %+v, want %s by %s with EMS", r, v.json, v.resumption)
			}
		})
	}
}

// TestRepriseTicketsResumeOnNginx: with --ticket-format openssl, a session
// from reprise resumes on nginx.
func TestRepriseTicketsResumeOnNginx(t *testing.T) {
	f := startFleet(t, "--ticket-format", "openssl")
	for _, v := range fleetVersions {
		t.Run(v.name, func(t *testing.T) {
			sess := filepath.Join(t.TempDir(), "reprise.pem")
			out := f.sClient(t, f.serve.addr, v.flag, "-servername", "localhost", "-sess_out", sess)
			if !strings.Contains(out, "New, "+v.printed) {
				t.Fatalf("reprise: first connection\n%s", out)
			}
			out = f.sClient(t, f.nginx, v.flag, "-servername", "localhost", "-sess_in", sess)
			if !strings.Contains(out, "Reused, "+v.printed) || !strings.Contains(out, "reused=r") {
				t.Fatalf("nginx did not resume reprise's session\n%s", out)
			}
		})
	}
}

// TestNginxTicketOtherName: nginx's ticket for "localhost" offered under
// another name is refused, and serve says why.
func TestNginxTicketOtherName(t *testing.T) {
	f := startFleet(t, "--ticket-format", "openssl")
	sess := filepath.Join(t.TempDir(), "nginx.pem")
	f.sClient(t, f.nginx, "-tls1_2", "-servername", "localhost", "-sess_out", sess)
	out := f.sClient(t, f.serve.addr, "-tls1_2", "-servername", "other.example", "-sess_in", sess)
	if !strings.Contains(out, "New, TLSv1.2") {
		t.Fatalf("resumed under another name\n%s", out)
	}
	if r := waitReports(t, f.serve, 1)[0]; r.Resumed || r.Refused != "sni-mismatch" {
		t.Errorf("serve reported %+v, want refused sni-mismatch", r)
	}
}

// TestDefaultTicketFormatStillOpensNginx: minting our own format (the
// default) still opens nginx's tickets, given nginx's session ID context;
// nginx cannot open ours.
func TestDefaultTicketFormatStillOpensNginx(t *testing.T) {
	f := startFleet(t)
	sess := filepath.Join(t.TempDir(), "nginx.pem")
	f.sClient(t, f.nginx, "-tls1_2", "-servername", "localhost", "-sess_out", sess)
	out := f.sClient(t, f.serve.addr, "-tls1_2", "-servername", "localhost", "-sess_in", sess)
	// Without nginx's session ID context the ticket opens and decodes, and
	// the context check refuses it.
	if strings.Contains(out, "Reused,") {
		t.Fatalf("resumed across session ID contexts\n%s", out)
	}
	if r := waitReports(t, f.serve, 1)[0]; r.Refused != "context-mismatch" {
		t.Errorf("serve reported %+v, want refused context-mismatch", r)
	}
}

// TestConnectAcrossFleet is the README's tour: reprise connect saves its
// session on nginx and resumes it on reprise serve, and the reverse.
func TestConnectAcrossFleet(t *testing.T) {
	f := startFleet(t, "--ticket-format", "openssl")
	for _, v := range []string{"1.2", "1.3"} {
		t.Run(v, func(t *testing.T) {
			sess := filepath.Join(t.TempDir(), "s.pem")
			common := []string{"--ca", f.cert.CAFile, "--servername", "localhost", "--max-version", v, "--json"}
			mustSucceed(t, append([]string{"connect", f.nginx, "--sess-out", sess}, common...)...)
			r := mustSucceed(t, append([]string{"connect", f.serve.addr, "--sess-in", sess}, common...)...)
			if got := parseReports(t, r.stdout); len(got) != 1 || !got[0].Resumed {
				t.Fatalf("nginx's session on reprise: %+v", got)
			}
			mustSucceed(t, append([]string{"connect", f.serve.addr, "--sess-out", sess}, common...)...)
			r = mustSucceed(t, append([]string{"connect", f.nginx, "--sess-in", sess}, common...)...)
			if got := parseReports(t, r.stdout); len(got) != 1 || !got[0].Resumed {
				t.Fatalf("reprise's session on nginx: %+v", got)
			}
		})
	}
}
