// Package cache is the in-memory store behind reprise's server session cache
// (TLS 1.2 session IDs, RFC 5246 Section 7.4.1.2; single-use TLS 1.3 ticket
// identities, RFC 8446 Section 4.6.1 and Section 8.1) and its client session
// cache.
//
// One Cache enforces an entry limit, an optional byte budget and a per-entry
// expiry at once, and evicts with a segmented LRU so that it resists scans:
// a new entry enters a probation segment; a hit promotes it to a protected
// segment that holds at most 80% of the room; eviction takes the least
// recently used probation entry first. A burst of one-time session IDs (a
// scan, or clients that never resume) therefore churns only the probation
// segment and cannot flush the sessions that are actually being resumed.
// Within each segment order is least recently used, exactly so in shards
// whose protected segment holds fewer than 256 entries. Larger ones run
// protected as a CLOCK: a hit on a protected entry only sets a reference
// mark on it, and a marked entry that reaches the tail goes back to the
// front unmarked instead of being demoted (a second chance), so a
// protected entry used since it last passed the front is never demoted.
// That saves relinking the entry (three scattered memory writes, each a
// cache miss on a large cache) on every hit. Probation, where scans land,
// stays exact LRU.
//
// The cache is split into shards, each with its own lock, entry limit and
// byte budget (the totals divided evenly), so that parallel handshakes do
// not contend on one lock. A key's shard is chosen by hash/maphash with a
// per-Cache random seed, so a peer cannot aim its session IDs at one shard
// without knowing the seed.
//
// Security contract: values typically hold master secrets or resumption
// PSKs. The cache drops its reference to a value (zeroing its entry, key
// bytes included) as soon as the entry is removed; wiping the secret itself is the owner's job, for
// which OnRemove reports every removal except replacement by Put. Keys come
// from the network (session IDs, ticket identities) and are attacker
// controlled: with the seeded hash, every operation takes expected O(1)
// time in the number of entries (Flush, Len and Bytes excepted), and memory
// is bounded by MaxEntries.
//
// All time-dependent methods take the time as a parameter so that expiry is
// testable; the cache never reads the clock itself.
package cache

import (
	"hash/maphash"
	"math"
	"runtime"
	"strconv"
	"time"
)

// DefaultMaxEntries is the entry limit used when Options.MaxEntries is 0.
// It matches OpenSSL's SSL_SESSION_CACHE_MAX_SIZE_DEFAULT (1024*20).
const DefaultMaxEntries = 20480

// Default sharding keeps at least this much room in each shard, so that a
// small cache is not cut into shards too small to hold a working set.
const (
	minDefaultShardEntries = 64
	minDefaultShardBytes   = 16 << 10
)

// Default sharding splits a large cache further, until a shard holds at
// most maxDefaultShardEntries, up to maxDefaultShards shards. On a cache
// much larger than the CPU caches the shard lock is held across a cache
// miss, so lock collisions are frequent with few shards; more shards cost
// only a few hundred bytes each. (With a million entries on 2 cores, 256
// shards gave about 20% more operations per CPU-second than 16.)
const (
	maxDefaultShardEntries = 8192
	maxDefaultShards       = 1024
)

// Options configures a Cache. The zero value is a usable configuration.
type Options struct {
	// MaxEntries bounds the number of entries; 0 means DefaultMaxEntries.
	// It is divided evenly among the shards and each shard enforces its
	// part, so the total never exceeds MaxEntries, though one shard may
	// evict while others still have room.
	MaxEntries int

	// MaxBytes bounds the sum of the sizes passed to Put; 0 (or negative)
	// means no byte budget. Like MaxEntries it is divided evenly among the
	// shards, so it should be much larger than Shards times the largest
	// entry: an entry bigger than a shard's budget is refused (reported as
	// evicted).
	MaxBytes int64

	// Shards is the number of independently locked shards. 0 picks a
	// default: the next power of two at or above 4*GOMAXPROCS, at least
	// 16, doubled while a shard would get more than 8192 entries (up to
	// 1024 shards), then halved while a shard would get fewer than 64
	// entries or (with a byte budget) 16 KiB. An explicit value is used as given,
	// except that it is capped at MaxEntries.
	Shards int

	// NoAutoClear leaves expired entries found by Get or Take in place
	// (still reported as ExpiredEntry, never as Hit) until Flush removes
	// them, like OpenSSL's SSL_SESS_CACHE_NO_AUTO_CLEAR.
	NoAutoClear bool

	// OnRemove, if set, is called once for every entry that leaves the
	// cache by eviction, expiry, Delete, Take or Flush, with the reason.
	// It is not called when Put replaces the value of an existing key.
	// It is called after the shard's lock is released, on the goroutine
	// whose operation removed the entry, so it may call back into the
	// cache; it may run concurrently with other operations and with other
	// OnRemove calls, and by the time it runs the key may already hold a
	// new value.
	OnRemove func(key string, v any, why RemoveReason)
}

// RemoveReason says why an entry left the cache.
type RemoveReason int

const (
	// Evicted: removed to make room for a Put (the cache_full counter),
	// or refused by Put because it alone exceeds the shard's byte budget.
	Evicted RemoveReason = iota
	// Expired: found expired by Get or Take and removed.
	Expired
	// Deleted: removed by Delete.
	Deleted
	// Taken: returned and removed by Take.
	Taken
	// Flushed: expired and removed by Flush.
	Flushed
)

func (r RemoveReason) String() string {
	switch r {
	case Evicted:
		return "evicted"
	case Expired:
		return "expired"
	case Deleted:
		return "deleted"
	case Taken:
		return "taken"
	case Flushed:
		return "flushed"
	}
	return "RemoveReason(" + strconv.Itoa(int(r)) + ")"
}

// Result is the outcome of a lookup.
type Result int

const (
	// Miss: no entry for the key.
	Miss Result = iota
	// Hit: a live entry; its value is returned.
	Hit
	// ExpiredEntry: the entry had expired. Its value is not returned, so
	// that an expired session cannot be resumed by mistake.
	ExpiredEntry
)

func (r Result) String() string {
	switch r {
	case Miss:
		return "miss"
	case Hit:
		return "hit"
	case ExpiredEntry:
		return "expired"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Cache is a sharded, bounded, expiring, scan-resistant map from string keys
// to values of type V. It is safe for concurrent use. Create it with New.
type Cache[V any] struct {
	seed        maphash.Seed
	shards      []shard[V]
	noAutoClear bool
	onRemove    func(key string, v any, why RemoveReason)
}

// New returns an empty Cache configured by o.
func New[V any](o Options) *Cache[V] {
	maxEntries := o.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	maxBytes := o.MaxBytes
	if maxBytes < 0 {
		maxBytes = 0
	}
	n := shardCount(o.Shards, maxEntries, maxBytes)
	// Slots are addressed by int32 indexes inside a shard: two sentinels
	// and a table of at most 1<<30 slots, which holds maxShardEntries.
	if per := maxEntries / n; per > maxShardEntries {
		maxEntries = maxShardEntries * n
	}

	c := &Cache[V]{
		seed:        maphash.MakeSeed(),
		shards:      make([]shard[V], n),
		noAutoClear: o.NoAutoClear,
		onRemove:    o.OnRemove,
	}
	for i := range c.shards {
		entries := maxEntries / n
		if i < maxEntries%n {
			entries++
		}
		bytes := int64(math.MaxInt64) // no budget
		if maxBytes > 0 {
			bytes = maxBytes / int64(n)
			if int64(i) < maxBytes%int64(n) {
				bytes++
			}
		}
		c.shards[i].init(entries, bytes, o.OnRemove != nil)
	}
	return c
}

func shardCount(requested, maxEntries int, maxBytes int64) int {
	if requested > 0 {
		return min(requested, maxEntries)
	}
	n := 16
	for n < 4*runtime.GOMAXPROCS(0) {
		n *= 2
	}
	for n < maxDefaultShards && maxEntries/n > maxDefaultShardEntries {
		n *= 2
	}
	for n > 1 && maxEntries/n < minDefaultShardEntries {
		n /= 2
	}
	for n > 1 && maxBytes > 0 && maxBytes/int64(n) < minDefaultShardBytes {
		n /= 2
	}
	return n
}

// shardFor hashes key once: the high half picks the shard, the low half is
// the key's hash inside the shard's table.
func (c *Cache[V]) shardFor(key string) (*shard[V], uint32) {
	h := maphash.String(c.seed, key)
	// Multiply-shift maps the hash's top 32 bits onto [0, n) without a
	// division and without requiring n to be a power of two.
	return &c.shards[((h>>32)*uint64(len(c.shards)))>>32], uint32(h)
}

// Put inserts v under key, or replaces the value of an existing key (which
// keeps its segment and counts as recently used). size is the
// caller's estimate of v's bytes, counted against MaxBytes; negative sizes
// count as 0. The entry expires at expires; the zero time means never.
//
// Put returns how many other entries it evicted to make room, for the
// cache_full counter. If v alone exceeds the shard's byte budget it is not
// stored, any old value for key is dropped, and Put returns 1 (the refused
// entry is reported to OnRemove as Evicted).
func (c *Cache[V]) Put(key string, v V, size int, expires time.Time) (evicted int) {
	s, hash := c.shardFor(key)
	s.mu.Lock()
	evicted, removed := s.put(key, hash, v, clampSize(size), expiryNanos(expires))
	s.mu.Unlock()
	c.notify(removed)
	return evicted
}

// Get returns the value for key if it is live at now, and promotes the entry
// to the protected segment, or marks it as used there (see the package
// documentation for the order within protected). An entry expired at
// now is reported as ExpiredEntry with the zero V, and removed (reason
// Expired) unless NoAutoClear is set.
func (c *Cache[V]) Get(key string, now time.Time) (V, Result) {
	s, hash := c.shardFor(key)
	s.mu.Lock()
	v, res, removed := s.get(key, hash, nowNanos(now), c.noAutoClear)
	s.mu.Unlock()
	c.notify(removed)
	return v, res
}

// Take removes and returns the value for key if it is live at now: an atomic
// get-and-delete, for single-use TLS 1.3 tickets (RFC 8446, Section 8.1).
// Of any number of concurrent Takes of one key, at most one returns Hit.
// Expired entries are handled as by Get.
func (c *Cache[V]) Take(key string, now time.Time) (V, Result) {
	s, hash := c.shardFor(key)
	s.mu.Lock()
	v, res, removed := s.take(key, hash, nowNanos(now), c.noAutoClear)
	s.mu.Unlock()
	c.notify(removed)
	return v, res
}

// Delete removes key, reporting whether it was present (expired or not).
func (c *Cache[V]) Delete(key string) bool {
	s, hash := c.shardFor(key)
	s.mu.Lock()
	ok, removed := s.delete(key, hash)
	s.mu.Unlock()
	c.notify(removed)
	return ok
}

// Flush removes every entry expired at now (reason Flushed) and returns how
// many it removed. It scans every shard, one lock at a time.
func (c *Cache[V]) Flush(now time.Time) int {
	t := nowNanos(now)
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n, removed := s.flush(t)
		s.mu.Unlock()
		c.notify(removed)
		total += n
	}
	return total
}

// Len returns the number of entries, expired ones not yet removed included.
func (c *Cache[V]) Len() int {
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		total += s.len()
		s.mu.Unlock()
	}
	return total
}

// Bytes returns the sum of the sizes of all entries.
func (c *Cache[V]) Bytes() int64 {
	var total int64
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		total += s.totalBytes()
		s.mu.Unlock()
	}
	return total
}

func (c *Cache[V]) notify(removed []removal[V]) {
	for _, r := range removed {
		c.onRemove(r.key, r.value, r.why)
	}
}

// Instants outside what int64 Unix nanoseconds can hold (before 1678 or after
// 2262) are clamped, because time.Time.UnixNano is undefined there.
var (
	minNanosTime = time.Unix(0, math.MinInt64)
	maxNanosTime = time.Unix(0, math.MaxInt64)
)

// expiryNanos converts an expiry to Unix nanoseconds; the zero time (and any
// time after 2262) means the entry never expires.
func expiryNanos(t time.Time) int64 {
	if t.IsZero() || t.After(maxNanosTime) {
		return math.MaxInt64
	}
	if t.Before(minNanosTime) {
		return math.MinInt64
	}
	return t.UnixNano()
}

// nowNanos converts the caller's notion of now to Unix nanoseconds. A zero
// now lies before every expiry, so nothing is expired at it; the result stays
// below math.MaxInt64, the stored value for "never expires".
func nowNanos(t time.Time) int64 {
	if t.Before(minNanosTime) {
		return math.MinInt64
	}
	if !t.Before(maxNanosTime) {
		return math.MaxInt64 - 1
	}
	return t.UnixNano()
}

func clampSize(size int) uint32 {
	if size <= 0 {
		return 0
	}
	if uint64(size) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(size)
}
