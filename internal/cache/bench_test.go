package cache

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const benchEntries = 1_000_000

var benchShards = 0

// benchKey writes the 32-byte key number i into buf: the size of a TLS 1.2
// session ID (RFC 5246, Section 7.4.1.2) or a typical ticket identity.
// Keys are made on the fly, as a server gets them from a ClientHello, so
// the benchmark measures the cache rather than fetching keys from a large
// slice (which on a virtual machine costs two TLB misses per operation).
func benchKey(i uint64, buf *[32]byte) {
	x := i * 0x9e3779b97f4a7c15 // spread the index over all 64 bits
	binary.LittleEndian.PutUint64(buf[0:], x)
	binary.LittleEndian.PutUint64(buf[8:], bits.RotateLeft64(x, 17)^0x243f6a8885a308d3)
	binary.LittleEndian.PutUint64(buf[16:], bits.RotateLeft64(x, 31)^0x13198a2e03707344)
	binary.LittleEndian.PutUint64(buf[24:], ^x)
}

type benchSession struct{ _ [48]byte } // the size of a master secret

// cpuTime returns the process's user+system CPU time. The benchmark reports
// operations per CPU-second as well as per wall-second, because wall time
// on a shared machine measures the neighbours as much as the cache.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParallelGetPut runs 80% Get / 20% Put over 1,000,000 preloaded
// entries from all GOMAXPROCS goroutines. Puts replace existing keys so the
// working set stays at 1,000,000 entries.
func BenchmarkParallelGetPut(b *testing.B) {
	sess := &benchSession{}
	// Room for every key even though hashing spreads them unevenly.
	c := New[*benchSession](Options{MaxEntries: 2 * benchEntries, Shards: benchShards})
	expires := time.Unix(1<<40, 0)
	var buf [32]byte
	for i := range uint64(benchEntries) {
		benchKey(i, &buf)
		c.Put(string(buf[:]), sess, 200, expires)
	}
	if c.Len() != benchEntries {
		b.Fatalf("Len = %d after preloading", c.Len())
	}
	now := time.Unix(1<<30, 0)
	var seed atomic.Uint64
	var misses atomic.Int64
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		// xorshift: cheap and goroutine-local, so the generator does not
		// dominate or serialise the benchmark.
		x := seed.Add(0x9e3779b97f4a7c15) | 1
		var key [32]byte
		missed := 0
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			hi, _ := bits.Mul64(x, benchEntries)
			benchKey(hi, &key)
			if x&0xff < 205 { // ≈80%
				if _, r := c.Get(string(key[:]), now); r != Hit {
					missed++
				}
			} else {
				c.Put(string(key[:]), sess, 200, expires)
			}
		}
		misses.Add(int64(missed))
	})
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if misses.Load() != 0 {
		b.Fatalf("%d Gets missed", misses.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "ops/cpu-s")
	}
}

// BenchmarkMemoryPerEntry measures the heap the cache itself uses for
// 1,000,000 entries with 32-byte keys and pointer values. The value is
// shared, so "bytes/entry" is the cache's overhead beyond the value:
// index, entry slot (key header, value pointer, expiry, size, list links)
// and the 32 bytes of key data.
func BenchmarkMemoryPerEntry(b *testing.B) {
	sess := &benchSession{}
	expires := time.Unix(1<<40, 0)
	var perEntry float64
	var buf [32]byte
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := New[*benchSession](Options{MaxEntries: 2 * benchEntries})
		for i := range uint64(benchEntries) {
			benchKey(i, &buf)
			c.Put(string(buf[:]), sess, 200, expires)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if c.Len() != benchEntries {
			b.Fatalf("Len = %d", c.Len())
		}
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / benchEntries
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perEntry, "bytes/entry")
}
