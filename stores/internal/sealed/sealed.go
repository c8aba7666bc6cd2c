// Package sealed seals sessions for the stores that keep them outside the
// process (Redis, bolt): a session holds a master secret or a resumption
// PSK, and a store dump must not give either away (RFC 5077, Section 5.5
// asks the same of tickets; stunnel's sessiond and hitch send master
// secrets in clear).
//
// An entry is
//
//	version (1) = 1 | nonce (12) | AES-256-GCM(session encoding) with its 16-byte tag
//
// with the additional data "reprise session entry v1" || 0 || id: the
// entry is bound to the session ID (or ticket identity) it is stored
// under, so an entry moved to another key, or altered in any byte, fails
// to open (NIST SP 800-38D; nonces are random, and a fleet key seals far
// fewer than the 2^32 entries that random 96-bit nonces allow).
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/reprise-tls/reprise"
)

const (
	version   = 1
	nonceLen  = 12
	KeyLen    = 32 // AES-256
	adLabel   = "reprise session entry v1\x00"
	Overhead  = 1 + nonceLen + 16
	maxIDLen  = 255
	maxLength = 1 << 20 // no legitimate session is near this; a bigger entry is not opened
)

// ErrKeySize is returned for a key that is not 32 bytes.
var ErrKeySize = errors.New("session store: the sealing key must be 32 bytes (reprise.FleetStoreKey)")

// Sealer seals and opens entries under one key.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeyLen {
		return nil, ErrKeySize
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

func additionalData(id []byte) []byte {
	return append([]byte(adLabel), id...)
}

// Seal encodes and seals s for storage under id.
func (x *Sealer) Seal(id []byte, s *reprise.Session) ([]byte, error) {
	if len(id) == 0 || len(id) > maxIDLen {
		return nil, fmt.Errorf("session store: ID of %d bytes", len(id))
	}
	plain, err := s.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceLen, Overhead+len(plain))
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	out = x.aead.Seal(out, out[1:1+nonceLen], plain, additionalData(id))
	clear(plain)
	return out, nil
}

// Open authenticates and decodes an entry stored under id. Any failure,
// from a flipped bit to an entry moved from another ID, is
// reprise.ErrStoreEntryInvalid.
func (x *Sealer) Open(id, entry []byte) (*reprise.Session, error) {
	if len(entry) < Overhead || len(entry) > maxLength || entry[0] != version {
		return nil, reprise.ErrStoreEntryInvalid
	}
	plain, err := x.aead.Open(nil, entry[1:1+nonceLen], entry[1+nonceLen:], additionalData(id))
	if err != nil {
		return nil, reprise.ErrStoreEntryInvalid
	}
	s := new(reprise.Session)
	err = s.UnmarshalBinary(plain)
	clear(plain)
	if err != nil {
		return nil, reprise.ErrStoreEntryInvalid
	}
	return s, nil
}

// TTL is how long a session has left at now; zero or less means it has
// expired and is not worth storing.
func TTL(s *reprise.Session, now time.Time) time.Duration {
	return s.Created().Add(s.Lifetime()).Sub(now)
}
