package reprise

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"
)

// resumeDecision is the outcome of the server's resumption decision: a
// session to resume and how it was found, or the reason none will be.
// Declining is a value, not an error; only the RFCs' MUST-abort cases
// return errors. Making a decision writes nothing into the handshake state
// or the counters: the caller applies it, and recordDecision counts it.
type resumeDecision struct {
	session *Session
	via     Resumption
	refused Refusal

	// TLS 1.2 only: what the ServerHello flight carries when resuming.
	reissueTicket bool   // RFC 5077, Section 3.3: the ticket opened under an older key and is renewed
	echoID        []byte // the session ID ServerHello echoes (RFC 5077, Section 3.4; RFC 5246, Section 7.4.1.3)

	// expired is a session found by ID past its lifetime, which the store
	// is to forget (under expiredID) unless SessionCacheNoAutoClear keeps
	// it for FlushSessionCache.
	expired   *Session
	expiredID []byte

	met lookupTally
}

// lookupTally is what a decision's lookups met on their way, for
// Counters. The guarded store calls (store_guard.go) count their own
// failures; everything else is counted from here.
type lookupTally struct {
	timeouts           int64 // offered sessions found but expired
	misses             int64 // offered sessions not found
	callbackHits       int64 // sessions found by the GetSession callback
	ticketsOpened      int64 // tickets opened with the current key
	ticketsOpenedStale int64 // tickets opened with an older key
	sealerUnavailable  int64 // a TicketSealer that said TicketUnavailable
}

// ticketOpened tallies a ticket's opening by the age of its key.
func (t *lookupTally) ticketOpened(status TicketStatus) {
	switch status {
	case TicketOpened:
		t.ticketsOpened++
	case TicketOpenedStale:
		t.ticketsOpenedStale++
	case TicketUnavailable:
		t.sealerUnavailable++
	}
}

// recordDecision is where both versions' servers account for a
// resumption decision, whatever it was: the refusal in ConnectionState
// and the counters, what the lookups met, and the expired session the
// store is to forget.
func (c *Conn) recordDecision(ctx context.Context, d resumeDecision) {
	c.state.Refused = d.refused
	k := c.counters()
	k.refuse(d.refused)
	k.timeouts.Add(d.met.timeouts)
	k.misses.Add(d.met.misses)
	k.cbHits.Add(d.met.callbackHits)
	k.ticketsOpened.Add(d.met.ticketsOpened)
	k.ticketsOpenedStale.Add(d.met.ticketsOpenedStale)
	k.storeErrors.Add(d.met.sealerUnavailable)
	if d.expired != nil {
		c.removeSession(ctx, d.expiredID, d.expired)
	}
}

// decideResumption is the TLS 1.2 server's one place for "resume or not".
// It looks the offered session up (lookupOffered: ticket first, then the
// session ID cache, as one lookup, so that a flight never re-tests where
// the session came from), checks it with resumable, and applies RFC
// 7627's extended master secret rules. Even with an error, the decision
// carries what its lookups met, to be recorded.
func (hs *server12) decideResumption(ctx context.Context) (resumeDecision, error) {
	h, cfg := hs.hello, hs.c.config
	d := hs.lookupOffered(ctx)
	if d.session == nil {
		return d, nil
	}
	// refuse keeps what the lookups met and reports why nothing resumes.
	refuse := func(reason Refusal) resumeDecision {
		return resumeDecision{refused: reason, met: d.met}
	}

	if reason := hs.resumable(d.session, cfg.time()); reason != RefusedNone {
		r := refuse(reason)
		if reason == RefusedExpired {
			r.met.timeouts++
			if d.via == ResumedSessionID && cfg.cacheMode()&SessionCacheNoAutoClear == 0 {
				r.expired, r.expiredID = d.session, h.SessionID
			}
		}
		return r, nil
	}

	// RFC 5246, Section 7.4.1.2: "If the client wishes to resume, the
	// client MUST include at least the cipher suite from that session."
	// Like OpenSSL, we treat its absence as an illegal_parameter abort.
	if !slices.Contains(h.CipherSuites, d.session.cipherSuite) {
		return refuse(RefusedNone), ErrResumedCipherMismatch
	}

	// RFC 7627, Section 5.3, the server side:
	switch {
	case d.session.ems && !hs.ems:
		// "If the original session used the "extended_master_secret"
		// extension but the new ClientHello does not contain it, the
		// server MUST abort the abbreviated handshake."
		return refuse(RefusedNone), ErrEMSDowngrade
	case !d.session.ems && hs.ems:
		// "If the original session did not use the
		// "extended_master_secret" extension but the new ClientHello
		// contains the extension, then the server MUST NOT perform the
		// abbreviated handshake. Instead, it SHOULD continue with a full
		// handshake."
		return refuse(RefusedEMS), nil
	}
	// Neither side used the extension: RFC 7627 lets a server resume such
	// legacy sessions; EMSRequire has already refused the handshake.

	// RFC 5077, Section 3.4: when accepting a ticket the server echoes
	// the client's session ID; for an ID hit it echoes the ID.
	d.echoID = h.SessionID
	return d, nil
}

// lookupOffered finds the session a TLS 1.2 ClientHello offers, by ticket
// or by session ID, or says why there is none to resume.
func (hs *server12) lookupOffered(ctx context.Context) resumeDecision {
	c, h, cfg := hs.c, hs.hello, hs.c.config
	var d resumeDecision

	// RFC 5077, Section 3.4: a client offering a ticket may also send a
	// session ID; the ticket is tried first.
	if h.TicketSupported && len(h.SessionTicket) > 0 {
		if cfg.SessionTicketsDisabled {
			d.refused = RefusedTicketsOff
		} else {
			s, status, refused := c.openTicket(ctx, h.SessionTicket)
			d.met.ticketOpened(status)
			d.session, d.refused = s, refused
			if s != nil {
				d.via = ResumedTicket
				// A ticket opened by an older key resumes and is
				// replaced (renewal).
				d.reissueTicket = status == TicketOpenedStale
				return d
			}
		}
	}
	if len(h.SessionID) == 0 {
		return d
	}
	// Of two reasons, the ticket's explains best.
	explain := func(r Refusal) {
		if d.refused == RefusedNone {
			d.refused = r
		}
	}
	if !cfg.serverCacheOn() {
		explain(RefusedCacheOff)
		return d
	}
	s, found, err := c.lookupSession(ctx, h.SessionID)
	switch {
	case s != nil:
		if found == foundByCallback {
			d.met.callbackHits++
		}
		return resumeDecision{session: s, via: ResumedSessionID, met: d.met}
	case err != nil:
		// The store failed or overran its budget: counted as a store
		// error (by the guard), not as a miss, so that an outage does
		// not read as clients offering unknown sessions.
		explain(storeRefusal(err))
	case found == foundExpired:
		// The internal cache found the entry past its lifetime and
		// dropped it (unless NoAutoClear keeps it for Flush).
		d.met.timeouts++
		d.refused = RefusedExpired
	case d.refused == RefusedNone && isOurSessionID(h.SessionID):
		// Only an ID that has the shape of ours can be a session
		// offered and lost. Many clients send a random ID without
		// holding a session (crypto/tls always does; TLS 1.3 clients
		// for middlebox compatibility, RFC 8446 Appendix D.4): those
		// are neither counted as misses nor explained as refusals.
		// A known ID still resumes above, whatever its shape.
		d.met.misses++
		d.refused = RefusedUnknownSession
	}
	return d
}

// resumable is the check every TLS 1.2 resumption passes, one condition
// per line. It returns the reason to refuse, or RefusedNone.
func (hs *server12) resumable(s *Session, now time.Time) Refusal {
	cfg, h := hs.c.config, hs.hello
	switch {
	// The session belongs to this application (SSL_set_session_id_context).
	case !bytes.Equal(s.idContext, cfg.SessionIDContext):
		return RefusedContext
	// RFC 5246, Section 7.4.1.2: a session resumes with its own version.
	case s.version != VersionTLS12:
		return RefusedVersion
	// The session's lifetime is over.
	case s.Expired(now):
		return RefusedExpired
	// The session's suite must still be enabled here.
	case !cfg.suiteEnabled(s.cipherSuite) || suiteByID(s.cipherSuite).tls13:
		return RefusedCipher
	// RFC 6066, Section 3: a session is resumed only for the name it was
	// made for.
	case s.serverName != h.ServerName:
		return RefusedSNI
	// A resumption must not skip client authentication the full handshake
	// would now demand.
	case !cfg.clientAuthSatisfiedBy(s, now):
		return RefusedClientAuth
	// RFC 7366, Section 3.1: a session keeps encrypt-then-MAC.
	case s.etm && !h.EncryptThenMAC:
		return RefusedETM
	// The per-connection hook may forbid resumption.
	case !hs.cacheable:
		return RefusedNotResumable
	}
	return RefusedNone
}

// store returns the SessionStore in use: the Config's, or the internal cache.
func (cfg *Config) store() SessionStore {
	if cfg.SessionStore != nil {
		return cfg.SessionStore
	}
	return cfg.internalCache()
}

// memoryStore returns the store when it is one of our in-memory caches,
// which cannot fail nor block and are called directly; nil otherwise.
func (cfg *Config) memoryStore() *MemorySessionCache {
	if cfg.SessionStore == nil {
		return cfg.internalCache()
	}
	m, _ := cfg.SessionStore.(*MemorySessionCache)
	return m
}

// lookupSource says where lookupSession found a session, or that the
// internal cache found it expired.
type lookupSource int

const (
	notFound lookupSource = iota
	foundInStore
	foundByCallback
	foundExpired // by the internal cache, which dropped it
)

// lookupSession finds a session by ID: in the store unless internal
// lookups are off, then through the GetSession callback. An external
// store and the callback run guarded (store_guard.go): err reports that
// one of them failed, timed out or panicked, so that the caller can tell
// an outage from a miss. Either way the handshake goes on as a full one.
func (c *Conn) lookupSession(ctx context.Context, id []byte) (s *Session, found lookupSource, err error) {
	cfg := c.config
	expired := false
	if cfg.cacheMode()&SessionCacheNoInternalLookup == 0 {
		if cfg.SessionStore == nil {
			s, expired = cfg.internalCache().lookup(id)
		} else if m := cfg.memoryStore(); m != nil {
			s, _ = m.Get(ctx, id)
		} else {
			store := cfg.SessionStore
			s, err = guardedCall(ctx, cfg, "SessionStore.Get", func(ctx context.Context) (*Session, error) {
				return store.Get(ctx, id)
			})
		}
		if s != nil {
			return s, foundInStore, nil
		}
	}
	if get := cfg.GetSession; get != nil {
		got, cbErr := guardedCall(ctx, cfg, "GetSession", func(context.Context) (*Session, error) {
			return get(id), nil
		})
		if got != nil {
			return got, foundByCallback, nil
		}
		err = errors.Join(err, cbErr)
	}
	if expired {
		return nil, foundExpired, err
	}
	return nil, notFound, err
}

// removeSession drops an expired session s from the store and hands s,
// which the caller already holds, to OnRemoveSession: after the Delete the
// store no longer has it to give. For an external store the Delete is not
// waited for.
func (c *Conn) removeSession(ctx context.Context, id []byte, s *Session) {
	cfg := c.config
	if m := cfg.memoryStore(); m != nil {
		m.Delete(ctx, id) // the internal cache calls OnRemoveSession itself
		if cfg.SessionStore != nil && cfg.OnRemoveSession != nil {
			recoverCallback(cfg, func() { cfg.OnRemoveSession(s) })
		}
		return
	}
	store := cfg.SessionStore
	guardedAsync(ctx, cfg, "SessionStore.Delete", func(ctx context.Context) error {
		return store.Delete(ctx, id)
	})
	if cfg.OnRemoveSession != nil {
		recoverCallback(cfg, func() { cfg.OnRemoveSession(s) })
	}
}

// putSession stores a new session under id. The internal cache is written
// at once (so a client that reconnects the moment the handshake ends finds
// the session); an external store is written off the handshake's critical
// path, with the store budget, and a failure only costs that session's
// resumption.
func (c *Conn) putSession(ctx context.Context, id []byte, s *Session) {
	cfg := c.config
	if m := cfg.memoryStore(); m != nil {
		m.Put(ctx, id, s)
		return
	}
	store := cfg.SessionStore
	guardedAsync(ctx, cfg, "SessionStore.Put", func(ctx context.Context) error {
		return store.Put(ctx, id, s)
	})
}

// storeSession caches a new session by ID and tells OnNewSession.
func (hs *server12) storeSession(s *Session) {
	c, cfg := hs.c, hs.c.config
	if len(s.id) == 0 || !cfg.serverCacheOn() {
		return
	}
	if cfg.cacheMode()&SessionCacheNoInternalStore == 0 {
		c.putSession(hs.ctx, s.id, s)
	}
	if cfg.OnNewSession != nil {
		// A panicking callback costs nothing but its own work.
		recoverCallback(cfg, func() { cfg.OnNewSession(s) })
	}
}

// clientAuthSatisfiedBy reports whether a session's client authentication
// meets the current ClientAuth policy at now: a certificate if one is
// required, a verified one if verification is on, and one that has not
// expired since. Both versions' resumption checks use it, so a resumption
// never skips authentication a full handshake would do.
func (cfg *Config) clientAuthSatisfiedBy(s *Session, now time.Time) bool {
	switch {
	case cfg.clientAuth().requires() && len(s.peerCerts) == 0:
		return false
	case cfg.clientAuth().verifies() && len(s.peerCerts) > 0 && !s.verified:
		return false
	case cfg.clientAuth().verifies() && len(s.peerCerts) > 0:
		_, valid := s.leafValidAt(now)
		return valid
	}
	return true
}
