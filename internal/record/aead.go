package record

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"strconv"

	"golang.org/x/crypto/chacha20poly1305"
)

// Cipher is the protection for one direction of a connection under one set
// of keys. Values come from the constructors in this package; a Cipher is
// installed with HalfConn.SetCipher and must not be shared between
// directions or connections.
type Cipher interface {
	// tls13 reports whether the cipher produces TLS 1.3 records
	// (RFC 8446, Section 5.2) rather than TLS 1.2 ones.
	tls13() bool
	// fragmentLen returns the exact length of the protected fragment for a
	// plaintext of n bytes. For TLS 1.3, n includes the inner content type.
	fragmentLen(n int) int
	// seal appends the protected fragment for payload to record, whose last
	// HeaderLen bytes are the record header with its final length, and
	// returns the extended slice. For TLS 1.3, innerType is appended to
	// the payload as the inner content type.
	seal(record []byte, seq uint64, innerType ContentType, payload []byte) ([]byte, error)
	// open authenticates and decrypts record (header and fragment) in place
	// and returns the plaintext (the TLSInnerPlaintext for TLS 1.3), or
	// errBadRecordMAC.
	open(record []byte, seq uint64) ([]byte, error)
}

// additionalData12 builds the TLS 1.2 AEAD additional data, RFC 5246,
// Section 6.2.3.3: seq_num + TLSCompressed.type + TLSCompressed.version +
// TLSCompressed.length, where the length is that of the plaintext.
func additionalData12(ad *[13]byte, seq uint64, header []byte, plaintextLen int) []byte {
	binary.BigEndian.PutUint64(ad[:8], seq)
	ad[8], ad[9], ad[10] = header[0], header[1], header[2]
	binary.BigEndian.PutUint16(ad[11:], uint16(plaintextLen))
	return ad[:]
}

// xorNonce sets nonce to iv XOR the sequence number left-padded with zeros
// to the IV length: the per-record nonce of RFC 8446, Section 5.3, which
// RFC 7905, Section 2 also uses for ChaCha20-Poly1305 in TLS 1.2.
func xorNonce(nonce, iv []byte, seq uint64) {
	copy(nonce, iv)
	tail := nonce[len(nonce)-8:]
	binary.BigEndian.PutUint64(tail, binary.BigEndian.Uint64(tail)^seq)
}

// gcm12 is AES-GCM in TLS 1.2 (RFC 5288, Section 3). The nonce is the
// 4-byte implicit salt from the key block followed by an 8-byte explicit
// part carried at the start of each record.
type gcm12 struct {
	aead  cipher.AEAD
	salt  [4]byte
	nonce [12]byte // scratch: kept here so it does not escape per record
	ad    [13]byte // scratch
}

// gcm12ExplicitNonceLen is the length of the per-record nonce_explicit.
const gcm12ExplicitNonceLen = 8

// NewAESGCM12 returns TLS 1.2 AES-GCM protection (RFC 5288) for a 16- or
// 32-byte key and the 4-byte implicit salt (client_write_IV or
// server_write_IV). The explicit nonce sent in each record is the sequence
// number: RFC 5288, Section 3 requires only that it never repeat under one
// key, and the sequence number cannot.
func NewAESGCM12(key, fixedIV []byte) (Cipher, error) {
	if len(fixedIV) != 4 {
		return nil, errors.New("record: AES-GCM (TLS 1.2) salt must be 4 bytes, got " + strconv.Itoa(len(fixedIV)))
	}
	aead, err := newAESGCM(key)
	if err != nil {
		return nil, err
	}
	c := &gcm12{aead: aead}
	copy(c.salt[:], fixedIV)
	return c, nil
}

func newAESGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, errors.New("record: AES-GCM key must be 16 or 32 bytes, got " + strconv.Itoa(len(key)))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (c *gcm12) tls13() bool { return false }

func (c *gcm12) fragmentLen(n int) int {
	return gcm12ExplicitNonceLen + n + c.aead.Overhead()
}

func (c *gcm12) seal(record []byte, seq uint64, _ ContentType, payload []byte) ([]byte, error) {
	header := record[len(record)-HeaderLen:]
	copy(c.nonce[:4], c.salt[:])
	binary.BigEndian.PutUint64(c.nonce[4:], seq)
	ad := additionalData12(&c.ad, seq, header, len(payload))
	record = append(record, c.nonce[4:]...)
	return c.aead.Seal(record, c.nonce[:], payload, ad), nil
}

func (c *gcm12) open(record []byte, seq uint64) ([]byte, error) {
	header, fragment := record[:HeaderLen], record[HeaderLen:]
	if len(fragment) < gcm12ExplicitNonceLen+c.aead.Overhead() {
		return nil, errBadRecordMAC
	}
	copy(c.nonce[:4], c.salt[:])
	// RFC 5288, Section 3: the receiver takes nonce_explicit from the
	// record, whatever the sender chose.
	copy(c.nonce[4:], fragment[:gcm12ExplicitNonceLen])
	ciphertext := fragment[gcm12ExplicitNonceLen:]
	ad := additionalData12(&c.ad, seq, header, len(ciphertext)-c.aead.Overhead())
	plaintext, err := c.aead.Open(ciphertext[:0], c.nonce[:], ciphertext, ad)
	if err != nil {
		return nil, errBadRecordMAC
	}
	return plaintext, nil
}

// xorNonceAEAD12 is ChaCha20-Poly1305 in TLS 1.2 (RFC 7905): no explicit
// nonce on the wire; the nonce is the 12-byte IV XOR the padded sequence
// number, and the additional data is as for any TLS 1.2 AEAD.
type xorNonceAEAD12 struct {
	aead  cipher.AEAD
	iv    [12]byte
	nonce [12]byte // scratch: kept here so it does not escape per record
	ad    [13]byte // scratch
}

// NewChaCha20Poly1305_12 returns TLS 1.2 ChaCha20-Poly1305 protection
// (RFC 7905) for a 32-byte key and 12-byte IV.
func NewChaCha20Poly1305_12(key, iv []byte) (Cipher, error) {
	if len(iv) != 12 {
		return nil, errors.New("record: ChaCha20-Poly1305 IV must be 12 bytes, got " + strconv.Itoa(len(iv)))
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	c := &xorNonceAEAD12{aead: aead}
	copy(c.iv[:], iv)
	return c, nil
}

func (c *xorNonceAEAD12) tls13() bool { return false }

func (c *xorNonceAEAD12) fragmentLen(n int) int { return n + c.aead.Overhead() }

func (c *xorNonceAEAD12) seal(record []byte, seq uint64, _ ContentType, payload []byte) ([]byte, error) {
	header := record[len(record)-HeaderLen:]
	xorNonce(c.nonce[:], c.iv[:], seq)
	ad := additionalData12(&c.ad, seq, header, len(payload))
	return c.aead.Seal(record, c.nonce[:], payload, ad), nil
}

func (c *xorNonceAEAD12) open(record []byte, seq uint64) ([]byte, error) {
	header, ciphertext := record[:HeaderLen], record[HeaderLen:]
	if len(ciphertext) < c.aead.Overhead() {
		return nil, errBadRecordMAC
	}
	xorNonce(c.nonce[:], c.iv[:], seq)
	ad := additionalData12(&c.ad, seq, header, len(ciphertext)-c.aead.Overhead())
	plaintext, err := c.aead.Open(ciphertext[:0], c.nonce[:], ciphertext, ad)
	if err != nil {
		return nil, errBadRecordMAC
	}
	return plaintext, nil
}

// aead13 is any AEAD in TLS 1.3 (RFC 8446, Section 5.2 and 5.3).
type aead13 struct {
	aead    cipher.AEAD
	n       int      // nonce length
	ivBuf   [24]byte // the IV, in the struct so that rekeying allocates less
	nonceBf [24]byte // scratch for the per-record nonce
	iv      []byte   // ivBuf[:n]
	nonce   []byte   // nonceBf[:n]
}

// NewAEAD13 returns TLS 1.3 protection with aead and the write IV. The
// per-record nonce is the IV XOR the sequence number (RFC 8446,
// Section 5.3) and the additional data is the record header
// (Section 5.2). It panics if len(iv) differs from aead.NonceSize() or is
// below 8 bytes, which is a programming error: the key schedule derives
// the IV with the AEAD's nonce length (RFC 8446, Section 7.3).
func NewAEAD13(aead cipher.AEAD, iv []byte) Cipher {
	if len(iv) != aead.NonceSize() || len(iv) < 8 {
		panic("record: TLS 1.3 IV length " + strconv.Itoa(len(iv)) + " does not match the AEAD nonce size " + strconv.Itoa(aead.NonceSize()))
	}
	if len(iv) > 24 {
		panic("record: TLS 1.3 IV of " + strconv.Itoa(len(iv)) + " bytes is longer than any AEAD nonce")
	}
	c := &aead13{aead: aead, n: len(iv)}
	c.iv = c.ivBuf[:len(iv)]
	c.nonce = c.nonceBf[:len(iv)]
	copy(c.iv, iv)
	return c
}

// NewAESGCM13 returns TLS 1.3 AES-GCM protection for a 16- or 32-byte key
// and a 12-byte IV (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384).
func NewAESGCM13(key, iv []byte) (Cipher, error) {
	if len(iv) != 12 {
		return nil, errors.New("record: TLS 1.3 IV must be 12 bytes, got " + strconv.Itoa(len(iv)))
	}
	aead, err := newAESGCM(key)
	if err != nil {
		return nil, err
	}
	return NewAEAD13(aead, iv), nil
}

// NewChaCha20Poly1305_13 returns TLS 1.3 ChaCha20-Poly1305 protection for a
// 32-byte key and a 12-byte IV (TLS_CHACHA20_POLY1305_SHA256).
func NewChaCha20Poly1305_13(key, iv []byte) (Cipher, error) {
	if len(iv) != 12 {
		return nil, errors.New("record: TLS 1.3 IV must be 12 bytes, got " + strconv.Itoa(len(iv)))
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	return NewAEAD13(aead, iv), nil
}

func (c *aead13) tls13() bool { return true }

func (c *aead13) fragmentLen(n int) int { return n + c.aead.Overhead() }

func (c *aead13) seal(record []byte, seq uint64, innerType ContentType, payload []byte) ([]byte, error) {
	start := len(record)
	// RFC 8446, Section 5.2: TLSInnerPlaintext = content || type || zeros.
	// We add no padding. The inner plaintext is assembled in place and
	// encrypted over itself, which cipher.AEAD allows for exact overlap.
	record = append(record, payload...)
	record = append(record, byte(innerType))
	header := record[start-HeaderLen : start]
	xorNonce(c.nonce, c.iv, seq)
	inner := record[start:]
	return c.aead.Seal(record[:start], c.nonce, inner, header), nil
}

func (c *aead13) open(record []byte, seq uint64) ([]byte, error) {
	header, ciphertext := record[:HeaderLen], record[HeaderLen:]
	if len(ciphertext) < c.aead.Overhead() {
		return nil, errBadRecordMAC
	}
	xorNonce(c.nonce, c.iv, seq)
	plaintext, err := c.aead.Open(ciphertext[:0], c.nonce, ciphertext, header)
	if err != nil {
		return nil, errBadRecordMAC
	}
	return plaintext, nil
}
