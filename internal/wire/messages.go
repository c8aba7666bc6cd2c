// This file holds every handshake message except ClientHello and ServerHello
// (those live in hello.go).
//
// Conventions shared by every message here:
//   - Marshal returns the whole handshake message, header included, and
//     refuses (with an internal_error *Error) to encode anything that its own
//     Unmarshal would reject, so that our output is always parseable.
//   - Unmarshal takes the whole message, checks the type byte (a mismatch is
//     unexpected_message: the caller dispatched the wrong message here) and
//     that the uint24 length covers exactly the rest of msg.
//   - A vector whose length is outside the range the RFC's presentation
//     language allows (for example a zero-length opaque<1..2^8-1>) is a
//     decode_error: RFC 8446, Section 4: "Peers which receive a message which
//     cannot be parsed according to the syntax (e.g., have a length extending
//     beyond the message boundary or containing an out-of-range length) MUST
//     terminate the connection with a "decode_error" alert."
//   - Unmarshal copies every byte slice it keeps, so the caller may reuse msg,
//     and it leaves the receiver untouched on error. Empty optional fields
//     decode as nil.

package wire

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"

	"github.com/reprise-tls/reprise/internal/alert"
)

// ParseHeader returns the message type and body length of the 4-byte header
// at the start of b; ok is false if fewer than 4 bytes are present.
func ParseHeader(b []byte) (typ uint8, length int, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	return b[0], int(b[1])<<16 | int(b[2])<<8 | int(b[3]), true
}

// msgBody checks the handshake header of msg (RFC 8446, Section 4; RFC 5246,
// Section 7.4) and returns the body.
func msgBody(msg []byte, typ uint8, name string) (cryptobyte.String, error) {
	gotType, length, ok := ParseHeader(msg)
	if !ok {
		return nil, decodeErr(name)
	}
	if gotType != typ {
		return nil, &Error{Alert: alert.UnexpectedMessage, Field: name}
	}
	if length != len(msg)-4 {
		return nil, decodeErr(name)
	}
	return cryptobyte.String(msg[4:]), nil
}

// msgMarshalErr reports a message that we were asked to send but cannot
// encode. It is our own fault, hence internal_error.
func msgMarshalErr(field string) error {
	return &Error{Alert: alert.InternalError, Field: field}
}

// msgMarshal frames the body written by addBody with the handshake header.
// Errors set inside addBody (b.SetError) are returned as they are; length
// overflows detected by Builder become internal_error for name.
func msgMarshal(typ uint8, name string, addBody func(b *Builder)) ([]byte, error) {
	b := newBuilder(256)
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(addBody)
	out, err := b.Bytes()
	if err != nil {
		var wireErr *Error
		if errors.As(err, &wireErr) {
			return nil, err
		}
		return nil, msgMarshalErr(name)
	}
	return out, nil
}

// msgClone copies b so that a parsed message does not alias the input
// buffer; empty input gives nil.
func msgClone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// msgReadSchemeList reads a non-empty list of uint16 values with a 2-byte
// length, the shape of SignatureSchemeList (RFC 8446, Section 4.2.3,
// <2..2^16-2>) and NamedGroupList (Section 4.2.7, <2..2^16-1>).
func msgReadSchemeList(s *cryptobyte.String, field string) ([]uint16, error) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || list.Empty() || len(list)%2 != 0 {
		return nil, decodeErr(field)
	}
	out := make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		out = append(out, v)
	}
	return out, nil
}

// msgAddSchemeList writes a list read by msgReadSchemeList, refusing an
// empty one.
func msgAddSchemeList(b *Builder, list []uint16, field string) {
	if len(list) == 0 {
		b.SetError(msgMarshalErr(field))
		return
	}
	b.AddUint16LengthPrefixed(func(b *Builder) {
		for _, v := range list {
			b.AddUint16(v)
		}
	})
}

// msgReadDistinguishedNames reads a 2-byte-length list of
// DistinguishedName (opaque<1..2^16-1>). RFC 5246, Section 7.4.4 allows the
// list to be empty; RFC 8446, Section 4.2.4 (authorities<3..2^16-1>) does
// not, which the caller states with allowEmpty.
func msgReadDistinguishedNames(s *cryptobyte.String, allowEmpty bool, field string) ([][]byte, error) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || (list.Empty() && !allowEmpty) {
		return nil, decodeErr(field)
	}
	var names [][]byte
	for !list.Empty() {
		var name cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&name) || name.Empty() {
			return nil, decodeErr(field)
		}
		names = append(names, msgClone(name))
	}
	return names, nil
}

// msgAddDistinguishedNames writes a list read by msgReadDistinguishedNames.
func msgAddDistinguishedNames(b *Builder, names [][]byte, field string) {
	b.AddUint16LengthPrefixed(func(b *Builder) {
		for _, name := range names {
			if len(name) == 0 {
				b.SetError(msgMarshalErr(field))
				return
			}
			b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(name) })
		}
	})
}

// msgExtension is one entry of an extensions block, data still encoded.
type msgExtension struct {
	typ  uint16
	data cryptobyte.String
}

// msgTLS13ExtensionPlaces lists, for every extension in the table of RFC 8446,
// Section 4.2, which of the messages parsed in this file (EE, CR, NST, CT)
// may carry it. An extension in this table is one we "recognize"; those
// with an empty list appear only in ClientHello/ServerHello/HRR.
var msgTLS13ExtensionPlaces = map[uint16][]uint8{
	ExtServerName:              {TypeEncryptedExtensions},
	1:                          {TypeEncryptedExtensions}, // max_fragment_length, RFC 6066
	ExtStatusRequest:           {TypeCertificateRequest, TypeCertificate},
	ExtSupportedGroups:         {TypeEncryptedExtensions},
	ExtSignatureAlgorithms:     {TypeCertificateRequest},
	14:                         {TypeEncryptedExtensions}, // use_srtp, RFC 5764
	15:                         {TypeEncryptedExtensions}, // heartbeat, RFC 6520
	ExtALPN:                    {TypeEncryptedExtensions},
	ExtSCT:                     {TypeCertificateRequest, TypeCertificate},
	19:                         {TypeEncryptedExtensions}, // client_certificate_type, RFC 7250
	20:                         {TypeEncryptedExtensions}, // server_certificate_type, RFC 7250
	ExtPadding:                 {},
	ExtKeyShare:                {},
	ExtPreSharedKey:            {},
	ExtPSKKeyExchangeModes:     {},
	ExtEarlyData:               {TypeEncryptedExtensions, TypeNewSessionTicket},
	ExtCookie:                  {},
	ExtSupportedVersions:       {},
	ExtCertificateAuthorities:  {TypeCertificateRequest},
	48:                         {TypeCertificateRequest}, // oid_filters
	49:                         {},                       // post_handshake_auth
	ExtSignatureAlgorithmsCert: {TypeCertificateRequest},
}

// msgReadExtensions splits a TLS 1.3 extensions block (the content of
// Extension extensions<...>) carried by handshake message msgType.
func msgReadExtensions(block cryptobyte.String, msgType uint8, field string) ([]msgExtension, error) {
	var exts []msgExtension
	seen := make(map[uint16]bool)
	for !block.Empty() {
		var e msgExtension
		if !block.ReadUint16(&e.typ) || !block.ReadUint16LengthPrefixed(&e.data) {
			return nil, decodeErr(field)
		}
		// RFC 8446, Section 4.2: "There MUST NOT be more than one extension
		// of the same type in a given extension block."
		if seen[e.typ] {
			return nil, illegalErr(field)
		}
		seen[e.typ] = true
		// RFC 8446, Section 4.2: "If an implementation receives an extension
		// which it recognizes and which is not specified for the message in
		// which it appears, it MUST abort the handshake with an
		// "illegal_parameter" alert." Unrecognized ones are left to the
		// caller, which ignores them.
		if places, recognized := msgTLS13ExtensionPlaces[e.typ]; recognized && !msgContains(places, msgType) {
			return nil, illegalErr(field)
		}
		exts = append(exts, e)
	}
	return exts, nil
}

func msgContains(list []uint8, v uint8) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// HelloRequest asks a TLS 1.2 client to renegotiate (RFC 5246, Section
// 7.4.1.1). Its body is empty.
type HelloRequest struct{}

// Marshal encodes the message with its handshake header.
func (m *HelloRequest) Marshal() ([]byte, error) {
	return msgMarshal(TypeHelloRequest, "HelloRequest", func(*Builder) {})
}

// Unmarshal decodes a complete HelloRequest message.
func (m *HelloRequest) Unmarshal(msg []byte) error {
	return msgUnmarshalEmpty(msg, TypeHelloRequest, "HelloRequest")
}

// ServerHelloDone ends the TLS 1.2 server's first flight (RFC 5246, Section
// 7.4.5). Its body is empty.
type ServerHelloDone struct{}

// Marshal encodes the message with its handshake header.
func (m *ServerHelloDone) Marshal() ([]byte, error) {
	return msgMarshal(TypeServerHelloDone, "ServerHelloDone", func(*Builder) {})
}

// Unmarshal decodes a complete ServerHelloDone message.
func (m *ServerHelloDone) Unmarshal(msg []byte) error {
	return msgUnmarshalEmpty(msg, TypeServerHelloDone, "ServerHelloDone")
}

// EndOfEarlyData marks the end of 0-RTT data (RFC 8446, Section 4.5). Its
// body is empty.
type EndOfEarlyData struct{}

// Marshal encodes the message with its handshake header.
func (m *EndOfEarlyData) Marshal() ([]byte, error) {
	return msgMarshal(TypeEndOfEarlyData, "EndOfEarlyData", func(*Builder) {})
}

// Unmarshal decodes a complete EndOfEarlyData message.
func (m *EndOfEarlyData) Unmarshal(msg []byte) error {
	return msgUnmarshalEmpty(msg, TypeEndOfEarlyData, "EndOfEarlyData")
}

func msgUnmarshalEmpty(msg []byte, typ uint8, name string) error {
	body, err := msgBody(msg, typ, name)
	if err != nil {
		return err
	}
	if !body.Empty() {
		return decodeErr(name)
	}
	return nil
}

// Certificate12 is the TLS 1.2 Certificate message (RFC 5246, Section 7.4.2):
// the sender's chain, leaf first. A client without a suitable certificate
// sends an empty list (Section 7.4.6).
type Certificate12 struct {
	Certificates [][]byte // DER certificates; each non-empty
}

// Marshal encodes the message with its handshake header.
func (m *Certificate12) Marshal() ([]byte, error) {
	return msgMarshal(TypeCertificate, "Certificate", func(b *Builder) {
		b.AddUint24LengthPrefixed(func(b *Builder) {
			for _, cert := range m.Certificates {
				// ASN.1Cert is opaque<1..2^24-1>.
				if len(cert) == 0 {
					b.SetError(msgMarshalErr("Certificate.certificate_list"))
					return
				}
				b.AddUint24LengthPrefixed(func(b *Builder) { b.AddBytes(cert) })
			}
		})
	})
}

// Unmarshal decodes a complete TLS 1.2 Certificate message.
func (m *Certificate12) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeCertificate, "Certificate")
	if err != nil {
		return err
	}
	const field = "Certificate.certificate_list"
	var list cryptobyte.String
	if !body.ReadUint24LengthPrefixed(&list) || !body.Empty() {
		return decodeErr(field)
	}
	var certs [][]byte
	for !list.Empty() {
		var cert cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&cert) || cert.Empty() {
			return decodeErr(field)
		}
		certs = append(certs, msgClone(cert))
	}
	*m = Certificate12{Certificates: certs}
	return nil
}

// CertificateEntry is one certificate of a TLS 1.3 Certificate message with
// its per-certificate extensions (RFC 8446, Section 4.4.2).
type CertificateEntry struct {
	Data       []byte // cert_data: a DER certificate (or raw public key); non-empty
	Extensions []byte // the content of the extensions block, kept opaque (may be nil)
}

// Certificate13 is the TLS 1.3 Certificate message (RFC 8446, Section 4.4.2).
type Certificate13 struct {
	RequestContext []byte // echoes CertificateRequest; empty for the server
	Entries        []CertificateEntry
}

// Marshal encodes the message with its handshake header.
func (m *Certificate13) Marshal() ([]byte, error) {
	return msgMarshal(TypeCertificate, "Certificate", func(b *Builder) {
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.RequestContext) })
		b.AddUint24LengthPrefixed(func(b *Builder) {
			for _, entry := range m.Entries {
				if len(entry.Data) == 0 {
					b.SetError(msgMarshalErr("Certificate.cert_data"))
					return
				}
				// The extensions are opaque to us but must still be a block
				// our peer (and our own Unmarshal) can parse.
				if _, err := msgReadExtensions(entry.Extensions, TypeCertificate, "Certificate.extensions"); err != nil {
					b.SetError(msgMarshalErr("Certificate.extensions"))
					return
				}
				b.AddUint24LengthPrefixed(func(b *Builder) { b.AddBytes(entry.Data) })
				b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(entry.Extensions) })
			}
		})
	})
}

// Unmarshal decodes a complete TLS 1.3 Certificate message. Each entry's
// extensions block is checked to be well formed, free of duplicates and of
// extensions that RFC 8446 does not allow in Certificate, then kept as raw
// bytes.
func (m *Certificate13) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeCertificate, "Certificate")
	if err != nil {
		return err
	}
	var context, list cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&context) {
		return decodeErr("Certificate.certificate_request_context")
	}
	if !body.ReadUint24LengthPrefixed(&list) || !body.Empty() {
		return decodeErr("Certificate.certificate_list")
	}
	var entries []CertificateEntry
	for !list.Empty() {
		var data, exts cryptobyte.String
		// cert_data is opaque<1..2^24-1>.
		if !list.ReadUint24LengthPrefixed(&data) || data.Empty() {
			return decodeErr("Certificate.cert_data")
		}
		if !list.ReadUint16LengthPrefixed(&exts) {
			return decodeErr("Certificate.extensions")
		}
		if _, err := msgReadExtensions(exts, TypeCertificate, "Certificate.extensions"); err != nil {
			return err
		}
		entries = append(entries, CertificateEntry{Data: msgClone(data), Extensions: msgClone(exts)})
	}
	*m = Certificate13{RequestContext: msgClone(context), Entries: entries}
	return nil
}

// msgCurveTypeNamed is ECCurveType named_curve (RFC 8422, Section 5.4); the
// explicit curve types were deprecated by that RFC and are refused.
const msgCurveTypeNamed uint8 = 3

// ServerKeyExchangeECDHE is the TLS 1.2 ServerKeyExchange for ECDHE suites
// (RFC 8422, Section 5.4): the server's ephemeral public key on a named group
// and a signature over the client and server randoms and those parameters.
type ServerKeyExchangeECDHE struct {
	Group     uint16 // NamedGroup; curve_type must be named_curve(3)
	PublicKey []byte // ECPoint / X25519 key, 1-byte length, non-empty
	SigAlg    uint16 // SignatureScheme (RFC 5246 SignatureAndHashAlgorithm)
	Signature []byte // 2-byte length, non-empty
}

// Params returns the encoded ServerECDHParams (curve_type, named group and
// point), the bytes that the signature covers after the two randoms
// (RFC 8422, Section 5.4). It returns nil if PublicKey cannot be encoded
// (empty or longer than 255 bytes).
func (m *ServerKeyExchangeECDHE) Params() []byte {
	var b Builder
	m.addParams(&b)
	params, err := b.Bytes()
	if err != nil {
		return nil
	}
	return params
}

func (m *ServerKeyExchangeECDHE) addParams(b *Builder) {
	// ECPoint is opaque point<1..2^8-1>.
	if len(m.PublicKey) == 0 {
		b.SetError(msgMarshalErr("ServerKeyExchange.public"))
		return
	}
	b.AddUint8(msgCurveTypeNamed)
	b.AddUint16(m.Group)
	b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.PublicKey) })
}

// Marshal encodes the message with its handshake header.
func (m *ServerKeyExchangeECDHE) Marshal() ([]byte, error) {
	return msgMarshal(TypeServerKeyExchange, "ServerKeyExchange", func(b *Builder) {
		m.addParams(b)
		if len(m.Signature) == 0 {
			b.SetError(msgMarshalErr("ServerKeyExchange.signature"))
			return
		}
		b.AddUint16(m.SigAlg)
		b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.Signature) })
	})
}

// Unmarshal decodes a complete ECDHE ServerKeyExchange message.
func (m *ServerKeyExchangeECDHE) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeServerKeyExchange, "ServerKeyExchange")
	if err != nil {
		return err
	}
	var curveType uint8
	if !body.ReadUint8(&curveType) {
		return decodeErr("ServerKeyExchange.curve_type")
	}
	// RFC 8422, Section 5.4: explicit_prime(1) and explicit_char2(2) are
	// deprecated and we never offer them, so anything but named_curve is a
	// forbidden value rather than a syntax error.
	if curveType != msgCurveTypeNamed {
		return illegalErr("ServerKeyExchange.curve_type")
	}
	var out ServerKeyExchangeECDHE
	var point, sig cryptobyte.String
	if !body.ReadUint16(&out.Group) {
		return decodeErr("ServerKeyExchange.namedcurve")
	}
	if !body.ReadUint8LengthPrefixed(&point) || point.Empty() {
		return decodeErr("ServerKeyExchange.public")
	}
	if !body.ReadUint16(&out.SigAlg) {
		return decodeErr("ServerKeyExchange.algorithm")
	}
	if !body.ReadUint16LengthPrefixed(&sig) || sig.Empty() || !body.Empty() {
		return decodeErr("ServerKeyExchange.signature")
	}
	out.PublicKey = msgClone(point)
	out.Signature = msgClone(sig)
	*m = out
	return nil
}

// CertificateRequest12 is the TLS 1.2 CertificateRequest (RFC 5246, Section
// 7.4.4).
type CertificateRequest12 struct {
	CertificateTypes       []uint8  // ClientCertificateType, non-empty
	SignatureAlgorithms    []uint16 // non-empty
	CertificateAuthorities [][]byte // DER DistinguishedNames, may be empty
}

// Marshal encodes the message with its handshake header.
func (m *CertificateRequest12) Marshal() ([]byte, error) {
	return msgMarshal(TypeCertificateRequest, "CertificateRequest", func(b *Builder) {
		// certificate_types<1..2^8-1>.
		if len(m.CertificateTypes) == 0 {
			b.SetError(msgMarshalErr("CertificateRequest.certificate_types"))
			return
		}
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.CertificateTypes) })
		msgAddSchemeList(b, m.SignatureAlgorithms, "CertificateRequest.supported_signature_algorithms")
		msgAddDistinguishedNames(b, m.CertificateAuthorities, "CertificateRequest.certificate_authorities")
	})
}

// Unmarshal decodes a complete TLS 1.2 CertificateRequest message.
func (m *CertificateRequest12) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeCertificateRequest, "CertificateRequest")
	if err != nil {
		return err
	}
	var types cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&types) || types.Empty() {
		return decodeErr("CertificateRequest.certificate_types")
	}
	// TLS 1.2 always carries supported_signature_algorithms (RFC 5246,
	// Section 7.4.4); we do not speak the earlier versions that omit it.
	sigAlgs, err := msgReadSchemeList(&body, "CertificateRequest.supported_signature_algorithms")
	if err != nil {
		return err
	}
	cas, err := msgReadDistinguishedNames(&body, true, "CertificateRequest.certificate_authorities")
	if err != nil {
		return err
	}
	if !body.Empty() {
		return decodeErr("CertificateRequest")
	}
	*m = CertificateRequest12{
		CertificateTypes:       msgClone(types),
		SignatureAlgorithms:    sigAlgs,
		CertificateAuthorities: cas,
	}
	return nil
}

// CertificateRequest13 is the TLS 1.3 CertificateRequest (RFC 8446, Section
// 4.3.2). Marshal writes signature_algorithms, then signature_algorithms_cert
// and certificate_authorities when non-empty; Unmarshal ignores extensions it
// does not know, so only re-parsing (not the bytes) survives a round trip.
type CertificateRequest13 struct {
	RequestContext          []byte
	SignatureAlgorithms     []uint16 // required
	SignatureAlgorithmsCert []uint16 // optional
	CertificateAuthorities  [][]byte // optional DER DistinguishedNames
}

// Marshal encodes the message with its handshake header.
func (m *CertificateRequest13) Marshal() ([]byte, error) {
	return msgMarshal(TypeCertificateRequest, "CertificateRequest", func(b *Builder) {
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.RequestContext) })
		b.AddUint16LengthPrefixed(func(b *Builder) {
			b.AddUint16(ExtSignatureAlgorithms)
			b.AddUint16LengthPrefixed(func(b *Builder) {
				msgAddSchemeList(b, m.SignatureAlgorithms, "CertificateRequest.signature_algorithms")
			})
			if len(m.SignatureAlgorithmsCert) > 0 {
				b.AddUint16(ExtSignatureAlgorithmsCert)
				b.AddUint16LengthPrefixed(func(b *Builder) {
					msgAddSchemeList(b, m.SignatureAlgorithmsCert, "CertificateRequest.signature_algorithms_cert")
				})
			}
			if len(m.CertificateAuthorities) > 0 {
				b.AddUint16(ExtCertificateAuthorities)
				b.AddUint16LengthPrefixed(func(b *Builder) {
					msgAddDistinguishedNames(b, m.CertificateAuthorities, "CertificateRequest.certificate_authorities")
				})
			}
		})
	})
}

// Unmarshal decodes a complete TLS 1.3 CertificateRequest message.
func (m *CertificateRequest13) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeCertificateRequest, "CertificateRequest")
	if err != nil {
		return err
	}
	var context, block cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&context) {
		return decodeErr("CertificateRequest.certificate_request_context")
	}
	// extensions<2..2^16-1>: signature_algorithms alone needs more, so the
	// missing_extension check below covers the lower bound.
	if !body.ReadUint16LengthPrefixed(&block) || !body.Empty() {
		return decodeErr("CertificateRequest.extensions")
	}
	exts, err := msgReadExtensions(block, TypeCertificateRequest, "CertificateRequest.extensions")
	if err != nil {
		return err
	}
	out := CertificateRequest13{RequestContext: msgClone(context)}
	for _, e := range exts {
		switch e.typ {
		case ExtSignatureAlgorithms:
			const field = "CertificateRequest.signature_algorithms"
			if out.SignatureAlgorithms, err = msgReadSchemeList(&e.data, field); err != nil {
				return err
			}
			if !e.data.Empty() {
				return decodeErr(field)
			}
		case ExtSignatureAlgorithmsCert:
			const field = "CertificateRequest.signature_algorithms_cert"
			if out.SignatureAlgorithmsCert, err = msgReadSchemeList(&e.data, field); err != nil {
				return err
			}
			if !e.data.Empty() {
				return decodeErr(field)
			}
		case ExtCertificateAuthorities:
			const field = "CertificateRequest.certificate_authorities"
			if out.CertificateAuthorities, err = msgReadDistinguishedNames(&e.data, false, field); err != nil {
				return err
			}
			if !e.data.Empty() {
				return decodeErr(field)
			}
		}
		// RFC 8446, Section 4.3.2: "Clients MUST ignore unrecognized
		// extensions."
	}
	// RFC 8446, Section 4.3.2: "The "signature_algorithms" extension MUST be
	// specified". Its absence is missing_extension (Section 6.2).
	if out.SignatureAlgorithms == nil {
		return &Error{Alert: alert.MissingExtension, Field: "CertificateRequest.signature_algorithms"}
	}
	*m = out
	return nil
}

// ClientKeyExchangeECDHE is the TLS 1.2 ClientKeyExchange for ECDHE suites
// (RFC 8422, Section 5.7): the client's ephemeral public key.
type ClientKeyExchangeECDHE struct {
	PublicKey []byte // opaque point<1..2^8-1>
}

// Marshal encodes the message with its handshake header.
func (m *ClientKeyExchangeECDHE) Marshal() ([]byte, error) {
	return msgMarshal(TypeClientKeyExchange, "ClientKeyExchange", func(b *Builder) {
		if len(m.PublicKey) == 0 {
			b.SetError(msgMarshalErr("ClientKeyExchange.public"))
			return
		}
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.PublicKey) })
	})
}

// Unmarshal decodes a complete ECDHE ClientKeyExchange message.
func (m *ClientKeyExchangeECDHE) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeClientKeyExchange, "ClientKeyExchange")
	if err != nil {
		return err
	}
	var point cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&point) || point.Empty() || !body.Empty() {
		return decodeErr("ClientKeyExchange.public")
	}
	*m = ClientKeyExchangeECDHE{PublicKey: msgClone(point)}
	return nil
}

// CertificateVerify proves possession of the certificate's private key. The
// encoding is the same in TLS 1.2 (RFC 5246, Section 7.4.8, a
// digitally-signed struct) and TLS 1.3 (RFC 8446, Section 4.4.3).
type CertificateVerify struct {
	SigAlg    uint16
	Signature []byte // opaque<0..2^16-1>
}

// Marshal encodes the message with its handshake header.
func (m *CertificateVerify) Marshal() ([]byte, error) {
	return msgMarshal(TypeCertificateVerify, "CertificateVerify", func(b *Builder) {
		b.AddUint16(m.SigAlg)
		b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.Signature) })
	})
}

// Unmarshal decodes a complete CertificateVerify message.
func (m *CertificateVerify) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeCertificateVerify, "CertificateVerify")
	if err != nil {
		return err
	}
	var out CertificateVerify
	var sig cryptobyte.String
	if !body.ReadUint16(&out.SigAlg) {
		return decodeErr("CertificateVerify.algorithm")
	}
	if !body.ReadUint16LengthPrefixed(&sig) || !body.Empty() {
		return decodeErr("CertificateVerify.signature")
	}
	out.Signature = msgClone(sig)
	*m = out
	return nil
}

// Finished carries verify_data (RFC 5246, Section 7.4.9; RFC 8446, Section
// 4.4.4). Its length depends on the negotiated parameters, which this
// package does not know: the handshake must check it, and must compare it
// in constant time.
type Finished struct {
	VerifyData []byte // the whole body; non-empty
}

// Marshal encodes the message with its handshake header.
func (m *Finished) Marshal() ([]byte, error) {
	return msgMarshal(TypeFinished, "Finished", func(b *Builder) {
		if len(m.VerifyData) == 0 {
			b.SetError(msgMarshalErr("Finished.verify_data"))
			return
		}
		b.AddBytes(m.VerifyData)
	})
}

// Unmarshal decodes a complete Finished message.
func (m *Finished) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeFinished, "Finished")
	if err != nil {
		return err
	}
	if body.Empty() {
		return decodeErr("Finished.verify_data")
	}
	*m = Finished{VerifyData: msgClone(body)}
	return nil
}

// NewSessionTicket12 is the TLS 1.2 NewSessionTicket (RFC 5077, Section 3.3).
type NewSessionTicket12 struct {
	LifetimeHint uint32 // seconds; 0 means unspecified
	Ticket       []byte // may be empty: the server will not issue one after all
}

// Marshal encodes the message with its handshake header.
func (m *NewSessionTicket12) Marshal() ([]byte, error) {
	return msgMarshal(TypeNewSessionTicket, "NewSessionTicket", func(b *Builder) {
		b.AddUint32(m.LifetimeHint)
		b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.Ticket) })
	})
}

// Unmarshal decodes a complete TLS 1.2 NewSessionTicket message.
func (m *NewSessionTicket12) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeNewSessionTicket, "NewSessionTicket")
	if err != nil {
		return err
	}
	var out NewSessionTicket12
	var ticket cryptobyte.String
	if !body.ReadUint32(&out.LifetimeHint) {
		return decodeErr("NewSessionTicket.ticket_lifetime_hint")
	}
	if !body.ReadUint16LengthPrefixed(&ticket) || !body.Empty() {
		return decodeErr("NewSessionTicket.ticket")
	}
	out.Ticket = msgClone(ticket)
	*m = out
	return nil
}

// NewSessionTicket13 is the TLS 1.3 NewSessionTicket (RFC 8446, Section
// 4.6.1). The lifetime is not capped here; RFC 8446 leaves that to the
// client ("Clients MUST NOT cache tickets for longer than 7 days").
type NewSessionTicket13 struct {
	Lifetime     uint32 // ticket_lifetime, seconds
	AgeAdd       uint32 // ticket_age_add
	Nonce        []byte // ticket_nonce<0..255>
	Ticket       []byte // ticket<1..2^16-1>
	MaxEarlyData uint32 // valid only if HasEarlyData
	HasEarlyData bool   // the early_data extension was present
}

// Marshal encodes the message with its handshake header. The early_data
// extension is written when HasEarlyData is set.
func (m *NewSessionTicket13) Marshal() ([]byte, error) {
	return msgMarshal(TypeNewSessionTicket, "NewSessionTicket", func(b *Builder) {
		b.AddUint32(m.Lifetime)
		b.AddUint32(m.AgeAdd)
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.Nonce) })
		if len(m.Ticket) == 0 {
			b.SetError(msgMarshalErr("NewSessionTicket.ticket"))
			return
		}
		b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.Ticket) })
		b.AddUint16LengthPrefixed(func(b *Builder) {
			if m.HasEarlyData {
				b.AddUint16(ExtEarlyData)
				b.AddUint16LengthPrefixed(func(b *Builder) { b.AddUint32(m.MaxEarlyData) })
			}
		})
	})
}

// Unmarshal decodes a complete TLS 1.3 NewSessionTicket message. Unknown
// extensions are ignored (RFC 8446, Section 4.6.1 lists only early_data and
// Section 4.2 tells clients to ignore what they do not recognize).
func (m *NewSessionTicket13) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeNewSessionTicket, "NewSessionTicket")
	if err != nil {
		return err
	}
	var out NewSessionTicket13
	var nonce, ticket, block cryptobyte.String
	if !body.ReadUint32(&out.Lifetime) {
		return decodeErr("NewSessionTicket.ticket_lifetime")
	}
	if !body.ReadUint32(&out.AgeAdd) {
		return decodeErr("NewSessionTicket.ticket_age_add")
	}
	if !body.ReadUint8LengthPrefixed(&nonce) {
		return decodeErr("NewSessionTicket.ticket_nonce")
	}
	// ticket<1..2^16-1>: an empty ticket is an out-of-range length.
	if !body.ReadUint16LengthPrefixed(&ticket) || ticket.Empty() {
		return decodeErr("NewSessionTicket.ticket")
	}
	if !body.ReadUint16LengthPrefixed(&block) || !body.Empty() {
		return decodeErr("NewSessionTicket.extensions")
	}
	exts, err := msgReadExtensions(block, TypeNewSessionTicket, "NewSessionTicket.extensions")
	if err != nil {
		return err
	}
	for _, e := range exts {
		if e.typ == ExtEarlyData {
			// RFC 8446, Section 4.2.10: in NewSessionTicket the extension
			// data is uint32 max_early_data_size.
			if !e.data.ReadUint32(&out.MaxEarlyData) || !e.data.Empty() {
				return decodeErr("NewSessionTicket.early_data")
			}
			out.HasEarlyData = true
		}
	}
	out.Nonce = msgClone(nonce)
	out.Ticket = msgClone(ticket)
	*m = out
	return nil
}

// EncryptedExtensions is the TLS 1.3 EncryptedExtensions (RFC 8446, Section
// 4.3.1), with the extensions this library acts on decoded.
//
// Extensions lists every extension type received, in order, including ones
// not decoded into a field, so that the handshake can reject responses to
// extensions it never offered (RFC 8446, Section 4.2: unsupported_extension).
// Marshal writes the fields that are set, in the order they appear in
// Extensions and then any remaining ones; types in Extensions that have no
// field here are not written.
type EncryptedExtensions struct {
	ALPN            string   // the selected protocol; "" if absent
	ServerNameAck   bool     // empty server_name: the server used our SNI (RFC 6066, Section 3)
	EarlyData       bool     // empty early_data: 0-RTT accepted (RFC 8446, Section 4.2.10)
	SupportedGroups []uint16 // the server's preferred groups, informational (Section 4.2.7)
	Extensions      []uint16 // types in order received
}

// msgHas reports whether the extension typ has a value in m to write.
func (m *EncryptedExtensions) msgHas(typ uint16) bool {
	switch typ {
	case ExtServerName:
		return m.ServerNameAck
	case ExtSupportedGroups:
		return len(m.SupportedGroups) > 0
	case ExtALPN:
		return m.ALPN != ""
	case ExtEarlyData:
		return m.EarlyData
	}
	return false
}

func (m *EncryptedExtensions) msgAddExtension(b *Builder, typ uint16) {
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(func(b *Builder) {
		switch typ {
		case ExtSupportedGroups:
			msgAddSchemeList(b, m.SupportedGroups, "EncryptedExtensions.supported_groups")
		case ExtALPN:
			// RFC 7301, Section 3.1: a list holding exactly one name.
			b.AddUint16LengthPrefixed(func(b *Builder) {
				b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes([]byte(m.ALPN)) })
			})
		}
		// server_name and early_data are empty here.
	})
}

// Marshal encodes the message with its handshake header.
func (m *EncryptedExtensions) Marshal() ([]byte, error) {
	return msgMarshal(TypeEncryptedExtensions, "EncryptedExtensions", func(b *Builder) {
		b.AddUint16LengthPrefixed(func(b *Builder) {
			written := make(map[uint16]bool)
			for _, typ := range m.Extensions {
				if m.msgHas(typ) && !written[typ] {
					m.msgAddExtension(b, typ)
					written[typ] = true
				}
			}
			for _, typ := range []uint16{ExtServerName, ExtSupportedGroups, ExtALPN, ExtEarlyData} {
				if m.msgHas(typ) && !written[typ] {
					m.msgAddExtension(b, typ)
				}
			}
		})
	})
}

// Unmarshal decodes a complete EncryptedExtensions message.
func (m *EncryptedExtensions) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeEncryptedExtensions, "EncryptedExtensions")
	if err != nil {
		return err
	}
	var block cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&block) || !body.Empty() {
		return decodeErr("EncryptedExtensions.extensions")
	}
	// RFC 8446, Section 4.3.1: "The client MUST check EncryptedExtensions
	// for the presence of any forbidden extensions and if any are found
	// MUST abort the handshake with an "illegal_parameter" alert."
	exts, err := msgReadExtensions(block, TypeEncryptedExtensions, "EncryptedExtensions.extensions")
	if err != nil {
		return err
	}
	var out EncryptedExtensions
	for _, e := range exts {
		out.Extensions = append(out.Extensions, e.typ)
		switch e.typ {
		case ExtServerName:
			// RFC 6066, Section 3: the server's acknowledgement has
			// empty extension_data.
			if !e.data.Empty() {
				return decodeErr("EncryptedExtensions.server_name")
			}
			out.ServerNameAck = true
		case ExtEarlyData:
			// RFC 8446, Section 4.2.10: empty in EncryptedExtensions.
			if !e.data.Empty() {
				return decodeErr("EncryptedExtensions.early_data")
			}
			out.EarlyData = true
		case ExtSupportedGroups:
			const field = "EncryptedExtensions.supported_groups"
			if out.SupportedGroups, err = msgReadSchemeList(&e.data, field); err != nil {
				return err
			}
			if !e.data.Empty() {
				return decodeErr(field)
			}
		case ExtALPN:
			if out.ALPN, err = msgReadSelectedProtocol(e.data); err != nil {
				return err
			}
		}
	}
	*m = out
	return nil
}

// msgReadSelectedProtocol reads the server's ALPN extension_data.
func msgReadSelectedProtocol(data cryptobyte.String) (string, error) {
	const field = "EncryptedExtensions.application_layer_protocol_negotiation"
	// ProtocolName protocol_name_list<2..2^16-1>; ProtocolName is
	// opaque<1..2^8-1> (RFC 7301, Section 3.1).
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || list.Empty() {
		return "", decodeErr(field)
	}
	var first cryptobyte.String
	count := 0
	for !list.Empty() {
		var name cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&name) || name.Empty() {
			return "", decodeErr(field)
		}
		if count == 0 {
			first = name
		}
		count++
	}
	// RFC 7301, Section 3.1: the server's "ProtocolNameList" MUST contain
	// exactly one "ProtocolName".
	if count != 1 {
		return "", illegalErr(field)
	}
	return string(first), nil
}

// KeyUpdate asks the peer to expect (and optionally send) new traffic keys
// (RFC 8446, Section 4.6.3).
type KeyUpdate struct {
	RequestUpdate bool // update_requested(1) rather than update_not_requested(0)
}

// Marshal encodes the message with its handshake header.
func (m *KeyUpdate) Marshal() ([]byte, error) {
	return msgMarshal(TypeKeyUpdate, "KeyUpdate", func(b *Builder) {
		if m.RequestUpdate {
			b.AddUint8(1)
		} else {
			b.AddUint8(0)
		}
	})
}

// Unmarshal decodes a complete KeyUpdate message.
func (m *KeyUpdate) Unmarshal(msg []byte) error {
	body, err := msgBody(msg, TypeKeyUpdate, "KeyUpdate")
	if err != nil {
		return err
	}
	var request uint8
	if !body.ReadUint8(&request) || !body.Empty() {
		return decodeErr("KeyUpdate.request_update")
	}
	// RFC 8446, Section 4.6.3: "If an implementation receives any other
	// value, it MUST terminate the connection with an "illegal_parameter"
	// alert."
	switch request {
	case 0:
		*m = KeyUpdate{RequestUpdate: false}
	case 1:
		*m = KeyUpdate{RequestUpdate: true}
	default:
		return illegalErr("KeyUpdate.request_update")
	}
	return nil
}
