package reprise

import (
	"net"
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
// prepareTLS13 as PSKs.
func (hs *clientHello) offerSession() {
	cfg, h := hs.c.config, hs.hello
	if cfg.DisableSessionOffer {
		return
	}
	s := cfg.Session
	if s == nil && cfg.ClientSessionCache != nil {
		s = cfg.ClientSessionCache.Get(hs.key)
	}
	if s == nil || s.Expired(cfg.time()) || !cfg.supportsVersion(s.version) {
		return
	}
	// The session's suite must be one we still enable; RFC 5246, Section
	// 7.4.1.2 also requires it in the offer, which this guarantees.
	if !cfg.suiteEnabled(s.cipherSuite) {
		return
	}
	if s.version == VersionTLS13 {
		hs.offered = s
		return
	}
	// RFC 7627, Section 5.3: an EMS session can only be resumed by a
	// hello that offers EMS.
	if s.ems && !h.ExtendedMasterSecret {
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

// saveSession stores a session the handshake made or renewed.
func (c *Conn) saveSession(key string, s *Session) {
	c.state.session = s
	if cache := c.config.ClientSessionCache; cache != nil && s != nil {
		cache.Put(key, s)
	}
}

func isIP(host string) bool { return net.ParseIP(host) != nil }
