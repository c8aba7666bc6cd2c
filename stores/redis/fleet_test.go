package redis_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
	"github.com/reprise-tls/reprise/stores/redis"
)

var fleetSecret = bytes.Repeat([]byte{0xf1}, 32)

// fleet starts n in-process nodes that share the Redis at addr and one
// secret, as n servers behind a load balancer would.
func fleet(t *testing.T, addr string, n int, configure func(*reprise.Config)) ([]*storetest.Node, []*reprise.Config) {
	t.Helper()
	var nodes []*storetest.Node
	var cfgs []*reprise.Config
	for range n {
		store, err := redis.Open("redis://"+addr+"/0", reprise.FleetStoreKey(fleetSecret))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		keys, err := reprise.NewDerivedTicketKeys(fleetSecret, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := storetest.ServerConfig(t)
		cfg.SessionStore = store
		cfg.TicketKeys = keys
		if configure != nil {
			configure(cfg)
		}
		cfgs = append(cfgs, cfg)
		nodes = append(nodes, storetest.StartNode(t, cfg))
	}
	return nodes, cfgs
}

// TestFleetSingleUseTicketsAndSealedPSKs: with single-use TLS 1.3 tickets
// in Redis, a ticket from one node resumes on another, exactly once; the
// PSKs the clients hold are not in Redis in clear.
func TestFleetSingleUseTicketsAndSealedPSKs(t *testing.T) {
	addr, _, _, raw := startRedis(t)
	nodes, _ := fleet(t, addr, 3, func(c *reprise.Config) { c.SingleUseTickets = true })

	ccfg := storetest.ClientConfig(t, reprise.VersionTLS13)
	storetest.MustConnect(t, nodes[0], ccfg)
	// The client holds two tickets, whose sessions reach Redis off the
	// critical path.
	waitForKeys(t, raw, 2)
	held := ccfg.ClientSessionCache.Get("localhost")
	if held == nil {
		t.Fatal("the client holds no ticket")
	}
	psk := storetest.Secret(t, held)
	for k, v := range dump(t, raw) {
		if bytes.Contains(v, psk) {
			t.Fatalf("Redis key %s holds a resumption PSK in clear", k)
		}
	}

	// Offer the held ticket on node 1: it resumes; offered again on
	// node 2 it is gone.
	one := storetest.ClientConfig(t, reprise.VersionTLS13)
	one.Session = held
	one.ClientSessionCache = nil
	c, s := storetest.MustConnect(t, nodes[1], one)
	if !c.DidResume || s.Resumption != reprise.ResumedPSK {
		t.Fatalf("first use on another node: client %+v server %+v", c, s)
	}
	c, s = storetest.MustConnect(t, nodes[2], one)
	if c.DidResume || s.Refused != reprise.RefusedUnknownSession {
		t.Fatalf("second use: client resumed %v, server refused %q", c.DidResume, s.Refused)
	}
}

// TestFleetFlippedByteRefused: an entry altered in Redis is refused by
// the node that reads it, which says so and runs a full handshake.
func TestFleetFlippedByteRefused(t *testing.T) {
	addr, _, _, raw := startRedis(t)
	nodes, cfgs := fleet(t, addr, 2, func(c *reprise.Config) { c.SessionTicketsDisabled = true })
	ctx := context.Background()
	ccfg := storetest.ClientConfig(t, reprise.VersionTLS12)
	ccfg.SessionTicketsDisabled = true
	storetest.MustConnect(t, nodes[0], ccfg)
	waitForKeys(t, raw, 1)
	for k, v := range dump(t, raw) {
		v[len(v)/2] ^= 0x80
		raw.Set(ctx, k, v, time.Minute)
	}
	c, s := storetest.MustConnect(t, nodes[1], ccfg)
	if c.DidResume || s.Refused != reprise.RefusedStoreEntry {
		t.Fatalf("altered entry: client resumed %v, server refused %q", c.DidResume, s.Refused)
	}
	if k := cfgs[1].Counters().Snapshot(); k.StoreErrors+k.StoreTimeouts != 0 || k.Misses != 0 {
		t.Fatalf("an altered entry is neither an outage nor a miss: %+v", k)
	}
}

// TestFleetSurvivesRedisOutage: under a steady load of resuming clients,
// Redis is frozen (SIGSTOP), then killed: not one connection fails, the
// nodes make full handshakes and say why ("store-unavailable"); once
// Redis is back, sessions resume again.
func TestFleetSurvivesRedisOutage(t *testing.T) {
	addr, proc, _, _ := startRedis(t)
	nodes, cfgs := fleet(t, addr, 3, func(c *reprise.Config) {
		c.SessionTicketsDisabled = true // sessions by ID, all through Redis
		c.StoreTimeout = 200 * time.Millisecond
	})

	// load runs `rounds` connections from each of 4 clients, spread over
	// the nodes, each client offering its latest session, and returns how
	// many failed and how many resumed.
	load := func(rounds int) (failed, resumed int64) {
		var wg sync.WaitGroup
		var nf, nr atomic.Int64
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ccfg := storetest.ClientConfig(t, reprise.VersionTLS12)
				ccfg.SessionTicketsDisabled = true
				for i := range rounds {
					st, err := storetest.Connect(nodes[(w+i)%len(nodes)].Addr, ccfg)
					if err != nil {
						nf.Add(1)
						t.Logf("client %d round %d: %v", w, i, err)
						continue
					}
					if st.DidResume {
						nr.Add(1)
					}
					time.Sleep(20 * time.Millisecond) // let the node's off-path Put land before the next node looks
				}
			}()
		}
		wg.Wait()
		for _, n := range nodes { // drain the servers' reports
			for len(n.Results) > 0 {
				if r := <-n.Results; r.Err != nil {
					nf.Add(1)
					t.Logf("server: %v", r.Err)
				}
			}
		}
		return nf.Load(), nr.Load()
	}

	if failed, resumed := load(10); failed != 0 || resumed == 0 {
		t.Fatalf("Redis up: %d failed, %d resumed", failed, resumed)
	}

	proc.Signal(syscall.SIGSTOP)
	failed, _ := load(10)
	if failed != 0 {
		t.Fatalf("Redis frozen: %d connections failed", failed)
	}
	var unavailable int64
	for _, c := range cfgs {
		unavailable += c.Counters().Snapshot().Refusals[string(reprise.RefusedStoreDown)]
	}
	if unavailable == 0 {
		t.Fatal("no handshake explained the outage as store-unavailable")
	}

	proc.Kill()
	if failed, resumed := load(10); failed != 0 || resumed != 0 {
		t.Fatalf("Redis killed: %d failed, %d resumed", failed, resumed)
	}

	peertest.RedisServerAt(t, addr)
	// Connections resume again once sessions made since the restart are
	// in Redis; the store reconnects by itself.
	var resumed int64
	for attempt := 0; resumed == 0 && attempt < 5; attempt++ {
		var failed int64
		failed, resumed = load(5)
		if failed != 0 {
			t.Fatalf("Redis back: %d connections failed", failed)
		}
	}
	if resumed == 0 {
		t.Fatal("no resumption after Redis came back")
	}
	for i, c := range cfgs {
		t.Logf("node %d: %s", i, fmt.Sprintf("%+v", c.Counters().Snapshot()))
	}
}
