package cache

import (
	"math"
	"sync"
)

// A shard keeps its entries in one slice and threads them onto two circular
// doubly linked lists (probation and protected) by int32 index. Compared with
// one heap object per entry this saves the per-object header and pointer
// words, keeps entries together in memory, and lets freed entries be reused
// through a free list without touching the allocator.
//
// Entries 0 and 1 are the list sentinels; a list's next from its sentinel is
// its most recently used entry, prev its least recently used.
//
// Keys are found through table, an open-addressing hash table with linear
// probing. Each bucket is one uint64: the low 32 bits of the key's hash in
// the high half and the entry index in the low half (0, a sentinel's index,
// marks an empty bucket). The table doubles at three quarters full, so a
// growing table costs 11 to 21 bytes per entry, about half of a Go
// map[string]int32, and halves when a sixteenth full. A lookup usually
// touches one bucket cache line and then the entry, which holds short keys
// itself (see shortKeyLen). The hash is the per-Cache seeded maphash already
// computed to choose the shard, so keys are hashed once and a peer cannot
// predict collisions. Deletion shifts later buckets back (no tombstones),
// so probe sequences never degrade.

type segment uint8

const (
	segFree      segment = iota // entry is on the free list
	segProbation                // entered by Put, not yet hit
	segProtected                // hit at least once since entering
)

const (
	probationHead int32 = 0
	protectedHead int32 = 1
	firstEntry          = 2
	noEntry       int32 = -1
)

func sentinel(seg segment) int32 { return int32(seg) - 1 }

// Keys up to shortKeyLen bytes (TLS 1.2 session IDs, RFC 5246 Section
// 7.4.1.2, and our own ticket identities) are stored inside the entry. With
// the table bucket already fetched, a lookup then reads one entry and
// nothing else, instead of following the key's pointer to a third random
// place in memory; under the shard lock those misses cannot overlap, so
// each one costs throughput directly. It also saves one heap object per
// entry. Longer keys (client cache keys) live in long.
const (
	shortKeyLen = 32
	longKeyMark = 0xff // keyLen of an entry whose key is in long
)

// The fields a lookup reads (key, value, expiry, segment, stamp) come
// first so that they share as few cache lines as possible.
type entry[V any] struct {
	short   [shortKeyLen]byte
	keyLen  uint8 // bytes of short in use, or longKeyMark
	seg     segment
	size    uint32
	value   V
	expires int64 // Unix nanoseconds; math.MaxInt64 means never
	prev    int32
	next    int32  // on the free list: the next free entry
	stamp   uint32 // shard.promotions when last put at the front of protected
	hash    uint32 // low half of the key's hash, to find its bucket again
	long    string
}

func (e *entry[V]) setKey(key string) {
	if len(key) <= shortKeyLen {
		e.keyLen = uint8(copy(e.short[:], key))
		return
	}
	e.keyLen = longKeyMark
	e.long = key
}

func (e *entry[V]) hasKey(key string) bool {
	if e.keyLen == longKeyMark {
		return e.long == key
	}
	return int(e.keyLen) == len(key) && string(e.short[:e.keyLen]) == key
}

func (e *entry[V]) key() string {
	if e.keyLen == longKeyMark {
		return e.long
	}
	return string(e.short[:e.keyLen])
}

type removal[V any] struct {
	key   string
	value V
	why   RemoveReason
}

type shard[V any] struct {
	mu sync.Mutex

	table   []uint64 // len is a power of two; see above
	entries []entry[V]
	free    int32 // head of the free list, or noEntry

	count [3]int   // entries per segment, indexed by segment
	bytes [3]int64 // sizes per segment, indexed by segment

	maxEntries          int
	maxBytes            int64 // math.MaxInt64 when there is no byte budget
	maxProtectedEntries int
	maxProtectedBytes   int64
	collect             bool // record removals for OnRemove

	// promotions counts moves to the front of the protected segment. An
	// entry with promotions-stamp < k has at most k entries in front of it,
	// because only such moves push it back.
	promotions uint32
	// freshWindow is how many protected positions at the front count as
	// fresh: a hit there leaves the entry where it is (see get).
	freshWindow uint32

	// Keep neighbouring shards' locks off each other's cache lines.
	_ [64]byte
}

const minTableSize = 16

func (s *shard[V]) init(maxEntries int, maxBytes int64, collect bool) {
	s.table = make([]uint64, minTableSize)
	s.entries = make([]entry[V], firstEntry, firstEntry+min(maxEntries, 64))
	for _, h := range []int32{probationHead, protectedHead} {
		s.entries[h].prev, s.entries[h].next = h, h
	}
	s.free = noEntry
	s.maxEntries = maxEntries
	s.maxBytes = maxBytes
	// The protected segment gets at most 80% of the room, so that probation
	// always keeps at least 20% in which new entries can prove themselves.
	s.maxProtectedEntries = maxEntries * 8 / 10
	s.maxProtectedBytes = math.MaxInt64
	if maxBytes != math.MaxInt64 {
		s.maxProtectedBytes = maxBytes / 10 * 8
	}
	s.collect = collect
	// Small caches keep exact LRU order; large ones tolerate disorder
	// within the front quarter of protected, far from eviction.
	if s.maxProtectedEntries >= freshWindowMinProtected {
		s.freshWindow = uint32(min(s.maxProtectedEntries/4, math.MaxInt32))
	}
}

// freshWindowMinProtected is the protected size below which every hit moves
// its entry to the front.
const freshWindowMinProtected = 256

// lookup returns the bucket holding key and its entry index, or the empty
// bucket where key would go and noEntry.
func (s *shard[V]) lookup(key string, hash uint32) (int, int32) {
	mask := len(s.table) - 1
	for b := int(hash) & mask; ; b = (b + 1) & mask {
		v := s.table[b]
		if v == 0 {
			return b, noEntry
		}
		if uint32(v>>32) == hash {
			if i := int32(uint32(v)); s.entries[i].hasKey(key) {
				return b, i
			}
		}
	}
}

// bucketOf returns the bucket that points at entry i, which must be indexed.
func (s *shard[V]) bucketOf(i int32) int {
	mask := len(s.table) - 1
	want := uint64(s.entries[i].hash)<<32 | uint64(uint32(i))
	b := int(s.entries[i].hash) & mask
	for s.table[b] != want {
		b = (b + 1) & mask
	}
	return b
}

// index records entry i (whose key and hash are set) in empty bucket b, found
// by lookup, growing the table to keep it at most three quarters full.
func (s *shard[V]) index(b int, i int32) {
	hash := s.entries[i].hash
	s.table[b] = uint64(hash)<<32 | uint64(uint32(i))
	if n := s.len() + 1; n*4 > len(s.table)*3 {
		s.resize(len(s.table) * 2)
	}
}

// unindex empties bucket b and closes the gap (backward shift deletion for
// linear probing): each later bucket of the probe run
// moves back into the hole if its home bucket allows, so that every key
// stays reachable from its home without tombstones.
func (s *shard[V]) unindex(b int) {
	mask := len(s.table) - 1
	hole := b
	for next := (hole + 1) & mask; s.table[next] != 0; next = (next + 1) & mask {
		v := s.table[next]
		home := int(uint32(v>>32)) & mask
		// v may fill the hole if the hole lies on its probe path, that is
		// no further from next (going backwards) than its home is.
		if (next-home)&mask >= (next-hole)&mask {
			s.table[hole] = v
			hole = next
		}
	}
	s.table[hole] = 0
	// Shrink when a burst of removals leaves the table a sixteenth full,
	// so memory follows the entry count down again.
	if len(s.table) > minTableSize && s.len()*16 < len(s.table) {
		s.resize(len(s.table) / 2)
	}
}

func (s *shard[V]) resize(size int) {
	old := s.table
	s.table = make([]uint64, size)
	mask := size - 1
	for _, v := range old {
		if v == 0 {
			continue
		}
		b := int(uint32(v>>32)) & mask
		for s.table[b] != 0 {
			b = (b + 1) & mask
		}
		s.table[b] = v
	}
}

func (s *shard[V]) len() int { return s.count[segProbation] + s.count[segProtected] }

func (s *shard[V]) totalBytes() int64 { return s.bytes[segProbation] + s.bytes[segProtected] }

func (s *shard[V]) unlink(i int32) {
	e := &s.entries[i]
	s.entries[e.prev].next = e.next
	s.entries[e.next].prev = e.prev
	s.count[e.seg]--
	s.bytes[e.seg] -= int64(e.size)
}

// pushFront makes slot i the most recently used entry of seg.
func (s *shard[V]) pushFront(i int32, seg segment) {
	h := sentinel(seg)
	e := &s.entries[i]
	e.seg = seg
	if seg == segProtected {
		s.promotions++
		e.stamp = s.promotions
	}
	e.prev = h
	e.next = s.entries[h].next
	s.entries[e.next].prev = i
	s.entries[h].next = i
	s.count[seg]++
	s.bytes[seg] += int64(e.size)
}

func (s *shard[V]) alloc() int32 {
	if i := s.free; i != noEntry {
		s.free = s.entries[i].next
		return i
	}
	s.entries = append(s.entries, entry[V]{})
	return int32(len(s.entries) - 1)
}

// release returns slot i, already unlinked and out of the index, to the free
// list, dropping the cache's references to the key and the value.
func (s *shard[V]) release(i int32) {
	s.entries[i] = entry[V]{next: s.free, seg: segFree}
	s.free = i
}

// remove takes entry i out of the cache entirely.
func (s *shard[V]) remove(i int32, why RemoveReason, removed []removal[V]) []removal[V] {
	e := &s.entries[i]
	if s.collect {
		removed = append(removed, removal[V]{key: e.key(), value: e.value, why: why})
	}
	b := s.bucketOf(i)
	s.unlink(i)
	s.unindex(b)
	s.release(i)
	return removed
}

// makeRoom evicts least recently used entries, probation first, until one
// more entry of size bytes fits within both limits.
func (s *shard[V]) makeRoom(size uint32, removed []removal[V]) (int, []removal[V]) {
	evicted := 0
	for s.len() > 0 && (s.len()+1 > s.maxEntries || s.totalBytes()+int64(size) > s.maxBytes) {
		victim := s.entries[probationHead].prev
		if s.count[segProbation] == 0 {
			victim = s.entries[protectedHead].prev
		}
		removed = s.remove(victim, Evicted, removed)
		evicted++
	}
	return evicted, removed
}

// rebalance demotes the protected segment's least recently used entries to
// the front of probation while the segment is over its share, giving them
// one more chance before eviction.
func (s *shard[V]) rebalance() {
	for s.count[segProtected] > s.maxProtectedEntries || s.bytes[segProtected] > s.maxProtectedBytes {
		i := s.entries[protectedHead].prev
		s.unlink(i)
		s.pushFront(i, segProbation)
	}
}

func (s *shard[V]) put(key string, hash uint32, v V, size uint32, expires int64) (int, []removal[V]) {
	var removed []removal[V]
	b, i := s.lookup(key, hash)
	exists := i != noEntry
	seg := segProbation
	if exists {
		// Replacing: take the old entry out of its list so that its bytes
		// do not count and it cannot be chosen as a victim below.
		seg = s.entries[i].seg
		s.unlink(i)
	}
	if int64(size) > s.maxBytes {
		// No eviction could make this fit; refuse it rather than empty the
		// shard. The old value, if any, is dropped as stale.
		if exists {
			s.unindex(b)
			s.release(i)
		}
		if s.collect {
			removed = append(removed, removal[V]{key: key, value: v, why: Evicted})
		}
		return 1, removed
	}
	evicted, removed := s.makeRoom(size, removed)
	if !exists {
		if evicted > 0 {
			// Evictions shift buckets back; find the empty one again.
			b, _ = s.lookup(key, hash)
		}
		i = s.alloc()
		s.entries[i].setKey(key)
		s.entries[i].hash = hash
		s.index(b, i)
	}
	e := &s.entries[i]
	e.value = v
	e.size = size
	e.expires = expires
	s.pushFront(i, seg)
	if seg == segProtected {
		s.rebalance()
	}
	return evicted, removed
}

func (s *shard[V]) get(key string, hash uint32, now int64, noAutoClear bool) (V, Result, []removal[V]) {
	var zero V
	_, i := s.lookup(key, hash)
	if i == noEntry {
		return zero, Miss, nil
	}
	e := &s.entries[i]
	if now >= e.expires {
		if noAutoClear {
			return zero, ExpiredEntry, nil
		}
		return zero, ExpiredEntry, s.remove(i, Expired, nil)
	}
	v := e.value
	// A hit on an entry already near the front of protected would gain
	// nothing but cost three scattered writes to relink it (its neighbours
	// and the old front), which dominate a Get on a large cache. Eviction
	// order is unaffected: such an entry is far from the tail.
	if e.seg == segProtected && (s.promotions-e.stamp < s.freshWindow || s.entries[protectedHead].next == i) {
		return v, Hit, nil
	}
	wasProbation := e.seg == segProbation
	s.unlink(i)
	s.pushFront(i, segProtected)
	if wasProbation {
		s.rebalance()
	}
	return v, Hit, nil
}

func (s *shard[V]) take(key string, hash uint32, now int64, noAutoClear bool) (V, Result, []removal[V]) {
	var zero V
	_, i := s.lookup(key, hash)
	if i == noEntry {
		return zero, Miss, nil
	}
	e := &s.entries[i]
	if now >= e.expires {
		if noAutoClear {
			return zero, ExpiredEntry, nil
		}
		return zero, ExpiredEntry, s.remove(i, Expired, nil)
	}
	v := e.value
	return v, Hit, s.remove(i, Taken, nil)
}

func (s *shard[V]) delete(key string, hash uint32) (bool, []removal[V]) {
	_, i := s.lookup(key, hash)
	if i == noEntry {
		return false, nil
	}
	return true, s.remove(i, Deleted, nil)
}

func (s *shard[V]) flush(now int64) (int, []removal[V]) {
	var removed []removal[V]
	n := 0
	for i := int32(firstEntry); int(i) < len(s.entries); i++ {
		e := &s.entries[i]
		if e.seg != segFree && now >= e.expires {
			removed = s.remove(i, Flushed, removed)
			n++
		}
	}
	return n, removed
}
