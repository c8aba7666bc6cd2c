package reprise

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// storeSessions is how many sessions the store benchmarks preload.
const storeSessions = 1_000_000

func benchSession(i int, now time.Time) (*Session, []byte) {
	id := make([]byte, 32)
	binary.BigEndian.PutUint64(id, uint64(i))
	return &Session{version: VersionTLS12, cipherSuite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		secret: make([]byte, 48), ems: true, id: id, created: now, lifetime: time.Hour}, id
}

// BenchmarkSessionStore runs parallel Get (80%) and Put (20%) on the
// default in-memory store holding a million sessions; ops/s is reported.
// As in a server, the ID being looked up is fresh in the CPU's cache (it
// just arrived in a ClientHello) and so is a session being stored (the
// handshake just made it): IDs are built on the fly, and Puts reuse a few
// hot sessions, so the benchmark measures the store, not its own arrays.
//
// Two sizes: a store with headroom (room for two million), as a server's
// would be configured, and one filled exactly to capacity, where every hit
// in the probation segment moves entries between segments.
func BenchmarkSessionStore(b *testing.B) {
	for _, capacity := range []int{2 * storeSessions, storeSessions} {
		b.Run(fmt.Sprintf("capacity=%dM", capacity/1_000_000), func(b *testing.B) {
			benchStore(b, capacity)
		})
	}
}

func benchStore(b *testing.B, capacity int) {
	now := time.Now()
	m := newMemorySessionCache(capacity, false, nil, nil, func() time.Time { return now })
	hot := make([]*Session, 64)
	for i := range storeSessions {
		s, id := benchSession(i, now)
		m.Put(context.Background(), id, s)
		if i < len(hot) {
			hot[i] = s
		}
	}
	ctx := context.Background()
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		x := seed.Add(0x9E3779B97F4A7C15)
		var id [32]byte
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			i := x % storeSessions
			binary.BigEndian.PutUint64(id[:], i)
			if x&0xff < 51 {
				m.Put(ctx, id[:], hot[x>>58])
			} else {
				m.Get(ctx, id[:])
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkSessionStoreMemory reports the store's own bytes per session:
// heap growth from filling it, less the sessions themselves (their ID,
// secret and struct), measured with runtime.MemStats.
func BenchmarkSessionStoreMemory(b *testing.B) {
	for range b.N {
		now := time.Now()
		sessions := make([]*Session, storeSessions)
		ids := make([][]byte, storeSessions)
		for i := range storeSessions {
			sessions[i], ids[i] = benchSession(i, now)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := newMemorySessionCache(storeSessions, false, nil, nil, func() time.Time { return now })
		for i := range storeSessions {
			m.Put(context.Background(), ids[i], sessions[i])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/storeSessions, "bytes/session")
		runtime.KeepAlive(m)
		runtime.KeepAlive(sessions)
	}
}
