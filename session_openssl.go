package reprise

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/reprise-tls/reprise/internal/sslsession"
)

// PEMOpenSSLSessionType is the PEM block type of OpenSSL's session files,
// as written by `openssl s_client -sess_out` and PEM_write_SSL_SESSION.
const PEMOpenSSLSessionType = "SSL SESSION PARAMETERS"

// OpenSSL's X509_V_ERR_APPLICATION_VERIFICATION, written as the verify
// result of a session whose peer certificate we did not verify, so that
// OpenSSL does not take it for X509_V_OK.
const x509ErrApplicationVerification = 50

// maxOpenSSLTimeout bounds the timeout we accept from an OpenSSL session
// (about 68 years), so that converting it to a time.Duration cannot
// overflow.
const maxOpenSSLTimeout = 1 << 31

var errOpenSSLSession = errors.New("tls: OpenSSL session")

// MarshalOpenSSL encodes the session as OpenSSL's DER SSL_SESSION, the
// encoding i2d_SSL_SESSION writes (see internal/sslsession for the ASN.1).
// The mapping:
//
//   - TLS 1.2: the master secret goes in master_key, the ticket (a
//     client's) in tlsext_tick with the lifetime as its hint, and extended
//     master secret in flags (SSL_SESS_FLAG_EXTMS).
//   - TLS 1.3: master_key holds the resumption PSK, the one derived from
//     the resumption master secret and the ticket's nonce (RFC 8446,
//     Section 4.6.1), which is what OpenSSL stores in both roles; with
//     ticket_age_add, max_early_data, and the ticket (a client's) as
//     tlsext_tick.
//   - both: time is Created, timeout is Lifetime, the peer's leaf
//     certificate (OpenSSL keeps no chain), the session ID context, the
//     server name, ALPN, and Extra as OpenSSL's ticket_appdata. A client
//     session with a ticket gets the session ID OpenSSL gives it,
//     SHA-256 of the ticket.
//
// Encrypt-then-MAC and the key exchange group are not recorded: OpenSSL
// has no field for the first and reprise does not keep the second.
//
// The result holds the session's secret: treat it as a key.
func (s *Session) MarshalOpenSSL() ([]byte, error) {
	o, err := s.openSSL(rand.Reader)
	if err != nil {
		return nil, err
	}
	return o.Marshal()
}

// MarshalOpenSSLPEM encodes the session as an "SSL SESSION PARAMETERS" PEM
// block, the file `openssl s_client -sess_in` resumes with and `openssl
// sess_id -text` prints. The file holds a secret: write it with mode 0600.
func (s *Session) MarshalOpenSSLPEM() ([]byte, error) {
	der, err := s.MarshalOpenSSL()
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMOpenSSLSessionType, Bytes: der}), nil
}

// UnmarshalOpenSSLSession decodes OpenSSL's DER SSL_SESSION (the body of
// an "SSL SESSION PARAMETERS" PEM file, from `openssl s_client -sess_out`
// or PEM_write_SSL_SESSION) as a client's session, to offer with
// Config.Session. Only TLS 1.2 and TLS 1.3 sessions are accepted.
//
// OpenSSL records the server name in a client's session only when the
// server acknowledged SNI, and reprise offers a TLS 1.3 session only for
// the name it was made for (RFC 8446, Section 4.6.1), so serverName
// stands in when the encoding has none; a name in the encoding wins. The
// peer certificate counts as verified when OpenSSL's verify result was
// X509_V_OK; the client still checks it against the name and the clock
// before it offers the session.
func UnmarshalOpenSSLSession(der []byte, serverName string) (*Session, error) {
	o, err := sslsession.Unmarshal(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errOpenSSLSession, err)
	}
	s, err := sessionFromOpenSSL(o, true)
	if err != nil {
		return nil, err
	}
	if s.version != VersionTLS12 && s.version != VersionTLS13 {
		return nil, fmt.Errorf("%w: protocol version %#04x; reprise resumes TLS 1.2 and TLS 1.3 sessions", errOpenSSLSession, s.version)
	}
	if len(s.ticket) == 0 && len(s.id) == 0 {
		return nil, fmt.Errorf("%w: neither a ticket nor a session ID to offer", errOpenSSLSession)
	}
	if s.serverName == "" {
		s.serverName = serverName
	}
	return s, nil
}

// ParseOpenSSLSessionPEM decodes an "SSL SESSION PARAMETERS" PEM file; see
// UnmarshalOpenSSLSession.
func ParseOpenSSLSessionPEM(data []byte, serverName string) (*Session, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("tls: no PEM block in session file")
	}
	if b.Type != PEMOpenSSLSessionType {
		return nil, errors.New("tls: session file holds a " + b.Type + " block, want " + PEMOpenSSLSessionType)
	}
	return UnmarshalOpenSSLSession(b.Bytes, serverName)
}

// sessionFromOpenSSL maps a decoded SSL_SESSION to a Session: a client's
// (from a session file) or a server's (from a ticket). It refuses what
// reprise could not resume correctly whatever the checks said: a secret
// of the wrong size, compression, a time that is not a time.
func sessionFromOpenSSL(o *sslsession.Session, client bool) (*Session, error) {
	s := &Session{
		version:     o.SSLVersion,
		cipherSuite: o.Cipher,
		secret:      clone(o.MasterKey),
		ems:         o.Flags&sslsession.FlagExtendedMasterSecret != 0,
		id:          clone(o.SessionID),
		idContext:   clone(o.SIDCtx),
		serverName:  string(o.Hostname),
		alpn:        string(o.ALPN),
		ageAdd:      o.TicketAgeAdd,
		maxEarly:    o.MaxEarlyData,
		isClient:    client,
		Extra:       clone(o.TicketAppData),
	}
	switch {
	case len(o.MasterKey) == 0:
		return nil, fmt.Errorf("%w: no master key", errOpenSSLSession)
	case o.SSLVersion == VersionTLS12 && len(o.MasterKey) != 48:
		// RFC 5246, Section 8.1: the master secret is 48 bytes.
		return nil, fmt.Errorf("%w: TLS 1.2 master key of %d bytes, want 48", errOpenSSLSession, len(o.MasterKey))
	case len(o.CompID) > 0 && o.CompID[0] != 0:
		return nil, fmt.Errorf("%w: uses TLS compression (method %d)", errOpenSSLSession, o.CompID[0])
	case o.Time <= 0 || o.Time > 1<<40:
		return nil, fmt.Errorf("%w: time %d is not a Unix time", errOpenSSLSession, o.Time)
	case o.Timeout <= 0 || o.Timeout > maxOpenSSLTimeout:
		// d2i_SSL_SESSION turns a missing timeout into 3 seconds; a session
		// that old is of no use to anyone.
		return nil, fmt.Errorf("%w: timeout %d s", errOpenSSLSession, o.Timeout)
	}
	if o.SSLVersion == VersionTLS13 {
		// RFC 8446, Section 4.6.1: the PSK is HKDF-Expand-Label output of
		// the suite's hash length.
		if suite := suiteByID(o.Cipher); suite != nil && suite.tls13 && len(o.MasterKey) != suite.hash.Size() {
			return nil, fmt.Errorf("%w: TLS 1.3 PSK of %d bytes for a %d-byte hash", errOpenSSLSession, len(o.MasterKey), suite.hash.Size())
		}
	}
	s.created = time.Unix(o.Time, 0)
	s.lifetime = time.Duration(o.Timeout) * time.Second
	if client {
		s.ticket = clone(o.Ticket)
		// A client keeps a ticket no longer than the server's lifetime hint
		// (RFC 5077, Section 3.3; RFC 8446, Section 4.6.1), as reprise's
		// own client does; OpenSSL's keeps its own timeout beside it.
		if len(s.ticket) > 0 && o.TicketLifetimeHint > 0 && o.TicketLifetimeHint < uint64(o.Timeout) {
			s.lifetime = time.Duration(o.TicketLifetimeHint) * time.Second
		}
		if o.SSLVersion == VersionTLS13 {
			s.lifetime = min(s.lifetime, maxTicketLifetime13)
		}
	}
	if o.Peer != nil {
		s.peerCerts = [][]byte{clone(o.Peer)}
		// X509_V_OK: OpenSSL verified the peer's chain.
		s.verified = o.VerifyResult == 0
	}
	return s, nil
}

// openSSL maps s to OpenSSL's fields (see MarshalOpenSSL). rand makes the
// session ID of a server's TLS 1.3 session, which OpenSSL's servers give
// every ticket they mint and need to treat a session as resumable.
func (s *Session) openSSL(rand io.Reader) (*sslsession.Session, error) {
	secs := int64(s.lifetime / time.Second)
	if s.lifetime%time.Second != 0 {
		secs++
	}
	o := &sslsession.Session{
		SSLVersion:    s.version,
		Cipher:        s.cipherSuite,
		SessionID:     clone(s.id),
		MasterKey:     clone(s.secret),
		Time:          s.created.Unix(),
		Timeout:       max(secs, 1),
		SIDCtx:        append([]byte{}, s.idContext...), // OpenSSL always writes it
		TicketAppData: clone(s.Extra),
	}
	if s.version == VersionTLS13 {
		o.TicketAgeAdd, o.MaxEarlyData = s.ageAdd, s.maxEarly
	}
	if s.ems {
		o.Flags |= sslsession.FlagExtendedMasterSecret
	}
	if len(s.peerCerts) > 0 {
		o.Peer = clone(s.peerCerts[0])
		if !s.verified {
			o.VerifyResult = x509ErrApplicationVerification
		}
	}
	if s.serverName != "" {
		o.Hostname = []byte(s.serverName)
	}
	if s.alpn != "" {
		o.ALPN = []byte(s.alpn)
	}
	switch {
	case s.isClient && len(s.ticket) > 0:
		o.Ticket = clone(s.ticket)
		o.TicketLifetimeHint = uint64(o.Timeout)
		// OpenSSL's client names a ticket session by the ticket's hash, and
		// offers that ID beside the ticket to recognise an accepted
		// resumption (RFC 5077, Section 3.4).
		id := sha256.Sum256(s.ticket)
		o.SessionID = id[:]
	case !s.isClient && s.version == VersionTLS13 && len(o.SessionID) == 0:
		o.SessionID = make([]byte, 32)
		if _, err := io.ReadFull(rand, o.SessionID); err != nil {
			return nil, err
		}
	}
	if len(o.SessionID) > sslsession.MaxSessionIDLen || len(o.SIDCtx) > sslsession.MaxSIDCtxLen || len(o.MasterKey) > sslsession.MaxMasterKeyLen {
		return nil, fmt.Errorf("%w: a field is longer than OpenSSL allows", errOpenSSLSession)
	}
	return o, nil
}
