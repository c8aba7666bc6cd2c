package ticket

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// maxTicketLen bounds a ticket: RFC 5077, Section 3.3 carries it as
// opaque ticket<0..2^16-1>, and RFC 8446, Section 4.6.1 as
// opaque ticket<1..2^16-1>. Nothing longer can arrive or be sent.
const maxTicketLen = 1<<16 - 1

// MaxPlaintext is the longest state Seal accepts: the ticket must fit in
// 2^16-1 bytes after the name, IV, at least one byte of padding and the MAC.
const MaxPlaintext = (maxTicketLen-nameLen-ivLen-macLen)/aes.BlockSize*aes.BlockSize - 1

// ErrPlaintextTooLarge is returned by Seal for state longer than MaxPlaintext.
var ErrPlaintextTooLarge = errors.New("ticket: state too large for a 65535-byte ticket")

// Status is the outcome of Ring.Open. Only Opened and OpenedStale return a
// plaintext; the other two are declines, not errors: the handshake falls back
// to a full handshake and may report String() as the reason.
type Status int

const (
	// Opened: opened with the current (sealing) key.
	Opened Status = iota
	// OpenedStale: opened with an older key still in the ring. Resume, but
	// issue a fresh ticket so that the client moves to the current key
	// (RFC 5077, Section 3.3 lets the server send a new ticket on an
	// abbreviated handshake; OpenSSL's key callback calls this "renew").
	OpenedStale
	// UnknownKey: no key in the ring has the ticket's key_name, e.g. it was
	// sealed before a rotation dropped the key, or by another fleet.
	UnknownKey
	// Invalid: the ticket is malformed (too short, not block-aligned), its
	// MAC does not verify, or its padding is wrong.
	Invalid
)

// String returns the stable kebab-case reason reported to users.
func (s Status) String() string {
	switch s {
	case Opened:
		return "opened"
	case OpenedStale:
		return "opened-stale"
	case UnknownKey:
		return "ticket-key-unknown"
	case Invalid:
		return "ticket-invalid"
	}
	return fmt.Sprintf("ticket-status-%d", int(s))
}

// Ring is an ordered set of ticket keys: the first seals, all open. It is safe
// for concurrent use; Seal and Open take no lock (they read an immutable
// snapshot), and SetKeys or a rotation swap the snapshot atomically, so a
// connection in progress finishes with the keys it started with.
type Ring struct {
	state atomic.Pointer[ringState]

	mu  sync.Mutex // serialises SetKeys and Rotate
	rot *rotation  // nil for a fixed ring; guarded by mu
}

// ringState is immutable once published.
type ringState struct {
	keys []ringKey
	// nextEvent is the earliest time at which Rotate has something to do
	// (make a new key, or drop an expired one). Zero for fixed rings.
	nextEvent time.Time
}

type ringKey struct {
	Key
	block cipher.Block // AES schedule, computed once per key rather than per ticket
	macs  *sync.Pool   // of keyed HMAC-SHA256 hash.Hash, reset between uses

	// Rotating rings only.
	born    time.Time // when the key started sealing
	retired time.Time // when it stopped sealing; zero while it is current
}

// rotation holds the settings of NewRotatingRing.
type rotation struct {
	rand  io.Reader
	bits  int
	every time.Duration
	keep  time.Duration
}

// NewRing returns a fixed ring: keys[0] seals, every key opens, until SetKeys
// replaces them. Keys may differ in size. Names must be distinct, since a
// ticket finds its key by name. The ring keeps copies of the keys.
func NewRing(keys []Key) (*Ring, error) {
	st, err := newState(keys)
	if err != nil {
		return nil, err
	}
	r := &Ring{}
	r.state.Store(st)
	return r, nil
}

func newState(keys []Key) (*ringState, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	st := &ringState{keys: make([]ringKey, 0, len(keys))}
	for i, k := range keys {
		rk, err := prepare(k)
		if err != nil {
			return nil, err
		}
		for _, prev := range keys[:i] {
			if prev.Name == k.Name {
				return nil, fmt.Errorf("%w: %x", ErrDuplicateName, k.Name)
			}
		}
		st.keys = append(st.keys, rk)
	}
	return st, nil
}

func prepare(k Key) (ringKey, error) {
	if err := k.validate(); err != nil {
		return ringKey{}, err
	}
	k = k.clone()
	block, err := aes.NewCipher(k.AESKey)
	if err != nil { // unreachable after validate; kept so a future size cannot panic
		return ringKey{}, fmt.Errorf("ticket: %w", err)
	}
	hmacKey := k.HMACKey
	macs := &sync.Pool{New: func() any { return hmac.New(sha256.New, hmacKey) }}
	return ringKey{Key: k, block: block, macs: macs}, nil
}

// mac computes HMAC-SHA256 of msg with the key's HMAC key into out, which it
// returns. Keyed hashes are pooled: hmac.New costs more than the MAC of a
// typical ticket.
func (k *ringKey) mac(out, msg []byte) []byte {
	h := k.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(msg)
	out = h.Sum(out)
	k.macs.Put(h)
	return out
}

// SetKeys replaces every key at once (e.g. after an operator reloads a key
// file on SIGHUP). Tickets sealed before the call open afterwards only if
// their key is still in keys. On a rotating ring, SetKeys ends automatic
// rotation: the caller has taken over the keys, and rotating them away would
// break whatever else (nginx, HAProxy, other nodes) shares them.
func (r *Ring) SetKeys(keys []Key) error {
	st, err := newState(keys)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rot = nil
	r.state.Store(st)
	return nil
}

// Keys returns copies of the keys in ring order (the sealing key first), for
// writing a key file or comparing rings.
func (r *Ring) Keys() []Key {
	st := r.state.Load()
	out := make([]Key, len(st.keys))
	for i := range st.keys {
		out[i] = st.keys[i].clone()
	}
	return out
}

// Seal encrypts and authenticates plaintext (an encoded session) with the
// current key: key_name | IV | AES-CBC(PKCS#7-padded plaintext) | HMAC-SHA256
// over everything before the MAC (RFC 5077, Section 4; see the package doc for
// the missing length field). The IV is read from rand (nil means
// crypto/rand.Reader); RFC 5077 Section 4 and CBC both need it unpredictable
// and fresh per ticket.
func (r *Ring) Seal(rand io.Reader, plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, ErrPlaintextTooLarge
	}
	if rand == nil {
		rand = defaultRand
	}
	k := &r.state.Load().keys[0]

	// PKCS#7 always pads, 1..16 bytes, so the last byte always says how much
	// to strip (this is also what OpenSSL's EVP layer writes).
	padLen := aes.BlockSize - len(plaintext)%aes.BlockSize
	ctLen := len(plaintext) + padLen
	macStart := nameLen + ivLen + ctLen
	out := make([]byte, macStart+macLen)

	copy(out, k.Name[:])
	iv := out[nameLen : nameLen+ivLen]
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("ticket: reading IV: %w", err)
	}
	ct := out[nameLen+ivLen : macStart]
	copy(ct, plaintext)
	for i := len(plaintext); i < ctLen; i++ {
		ct[i] = byte(padLen)
	}
	cipher.NewCBCEncrypter(k.block, iv).CryptBlocks(ct, ct)

	k.mac(out[:macStart], out[:macStart]) // appends into out's spare capacity: the last 32 bytes
	return out, nil
}

// Open authenticates and decrypts a ticket. The input is attacker-controlled:
// Open finds the key by name, checks the length and block alignment, verifies
// the MAC with hmac.Equal BEFORE decrypting, then decrypts and strips the
// padding. A padding failure after a valid MAC means the ticket was sealed by
// a buggy holder of our key, not an oracle an attacker can query (the MAC
// stops every forged ciphertext first), so it is simply Invalid. Open never
// modifies ticket, never panics, and allocates at most len(ticket) bytes.
func (r *Ring) Open(ticket []byte) ([]byte, Status) {
	if len(ticket) < nameLen || len(ticket) > maxTicketLen {
		return nil, Invalid
	}
	st := r.state.Load()
	idx := st.find(ticket[:nameLen])
	if idx < 0 {
		return nil, UnknownKey
	}
	k := &st.keys[idx]

	// At least one ciphertext block, since PKCS#7 padding is never empty.
	ctLen := len(ticket) - nameLen - ivLen - macLen
	if ctLen < aes.BlockSize || ctLen%aes.BlockSize != 0 {
		return nil, Invalid
	}
	macStart := len(ticket) - macLen

	var sum [sha256.Size]byte
	if !hmac.Equal(k.mac(sum[:0], ticket[:macStart]), ticket[macStart:]) {
		return nil, Invalid
	}

	plaintext := make([]byte, ctLen)
	iv := ticket[nameLen : nameLen+ivLen]
	cipher.NewCBCDecrypter(k.block, iv).CryptBlocks(plaintext, ticket[nameLen+ivLen:macStart])
	n, ok := unpad(plaintext)
	if !ok {
		return nil, Invalid
	}
	if idx == 0 {
		return plaintext[:n], Opened
	}
	return plaintext[:n], OpenedStale
}

// unpad checks PKCS#7 padding (1..16 bytes, each equal to the count) and
// returns the unpadded length.
func unpad(b []byte) (int, bool) {
	p := int(b[len(b)-1])
	if p == 0 || p > aes.BlockSize || p > len(b) {
		return 0, false
	}
	for _, c := range b[len(b)-p:] {
		if int(c) != p {
			return 0, false
		}
	}
	return len(b) - p, true
}

// find returns the index of the key named name, or -1. Key names are public
// (they travel in clear), so a plain comparison is fine here.
func (st *ringState) find(name []byte) int {
	for i := range st.keys {
		if string(st.keys[i].Name[:]) == string(name) {
			return i
		}
	}
	return -1
}

// NewRotatingRing returns a ring for one server without a key file: it starts
// with a random current key born at now, and Rotate replaces the current key
// with a new random one every `rotate`. A replaced key stays in the ring (so
// its tickets still open, as OpenedStale) for `keep` after it stopped sealing,
// which should be at least the ticket lifetime; then it is erased, and its
// tickets become UnknownKey. Erasing keys is what bounds a ticket's life and
// gives forward secrecy to sessions older than rotate+keep. bits is 128 or
// 256; a nil rand means crypto/rand.Reader.
func NewRotatingRing(rand io.Reader, bits int, rotate, keep time.Duration, now time.Time) (*Ring, error) {
	if rotate <= 0 || keep <= 0 {
		return nil, fmt.Errorf("ticket: rotation period %v and keep %v must be positive", rotate, keep)
	}
	if rand == nil {
		rand = defaultRand
	}
	k, err := NewKey(rand, bits)
	if err != nil {
		return nil, err
	}
	rk, err := prepare(k)
	if err != nil {
		return nil, err
	}
	rk.born = now
	r := &Ring{rot: &rotation{rand: rand, bits: bits, every: rotate, keep: keep}}
	st := &ringState{keys: []ringKey{rk}}
	st.nextEvent = r.rot.nextEvent(st.keys)
	r.state.Store(st)
	return r, nil
}

// Rotate brings a rotating ring up to date at time now: if the current key has
// sealed for `rotate` or longer, a new key takes over; keys retired `keep` or
// more ago are dropped. The handshake calls it with the connection's clock
// before Seal or Open, which keeps rotation testable with injected times and
// needs no background goroutine. It is a no-op for fixed rings and costs one
// atomic load and a time comparison when nothing is due.
//
// After an idle period longer than `rotate`, one new key is made (not one per
// missed period): nothing was sealed in between. If the random source fails,
// the current key keeps sealing and the next call tries again.
func (r *Ring) Rotate(now time.Time) {
	if st := r.state.Load(); st.nextEvent.IsZero() || now.Before(st.nextEvent) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state.Load()
	if r.rot == nil || st.nextEvent.IsZero() || now.Before(st.nextEvent) {
		return // another goroutine got here first, or SetKeys fixed the ring
	}

	keys := make([]ringKey, 0, len(st.keys)+1)
	if cur := st.keys[0]; !now.Before(cur.born.Add(r.rot.every)) {
		if k, err := NewKey(r.rot.rand, r.rot.bits); err == nil {
			if rk, err := prepare(k); err == nil {
				rk.born = now
				keys = append(keys, rk)
			}
		}
	}
	for i, k := range st.keys {
		if i == 0 && len(keys) == 1 {
			k.retired = now // the old current key stops sealing now
		}
		if !k.retired.IsZero() && !now.Before(k.retired.Add(r.rot.keep)) {
			continue // every ticket it sealed has outlived the ticket lifetime
		}
		keys = append(keys, k)
	}
	next := &ringState{keys: keys}
	next.nextEvent = r.rot.nextEvent(keys)
	r.state.Store(next)
}

// nextEvent is the earliest of the next rotation and the next expiry.
func (rot *rotation) nextEvent(keys []ringKey) time.Time {
	next := keys[0].born.Add(rot.every)
	for _, k := range keys[1:] {
		if t := k.retired.Add(rot.keep); t.Before(next) {
			next = t
		}
	}
	return next
}
