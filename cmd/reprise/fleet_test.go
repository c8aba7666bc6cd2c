package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFleetSecret writes a fleet secret file as the README tells an
// operator to (head -c 32 /dev/urandom | base64).
func writeFleetSecret(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "fleet.secret")
	if err := os.WriteFile(path, []byte("3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTicketSecretAndDerivedKeyFile: two `reprise serve --ticket-secret`
// nodes resume each other's tickets, and a node given the nginx key file
// that `ticketkey derive` writes from the same secret resumes them too: the
// file holds the key the nodes seal with now.
func TestTicketSecretAndDerivedKeyFile(t *testing.T) {
	dir := t.TempDir()
	secret := writeFleetSecret(t, dir)
	key := filepath.Join(dir, "nginx.key")
	mustSucceed(t, "ticketkey", "derive", "--secret", secret, "--format", "nginx", "--out", key)
	if st, err := os.Stat(key); err != nil || st.Size() != 80 || st.Mode().Perm() != 0o600 {
		t.Fatalf("derived nginx key file: %v, %v", st, err)
	}
	a := startServe(t, "--max-version", "1.2", "--ticket-secret", secret)
	b := startServe(t, "--max-version", "1.2", "--ticket-secret", secret)
	c := startServe(t, "--max-version", "1.2", "--ticket-keys", key)
	sess := filepath.Join(dir, "session.pem")
	mustSucceed(t, "connect", a.addr, "--insecure", "--sess-out", sess)
	for _, node := range []*serveProc{b, c} {
		r := mustSucceed(t, "connect", node.addr, "--insecure", "--sess-in", sess, "--json")
		wantResumptions(t, parseReports(t, r.stdout), "ticket")
	}

	// The HAProxy form: previous, current and next keys, base64 lines.
	r := mustSucceed(t, "ticketkey", "derive", "--secret", secret, "--format", "haproxy", "--at", "2026-01-02T15:04:05Z")
	if lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"); len(lines) != 3 {
		t.Fatalf("haproxy file:\n%s", r.stdout)
	}
	if again := mustSucceed(t, "ticketkey", "derive", "--secret", secret, "--format", "haproxy", "--at", "@1767366245"); again.stdout != r.stdout {
		t.Fatal("the same instant in two notations derived different keys")
	}
}

func TestTicketSecretBadInput(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("c2hvcnQ=\n"), 0o600)
	secret := writeFleetSecret(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--ticket-secret", short}, "at least 32"},
		{[]string{"serve", "--ticket-secret", secret, "--ticket-keys", secret}, "exclude"},
		{[]string{"serve", "--ticket-period", "1h"}, "needs --ticket-secret"},
		{[]string{"ticketkey", "derive"}, "--secret"},
		{[]string{"ticketkey", "derive", "--secret", secret, "--at", "yesterday"}, "--at"},
	} {
		r := runReprise(t, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
