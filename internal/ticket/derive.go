package ticket

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	be "encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Derived ticket keys: every node of a fleet holds one
// shared secret and derives the key of each period from it and the clock,
// so keys rotate in step with no coordinator and no key distribution.
//
// The key of period n (n = floor(Unix time / period)) is
//
//	HKDF-SHA256(IKM = secret, salt = "reprise fleet v1",
//	            info = "reprise ticket key" || uint64(n) || uint64(period seconds),
//	            L = 80)
//
// split as name 16 | AES-256 key 32 | HMAC-SHA256 key 32 (RFC 5869; the
// layout of RFC 5077, Section 4's key_name and keys). The period length is
// part of info, so nodes that disagree on it derive different keys and
// refuse each other's tickets ("ticket-key-unknown") rather than meet by
// chance. The sealing key of the Redis and bolt stores comes from the same
// secret under another label (StoreKey), so neither key says anything
// about the other.
//
// A ring at time t holds, in order: the key of the current period (it
// seals), the next period's (a node whose clock runs ahead, or that rolled
// out first, already seals with it), then the previous periods' within the
// overlap (tickets sealed before the rotation still open). Any two nodes
// whose clocks differ by less than a period therefore open each other's
// tickets.

// MinSecretLen is the shortest fleet secret accepted: 256 bits.
const MinSecretLen = 32

// DefaultPeriod is the key period of a fleet that sets none: a new key
// every 12 hours; with the default overlap of one period the previous key
// still opens for 12 hours more, so a ticket opens for 12 to 24 hours.
const DefaultPeriod = 12 * time.Hour

const (
	deriveSalt      = "reprise fleet v1"
	ticketKeyLabel  = "reprise ticket key"
	storeKeyLabel   = "reprise store entry key"
	maxSecretFile   = 4096
	derivedKeyBytes = nameLen + 32 + 32
)

// ErrSecret is wrapped by every secret-file error.
var ErrSecret = errors.New("ticket secret")

// ParseSecret decodes a fleet secret file: one line of standard base64
// (as `head -c 32 /dev/urandom | base64` writes it) of at least 32 bytes.
// Surrounding whitespace, a trailing newline included, is ignored.
func ParseSecret(data []byte) ([]byte, error) {
	line := bytes.TrimSpace(data)
	if bytes.ContainsAny(line, "\r\n") {
		return nil, fmt.Errorf("%w: more than one line; want one line of base64", ErrSecret)
	}
	secret, err := base64.StdEncoding.Strict().DecodeString(string(line))
	if err != nil {
		return nil, fmt.Errorf("%w: not standard base64: %v", ErrSecret, err)
	}
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d (head -c 32 /dev/urandom | base64)", ErrSecret, len(secret), MinSecretLen)
	}
	return secret, nil
}

// LoadSecret reads and parses a fleet secret file.
func LoadSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecret, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecret, err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("%w %s: larger than %d bytes; is this a secret file?", ErrSecret, path, maxSecretFile)
	}
	s, err := ParseSecret(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Schedule derives a fleet's ticket keys from its secret.
type Schedule struct {
	secret  []byte
	period  time.Duration
	overlap time.Duration
}

// NewSchedule returns the schedule of secret with the given period (zero
// means DefaultPeriod) and overlap (zero means one period). period is a
// whole number of seconds of at least one minute; overlap, how long a key
// keeps opening tickets after its period ends, is rounded up to whole
// periods.
func NewSchedule(secret []byte, period, overlap time.Duration) (*Schedule, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrSecret, len(secret), MinSecretLen)
	}
	if period == 0 {
		period = DefaultPeriod
	}
	if overlap == 0 {
		overlap = period
	}
	if period < time.Minute || period%time.Second != 0 {
		return nil, fmt.Errorf("ticket: key period %v: want whole seconds, at least a minute", period)
	}
	if overlap < 0 || overlap > 400*period {
		return nil, fmt.Errorf("ticket: key overlap %v: want 0 to 400 periods", overlap)
	}
	return &Schedule{secret: bytes.Clone(secret), period: period, overlap: overlap}, nil
}

// Period returns the key period.
func (s *Schedule) Period() time.Duration { return s.period }

// PeriodAt returns the number of the period that t falls in.
func (s *Schedule) PeriodAt(t time.Time) int64 {
	secs := t.Unix()
	p := int64(s.period / time.Second)
	n := secs / p
	if secs < 0 && secs%p != 0 {
		n-- // floor, for clocks before 1970
	}
	return n
}

// Key returns the ticket key of period n.
func (s *Schedule) Key(n int64) Key {
	info := make([]byte, 0, len(ticketKeyLabel)+16)
	info = append(info, ticketKeyLabel...)
	info = be.BigEndian.AppendUint64(info, uint64(n))
	info = be.BigEndian.AppendUint64(info, uint64(s.period/time.Second))
	okm, err := hkdf.Key(sha256.New, s.secret, []byte(deriveSalt), string(info), derivedKeyBytes)
	if err != nil {
		panic("ticket: HKDF-SHA256 cannot produce 80 bytes: " + err.Error()) // unreachable: L is far below 255*32
	}
	var k Key
	copy(k.Name[:], okm[:nameLen])
	k.AESKey = okm[nameLen : nameLen+32 : nameLen+32]
	k.HMACKey = okm[nameLen+32:]
	return k
}

// KeysAt returns the ring at t: the current period's key (it seals), the
// next period's, then the previous periods' within the overlap.
func (s *Schedule) KeysAt(t time.Time) []Key {
	n := s.PeriodAt(t)
	back := int64((s.overlap + s.period - 1) / s.period)
	keys := []Key{s.Key(n), s.Key(n + 1)}
	for i := int64(1); i <= back; i++ {
		keys = append(keys, s.Key(n-i))
	}
	return keys
}

// StoreKey returns the 32-byte key, derived from a fleet secret, that
// seals session store entries (Redis, bolt) with AES-256-GCM. It does not
// rotate: an entry lives at most its session's lifetime, and every node
// must open every entry.
func StoreKey(secret []byte) []byte {
	k, err := hkdf.Key(sha256.New, secret, []byte(deriveSalt), storeKeyLabel, 32)
	if err != nil {
		panic("ticket: HKDF-SHA256 cannot produce 32 bytes: " + err.Error()) // unreachable
	}
	return k
}

// DerivedRing is a Ring kept on a Schedule: Update moves it to the keys of
// the period at the given time. Seal and Open use the Ring as usual.
type DerivedRing struct {
	*Ring
	sched *Schedule
	mu    sync.Mutex   // serialises moves to a new period
	at    atomic.Int64 // the period the ring's keys are for
}

// NewDerivedRing returns the ring of sched at now.
func NewDerivedRing(sched *Schedule, now time.Time) (*DerivedRing, error) {
	r, err := NewRing(sched.KeysAt(now))
	if err != nil {
		return nil, err
	}
	d := &DerivedRing{Ring: r, sched: sched}
	d.at.Store(sched.PeriodAt(now))
	return d, nil
}

// Update brings the ring to the period of now. It costs one comparison
// when the period has not changed. The clock may go back (a corrected
// node): the ring simply follows it.
func (d *DerivedRing) Update(now time.Time) {
	n := d.sched.PeriodAt(now)
	if n == d.at.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n == d.at.Load() {
		return // another goroutine moved it
	}
	if err := d.Ring.SetKeys(d.sched.KeysAt(now)); err == nil {
		d.at.Store(n)
	}
}

// Schedule returns the schedule the ring follows.
func (d *DerivedRing) Schedule() *Schedule { return d.sched }
