package ticket

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// Sizes fixed by the ticket format (RFC 5077, Section 4).
const (
	nameLen = 16 // key_name
	ivLen   = 16 // AES-CBC IV
	macLen  = 32 // HMAC-SHA256 output
)

// Key is one ticket key: a 16-byte name sent in clear at the start of every
// ticket it seals (so that Open can find the key again), an AES key and an
// HMAC-SHA256 key. AESKey and HMACKey are both 16 bytes (AES-128-CBC) or both
// 32 bytes (AES-256-CBC). Both are secret; Name is not.
type Key struct {
	Name    [16]byte
	AESKey  []byte
	HMACKey []byte
}

// Errors about keys, for errors.Is.
var (
	ErrKeySize       = errors.New("ticket: AES and HMAC keys must both be 16 or both be 32 bytes")
	ErrNoKeys        = errors.New("ticket: a key ring needs at least one key")
	ErrDuplicateName = errors.New("ticket: two keys share a key name")
)

// NewKey returns a key with a random name and random secrets. bits is 128
// (AES-128-CBC, 16-byte HMAC key) or 256 (AES-256-CBC, 32-byte HMAC key). A
// nil rand means crypto/rand.Reader.
func NewKey(rand io.Reader, bits int) (Key, error) {
	size, err := secretLen(bits)
	if err != nil {
		return Key{}, err
	}
	if rand == nil {
		rand = defaultRand
	}
	// One read keeps the three parts from one call to the source.
	buf := make([]byte, nameLen+2*size)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return Key{}, fmt.Errorf("ticket: generating a key: %w", err)
	}
	var k Key
	copy(k.Name[:], buf[:nameLen])
	k.AESKey = buf[nameLen : nameLen+size : nameLen+size]
	k.HMACKey = buf[nameLen+size:]
	return k, nil
}

var defaultRand = rand.Reader

// Bits reports 128 or 256 for a valid key, and 0 otherwise.
func (k Key) Bits() int {
	if k.validate() != nil {
		return 0
	}
	return len(k.AESKey) * 8
}

func secretLen(bits int) (int, error) {
	switch bits {
	case 128:
		return 16, nil
	case 256:
		return 32, nil
	}
	return 0, fmt.Errorf("ticket: key size %d bits, want 128 or 256", bits)
}

func (k Key) validate() error {
	if len(k.AESKey) != len(k.HMACKey) || (len(k.AESKey) != 16 && len(k.AESKey) != 32) {
		return fmt.Errorf("%w (key %x: AES %d bytes, HMAC %d bytes)",
			ErrKeySize, k.Name, len(k.AESKey), len(k.HMACKey))
	}
	return nil
}

// clone returns a copy that shares no memory with k, so that a caller who
// later reuses its slices cannot change a key inside a Ring (or the reverse).
func (k Key) clone() Key {
	c := Key{Name: k.Name}
	c.AESKey = append([]byte(nil), k.AESKey...)
	c.HMACKey = append([]byte(nil), k.HMACKey...)
	return c
}
