// Package sslsession encodes and decodes OpenSSL's serialized session, the
// DER that i2d_SSL_SESSION writes and d2i_SSL_SESSION reads (seeds 001 and
// 004; ssl/ssl_asn1.c in OpenSSL 1.1.1 and 3.x). The same bytes are the
// body of an "SSL SESSION PARAMETERS" PEM file (openssl s_client -sess_out)
// and the state that nginx, HAProxy and every other OpenSSL-based server
// seal inside their RFC 5077 session tickets.
//
// The layout, in ASN.1, with the field each tag holds:
//
//	SSLSession ::= SEQUENCE {
//	    version                INTEGER,        -- always 1
//	    sslVersion             INTEGER,        -- 0x0303 TLS 1.2, 0x0304 TLS 1.3
//	    cipher                 OCTET STRING,   -- the 2-byte cipher suite
//	    sessionID              OCTET STRING,   -- at most 32 bytes
//	    masterKey              OCTET STRING,   -- TLS 1.2 master secret; TLS 1.3 resumption PSK
//	    keyArg             [0] IMPLICIT OCTET STRING OPTIONAL,  -- SSLv2, never written now
//	    time               [1] EXPLICIT INTEGER OPTIONAL,       -- Unix seconds
//	    timeout            [2] EXPLICIT INTEGER OPTIONAL,       -- seconds
//	    peer               [3] EXPLICIT Certificate OPTIONAL,   -- the peer's leaf only
//	    sessionIDContext   [4] EXPLICIT OCTET STRING OPTIONAL,
//	    verifyResult       [5] EXPLICIT INTEGER OPTIONAL,       -- X509_V_OK is 0
//	    hostName           [6] EXPLICIT OCTET STRING OPTIONAL,  -- SNI
//	    pskIdentityHint    [7] EXPLICIT OCTET STRING OPTIONAL,
//	    pskIdentity        [8] EXPLICIT OCTET STRING OPTIONAL,
//	    ticketLifetimeHint [9] EXPLICIT INTEGER OPTIONAL,
//	    ticket            [10] EXPLICIT OCTET STRING OPTIONAL,  -- a client's ticket
//	    compressionID     [11] EXPLICIT OCTET STRING OPTIONAL,
//	    srpUsername       [12] EXPLICIT OCTET STRING OPTIONAL,
//	    flags             [13] EXPLICIT INTEGER OPTIONAL,       -- 1: extended master secret
//	    ticketAgeAdd      [14] EXPLICIT INTEGER OPTIONAL,
//	    maxEarlyData      [15] EXPLICIT INTEGER OPTIONAL,
//	    alpnSelected      [16] EXPLICIT OCTET STRING OPTIONAL,
//	    maxFragmentLenMode [17] EXPLICIT INTEGER OPTIONAL,
//	    ticketAppData     [18] EXPLICIT OCTET STRING OPTIONAL,
//	    kexGroup          [19] EXPLICIT INTEGER OPTIONAL,       -- 3.x: written even when 0
//	    peerRPK           [20] EXPLICIT OCTET STRING OPTIONAL   -- 3.2+: raw public key
//	}
//
// OpenSSL leaves out the integers of tags 1, 2, 5, 9 and 13 to 17 when they
// are zero, and octet strings that are unset (but it always writes tag 4,
// empty or not). Unmarshal keeps what was present, so Marshal writes a
// session OpenSSL produced back byte for byte. Context tags above 20, which
// a later OpenSSL may add, are kept as they are and written back.
//
// Unmarshal's input may come from a ticket, which is attacker-controlled
// once its MAC has been forged or its key leaked: it is strict DER,
// bounded by its input, and never panics.
package sslsession

import (
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// ASN1Version is SSL_SESSION_ASN1_VERSION, the first field of every
// encoding; d2i_SSL_SESSION refuses any other.
const ASN1Version = 1

// FlagExtendedMasterSecret is SSL_SESS_FLAG_EXTMS: the session's master
// secret was made with RFC 7627's extended master secret.
const FlagExtendedMasterSecret = 0x1

// Limits d2i_SSL_SESSION enforces (SSL3_MAX_SSL_SESSION_ID_LENGTH,
// TLS13_MAX_RESUMPTION_PSK_LENGTH, SSL_MAX_SID_CTX_LENGTH). Marshal and
// Unmarshal enforce them too, so that nothing we write is refused by
// OpenSSL and nothing we accept would have been.
const (
	MaxSessionIDLen = 32
	MaxMasterKeyLen = 64
	MaxSIDCtxLen    = 32
)

// Session is one SSL_SESSION, field for field. An octet-string field that
// is nil was absent; a non-nil empty slice was present and empty (OpenSSL
// writes an empty session ID context that way). Integer fields at zero are
// absent, as OpenSSL writes them, except KexGroup, which has HasKexGroup.
type Session struct {
	SSLVersion uint16 // protocol version: 0x0303 TLS 1.2, 0x0304 TLS 1.3
	Cipher     uint16 // cipher suite, as on the wire
	SessionID  []byte
	MasterKey  []byte

	KeyArg             []byte // [0], SSLv2's key argument; tolerated
	Time               int64  // [1] Unix seconds when the session (TLS 1.3: ticket) was made
	Timeout            int64  // [2] seconds after Time the session may be resumed
	Peer               []byte // [3] peer's certificate (DER), leaf only
	SIDCtx             []byte // [4] session ID context
	VerifyResult       int32  // [5] X509_V_OK (0) when the peer's chain verified
	Hostname           []byte // [6] server name (SNI)
	PSKIdentityHint    []byte // [7]
	PSKIdentity        []byte // [8]
	TicketLifetimeHint uint64 // [9] seconds
	Ticket             []byte // [10] the ticket a client offers
	CompID             []byte // [11] compression method, one byte
	SRPUsername        []byte // [12]
	Flags              uint64 // [13] FlagExtendedMasterSecret, ...
	TicketAgeAdd       uint32 // [14] TLS 1.3 ticket_age_add
	MaxEarlyData       uint32 // [15] TLS 1.3 max_early_data_size
	ALPN               []byte // [16] selected application protocol
	MaxFragmentLenMode uint32 // [17] RFC 6066 max_fragment_length code
	TicketAppData      []byte // [18] SSL_SESSION_set1_ticket_appdata
	KexGroup           uint32 // [19] key exchange group (3.x)
	HasKexGroup        bool   // [19] was present (3.x writes it even when 0)
	PeerRPK            []byte // [20] peer's raw public key (3.2+)

	// Unknown holds the elements of context tags above 20, each a whole
	// DER element, in order: a later OpenSSL's fields, carried through.
	Unknown [][]byte
}

// lastKnownTag is the highest context tag this package interprets.
const lastKnownTag = 20

// Error says what is wrong with an encoding.
type Error struct {
	Field string // the ASN.1 field (as named in the package comment)
	Msg   string
}

func (e *Error) Error() string { return "sslsession: " + e.Field + ": " + e.Msg }

// ErrMalformed is what every decoding Error matches with errors.Is.
var ErrMalformed = errors.New("sslsession: malformed SSL_SESSION")

func (e *Error) Is(target error) bool { return target == ErrMalformed }

func bad(field, format string, args ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func explicit(n int) asn1.Tag { return asn1.Tag(n).Constructed().ContextSpecific() }

// Unmarshal decodes one DER SSL_SESSION. The whole input must be that one
// SEQUENCE. The result shares no memory with data.
func Unmarshal(data []byte) (*Session, error) {
	in := cryptobyte.String(data)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) {
		return nil, bad("SSLSession", "not a DER SEQUENCE")
	}
	if !in.Empty() {
		return nil, bad("SSLSession", "%d bytes after the SEQUENCE", len(in))
	}
	s := new(Session)
	var version int64
	if !seq.ReadASN1Integer(&version) {
		return nil, bad("version", "not an INTEGER")
	}
	if version != ASN1Version {
		return nil, bad("version", "%d, want %d", version, ASN1Version)
	}
	var sslVersion int64
	if !seq.ReadASN1Integer(&sslVersion) {
		return nil, bad("sslVersion", "not an INTEGER")
	}
	if sslVersion < 0 || sslVersion > math.MaxUint16 {
		return nil, bad("sslVersion", "%#x is not a protocol version", sslVersion)
	}
	s.SSLVersion = uint16(sslVersion)
	var cipher []byte
	if !seq.ReadASN1Bytes(&cipher, asn1.OCTET_STRING) {
		return nil, bad("cipher", "not an OCTET STRING")
	}
	if len(cipher) != 2 {
		return nil, bad("cipher", "%d bytes, want 2", len(cipher))
	}
	s.Cipher = uint16(cipher[0])<<8 | uint16(cipher[1])
	if !readOctets(&seq, &s.SessionID, "sessionID") || !readOctets(&seq, &s.MasterKey, "masterKey") {
		return nil, bad("sessionID/masterKey", "not an OCTET STRING")
	}

	last := -1
	for !seq.Empty() {
		var elem cryptobyte.String
		var tag asn1.Tag
		if !seq.ReadAnyASN1Element(&elem, &tag) {
			return nil, bad("SSLSession", "truncated element after tag [%d]", last)
		}
		if tag&0xc0 != 0x80 {
			return nil, bad("SSLSession", "element with tag %#x where only context tags may follow", uint8(tag))
		}
		n := int(tag & 0x1f)
		// DER SEQUENCE members come in definition order: each tag at most
		// once, ascending.
		if n <= last {
			return nil, bad("SSLSession", "tag [%d] after [%d]", n, last)
		}
		last = n
		if n > lastKnownTag {
			s.Unknown = append(s.Unknown, clone(elem))
			continue
		}
		if err := s.decodeField(n, tag, elem); err != nil {
			return nil, err
		}
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

func readOctets(s *cryptobyte.String, out *[]byte, field string) bool {
	var b []byte
	if !s.ReadASN1Bytes(&b, asn1.OCTET_STRING) {
		return false
	}
	*out = present(b)
	return true
}

// present returns a copy of b that is non-nil even when empty.
func present(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return present(b)
}

// fieldNames names the context tags in errors.
var fieldNames = [lastKnownTag + 1]string{
	"keyArg", "time", "timeout", "peer", "sessionIDContext", "verifyResult",
	"hostName", "pskIdentityHint", "pskIdentity", "ticketLifetimeHint", "ticket",
	"compressionID", "srpUsername", "flags", "ticketAgeAdd", "maxEarlyData",
	"alpnSelected", "maxFragmentLenMode", "ticketAppData", "kexGroup", "peerRPK",
}

// decodeField decodes the element of context tag n into s.
func (s *Session) decodeField(n int, tag asn1.Tag, elem cryptobyte.String) error {
	name := fieldNames[n]
	if n == 0 {
		// keyArg is IMPLICIT: a primitive [0] holding the octets.
		var b []byte
		if !elem.ReadASN1Bytes(&b, asn1.Tag(0).ContextSpecific()) {
			return bad(name, "not a primitive [0]")
		}
		s.KeyArg = present(b)
		return nil
	}
	var inner cryptobyte.String
	if !elem.ReadASN1(&inner, explicit(n)) {
		return bad(name, "not a constructed [%d]", n)
	}
	switch n {
	case 3:
		var cert cryptobyte.String
		if !inner.ReadASN1Element(&cert, asn1.SEQUENCE) || !inner.Empty() {
			return bad(name, "not one certificate SEQUENCE")
		}
		s.Peer = present(cert)
		return nil
	case 1, 2:
		var v int64
		if !inner.ReadASN1Integer(&v) || !inner.Empty() {
			return bad(name, "not one INTEGER")
		}
		if n == 1 {
			s.Time = v
		} else {
			s.Timeout = v
		}
		return nil
	case 5:
		var v int64
		if !inner.ReadASN1Integer(&v) || !inner.Empty() || v < math.MinInt32 || v > math.MaxInt32 {
			return bad(name, "not one 32-bit INTEGER")
		}
		s.VerifyResult = int32(v)
		return nil
	case 9, 13:
		var v uint64
		if !inner.ReadASN1Integer(&v) || !inner.Empty() {
			return bad(name, "not one unsigned 64-bit INTEGER")
		}
		if n == 9 {
			s.TicketLifetimeHint = v
		} else {
			s.Flags = v
		}
		return nil
	case 14, 15, 17, 19:
		var v uint64
		if !inner.ReadASN1Integer(&v) || !inner.Empty() || v > math.MaxUint32 {
			return bad(name, "not one unsigned 32-bit INTEGER")
		}
		switch n {
		case 14:
			s.TicketAgeAdd = uint32(v)
		case 15:
			s.MaxEarlyData = uint32(v)
		case 17:
			s.MaxFragmentLenMode = uint32(v)
		case 19:
			s.KexGroup, s.HasKexGroup = uint32(v), true
		}
		return nil
	}
	// The rest are octet strings.
	var b []byte
	if !inner.ReadASN1Bytes(&b, asn1.OCTET_STRING) || !inner.Empty() {
		return bad(name, "not one OCTET STRING")
	}
	*s.octetField(n) = present(b)
	return nil
}

// octetField returns the field of an octet-string context tag.
func (s *Session) octetField(n int) *[]byte {
	switch n {
	case 4:
		return &s.SIDCtx
	case 6:
		return &s.Hostname
	case 7:
		return &s.PSKIdentityHint
	case 8:
		return &s.PSKIdentity
	case 10:
		return &s.Ticket
	case 11:
		return &s.CompID
	case 12:
		return &s.SRPUsername
	case 16:
		return &s.ALPN
	case 18:
		return &s.TicketAppData
	case 20:
		return &s.PeerRPK
	}
	panic("sslsession: no octet-string field for tag " + fmt.Sprint(n))
}

// check applies d2i_SSL_SESSION's length limits.
func (s *Session) check() error {
	switch {
	case len(s.SessionID) > MaxSessionIDLen:
		return bad("sessionID", "%d bytes, at most %d", len(s.SessionID), MaxSessionIDLen)
	case len(s.MasterKey) > MaxMasterKeyLen:
		return bad("masterKey", "%d bytes, at most %d", len(s.MasterKey), MaxMasterKeyLen)
	case len(s.SIDCtx) > MaxSIDCtxLen:
		return bad("sessionIDContext", "%d bytes, at most %d", len(s.SIDCtx), MaxSIDCtxLen)
	case s.CompID != nil && len(s.CompID) != 1:
		return bad("compressionID", "%d bytes, want 1", len(s.CompID))
	}
	if s.Peer != nil {
		in := cryptobyte.String(s.Peer)
		var cert cryptobyte.String
		if !in.ReadASN1Element(&cert, asn1.SEQUENCE) || !in.Empty() {
			return bad("peer", "not one certificate SEQUENCE")
		}
	}
	return nil
}

// Marshal encodes s as DER, the way i2d_SSL_SESSION does: the fields in
// tag order, zero integers and nil octet strings left out.
func (s *Session) Marshal() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	last := lastKnownTag
	for _, u := range s.Unknown {
		in := cryptobyte.String(u)
		var tag asn1.Tag
		var body cryptobyte.String
		if !in.ReadAnyASN1Element(&body, &tag) || !in.Empty() || tag&0xc0 != 0x80 || int(tag&0x1f) <= last {
			return nil, bad("SSLSession", "Unknown must hold whole context elements above [%d], in ascending tag order", lastKnownTag)
		}
		last = int(tag & 0x1f)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 160+len(s.Peer)+len(s.Ticket)))
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Uint64(ASN1Version)
		b.AddASN1Uint64(uint64(s.SSLVersion))
		b.AddASN1OctetString([]byte{byte(s.Cipher >> 8), byte(s.Cipher)})
		b.AddASN1OctetString(s.SessionID)
		b.AddASN1OctetString(s.MasterKey)
		if s.KeyArg != nil {
			b.AddASN1(asn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(s.KeyArg) })
		}
		addInt := func(n int, v int64) {
			if v != 0 {
				b.AddASN1(explicit(n), func(b *cryptobyte.Builder) { b.AddASN1Int64(v) })
			}
		}
		addUint := func(n int, v uint64) {
			if v != 0 {
				b.AddASN1(explicit(n), func(b *cryptobyte.Builder) { b.AddASN1Uint64(v) })
			}
		}
		addOctets := func(n int, v []byte) {
			if v != nil {
				b.AddASN1(explicit(n), func(b *cryptobyte.Builder) { b.AddASN1OctetString(v) })
			}
		}
		addInt(1, s.Time)
		addInt(2, s.Timeout)
		if s.Peer != nil {
			b.AddASN1(explicit(3), func(b *cryptobyte.Builder) { b.AddBytes(s.Peer) })
		}
		addOctets(4, s.SIDCtx)
		addInt(5, int64(s.VerifyResult))
		addOctets(6, s.Hostname)
		addOctets(7, s.PSKIdentityHint)
		addOctets(8, s.PSKIdentity)
		addUint(9, s.TicketLifetimeHint)
		addOctets(10, s.Ticket)
		addOctets(11, s.CompID)
		addOctets(12, s.SRPUsername)
		addUint(13, s.Flags)
		addUint(14, uint64(s.TicketAgeAdd))
		addUint(15, uint64(s.MaxEarlyData))
		addOctets(16, s.ALPN)
		addUint(17, uint64(s.MaxFragmentLenMode))
		addOctets(18, s.TicketAppData)
		if s.HasKexGroup {
			b.AddASN1(explicit(19), func(b *cryptobyte.Builder) { b.AddASN1Uint64(uint64(s.KexGroup)) })
		}
		addOctets(20, s.PeerRPK)
		for _, u := range s.Unknown {
			b.AddBytes(u)
		}
	})
	return b.Bytes()
}
