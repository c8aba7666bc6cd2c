package reprise

import (
	"crypto"
	"fmt"
)

// Protocol versions.
const (
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// VersionName returns "TLS1.2" or "TLS1.3", the names used in the CLI's JSON.
func VersionName(v uint16) string {
	switch v {
	case VersionTLS12:
		return "TLS1.2"
	case VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// supportedSignatureAlgorithms lists what we accept from a peer, in
// preference order. SHA-1 schemes are not offered.
var supportedSignatureAlgorithms = []uint16{
	uint16(ECDSAWithP256AndSHA256),
	uint16(Ed25519),
	uint16(PSSWithSHA256),
	uint16(ECDSAWithP384AndSHA384),
	uint16(PSSWithSHA384),
	uint16(PSSWithSHA512),
	uint16(ECDSAWithP521AndSHA512),
	uint16(PKCS1WithSHA256),
	uint16(PKCS1WithSHA384),
	uint16(PKCS1WithSHA512),
}

func hashForScheme(s SignatureScheme) crypto.Hash {
	switch s {
	case PKCS1WithSHA256, PSSWithSHA256, ECDSAWithP256AndSHA256:
		return crypto.SHA256
	case PKCS1WithSHA384, PSSWithSHA384, ECDSAWithP384AndSHA384:
		return crypto.SHA384
	case PKCS1WithSHA512, PSSWithSHA512, ECDSAWithP521AndSHA512:
		return crypto.SHA512
	case Ed25519:
		return 0
	}
	return 0
}
