package reprise

import (
	"context"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/reprise-tls/reprise/internal/ticket"
)

// TicketKeys seal and open session tickets in the format RFC 5077,
// Section 4 recommends: key_name (16) | IV (16) | AES-CBC state |
// HMAC-SHA256 (32). The first key seals; every key opens, so a ring with a
// new key first and the old one second keeps old tickets working, and they
// are renewed as they are used. Keys can be replaced at any time (Reload).
//
// The same format is what nginx and HAProxy use, and their key files load
// here, so a fleet can share keys with them.
type TicketKeys struct {
	ring    *ticket.Ring
	path    string
	fmt     ticket.Format
	derived *ticket.DerivedRing // keys that follow a fleet secret and the clock, or nil
}

// TicketKeyFormat selects a ticket key file dialect.
type TicketKeyFormat = ticket.Format

const (
	TicketKeyFormatAuto    = ticket.FormatAuto    // detect; ambiguous files are an error
	TicketKeyFormatNginx   = ticket.FormatNginx   // ssl_session_ticket_key: 48 or 80 raw bytes per key
	TicketKeyFormatHAProxy = ticket.FormatHAProxy // tls-ticket-keys: base64 lines
	TicketKeyFormatEnvoy   = ticket.FormatEnvoy   // session_ticket_keys: 80 raw bytes, nginx's 80-byte layout
)

// NewTicketKeys makes a ring from random keys of the given size (128 or
// 256 bits); count keys, the first current.
func NewTicketKeys(bits, count int) (*TicketKeys, error) {
	var keys []ticket.Key
	for range count {
		k, err := ticket.NewKey(rand.Reader, bits)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	r, err := ticket.NewRing(keys)
	if err != nil {
		return nil, err
	}
	return &TicketKeys{ring: r}, nil
}

// LoadTicketKeys reads a key file in nginx, HAProxy or Envoy format.
func LoadTicketKeys(path string, format TicketKeyFormat) (*TicketKeys, error) {
	keys, err := ticket.LoadKeyFile(path, format)
	if err != nil {
		return nil, err
	}
	r, err := ticket.NewRing(keys)
	if err != nil {
		return nil, err
	}
	return &TicketKeys{ring: r, path: path, fmt: format}, nil
}

// NewDerivedTicketKeys returns keys that every node of a fleet derives
// from one shared secret (at least 32 bytes) and the clock, rotating in
// step with no coordinator or key distribution: a new key every period (zero
// means 12 hours), the previous periods' keys still opening tickets for
// overlap (zero means one period), and the next period's accepted already,
// so clock skew and rollouts never cost a resumption. `reprise ticketkey
// derive` writes the same keys for nginx and HAProxy. The derivation is
// HKDF-SHA256 over the secret and the period number (internal/ticket,
// derive.go).
func NewDerivedTicketKeys(secret []byte, period, overlap time.Duration) (*TicketKeys, error) {
	sched, err := ticket.NewSchedule(secret, period, overlap)
	if err != nil {
		return nil, err
	}
	d, err := ticket.NewDerivedRing(sched, time.Now())
	if err != nil {
		return nil, err
	}
	return &TicketKeys{ring: d.Ring, derived: d}, nil
}

// LoadFleetSecret reads a fleet secret file: one line of standard base64
// of at least 32 random bytes, as `head -c 32 /dev/urandom | base64`
// writes it. Keep it readable by the server alone.
func LoadFleetSecret(path string) ([]byte, error) { return ticket.LoadSecret(path) }

// FleetStoreKey returns the 32-byte key, derived from a fleet secret under
// its own label, that the Redis and bolt stores seal entries with.
func FleetStoreKey(secret []byte) []byte { return ticket.StoreKey(secret) }

// Reload re-reads the file the keys came from (for SIGHUP). On error the
// old keys stay in use. Derived keys have no file; they follow the clock.
func (k *TicketKeys) Reload() error {
	if k.derived != nil {
		return nil
	}
	keys, err := ticket.LoadKeyFile(k.path, k.fmt)
	if err != nil {
		return err
	}
	return k.ring.SetKeys(keys)
}

// ticketState holds a Config's automatic ticket keys.
type ticketState struct {
	once sync.Once
	keys *TicketKeys
	err  error
}

// ticketRotation is how often automatic keys change; old keys are kept for
// the longest ticket lifetime so outstanding tickets still open.
const ticketRotation = 24 * time.Hour

// TicketStatus is what opening a ticket found.
type TicketStatus int

const (
	TicketOpened      TicketStatus = iota // opened with the current key
	TicketOpenedStale                     // opened with an older key: resume, then issue a fresh ticket
	TicketKeyUnknown                      // sealed by a key we do not hold ("ticket-key-unknown")
	TicketInvalid                         // failed authentication or is malformed ("ticket-invalid")
	TicketUnavailable                     // the sealer could not reach its keys ("store-unavailable")
)

// TicketSealer turns an encoded session into a ticket and back (RFC 5077,
// Section 4). A fleet plugs in shared or derived keys by implementing it;
// *TicketKeys is the standard implementation.
//
// The plaintext holds a master secret or resumption PSK: Seal must encrypt
// and authenticate it. The ticket given to Open comes from the network and
// is attacker-controlled; Open must not panic on any input and must check
// integrity before it decrypts. now is the connection's Config.Time, so
// rotation can be tested.
//
// ctx carries the call's budget (Config.StoreTimeout) within the
// handshake's context; a sealer that consults anything remote must honour
// it. A sealer that errs, panics or overruns costs that ticket (the
// handshake goes on without it, or as a full one), never the connection.
type TicketSealer interface {
	SealTicket(ctx context.Context, now time.Time, rand io.Reader, plaintext []byte) ([]byte, error)
	OpenTicket(ctx context.Context, now time.Time, ticket []byte) ([]byte, TicketStatus)
}

// SealTicket implements TicketSealer with the first key of the ring.
func (k *TicketKeys) SealTicket(_ context.Context, now time.Time, rand io.Reader, plaintext []byte) ([]byte, error) {
	k.update(now)
	return k.ring.Seal(rand, plaintext)
}

// OpenTicket implements TicketSealer with any key of the ring.
func (k *TicketKeys) OpenTicket(_ context.Context, now time.Time, t []byte) ([]byte, TicketStatus) {
	k.update(now)
	plain, status := k.ring.Open(t)
	switch status {
	case ticket.Opened:
		return plain, TicketOpened
	case ticket.OpenedStale:
		return plain, TicketOpenedStale
	case ticket.UnknownKey:
		return nil, TicketKeyUnknown
	}
	return nil, TicketInvalid
}

// update brings the keys to now: derived keys to now's period, automatic
// keys through their rotation.
func (k *TicketKeys) update(now time.Time) {
	if k.derived != nil {
		k.derived.Update(now)
		return
	}
	k.ring.Rotate(now)
}

// ticketKeys returns the key ring in use when no TicketSealer is set:
// Config.TicketKeys, else keys made at random for this Config and rotated
// automatically.
func (c *Conn) ticketKeys() (*TicketKeys, error) {
	cfg := c.config
	if cfg.TicketKeys != nil {
		return cfg.TicketKeys, nil
	}
	st := cfg.shared().tickets
	st.once.Do(func() {
		keep := max(cfg.ticketLifetime13(), cfg.sessionTimeout())
		var ring *ticket.Ring
		ring, st.err = ticket.NewRotatingRing(cfg.rand(), 256, ticketRotation, keep, cfg.time())
		st.keys = &TicketKeys{ring: ring}
	})
	return st.keys, st.err
}

// sealTicket seals a session into a ticket. Our own key rings are called
// directly; a TicketSealer is someone else's code and runs guarded.
func (c *Conn) sealTicket(ctx context.Context, s *Session) ([]byte, error) {
	cfg := c.config
	plain, err := c.ticketState(s)
	if err != nil {
		return nil, err
	}
	if sealer := cfg.TicketSealer; sealer != nil {
		now, rand := cfg.time(), cfg.rand()
		return guardedCall(ctx, cfg, "TicketSealer.SealTicket", func(ctx context.Context) ([]byte, error) {
			return sealer.SealTicket(ctx, now, rand, plain)
		})
	}
	keys, err := c.ticketKeys()
	if err != nil {
		return nil, err
	}
	return keys.SealTicket(ctx, cfg.time(), cfg.rand(), plain)
}

// openTicket opens a ticket. The input is attacker-controlled: any
// failure is a refusal, never an error. status tells how it opened (an
// older key's ticket is TicketOpenedStale), for the caller to count.
func (c *Conn) openTicket(ctx context.Context, t []byte) (s *Session, status TicketStatus, refused Refusal) {
	cfg := c.config
	var plain []byte
	if sealer := cfg.TicketSealer; sealer != nil {
		type opened struct {
			plain  []byte
			status TicketStatus
		}
		now := cfg.time()
		o, err := guardedCall(ctx, cfg, "TicketSealer.OpenTicket", func(ctx context.Context) (opened, error) {
			p, st := sealer.OpenTicket(ctx, now, t)
			return opened{p, st}, nil
		})
		if err != nil {
			// The guard has counted the failure; there is no status.
			return nil, TicketInvalid, RefusedStoreDown
		}
		plain, status = o.plain, o.status
	} else {
		keys, err := c.ticketKeys()
		if err != nil {
			return nil, TicketInvalid, RefusedTicketKey
		}
		plain, status = keys.OpenTicket(ctx, cfg.time(), t)
	}
	switch status {
	case TicketOpened, TicketOpenedStale:
	case TicketKeyUnknown:
		return nil, status, RefusedTicketKey
	case TicketUnavailable:
		return nil, status, RefusedStoreDown
	default:
		return nil, status, RefusedTicketInvalid
	}
	if s = openedTicketState(plain); s == nil {
		return nil, status, RefusedTicketInvalid
	}
	return s, status, RefusedNone
}

// hrrCookieKeys seals HelloRetryRequest cookies (RFC 8446, Section
// 4.2.2). A cookie only has to survive one handshake, on one connection,
// so one random key per process does: it never depends on the ticket
// sealer, whose failure must not fail a retry, nor on tickets being on.
var hrrCookieKeys = sync.OnceValues(func() (*ticket.Ring, error) {
	k, err := ticket.NewKey(nil, 256)
	if err != nil {
		return nil, err
	}
	return ticket.NewRing([]ticket.Key{k})
})
