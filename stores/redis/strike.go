package redis

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/reprise-tls/reprise"
)

// DefaultStrikePrefix starts the name of every strike register key when the
// store uses DefaultPrefix.
const DefaultStrikePrefix = "reprise:strike:"

// StrikeRegister is a reprise.AntiReplay on Redis (RFC 8446, Section 8.2):
// every server of a fleet that shares it accepts each ClientHello's early
// data once. Strike is one SET key NX PX ttl, atomic in Redis, so two
// nodes racing with copies of one ClientHello cannot both see it as new.
// The key is the hash of the ClientHello's PSK binder that reprise passes
// in; the value is empty, so Redis learns nothing of the connection, and
// the entry expires after the early-data age window made it useless.
//
// When Redis fails or answers after the store budget, reprise rejects the
// early data and the handshake continues in 1-RTT ("store-unavailable").
type StrikeRegister struct {
	client goredis.UniversalClient
	prefix string
}

var _ reprise.AntiReplay = (*StrikeRegister)(nil)

// NewStrikeRegister uses a go-redis client the caller made (set
// ContextTimeoutEnabled on it); prefix empty means DefaultStrikePrefix.
func NewStrikeRegister(client goredis.UniversalClient, prefix string) *StrikeRegister {
	if prefix == "" {
		prefix = DefaultStrikePrefix
	}
	return &StrikeRegister{client: client, prefix: prefix}
}

// StrikeRegister returns a strike register on the store's Redis, under
// DefaultStrikePrefix, or the store's prefix followed by "strike:".
func (s *Store) StrikeRegister() *StrikeRegister {
	prefix := DefaultStrikePrefix
	if s.prefix != DefaultPrefix {
		prefix = s.prefix + "strike:"
	}
	return NewStrikeRegister(s.client, prefix)
}

// Strike implements reprise.AntiReplay with SET NX PX.
func (r *StrikeRegister) Strike(ctx context.Context, key []byte, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		return false, errors.New("redis strike register: ttl below a millisecond")
	}
	return r.client.SetNX(ctx, r.prefix+hex.EncodeToString(key), "", ttl).Result()
}
