package reprise

import (
	"crypto"
	"fmt"

	"github.com/reprise-tls/reprise/internal/record"
)

// Cipher suite code points (RFC 8446 B.4, RFC 5289, RFC 7905, RFC 4492).
const (
	TLS_AES_128_GCM_SHA256       uint16 = 0x1301
	TLS_AES_256_GCM_SHA384       uint16 = 0x1302
	TLS_CHACHA20_POLY1305_SHA256 uint16 = 0x1303

	TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256       uint16 = 0xC02B
	TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256         uint16 = 0xC02F
	TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384       uint16 = 0xC02C
	TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384         uint16 = 0xC030
	TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 uint16 = 0xCCA9
	TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256   uint16 = 0xCCA8
	TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA          uint16 = 0xC009
	TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA          uint16 = 0xC00A
	TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA            uint16 = 0xC013
	TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA            uint16 = 0xC014

	// TLS_EMPTY_RENEGOTIATION_INFO_SCSV signals RFC 5746 support in a
	// ClientHello's cipher_suites (RFC 5746, Section 3.3).
	TLS_EMPTY_RENEGOTIATION_INFO_SCSV uint16 = 0x00FF
)

type bulkKind int

const (
	bulkAESGCM bulkKind = iota
	bulkChaCha
	bulkAESCBC
)

// cipherSuite describes one suite. For TLS 1.3 suites ecdsa and the key
// exchange fields are unused: the suite fixes only the AEAD and the hash.
type cipherSuite struct {
	id     uint16
	name   string
	tls13  bool
	ecdsa  bool // TLS 1.2: the certificate must be ECDSA (else RSA)
	bulk   bulkKind
	keyLen int
	ivLen  int // TLS 1.2: implicit IV bytes from the key block; TLS 1.3: IV length
	macLen int // CBC only: HMAC-SHA1 key length
	hash   crypto.Hash
}

// cipherSuites is in default preference order: TLS 1.3 suites, then TLS 1.2
// AEAD suites, then the CBC suites kept for legacy peers below every AEAD.
var cipherSuites = []*cipherSuite{
	{id: TLS_AES_128_GCM_SHA256, name: "TLS_AES_128_GCM_SHA256", tls13: true, bulk: bulkAESGCM, keyLen: 16, ivLen: 12, hash: crypto.SHA256},
	{id: TLS_AES_256_GCM_SHA384, name: "TLS_AES_256_GCM_SHA384", tls13: true, bulk: bulkAESGCM, keyLen: 32, ivLen: 12, hash: crypto.SHA384},
	{id: TLS_CHACHA20_POLY1305_SHA256, name: "TLS_CHACHA20_POLY1305_SHA256", tls13: true, bulk: bulkChaCha, keyLen: 32, ivLen: 12, hash: crypto.SHA256},

	{id: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", ecdsa: true, bulk: bulkAESGCM, keyLen: 16, ivLen: 4, hash: crypto.SHA256},
	{id: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", bulk: bulkAESGCM, keyLen: 16, ivLen: 4, hash: crypto.SHA256},
	{id: TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", ecdsa: true, bulk: bulkAESGCM, keyLen: 32, ivLen: 4, hash: crypto.SHA384},
	{id: TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", bulk: bulkAESGCM, keyLen: 32, ivLen: 4, hash: crypto.SHA384},
	{id: TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", ecdsa: true, bulk: bulkChaCha, keyLen: 32, ivLen: 12, hash: crypto.SHA256},
	{id: TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", bulk: bulkChaCha, keyLen: 32, ivLen: 12, hash: crypto.SHA256},
	{id: TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, name: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", ecdsa: true, bulk: bulkAESCBC, keyLen: 16, macLen: 20, hash: crypto.SHA256},
	{id: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", bulk: bulkAESCBC, keyLen: 16, macLen: 20, hash: crypto.SHA256},
	{id: TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, name: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", ecdsa: true, bulk: bulkAESCBC, keyLen: 32, macLen: 20, hash: crypto.SHA256},
	{id: TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, name: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", bulk: bulkAESCBC, keyLen: 32, macLen: 20, hash: crypto.SHA256},
}

func suiteByID(id uint16) *cipherSuite {
	for _, s := range cipherSuites {
		if s.id == id {
			return s
		}
	}
	return nil
}

// CipherSuiteName returns the IANA name of a suite, or its hex value.
func CipherSuiteName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	return fmt.Sprintf("0x%04X", id)
}

// CipherSuiteByName returns the code point for an IANA suite name.
func CipherSuiteByName(name string) (uint16, bool) {
	for _, s := range cipherSuites {
		if s.name == name {
			return s.id, true
		}
	}
	return 0, false
}

// keyBlockLen is how many bytes of TLS 1.2 key block the suite needs
// (RFC 5246, Section 6.3): MAC keys, then encryption keys, then IVs.
func (s *cipherSuite) keyBlockLen() int {
	return 2*s.macLen + 2*s.keyLen + 2*s.ivLen
}

// records12 derives the TLS 1.2 record protection for both directions from
// the key block.
func (s *cipherSuite) records12(keyBlock []byte, etm bool) (client, server record.Cipher, err error) {
	p := keyBlock
	take := func(n int) []byte { b := p[:n]; p = p[n:]; return b }
	cMAC, sMAC := take(s.macLen), take(s.macLen)
	cKey, sKey := take(s.keyLen), take(s.keyLen)
	cIV, sIV := take(s.ivLen), take(s.ivLen)
	mk := func(key, iv, mac []byte) (record.Cipher, error) {
		switch s.bulk {
		case bulkAESGCM:
			return record.NewAESGCM12(key, iv)
		case bulkChaCha:
			return record.NewChaCha20Poly1305_12(key, iv)
		default:
			return record.NewCBC12(key, mac, etm)
		}
	}
	if client, err = mk(cKey, cIV, cMAC); err != nil {
		return nil, nil, err
	}
	server, err = mk(sKey, sIV, sMAC)
	return client, server, err
}

// record13 builds TLS 1.3 record protection from key and IV.
func (s *cipherSuite) record13(key, iv []byte) (record.Cipher, error) {
	if s.bulk == bulkChaCha {
		return record.NewChaCha20Poly1305_13(key, iv)
	}
	return record.NewAESGCM13(key, iv)
}
