package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/reprise-tls/reprise/internal/peertest"
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

// TestFleetOnRedis: three `reprise serve` nodes share one Redis and one
// secret; a client resumes on a node other than the one that made its
// session, by session ID, by TLS 1.2 ticket and by TLS 1.3 PSK, and Redis
// holds none of the master secrets the nodes logged.
func TestFleetOnRedis(t *testing.T) {
	dir := t.TempDir()
	secret := writeFleetSecret(t, dir)
	redisAddr, _ := peertest.RedisServer(t)
	cert := peertest.Certs(t, peertest.ECDSAP256)
	keylog := filepath.Join(dir, "keys.log")
	var nodes []*serveProc
	for range 3 {
		nodes = append(nodes, startServe(t, "--store", "redis://"+redisAddr+"/0", "--ticket-secret", secret, "--store-timeout", "5s",
			"--cert", cert.CertFile, "--key", cert.KeyFile, "--keylog", keylog, "--json"))
	}
	raw := goredis.NewClient(&goredis.Options{Addr: redisAddr, DisableIdentity: true})
	defer raw.Close()
	ctx := context.Background()
	connect := func(node *serveProc, args ...string) connReport {
		t.Helper()
		args = append([]string{"connect", node.addr, "--ca", cert.CAFile, "--servername", "localhost", "--json"}, args...)
		reports := parseReports(t, mustSucceed(t, args...).stdout)
		if len(reports) != 1 {
			t.Fatalf("%d reports", len(reports))
		}
		return reports[0]
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"session ID", []string{"--max-version", "1.2", "--no-ticket"}, "session-id"},
		{"TLS 1.2 ticket", []string{"--max-version", "1.2"}, "ticket"},
		{"TLS 1.3 PSK", []string{"--min-version", "1.3"}, "psk"},
	} {
		sess := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".pem")
		keysBefore := raw.DBSize(ctx).Val()
		connect(nodes[0], append(tc.args, "--sess-out", sess)...)
		if tc.want == "session-id" {
			// The node writes the session to Redis off the handshake's
			// critical path; wait until it is there.
			deadline := time.Now().Add(10 * time.Second)
			for raw.DBSize(ctx).Val() == keysBefore && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		}
		for _, other := range nodes[1:] {
			if r := connect(other, append(tc.args, "--sess-in", sess)...); r.Resumption != tc.want {
				t.Errorf("%s: resumed on another node by %q (refused %q), want %q", tc.name, r.Resumption, r.Refused, tc.want)
			}
		}
	}

	// Every value in Redis against every secret the nodes logged.
	keys := raw.Keys(ctx, "*").Val()
	if len(keys) == 0 {
		t.Fatal("Redis is empty")
	}
	logged, err := os.ReadFile(keylog)
	if err != nil {
		t.Fatal(err)
	}
	var secrets [][]byte
	for _, line := range strings.Split(string(logged), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "CLIENT_RANDOM" {
			s, _ := hex.DecodeString(f[2])
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		t.Fatal("no TLS 1.2 master secret in the key log")
	}
	for _, k := range keys {
		v, _ := raw.Get(ctx, k).Bytes()
		for _, s := range secrets {
			if bytes.Contains(v, s) {
				t.Fatalf("Redis key %s holds a master secret in clear", k)
			}
		}
	}
}

// TestBoltStoreSurvivesRestart: a session made before `reprise serve
// --store bolt:PATH` restarts resumes after it.
func TestBoltStoreSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	secret := writeFleetSecret(t, dir)
	db := filepath.Join(dir, "sessions.db")
	args := []string{"--store", "bolt:" + db, "--ticket-secret", secret, "--store-timeout", "5s", "--max-version", "1.2", "--tickets", "off"}
	sess := filepath.Join(dir, "session.pem")
	s := startServe(t, args...)
	mustSucceed(t, "connect", s.addr, "--insecure", "--no-ticket", "--sess-out", sess)
	// The session reaches the file off the critical path: wait until a
	// connection resumes it, which also proves it is there.
	resumed := false
	for deadline := time.Now().Add(10 * time.Second); !resumed && time.Now().Before(deadline); {
		r := mustSucceed(t, "connect", s.addr, "--insecure", "--no-ticket", "--sess-in", sess, "--json")
		resumed = parseReports(t, r.stdout)[0].Resumption == "session-id"
	}
	if !resumed {
		t.Fatal("the session never resumed on its own node")
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.wait(t); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}
	s = startServe(t, args...)
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--no-ticket", "--sess-in", sess, "--json")
	wantResumptions(t, parseReports(t, r.stdout), "session-id")
}
