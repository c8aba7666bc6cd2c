package redis_test

import (
	"testing"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
)

// TestFleetStatefulTicketsWithTicketsOff: with stateless tickets off
// (serve --tickets off) TLS 1.3 resumes through Redis: a stateful ticket
// one node issued resumes on another node sharing the Redis, once.
func TestFleetStatefulTicketsWithTicketsOff(t *testing.T) {
	addr, _, _, raw := startRedis(t)
	nodes, cfgs := fleet(t, addr, 2, func(c *reprise.Config) { c.SessionTicketsDisabled = true })

	ccfg := storetest.ClientConfig(t, reprise.VersionTLS13)
	storetest.MustConnect(t, nodes[0], ccfg)
	// The two tickets' sessions reach Redis off the critical path.
	waitForKeys(t, raw, 2)
	held := ccfg.ClientSessionCache.Get("localhost")
	if held == nil || !held.HasTicket() {
		t.Fatal("the client holds no ticket")
	}
	one := storetest.ClientConfig(t, reprise.VersionTLS13)
	one.Session = held
	one.ClientSessionCache = nil
	c, s := storetest.MustConnect(t, nodes[1], one)
	if !c.DidResume || s.Resumption != reprise.ResumedPSK {
		t.Fatalf("on another node: client %+v server %+v", c, s)
	}
	c, s = storetest.MustConnect(t, nodes[0], one)
	if c.DidResume || s.Refused != reprise.RefusedUnknownSession {
		t.Fatalf("second use: client resumed %v, server refused %q", c.DidResume, s.Refused)
	}
	if k := cfgs[1].Counters().Snapshot(); k.PSKResumed != 1 || k.StoreErrors != 0 {
		t.Fatalf("node 1 counters %+v", k)
	}
}
