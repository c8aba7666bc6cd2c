package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// probeJSONKeys are the contract's fields of `probe --json`, in order.
var probeJSONKeys = []string{"address", "server_name", "starttls", "versions",
	"session_id", "tickets", "ticket_lifetime_hint", "ticket_renewal", "ems", "ems_downgrade_refused", "sni_bound",
	"tls13_psk", "tls13_tickets", "tls13_tickets_on_resumption", "tls13_ticket_lifetime", "tls13_age_add",
	"ticket_reuse", "psk_ke", "psk_dhe_ke", "ftp_reuse_required", "connections", "details"}

// runProbeJSON runs `reprise probe --json` and decodes its object,
// checking the contract: the fields in order, each finding with a reason,
// and the connection bound.
func runProbeJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	r := mustSucceed(t, append([]string{"probe", "--json"}, args...)...)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("probe output %q", r.stdout)
	}
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if fmt.Sprint(keys) != fmt.Sprint(probeJSONKeys) {
		t.Fatalf("probe JSON keys\n got %v\nwant %v", keys, probeJSONKeys)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	details := m["details"].(map[string]any)
	for _, k := range probeFindings {
		if d, _ := details[k].(string); d == "" {
			t.Errorf("finding %s = %v has no reason in details", k, m[k])
		}
	}
	if n := m["connections"].(float64); n < 1 || n > probeMaxConnections {
		t.Errorf("%v connections", n)
	}
	return m
}

// wantFindings compares findings: true, false, nil (null) or a number.
func wantFindings(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if n, ok := w.(int); ok {
			w = float64(n)
		}
		if got[k] != w {
			t.Errorf("%s = %v, want %v (%v)", k, got[k], w, got["details"].(map[string]any)[k])
		}
	}
}

var bothVersions = []any{"TLS1.2", "TLS1.3"}

func TestProbeOpenSSL(t *testing.T) {
	peertest.Need(t, "openssl")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		name  string
		flags []string
		want  map[string]any
	}{
		{"default", nil, map[string]any{
			"session_id": true, "tickets": true, "ticket_lifetime_hint": 7200, "ticket_renewal": false,
			"ems": true, "ems_downgrade_refused": true,
			// OpenSSL resumes a TLS 1.2 session offered under another name.
			"sni_bound": false,
			"tls13_psk": true, "tls13_tickets": 2, "tls13_tickets_on_resumption": 1, "tls13_ticket_lifetime": 7200,
			"tls13_age_add": true, "ticket_reuse": true,
			// SSL_OP_ALLOW_NO_DHE_KEX is off by default.
			"psk_ke": false, "psk_dhe_ke": true, "ftp_reuse_required": nil}},
		// -no_ticket: no RFC 5077 tickets; TLS 1.3 then uses stateful
		// tickets (session IDs in the cache), still resumable.
		{"no_ticket", []string{"-no_ticket"}, map[string]any{
			"session_id": true, "tickets": false, "ticket_lifetime_hint": nil, "ticket_renewal": nil,
			"ems": true, "ems_downgrade_refused": true, "sni_bound": false,
			"tls13_psk": true, "psk_dhe_ke": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := peertest.OpenSSLServer(t, append([]string{"-cert", cert.CertFile, "-key", cert.KeyFile, "-www"}, tc.flags...)...)
			got := runProbeJSON(t, addr, "--servername", "localhost")
			if fmt.Sprint(got["versions"]) != fmt.Sprint(bothVersions) {
				t.Errorf("versions %v", got["versions"])
			}
			wantFindings(t, got, tc.want)
		})
	}
}

func TestProbeGnuTLS(t *testing.T) {
	peertest.Need(t, "gnutls-serv")
	cert := peertest.Certs(t, peertest.ECDSAP256)
	addr, _ := peertest.GnuTLSServer(t, "--http", "--x509certfile", cert.CertFile, "--x509keyfile", cert.KeyFile)
	got := runProbeJSON(t, addr, "--servername", "localhost")
	wantFindings(t, got, map[string]any{
		"session_id": true, "tickets": true, "ems": true,
		// GnuTLS declines the downgraded resumption with a full
		// handshake, not the abort RFC 7627, Section 5.3 asks for.
		"ems_downgrade_refused": true,
		"sni_bound":             true,
		"tls13_psk":             true, "tls13_age_add": true, "ticket_reuse": true, "psk_dhe_ke": true,
	})
	if d := got["details"].(map[string]any)["ems_downgrade_refused"].(string); !strings.Contains(d, "full handshake") {
		t.Errorf("ems_downgrade_refused detail %q", d)
	}
}

// TestProbeServe: every --tickets/--session-cache setting of reprise serve
// shows in the findings.
func TestProbeServe(t *testing.T) {
	cert := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range []struct {
		tickets, cache string
		want           map[string]any
	}{
		{"on", "on", map[string]any{"session_id": true, "tickets": true, "ticket_lifetime_hint": 300,
			"ems": true, "ems_downgrade_refused": true, "sni_bound": true,
			"tls13_psk": true, "tls13_tickets": 2, "tls13_ticket_lifetime": 604800, "ticket_reuse": true,
			"psk_ke": false, "psk_dhe_ke": true}},
		{"on", "off", map[string]any{"session_id": false, "tickets": true, "ems_downgrade_refused": true,
			"sni_bound": true, "tls13_psk": true}},
		// Tickets off with the cache on: TLS 1.3 resumes by stateful
		// tickets, single-use, living the session timeout.
		{"off", "on", map[string]any{"session_id": true, "tickets": false, "ticket_lifetime_hint": nil,
			"ems_downgrade_refused": true, "sni_bound": true, "tls13_psk": true, "tls13_tickets": 2,
			"tls13_ticket_lifetime": 300, "ticket_reuse": false}},
		// Both off: no TLS 1.3 tickets either.
		{"off", "off", map[string]any{"session_id": false, "tickets": false, "ems": true,
			"ems_downgrade_refused": nil, "sni_bound": nil, "tls13_psk": false, "ticket_reuse": nil}},
	} {
		t.Run("tickets="+tc.tickets+",cache="+tc.cache, func(t *testing.T) {
			s := startServe(t, "--cert", cert.CertFile, "--key", cert.KeyFile, "--tickets", tc.tickets, "--session-cache", tc.cache)
			got := runProbeJSON(t, s.addr, "--servername", "localhost")
			if fmt.Sprint(got["versions"]) != fmt.Sprint(bothVersions) {
				t.Errorf("versions %v", got["versions"])
			}
			wantFindings(t, got, tc.want)
		})
	}
}

// TestProbeMaxVersion: --max-version 1.2 leaves every TLS 1.3 finding
// null, with the reason.
func TestProbeMaxVersion(t *testing.T) {
	cert := peertest.Certs(t, peertest.ECDSAP256)
	s := startServe(t, "--cert", cert.CertFile, "--key", cert.KeyFile)
	got := runProbeJSON(t, s.addr, "--servername", "localhost", "--max-version", "1.2")
	wantFindings(t, got, map[string]any{"session_id": true, "tls13_psk": nil, "ticket_reuse": nil, "psk_ke": nil})
	if d := got["details"].(map[string]any)["tls13_psk"]; d != "not tested: --max-version 1.2" {
		t.Errorf("tls13_psk detail %q", d)
	}
	human := mustSucceed(t, "probe", s.addr, "--servername", "localhost", "--max-version", "1.2").stdout
	for _, line := range []string{"versions                     TLS1.2\n", "session_id                   yes        ", "tls13_psk                    n/a        not tested"} {
		if !strings.Contains(human, line) {
			t.Errorf("human output lacks %q:\n%s", line, human)
		}
	}
}

// TestProbeVSFTPD: vsftpd with require_ssl_reuse=YES, through --starttls
// ftp. Its session cache lives in the process that serves one control
// connection, so session IDs do not resume across connections while
// tickets do; and a data connection must resume the control session.
func TestProbeVSFTPD(t *testing.T) {
	cert := peertest.Certs(t, peertest.RSA2048)
	v := peertest.StartVSFTPD(t, cert)
	for _, version := range []string{"1.2", "1.3"} {
		t.Run(version, func(t *testing.T) {
			got := runProbeJSON(t, v.Addr, "--servername", "localhost", "--starttls", "ftp", "--max-version", version)
			want := map[string]any{"starttls": "ftp", "session_id": false, "tickets": true, "ems": true,
				"ems_downgrade_refused": true, "ftp_reuse_required": true}
			if version == "1.3" {
				want["tls13_psk"] = true
			}
			wantFindings(t, got, want)
			if d := got["details"].(map[string]any)["ftp_reuse_required"].(string); !strings.Contains(d, "522") {
				t.Errorf("ftp_reuse_required detail %q\nvsftpd log:\n%s", d, v.Log())
			}
		})
	}
	// A wrong login says why the FTP check was not made.
	got := runProbeJSON(t, v.Addr, "--servername", "localhost", "--starttls", "ftp", "--max-version", "1.2", "--ftp-login", "nobody-here:x")
	if got["ftp_reuse_required"] != nil {
		t.Errorf("ftp_reuse_required %v with a refused login", got["ftp_reuse_required"])
	}
}

// TestConnectStartTLSFTP: `connect --starttls ftp` upgrades the control
// connection as s_client -starttls ftp does, shows the FTP dialogue in the
// trace, and a second control connection resumes by ticket.
func TestConnectStartTLSFTP(t *testing.T) {
	cert := peertest.Certs(t, peertest.RSA2048)
	v := peertest.StartVSFTPD(t, cert)
	r := mustSucceed(t, "connect", v.Addr, "--starttls", "ftp", "--ca", cert.CAFile, "--servername", "localhost",
		"--max-version", "1.2", "--reconnect", "1", "--json", "--trace")
	wantResumptions(t, parseReports(t, r.stdout), "none", "ticket")
	for _, s := range []string{"ftp <- 220", "ftp -> AUTH TLS", "ftp <- 234", "-> ClientHello"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("trace lacks %q:\n%s", s, r.stderr)
		}
	}
	bad := runReprise(t, "connect", v.Addr, "--starttls", "smtp", "--insecure")
	if bad.code != 2 || !bytes.Contains([]byte(bad.stderr), []byte("only ftp")) {
		t.Errorf("--starttls smtp: exit %d %s", bad.code, bad.stderr)
	}
}

// TestProbeTLS13Only: against a TLS 1.3-only server every TLS 1.2 finding
// is null, and SNI binding is checked with a TLS 1.3 ticket.
func TestProbeTLS13Only(t *testing.T) {
	cert := peertest.Certs(t, peertest.ECDSAP256)
	s := startServe(t, "--cert", cert.CertFile, "--key", cert.KeyFile, "--min-version", "1.3")
	got := runProbeJSON(t, s.addr, "--servername", "localhost")
	if fmt.Sprint(got["versions"]) != "[TLS1.3]" {
		t.Errorf("versions %v", got["versions"])
	}
	wantFindings(t, got, map[string]any{"session_id": nil, "tickets": nil, "ems": nil, "ems_downgrade_refused": nil,
		"tls13_psk": true, "sni_bound": true})
	if d := got["details"].(map[string]any)["sni_bound"].(string); !strings.Contains(d, "TLS1.3") {
		t.Errorf("sni_bound detail %q", d)
	}
}

// TestProbeBadInput: usage errors exit 2, an unreachable server 1.
func TestProbeBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"probe"},
		{"probe", "127.0.0.1:1", "--starttls", "smtp"},
		{"probe", "127.0.0.1:1", "--starttls", "ftp", "--ftp-login", "nocolon"},
		{"probe", "127.0.0.1:1", "--max-version", "1.1"},
		{"probe", "no-port"},
	} {
		if r := runReprise(t, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	addr := peertest.FreeAddr(t)
	r := runReprise(t, "probe", addr)
	if r.code != 1 || !strings.Contains(r.stderr, "no handshake succeeded") {
		t.Errorf("unreachable: exit %d\n%s", r.code, r.stderr)
	}
}
