package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvoyTicketKey: `ticketkey new --format envoy` writes Envoy's
// 80-byte key, which is nginx's 80-byte layout: a server reading it as
// Envoy's and one reading it as nginx's resume each other's tickets.
func TestEnvoyTicketKey(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "envoy.key")
	mustSucceed(t, "ticketkey", "new", "--format", "envoy", "--out", keys)
	if st, err := os.Stat(keys); err != nil || st.Size() != 80 || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if r := runReprise(t, "ticketkey", "new", "--format", "envoy", "--bits", "128"); r.code != 2 || !strings.Contains(r.stderr, "80 bytes") {
		t.Fatalf("128-bit Envoy key: exit %d, %q", r.code, r.stderr)
	}
	envoy := startServe(t, "--max-version", "1.2", "--ticket-keys", keys, "--ticket-key-format", "envoy")
	nginx := startServe(t, "--max-version", "1.2", "--ticket-keys", keys, "--ticket-key-format", "nginx")
	sess := filepath.Join(t.TempDir(), "s.pem")
	mustSucceed(t, "connect", envoy.addr, "--insecure", "--sess-out", sess)
	r := mustSucceed(t, "connect", nginx.addr, "--insecure", "--sess-in", sess, "--json")
	wantResumptions(t, parseReports(t, r.stdout), "ticket")
}
