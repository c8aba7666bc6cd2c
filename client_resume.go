package reprise

import (
	"net"
	"time"

	"github.com/reprise-tls/reprise/internal/diag"
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

// offerSession chooses the session to offer: the explicitly handed-over
// Config.Session first, else the cache's. A TLS 1.2 session is offered by
// ticket when it has one (with a fresh random session ID, RFC 5077,
// Section 3.4), else by its session ID. TLS 1.3 sessions are offered by
// prepareTLS13 as PSKs. A session we hold but do not offer leaves its
// reason in ConnectionState.Refused.
func (hs *clientHello) offerSession() {
	cfg, h := hs.c.config, hs.hello
	if cfg.DisableSessionOffer {
		return
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
			hs.c.state.Refused = RefusedNoSessionForKey
		}
	}
	if s == nil {
		return
	}
	if refused := hs.offerable(s); refused != RefusedNone {
		hs.c.state.Refused = refused
		return
	}
	if s.version == VersionTLS13 {
		hs.offered = s
		return
	}
	switch {
	case len(s.ticket) > 0 && !cfg.SessionTicketsDisabled:
		h.SessionTicket = s.ticket
		h.SessionID = make([]byte, 32)
		if _, err := readFull(cfg.rand(), h.SessionID); err != nil {
			return
		}
	case len(s.id) > 0:
		h.SessionID = s.id
	default:
		return
	}
	hs.offered = s
}

// offerable is the client's check of a session before offering it, one
// condition per line: a resumption must be no weaker than the full
// handshake this hello would otherwise make. It returns why not, or
// RefusedNone.
func (hs *clientHello) offerable(s *Session) Refusal {
	cfg, now := hs.c.config, hs.c.config.time()
	switch {
	case s.Expired(now):
		return RefusedExpired
	case !cfg.supportsVersion(s.version):
		return RefusedVersion
	// The session's suite must be one we still enable; RFC 5246, Section
	// 7.4.1.2 also requires it in the offer, which this guarantees.
	case !cfg.suiteEnabled(s.cipherSuite):
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
	}
	return RefusedNone
}

// serverStillTrusted reports whether a client session's server certificate
// was verified when the session was made, has not expired since, and is
// valid for name.
func (s *Session) serverStillTrusted(name string, now time.Time) bool {
	leaf, valid := s.leafValidAt(now)
	return s.verified && valid && leaf.VerifyHostname(name) == nil
}

// saveSession stores a session the handshake made or renewed.
func (c *Conn) saveSession(key string, s *Session) {
	c.state.session = s
	if cache := c.config.ClientSessionCache; cache != nil && s != nil {
		cache.Put(key, s)
	}
}

func isIP(host string) bool { return net.ParseIP(host) != nil }

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
