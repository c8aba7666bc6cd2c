package reprise

import (
	"context"
	"crypto/x509"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
)

// Resumption says how a connection resumed. The values are the CLI's JSON
// strings.
type Resumption string

const (
	ResumedNone      Resumption = "none"
	ResumedSessionID Resumption = "session-id" // TLS 1.2, RFC 5246 Section 7.3
	ResumedTicket    Resumption = "ticket"     // TLS 1.2, RFC 5077
	ResumedPSK       Resumption = "psk"        // TLS 1.3, RFC 8446 Section 2.2
)

// Refusal is why an offered session was not resumed: a stable kebab-case
// word for logs, metrics and the CLI. The empty Refusal means nothing was
// refused (no session was offered, or it resumed).
type Refusal string

// Refusal reasons. The server knows the precise reason; a client learns
// only that the server declined ("server-declined"), unless the client
// itself chose not to offer or the server broke a rule.
const (
	RefusedNone           Refusal = ""
	RefusedUnknownSession Refusal = "unknown-session"      // session ID not in the cache
	RefusedExpired        Refusal = "expired"              // session or ticket older than its lifetime
	RefusedVersion        Refusal = "version-mismatch"     // session from another protocol version
	RefusedCipher         Refusal = "cipher-mismatch"      // session's suite (TLS 1.3: its hash) not acceptable now
	RefusedContext        Refusal = "context-mismatch"     // session ID context differs
	RefusedSNI            Refusal = "sni-mismatch"         // session made for another server name
	RefusedEMS            Refusal = "ems-mismatch"         // RFC 7627 5.3: non-EMS session, EMS hello
	RefusedClientAuth     Refusal = "client-auth-mismatch" // session lacks the client certificate now required
	RefusedCacheOff       Refusal = "cache-off"            // server session cache is off
	RefusedTicketsOff     Refusal = "tickets-off"          // ticket offered, tickets disabled
	RefusedTicketKey      Refusal = "ticket-key-unknown"   // ticket sealed by a key the server does not have
	RefusedTicketInvalid  Refusal = "ticket-invalid"       // ticket failed authentication or decoding
	RefusedAgeWindow      Refusal = "age-window"           // TLS 1.3 ticket age outside the allowed window
	RefusedALPN           Refusal = "alpn-mismatch"        // TLS 1.3: session's ALPN differs
	RefusedETM            Refusal = "etm-mismatch"         // RFC 7366: session used encrypt-then-MAC, hello does not
	RefusedNotResumable   Refusal = "not-resumable"        // the server's per-connection hook said no
	RefusedPSKMode        Refusal = "psk-mode-mismatch"    // TLS 1.3: no acceptable psk_key_exchange_mode
	RefusedStoreDown      Refusal = "store-unavailable"    // the session store, GetSession or TicketSealer failed, timed out or panicked
	RefusedStoreEntry     Refusal = "store-entry-invalid"  // the store's sealed entry failed authentication (altered, or moved from another ID)
	RefusedServerDeclined Refusal = "server-declined"      // client view: offered, server made a full handshake
	RefusedCertificate    Refusal = "certificate-invalid"  // client view: not offered, the session's server certificate would fail verification now
)

// RefusedNoSessionForKey is the client's view when it had no session to
// offer at all: no Config.Session, and its ClientSessionCache holds nothing
// under this connection's key. It is reported only when ServerName is
// empty, because then the key is host:port and a connection to another
// port (an FTPS data connection) never finds the session of the first:
// hand the session over with Config.Session, or set ServerName.
const RefusedNoSessionForKey Refusal = "no-session-for-key"

// ConnectionState describes a connection after its handshake.
type ConnectionState struct {
	Version            uint16
	HandshakeComplete  bool
	CipherSuite        uint16
	CurveID            CurveID // key exchange group; 0 for a TLS 1.2 resumption or psk_ke
	NegotiatedProtocol string  // ALPN
	ServerName         string  // SNI the client sent
	PeerCertificates   []*x509.Certificate
	VerifiedChains     [][]*x509.Certificate

	DidResume            bool
	Resumption           Resumption
	Refused              Refusal // why a session offered (or held by the client and not offered) was not resumed
	ExtendedMasterSecret bool    // RFC 7627; always true for TLS 1.3
	EncryptThenMAC       bool    // RFC 7366, CBC suites only
	SecureRenegotiation  bool    // RFC 5746 support signalled by the peer
	HelloRetryRequest    bool
	SessionID            []byte // TLS 1.2 session ID; the legacy echo in TLS 1.3
	TicketsIssued        int    // tickets the server sent on this connection (server: sent; client: received)
	// EarlyData says what became of TLS 1.3 0-RTT data; EarlyDataRefused
	// is the server's reason for rejecting it (client: "server-declined"
	// or RefusedEarlyHRR).
	EarlyData        EarlyDataStatus
	EarlyDataRefused Refusal

	// TLSUnique is the tls-unique channel binding (RFC 5929, Section 3):
	// the first Finished of a TLS 1.2 connection. It is nil for TLS 1.3
	// and, as in crypto/tls, for a TLS 1.2 resumption without extended
	// master secret, where it does not identify the connection (RFC 7627,
	// Section 1).
	TLSUnique []byte

	// The fields below exist so that code written against crypto/tls's
	// ConnectionState compiles; reprise implements neither OCSP stapling,
	// certificate transparency nor ECH, so they are always empty.
	NegotiatedProtocolIsMutual  bool     // Deprecated: always true, as in crypto/tls.
	SignedCertificateTimestamps [][]byte // always nil
	OCSPResponse                []byte   // always nil
	ECHAccepted                 bool     // always false

	ekm exporter // ExportKeyingMaterial; set when the handshake completes
}

// connState is the handshake's record of the connection.
type connState struct {
	ConnectionState
	session *Session // the resumable session, if any
}

// ConnectionState returns details of the connection. Before the handshake
// completes only the fields learned so far are set.
func (c *Conn) ConnectionState() ConnectionState {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	return c.stateLocked(c.handshakeDone.Load())
}

// stateLocked is ConnectionState for a caller that holds handshakeMu:
// complete says whether the handshake has succeeded.
func (c *Conn) stateLocked(complete bool) ConnectionState {
	s := c.state.ConnectionState
	s.HandshakeComplete = complete
	s.Version = c.vers
	s.NegotiatedProtocolIsMutual = true
	if !complete {
		s.ekm = nil
	}
	// RFC 7627, Section 1: without extended master secret a resumed
	// session's first Finished does not identify this connection.
	if s.DidResume && !s.ExtendedMasterSecret {
		s.TLSUnique = nil
	}
	return s
}

// Session returns the connection's resumable session after the handshake,
// or nil. Pass it to another connection's Config.Session to resume it
// there (the FTPS data-connection pattern).
//
// In TLS 1.3 a server sends its tickets after the handshake (RFC 8446,
// Section 4.6.1), and they are processed by Read: a TLS 1.3 client has a
// session, and puts tickets in its ClientSessionCache, only once a Read has
// taken them in. A client that never reads gets none. Session does not use
// the ticket up: to give each connection its own TLS 1.3 ticket (RFC 8446,
// Appendix C.4), hand over TakeSession instead.
func (c *Conn) Session() *Session {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.post13 != nil && c.isClient {
		if s := c.post13.latestSession(); s != nil {
			return s
		}
	}
	return c.state.session
}

// Counters are a server's (or client's) running totals, like OpenSSL's
// SSL_CTX_sess_* counters. All fields are read with Snapshot.
type Counters struct {
	accept, acceptGood, hits, misses, timeouts, cacheFull, cbHits atomic.Int64
	connect, connectGood, connectResumed                          atomic.Int64
	ticketsIssued, ticketResumed, pskResumed                      atomic.Int64
	ticketsOpened, ticketsOpenedStale                             atomic.Int64
	storeErrors, storeTimeouts                                    atomic.Int64
	early                                                         earlyCounters
	// Asking for client certificates after the handshake: exchanges
	// completed, and TLS 1.2 renegotiations refused (client-initiated on
	// a server; HelloRequests a client does not answer).
	postHandshakeAuths, renegotiationsRefused atomic.Int64

	mu       sync.Mutex
	refusals map[Refusal]int64
}

func newCounters() *Counters { return &Counters{refusals: make(map[Refusal]int64)} }

func (c *Counters) refuse(r Refusal) {
	if r == RefusedNone {
		return
	}
	c.mu.Lock()
	c.refusals[r]++
	c.mu.Unlock()
}

// CounterSnapshot is a copy of Counters at one moment. Field names follow
// OpenSSL's SSL_CTX_sess_* functions.
type CounterSnapshot struct {
	Accept         int64            `json:"accept"`      // server handshakes started
	AcceptGood     int64            `json:"accept_good"` // server handshakes completed
	Hits           int64            `json:"hits"`        // sessions resumed (any way)
	Misses         int64            `json:"misses"`      // offered session IDs not found
	Timeouts       int64            `json:"timeouts"`    // offered sessions found but expired
	CacheFull      int64            `json:"cache_full"`  // sessions evicted because the cache was full
	CallbackHits   int64            `json:"cb_hits"`     // sessions found by the GetSession callback
	Connect        int64            `json:"connect"`     // client handshakes started
	ConnectGood    int64            `json:"connect_good"`
	ConnectResumed int64            `json:"connect_resumed"`
	TicketsIssued  int64            `json:"tickets_issued"`
	TicketResumed  int64            `json:"ticket_resumed"`       // TLS 1.2 ticket resumptions
	PSKResumed     int64            `json:"psk_resumed"`          // TLS 1.3 PSK resumptions
	TicketsOpened  int64            `json:"tickets_opened"`       // tickets opened with the current key
	TicketsStale   int64            `json:"tickets_opened_stale"` // tickets opened with an older key (reissued)
	StoreErrors    int64            `json:"store_errors"`         // store, GetSession or TicketSealer calls that failed or panicked (each cost a full handshake or a session)
	StoreTimeouts  int64            `json:"store_timeouts"`       // store calls that ran out of their budget (Config.StoreTimeout), counted apart from StoreErrors
	Refusals       map[string]int64 `json:"refusals"`
	// TLS 1.3 0-RTT on a server: early data accepted, rejected by reason
	// (replays included, as "replayed"), and replays caught.
	EarlyDataAccepted int64            `json:"early_data_accepted"`
	EarlyDataRejected map[string]int64 `json:"early_data_rejected"`
	EarlyDataReplayed int64            `json:"early_data_replayed"`

	// PostHandshakeAuths counts RequestClientCertificate exchanges that
	// completed (TLS 1.2 renegotiation or TLS 1.3 post-handshake auth).
	PostHandshakeAuths int64 `json:"post_handshake_auths"`
	// RenegotiationsRefused counts TLS 1.2 renegotiations refused with a
	// no_renegotiation warning (RFC 5746, Sections 4.2 and 4.4).
	RenegotiationsRefused int64 `json:"renegotiations_refused"`
}

// Snapshot copies the counters.
func (c *Counters) Snapshot() CounterSnapshot {
	s := CounterSnapshot{
		Accept: c.accept.Load(), AcceptGood: c.acceptGood.Load(), Hits: c.hits.Load(),
		Misses: c.misses.Load(), Timeouts: c.timeouts.Load(), CacheFull: c.cacheFull.Load(),
		CallbackHits: c.cbHits.Load(), Connect: c.connect.Load(), ConnectGood: c.connectGood.Load(),
		ConnectResumed: c.connectResumed.Load(), TicketsIssued: c.ticketsIssued.Load(),
		TicketResumed: c.ticketResumed.Load(), PSKResumed: c.pskResumed.Load(),
		TicketsOpened: c.ticketsOpened.Load(), TicketsStale: c.ticketsOpenedStale.Load(),
		StoreErrors: c.storeErrors.Load(), StoreTimeouts: c.storeTimeouts.Load(),
		PostHandshakeAuths: c.postHandshakeAuths.Load(), RenegotiationsRefused: c.renegotiationsRefused.Load(),
		Refusals: map[string]int64{},
	}
	c.mu.Lock()
	for r, n := range c.refusals {
		s.Refusals[string(r)] = n
	}
	c.mu.Unlock()
	c.early.fill(&s)
	return s
}

// RefusalNames returns the snapshot's refusal reasons sorted, for printing.
func (s CounterSnapshot) RefusalNames() []string {
	names := make([]string, 0, len(s.Refusals))
	for n := range s.Refusals {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Counters returns the running totals of every connection made with c.
func (c *Config) Counters() *Counters { return c.shared().counters }

func (c *Conn) counters() *Counters { return c.config.shared().counters }

func (c *Conn) countHandshakeSuccess() {
	k := c.counters()
	if c.isClient {
		k.connectGood.Add(1)
		if c.state.DidResume {
			k.connectResumed.Add(1)
		}
		return
	}
	k.acceptGood.Add(1)
}

// countStoreError counts a SessionStore failure: a timeout when the
// context's deadline passed, else an error. Either way the handshake went
// on without the store (a miss, or a session not kept).
func (c *Counters) countStoreError(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		c.storeTimeouts.Add(1)
		return
	}
	c.storeErrors.Add(1)
}
