package keysched

import (
	"crypto"
	"hash"
)

// messageHashType is the handshake type of the synthetic message_hash message
// that replaces ClientHello1 after a HelloRetryRequest (RFC 8446 Section 4.4.1).
const messageHashType = 254

// Transcript is the running hash of the handshake messages (RFC 5246
// Section 7.4.9 handshake_messages; RFC 8446 Section 4.4.1 Transcript-Hash).
//
// The hash is fixed by the cipher suite, which is not known when the first
// ClientHello is written, so messages are buffered until SetHash and then
// hashed directly. A Transcript is not safe for concurrent use, and must
// not be copied once used (a copy would hand out the same sum memory):
// Clone it.
type Transcript struct {
	hashFunc crypto.Hash
	running  hash.Hash // nil until SetHash
	buffered []byte    // messages written before SetHash; nil afterwards
	broken   bool      // a hash state could not be cloned; Sum reports nil
	sums     slab      // memory for the sums a handshake takes
}

// sumsPerAlloc is how many sums share an allocation: a TLS 1.3 handshake
// takes five or six on each side, a TLS 1.2 one two or three.
const sumsPerAlloc = 8

// NewTranscript returns an empty transcript with no hash chosen yet. The
// zero Transcript is empty too.
func NewTranscript() *Transcript {
	return &Transcript{}
}

// bufferedSlack is the room left after the first buffered message (a
// ClientHello) for the ServerHello (or HelloRetryRequest), which comes
// before the hash is known on a TLS 1.2 client: one allocation holds both.
const bufferedSlack = 256

// supportedTranscriptHash reports whether h is a hash a cipher suite can
// name and whose state can be cloned.
func supportedTranscriptHash(h crypto.Hash) bool {
	return (h == crypto.SHA256 || h == crypto.SHA384) && h.Available()
}

// Write appends a complete handshake message, header included, to the
// transcript. The bytes are copied or hashed before Write returns.
func (t *Transcript) Write(msg []byte) {
	if t.running != nil {
		t.running.Write(msg)
		return
	}
	if t.buffered == nil {
		t.buffered = make([]byte, 0, len(msg)+bufferedSlack)
	}
	t.buffered = append(t.buffered, msg...)
}

// SetHash chooses the transcript hash and hashes everything buffered so far.
// Calling it again with the same hash does nothing. Calling it with a
// different hash, or one reprise's suites never use, is ignored and leaves the
// first choice in place: the caller must reject a ServerHello whose suite
// differs from the HelloRetryRequest's (RFC 8446 Section 4.1.4), and if it
// does not, the Finished check fails rather than anything panicking.
func (t *Transcript) SetHash(h crypto.Hash) {
	if t.running != nil || !supportedTranscriptHash(h) {
		return
	}
	t.hashFunc = h
	t.running = h.New()
	t.running.Write(t.buffered)
	t.buffered = nil
}

// Hash returns the chosen hash, or 0 before SetHash.
func (t *Transcript) Hash() crypto.Hash {
	return t.hashFunc
}

// Buffer returns a copy of the bytes buffered while no hash was set, or nil
// once hashing has started. The server uses it to recover ClientHello bytes
// before the suite is chosen.
func (t *Transcript) Buffer() []byte {
	if t.running != nil || t.buffered == nil {
		return nil
	}
	return append([]byte(nil), t.buffered...)
}

// Sum returns the hash of everything written so far without changing the
// transcript. Before SetHash it returns nil.
func (t *Transcript) Sum() []byte {
	if t.running == nil || t.broken {
		return nil
	}
	return t.running.Sum(t.sums.take(t.hashFunc.Size(), sumsPerAlloc)[:0])
}

// SumWith returns Hash(transcript || extra) without adding extra to the
// transcript. PSK binders need it: they cover the transcript plus the
// ClientHello truncated before the binders (RFC 8446 Section 4.2.11.2).
// Before SetHash it returns nil.
func (t *Transcript) SumWith(extra []byte) []byte {
	if t.running == nil || t.broken {
		return nil
	}
	h, ok := cloneHash(t.running)
	if !ok {
		return nil
	}
	h.Write(extra)
	return h.Sum(t.sums.take(t.hashFunc.Size(), sumsPerAlloc)[:0])
}

// ReplaceWithMessageHash replaces everything written so far (ClientHello1)
// by the synthetic message
//
//	message_hash (254) || 00 00 Hash.length || Hash(ClientHello1)
//
// as RFC 8446 Section 4.4.1 requires when the server sends a
// HelloRetryRequest. Call it after SetHash (the HelloRetryRequest fixes the
// suite) and before writing the HelloRetryRequest. Before SetHash it does
// nothing.
func (t *Transcript) ReplaceWithMessageHash() {
	if t.running == nil || t.broken {
		return
	}
	digest := t.running.Sum(nil)
	t.running = t.hashFunc.New()
	t.running.Write([]byte{messageHashType, 0, 0, byte(len(digest))})
	t.running.Write(digest)
}

// Clone returns an independent copy: writes to one do not affect the other.
func (t *Transcript) Clone() *Transcript {
	c := &Transcript{hashFunc: t.hashFunc, broken: t.broken}
	if t.buffered != nil {
		c.buffered = append([]byte(nil), t.buffered...)
	}
	if t.running != nil {
		h, ok := cloneHash(t.running)
		if !ok {
			// Keep the hash set so later calls behave as after SetHash,
			// but report no sums: a wrong transcript must not verify.
			c.running = t.hashFunc.New()
			c.broken = true
			return c
		}
		c.running = h
	}
	return c
}

// cloneHash copies a hash state. The standard library's SHA-2 digests
// implement hash.Cloner and never fail.
func cloneHash(h hash.Hash) (hash.Hash, bool) {
	cloner, ok := h.(hash.Cloner)
	if !ok {
		return nil, false
	}
	c, err := cloner.Clone()
	if err != nil {
		return nil, false
	}
	return c, true
}
