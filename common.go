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

// CurveID is a TLS NamedGroup (RFC 8446, Section 4.2.7).
type CurveID uint16

// Key exchange groups reprise implements.
const (
	CurveP256      CurveID = 23
	CurveP384      CurveID = 24
	X25519         CurveID = 29
	X25519MLKEM768 CurveID = 0x11EC // draft-ietf-tls-ecdhe-mlkem; TLS 1.3 only
)

func (c CurveID) String() string {
	switch c {
	case CurveP256:
		return "P-256"
	case CurveP384:
		return "P-384"
	case X25519:
		return "X25519"
	case X25519MLKEM768:
		return "X25519MLKEM768"
	}
	return fmt.Sprintf("CurveID(%d)", uint16(c))
}

// SignatureScheme is a TLS SignatureScheme (RFC 8446, Section 4.2.3).
type SignatureScheme uint16

const (
	PKCS1WithSHA256        SignatureScheme = 0x0401
	PKCS1WithSHA384        SignatureScheme = 0x0501
	PKCS1WithSHA512        SignatureScheme = 0x0601
	PSSWithSHA256          SignatureScheme = 0x0804
	PSSWithSHA384          SignatureScheme = 0x0805
	PSSWithSHA512          SignatureScheme = 0x0806
	ECDSAWithP256AndSHA256 SignatureScheme = 0x0403
	ECDSAWithP384AndSHA384 SignatureScheme = 0x0503
	ECDSAWithP521AndSHA512 SignatureScheme = 0x0603
	Ed25519                SignatureScheme = 0x0807
	PKCS1WithSHA1          SignatureScheme = 0x0201
	ECDSAWithSHA1          SignatureScheme = 0x0203
)

// ClientAuthType says whether a server asks for and checks client
// certificates. The names are crypto/tls's.
type ClientAuthType int

const (
	NoClientCert ClientAuthType = iota
	RequestClientCert
	RequireAnyClientCert
	VerifyClientCertIfGiven
	RequireAndVerifyClientCert
)

func (t ClientAuthType) requests() bool { return t != NoClientCert }
func (t ClientAuthType) requires() bool {
	return t == RequireAnyClientCert || t == RequireAndVerifyClientCert
}
func (t ClientAuthType) verifies() bool {
	return t == VerifyClientCertIfGiven || t == RequireAndVerifyClientCert
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
