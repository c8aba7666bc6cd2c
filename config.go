package reprise

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/reprise-tls/reprise/internal/diag"
)

// X509KeyPair parses a PEM certificate chain and a PEM private key
// (PKCS#8, PKCS#1 or SEC 1).
func X509KeyPair(certPEM, keyPEM []byte) (Certificate, error) {
	var cert Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			cert.Certificate = append(cert.Certificate, b.Bytes)
		}
	}
	if len(cert.Certificate) == 0 {
		return cert, errors.New("tls: no CERTIFICATE block in certificate PEM")
	}
	var keyDER *pem.Block
	for rest := keyPEM; ; {
		keyDER, rest = pem.Decode(rest)
		if keyDER == nil || keyDER.Type == "PRIVATE KEY" || keyDER.Type == "EC PRIVATE KEY" || keyDER.Type == "RSA PRIVATE KEY" {
			break
		}
	}
	if keyDER == nil {
		return cert, errors.New("tls: no private key block in key PEM")
	}
	key, err := parsePrivateKey(keyDER.Bytes)
	if err != nil {
		return cert, err
	}
	cert.PrivateKey = key
	if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
		return cert, fmt.Errorf("tls: parsing certificate: %w", err)
	}
	if !publicKeysEqual(cert.Leaf.PublicKey, key.Public()) {
		return cert, errors.New("tls: private key does not match the certificate's public key")
	}
	return cert, nil
}

// LoadX509KeyPair reads and parses a PEM certificate chain and key from files.
func LoadX509KeyPair(certFile, keyFile string) (Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return Certificate{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return Certificate{}, err
	}
	return X509KeyPair(certPEM, keyPEM)
}

func parsePrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, errors.New("tls: unsupported private key type")
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("tls: cannot parse private key (want PKCS#8, PKCS#1 or SEC 1)")
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}

// Config configures a client or a server. A Config may be shared by many
// connections and must not be modified after first use.
//
// The zero Config is usable, and every field's zero value means a default:
//
//	MinVersion, MaxVersion   TLS 1.2, TLS 1.3
//	CipherSuites             all of CipherSuites(): TLS 1.3, then TLS 1.2 AEAD, then CBC
//	CurvePreferences         X25519MLKEM768 (TLS 1.3 only), X25519, P-256, P-384
//	RootCAs                  the system roots
//	ExtendedMasterSecret     EMSPrefer: offered and accepted, not required
//	SessionCacheMode         SessionCacheServer: the server caches TLS 1.2 sessions by ID (those not sent as a ticket)
//	SessionStore             an in-memory cache of MaxCachedSessions entries
//	MaxCachedSessions        20480
//	SessionTimeout           300 seconds (OpenSSL's), for TLS 1.2 sessions and tickets
//	SessionTicketsDisabled   false: tickets on, in both versions and roles (off: TLS 1.3 stateful tickets while the cache is on)
//	TicketKeys, TicketSealer random keys per Config, rotated automatically
//	TicketLifetime           7 days, RFC 8446's maximum (TLS 1.3 sealed tickets; stateful ones SessionTimeout)
//	TicketsPerConnection     2 TLS 1.3 tickets after a full handshake (1 after a resumption)
//	MaxTicketAgeSkew         10 seconds
//	AllowPSKWithoutDHE       false: TLS 1.3 resumption always with a fresh key exchange
//	SingleUseTickets         false: TLS 1.3 tickets are sealed state (implied by SessionTicketsDisabled with the cache on)
//	MaxEarlyData             0: TLS 1.3 0-RTT early data is not accepted
//	AntiReplay               an in-memory strike register per Config (when MaxEarlyData > 0)
//	EarlyDataAgeWindow       3 seconds
//	ClientSessionCache       none: a client resumes only a Session handed over
//	ClientAuth               NoClientCert
//	Time, Rand               time.Now, crypto/rand.Reader
//
// reprisehttp's Transport turns a client session cache on by default.
type Config struct {
	// Certificates are the server's chains, or the client's for client
	// authentication. A server picks the first whose key suits the
	// negotiated algorithms.
	Certificates []Certificate
	// GetCertificate, if set, picks the server certificate per ClientHello.
	GetCertificate func(*ClientHelloInfo) (*Certificate, error)

	// RootCAs verifies server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// ServerName is the name the client sends in SNI and verifies the
	// certificate against. It also keys the client session cache.
	ServerName string
	// InsecureSkipVerify makes a client accept any server certificate.
	// For testing only.
	InsecureSkipVerify bool
	// VerifyPeerCertificate, if set, is called after normal verification.
	VerifyPeerCertificate func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error
	// VerifyConnection, if set, is called on both sides after every
	// handshake, full or resumed, with the connection's state; an error
	// ends the connection with a bad_certificate alert. Unlike
	// VerifyPeerCertificate it also runs on resumption, so it is the place
	// for checks that must hold for every connection.
	VerifyConnection func(ConnectionState) error
	// GetConfigForClient, if set, is called by a server with each
	// ClientHello and may return a Config to use for that connection
	// instead (nil keeps this one).
	GetConfigForClient func(*ClientHelloInfo) (*Config, error)
	// GetClientCertificate, if set, picks the client's certificate when a
	// server asks for one, instead of Certificates. An empty Certificate
	// sends none.
	GetClientCertificate func(*CertificateRequestInfo) (*Certificate, error)

	// NextProtos lists ALPN protocols in preference order (RFC 7301).
	NextProtos []string

	// MinVersion and MaxVersion bound the protocol version; defaults
	// TLS 1.2 and TLS 1.3.
	MinVersion, MaxVersion uint16
	// CipherSuites lists enabled suites in preference order; nil means all
	// of CipherSuites(). TLS 1.3 suites in this list restrict TLS 1.3 too,
	// and make a server prefer its own order among them; otherwise a
	// server follows the client's order among TLS 1.3 suites.
	CipherSuites []uint16
	// CurvePreferences lists key exchange groups in preference order; nil
	// means X25519MLKEM768 (TLS 1.3 only), X25519, P-256, P-384.
	CurvePreferences []CurveID

	// ClientAuth is the server's policy for client certificates.
	ClientAuth ClientAuthType
	// ClientCAs verifies client certificates.
	ClientCAs *x509.CertPool

	// KeyLogWriter, if set, receives secrets in the NSS key log format for
	// Wireshark. It compromises security; use it only for debugging.
	KeyLogWriter io.Writer
	// Time returns the current time; nil means time.Now. Session expiry,
	// ticket ages and key rotation all use it.
	Time func() time.Time
	// Rand is the source of randomness; nil means crypto/rand.Reader.
	Rand io.Reader

	// ExtendedMasterSecret controls RFC 7627. The default, EMSPrefer,
	// offers and accepts it; EMSRequire refuses peers without it;
	// EMSDisable neither offers nor accepts it (for testing old peers).
	ExtendedMasterSecret EMSPolicy

	// Tracer, if set, sees every handshake message, change_cipher_spec and
	// alert, in order.
	Tracer Tracer
	// OnHandshake, if set, is called once per handshake, when it has
	// succeeded or failed, with its outcome and duration: the hook for
	// metrics (reprise/metrics) and logs (LogHandshakes). It runs on the
	// handshaking goroutine before Handshake returns, so it must be quick,
	// and it must not call the Conn's methods: the result carries the
	// state.
	OnHandshake func(HandshakeResult)

	// HandshakeTimeout bounds each handshake, on top of any deadline in
	// the context passed to HandshakeContext: when it passes, the
	// underlying connection is closed and the handshake fails. Zero means
	// no bound for Client, Server and Dial (the caller's context or
	// deadlines govern), and DefaultHandshakeTimeout for connections
	// accepted from Listen or NewListener, so that a server whose code
	// forgets a deadline is not held by idle peers forever. A negative
	// value means no bound at all.
	HandshakeTimeout time.Duration

	// Resumption settings: the server's session cache, tickets, and the
	// client's cache and hand-over.

	// SessionCacheMode is the server's session ID cache mode; zero means
	// SessionCacheServer.
	SessionCacheMode SessionCacheMode
	// SessionStore, if set, replaces the internal in-memory cache.
	SessionStore SessionStore
	// StoreTimeout is the budget of each call to SessionStore, GetSession
	// and TicketSealer, within the handshake's context; zero means 100ms.
	// A call that errs, panics or runs out of it is a miss (reason
	// "store-unavailable"): a full handshake, or a ticket not issued,
	// never a failed connection.
	StoreTimeout time.Duration
	// SessionIDContext binds sessions to one application or configuration
	// (SSL_CTX_set_session_id_context): a session made under another
	// context is not resumed. At most 32 bytes.
	SessionIDContext []byte
	// SessionTimeout is how long a server lets a TLS 1.2 session (by ID or
	// ticket) be resumed; zero means 300 seconds, OpenSSL's default. It is
	// also the lifetime hint of the server's TLS 1.2 tickets.
	//
	// A client does not use it: the server decides when a session expires,
	// so a client keeps a session as long as the server says. A TLS 1.2
	// ticket lives its lifetime hint (RFC 5077, Section 3.3); a session ID,
	// or a ticket whose hint is 0 ("unspecified"), lives 24 hours, the
	// upper limit RFC 5246, Appendix F.1.4 suggests for session IDs; a TLS
	// 1.3 ticket lives its ticket_lifetime (at most 7 days, RFC 8446,
	// Section 4.6.1). A client's own shorter timeout would only throw away
	// sessions the server still holds: an FTPS data connection opened
	// after minutes of transfers must still offer the control connection's
	// session, or a server with require_ssl_reuse answers 522. OpenSSL's
	// client behaves alike: it does not check a TLS 1.2 session's age
	// before offering one handed over with SSL_set_session (its default
	// timeout is 2 hours), and it drops TLS 1.3 tickets older than their
	// ticket_lifetime.
	SessionTimeout time.Duration
	// MaxCachedSessions bounds the internal cache; zero means 20480.
	MaxCachedSessions int
	// MaxCachedSessionBytes bounds the memory the internal cache holds
	// (secrets, names, the peer's certificate and Extra of every
	// session); zero means DefaultMaxCachedSessionBytes, and a negative
	// value no byte bound (only MaxCachedSessions).
	MaxCachedSessionBytes int64

	// OnNewSession is called with every new resumable session the server
	// caches by ID (SSL_CTX_sess_set_new_cb), for an external cache. As
	// in OpenSSL, a TLS 1.2 session sent to the client as a ticket is not
	// cached, so it is not called for one.
	OnNewSession func(*Session)
	// OnRemoveSession is called when a session leaves the internal cache
	// (SSL_CTX_sess_set_remove_cb).
	OnRemoveSession func(*Session)
	// GetSession is asked for a session ID the internal cache does not have
	// (SSL_CTX_sess_set_get_cb). It returns nil on a miss.
	GetSession func(id []byte) *Session
	// AllowNewSession, if set, decides per connection whether the server
	// makes the session resumable (as OpenSSL's not-resumable session
	// callback does): false means an empty session ID and no ticket.
	AllowNewSession func(*ClientHelloInfo) bool

	// SessionTicketsDisabled turns stateless tickets off: RFC 5077 tickets
	// (TLS 1.2 then resumes by session ID) and sealed TLS 1.3 tickets. On
	// a server whose session cache is on (SessionCacheMode not
	// SessionCacheOff) TLS 1.3 still resumes, as with OpenSSL and nginx,
	// through stateful tickets: each is a random identity of a session
	// kept in SessionStore and is taken on first use, exactly as
	// SingleUseTickets makes them (which this implies), with every check
	// of a sealed ticket's resumption. A sealed ticket offered is refused
	// as "tickets-off", a stateful one already used or lost as
	// "unknown-session", and a store failure costs a ticket or a full
	// handshake ("store-unavailable"), never the connection. With the
	// cache off too a server issues no TLS 1.3 tickets and refuses any
	// offered as "tickets-off". The SessionCacheNoInternal* modes and the
	// GetSession and OnNewSession callbacks concern session IDs only. On a
	// client it means no tickets asked for nor offered.
	SessionTicketsDisabled bool
	// TicketKeys seals and opens tickets. nil means keys made at random and
	// rotated automatically for this Config alone.
	TicketKeys *TicketKeys
	// TicketSealer, if set, seals and opens tickets instead of TicketKeys:
	// the hook for fleet-wide or derived keys.
	TicketSealer TicketSealer
	// TicketFormat is what the server seals in the tickets it mints:
	// reprise's own encoding (the default) or OpenSSL's, which nginx and
	// HAProxy sharing the ticket keys can open. Tickets of both formats
	// are opened whatever it is.
	TicketFormat TicketFormat
	// TicketLifetime is the lifetime of TLS 1.3 tickets; zero means 7 days,
	// the RFC 8446 maximum, for sealed tickets, and SessionTimeout for
	// stateful ones (SingleUseTickets, or SessionTicketsDisabled with the
	// cache on), which occupy the store while they live, as OpenSSL's do.
	// TLS 1.2 tickets live SessionTimeout.
	TicketLifetime time.Duration
	// TicketsPerConnection is how many TLS 1.3 tickets a server sends after
	// a full handshake; zero means 2, and a negative value none. After a
	// resumption it sends at most one, replacing the ticket the client
	// spent, as OpenSSL does.
	TicketsPerConnection int
	// MaxTicketAgeSkew is the largest difference allowed between the ticket
	// age the client reports and the age the server computes; zero means 10s.
	MaxTicketAgeSkew time.Duration
	// AllowPSKWithoutDHE lets a TLS 1.3 server accept psk_ke (resumption
	// without a fresh key exchange) when the client offers only that.
	AllowPSKWithoutDHE bool
	// SingleUseTickets makes TLS 1.3 tickets identifiers of sessions held in
	// the session store, deleted on first use, instead of sealed state
	// (stateful tickets), whatever SessionCacheMode says. It is implied by
	// SessionTicketsDisabled while the session cache is on; with both
	// SessionTicketsDisabled and SessionCacheOff there are no TLS 1.3
	// tickets, whatever it says.
	SingleUseTickets bool
	// MaxEarlyData turns on TLS 1.3 0-RTT on a server: the most early data,
	// in bytes, a client may send (max_early_data_size, RFC 8446, Section
	// 4.6.1), advertised in the server's tickets. Zero, the default,
	// accepts none. Early data can be replayed by an attacker (Section
	// 8): enable it only for requests that are safe to repeat, and read
	// it with Conn.ReadEarlyData. Each ClientHello's early data is
	// accepted once per strike register (AntiReplay), or, with stateful
	// tickets (SingleUseTickets, implied by SessionTicketsDisabled) and a
	// store that takes atomically, once per ticket.
	MaxEarlyData uint32
	// AntiReplay is the strike register of ClientHellos whose early data
	// was accepted (Section 8.2). nil means one in memory per Config,
	// which stops replays to this process only; servers behind a load
	// balancer share one (stores/redis.StrikeRegister). With stateful
	// tickets and an atomic take, nil means the ticket alone
	// guards against replay (Section 8.1).
	AntiReplay AntiReplay
	// EarlyDataAgeWindow is the largest difference between the ticket age
	// the client reports and the server's for which early data is
	// accepted (Section 8.3); zero means 3 seconds (at most
	// MaxTicketAgeSkew). Outside it the handshake still resumes, without
	// the early data.
	EarlyDataAgeWindow time.Duration

	// ClientSessionCache holds a client's sessions between connections,
	// keyed by ServerName or host:port.
	ClientSessionCache ClientSessionCache
	// Session, on a client, is offered for resumption in preference to the
	// cache: the explicit hand-over of a session from one connection to
	// another (an FTPS data connection resuming its control connection).
	Session *Session
	// DisableSessionOffer makes a client offer no session at all.
	DisableSessionOffer bool

	// Asking for a client certificate after the handshake
	// (Conn.RequestClientCertificate; renegotiate12.go).

	// Renegotiation says whether a TLS 1.2 client answers a server's
	// HelloRequest with a new handshake (RFC 5246, Section 7.4.1.1):
	// never (the default, answered with a no_renegotiation warning), once
	// per connection, or freely. Only secure renegotiation (RFC 5746) is
	// ever made.
	Renegotiation RenegotiationSupport
	// ResumeOnRenegotiation lets a TLS 1.2 server resume a session during
	// a renegotiation it asked for. Off by default, as with OpenSSL's
	// SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION (seed 002): the point
	// of renegotiating is to see a certificate, and a resumption shows
	// only the old one. A refused offer records "renegotiation".
	ResumeOnRenegotiation bool

	// diagnostics are internal/diag's switches, for `reprise probe`;
	// zero in every Config made outside this module.
	diagnostics diag.ClientKnobs

	state unsafe.Pointer // *sharedState; see shared

	// testAdvertiseEarlyData, in tests only, is put in a TLS 1.3 server's
	// tickets as max_early_data_size, so that real clients send the
	// early data the server then skips (RFC 8446, Section 4.2.10).
	testAdvertiseEarlyData uint32
	// testOfferEarlyData, in tests only, makes a client's first
	// ClientHello carry early_data, as a client sending 0-RTT data does.
	testOfferEarlyData bool
	// testOfferSessionOnRenegotiation, in tests only, makes a TLS 1.2
	// client offer its current session in a renegotiation ClientHello.
	testOfferSessionOnRenegotiation bool
	// testSignShortTranscript12, in tests only, makes a TLS 1.2 client sign
	// its CertificateVerify over its handshake messages less their last
	// byte: a signature by the right key over the wrong transcript.
	testSignShortTranscript12 bool
	// testForcePostHandshakeAuth, in tests only, makes a client offer
	// post_handshake_auth without a certificate to give.
	testForcePostHandshakeAuth bool
}

// EMSPolicy is how a Config treats RFC 7627 extended master secret.
//
// Resumption follows RFC 7627, Section 5.3 on both sides whatever the
// policy: an EMS session is never resumed without EMS (the handshake is
// aborted with handshake_failure), and a non-EMS session is never resumed
// by a handshake that uses EMS (a full handshake is made, reason
// "ems-mismatch"). When neither the session nor the new hello uses EMS,
// the RFC says the peer SHOULD abort; EMSPrefer resumes such legacy
// sessions so that servers without EMS (such as OpenSSL 1.0.2) keep
// resuming, and EMSRequire never gets there because it refuses every
// handshake without EMS.
type EMSPolicy int

const (
	EMSPrefer EMSPolicy = iota
	EMSRequire
	EMSDisable
)

// Clone returns a shallow copy of c. Server-side shared state (the default
// session cache, counters and ticket keys) is shared with c.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	c.shared() // make sure the clone shares, not re-creates, the state
	n := *c
	return &n
}

func (c *Config) time() time.Time {
	if c.Time != nil {
		return c.Time()
	}
	return time.Now()
}

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Config) minVersion() uint16 {
	if c.MinVersion == 0 {
		return VersionTLS12
	}
	return c.MinVersion
}

func (c *Config) maxVersion() uint16 {
	if c.MaxVersion == 0 {
		return VersionTLS13
	}
	return c.MaxVersion
}

// supportsVersion reports whether v is enabled. Only TLS 1.2 and 1.3 exist here.
func (c *Config) supportsVersion(v uint16) bool {
	return (v == VersionTLS12 || v == VersionTLS13) && v >= c.minVersion() && v <= c.maxVersion()
}

// defaultSuites12 and defaultSuites13 are the suites of a Config that
// names none, made once so handshakes do not rebuild them.
var defaultSuites12, defaultSuites13 = func() (s12, s13 []*cipherSuite) {
	for _, s := range cipherSuites {
		if s.tls13 {
			s13 = append(s13, s)
		} else {
			s12 = append(s12, s)
		}
	}
	return
}()

// suites returns the enabled suites for a version, in preference order.
func (c *Config) suites(tls13 bool) []*cipherSuite {
	hasTLS13 := false
	for _, id := range c.CipherSuites {
		if s := suiteByID(id); s != nil && s.tls13 {
			hasTLS13 = true
		}
	}
	switch {
	case c.CipherSuites == nil && tls13, tls13 && !hasTLS13:
		// A list of TLS 1.2 suites alone leaves TLS 1.3's defaults on,
		// as crypto/tls does: TLS 1.3 suites are all strong.
		return defaultSuites13
	case c.CipherSuites == nil:
		return defaultSuites12
	}
	var out []*cipherSuite
	for _, id := range c.CipherSuites {
		if s := suiteByID(id); s != nil && s.tls13 == tls13 {
			out = append(out, s)
		}
	}
	return out
}

// pickSuite13 chooses the TLS 1.3 suite for a ClientHello offering
// offered. Every TLS 1.3 suite is strong, so unless the Config names TLS
// 1.3 suites of its own (then its order wins, as --ciphers asks), the
// client's order decides, as in OpenSSL, nginx and crypto/tls. That also
// keeps a fleet's PSKs usable: a PSK resumes only with a suite of its
// hash (RFC 8446, Section 4.2.11), and a client tends to get, from any
// node, the suite it prefers, so the tickets it holds match it.
func (c *Config) pickSuite13(offered []uint16) *cipherSuite {
	enabled := c.suites(true)
	serverOrder := slices.ContainsFunc(c.CipherSuites, func(id uint16) bool {
		s := suiteByID(id)
		return s != nil && s.tls13
	})
	if serverOrder {
		for _, s := range enabled {
			if slices.Contains(offered, s.id) {
				return s
			}
		}
		return nil
	}
	for _, id := range offered {
		for _, s := range enabled {
			if s.id == id {
				return s
			}
		}
	}
	return nil
}

// suiteEnabled reports whether suite id is enabled for its version.
func (c *Config) suiteEnabled(id uint16) bool {
	s := suiteByID(id)
	return s != nil && slices.Contains(c.suites(s.tls13), s)
}

var defaultCurves = []CurveID{X25519MLKEM768, X25519, CurveP256, CurveP384}

// defaultCurves12 is defaultCurves without the TLS 1.3-only hybrid.
var defaultCurves12 = defaultCurves[1:]

// curves returns the enabled groups for a version in preference order.
func (c *Config) curves(tls13 bool) []CurveID {
	list := c.CurvePreferences
	if list == nil {
		if tls13 {
			return defaultCurves
		}
		return defaultCurves12
	}
	var out []CurveID
	for _, g := range list {
		if g == X25519MLKEM768 && !tls13 {
			continue
		}
		if g == X25519 || g == CurveP256 || g == CurveP384 || g == X25519MLKEM768 {
			out = append(out, g)
		}
	}
	return out
}

// sharedState is what every connection of one Config shares: counters,
// the default session cache and the automatic ticket keys.
type sharedState struct {
	counters *Counters
	cacheMu  sync.Mutex
	cache    *MemorySessionCache // the default internal cache, made on first use
	tickets  *ticketState
	// storeSlots bounds the SessionStore and TicketSealer calls in flight.
	storeSlots storeSlots
	// strikes is the in-memory anti-replay register (memoryStrikes).
	strikesOnce sync.Once
	strikes     *MemoryStrikeRegister
}

// shared returns c's shared state, creating it on first use. The pointer is
// set once with a compare-and-swap, so concurrent handshakes agree on it and
// Clone (which calls shared first) copies the same pointer.
func (c *Config) shared() *sharedState {
	if p := atomic.LoadPointer(&c.state); p != nil {
		return (*sharedState)(p)
	}
	s := &sharedState{counters: newCounters(), tickets: &ticketState{}}
	atomic.CompareAndSwapPointer(&c.state, nil, unsafe.Pointer(s))
	return (*sharedState)(atomic.LoadPointer(&c.state))
}
