package reprise

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/reprise-tls/reprise/internal/cache"
)

// SessionCacheMode selects how a server caches TLS 1.2 sessions by ID
// (OpenSSL's SSL_CTX_set_session_cache_mode). Modes combine with |.
type SessionCacheMode int

const (
	// SessionCacheServer caches sessions and resumes them by ID (the default).
	SessionCacheServer SessionCacheMode = 1 << iota
	// SessionCacheNoAutoClear leaves expired sessions in the internal cache
	// until FlushSessionCache is called (SSL_SESS_CACHE_NO_AUTO_CLEAR).
	SessionCacheNoAutoClear
	// SessionCacheNoInternalLookup skips the internal cache on lookups: only
	// GetSession is asked (SSL_SESS_CACHE_NO_INTERNAL_LOOKUP).
	SessionCacheNoInternalLookup
	// SessionCacheNoInternalStore does not put new sessions in the internal
	// cache; OnNewSession still sees them (SSL_SESS_CACHE_NO_INTERNAL_STORE).
	SessionCacheNoInternalStore

	// SessionCacheOff turns the server's session ID cache off: ServerHello
	// carries an empty session ID and offered IDs are not looked up.
	SessionCacheOff SessionCacheMode = -1
)

func (c *Config) sessionTimeout() time.Duration {
	if c.SessionTimeout > 0 {
		return c.SessionTimeout
	}
	return 300 * time.Second
}

func (c *Config) ticketLifetime13() time.Duration {
	const max = 7 * 24 * time.Hour // RFC 8446, Section 4.6.1
	if c.TicketLifetime > 0 && c.TicketLifetime < max {
		return c.TicketLifetime
	}
	return max
}

func (c *Config) cacheMode() SessionCacheMode {
	if c.SessionCacheMode == 0 {
		return SessionCacheServer
	}
	return c.SessionCacheMode
}

func (c *Config) serverCacheOn() bool { return c.cacheMode() != SessionCacheOff }

// SessionStore is a server's session cache: sessions by TLS 1.2 session ID
// (at most 32 bytes) and, for stateful tickets (SingleUseTickets, implied by
// SessionTicketsDisabled while the cache is on), TLS 1.3 sessions by ticket
// identity (40 bytes, so the two never meet), each taken on first use.
//
// Sessions hold master secrets: an implementation that keeps them outside
// the process must encrypt and authenticate them. IDs come from the
// network and are attacker-controlled. A miss is (nil, nil), never an
// error; an error means the store failed, and the handshake goes on as a
// full one. Implementations may forget entries at any time.
//
// ctx carries the call's budget, Config.StoreTimeout (100 ms by default),
// within the handshake's context: a store that reaches over a network must
// honour it. Whatever a store does (err, stall, panic) costs at most a full
// handshake: reprise runs each call guarded and does not wait past the
// budget. New sessions are Put off the handshake's critical path, so a Put
// may still be running when the handshake has ended.
type SessionStore interface {
	Put(ctx context.Context, id []byte, s *Session) error
	Get(ctx context.Context, id []byte) (*Session, error)
	Delete(ctx context.Context, id []byte) error
}

// ErrStoreEntryInvalid is what a SessionStore returns from Get or Take
// for an entry that fails authentication: altered, truncated, sealed under
// another key or moved from another ID. The handshake goes on in full and
// explains it as "store-entry-invalid", apart from store outages.
var ErrStoreEntryInvalid = errors.New("reprise: session store entry failed authentication")

// SessionTaker is implemented by stores that can get and delete an entry
// atomically, which single-use TLS 1.3 tickets need: two connections must
// never both take the same entry.
type SessionTaker interface {
	Take(ctx context.Context, id []byte) (*Session, error)
}

// MemorySessionCache is the default SessionStore: bounded, sharded, with
// per-entry expiry and scan-resistant eviction (internal/cache).
type MemorySessionCache struct {
	c        *cache.Cache[*Session]
	onRemove func(*Session)
	counters *Counters
	now      func() time.Time
}

// DefaultMaxCachedSessionBytes is the byte budget of a MemorySessionCache,
// and of the internal cache unless Config.MaxCachedSessionBytes says
// otherwise: room for the default 20480 sessions with client certificates
// of a typical size (a server keeps only the client's leaf, see
// clientLeafOnly), while clients that send huge certificates cannot make
// the cache hold more than this.
const DefaultMaxCachedSessionBytes = 64 << 20

// NewMemorySessionCache returns a cache holding at most maxEntries sessions
// (zero means 20480) within DefaultMaxCachedSessionBytes.
func NewMemorySessionCache(maxEntries int) *MemorySessionCache {
	return newMemorySessionCache(maxEntries, false, nil, nil, time.Now)
}

func newMemorySessionCache(maxEntries int, noAutoClear bool, onRemove func(*Session), counters *Counters, now func() time.Time) *MemorySessionCache {
	return newMemorySessionCacheBudget(maxEntries, 0, noAutoClear, onRemove, counters, now)
}

// newMemorySessionCacheBudget makes a cache; maxBytes 0 means
// DefaultMaxCachedSessionBytes, and a negative value no byte budget.
func newMemorySessionCacheBudget(maxEntries int, maxBytes int64, noAutoClear bool, onRemove func(*Session), counters *Counters, now func() time.Time) *MemorySessionCache {
	if maxBytes == 0 {
		maxBytes = DefaultMaxCachedSessionBytes
	}
	m := &MemorySessionCache{onRemove: onRemove, counters: counters, now: now}
	m.c = cache.New[*Session](cache.Options{
		MaxEntries:  maxEntries,
		MaxBytes:    maxBytes,
		NoAutoClear: noAutoClear,
		OnRemove: func(_ string, v any, why cache.RemoveReason) {
			if why == cache.Evicted && m.counters != nil {
				m.counters.cacheFull.Add(1)
			}
			if m.onRemove != nil {
				if s, ok := v.(*Session); ok {
					m.onRemove(s)
				}
			}
		},
	})
	return m
}

func sessionSize(s *Session) int {
	return 128 + len(s.secret) + len(s.id) + len(s.serverName) + certsLen(s.peerCerts) + len(s.Extra)
}

// Put stores s under id until s expires.
func (m *MemorySessionCache) Put(_ context.Context, id []byte, s *Session) error {
	m.c.Put(string(id), s, sessionSize(s), s.created.Add(s.lifetime))
	return nil
}

// Get returns the live session stored under id, or nil.
func (m *MemorySessionCache) Get(_ context.Context, id []byte) (*Session, error) {
	s, _ := m.lookup(id)
	return s, nil
}

// lookup is Get that also tells an expired entry from a miss, so the
// handshake can count and explain it.
func (m *MemorySessionCache) lookup(id []byte) (s *Session, expired bool) {
	s, r := m.c.Get(string(id), m.now())
	return s, r == cache.ExpiredEntry
}

// Take returns and deletes the live session stored under id.
func (m *MemorySessionCache) Take(_ context.Context, id []byte) (*Session, error) {
	s, _ := m.c.Take(string(id), m.now())
	return s, nil
}

// Delete removes id.
func (m *MemorySessionCache) Delete(_ context.Context, id []byte) error {
	m.c.Delete(string(id))
	return nil
}

// Flush removes every session expired at now and returns how many.
func (m *MemorySessionCache) Flush(now time.Time) int { return m.c.Flush(now) }

// Len returns the number of cached sessions.
func (m *MemorySessionCache) Len() int { return m.c.Len() }

// internalCache returns the Config's own in-memory cache, made on first use.
func (c *Config) internalCache() *MemorySessionCache {
	st := c.shared()
	st.cacheMu.Lock()
	defer st.cacheMu.Unlock()
	if st.cache == nil {
		st.cache = newMemorySessionCacheBudget(c.MaxCachedSessions, c.MaxCachedSessionBytes, c.cacheMode()&SessionCacheNoAutoClear != 0,
			c.OnRemoveSession, st.counters, c.time)
	}
	return st.cache
}

// FlushSessionCache removes expired sessions from the internal cache, for
// SessionCacheNoAutoClear (SSL_CTX_flush_sessions). It returns how many.
func (c *Config) FlushSessionCache(now time.Time) int {
	return c.internalCache().Flush(now)
}

// ClientSessionCache keeps a client's sessions between connections, keyed
// by server (ServerName, else host:port). Sessions hold secrets.
//
// Put stores a session: a TLS 1.2 session replaces the key's previous one;
// TLS 1.3 tickets accumulate, newest first. Get returns the session to
// offer, or nil; it removes TLS 1.3 tickets as it returns them, because
// each may be used once (RFC 8446, Appendix C.4). Remove forgets the key.
// TLS 1.3 tickets arrive after the handshake and are stored as Read meets
// them, so a connection that never reads stores none.
type ClientSessionCache interface {
	Put(key string, s *Session)
	Get(key string) *Session
	Remove(key string)
}

// maxTicketsPerServer bounds the TLS 1.3 tickets a client keeps per key.
const maxTicketsPerServer = 8

type clientEntry struct {
	key     string
	tls12   *Session
	tickets []*Session // TLS 1.3, newest first
}

// LRUClientSessionCache is the default ClientSessionCache: at most capacity
// servers, least recently used evicted first.
type LRUClientSessionCache struct {
	mu       sync.Mutex
	capacity int
	order    *list.List // of *clientEntry, front = most recent
	byKey    map[string]*list.Element
	now      func() time.Time
}

// NewLRUClientSessionCache returns a cache for capacity servers (zero
// means 64).
func NewLRUClientSessionCache(capacity int) *LRUClientSessionCache {
	if capacity <= 0 {
		capacity = 64
	}
	return &LRUClientSessionCache{capacity: capacity, order: list.New(), byKey: map[string]*list.Element{}, now: time.Now}
}

func (l *LRUClientSessionCache) entry(key string) *clientEntry {
	if el, ok := l.byKey[key]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*clientEntry)
	}
	e := &clientEntry{key: key}
	l.byKey[key] = l.order.PushFront(e)
	for l.order.Len() > l.capacity {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.byKey, last.Value.(*clientEntry).key)
	}
	return e
}

// Put implements ClientSessionCache.
func (l *LRUClientSessionCache) Put(key string, s *Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s == nil {
		l.removeLocked(key)
		return
	}
	e := l.entry(key)
	if s.version == VersionTLS13 {
		e.tickets = append([]*Session{s}, e.tickets...)
		if len(e.tickets) > maxTicketsPerServer {
			e.tickets = e.tickets[:maxTicketsPerServer]
		}
		return
	}
	e.tls12 = s
}

// Get implements ClientSessionCache: the newest unexpired TLS 1.3 ticket
// (taken), else the TLS 1.2 session.
func (l *LRUClientSessionCache) Get(key string) *Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.byKey[key]
	if !ok {
		return nil
	}
	e := el.Value.(*clientEntry)
	now := l.now()
	for len(e.tickets) > 0 {
		t := e.tickets[0]
		e.tickets = e.tickets[1:]
		if !t.Expired(now) {
			return t
		}
	}
	if e.tls12 != nil && e.tls12.Expired(now) {
		e.tls12 = nil
	}
	return e.tls12
}

// Remove implements ClientSessionCache.
func (l *LRUClientSessionCache) Remove(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removeLocked(key)
}

func (l *LRUClientSessionCache) removeLocked(key string) {
	if el, ok := l.byKey[key]; ok {
		l.order.Remove(el)
		delete(l.byKey, key)
	}
}
