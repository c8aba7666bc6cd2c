package reprise

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/reprise-tls/reprise/internal/wire"
)

// Session is the resumable state of a connection: OpenSSL's SSL_SESSION.
// A Session is immutable once made and safe to share between goroutines.
// It holds a master secret (TLS 1.2) or a resumption PSK (TLS 1.3): treat
// it, and anything it is marshalled into, as a key.
type Session struct {
	version     uint16
	cipherSuite uint16
	secret      []byte // TLS 1.2 master secret; TLS 1.3 resumption PSK
	ems         bool   // RFC 7627 extended master secret was used
	etm         bool   // RFC 7366 encrypt-then-MAC was used
	verified    bool   // peer certificates were verified when the session was made
	id          []byte // TLS 1.2 session ID
	idContext   []byte // server's session ID context when the session was made
	created     time.Time
	lifetime    time.Duration
	serverName  string
	alpn        string
	peerCerts   [][]byte // DER, leaf first; a server keeps only the leaf (clientLeafOnly)
	ageAdd      uint32   // TLS 1.3 ticket_age_add
	maxEarly    uint32   // TLS 1.3 max_early_data_size
	ticket      []byte   // client side: the ticket (TLS 1.2) or PSK identity (TLS 1.3) to offer
	isClient    bool     // a client's view of the session (it carries a ticket, not a cache key)

	// certs is peerCerts parsed, when the session was made by a handshake
	// in this process; decoded sessions parse on demand.
	certs []*x509.Certificate
	// nameChecked: the client connection that made the session, in this
	// process, checked the leaf against serverName. Not encoded: a
	// decoded session is checked afresh (serverStillTrusted).
	nameChecked bool

	// Extra is application data carried with the session, as crypto/tls's
	// SessionState.Extra. It is sealed into tickets: keep it small.
	Extra []byte
}

// clientLeafOnly is what a server keeps of a client's certificate chain in
// the sessions it caches and seals into tickets: the leaf alone, verified
// or not. Resumption needs no more: the checks a resumed handshake makes
// in place of verification (clientAuthSatisfiedBy) read only the leaf's
// validity, and ConnectionState.PeerCertificates of a resumed connection
// shows the leaf. Keeping the chain would let clients that send long
// chains pin their size in the cache for a session's lifetime. The leaf
// gets slices of its own, so that nothing of the rest of the chain stays
// reachable through it.
func clientLeafOnly(chain [][]byte, certs []*x509.Certificate) ([][]byte, []*x509.Certificate) {
	if len(chain) == 0 {
		return nil, nil
	}
	leaf := [][]byte{chain[0]}
	if len(certs) == 0 || len(chain) != len(certs) {
		return leaf, nil // parsed on demand by PeerCertificates
	}
	return leaf, []*x509.Certificate{certs[0]}
}

// Version returns the protocol version the session was made with.
func (s *Session) Version() uint16 { return s.version }

// CipherSuite returns the session's cipher suite.
func (s *Session) CipherSuite() uint16 { return s.cipherSuite }

// ID returns the TLS 1.2 session ID (empty for ticket-only sessions).
func (s *Session) ID() []byte { return s.id }

// IDContext returns the session ID context the server bound the session to.
func (s *Session) IDContext() []byte { return s.idContext }

// Created returns when the session was made (for a TLS 1.3 client: when the
// ticket arrived).
func (s *Session) Created() time.Time { return s.created }

// Lifetime returns how long after Created the session may be resumed.
func (s *Session) Lifetime() time.Duration { return s.lifetime }

// Expired reports whether the session may no longer be resumed at now.
func (s *Session) Expired(now time.Time) bool {
	return !now.Before(s.created.Add(s.lifetime)) || now.Before(s.created.Add(-time.Minute))
}

// ServerName returns the SNI the session was made for.
func (s *Session) ServerName() string { return s.serverName }

// ALPN returns the application protocol negotiated with the session.
func (s *Session) ALPN() string { return s.alpn }

// ExtendedMasterSecret reports whether the session used RFC 7627.
func (s *Session) ExtendedMasterSecret() bool { return s.ems }

// HasTicket reports whether a client session carries a ticket to offer.
func (s *Session) HasTicket() bool { return len(s.ticket) > 0 }

// PeerCertificates returns the peer's certificate chain.
func (s *Session) PeerCertificates() ([]*x509.Certificate, error) {
	if len(s.certs) == len(s.peerCerts) {
		return s.certs, nil
	}
	var out []*x509.Certificate
	for _, der := range s.peerCerts {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// leafValidAt returns the peer's leaf certificate and whether it is still
// within its validity at now: what resumption checks, on both sides, in
// place of the verification the full handshake would repeat.
func (s *Session) leafValidAt(now time.Time) (*x509.Certificate, bool) {
	certs, err := s.PeerCertificates()
	if err != nil || len(certs) == 0 {
		return nil, false
	}
	return certs[0], !now.After(certs[0].NotAfter)
}

// sessionFormat is the first field of every encoded Session. Bump it when
// the layout changes; old encodings then fail to decode and their tickets
// simply cause a full handshake.
const sessionFormat = 1

// MarshalBinary encodes the session:
//
//	struct {
//	    uint16 format = 1;
//	    uint8  flags;             // 1 ems, 2 etm, 4 verified, 8 client
//	    uint16 version;
//	    uint16 cipher_suite;
//	    uint64 created;           // Unix seconds
//	    uint32 lifetime;          // seconds
//	    uint32 age_add;
//	    uint32 max_early_data;
//	    opaque secret<1..2^8-1>;
//	    opaque session_id<0..32>;
//	    opaque id_context<0..2^8-1>;
//	    opaque server_name<0..2^8-1>;
//	    opaque alpn<0..2^8-1>;
//	    opaque ticket<0..2^16-1>;
//	    opaque certificate_list<0..2^24-1>;  // each opaque cert<1..2^24-1>
//	    opaque extra<0..2^16-1>;
//	} Session;
func (s *Session) MarshalBinary() ([]byte, error) {
	return s.marshal(true)
}

// marshal encodes s; withTicket false leaves out the client's ticket (a
// server sealing a session into a ticket has none).
func (s *Session) marshal(withTicket bool) ([]byte, error) {
	var flags uint8
	if s.ems {
		flags |= 1
	}
	if s.etm {
		flags |= 2
	}
	if s.verified {
		flags |= 4
	}
	if s.isClient {
		flags |= 8
	}
	b := wire.NewFixedBuilder(make([]byte, 0, 96+len(s.secret)+len(s.ticket)+len(s.serverName)+certsLen(s.peerCerts)+len(s.Extra)))
	b.AddUint16(sessionFormat)
	b.AddUint8(flags)
	b.AddUint16(s.version)
	b.AddUint16(s.cipherSuite)
	b.AddUint64(uint64(s.created.Unix()))
	b.AddUint32(uint32(s.lifetime / time.Second))
	b.AddUint32(s.ageAdd)
	b.AddUint32(s.maxEarly)
	addU8 := func(v []byte) { b.AddUint8LengthPrefixed(func(b *wire.Builder) { b.AddBytes(v) }) }
	addU8(s.secret)
	addU8(s.id)
	addU8(s.idContext)
	addU8([]byte(s.serverName))
	addU8([]byte(s.alpn))
	ticket := s.ticket
	if !withTicket {
		ticket = nil
	}
	b.AddUint16LengthPrefixed(func(b *wire.Builder) { b.AddBytes(ticket) })
	b.AddUint24LengthPrefixed(func(b *wire.Builder) {
		for _, c := range s.peerCerts {
			b.AddUint24LengthPrefixed(func(b *wire.Builder) { b.AddBytes(c) })
		}
	})
	b.AddUint16LengthPrefixed(func(b *wire.Builder) { b.AddBytes(s.Extra) })
	return b.Bytes()
}

func certsLen(certs [][]byte) int {
	n := 0
	for _, c := range certs {
		n += 3 + len(c)
	}
	return n
}

var errBadSession = errors.New("tls: malformed session encoding")

// UnmarshalBinary decodes an encoding made by MarshalBinary. The input may
// come from a ticket, so every length is checked.
func (s *Session) UnmarshalBinary(data []byte) error {
	in := cryptobyte.String(data)
	var format uint16
	var flags uint8
	var created uint64
	var lifetime uint32
	var secret, id, idc, sni, alpn, ticket, certs, extra cryptobyte.String
	if !in.ReadUint16(&format) || format != sessionFormat ||
		!in.ReadUint8(&flags) ||
		!in.ReadUint16(&s.version) ||
		!in.ReadUint16(&s.cipherSuite) ||
		!in.ReadUint64(&created) ||
		!in.ReadUint32(&lifetime) ||
		!in.ReadUint32(&s.ageAdd) ||
		!in.ReadUint32(&s.maxEarly) ||
		!in.ReadUint8LengthPrefixed(&secret) || len(secret) == 0 ||
		!in.ReadUint8LengthPrefixed(&id) || len(id) > 32 ||
		!in.ReadUint8LengthPrefixed(&idc) ||
		!in.ReadUint8LengthPrefixed(&sni) ||
		!in.ReadUint8LengthPrefixed(&alpn) ||
		!in.ReadUint16LengthPrefixed(&ticket) ||
		!in.ReadUint24LengthPrefixed(&certs) ||
		!in.ReadUint16LengthPrefixed(&extra) ||
		!in.Empty() || created > 1<<62 || flags&^0x0f != 0 {
		return errBadSession
	}
	s.peerCerts = nil
	for !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadUint24LengthPrefixed(&c) || len(c) == 0 {
			return errBadSession
		}
		s.peerCerts = append(s.peerCerts, clone(c))
	}
	s.ems, s.etm, s.verified, s.isClient = flags&1 != 0, flags&2 != 0, flags&4 != 0, flags&8 != 0
	s.created = time.Unix(int64(created), 0)
	s.lifetime = time.Duration(lifetime) * time.Second
	s.secret, s.id, s.idContext = clone(secret), clone(id), clone(idc)
	s.serverName, s.alpn = string(sni), string(alpn)
	s.ticket, s.Extra = clone(ticket), clone(extra)
	return nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// pemSessionType is the PEM block type of reprise's own session files.
const pemSessionType = "REPRISE SESSION"

// MarshalPEM encodes the session as a PEM block for `reprise connect
// --sess-out`. The file holds a secret: write it with mode 0600.
func (s *Session) MarshalPEM() ([]byte, error) {
	der, err := s.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSessionType, Bytes: der}), nil
}

// ParseSessionPEM decodes a session written by MarshalPEM, or an "SSL
// SESSION PARAMETERS" file from OpenSSL (see UnmarshalOpenSSLSession; its
// server name is the one recorded, if any).
func ParseSessionPEM(data []byte) (*Session, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("tls: no PEM block in session file")
	}
	if b.Type == PEMOpenSSLSessionType {
		return UnmarshalOpenSSLSession(b.Bytes, "")
	}
	if b.Type != pemSessionType {
		return nil, errors.New("tls: session file holds a " + b.Type + " block, want " + pemSessionType + " or " + PEMOpenSSLSessionType)
	}
	s := new(Session)
	if err := s.UnmarshalBinary(b.Bytes); err != nil {
		return nil, err
	}
	return s, nil
}
