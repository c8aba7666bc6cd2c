package wire

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// KeyShare is a KeyShareEntry (RFC 8446, Section 4.2.8).
type KeyShare struct {
	Group uint16
	Data  []byte // key_exchange
}

// PSKIdentity is one PskIdentity of the pre_shared_key extension
// (RFC 8446, Section 4.2.11).
type PSKIdentity struct {
	Identity            []byte
	ObfuscatedTicketAge uint32
}

// ClientHello is the ClientHello message of TLS 1.2 (RFC 5246, Section
// 7.4.1.2) and TLS 1.3 (RFC 8446, Section 4.1.2) with the extensions reprise
// understands.
//
// Conventions shared by every field: a list that the RFCs forbid to be empty
// is absent when it has length zero, and an empty byte string decodes as nil.
// KeyShares is the exception, because RFC 8446, Section 4.2.8 allows an
// empty client_shares list (a client that wants the server to pick a group
// by HelloRetryRequest): nil means the extension is absent, a non-nil empty
// slice means it is present and empty.
type ClientHello struct {
	Vers               uint16 // legacy_version
	Random             []byte // 32 bytes
	SessionID          []byte // 0..32 bytes
	CipherSuites       []uint16
	CompressionMethods []uint8

	// Extensions, in the order Marshal writes them.
	ServerName              string // server_name host_name; "" = absent
	SupportedGroups         []uint16
	PointFormats            []uint8 // ec_point_formats; empty = absent
	SignatureAlgorithms     []uint16
	SignatureAlgorithmsCert []uint16
	ALPN                    []string
	// SecureRenegotiationSupported reports the renegotiation_info extension.
	// The TLS_EMPTY_RENEGOTIATION_INFO_SCSV cipher suite (RFC 5746, Section
	// 3.3) is left in CipherSuites for the handshake to interpret.
	SecureRenegotiationSupported bool
	SecureRenegotiation          []byte // renegotiated_connection contents
	ExtendedMasterSecret         bool
	EncryptThenMAC               bool
	TicketSupported              bool   // session_ticket extension present
	SessionTicket                []byte // its contents (may be empty)
	SupportedVersions            []uint16
	KeyShares                    []KeyShare // nil = absent; non-nil empty = present, empty
	PSKModes                     []uint8
	EarlyData                    bool
	Cookie                       []byte
	// PostHandshakeAuth reports the empty post_handshake_auth extension
	// (RFC 8446, Section 4.2.6).
	PostHandshakeAuth bool
	PSKIdentities     []PSKIdentity
	PSKBinders        [][]byte

	// Extensions lists every extension type in the order received, including
	// ones this package does not understand, for traces and for the
	// handshake's "unsolicited extension" checks. Set by Unmarshal, ignored
	// by Marshal.
	Extensions []uint16
}

// ServerHello is the ServerHello message of TLS 1.2 (RFC 5246, Section
// 7.4.1.3) and TLS 1.3 (RFC 8446, Section 4.1.3), including its
// HelloRetryRequest form (Random == HelloRetryRequestRandom). Empty byte
// strings decode as nil.
type ServerHello struct {
	Vers              uint16
	Random            []byte // 32 bytes
	SessionID         []byte // 0..32 bytes
	CipherSuite       uint16
	CompressionMethod uint8

	SecureRenegotiationSupported bool
	SecureRenegotiation          []byte // client_verify_data + server_verify_data
	ExtendedMasterSecret         bool
	EncryptThenMAC               bool
	TicketSupported              bool     // empty session_ticket extension
	ALPN                         string   // "" = absent; when present exactly one protocol
	ServerNameAck                bool     // empty server_name extension
	PointFormats                 []uint8  // empty = absent
	SupportedVersion             uint16   // 0 = absent
	KeyShare                     KeyShare // Group 0 = absent (ServerHello form: one KeyShareEntry)
	SelectedGroup                uint16   // HelloRetryRequest form of key_share: just the group; 0 = absent
	Cookie                       []byte   // HelloRetryRequest only
	HasSelectedPSK               bool
	SelectedPSK                  uint16

	// Extensions lists every extension type in the order received. Set by
	// Unmarshal, ignored by Marshal.
	Extensions []uint16
}

// Limits from the presentation-language vector bounds of RFC 5246 and
// RFC 8446.
const (
	helloRandomLen    = 32  // Random random (RFC 8446, Section 4.1.2)
	helloMaxSessionID = 32  // opaque legacy_session_id<0..32>
	helloMinBinderLen = 32  // opaque PskBinderEntry<32..255>
	helloMaxUint8Len  = 255 // any <..2^8-1> vector
)

// IsHelloRetryRequest reports whether m is a HelloRetryRequest, which RFC
// 8446, Section 4.1.3 marks by a fixed Random value rather than by its own
// message type.
func (m *ServerHello) IsHelloRetryRequest() bool {
	return bytes.Equal(m.Random, HelloRetryRequestRandom[:])
}

// BindersLen returns the length in bytes of the encoded binders list
// including its 2-byte length prefix (0 if no pre_shared_key). The
// "truncated ClientHello" of RFC 8446, Section 4.2.11.2 is
// raw[:len(raw)-m.BindersLen()] for a message that has PSKBinders set.
func (m *ClientHello) BindersLen() int {
	if len(m.PSKBinders) == 0 {
		return 0
	}
	n := 2
	for _, binder := range m.PSKBinders {
		n += 1 + len(binder)
	}
	return n
}

// PatchBinders overwrites the binders at the end of raw (a marshalled
// ClientHello) with binders of the same lengths as already there; error if
// lengths differ.
//
// A client computes binders over the ClientHello truncated before the
// binders list (RFC 8446, Section 4.2.11.2), so it marshals with placeholder
// binders of the right lengths first and patches the real ones in here.
func PatchBinders(raw []byte, binders [][]byte) error {
	off, err := bindersOffset(raw, binders)
	if err != nil {
		return fmt.Errorf("wire: PatchBinders: %w", err)
	}
	for _, binder := range binders {
		off++ // the binder's own length byte, unchanged
		off += copy(raw[off:], binder)
	}
	return nil
}

// bindersOffset finds the binders list of raw's pre_shared_key extension,
// checking it holds binders of the lengths given, and returns the offset of
// its first binder's length byte. It walks the message's structure without decoding the
// fields: a client patches every ClientHello it resumes with.
func bindersOffset(raw []byte, binders [][]byte) (int, error) {
	body, err := helloBody(raw, TypeClientHello, "ClientHello")
	if err != nil {
		return 0, err
	}
	var skip, exts cryptobyte.String
	if !body.Skip(2+helloRandomLen) || !body.ReadUint8LengthPrefixed(&skip) ||
		!body.ReadUint16LengthPrefixed(&skip) || !body.ReadUint8LengthPrefixed(&skip) ||
		!body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return 0, decodeErr("ClientHello")
	}
	// pre_shared_key is the last extension (RFC 8446, Section 4.2.11) and
	// the extensions block ends the message, so the binders list is the
	// final bytes of raw.
	var typ uint16
	var psk cryptobyte.String
	for !exts.Empty() {
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&psk) {
			return 0, decodeErr("ClientHello.extensions")
		}
	}
	if typ != ExtPreSharedKey {
		return 0, errors.New("ClientHello has no pre_shared_key extension")
	}
	var list cryptobyte.String
	if !psk.ReadUint16LengthPrefixed(&skip) || !psk.ReadUint16LengthPrefixed(&list) || !psk.Empty() {
		return 0, decodeErr("ClientHello.pre_shared_key")
	}
	off := len(raw) - len(list)
	for i := 0; !list.Empty(); i++ {
		var binder cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&binder) {
			return 0, decodeErr("ClientHello.pre_shared_key")
		}
		if i >= len(binders) {
			return 0, fmt.Errorf("%d binders given, ClientHello has more", len(binders))
		}
		if len(binders[i]) != len(binder) {
			return 0, fmt.Errorf("binder %d is %d bytes, ClientHello has %d", i, len(binders[i]), len(binder))
		}
		if list.Empty() && i+1 != len(binders) {
			return 0, fmt.Errorf("%d binders given, ClientHello has %d", len(binders), i+1)
		}
	}
	if len(binders) == 0 {
		return 0, errors.New("no binders given")
	}
	return off, nil
}

// Marshal encodes m as a complete handshake message, header included. It
// returns an error for a value that Unmarshal would reject, so that every
// encoding reprise sends is one it would accept.
func (m *ClientHello) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := newBuilder(576 + len(m.SessionID) + 2*len(m.CipherSuites))
	b.AddUint8(TypeClientHello)
	b.AddUint24LengthPrefixed(func(b *Builder) {
		b.AddUint16(m.Vers)
		b.AddBytes(m.Random)
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.SessionID) })
		b.AddUint16LengthPrefixed(func(b *Builder) { helloAddUint16s(b, m.CipherSuites) })
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.CompressionMethods) })
		// RFC 5246, Section 7.4.1.2 lets the extensions block be left out
		// when there are none; old servers cope better without an empty one.
		b.AddOptionalUint16LengthPrefixed(m.addExtensions)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("wire: ClientHello too long: %w", err)
	}
	return out, nil
}

// check rejects values whose encoding would break a lower bound of the RFCs
// or that Unmarshal could not reproduce. Upper bounds are caught by the
// length prefixes of Builder.
func (m *ClientHello) check() error {
	switch {
	case len(m.Random) != helloRandomLen:
		return errors.New("wire: ClientHello.random must be 32 bytes")
	case len(m.SessionID) > helloMaxSessionID:
		return errors.New("wire: ClientHello.legacy_session_id longer than 32 bytes")
	case len(m.CipherSuites) == 0:
		return errors.New("wire: ClientHello.cipher_suites is empty")
	case len(m.CompressionMethods) == 0:
		return errors.New("wire: ClientHello.legacy_compression_methods is empty")
	case len(m.SecureRenegotiation) > 0 && !m.SecureRenegotiationSupported:
		return errors.New("wire: ClientHello.SecureRenegotiation set without SecureRenegotiationSupported")
	case len(m.SessionTicket) > 0 && !m.TicketSupported:
		return errors.New("wire: ClientHello.SessionTicket set without TicketSupported")
	case (len(m.PSKIdentities) == 0) != (len(m.PSKBinders) == 0):
		return errors.New("wire: ClientHello.pre_shared_key needs both identities and binders")
	}
	for _, proto := range m.ALPN {
		if proto == "" || len(proto) > helloMaxUint8Len {
			return errors.New("wire: ClientHello.application_layer_protocol_negotiation: protocol name must be 1..255 bytes")
		}
	}
	for _, share := range m.KeyShares {
		if len(share.Data) == 0 {
			return errors.New("wire: ClientHello.key_share: empty key_exchange")
		}
	}
	for _, id := range m.PSKIdentities {
		if len(id.Identity) == 0 {
			return errors.New("wire: ClientHello.pre_shared_key: empty identity")
		}
	}
	for _, binder := range m.PSKBinders {
		if len(binder) < helloMinBinderLen || len(binder) > helloMaxUint8Len {
			return errors.New("wire: ClientHello.pre_shared_key: binder must be 32..255 bytes")
		}
	}
	return nil
}

func (m *ClientHello) addExtensions(b *Builder) {
	if m.ServerName != "" {
		// RFC 6066, Section 3: a ServerNameList with our one host_name.
		helloAddExtension(b, ExtServerName, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) {
				b.AddUint8(0) // name_type host_name
				b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes([]byte(m.ServerName)) })
			})
		})
	}
	if len(m.SupportedGroups) > 0 {
		helloAddExtension(b, ExtSupportedGroups, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) { helloAddUint16s(b, m.SupportedGroups) })
		})
	}
	if len(m.PointFormats) > 0 {
		helloAddExtension(b, ExtECPointFormats, func(b *Builder) {
			b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.PointFormats) })
		})
	}
	if len(m.SignatureAlgorithms) > 0 {
		helloAddExtension(b, ExtSignatureAlgorithms, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) { helloAddUint16s(b, m.SignatureAlgorithms) })
		})
	}
	if len(m.SignatureAlgorithmsCert) > 0 {
		helloAddExtension(b, ExtSignatureAlgorithmsCert, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) { helloAddUint16s(b, m.SignatureAlgorithmsCert) })
		})
	}
	if len(m.ALPN) > 0 {
		helloAddExtension(b, ExtALPN, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) {
				for _, proto := range m.ALPN {
					b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes([]byte(proto)) })
				}
			})
		})
	}
	if m.SecureRenegotiationSupported {
		helloAddExtension(b, ExtRenegotiationInfo, func(b *Builder) {
			b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.SecureRenegotiation) })
		})
	}
	if m.ExtendedMasterSecret {
		helloAddExtension(b, ExtExtendedMasterSecret, func(*Builder) {})
	}
	if m.EncryptThenMAC {
		helloAddExtension(b, ExtEncryptThenMAC, func(*Builder) {})
	}
	if m.TicketSupported {
		// RFC 5077, Section 3.2: the ticket is the whole extension_data.
		helloAddExtension(b, ExtSessionTicket, func(b *Builder) { b.AddBytes(m.SessionTicket) })
	}
	if len(m.SupportedVersions) > 0 {
		helloAddExtension(b, ExtSupportedVersions, func(b *Builder) {
			b.AddUint8LengthPrefixed(func(b *Builder) { helloAddUint16s(b, m.SupportedVersions) })
		})
	}
	if m.KeyShares != nil {
		helloAddExtension(b, ExtKeyShare, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) {
				for _, share := range m.KeyShares {
					b.AddUint16(share.Group)
					b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(share.Data) })
				}
			})
		})
	}
	if len(m.PSKModes) > 0 {
		helloAddExtension(b, ExtPSKKeyExchangeModes, func(b *Builder) {
			b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.PSKModes) })
		})
	}
	if m.EarlyData {
		helloAddExtension(b, ExtEarlyData, func(*Builder) {})
	}
	if m.PostHandshakeAuth {
		helloAddExtension(b, ExtPostHandshakeAuth, func(*Builder) {})
	}
	if len(m.Cookie) > 0 {
		helloAddExtension(b, ExtCookie, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.Cookie) })
		})
	}
	// RFC 8446, Section 4.2.11: pre_shared_key MUST be the last extension,
	// which is also what lets BindersLen and PatchBinders find the binders.
	if len(m.PSKIdentities) > 0 {
		helloAddExtension(b, ExtPreSharedKey, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) {
				for _, id := range m.PSKIdentities {
					b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(id.Identity) })
					b.AddUint32(id.ObfuscatedTicketAge)
				}
			})
			b.AddUint16LengthPrefixed(func(b *Builder) {
				for _, binder := range m.PSKBinders {
					b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(binder) })
				}
			})
		})
	}
}

// helloPrefix checks the header of a hello message and reads the fields
// both hellos start with (RFC 8446, Section 4.1.2 and 4.1.3):
// legacy_version, random and legacy_session_id. It returns the rest.
func helloPrefix(msg []byte, typ uint8, name string, vers *uint16, random, sessionID *[]byte) (cryptobyte.String, error) {
	body, err := helloBody(msg, typ, name)
	if err != nil {
		return nil, err
	}
	if !body.ReadUint16(vers) {
		return nil, decodeErr(name + ".legacy_version")
	}
	var r []byte
	if !body.ReadBytes(&r, helloRandomLen) {
		return nil, decodeErr(name + ".random")
	}
	// The random and session ID are kept for the life of the connection
	// (key derivation, exporters, ConnectionState), so they get their own
	// arrays rather than keep the whole message alive.
	*random = bytes.Clone(r)
	var id cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&id) || len(id) > helloMaxSessionID {
		return nil, decodeErr(name + ".legacy_session_id")
	}
	*sessionID = helloClone(id)
	return body, nil
}

// Unmarshal decodes msg, a complete ClientHello handshake message including
// its header, into m, replacing all of m. On failure it returns a *Error.
// m keeps no reference to msg.
func (m *ClientHello) Unmarshal(msg []byte) error {
	*m = ClientHello{}
	// One private copy of the message backs the byte fields read below,
	// one allocation rather than one per field; none of them outlives the
	// handshake (helloPrefix copies the two that do).
	msg = bytes.Clone(msg)
	body, err := helloPrefix(msg, TypeClientHello, "ClientHello", &m.Vers, &m.Random, &m.SessionID)
	if err != nil {
		return err
	}
	// CipherSuite cipher_suites<2..2^16-2>
	var suites cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&suites) {
		return decodeErr("ClientHello.cipher_suites")
	}
	// One array holds the extension types and every uint16 list.
	var arena uint16Arena
	if m.CipherSuites = arena.list(suites); m.CipherSuites == nil {
		return decodeErr("ClientHello.cipher_suites")
	}
	// opaque legacy_compression_methods<1..2^8-1>
	var compression cryptobyte.String
	if !body.ReadUint8LengthPrefixed(&compression) || compression.Empty() {
		return decodeErr("ClientHello.legacy_compression_methods")
	}
	m.CompressionMethods = helloAlias(compression)

	// RFC 5246, Section 7.4.1.2: a TLS 1.2 client may omit the extensions
	// block entirely; its presence is detected by bytes after compression.
	if body.Empty() {
		return nil
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return decodeErr("ClientHello.extensions")
	}
	var seen helloSeenSet
	m.Extensions = arena.reserve(20) // browsers and TLS libraries send 10 to 20
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return decodeErr("ClientHello.extensions")
		}
		// RFC 8446, Section 4.2: no two extensions of the same type.
		if seen.addDuplicate(typ) {
			return illegalErr(clientHelloField(typ))
		}
		m.Extensions = append(m.Extensions, typ)
		// RFC 8446, Section 4.2.11: pre_shared_key MUST be last; servers
		// MUST check this and abort with illegal_parameter.
		if typ == ExtPreSharedKey && !exts.Empty() {
			return illegalErr(clientHelloField(typ))
		}
		if typ == ExtServerName {
			if err := m.unmarshalServerName(data); err != nil {
				return err
			}
			continue
		}
		if !m.unmarshalExtension(typ, data, &arena) {
			return decodeErr(clientHelloField(typ))
		}
	}
	return nil
}

// clientHelloField names extension typ in errors. It is built only for an
// error, keeping the parse of a good ClientHello free of string building.
func clientHelloField(typ uint16) string {
	return "ClientHello." + ExtensionName(typ)
}

// serverHelloField names extension typ of a ServerHello in an Error, built
// only when there is an error to report.
func serverHelloField(typ uint16) string {
	return "ServerHello." + ExtensionName(typ)
}

// unmarshalExtension decodes the data of one extension other than
// server_name into m. It reports false for a structural error, which the
// caller turns into a decode_error naming the extension; none of these
// extensions has a well-formed but illegal form at this layer.
func (m *ClientHello) unmarshalExtension(typ uint16, data cryptobyte.String, arena *uint16Arena) bool {
	switch typ {
	case ExtSupportedGroups:
		// NamedGroup named_group_list<2..2^16-1> (RFC 8446, Section 4.2.7)
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		m.SupportedGroups = arena.list(list)
		return m.SupportedGroups != nil
	case ExtECPointFormats:
		// ECPointFormat ec_point_format_list<1..2^8-1> (RFC 8422, Section 5.1.2)
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || list.Empty() {
			return false
		}
		m.PointFormats = helloAlias(list)
	case ExtSignatureAlgorithms, ExtSignatureAlgorithmsCert:
		// SignatureScheme supported_signature_algorithms<2..2^16-2>
		// (RFC 8446, Section 4.2.3)
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		algs := arena.list(list)
		if typ == ExtSignatureAlgorithms {
			m.SignatureAlgorithms = algs
		} else {
			m.SignatureAlgorithmsCert = algs
		}
		return algs != nil
	case ExtALPN:
		// ProtocolName protocol_name_list<2..2^16-1>, each opaque<1..2^8-1>
		// (RFC 7301, Section 3.1)
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || list.Empty() {
			return false
		}
		for !list.Empty() {
			var proto cryptobyte.String
			if !list.ReadUint8LengthPrefixed(&proto) || proto.Empty() {
				return false
			}
			m.ALPN = append(m.ALPN, string(proto))
		}
	case ExtRenegotiationInfo:
		// opaque renegotiated_connection<0..255> (RFC 5746, Section 3.2)
		var conn cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&conn) || !data.Empty() {
			return false
		}
		m.SecureRenegotiationSupported = true
		m.SecureRenegotiation = helloField(conn)
	case ExtExtendedMasterSecret:
		// RFC 7627, Section 5.1: extension_data is empty.
		m.ExtendedMasterSecret = true
		return data.Empty()
	case ExtEncryptThenMAC:
		// RFC 7366, Section 2: extension_data is empty.
		m.EncryptThenMAC = true
		return data.Empty()
	case ExtSessionTicket:
		// RFC 5077, Section 3.2: the ticket is the whole extension_data,
		// empty when the client has none.
		m.TicketSupported = true
		m.SessionTicket = helloField(data)
	case ExtSupportedVersions:
		// ProtocolVersion versions<2..254> (RFC 8446, Section 4.2.1)
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		m.SupportedVersions = arena.list(list)
		return m.SupportedVersions != nil
	case ExtKeyShare:
		// KeyShareEntry client_shares<0..2^16-1> (RFC 8446, Section 4.2.8);
		// the list may be empty, each key_exchange may not.
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return false
		}
		m.KeyShares = []KeyShare{}
		for !list.Empty() {
			var share KeyShare
			var keyExchange cryptobyte.String
			if !list.ReadUint16(&share.Group) || !list.ReadUint16LengthPrefixed(&keyExchange) || keyExchange.Empty() {
				return false
			}
			share.Data = helloAlias(keyExchange)
			m.KeyShares = append(m.KeyShares, share)
		}
	case ExtPSKKeyExchangeModes:
		// PskKeyExchangeMode ke_modes<1..255> (RFC 8446, Section 4.2.9)
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || list.Empty() {
			return false
		}
		m.PSKModes = helloAlias(list)
	case ExtEarlyData:
		// RFC 8446, Section 4.2.10: empty in a ClientHello.
		m.EarlyData = true
		return data.Empty()
	case ExtCookie:
		// opaque cookie<1..2^16-1> (RFC 8446, Section 4.2.2)
		var cookie cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&cookie) || !data.Empty() || cookie.Empty() {
			return false
		}
		m.Cookie = helloAlias(cookie)
	case ExtPostHandshakeAuth:
		// RFC 8446, Section 4.2.6: "The "extension_data" field of the
		// "post_handshake_auth" extension is zero length."
		m.PostHandshakeAuth = true
		return data.Empty()
	case ExtPreSharedKey:
		return m.unmarshalPreSharedKey(data)
	}
	// Unknown extensions are skipped (RFC 8446, Section 4.2); the caller
	// has recorded their type.
	return true
}

// unmarshalServerName decodes a ServerNameList (RFC 6066, Section 3). Entries
// of unknown name_type are skipped, since every defined NameType uses the
// same opaque<1..2^16-1> encoding in practice. A host_name that is not a
// DNS host name is illegal_parameter (validHostName).
func (m *ClientHello) unmarshalServerName(data cryptobyte.String) error {
	const field = "ClientHello.server_name"
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || list.Empty() {
		return decodeErr(field)
	}
	hostNames := 0
	for !list.Empty() {
		var nameType uint8
		var name cryptobyte.String
		if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) || name.Empty() {
			return decodeErr(field)
		}
		if nameType != 0 { // not host_name, the only type RFC 6066 defines
			continue
		}
		hostNames++
		if !validHostName(name) {
			return illegalErr(field)
		}
		m.ServerName = string(name)
	}
	// RFC 6066, Section 3: "The ServerNameList MUST NOT contain more than
	// one name of the same name_type."
	if hostNames > 1 {
		return illegalErr(field)
	}
	return nil
}

// validHostName reports whether name is what RFC 6066, Section 3 allows in
// a host_name: "the fully qualified DNS hostname of the server, as
// understood by the client [...] represented as a byte string using ASCII
// encoding without a trailing dot", internationalized names as A-labels.
// So: dot-separated labels of 1 to 63 bytes, at most 253 bytes in all, of
// ASCII letters, digits, hyphens, and underscores (which real host names
// carry, though RFC 952 forbids them). A NUL byte, a trailing dot, an
// empty label, a space, or any byte above 0x7f fails. RFC 6066 forbids IP
// literals too; they are not rejected here, since a dotted IPv4 address is
// indistinguishable from a numeric DNS name and clients that send one are
// better answered by the certificate choice than by an alert.
func validHostName(name []byte) bool {
	if len(name) == 0 || len(name) > 253 {
		return false
	}
	label := 0
	for _, b := range name {
		switch {
		case b == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '-', b == '_':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0 // no trailing dot
}

// unmarshalPreSharedKey decodes an OfferedPsks (RFC 8446, Section 4.2.11).
// Whether there are as many binders as identities is for the handshake to
// check; both lists are recorded as sent.
func (m *ClientHello) unmarshalPreSharedKey(data cryptobyte.String) bool {
	// PskIdentity identities<7..2^16-1>
	var identities cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&identities) || identities.Empty() {
		return false
	}
	for !identities.Empty() {
		var id PSKIdentity
		var identity cryptobyte.String
		if !identities.ReadUint16LengthPrefixed(&identity) || identity.Empty() ||
			!identities.ReadUint32(&id.ObfuscatedTicketAge) {
			return false
		}
		id.Identity = helloAlias(identity)
		m.PSKIdentities = append(m.PSKIdentities, id)
	}
	// PskBinderEntry binders<33..2^16-1>, each opaque<32..255>
	var binders cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&binders) || !data.Empty() || binders.Empty() {
		return false
	}
	for !binders.Empty() {
		var binder cryptobyte.String
		if !binders.ReadUint8LengthPrefixed(&binder) || len(binder) < helloMinBinderLen {
			return false
		}
		m.PSKBinders = append(m.PSKBinders, helloAlias(binder))
	}
	return true
}

// Marshal encodes m as a complete handshake message, header included. It
// returns an error for a value that Unmarshal would reject.
func (m *ServerHello) Marshal() ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b := newBuilder(128 + len(m.SessionID) + len(m.KeyShare.Data) + len(m.Cookie))
	b.AddUint8(TypeServerHello)
	b.AddUint24LengthPrefixed(func(b *Builder) {
		b.AddUint16(m.Vers)
		b.AddBytes(m.Random)
		b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.SessionID) })
		b.AddUint16(m.CipherSuite)
		b.AddUint8(m.CompressionMethod)
		b.AddOptionalUint16LengthPrefixed(m.addExtensions)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("wire: ServerHello too long: %w", err)
	}
	return out, nil
}

func (m *ServerHello) check() error {
	hrr := m.IsHelloRetryRequest()
	switch {
	case len(m.Random) != helloRandomLen:
		return errors.New("wire: ServerHello.random must be 32 bytes")
	case len(m.SessionID) > helloMaxSessionID:
		return errors.New("wire: ServerHello.legacy_session_id longer than 32 bytes")
	case len(m.SecureRenegotiation) > 0 && !m.SecureRenegotiationSupported:
		return errors.New("wire: ServerHello.SecureRenegotiation set without SecureRenegotiationSupported")
	case len(m.ALPN) > helloMaxUint8Len:
		return errors.New("wire: ServerHello.application_layer_protocol_negotiation: protocol name longer than 255 bytes")
	case m.SelectedPSK != 0 && !m.HasSelectedPSK:
		return errors.New("wire: ServerHello.SelectedPSK set without HasSelectedPSK")
	case (m.KeyShare.Group == 0) != (len(m.KeyShare.Data) == 0):
		return errors.New("wire: ServerHello.key_share needs both a group and key_exchange")
	case hrr && m.KeyShare.Group != 0:
		return errors.New("wire: HelloRetryRequest.key_share carries only SelectedGroup")
	case !hrr && m.SelectedGroup != 0:
		return errors.New("wire: ServerHello.SelectedGroup is for a HelloRetryRequest only")
	case !hrr && len(m.Cookie) > 0:
		return errors.New("wire: ServerHello.cookie is for a HelloRetryRequest only")
	}
	return nil
}

func (m *ServerHello) addExtensions(b *Builder) {
	if m.SecureRenegotiationSupported {
		helloAddExtension(b, ExtRenegotiationInfo, func(b *Builder) {
			b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.SecureRenegotiation) })
		})
	}
	if m.ExtendedMasterSecret {
		helloAddExtension(b, ExtExtendedMasterSecret, func(*Builder) {})
	}
	if m.EncryptThenMAC {
		helloAddExtension(b, ExtEncryptThenMAC, func(*Builder) {})
	}
	if m.TicketSupported {
		helloAddExtension(b, ExtSessionTicket, func(*Builder) {})
	}
	if m.ALPN != "" {
		helloAddExtension(b, ExtALPN, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) {
				b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes([]byte(m.ALPN)) })
			})
		})
	}
	if m.ServerNameAck {
		helloAddExtension(b, ExtServerName, func(*Builder) {})
	}
	if len(m.PointFormats) > 0 {
		helloAddExtension(b, ExtECPointFormats, func(b *Builder) {
			b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(m.PointFormats) })
		})
	}
	if m.SupportedVersion != 0 {
		helloAddExtension(b, ExtSupportedVersions, func(b *Builder) { b.AddUint16(m.SupportedVersion) })
	}
	if m.KeyShare.Group != 0 {
		helloAddExtension(b, ExtKeyShare, func(b *Builder) {
			b.AddUint16(m.KeyShare.Group)
			b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.KeyShare.Data) })
		})
	}
	if m.SelectedGroup != 0 {
		helloAddExtension(b, ExtKeyShare, func(b *Builder) { b.AddUint16(m.SelectedGroup) })
	}
	if len(m.Cookie) > 0 {
		helloAddExtension(b, ExtCookie, func(b *Builder) {
			b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(m.Cookie) })
		})
	}
	if m.HasSelectedPSK {
		helloAddExtension(b, ExtPreSharedKey, func(b *Builder) { b.AddUint16(m.SelectedPSK) })
	}
}

// Unmarshal decodes msg, a complete ServerHello (or HelloRetryRequest)
// handshake message including its header, into m, replacing all of m. On
// failure it returns a *Error. m keeps no reference to msg.
func (m *ServerHello) Unmarshal(msg []byte) error {
	*m = ServerHello{}
	// As in ClientHello.Unmarshal: one private copy backs the fields.
	msg = bytes.Clone(msg)
	body, err := helloPrefix(msg, TypeServerHello, "ServerHello", &m.Vers, &m.Random, &m.SessionID)
	if err != nil {
		return err
	}
	if !body.ReadUint16(&m.CipherSuite) {
		return decodeErr("ServerHello.cipher_suite")
	}
	if !body.ReadUint8(&m.CompressionMethod) {
		return decodeErr("ServerHello.legacy_compression_method")
	}
	if body.Empty() {
		return nil
	}
	var exts cryptobyte.String
	if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return decodeErr("ServerHello.extensions")
	}
	// The HelloRetryRequest form changes what key_share holds and allows a
	// cookie (RFC 8446, Sections 4.1.4 and 4.2.8).
	hrr := m.IsHelloRetryRequest()
	var seen helloSeenSet
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return decodeErr("ServerHello.extensions")
		}
		if seen.addDuplicate(typ) {
			return illegalErr(serverHelloField(typ))
		}
		m.Extensions = append(m.Extensions, typ)
		if err := m.unmarshalExtension(typ, data, hrr); err != nil {
			return err
		}
	}
	return nil
}

func (m *ServerHello) unmarshalExtension(typ uint16, data cryptobyte.String, hrr bool) error {
	switch typ {
	case ExtRenegotiationInfo:
		// RFC 5746, Section 3.2: renegotiated_connection<0..255>.
		var conn cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&conn) || !data.Empty() {
			return decodeErr(serverHelloField(typ))
		}
		m.SecureRenegotiationSupported = true
		m.SecureRenegotiation = helloField(conn)
		return nil
	case ExtExtendedMasterSecret:
		m.ExtendedMasterSecret = true
	case ExtEncryptThenMAC:
		m.EncryptThenMAC = true
	case ExtSessionTicket:
		// RFC 5077, Section 3.2: the server's extension is empty.
		m.TicketSupported = true
	case ExtServerName:
		// RFC 6066, Section 3: the server's extension_data SHALL be empty.
		m.ServerNameAck = true
	case ExtALPN:
		// RFC 7301, Section 3.1: the server's list holds exactly one name.
		var list, proto cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() ||
			!list.ReadUint8LengthPrefixed(&proto) || proto.Empty() {
			return decodeErr(serverHelloField(typ))
		}
		if !list.Empty() {
			// Well formed, but a second protocol is forbidden.
			var next cryptobyte.String
			for !list.Empty() {
				if !list.ReadUint8LengthPrefixed(&next) || next.Empty() {
					return decodeErr(serverHelloField(typ))
				}
			}
			return illegalErr(serverHelloField(typ))
		}
		m.ALPN = string(proto)
		return nil
	case ExtECPointFormats:
		var list cryptobyte.String
		if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || list.Empty() {
			return decodeErr(serverHelloField(typ))
		}
		m.PointFormats = helloAlias(list)
		return nil
	case ExtSupportedVersions:
		// RFC 8446, Section 4.2.1: ServerHello carries one selected_version.
		if !data.ReadUint16(&m.SupportedVersion) || !data.Empty() {
			return decodeErr(serverHelloField(typ))
		}
		if m.SupportedVersion == 0 {
			// 0 stands for "absent" in the struct and is no TLS version:
			// a version the client did not offer is illegal_parameter.
			return illegalErr(serverHelloField(typ))
		}
		return nil
	case ExtKeyShare:
		return m.unmarshalKeyShare(data, hrr)
	case ExtCookie:
		// RFC 8446, Section 4.2: a recognised extension in a message it is
		// not specified for is illegal_parameter; cookie belongs to HRR.
		if !hrr {
			return illegalErr(serverHelloField(typ))
		}
		var cookie cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&cookie) || !data.Empty() || cookie.Empty() {
			return decodeErr(serverHelloField(typ))
		}
		m.Cookie = helloAlias(cookie)
		return nil
	case ExtPreSharedKey:
		// RFC 8446, Section 4.2.11: uint16 selected_identity.
		if !data.ReadUint16(&m.SelectedPSK) || !data.Empty() {
			return decodeErr(serverHelloField(typ))
		}
		m.HasSelectedPSK = true
		return nil
	default:
		// Unknown: recorded by the caller, judged by the handshake (RFC
		// 8446, Section 4.2: the client must have offered it).
		return nil
	}
	// The remaining known extensions have empty extension_data.
	if !data.Empty() {
		return decodeErr(serverHelloField(typ))
	}
	return nil
}

// unmarshalKeyShare decodes a server's key_share (RFC 8446, Section 4.2.8):
// a NamedGroup selected_group in a HelloRetryRequest, one KeyShareEntry in a
// ServerHello.
func (m *ServerHello) unmarshalKeyShare(data cryptobyte.String, hrr bool) error {
	if hrr {
		if !data.ReadUint16(&m.SelectedGroup) || !data.Empty() {
			return decodeErr(serverHelloField(ExtKeyShare))
		}
		if m.SelectedGroup == 0 {
			// 0 stands for "absent" and is no named group; a group the
			// client did not offer is illegal_parameter.
			return illegalErr(serverHelloField(ExtKeyShare))
		}
		return nil
	}
	var keyExchange cryptobyte.String
	if !data.ReadUint16(&m.KeyShare.Group) || !data.ReadUint16LengthPrefixed(&keyExchange) ||
		!data.Empty() || keyExchange.Empty() {
		return decodeErr(serverHelloField(ExtKeyShare))
	}
	if m.KeyShare.Group == 0 {
		return illegalErr(serverHelloField(ExtKeyShare))
	}
	m.KeyShare.Data = helloAlias(keyExchange)
	return nil
}

// helloBody checks the four-byte handshake header (RFC 8446, Section 4) and
// returns the body, which must fill the rest of msg exactly.
func helloBody(msg []byte, typ uint8, field string) (cryptobyte.String, error) {
	s := cryptobyte.String(msg)
	var gotType uint8
	var body cryptobyte.String
	if !s.ReadUint8(&gotType) || gotType != typ || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() {
		return nil, decodeErr(field)
	}
	return body, nil
}

// uint16Arena hands out the uint16 lists of one hello (cipher suites,
// groups, signature algorithms, versions, extension types) from one array,
// so that decoding them costs one allocation; a list that does not fit in
// what is left gets an array of its own. Each list is cut to its length,
// so appending to one cannot overwrite the next.
type uint16Arena struct{ buf []uint16 }

// uint16ArenaSize covers the lists of every common ClientHello.
const uint16ArenaSize = 160

func (a *uint16Arena) take(n int) []uint16 {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]uint16, 0, max(n, uint16ArenaSize))
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// reserve returns an empty list with room for n values.
func (a *uint16Arena) reserve(n int) []uint16 { return a.take(n)[:0] }

// list decodes a list of uint16 values. It returns nil for an empty
// list or one of odd length, which callers reject.
func (a *uint16Arena) list(list cryptobyte.String) []uint16 {
	if list.Empty() || len(list)%2 != 0 {
		return nil
	}
	out := a.take(len(list) / 2)
	for i := range out {
		list.ReadUint16(&out[i])
	}
	return out
}

func helloAddUint16s(b *Builder, values []uint16) {
	for _, v := range values {
		b.AddUint16(v)
	}
}

// helloAddExtension appends one Extension (RFC 8446, Section 4.2).
func helloAddExtension(b *Builder, typ uint16, data func(*Builder)) {
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(data)
}

// helloClone copies b, turning an empty slice into nil so that a decoded
// empty field compares equal to an unset one.
func helloClone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// helloAlias returns b, part of the decoder's private copy of a message,
// with its capacity cut to its length so that appending to one field
// cannot overwrite the next.
func helloAlias(b []byte) []byte { return b[:len(b):len(b)] }

// helloField is helloAlias, turning an empty slice into nil as helloClone
// does.
func helloField(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return helloAlias(b)
}

// helloSeenSet records the extension types met so far, one bit per type, so
// duplicate detection costs no allocation and no quadratic scan however
// many extensions a peer sends.
type helloSeenSet [1 << 16 / 64]uint64

// addDuplicate marks typ as seen and reports whether it already was.
func (s *helloSeenSet) addDuplicate(typ uint16) bool {
	word, bit := typ/64, uint64(1)<<(typ%64)
	dup := s[word]&bit != 0
	s[word] |= bit
	return dup
}
