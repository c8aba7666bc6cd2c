package reprise

import (
	"context"
	"errors"
	"sync"
	"time"
)

// AntiReplay is a strike register (RFC 8446, Section 8.2): it remembers the
// ClientHellos whose early data a server accepted, for as long as a copy
// could still pass the freshness check, so that each is accepted once.
// Servers that share one register (stores/redis.StrikeRegister) never
// both accept the same early data.
//
// Strike runs under Config.StoreTimeout like the SessionStore calls: an
// error, a stall or a panic rejects the early data and the handshake goes
// on in 1-RTT.
type AntiReplay interface {
	// Strike records key for ttl and reports whether it was new: false
	// means a ClientHello with this key was accepted less than ttl ago,
	// and this one is a replay. The check and the record must be one
	// atomic step, or two servers could both see the key as new.
	Strike(ctx context.Context, key []byte, ttl time.Duration) (fresh bool, err error)
}

// DefaultMaxStrikes is a MemoryStrikeRegister's capacity when none is given:
// at 2^16 entries of a few dozen bytes, a few MiB at most.
const DefaultMaxStrikes = 1 << 16

// errStrikesFull is the memory register's answer when every entry is still
// live: the early data is rejected ("store-unavailable"), never accepted
// unchecked.
var errStrikesFull = errors.New("reprise: strike register full")

// MemoryStrikeRegister is an AntiReplay held in one process: it stops
// replays to this server only. Its memory is bounded: entries expire after
// their ttl, which the early data age window fixes, and at most max are
// live; when full, early data is rejected until entries expire.
type MemoryStrikeRegister struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	live  map[[32]byte]time.Time // key -> expiry
	order []strike               // in insertion order, for expiry; order[head:] are live or not yet dropped
	head  int
}

type strike struct {
	key    [32]byte
	expiry time.Time
}

// NewMemoryStrikeRegister returns an empty register holding at most max
// entries (DefaultMaxStrikes if max <= 0).
func NewMemoryStrikeRegister(max int) *MemoryStrikeRegister {
	if max <= 0 {
		max = DefaultMaxStrikes
	}
	return &MemoryStrikeRegister{max: max, now: time.Now, live: make(map[[32]byte]time.Time)}
}

// Strike implements AntiReplay.
func (m *MemoryStrikeRegister) Strike(_ context.Context, key []byte, ttl time.Duration) (bool, error) {
	var k [32]byte
	copy(k[:], key) // keys are SHA-256 hashes (strikeKey)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.expireLocked(now)
	if exp, ok := m.live[k]; ok && now.Before(exp) {
		return false, nil
	}
	if len(m.live) >= m.max {
		return false, errStrikesFull
	}
	exp := now.Add(ttl)
	m.live[k] = exp
	m.order = append(m.order, strike{k, exp})
	return true, nil
}

// Len returns the number of live entries.
func (m *MemoryStrikeRegister) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expireLocked(m.now())
	return len(m.live)
}

// expireLocked drops the entries at the front of the insertion order that
// have expired. The ttl is the same for every entry of one Config, so the
// order is also the order of expiry; an entry with a longer ttl only holds
// back later ones, within max.
func (m *MemoryStrikeRegister) expireLocked(now time.Time) {
	for ; m.head < len(m.order) && !now.Before(m.order[m.head].expiry); m.head++ {
		if s := m.order[m.head]; m.live[s.key].Equal(s.expiry) {
			delete(m.live, s.key)
		}
	}
	// Compact once the dropped prefix is half the slice, so each entry
	// is copied a bounded number of times and memory follows max.
	if m.head > 0 && m.head >= len(m.order)/2 {
		m.order = append(m.order[:0:0], m.order[m.head:]...)
		m.head = 0
	}
}

// memoryStrikes returns the Config's own strike register, made on first
// use, used when AntiReplay is nil.
func (c *Config) memoryStrikes() *MemoryStrikeRegister {
	st := c.shared()
	st.strikesOnce.Do(func() { st.strikes = NewMemoryStrikeRegister(0) })
	return st.strikes
}
