package redis_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
	"github.com/reprise-tls/reprise/stores/redis"
)

// recorder keeps the first two writes of a client: its ClientHello and
// its early data, all an attacker needs to replay them.
type recorder struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.writes) < 2 {
		r.writes = append(r.writes, bytes.Clone(p))
	}
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// sendEarly connects with early data and returns what it sent first.
func sendEarly(t *testing.T, node *storetest.Node, ccfg *reprise.Config, data string) (reprise.ConnectionState, [][]byte) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", node.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	rec := &recorder{Conn: raw}
	c := reprise.Client(rec, ccfg)
	if err := c.SetEarlyData([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	io.ReadAll(c)
	return c.ConnectionState(), rec.writes
}

// replayTo sends a recorded flight to node as a new connection and
// returns the server's state: the attacker cannot finish the handshake.
func replayTo(t *testing.T, node *storetest.Node, flight [][]byte) reprise.ConnectionState {
	t.Helper()
	raw, err := net.DialTimeout("tcp", node.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range flight {
		raw.Write(w)
	}
	raw.(*net.TCPConn).CloseWrite()
	defer raw.Close()
	select {
	case r := <-node.Results:
		return r.State
	case <-time.After(10 * time.Second):
		t.Fatal("no server result for the replay")
	}
	return reprise.ConnectionState{}
}

// TestFleetEarlyDataReplay: two nodes behind a load balancer sharing a
// Redis strike register accept one ClientHello's early data once, whichever
// node the copies reach; with per-node memory registers the second node
// would accept a replay, which is the attack the shared register stops.
func TestFleetEarlyDataReplay(t *testing.T) {
	addr, _, _, raw := startRedis(t)
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "redis-register", false: "memory-registers"}[shared]
		t.Run(name, func(t *testing.T) {
			raw.FlushAll(context.Background())
			nodes, cfgs := fleet(t, addr, 2, func(c *reprise.Config) {
				c.MaxEarlyData = 1 << 14
				if shared {
					c.AntiReplay = c.SessionStore.(*redis.Store).StrikeRegister()
				}
			})
			ccfg := storetest.ClientConfig(t, reprise.VersionTLS13)
			storetest.MustConnect(t, nodes[0], ccfg)
			st, flight := sendEarly(t, nodes[0], ccfg, "POST /pay")
			if st.EarlyData != reprise.EarlyDataAccepted {
				t.Fatalf("0-RTT not accepted: %+v", st)
			}
			if r := <-nodes[0].Results; r.Err != nil || r.State.EarlyData != reprise.EarlyDataAccepted {
				t.Fatalf("node 0: %+v", r)
			}
			other := replayTo(t, nodes[1], flight)
			same := replayTo(t, nodes[0], flight)
			if same.EarlyData != reprise.EarlyDataRejected || same.EarlyDataRefused != reprise.RefusedEarlyReplay {
				t.Fatalf("replay to the same node: %q %q", same.EarlyData, same.EarlyDataRefused)
			}
			if !shared {
				if other.EarlyData != reprise.EarlyDataAccepted {
					t.Fatalf("per-node registers: the other node said %q", other.EarlyData)
				}
				return
			}
			if other.EarlyData != reprise.EarlyDataRejected || other.EarlyDataRefused != reprise.RefusedEarlyReplay {
				t.Fatalf("replay to the other node: %q %q", other.EarlyData, other.EarlyDataRefused)
			}
			if n := cfgs[1].Counters().Snapshot().EarlyDataReplayed; n != 1 {
				t.Fatalf("node 1 counted %d replays", n)
			}
			// One strike key, empty, expiring with the age window.
			var strikes int
			for k, v := range dump(t, raw) {
				if strings.HasPrefix(k, redis.DefaultStrikePrefix) {
					strikes++
					if len(v) != 0 {
						t.Fatalf("strike key %s holds %q", k, v)
					}
					if ttl := raw.PTTL(context.Background(), k).Val(); ttl <= 0 || ttl > time.Minute {
						t.Fatalf("strike key TTL %v", ttl)
					}
				}
			}
			if strikes != 1 {
				t.Fatalf("%d strike keys", strikes)
			}
		})
	}
}

// TestFleetEarlyDataRedisDown: with Redis stopped the register cannot be
// asked, so early data is rejected and the handshake still completes.
func TestFleetEarlyDataRedisDown(t *testing.T) {
	addr, p, _, _ := startRedis(t)
	nodes, cfgs := fleet(t, addr, 1, func(c *reprise.Config) {
		c.MaxEarlyData = 1 << 14
		c.AntiReplay = c.SessionStore.(*redis.Store).StrikeRegister()
		c.StoreTimeout = 200 * time.Millisecond
	})
	ccfg := storetest.ClientConfig(t, reprise.VersionTLS13)
	storetest.MustConnect(t, nodes[0], ccfg)
	p.Kill()
	st, _ := sendEarly(t, nodes[0], ccfg, "GET /")
	r := <-nodes[0].Results
	if r.Err != nil || st.EarlyData != reprise.EarlyDataRejected || r.State.EarlyDataRefused != reprise.RefusedStoreDown {
		t.Fatalf("client %q, server %+v", st.EarlyData, r)
	}
	if n := cfgs[0].Counters().Snapshot().EarlyDataRejected["store-unavailable"]; n != 1 {
		t.Fatalf("counted %d", n)
	}
}
