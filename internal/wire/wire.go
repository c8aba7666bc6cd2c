// Package wire encodes and decodes TLS 1.2 (RFC 5246) and TLS 1.3 (RFC 8446)
// handshake messages and their extensions.
//
// Every Unmarshal takes a complete handshake message, including its four-byte
// header (type and uint24 length), and returns a *Error on failure. The error
// names the field that could not be read and the alert the RFCs require:
// decode_error for structural problems (lengths, truncation, trailing bytes,
// a zero-length list that must not be empty: RFC 8446, Section 6) and
// illegal_parameter for well-formed but forbidden values (a duplicate
// extension, pre_shared_key not last, an extension in the wrong message). Parsers never panic and never allocate more than the input size.
package wire

import (
	"fmt"
	"strconv"

	"github.com/reprise-tls/reprise/internal/alert"
)

// Handshake message types (RFC 8446, Section 4; RFC 5246, Section 7.4).
const (
	TypeHelloRequest        uint8 = 0
	TypeClientHello         uint8 = 1
	TypeServerHello         uint8 = 2
	TypeNewSessionTicket    uint8 = 4
	TypeEndOfEarlyData      uint8 = 5
	TypeEncryptedExtensions uint8 = 8
	TypeCertificate         uint8 = 11
	TypeServerKeyExchange   uint8 = 12
	TypeCertificateRequest  uint8 = 13
	TypeServerHelloDone     uint8 = 14
	TypeCertificateVerify   uint8 = 15
	TypeClientKeyExchange   uint8 = 16
	TypeFinished            uint8 = 20
	TypeKeyUpdate           uint8 = 24
	TypeMessageHash         uint8 = 254
)

// Extension code points.
const (
	ExtServerName              uint16 = 0      // RFC 6066
	ExtStatusRequest           uint16 = 5      // RFC 6066
	ExtSupportedGroups         uint16 = 10     // RFC 8422, RFC 8446
	ExtECPointFormats          uint16 = 11     // RFC 8422
	ExtSignatureAlgorithms     uint16 = 13     // RFC 5246, RFC 8446
	ExtALPN                    uint16 = 16     // RFC 7301
	ExtSCT                     uint16 = 18     // RFC 6962
	ExtPadding                 uint16 = 21     // RFC 7685
	ExtEncryptThenMAC          uint16 = 22     // RFC 7366
	ExtExtendedMasterSecret    uint16 = 23     // RFC 7627
	ExtSessionTicket           uint16 = 35     // RFC 5077
	ExtPreSharedKey            uint16 = 41     // RFC 8446
	ExtEarlyData               uint16 = 42     // RFC 8446
	ExtSupportedVersions       uint16 = 43     // RFC 8446
	ExtCookie                  uint16 = 44     // RFC 8446
	ExtPSKKeyExchangeModes     uint16 = 45     // RFC 8446
	ExtCertificateAuthorities  uint16 = 47     // RFC 8446
	ExtPostHandshakeAuth       uint16 = 49     // RFC 8446
	ExtSignatureAlgorithmsCert uint16 = 50     // RFC 8446
	ExtKeyShare                uint16 = 51     // RFC 8446
	ExtRenegotiationInfo       uint16 = 0xff01 // RFC 5746
)

// MessageName names a handshake message type as RFC 8446, Section 4 and
// RFC 5246, Section 7.4 do, for errors and traces.
func MessageName(typ uint8) string {
	switch typ {
	case TypeHelloRequest:
		return "HelloRequest"
	case TypeClientHello:
		return "ClientHello"
	case TypeServerHello:
		return "ServerHello"
	case TypeNewSessionTicket:
		return "NewSessionTicket"
	case TypeEndOfEarlyData:
		return "EndOfEarlyData"
	case TypeEncryptedExtensions:
		return "EncryptedExtensions"
	case TypeCertificate:
		return "Certificate"
	case TypeServerKeyExchange:
		return "ServerKeyExchange"
	case TypeCertificateRequest:
		return "CertificateRequest"
	case TypeServerHelloDone:
		return "ServerHelloDone"
	case TypeCertificateVerify:
		return "CertificateVerify"
	case TypeClientKeyExchange:
		return "ClientKeyExchange"
	case TypeFinished:
		return "Finished"
	case TypeKeyUpdate:
		return "KeyUpdate"
	case TypeMessageHash:
		return "message_hash"
	}
	return "handshake(" + strconv.Itoa(int(typ)) + ")"
}

// ExtensionName names an extension as the RFCs that define it do: for
// Error.Field, traces and messages alike.
func ExtensionName(typ uint16) string {
	switch typ {
	case ExtServerName:
		return "server_name"
	case ExtStatusRequest:
		return "status_request"
	case ExtSupportedGroups:
		return "supported_groups"
	case ExtECPointFormats:
		return "ec_point_formats"
	case ExtSignatureAlgorithms:
		return "signature_algorithms"
	case ExtALPN:
		return "application_layer_protocol_negotiation"
	case ExtSCT:
		return "signed_certificate_timestamp"
	case ExtPadding:
		return "padding"
	case ExtEncryptThenMAC:
		return "encrypt_then_mac"
	case ExtExtendedMasterSecret:
		return "extended_master_secret"
	case ExtSessionTicket:
		return "session_ticket"
	case ExtPreSharedKey:
		return "pre_shared_key"
	case ExtEarlyData:
		return "early_data"
	case ExtSupportedVersions:
		return "supported_versions"
	case ExtCookie:
		return "cookie"
	case ExtPSKKeyExchangeModes:
		return "psk_key_exchange_modes"
	case ExtCertificateAuthorities:
		return "certificate_authorities"
	case ExtPostHandshakeAuth:
		return "post_handshake_auth"
	case ExtSignatureAlgorithmsCert:
		return "signature_algorithms_cert"
	case ExtKeyShare:
		return "key_share"
	case ExtRenegotiationInfo:
		return "renegotiation_info"
	}
	return "extension(" + strconv.Itoa(int(typ)) + ")"
}

// PSK key exchange modes (RFC 8446, Section 4.2.9).
const (
	PSKModePlain uint8 = 0 // psk_ke
	PSKModeDHE   uint8 = 1 // psk_dhe_ke
)

// HelloRetryRequestRandom is the ServerHello.random value that marks a
// HelloRetryRequest (RFC 8446, Section 4.1.3).
var HelloRetryRequestRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
	0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
	0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Error reports a message that could not be decoded and the alert that the
// RFCs require in answer.
type Error struct {
	Alert alert.Alert
	Field string // what could not be read, such as "ClientHello.cipher_suites"
}

func (e *Error) Error() string {
	return fmt.Sprintf("tls: malformed %s (%s)", e.Field, e.Alert)
}

// decodeErr reports a structural problem: a bad length, truncation or
// trailing bytes.
func decodeErr(field string) error {
	return &Error{Alert: alert.DecodeError, Field: field}
}

// illegalErr reports a well-formed but forbidden value.
func illegalErr(field string) error {
	return &Error{Alert: alert.IllegalParameter, Field: field}
}
