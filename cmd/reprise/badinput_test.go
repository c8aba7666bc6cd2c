package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
)

// hangUpServer accepts connections and closes each after reading the
// first bytes: a peer that hangs up mid-handshake.
func hangUpServer(t *testing.T, reply []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 512)
			c.Read(buf)
			c.Write(reply)
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestBadInput: every mistake is one line "reprise: ..." on stderr and a
// non-zero exit, never a panic trace.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	shortKey := filepath.Join(dir, "short.key")
	if err := os.WriteFile(shortKey, make([]byte, 50), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a session\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	hangUp := hangUpServer(t, nil)
	notTLS := hangUpServer(t, []byte("220 hello, this is not TLS\r\n"))

	for _, tc := range []struct {
		name string
		args []string
		code int    // exit status, 1 for failures, 2 for usage
		want string // in the error line
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"connect", "127.0.0.1:1", "--bogus"}, 2, "bogus"},
		{"serve unknown flag", []string{"serve", "-nope"}, 2, "nope"},
		{"missing address", []string{"connect"}, 2, "HOST:PORT"},
		{"bad address", []string{"connect", "no-port-here"}, 2, "bad address"},
		{"two addresses", []string{"connect", "a:1", "b:2"}, 2, "exactly one"},
		{"bad version", []string{"connect", "127.0.0.1:1", "--max-version", "1.1"}, 2, "max-version"},
		{"versions reversed", []string{"serve", "--min-version", "1.3", "--max-version", "1.2"}, 2, "min-version"},
		{"bad cipher", []string{"connect", "127.0.0.1:1", "--ciphers", "TLS_RSA_WITH_RC4_128_MD5"}, 2, "unknown cipher suite"},
		{"bad group", []string{"serve", "--groups", "x448"}, 2, "unknown group"},
		{"bad on/off", []string{"serve", "--session-cache", "maybe"}, 2, "session-cache"},
		{"bad verify-client", []string{"serve", "--verify-client", "always"}, 2, "verify-client"},
		{"www and echo", []string{"serve", "--www", "--echo"}, 2, "exclude"},
		{"store without secret", []string{"serve", "--store", "redis://127.0.0.1:6379"}, 2, "--ticket-secret"},
		{"unknown store", []string{"serve", "--store", "mongodb://x"}, 2, "--store"},
		{"zero store timeout", []string{"serve", "--store-timeout", "0s"}, 2, "--store-timeout"},
		{"missing cert", []string{"serve", "--cert", filepath.Join(dir, "none.crt"), "--key", filepath.Join(dir, "none.key")}, 1, "none.crt"},
		{"cert without key", []string{"serve", "--cert", "x.crt"}, 2, "--cert and --key"},
		{"missing ticket keys", []string{"serve", "--ticket-keys", filepath.Join(dir, "none.key")}, 1, "none.key"},
		{"wrong-size ticket keys", []string{"serve", "--ticket-keys", shortKey}, 1, "ticket key file"},
		{"bad key format", []string{"serve", "--ticket-key-format", "gnutls"}, 2, "ticket-key-format"},
		{"port in use", []string{"serve", "--addr", busy.Addr().String()}, 1, "address already in use"},
		{"bad listen address", []string{"serve", "--addr", "nonsense"}, 1, "nonsense"},
		{"connection refused", []string{"connect", closedAddr, "--insecure"}, 1, "connection refused"},
		{"peer hangs up", []string{"connect", hangUp, "--insecure"}, 1, "handshake"},
		{"peer is not TLS", []string{"connect", notTLS, "--insecure"}, 1, "handshake"},
		{"unreadable sess-in", []string{"connect", closedAddr, "--sess-in", filepath.Join(dir, "none.pem")}, 1, "sess-in"},
		{"garbage sess-in", []string{"connect", closedAddr, "--sess-in", garbage}, 1, "sess-in"},
		{"bad CA file", []string{"connect", closedAddr, "--ca", garbage}, 1, "no PEM certificates"},
		{"ticketkey bits", []string{"ticketkey", "new", "--bits", "100", "--out", filepath.Join(dir, "k")}, 2, "bits"},
		{"ticketkey format", []string{"ticketkey", "new", "--format", "gnutls"}, 2, "format"},
		{"ticketkey verb", []string{"ticketkey", "old"}, 2, "ticketkey new"},
		{"bench without address", []string{"bench"}, 2, "HOST:PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runReprise(t, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "reprise: ") || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr is not one line \"reprise: ...%s...\":\n%s", tc.want, r.stderr)
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("panic trace:\n%s", r.stderr)
			}
		})
	}
}

// TestServeSurvivesBadClients: handshake failures are logged one line
// each and the server keeps serving.
func TestServeSurvivesBadClients(t *testing.T) {
	s := startServe(t, "--max-version", "1.2")
	for _, junk := range []string{"GET / HTTP/1.0\r\n\r\n", "\x16\x03\x01\x00\x05hello", ""} {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		c.Close()
	}
	mustSucceed(t, "connect", s.addr, "--insecure")
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(s.stderr.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		if !strings.HasPrefix(line, "reprise: serve: conn ") {
			t.Errorf("log line %q", line)
		}
	}
}

func TestHelpers(t *testing.T) {
	if got := string(unescape(`GET / HTTP/1.0\r\n\r\n\\x\q`)); got != "GET / HTTP/1.0\r\n\r\n\\x\\q" {
		t.Errorf("unescape: %q", got)
	}
	groups, err := parseGroups("x25519, P-256,secp384r1,X25519MLKEM768")
	if err != nil || len(groups) != 4 || groups[1] != reprise.CurveP256 || groups[2] != reprise.CurveP384 {
		t.Errorf("parseGroups: %v %v", groups, err)
	}
	suites, err := parseCiphers("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256")
	if err != nil || len(suites) != 2 || suites[0] != reprise.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("parseCiphers: %v %v", suites, err)
	}
	if colonHex([]byte{0xab, 0x01}) != "AB:01" {
		t.Error("colonHex")
	}
}
