package cache

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// segmentKeys lists seg's keys of a single-shard cache, most recently used
// first.
func segmentKeys[V any](c *Cache[V], seg segment) []string {
	s := &c.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	h := sentinel(seg)
	for i := s.links[h].next; i != h; i = s.links[i].next {
		keys = append(keys, s.key(i))
	}
	return keys
}

// checkInvariants verifies every shard's internal structure: both lists are
// consistent in both directions, counts and byte totals match the lists, the
// table holds exactly the linked entries, each reachable from its home
// bucket, empty slots are zeroed, and the limits hold.
func checkInvariants[V any](t *testing.T, c *Cache[V]) {
	t.Helper()
	for si := range c.shards {
		s := &c.shards[si]
		s.mu.Lock()
		if len(s.slots) != firstEntry+s.tableSize() || len(s.links) != len(s.slots) || s.tableSize()&s.mask != 0 {
			t.Fatalf("shard %d: %d slots, %d links, mask %#x", si, len(s.slots), len(s.links), s.mask)
		}
		seen := make(map[int32]bool)
		for _, seg := range []segment{segProbation, segProtected} {
			h := sentinel(seg)
			n := 0
			var bytes int64
			prev := h
			for i := s.links[h].next; i != h; i = s.links[i].next {
				e := &s.slots[i]
				if s.links[i].prev != prev {
					t.Fatalf("shard %d seg %d: entry %d prev=%d, want %d", si, seg, i, s.links[i].prev, prev)
				}
				if e.seg != seg {
					t.Fatalf("shard %d: entry %d on list %d has seg %d", si, i, seg, e.seg)
				}
				if j, ok := s.lookup(s.key(i), e.hash); !ok || j != i {
					t.Fatalf("shard %d: entry %d key %q found at %d", si, i, s.key(i), j)
				}
				if seen[i] {
					t.Fatalf("shard %d: entry %d linked twice", si, i)
				}
				seen[i] = true
				n++
				bytes += int64(e.size)
				prev = i
				if n > len(s.slots) {
					t.Fatalf("shard %d: list %d loops", si, seg)
				}
			}
			if s.links[h].prev != prev {
				t.Fatalf("shard %d seg %d: sentinel prev=%d, want %d", si, seg, s.links[h].prev, prev)
			}
			if n != s.count[seg] || bytes != s.bytes[seg] {
				t.Fatalf("shard %d seg %d: count %d bytes %d, lists say %d %d", si, seg, s.count[seg], s.bytes[seg], n, bytes)
			}
		}
		indexed := 0
		for i := int32(firstEntry); int(i) < len(s.slots); i++ {
			if s.slots[i].seg == segFree {
				// A removed entry's key and value must not linger.
				if !reflect.ValueOf(s.slots[i]).IsZero() || s.links[i] != (link{}) {
					t.Fatalf("shard %d: empty slot %d not zeroed", si, i)
				}
				continue
			}
			indexed++
			if !seen[i] {
				t.Fatalf("shard %d: slot %d in use but not linked", si, i)
			}
		}
		if indexed != len(seen) || indexed*4 > s.tableSize()*3 {
			t.Fatalf("shard %d: %d slots used of %d for %d entries", si, indexed, s.tableSize(), len(seen))
		}
		if s.len() > s.maxEntries || s.totalBytes() > s.maxBytes {
			t.Fatalf("shard %d: %d entries / %d bytes over limits %d / %d", si, s.len(), s.totalBytes(), s.maxEntries, s.maxBytes)
		}
		if s.count[segProtected] > s.maxProtectedEntries || s.bytes[segProtected] > s.maxProtectedBytes {
			t.Fatalf("shard %d: protected segment over its share", si)
		}
		s.mu.Unlock()
	}
}

type removedEvent struct {
	key string
	v   any
	why RemoveReason
}

// recorder collects OnRemove calls.
type recorder struct {
	mu     sync.Mutex
	events []removedEvent
}

func (r *recorder) onRemove(key string, v any, why RemoveReason) {
	r.mu.Lock()
	r.events = append(r.events, removedEvent{key, v, why})
	r.mu.Unlock()
}

func (r *recorder) take() []removedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

func TestProbationIsLRU(t *testing.T) {
	var rec recorder
	c := New[int](Options{MaxEntries: 5, Shards: 1, OnRemove: rec.onRemove})
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		if n := c.Put(k, i, 1, time.Time{}); n != 0 {
			t.Fatalf("Put(%s) evicted %d", k, n)
		}
	}
	if got, want := segmentKeys(c, segProbation), []string{"e", "d", "c", "b", "a"}; !slices.Equal(got, want) {
		t.Fatalf("probation = %v, want %v", got, want)
	}
	if n := c.Put("f", 5, 1, time.Time{}); n != 1 {
		t.Fatalf("Put(f) evicted %d, want 1", n)
	}
	if got, want := rec.take(), []removedEvent{{"a", 0, Evicted}}; !slices.Equal(got, want) {
		t.Fatalf("OnRemove calls = %v, want %v", got, want)
	}
	// Replacing a value counts as a use: b moves to the front, c is now
	// the least recently used.
	c.Put("b", 11, 1, time.Time{})
	if got, want := segmentKeys(c, segProbation), []string{"b", "f", "e", "d", "c"}; !slices.Equal(got, want) {
		t.Fatalf("probation = %v, want %v", got, want)
	}
	if len(rec.take()) != 0 {
		t.Fatal("replacing a value called OnRemove")
	}
	if v, r := c.Get("b", t0); r != Hit || v != 11 {
		t.Fatalf("Get(b) = %v, %v; want 11, hit", v, r)
	}
	checkInvariants(t, c)
}

func TestHitPromotes(t *testing.T) {
	c := New[int](Options{MaxEntries: 10, Shards: 1})
	for i := range 10 {
		c.Put(fmt.Sprint(i), i, 1, time.Time{})
	}
	for _, k := range []string{"3", "7", "3", "1"} {
		if _, r := c.Get(k, t0); r != Hit {
			t.Fatalf("Get(%s) = %v", k, r)
		}
	}
	if got, want := segmentKeys(c, segProtected), []string{"1", "3", "7"}; !slices.Equal(got, want) {
		t.Fatalf("protected = %v, want %v", got, want)
	}
	if got, want := segmentKeys(c, segProbation), []string{"9", "8", "6", "5", "4", "2", "0"}; !slices.Equal(got, want) {
		t.Fatalf("probation = %v, want %v", got, want)
	}
	// Eviction takes from probation first, even though the protected
	// entries were inserted earlier.
	for i := 10; i < 17; i++ {
		c.Put(fmt.Sprint(i), i, 1, time.Time{})
	}
	if got, want := segmentKeys(c, segProtected), []string{"1", "3", "7"}; !slices.Equal(got, want) {
		t.Fatalf("after 7 new keys, protected = %v, want %v", got, want)
	}
	checkInvariants(t, c)
}

func TestProtectedOverflowDemotes(t *testing.T) {
	// With 10 entries the protected segment holds at most 8.
	c := New[int](Options{MaxEntries: 10, Shards: 1})
	for i := range 10 {
		c.Put(fmt.Sprint(i), i, 1, time.Time{})
	}
	for i := range 10 {
		c.Get(fmt.Sprint(i), t0)
	}
	if got, want := segmentKeys(c, segProtected), []string{"9", "8", "7", "6", "5", "4", "3", "2"}; !slices.Equal(got, want) {
		t.Fatalf("protected = %v, want %v", got, want)
	}
	// The protected segment's least recently used entries go to the front
	// of probation, most recently demoted first.
	if got, want := segmentKeys(c, segProbation), []string{"1", "0"}; !slices.Equal(got, want) {
		t.Fatalf("probation = %v, want %v", got, want)
	}
	// A hit on a demoted entry promotes it again and demotes the next one.
	c.Get("0", t0)
	if got, want := segmentKeys(c, segProbation), []string{"2", "1"}; !slices.Equal(got, want) {
		t.Fatalf("probation = %v, want %v", got, want)
	}
	checkInvariants(t, c)
}

func TestScanResistance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shards int
		hot    int
	}{
		// One shard: the protected segment can hold 80% of the cache.
		{"one shard", 1, 800},
		// Many shards: keys spread unevenly, so stay well below 80% so that
		// no shard's protected segment is over-subscribed.
		{"16 shards", 16, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const capacity = 1000
			c := New[int](Options{MaxEntries: capacity, Shards: tc.shards})
			hot := make([]string, tc.hot)
			for i := range hot {
				hot[i] = fmt.Sprintf("hot-%032d", i)
				c.Put(hot[i], i, 100, time.Time{})
				c.Get(hot[i], t0) // a resumption: promote
			}
			evicted := 0
			for i := range 10 * capacity {
				evicted += c.Put(fmt.Sprintf("scan-%031d", i), -1, 100, time.Time{})
			}
			if evicted == 0 {
				t.Fatal("the scan evicted nothing; the cache is not full")
			}
			for i, k := range hot {
				if v, r := c.Get(k, t0); r != Hit || v != i {
					t.Fatalf("hot key %d lost after a scan of %d one-shot keys", i, 10*capacity)
				}
			}
			checkInvariants(t, c)
		})
	}
}

func TestMaxEntriesExact(t *testing.T) {
	for _, shards := range []int{1, 3, 16} {
		t.Run(fmt.Sprint(shards, " shards"), func(t *testing.T) {
			const max = 100
			c := New[int](Options{MaxEntries: max, Shards: shards})
			evicted := 0
			for i := range 5000 {
				evicted += c.Put(fmt.Sprint(i), i, 1, time.Time{})
				if n := c.Len(); n > max {
					t.Fatalf("after %d puts Len = %d > %d", i+1, n, max)
				}
			}
			// Every shard is full after this many keys.
			if n := c.Len(); n != max {
				t.Fatalf("Len = %d, want %d", n, max)
			}
			if evicted != 5000-max {
				t.Fatalf("evicted %d, want %d", evicted, 5000-max)
			}
			checkInvariants(t, c)
		})
	}
	// Shards beyond MaxEntries would be empty shards of room 0; they are
	// capped.
	c := New[int](Options{MaxEntries: 3, Shards: 8})
	if len(c.shards) != 3 {
		t.Fatalf("%d shards for 3 entries", len(c.shards))
	}
}

func TestMaxBytesExact(t *testing.T) {
	const budget = 1000
	var rec recorder
	c := New[int](Options{MaxBytes: budget, Shards: 1, OnRemove: rec.onRemove})
	rng := rand.New(rand.NewPCG(1, 2))
	live := make(map[string]int) // key → size, the model
	for i := range 2000 {
		k := fmt.Sprint(rng.IntN(300))
		size := 1 + rng.IntN(120)
		evicted := c.Put(k, i, size, time.Time{})
		delete(live, k) // replaced, no OnRemove
		live[k] = size
		ev := rec.take()
		if len(ev) != evicted {
			t.Fatalf("Put returned %d evictions, OnRemove saw %d", evicted, len(ev))
		}
		for _, e := range ev {
			if e.why != Evicted {
				t.Fatalf("reason %v, want evicted", e.why)
			}
			delete(live, e.key)
		}
		var sum int64
		for _, s := range live {
			sum += int64(s)
		}
		if got := c.Bytes(); got != sum || got > budget {
			t.Fatalf("after put %d: Bytes = %d, model %d, budget %d", i, got, sum, budget)
		}
		if c.Len() != len(live) {
			t.Fatalf("Len = %d, model %d", c.Len(), len(live))
		}
		if i%100 == 0 {
			checkInvariants(t, c)
		}
	}
	// Filling exactly to the budget evicts nothing more.
	c2 := New[int](Options{MaxBytes: budget, Shards: 1})
	for i := range 10 {
		if n := c2.Put(fmt.Sprint(i), i, budget/10, time.Time{}); n != 0 {
			t.Fatalf("Put %d evicted %d within budget", i, n)
		}
	}
	if c2.Bytes() != budget {
		t.Fatalf("Bytes = %d, want %d", c2.Bytes(), budget)
	}
	if n := c2.Put("one more", 0, 1, time.Time{}); n != 1 {
		t.Fatalf("one byte over budget evicted %d, want 1", n)
	}
}

func TestOversizedRefused(t *testing.T) {
	var rec recorder
	c := New[string](Options{MaxBytes: 100, Shards: 1, OnRemove: rec.onRemove})
	c.Put("small", "s", 10, time.Time{})
	c.Put("big", "old", 10, time.Time{})
	rec.take()
	if n := c.Put("big", "new", 101, time.Time{}); n != 1 {
		t.Fatalf("oversized Put returned %d, want 1", n)
	}
	if _, r := c.Get("big", t0); r != Miss {
		t.Fatalf("oversized value (or its stale predecessor) is present: %v", r)
	}
	if _, r := c.Get("small", t0); r != Hit {
		t.Fatal("an oversized Put evicted other entries")
	}
	if got, want := rec.take(), []removedEvent{{"big", "new", Evicted}}; !slices.Equal(got, want) {
		t.Fatalf("OnRemove calls = %v, want %v", got, want)
	}
	if c.Bytes() != 10 || c.Len() != 1 {
		t.Fatalf("Bytes %d Len %d, want 10 1", c.Bytes(), c.Len())
	}
	checkInvariants(t, c)
}

func TestExpiry(t *testing.T) {
	var rec recorder
	c := New[string](Options{OnRemove: rec.onRemove})
	c.Put("session", "secret", 48, t0.Add(5*time.Minute))
	c.Put("forever", "ever", 48, time.Time{})
	if v, r := c.Get("session", t0.Add(5*time.Minute-1)); r != Hit || v != "secret" {
		t.Fatalf("Get just before expiry = %q, %v", v, r)
	}
	// The entry is live while now is before its expiry.
	if v, r := c.Get("session", t0.Add(5*time.Minute)); r != ExpiredEntry || v != "" {
		t.Fatalf("Get at expiry = %q, %v; want \"\", expired", v, r)
	}
	if _, r := c.Get("session", t0); r != Miss {
		t.Fatalf("expired entry not removed: %v", r)
	}
	if got, want := rec.take(), []removedEvent{{"session", "secret", Expired}}; !slices.Equal(got, want) {
		t.Fatalf("OnRemove calls = %v, want %v", got, want)
	}
	if _, r := c.Get("forever", t0.AddDate(200, 0, 0)); r != Hit {
		t.Fatalf("zero expiry expired: %v", r)
	}
	// A zero now is before every expiry.
	c.Put("past", "p", 1, time.Unix(0, 0))
	if _, r := c.Get("past", time.Time{}); r != Hit {
		t.Fatalf("Get with zero now = %v", r)
	}
	if c.Bytes() != 49 || c.Len() != 2 {
		t.Fatalf("Bytes %d Len %d", c.Bytes(), c.Len())
	}
	// Take treats expiry the same way.
	c.Put("ticket", "t", 1, t0)
	if v, r := c.Take("ticket", t0); r != ExpiredEntry || v != "" {
		t.Fatalf("Take of expired = %q, %v", v, r)
	}
	if _, r := c.Take("ticket", t0.Add(-time.Hour)); r != Miss {
		t.Fatalf("expired ticket not removed by Take: %v", r)
	}
	checkInvariants(t, c)
}

func TestNoAutoClearAndFlush(t *testing.T) {
	var rec recorder
	c := New[int](Options{NoAutoClear: true, Shards: 1, OnRemove: rec.onRemove})
	for i := range 100 {
		c.Put(fmt.Sprint(i), i, 1, t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(30 * time.Second) // keys 0..30 expired
	for _, k := range []string{"0", "30"} {
		if _, r := c.Get(k, now); r != ExpiredEntry {
			t.Fatalf("Get(%s) = %v, want expired", k, r)
		}
		if _, r := c.Take(k, now); r != ExpiredEntry {
			t.Fatalf("Take(%s) = %v, want expired", k, r)
		}
	}
	if _, r := c.Get("31", now); r != Hit {
		t.Fatalf("Get(31) = %v", r)
	}
	if c.Len() != 100 || len(rec.take()) != 0 {
		t.Fatal("expired entries were removed despite NoAutoClear")
	}
	if n := c.Flush(now); n != 31 {
		t.Fatalf("Flush removed %d, want 31", n)
	}
	ev := rec.take()
	if len(ev) != 31 {
		t.Fatalf("OnRemove called %d times, want 31", len(ev))
	}
	for _, e := range ev {
		if e.why != Flushed || e.v.(int) > 30 {
			t.Fatalf("unexpected removal %v", e)
		}
	}
	if c.Len() != 69 || c.Bytes() != 69 {
		t.Fatalf("Len %d Bytes %d, want 69", c.Len(), c.Bytes())
	}
	if n := c.Flush(now); n != 0 {
		t.Fatalf("second Flush removed %d", n)
	}
	checkInvariants(t, c)
	// Freed slots are reused rather than grown.
	slots := c.shards[0].tableSize()
	for i := range 31 {
		c.Put(fmt.Sprint("new", i), i, 1, time.Time{})
	}
	if after := c.shards[0].tableSize(); after != slots {
		t.Fatalf("slots grew from %d to %d though 31 were free", slots, after)
	}
	checkInvariants(t, c)
}

func TestTakeAndDelete(t *testing.T) {
	var rec recorder
	c := New[string](Options{OnRemove: rec.onRemove})
	c.Put("t1", "psk", 32, time.Time{})
	if v, r := c.Take("t1", t0); r != Hit || v != "psk" {
		t.Fatalf("Take = %q, %v", v, r)
	}
	if _, r := c.Take("t1", t0); r != Miss {
		t.Fatalf("second Take = %v, want miss", r)
	}
	if _, r := c.Get("t1", t0); r != Miss {
		t.Fatalf("Get after Take = %v, want miss", r)
	}
	c.Put("id", "ms", 48, time.Time{})
	if !c.Delete("id") || c.Delete("id") {
		t.Fatal("Delete did not report presence correctly")
	}
	want := []removedEvent{{"t1", "psk", Taken}, {"id", "ms", Deleted}}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Fatalf("OnRemove calls = %v, want %v", got, want)
	}
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("Len %d Bytes %d after removing everything", c.Len(), c.Bytes())
	}
	checkInvariants(t, c)
}

func TestTakeIsAtomic(t *testing.T) {
	c := New[int](Options{})
	const keys, takers = 200, 16
	for round := range keys {
		key := fmt.Sprint("ticket-", round)
		c.Put(key, round, 1, time.Time{})
		var wins atomic.Int32
		var start, done sync.WaitGroup
		start.Add(1)
		for range takers {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				if v, r := c.Take(key, t0); r == Hit {
					if v != round {
						t.Errorf("Take returned %d, want %d", v, round)
					}
					wins.Add(1)
				}
			}()
		}
		start.Done()
		done.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d Takes hit, want exactly 1", round, n)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("Len = %d after taking everything", c.Len())
	}
}

func TestOnRemoveMayReenter(t *testing.T) {
	var c *Cache[int]
	var reentered atomic.Int32
	c = New[int](Options{MaxEntries: 2, Shards: 1, OnRemove: func(key string, v any, why RemoveReason) {
		// Would deadlock if called with the shard lock held.
		c.Len()
		c.Get(key, t0)
		reentered.Add(1)
	}})
	c.Put("a", 1, 1, time.Time{})
	c.Put("b", 2, 1, time.Time{})
	c.Put("c", 3, 1, time.Time{})
	c.Delete("b")
	if reentered.Load() != 2 {
		t.Fatalf("OnRemove called %d times, want 2", reentered.Load())
	}
}

func TestConcurrentSmoke(t *testing.T) {
	var removals atomic.Int64
	c := New[int](Options{MaxEntries: 512, MaxBytes: 64 << 10, Shards: 4, OnRemove: func(string, any, RemoveReason) {
		removals.Add(1)
	}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 20000 {
				k := fmt.Sprint(rng.IntN(2000))
				now := t0.Add(time.Duration(i) * time.Millisecond)
				switch op := rng.IntN(100); {
				case op < 50:
					c.Get(k, now)
				case op < 85:
					c.Put(k, i, rng.IntN(300), now.Add(time.Duration(rng.IntN(2000))*time.Millisecond))
				case op < 93:
					c.Take(k, now)
				case op < 98:
					c.Delete(k)
				case op < 99:
					c.Flush(now)
				default:
					c.Len()
					c.Bytes()
				}
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, c)
	if c.Len() > 512 || c.Bytes() > 64<<10 {
		t.Fatalf("limits exceeded: %d entries, %d bytes", c.Len(), c.Bytes())
	}
	if removals.Load() == 0 {
		t.Fatal("no removals observed")
	}
}

// TestRandomOpsInvariants drives one cache with random operations and
// checks the internal structure after each.
func TestRandomOpsInvariants(t *testing.T) {
	for _, o := range []Options{
		{MaxEntries: 1, Shards: 1},
		{MaxEntries: 7, Shards: 1},
		{MaxEntries: 20, MaxBytes: 200, Shards: 2},
		{MaxEntries: 50, MaxBytes: 1000, Shards: 1, NoAutoClear: true},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			c := New[int](o)
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range 3000 {
				k := fmt.Sprint(rng.IntN(40))
				now := t0.Add(time.Duration(i) * time.Second)
				switch op := rng.IntN(10); {
				case op < 4:
					c.Put(k, i, rng.IntN(150), now.Add(time.Duration(rng.IntN(60))*time.Second))
				case op < 7:
					c.Get(k, now)
				case op < 8:
					c.Take(k, now)
				case op < 9:
					c.Delete(k)
				default:
					c.Flush(now)
				}
				checkInvariants(t, c)
			}
		})
	}
}

func TestDefaultShards(t *testing.T) {
	c := New[int](Options{})
	n := len(c.shards)
	if n < 16 || n&(n-1) != 0 {
		t.Fatalf("default shards = %d, want a power of two ≥ 16", n)
	}
	total := 0
	for i := range c.shards {
		total += c.shards[i].maxEntries
	}
	if total != DefaultMaxEntries {
		t.Fatalf("shard limits sum to %d, want %d", total, DefaultMaxEntries)
	}
	if c := New[int](Options{MaxEntries: 100}); len(c.shards) != 1 {
		t.Fatalf("100 entries got %d default shards, want 1", len(c.shards))
	}
	if c := New[int](Options{MaxBytes: 40 << 10}); len(c.shards) != 2 {
		t.Fatalf("40 KiB budget got %d default shards, want 2", len(c.shards))
	}
}

func TestStrings(t *testing.T) {
	for v, want := range map[fmt.Stringer]string{
		Evicted: "evicted", Expired: "expired", Deleted: "deleted", Taken: "taken", Flushed: "flushed",
		RemoveReason(9): "RemoveReason(9)", Miss: "miss", Hit: "hit", ExpiredEntry: "expired", Result(-1): "Result(-1)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

// TestTableCollisions drives one shard with chosen hashes: many keys share a
// hash, and probe runs wrap around the end of the table, so backward shift
// deletion and resizing meet their edge cases. A model map checks lookups.
func TestTableCollisions(t *testing.T) {
	for _, hashOf := range []func(k int) uint32{
		func(int) uint32 { return 7 },                       // all collide
		func(k int) uint32 { return uint32(14 + k%3) },      // runs wrap past the end
		func(k int) uint32 { return uint32(k%5) * 1 << 20 }, // same home, different tags
		func(k int) uint32 { return uint32(k * 2654435761) },
	} {
		var s shard[int]
		s.init(200, math.MaxInt64, true)
		model := make(map[int]int) // key number → value
		keyOf := func(k int) string { return fmt.Sprint("k", k) }
		rng := rand.New(rand.NewPCG(5, 6))
		for step := range 3000 {
			k := rng.IntN(300)
			switch rng.IntN(3) {
			case 0, 1:
				_, evicted := s.put(keyOf(k), hashOf(k), step, 1, math.MaxInt64)
				for _, r := range evicted {
					var ek int
					fmt.Sscanf(r.key, "k%d", &ek)
					delete(model, ek)
				}
				model[k] = step
			case 2:
				ok, _ := s.delete(keyOf(k), hashOf(k))
				if _, want := model[k]; ok != want {
					t.Fatalf("step %d: delete(k%d) = %v, want %v", step, k, ok, want)
				}
				delete(model, k)
			}
			if s.len() != len(model) || s.len() > 200 {
				t.Fatalf("step %d: len %d, model %d", step, s.len(), len(model))
			}
			if step%25 != 0 {
				continue
			}
			for mk, want := range model {
				if i, ok := s.lookup(keyOf(mk), hashOf(mk)); !ok {
					t.Fatalf("step %d: k%d lost", step, mk)
				} else if s.slots[i].value != want {
					t.Fatalf("step %d: k%d = %d, want %d", step, mk, s.slots[i].value, want)
				}
			}
		}
		// Remove everything: the table shrinks back.
		for mk := range model {
			s.delete(keyOf(mk), hashOf(mk))
		}
		if s.len() != 0 || s.tableSize() > 4*minTableSize {
			t.Fatalf("after deleting all: len %d, table %d buckets", s.len(), s.tableSize())
		}
	}
}

// TestKeyLengths covers keys stored inside the entry (up to 32 bytes) and
// beside it, at the boundary, with shared prefixes so that a comparison
// that ignored the length would confuse them.
func TestKeyLengths(t *testing.T) {
	var rec recorder
	c := New[int](Options{Shards: 1, OnRemove: rec.onRemove})
	lengths := []int{0, 1, 31, 32, 33, 100, 300}
	key := func(n int) string { return strings.Repeat("k", n) }
	for _, n := range lengths {
		c.Put(key(n), n, 1, time.Time{})
	}
	for _, n := range lengths {
		if v, r := c.Get(key(n), t0); r != Hit || v != n {
			t.Fatalf("Get(len %d) = %d, %v", n, v, r)
		}
	}
	for _, n := range []int{2, 30, 34, 299} {
		if _, r := c.Get(key(n), t0); r != Miss {
			t.Fatalf("Get(len %d) = %v, want miss", n, r)
		}
	}
	for _, n := range lengths {
		if v, r := c.Take(key(n), t0); r != Hit || v != n {
			t.Fatalf("Take(len %d) = %d, %v", n, v, r)
		}
	}
	ev := rec.take()
	if len(ev) != len(lengths) {
		t.Fatalf("%d removals, want %d", len(ev), len(lengths))
	}
	for i, e := range ev {
		if e.key != key(lengths[i]) || e.why != Taken {
			t.Fatalf("removal %d: key of len %d, %v", i, len(e.key), e.why)
		}
	}
	checkInvariants(t, c)
}

// TestProtectedClock checks the one relaxation of LRU order: in a large
// shard a hit (or a replacing Put) on a protected entry only marks it, and a
// marked entry reaching the tail of protected goes back to its front
// instead of being demoted, while unmarked ones are demoted in LRU order.
func TestProtectedClock(t *testing.T) {
	c := New[int](Options{MaxEntries: 1000, Shards: 1}) // protected 800: clock
	for i := range 300 {
		k := fmt.Sprint(i)
		c.Put(k, i, 1, time.Time{})
		c.Get(k, t0)
	}
	before := segmentKeys(c, segProtected)
	if before[0] != "299" || before[299] != "0" {
		t.Fatalf("protected front %s, back %s", before[0], before[299])
	}
	c.Get("10", t0)
	c.Put("20", 1020, 1, time.Time{})
	if got := segmentKeys(c, segProtected); !slices.Equal(got, before) {
		t.Fatal("a hit on a protected entry reordered protected")
	}
	// 522 more promotions push protected 22 over its share: the 22 least
	// recently used unmarked entries are demoted, 10 and 20 come back.
	for i := 300; i < 822; i++ {
		k := fmt.Sprint(i)
		c.Put(k, i, 1, time.Time{})
		c.Get(k, t0)
	}
	prot := segmentKeys(c, segProtected)
	if len(prot) != 800 || !slices.Contains(prot, "10") || !slices.Contains(prot, "20") {
		t.Fatalf("protected holds %d entries; 10 kept: %v, 20 kept: %v", len(prot), slices.Contains(prot, "10"), slices.Contains(prot, "20"))
	}
	var want []string
	for i := 23; i >= 0; i-- {
		if i != 10 && i != 20 {
			want = append(want, fmt.Sprint(i))
		}
	}
	if got := segmentKeys(c, segProbation); !slices.Equal(got, want) {
		t.Fatalf("probation = %v, want %v", got, want)
	}
	if v, r := c.Get("20", t0); r != Hit || v != 1020 {
		t.Fatalf("Get(20) = %d, %v", v, r)
	}
	checkInvariants(t, c)
}

// TestReplaceOverBudget replaces a value with a bigger one that forces
// evictions: the entry must keep its segment and its key, and the
// evictions (which shift table slots) must not disturb it.
func TestReplaceOverBudget(t *testing.T) {
	var rec recorder
	c := New[int](Options{MaxEntries: 10, MaxBytes: 100, Shards: 1, OnRemove: rec.onRemove})
	for i := range 10 {
		c.Put(fmt.Sprint(i), i, 10, time.Time{})
	}
	c.Get("5", t0) // protected
	c.Put("5", 55, 40, time.Time{})
	ev := rec.take()
	if len(ev) != 3 || ev[0].key != "0" || ev[1].key != "1" || ev[2].key != "2" {
		t.Fatalf("removals %v, want 0, 1, 2 evicted", ev)
	}
	if got := segmentKeys(c, segProtected); !slices.Equal(got, []string{"5"}) {
		t.Fatalf("protected = %v", got)
	}
	if v, r := c.Get("5", t0); r != Hit || v != 55 || c.Bytes() != 100 {
		t.Fatalf("Get(5) = %d, %v; bytes %d", v, r, c.Bytes())
	}
	checkInvariants(t, c)
}

// TestGrowthKeepsOrder grows one shard's table many times and checks that
// both lists keep their order and protected entries keep their marks.
func TestGrowthKeepsOrder(t *testing.T) {
	c := New[int](Options{MaxEntries: 100000, Shards: 1})
	var want []string
	for i := range 5000 {
		k := fmt.Sprint(i)
		c.Put(k, i, 1, time.Time{})
		if i%10 == 0 {
			c.Get(k, t0)
			c.Get(k, t0) // marked
		} else {
			want = append(want, k)
		}
	}
	slices.Reverse(want)
	if got := segmentKeys(c, segProbation); !slices.Equal(got, want) {
		t.Fatal("probation order changed by growth")
	}
	s := &c.shards[0]
	for i := s.links[protectedHead].next; i != protectedHead; i = s.links[i].next {
		if !s.slots[i].referenced {
			t.Fatalf("protected entry %s lost its mark", s.key(i))
		}
	}
	checkInvariants(t, c)
}

// TestFlushWrapsAround flushes a table whose probe runs wrap past its end,
// so that removals shift entries across the end in both directions.
func TestFlushWrapsAround(t *testing.T) {
	for seed := range uint64(50) {
		c := &Cache[int]{shards: make([]shard[int], 1)}
		s := &c.shards[0]
		s.init(12, math.MaxInt64, true)
		rng := rand.New(rand.NewPCG(seed, 9))
		live := make(map[string]uint32) // key → hash
		for k := range 12 {
			key := fmt.Sprint("k", k)
			expires := int64(rng.IntN(2)) * 100 // 0: expired at 50
			hash := uint32(13 + rng.IntN(6))    // homes 13..15 and 0..2 of 16
			s.put(key, hash, k, 1, expires)
			if expires > 50 {
				live[key] = hash
			}
		}
		n, removed := s.flush(50)
		if n != 12-len(live) || len(removed) != n {
			t.Fatalf("seed %d: flushed %d (%d reported), want %d", seed, n, len(removed), 12-len(live))
		}
		for _, r := range removed {
			if _, ok := live[r.key]; ok {
				t.Fatalf("seed %d: flushed live %s", seed, r.key)
			}
		}
		for key, hash := range live {
			if _, ok := s.lookup(key, hash); !ok {
				t.Fatalf("seed %d: live %s lost", seed, key)
			}
		}
		checkInvariants(t, c)
	}
}
