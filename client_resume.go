package reprise

import (
	"bytes"
	"net"
	"slices"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/diag"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

func init() {
	diag.Register(func(config any, k diag.ClientKnobs) { config.(*Config).diagnostics = k })
}

// clientSessionLifetime12 is how long a client keeps a TLS 1.2 session
// whose server named no lifetime: a session ID, or a ticket whose hint is 0
// (RFC 5077, Section 3.3: "unspecified"). RFC 5246, Appendix F.1.4 suggests
// 24 hours as the upper limit for session IDs; the server enforces its own,
// shorter one, so the client only needs to outlive it (see
// Config.SessionTimeout).
const clientSessionLifetime12 = 24 * time.Hour

// ticketLifetime12 is how long a client keeps a TLS 1.2 ticket: its
// lifetime hint, which the server chose (RFC 5077, Section 3.3).
func ticketLifetime12(hint uint32) time.Duration {
	if hint == 0 {
		return clientSessionLifetime12
	}
	return time.Duration(hint) * time.Second
}

// sessionCacheKey keys the client session cache: ServerName when set,
// else the host:port dialled, else the peer's address.
func (c *Conn) sessionCacheKey() string {
	if c.config.ServerName != "" {
		return c.config.ServerName
	}
	if c.sessionKeyAddr != "" {
		return c.sessionKeyAddr
	}
	if a := c.conn.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// The client's resumption, mirroring server_resume.go: decideOffer picks
// the session to offer and says why not; offerSession writes a TLS 1.2
// offer into the hello (a TLS 1.3 one goes into pre_shared_key in
// prepareTLS13, its binder in fillBinders); accept12 and accept13 check the
// server's answer; answered is the one writer of ConnectionState.Refused;
// saveNewSession (TLS 1.2) and saveTicket13 build the new sessions.

// decideOffer chooses the session to offer: the explicitly handed-over
// Config.Session first, else the cache's. It returns the session and how
// to offer it, or nil and why a session held is not offered.
func (hs *clientHello) decideOffer() (*Session, Refusal) {
	cfg := hs.c.config
	if cfg.DisableSessionOffer {
		return nil, RefusedNone
	}
	s := cfg.Session
	if s == nil && cfg.ClientSessionCache != nil {
		s = cfg.ClientSessionCache.Get(hs.key)
		// Without ServerName the cache is keyed by host:port, so a
		// connection to another port (an FTPS data connection) finds
		// nothing: say so, since the caller may have expected the
		// control connection's session (hand it over with
		// Config.Session instead, or set ServerName).
		if s == nil && cfg.ServerName == "" {
			return nil, RefusedNoSessionForKey
		}
	}
	if s == nil {
		return nil, RefusedNone
	}
	if refused := hs.offerable(s); refused != RefusedNone {
		return nil, refused
	}
	// How the session can be offered. TLS 1.3 resumes only by ticket
	// (RFC 8446, Section 2.2), and without psk_key_exchange_modes, which
	// a client with tickets off leaves out (Section 4.2.9), no PSK either.
	// TLS 1.2 offers a ticket when it has one and tickets are on (RFC
	// 5077, Section 3.4), else the session ID.
	switch {
	case s.version == VersionTLS13 && cfg.SessionTicketsDisabled:
		return nil, RefusedTicketsOff
	case s.version == VersionTLS13 && len(s.ticket) == 0:
		return nil, RefusedTicketInvalid
	case s.version == VersionTLS13:
		return s, RefusedNone
	case len(s.ticket) > 0 && !cfg.SessionTicketsDisabled, len(s.id) > 0:
		return s, RefusedNone
	case len(s.ticket) > 0:
		return nil, RefusedTicketsOff
	}
	// Neither an ID nor a ticket: the server would not let it resume.
	return nil, RefusedNotResumable
}

// offerSession offers what decideOffer chose. A TLS 1.2 session goes into
// the legacy fields, also when TLS 1.3 is offered too, as crypto/tls does:
// a server that picks TLS 1.2 may resume it. Its ticket goes with a fresh
// random session ID, which the server echoes to accept it (RFC 5077,
// Section 3.4); without a ticket the session ID is the offer.
func (hs *clientHello) offerSession() {
	cfg, h := hs.c.config, hs.hello
	s, refused := hs.decideOffer()
	hs.notOffered = refused
	if s == nil || s.version == VersionTLS13 {
		hs.offered = s
		return
	}
	if len(s.ticket) > 0 && !cfg.SessionTicketsDisabled {
		h.SessionTicket = s.ticket
		h.SessionID = hs.sessionID[:]
		if _, err := readFull(cfg.rand(), h.SessionID); err != nil {
			h.SessionTicket, h.SessionID = nil, nil
			return
		}
	} else {
		h.SessionID = s.id
	}
	hs.offered = s
}

// offerable is the client's check of a session before offering it, for
// both versions, one condition per line: a resumption must be no weaker
// than the full handshake this hello would otherwise make. It returns why
// not, or RefusedNone.
func (hs *clientHello) offerable(s *Session) Refusal {
	cfg, now := hs.c.config, hs.c.config.time()
	switch {
	case s.Expired(now):
		return RefusedExpired
	case !cfg.supportsVersion(s.version):
		return RefusedVersion
	// The session's suite must be one we still enable, of its own version;
	// RFC 5246, Section 7.4.1.2 also requires it in the offer, which this
	// guarantees, and RFC 8446, Section 4.2.11 needs its hash for the
	// binder.
	case !cfg.suiteEnabled(s.cipherSuite) || suiteByID(s.cipherSuite).tls13 != (s.version == VersionTLS13):
		return RefusedCipher
	// RFC 7627, Section 5.3: an EMS session can only be resumed by a
	// hello that offers EMS.
	case s.version == VersionTLS12 && s.ems && !hs.hello.ExtendedMasterSecret && !cfg.diagnostics.OfferEMSSessionWithoutEMS:
		return RefusedEMS
	// The server proves nothing about its certificate when it resumes:
	// the session vouches for it. So the session must come from a
	// handshake that verified the server, and that verification must
	// still hold for this connection's name and time.
	case !cfg.InsecureSkipVerify && !s.serverStillTrusted(cfg.ServerName, now):
		return RefusedCertificate
	// RFC 6066, Section 3 and RFC 8446, Section 4.6.1: "Clients [...]
	// SHOULD only resume if the SNI value matches the one used in the
	// original session." The session stands in for the certificate check,
	// which was made for that name only; this holds for TLS 1.2 as well
	// (and matters when verification is off, where the check above passes).
	case s.serverName != cfg.ServerName && !cfg.diagnostics.OfferSessionUnderAnyName:
		return RefusedSNI
	}
	return RefusedNone
}

// accept12 checks a TLS 1.2 server's answer to our offer. The server
// resumes by echoing the session ID we sent (RFC 5246, Section 7.4.1.3;
// RFC 5077, Section 3.4), and must then resume on the session's terms. It
// returns the session resumed, or nil for a full handshake.
func (hs *clientHello) accept12(sh *wire.ServerHello, ems, etm bool) (*Session, error) {
	s := hs.offered
	if s == nil || s.version != VersionTLS12 || len(sh.SessionID) == 0 || !bytes.Equal(sh.SessionID, hs.hello.SessionID) {
		return nil, nil
	}
	if sh.CipherSuite != s.cipherSuite {
		return nil, ErrResumedCipherMismatch
	}
	// RFC 7627, Section 5.3, the client side: "If the original session
	// used the "extended_master_secret" extension but the new ServerHello
	// does not contain the extension, the client MUST abort the
	// handshake." And: "If the original session did not use the
	// extension but the new ServerHello contains the extension, the
	// client MUST abort the handshake."
	if s.ems != ems {
		return nil, ErrEMSDowngrade
	}
	if s.etm != etm {
		return nil, peerError(alert.HandshakeFailure, "server changed encrypt_then_mac on resumption")
	}
	return s, nil
}

// accept13 checks a TLS 1.3 server's answer to the PSK offered in h, with
// the suite the ServerHello chose, and reports whether it resumes.
func (o *client13Offer) accept13(h *wire.ClientHello, sh *wire.ServerHello, suite *cipherSuite) (bool, error) {
	if !sh.HasSelectedPSK {
		return false, nil
	}
	// RFC 8446, Section 4.2.11: "Clients MUST verify that the server's
	// selected_identity is within the range supplied by the client, that
	// the server selected a cipher suite indicating a Hash associated with
	// the PSK, and that a server "key_share" extension is present if
	// required by the ClientHello "psk_key_exchange_modes" extension. If
	// these values are not consistent, the client MUST abort the handshake
	// with an "illegal_parameter" alert."
	switch {
	case o.psk == nil || int(sh.SelectedPSK) != o.pskIndex:
		return false, peerError(alert.IllegalParameter, "server selected PSK %d, which we did not offer", sh.SelectedPSK)
	case o.pskSuite.hash != suite.hash:
		return false, peerError(alert.IllegalParameter, "server selected a PSK with a suite of another hash")
	case sh.KeyShare.Group == 0 && !slices.Contains(h.PSKModes, wire.PSKModePlain):
		return false, peerError(alert.IllegalParameter, "server resumed without a key share; we offered only psk_dhe_ke")
	}
	return true, nil
}

// answered is the one writer of the client's ConnectionState.Refused. It
// runs once the ServerHello has been checked: vers is the version the
// server chose, resumed whether it resumed our offer. A session held and
// not offered keeps the reason decideOffer gave.
func (hs *clientHello) answered(vers uint16, resumed bool) {
	r := hs.notOffered
	switch {
	case resumed:
		r = RefusedNone
	case hs.offered == nil:
	// A session resumes only with its own version (RFC 5246, Section
	// 7.4.1.2; RFC 8446, Section 4.2.11 binds a PSK to its hash and
	// version): the server chose the other one, so it could not resume
	// the session whatever it held.
	case hs.offered.version != vers:
		r = RefusedVersion
	default:
		r = RefusedServerDeclined
	}
	hs.c.state.Refused = r
}

// serverStillTrusted reports whether a client session's server certificate
// was verified when the session was made, has not expired since, and is
// valid for name. The names a certificate is valid for do not change, so
// a check this process made for the session's own name is not repeated.
func (s *Session) serverStillTrusted(name string, now time.Time) bool {
	leaf, valid := s.leafValidAt(now)
	if !s.verified || !valid {
		return false
	}
	return (s.nameChecked && name == s.serverName) || leaf.VerifyHostname(name) == nil
}

// saveSession stores a session the handshake made or renewed.
func (c *Conn) saveSession(key string, s *Session) {
	c.state.session = s
	if cache := c.config.ClientSessionCache; cache != nil && s != nil {
		cache.Put(key, s)
	}
}

// saveNewSession keeps the session a full TLS 1.2 handshake made, if the
// server made it resumable: a session ID to offer, or a ticket.
func (hs *client12) saveNewSession() {
	c := hs.c
	hasTicket := hs.gotTicket && len(hs.ticket) > 0
	if len(hs.sh.SessionID) == 0 && !hasTicket {
		c.state.session = nil
		return
	}
	lifetime := clientSessionLifetime12
	if hasTicket {
		lifetime = ticketLifetime12(hs.ticketHint)
	}
	s := &Session{
		version:     VersionTLS12,
		cipherSuite: hs.suite.id,
		secret:      hs.master,
		ems:         hs.ems,
		etm:         hs.etm,
		verified:    !c.config.InsecureSkipVerify,
		nameChecked: !c.config.InsecureSkipVerify, // verifyPeerChain checked ServerName
		id:          hs.sh.SessionID,
		created:     c.config.time(),
		lifetime:    lifetime,
		serverName:  c.config.ServerName,
		alpn:        hs.sh.ALPN,
		peerCerts:   hs.peerChain,
		certs:       c.state.PeerCertificates,
		isClient:    true,
	}
	if hasTicket {
		s.ticket = hs.ticket
	}
	c.saveSession(hs.ch.key, s)
}

// saveTicket13 turns a TLS 1.3 NewSessionTicket into a Session (RFC 8446,
// Section 4.6.1), for Session and TakeSession and the client session cache.
func (c *Conn) saveTicket13(nst *wire.NewSessionTicket13) {
	p, cfg := c.post13, c.config
	// RFC 8446, Section 4.6.1: "The value of zero indicates that the
	// ticket should be discarded immediately." A client that turned tickets
	// off did not ask for any.
	if nst.Lifetime == 0 || cfg.SessionTicketsDisabled {
		return
	}
	s := p.ticketSession(nst, cfg.time())
	p.keep(s)
	// ConnectionState reads c.state under handshakeMu. The handshake is
	// over, so taking it here (after inMu) cannot deadlock with it.
	c.handshakeMu.Lock()
	c.state.TicketsIssued++
	c.handshakeMu.Unlock()
	if cfg.ClientSessionCache != nil {
		cfg.ClientSessionCache.Put(p.cacheKey, s)
	}
}

// ticketSession is the session a TLS 1.3 ticket resumes, made at now.
func (p *post13State) ticketSession(nst *wire.NewSessionTicket13, now time.Time) *Session {
	s := &Session{
		version:     VersionTLS13,
		cipherSuite: p.suite.id,
		// The PSK is derived now: the resumption master secret is not
		// kept in the session, so one leaked ticket's PSK reveals nothing
		// about the others.
		secret:      keysched.ResumptionPSK(p.suite.hash, p.resumptionSecret, nst.Nonce),
		verified:    p.verified,
		nameChecked: p.nameChecked,
		created:     now,
		lifetime:    min(time.Duration(nst.Lifetime)*time.Second, maxTicketLifetime13),
		serverName:  p.serverName,
		alpn:        p.alpn,
		peerCerts:   p.peerCerts,
		certs:       p.certs,
		ageAdd:      nst.AgeAdd,
		ticket:      nst.Ticket,
		isClient:    true,
	}
	if nst.HasEarlyData {
		s.maxEarly = nst.MaxEarlyData
	}
	return s
}

// isIP reports whether host is an IP address literal. Only hex digits,
// dots and colons can make one, so a name with any other character (most
// DNS names) is told apart without a parse, which allocates on failure.
func isIP(host string) bool {
	for i := range len(host) {
		switch c := host[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F', c == '.', c == ':':
		default:
			return false
		}
	}
	return net.ParseIP(host) != nil
}

// TakeSession returns a session for one more connection to resume, like
// Session, but hands each TLS 1.3 ticket out only once: RFC 8446, Appendix
// C.4 says "Clients SHOULD NOT reuse a ticket for multiple connections",
// and a server with single-use tickets resumes a reused one with a full
// handshake. It is the FTPS hand-over: give each data connection
// Config.Session = ctrl.TakeSession().
//
// On a TLS 1.3 client it returns the oldest unexpired ticket this
// connection has received and not yet handed out, or nil when none is
// left. Tickets arrive after the handshake and Read takes them in (RFC
// 8446, Section 4.6.1), so a connection that keeps reading (an FTP control
// connection reading its replies) keeps receiving the tickets a server
// sends later; and a connection that resumed with a taken ticket usually
// receives fresh tickets of its own, which its TakeSession hands out in
// turn. Session still returns the newest ticket, taken or not, and tickets
// also go to the ClientSessionCache: use the cache or TakeSession for a
// server, not both. On a TLS 1.2 client it returns the session every time
// (a session ID or RFC 5077 ticket may resume many connections), and on a
// server nil.
func (c *Conn) TakeSession() *Session {
	if !c.isClient {
		return nil
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.post13 != nil {
		return c.post13.takeSession(c.config.time())
	}
	return c.state.session
}
