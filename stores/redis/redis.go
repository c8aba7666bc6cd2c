// Package redis is a reprise.SessionStore on Redis, for a fleet of servers
// behind a load balancer: a client resumes on whichever node it reaches,
// since every node reads the one store. It lives in its own package so
// that the reprise core pulls in no Redis client.
//
// Every entry is sealed with AES-256-GCM under the fleet's store key
// (reprise.FleetStoreKey of the --ticket-secret) and bound to the session
// ID it is stored under, so a Redis dump holds no master secret or PSK,
// and an altered or swapped entry is refused
// (reprise.ErrStoreEntryInvalid). Entries expire in Redis when their
// session does (the key's TTL is the session's remaining lifetime). TLS
// 1.3 single-use tickets are taken atomically with GETDEL (Redis 6.2 and
// later), so two connections can never both resume one ticket.
//
// The store honours each call's context, whose deadline is reprise's
// store budget (Config.StoreTimeout): a slow or stopped Redis costs full
// handshakes, never failed ones.
package redis

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/sealed"
)

// DefaultPrefix starts the name of every key the store writes.
const DefaultPrefix = "reprise:session:"

// Options configures a Store.
type Options struct {
	// Key seals the entries: 32 bytes, the same on every node, such as
	// reprise.FleetStoreKey(secret).
	Key []byte
	// Prefix starts every Redis key name; empty means DefaultPrefix. Nodes
	// that share sessions share the prefix.
	Prefix string
	// Redis is passed through to go-redis: one address for a single
	// server, MasterName for Sentinel, several addresses for a Cluster;
	// pooling, TLS and authentication as go-redis documents them. The
	// store turns ContextTimeoutEnabled on, so that the handshake's store
	// budget bounds every command.
	Redis goredis.UniversalOptions
}

// Store is a reprise.SessionStore and reprise.SessionTaker on Redis.
type Store struct {
	client goredis.UniversalClient
	sealer *sealed.Sealer
	prefix string
	owned  bool // Close closes the client
	now    func() time.Time
}

var (
	_ reprise.SessionStore = (*Store)(nil)
	_ reprise.SessionTaker = (*Store)(nil)
)

// New connects to Redis as o.Redis says. Connections are made on first
// use, so New does not fail when Redis is down: handshakes then run in
// full until it is back.
func New(o Options) (*Store, error) {
	opts := o.Redis
	opts.ContextTimeoutEnabled = true
	if len(opts.Addrs) == 0 {
		return nil, errors.New("redis store: no Redis address")
	}
	s, err := NewWithClient(goredis.NewUniversalClient(&opts), o.Key, o.Prefix)
	if err != nil {
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Open connects to the Redis server of a URL:
//
//	redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?dial_timeout=3&...]
//	rediss://...   (TLS to Redis)
//
// as go-redis's ParseURL reads it. Sentinel and Cluster setups use New.
func Open(url string, key []byte) (*Store, error) {
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	return New(Options{Key: key, Redis: goredis.UniversalOptions{
		Addrs:           []string{o.Addr},
		DB:              o.DB,
		Username:        o.Username,
		Password:        o.Password,
		TLSConfig:       o.TLSConfig,
		DialTimeout:     o.DialTimeout,
		ReadTimeout:     o.ReadTimeout,
		WriteTimeout:    o.WriteTimeout,
		PoolSize:        o.PoolSize,
		MinIdleConns:    o.MinIdleConns,
		MaxRetries:      o.MaxRetries,
		ClientName:      o.ClientName,
		Protocol:        o.Protocol,
		DisableIdentity: true, // CLIENT SETINFO needs Redis 7.2
	}})
}

// NewWithClient uses a go-redis client the caller made (and closes). Set
// ContextTimeoutEnabled on it, or a stopped Redis holds each call for the
// client's read timeout instead of the store budget.
func NewWithClient(client goredis.UniversalClient, key []byte, prefix string) (*Store, error) {
	x, err := sealed.New(key)
	if err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, sealer: x, prefix: prefix, now: time.Now}, nil
}

// Close closes the Redis client if New or Open made it.
func (s *Store) Close() error {
	if s.owned {
		return s.client.Close()
	}
	return nil
}

func (s *Store) key(id []byte) string { return s.prefix + hex.EncodeToString(id) }

// Put stores sess under id until it expires.
func (s *Store) Put(ctx context.Context, id []byte, sess *reprise.Session) error {
	ttl := sealed.TTL(sess, s.now())
	if ttl < time.Millisecond {
		return nil // expired already: nothing to keep
	}
	entry, err := s.sealer.Seal(id, sess)
	if err != nil {
		return err
	}
	return s.client.Set(ctx, s.key(id), entry, ttl).Err()
}

// Get returns the session stored under id, nil if there is none.
func (s *Store) Get(ctx context.Context, id []byte) (*reprise.Session, error) {
	entry, err := s.client.Get(ctx, s.key(id)).Bytes()
	return s.open(id, entry, err)
}

// Take returns and deletes the session stored under id in one atomic
// GETDEL: a single-use ticket is taken by one connection at most.
func (s *Store) Take(ctx context.Context, id []byte) (*reprise.Session, error) {
	entry, err := s.client.GetDel(ctx, s.key(id)).Bytes()
	return s.open(id, entry, err)
}

func (s *Store) open(id, entry []byte, err error) (*reprise.Session, error) {
	switch {
	case errors.Is(err, goredis.Nil):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return s.sealer.Open(id, entry)
}

// Delete removes id.
func (s *Store) Delete(ctx context.Context, id []byte) error {
	return s.client.Del(ctx, s.key(id)).Err()
}

// SetLogger sends go-redis's own log lines (such as failed dials while
// Redis is down) to logf, at most one per interval, so that an outage
// does not flood a server's log with a line per handshake. go-redis's
// logger is process-wide.
func SetLogger(logf func(format string, args ...any), interval time.Duration) {
	goredis.SetLogger(&rateLimitedLogger{logf: logf, interval: interval})
}

type rateLimitedLogger struct {
	logf     func(format string, args ...any)
	interval time.Duration
	mu       sync.Mutex
	last     time.Time
	dropped  int
}

func (l *rateLimitedLogger) Printf(_ context.Context, format string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.interval {
		l.dropped++
		l.mu.Unlock()
		return
	}
	dropped := l.dropped
	l.last, l.dropped = now, 0
	l.mu.Unlock()
	if dropped > 0 {
		format += fmt.Sprintf(" (and %d more lines like it)", dropped)
	}
	l.logf(format, args...)
}
