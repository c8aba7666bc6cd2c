package cache

import (
	"math"
	"strings"
	"sync"
)

// A shard stores its entries inside its hash table: an open-addressing
// table with linear probing whose slots are the entries themselves, so that
// finding a key and reading its value and expiry touch the same memory.
// On a cache much larger than the CPU caches every operation starts with a
// cache miss on the key's home slot, and under the shard lock misses cannot
// overlap; a table of indexes pointing into a separate entry array cost two
// dependent misses per lookup, this costs one.
//
// Each slot is split in two parallel arrays by how often it is touched:
// slots holds what every lookup reads (hash, key, value, expiry, segment,
// reference bit, size), 64 bytes for a pointer value so that one cache
// line serves a Get; links holds the two LRU list links and the rare long
// key, read only when an entry moves between or within the lists.
//
// Slot indexes are int32. Slots 0 and 1 are the list sentinels, never part
// of the table; bucket b of the table is slot firstEntry+b. Each segment is
// a circular doubly linked list through links: next from its sentinel is
// its most recently used entry, prev its least recently used.
//
// The bucket is chosen by the low 32 bits of the per-Cache seeded maphash
// already computed to pick the shard (kept in the slot, so it is never
// recomputed), so keys are hashed once and a peer cannot predict
// collisions. The table doubles at three quarters full and halves when a
// sixteenth full, so a cache of pointer values that has not shrunk costs
// 117 to 235 bytes per entry. Deletion shifts later slots of the probe run back (no
// tombstones), so probe sequences never degrade; a slot that moves has its
// list neighbours repointed, and the last vacated slot is zeroed.

type segment uint8

const (
	segFree      segment = iota // slot is empty
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
// 7.4.1.2, and our own ticket identities) are stored inside the slot, so
// that comparing the key reads the cache line already fetched rather than
// following a pointer to a third random place in memory; it also saves a
// heap object per entry. Longer keys (client cache keys) live in links.
const (
	shortKeyLen = 32
	longKeyMark = 0xff // keyLen of an entry whose key is in links.long
)

// slot is the part of an entry that lookups read. The field order packs it
// into 64 bytes (one cache line) when V is one word.
type slot[V any] struct {
	hash   uint32 // low half of the key's hash: its home bucket and tag
	keyLen uint8  // bytes of short in use, or longKeyMark
	seg    segment
	// referenced marks a protected entry of a clock shard used since it
	// was last at the front of protected (see shard.clock).
	referenced bool
	size       uint32
	short      [shortKeyLen]byte
	value      V
	expires    int64 // Unix nanoseconds; math.MaxInt64 means never
}

// link is the part of an entry that only list moves and long keys read.
type link struct {
	prev, next int32
	long       string
}

type removal[V any] struct {
	key   string
	value V
	why   RemoveReason
}

type shard[V any] struct {
	mu sync.Mutex

	slots []slot[V] // firstEntry + a power of two; see above
	links []link    // parallel to slots
	mask  int       // table size - 1

	count [3]int   // entries per segment, indexed by segment
	bytes [3]int64 // sizes per segment, indexed by segment

	maxEntries          int
	maxBytes            int64 // math.MaxInt64 when there is no byte budget
	maxProtectedEntries int
	maxProtectedBytes   int64
	collect             bool // record removals for OnRemove

	// clock replaces moves within the protected segment by a reference
	// bit: a hit (or a replacing Put) on a protected entry only marks it,
	// and the entry goes back to the front of protected when it reaches
	// the tail marked, instead of being demoted (CLOCK's second chance).
	// Relinking an entry writes its two neighbours and the old front, three
	// cache misses on a large shard, where the mark writes only the line
	// the lookup already fetched. Set in shards whose protected segment
	// may hold at least clockMinProtected entries; smaller ones keep exact
	// LRU order.
	clock bool

	// Keep neighbouring shards' locks off each other's cache lines.
	_ [64]byte
}

const minTableSize = 16

// maxShardEntries keeps the table (grown at three quarters full) at most
// 1<<30 slots, so that slot indexes fit in an int32.
const maxShardEntries = 3 << 28

func (s *shard[V]) init(maxEntries int, maxBytes int64, collect bool) {
	s.allocTable(minTableSize)
	for _, h := range []int32{probationHead, protectedHead} {
		s.links[h].prev, s.links[h].next = h, h
	}
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
	s.clock = s.maxProtectedEntries >= clockMinProtected
}

// clockMinProtected is the protected size below which every hit moves its
// entry to the front.
const clockMinProtected = 256

func (s *shard[V]) allocTable(size int) {
	s.slots = make([]slot[V], firstEntry+size)
	s.links = make([]link, firstEntry+size)
	s.mask = size - 1
}

func (s *shard[V]) tableSize() int { return s.mask + 1 }

func (s *shard[V]) hasKey(i int32, key string) bool {
	e := &s.slots[i]
	if e.keyLen == longKeyMark {
		return s.links[i].long == key
	}
	return int(e.keyLen) == len(key) && string(e.short[:e.keyLen]) == key
}

func (s *shard[V]) key(i int32) string {
	e := &s.slots[i]
	if e.keyLen == longKeyMark {
		return s.links[i].long
	}
	return string(e.short[:e.keyLen])
}

// lookup returns the slot holding key and true, or the empty slot where key
// would go and false.
func (s *shard[V]) lookup(key string, hash uint32) (int32, bool) {
	mask := s.mask
	for b := int(hash) & mask; ; b = (b + 1) & mask {
		i := int32(firstEntry + b)
		e := &s.slots[i]
		if e.seg == segFree {
			return i, false
		}
		if e.hash == hash && s.hasKey(i, key) {
			return i, true
		}
	}
}

// fill stores a new entry's key and hash in empty slot i, found by lookup.
// The caller sets the rest and links it.
func (s *shard[V]) fill(i int32, key string, hash uint32) {
	e := &s.slots[i]
	e.hash = hash
	if len(key) <= shortKeyLen {
		e.keyLen = uint8(copy(e.short[:], key))
		return
	}
	e.keyLen = longKeyMark
	// A copy, so that the caller's key (often converted from a []byte of
	// the ClientHello) does not escape and need not be allocated.
	s.links[i].long = strings.Clone(key)
}

// unindex empties slot i, already unlinked, and closes the gap (backward
// shift deletion for linear probing): each later slot of the probe run
// moves back into the hole if its home bucket allows, so that every key
// stays reachable from its home without tombstones. The last hole is
// zeroed, dropping the cache's references to the key and the value.
func (s *shard[V]) unindex(i int32) {
	mask := s.mask
	hole := int(i) - firstEntry
	for next := (hole + 1) & mask; s.slots[firstEntry+next].seg != segFree; next = (next + 1) & mask {
		home := int(s.slots[firstEntry+next].hash) & mask
		// The entry at next may fill the hole if the hole lies on its probe
		// path, that is no further from next (going backwards) than its
		// home is.
		if (next-home)&mask >= (next-hole)&mask {
			s.move(int32(firstEntry+next), int32(firstEntry+hole))
			hole = next
		}
	}
	s.slots[firstEntry+hole] = slot[V]{}
	s.links[firstEntry+hole] = link{}
}

// move copies the entry in slot from to slot to and repoints its list
// neighbours at it. An entry that is indexed but unlinked (being replaced
// by put) has no neighbours pointing at it, so it must not be moved; put
// never removes other entries while one is unlinked.
func (s *shard[V]) move(from, to int32) {
	s.slots[to] = s.slots[from]
	l := s.links[from]
	s.links[to] = l
	s.links[l.prev].next = to
	s.links[l.next].prev = to
}

// shrinkIfSparse halves the table when removals have left it a sixteenth
// full, so that memory follows the entry count down again.
func (s *shard[V]) shrinkIfSparse() {
	if s.tableSize() > minTableSize && s.len()*16 < s.tableSize() {
		s.resize(s.tableSize() / 2)
	}
}

// growIfFull doubles the table when it is over three quarters full.
func (s *shard[V]) growIfFull() {
	if s.len()*4 > s.tableSize()*3 {
		s.resize(s.tableSize() * 2)
	}
}

// resize rebuilds the table with size buckets, keeping both lists' order.
// Every indexed entry must be linked.
func (s *shard[V]) resize(size int) {
	oldLinks := s.links
	oldSlots := s.slots
	s.allocTable(size)
	// Walking the lists from least to most recently used and pushing each
	// entry at the front rebuilds them in the same order.
	s.links[probationHead] = link{prev: probationHead, next: probationHead}
	s.links[protectedHead] = link{prev: protectedHead, next: protectedHead}
	for _, h := range []int32{probationHead, protectedHead} {
		for j := oldLinks[h].prev; j != h; j = oldLinks[j].prev {
			e := &oldSlots[j]
			b := int(e.hash) & s.mask
			for s.slots[firstEntry+b].seg != segFree {
				b = (b + 1) & s.mask
			}
			i := int32(firstEntry + b)
			s.slots[i] = *e
			s.links[i].long = oldLinks[j].long
			s.linkFront(i, h)
		}
	}
}

func (s *shard[V]) len() int { return s.count[segProbation] + s.count[segProtected] }

func (s *shard[V]) totalBytes() int64 { return s.bytes[segProbation] + s.bytes[segProtected] }

func (s *shard[V]) unlink(i int32) {
	l := &s.links[i]
	s.links[l.prev].next = l.next
	s.links[l.next].prev = l.prev
	e := &s.slots[i]
	s.count[e.seg]--
	s.bytes[e.seg] -= int64(e.size)
}

// linkFront puts slot i at the front of the list of sentinel h.
func (s *shard[V]) linkFront(i, h int32) {
	l := &s.links[i]
	l.prev = h
	l.next = s.links[h].next
	s.links[l.next].prev = i
	s.links[h].next = i
}

// pushFront makes slot i the most recently used entry of seg.
func (s *shard[V]) pushFront(i int32, seg segment) {
	e := &s.slots[i]
	e.seg = seg
	e.referenced = false
	s.linkFront(i, sentinel(seg))
	s.count[seg]++
	s.bytes[seg] += int64(e.size)
}

// remove takes entry i out of the cache entirely. It does not shrink the
// table, so that callers may go on using slot indexes; see shrinkIfSparse.
func (s *shard[V]) remove(i int32, why RemoveReason, removed []removal[V]) []removal[V] {
	if s.collect {
		removed = append(removed, removal[V]{key: s.key(i), value: s.slots[i].value, why: why})
	}
	s.unlink(i)
	s.unindex(i)
	return removed
}

// makeRoom evicts least recently used entries, probation first, until one
// more entry of size bytes fits within both limits.
func (s *shard[V]) makeRoom(size uint32, removed []removal[V]) (int, []removal[V]) {
	evicted := 0
	for s.len() > 0 && (s.len()+1 > s.maxEntries || s.totalBytes()+int64(size) > s.maxBytes) {
		victim := s.links[probationHead].prev
		if s.count[segProbation] == 0 {
			victim = s.links[protectedHead].prev
		}
		removed = s.remove(victim, Evicted, removed)
		evicted++
	}
	return evicted, removed
}

// rebalance demotes the protected segment's least recently used entries to
// the front of probation while the segment is over its share, giving them
// one more chance before eviction. In a clock shard a referenced entry at
// the tail goes back to the front of protected instead, unreferenced;
// each hit sets at most one reference that this clears, so the loop is
// amortized constant time per operation.
func (s *shard[V]) rebalance() {
	for s.count[segProtected] > s.maxProtectedEntries || s.bytes[segProtected] > s.maxProtectedBytes {
		i := s.links[protectedHead].prev
		s.unlink(i)
		if s.slots[i].referenced {
			s.pushFront(i, segProtected)
			continue
		}
		s.pushFront(i, segProbation)
	}
}

// touch records a use of linked entry i: a move to the front of its
// segment, or in a clock shard just a mark if it is protected.
func (s *shard[V]) touch(i int32) {
	e := &s.slots[i]
	if e.seg == segProtected {
		if s.clock {
			if !e.referenced { // no store, so no dirty line, when set
				e.referenced = true
			}
			return
		}
		if s.links[protectedHead].next == i {
			return // already most recently used
		}
	}
	seg := e.seg
	s.unlink(i)
	s.pushFront(i, seg)
}

func (s *shard[V]) put(key string, hash uint32, v V, size uint32, expires int64) (int, []removal[V]) {
	var removed []removal[V]
	i, exists := s.lookup(key, hash)
	if int64(size) > s.maxBytes {
		// No eviction could make this fit; refuse it rather than empty the
		// shard. The old value, if any, is dropped as stale.
		if exists {
			s.unlink(i)
			s.unindex(i)
			s.shrinkIfSparse()
		}
		if s.collect {
			// Cloned so that key does not escape (see fill).
			removed = append(removed, removal[V]{key: strings.Clone(key), value: v, why: Evicted})
		}
		return 1, removed
	}
	seg := segProbation
	if exists {
		// Replacing: the entry keeps its segment and counts as used (see
		// touch); its old size no longer counts.
		e := &s.slots[i]
		seg = e.seg
		if s.totalBytes()-int64(e.size)+int64(size) <= s.maxBytes {
			// The common case: nothing to evict, so the entry keeps its
			// slot.
			s.bytes[seg] += int64(size) - int64(e.size)
			e.value = v
			e.size = size
			e.expires = expires
			s.touch(i)
			if seg == segProtected {
				s.rebalance()
			}
			return 0, nil
		}
		s.unlink(i)
		// Evictions shift slots, and an unlinked entry must not be moved
		// (see move), so take the old entry out of the table too and
		// insert the new value afresh, in the old entry's segment. The
		// old value is replaced, not removed: OnRemove is not told.
		s.unindex(i)
	}
	evicted, removed := s.makeRoom(size, removed)
	if exists || evicted > 0 {
		// Removals shift slots back; find the empty one again.
		i, _ = s.lookup(key, hash)
	}
	s.fill(i, key, hash)
	e := &s.slots[i]
	e.value = v
	e.size = size
	e.expires = expires
	s.pushFront(i, seg)
	if seg == segProtected {
		s.rebalance()
	}
	s.growIfFull()
	return evicted, removed
}

// live finds key's entry if it is live at now. An expired entry is
// reported as ExpiredEntry and removed unless noAutoClear.
func (s *shard[V]) live(key string, hash uint32, now int64, noAutoClear bool) (int32, Result, []removal[V]) {
	i, ok := s.lookup(key, hash)
	if !ok {
		return 0, Miss, nil
	}
	if now >= s.slots[i].expires {
		if noAutoClear {
			return 0, ExpiredEntry, nil
		}
		removed := s.remove(i, Expired, nil)
		s.shrinkIfSparse()
		return 0, ExpiredEntry, removed
	}
	return i, Hit, nil
}

func (s *shard[V]) get(key string, hash uint32, now int64, noAutoClear bool) (V, Result, []removal[V]) {
	var zero V
	i, res, removed := s.live(key, hash, now, noAutoClear)
	if res != Hit {
		return zero, res, removed
	}
	v := s.slots[i].value
	if s.slots[i].seg == segProtected {
		s.touch(i)
		return v, Hit, nil
	}
	s.unlink(i)
	s.pushFront(i, segProtected)
	s.rebalance()
	return v, Hit, nil
}

func (s *shard[V]) take(key string, hash uint32, now int64, noAutoClear bool) (V, Result, []removal[V]) {
	var zero V
	i, res, removed := s.live(key, hash, now, noAutoClear)
	if res != Hit {
		return zero, res, removed
	}
	v := s.slots[i].value
	removed = s.remove(i, Taken, nil)
	s.shrinkIfSparse()
	return v, Hit, removed
}

func (s *shard[V]) delete(key string, hash uint32) (bool, []removal[V]) {
	i, ok := s.lookup(key, hash)
	if !ok {
		return false, nil
	}
	removed := s.remove(i, Deleted, nil)
	s.shrinkIfSparse()
	return true, removed
}

// flush removes every entry expired at now. It walks the table in slot
// order; removing the entry at i may shift a later entry of the probe run
// into i, so i is examined again before moving on. A run that wraps past
// the end may shift already examined (live) entries from the start of the
// table to its end, where they are harmlessly examined again; no entry
// moves from an unexamined slot to an examined one other than i.
func (s *shard[V]) flush(now int64) (int, []removal[V]) {
	var removed []removal[V]
	n := 0
	for i := int32(firstEntry); int(i) < len(s.slots); {
		e := &s.slots[i]
		if e.seg != segFree && now >= e.expires {
			removed = s.remove(i, Flushed, removed)
			n++
			continue
		}
		i++
	}
	s.shrinkIfSparse()
	return n, removed
}
