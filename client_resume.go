package reprise

import (
	"net"
	"time"
)

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
	case s.version == VersionTLS12 && s.ems && !hs.hello.ExtendedMasterSecret:
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
