package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// TestServeConnectEarlyData: `connect --early-data` against `serve
// --early-data on --echo`: the first connection has no session (none),
// the resumed ones send the text as 0-RTT data, which the server echoes.
func TestServeConnectEarlyData(t *testing.T) {
	srv := startServe(t, "--echo", "--early-data", "on")
	r := mustSucceed(t, "connect", srv.addr, "--insecure", "--early-data", `ping\n`, "--reconnect", "2", "--json")
	reps := parseReports(t, r.stdout)
	if len(reps) != 3 {
		t.Fatalf("%d reports:\n%s", len(reps), r.stdout)
	}
	for i, want := range []string{"none", "accepted", "accepted"} {
		if reps[i].EarlyData != want {
			t.Fatalf("conn %d: early_data %q, want %q\n%s", i+1, reps[i].EarlyData, want, r.stdout)
		}
	}
	// A node without --early-data, sharing the ticket secret, resumes
	// the session but skips its early data; connect sends the text again
	// in 1-RTT and the echo comes back all the same.
	dir := t.TempDir()
	secret := writeFleetSecret(t, dir)
	on := startServe(t, "--echo", "--early-data", "on", "--ticket-secret", secret)
	off := startServe(t, "--echo", "--ticket-secret", secret)
	sess := filepath.Join(dir, "sess.pem")
	mustSucceed(t, "connect", on.addr, "--insecure", "--sess-out", sess)
	r = mustSucceed(t, "connect", off.addr, "--insecure", "--sess-in", sess, "--early-data", `ping\n`)
	if !strings.Contains(r.stdout, "resumed=psk") || !strings.Contains(r.stdout, "early_data=rejected") || strings.Count(r.stdout, "ping") != 1 {
		t.Fatalf("rejected early data:\n%s", r.stdout)
	}
}

// TestServeEarlyDataFlags: the flags' checks.
func TestServeEarlyDataFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--early-data", "maybe"},
		{"serve", "--early-data", "on", "--anti-replay", "disk"},
		{"serve", "--early-data", "on", "--anti-replay", "store"}, // no Redis store
	} {
		if r := runReprise(t, args...); r.code != 2 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

// TestServeEarlyDataRedisFleet: two `serve` nodes with --anti-replay store
// share the strike register in Redis; connect's 0-RTT is accepted by
// whichever node it reaches.
func TestServeEarlyDataRedisFleet(t *testing.T) {
	redisAddr, _ := peertest.RedisServer(t)
	dir := t.TempDir()
	secret := writeFleetSecret(t, dir)
	var addrs []string
	for range 2 {
		n := startServe(t, "--echo", "--early-data", "on", "--anti-replay", "store",
			"--store", "redis://"+redisAddr+"/0", "--ticket-secret", secret, "--store-timeout", "5s")
		addrs = append(addrs, n.addr)
	}
	sess := filepath.Join(dir, "sess.pem")
	mustSucceed(t, "connect", addrs[0], "--insecure", "--sess-out", sess)
	r := mustSucceed(t, "connect", addrs[1], "--insecure", "--sess-in", sess, "--early-data", `x\n`, "--json")
	reps := parseReports(t, r.stdout)
	if len(reps) != 1 || !reps[0].Resumed || reps[0].EarlyData != "accepted" {
		t.Fatalf("%s", r.stdout)
	}
}
