package reprise

import (
	"bytes"
	"context"
	"crypto/hmac"
	"slices"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// maxPSKIdentitiesTried bounds the identities of one ClientHello we open:
// each costs a MAC (and a store lookup), and the list is the peer's.
const maxPSKIdentitiesTried = 8

// pskDecision is the TLS 1.3 server's resumption decision: the common
// resumeDecision plus what the key schedule needs when a PSK was accepted.
type pskDecision struct {
	resumeDecision
	identity uint16                // index of the accepted identity in the ClientHello
	dhe      bool                  // psk_dhe_ke (else psk_ke)
	early    *keysched.EarlySecret // Early Secret from the accepted PSK
}

// selectPSK is the TLS 1.3 server's one place for "resume or not" (RFC
// 8446, Section 4.2.11). It answers the ClientHello in hs.hello, with the
// messages before it in hs.t. The first acceptable identity wins; its
// binder is verified before anything from the session is used. Declining
// is a value; only the RFC's MUST-abort cases return errors. Like
// decideResumption it writes nothing into hs or the counters, and even
// with an error the decision carries what its lookups met.
func (hs *server13) selectPSK() (pskDecision, error) {
	h, cfg := hs.hello, hs.c.config
	var d pskDecision
	if len(h.PSKIdentities) == 0 {
		return d, nil
	}
	// RFC 8446, Section 4.2.9: "If clients offer "pre_shared_key" without a
	// "psk_key_exchange_modes" extension, servers MUST abort the handshake."
	if len(h.PSKModes) == 0 {
		return d, peerError(alert.MissingExtension, "ClientHello offers a PSK without psk_key_exchange_modes")
	}
	// Section 4.2.11: identities and binders correspond one to one; the
	// binder of an identity that has none cannot be validated, and "If this
	// value is not present or does not validate, the server MUST abort the
	// handshake."
	if len(h.PSKIdentities) != len(h.PSKBinders) {
		return d, peerError(alert.IllegalParameter, "ClientHello has %d PSK identities but %d binders", len(h.PSKIdentities), len(h.PSKBinders))
	}
	// (pre_shared_key not being the last extension is refused by the wire
	// parser with illegal_parameter, as Section 4.2.11 requires.)

	switch {
	case cfg.ticketMode13() == tickets13Off:
		d.refused = RefusedTicketsOff
		return d, nil
	case !hs.cacheable:
		d.refused = RefusedNotResumable
		return d, nil
	}
	// Section 4.2.9: "Servers MUST NOT select a key exchange mode that is
	// not listed by the client." We prefer psk_dhe_ke for forward secrecy
	// and take psk_ke only when configured to.
	switch {
	case slices.Contains(h.PSKModes, wire.PSKModeDHE) && hs.group != 0 && hs.clientShare != nil:
		d.dhe = true
	case slices.Contains(h.PSKModes, wire.PSKModePlain) && cfg.AllowPSKWithoutDHE:
		d.dhe = false
	default:
		d.refused = RefusedPSKMode
		return d, nil
	}

	now := cfg.time()
	truncated := hs.helloMsg[:len(hs.helloMsg)-h.BindersLen()]
	for i, id := range h.PSKIdentities[:min(len(h.PSKIdentities), maxPSKIdentitiesTried)] {
		s, refused := hs.lookupPSK(id.Identity, &d.met)
		if s != nil {
			refused = hs.resumable13(s, id.ObfuscatedTicketAge, now)
		}
		if refused != RefusedNone {
			if refused == RefusedExpired {
				d.met.timeouts++
			}
			if d.refused == RefusedNone {
				d.refused = refused // the first identity's reason explains best
			}
			continue
		}
		// Section 4.2.11: "Prior to accepting PSK key establishment, the
		// server MUST validate the corresponding binder value [...]. If
		// this value is not present or does not validate, the server MUST
		// abort the handshake." The binder covers the transcript before
		// this ClientHello and the ClientHello up to the binders list
		// (Section 4.2.11.2).
		early := keysched.NewEarlySecret(hs.suite.hash, s.secret)
		want := keysched.Finished13(hs.suite.hash, early.ResumptionBinderKey(), hs.t.SumWith(truncated))
		if !hmac.Equal(h.PSKBinders[i], want) {
			return pskDecision{resumeDecision: resumeDecision{met: d.met}}, ErrBadBinder
		}
		d.resumeDecision = resumeDecision{session: s, via: ResumedPSK, met: d.met}
		d.identity, d.early = uint16(i), early
		return d, nil
	}
	return d, nil
}

// ticketMode13 is how a TLS 1.3 server issues and redeems tickets.
type ticketMode13 int

const (
	tickets13Off      ticketMode13 = iota // no tickets issued, none redeemed
	tickets13Sealed                       // stateless: the session sealed by the ticket keys
	tickets13Stateful                     // a random identity of a session kept in the store, taken on use
)

// ticketMode13 decides between sealed and stateful tickets. With
// SessionTicketsDisabled a server still resumes TLS 1.3 through its session
// cache, as OpenSSL and nginx do: RFC 8446 has no session IDs (Section 2.2),
// so a stateful ticket, whose identity is a key into the cache, is the only
// way, and without it TLS 1.3 clients would never resume. Such tickets are
// what SingleUseTickets makes; only with the session cache off too are there
// no tickets at all.
func (c *Config) ticketMode13() ticketMode13 {
	switch {
	case c.SessionTicketsDisabled && c.serverCacheOn():
		return tickets13Stateful
	case c.SessionTicketsDisabled:
		return tickets13Off
	case c.SingleUseTickets:
		return tickets13Stateful
	}
	return tickets13Sealed
}

// Stateful ticket identities are 32 random bytes followed by the first 8
// bytes of SHA-256("reprise ticket ID" || those 32 bytes), as session IDs
// are tagged (store_guard.go). The tag lets the server refuse an identity
// it cannot have issued (a sealed ticket from before tickets were turned
// off, or junk) without a store round trip: a ClientHello may carry
// several identities, each of which would otherwise cost one. At 40 bytes
// an identity is also longer than any TLS 1.2 session ID (at most 32,
// RFC 5246, Section 7.4.1.2), so sharing the store with session IDs, a
// TLS 1.2 ID seen on the wire can never be offered as a PSK identity to
// take the session it names, nor a ticket identity be looked up as an ID.
const (
	ticketIDRandomLen = 32
	ticketIDLen       = ticketIDRandomLen + sessionIDTagLen
)

const ticketIDTagLabel = "reprise ticket ID"

// newTicketID returns a fresh tagged stateful ticket identity.
func (c *Config) newTicketID() ([]byte, error) {
	return newTaggedID(c.rand(), ticketIDTagLabel, ticketIDRandomLen)
}

// isOurTicketID reports whether identity has the shape of a stateful
// ticket this server (or another reprise node) issued.
func isOurTicketID(identity []byte) bool {
	return hasIDTag(identity, ticketIDTagLabel, ticketIDRandomLen)
}

// lookupPSK finds the session behind a PSK identity: a sealed ticket, or
// for a stateful ticket an entry taken from the store, so that it can
// never be used twice. The identity is attacker-controlled; every failure
// is a refusal. What the lookup meets is tallied in met.
func (hs *server13) lookupPSK(identity []byte, met *lookupTally) (*Session, Refusal) {
	c, cfg := hs.c, hs.c.config
	if cfg.ticketMode13() == tickets13Sealed {
		s, status, refused := c.openTicket(hs.ctx, identity)
		met.ticketOpened(status)
		return s, refused
	}
	if !isOurTicketID(identity) {
		// Not a stateful ticket of ours: no store lookup. With stateless
		// tickets off, it is most likely a sealed ticket from before they
		// were turned off; with SingleUseTickets it explains as before,
		// as an unknown session.
		if cfg.SessionTicketsDisabled {
			return nil, RefusedTicketsOff
		}
		met.misses++
		return nil, RefusedUnknownSession
	}
	s, err := c.takeSession(hs.ctx, identity)
	switch {
	case err != nil:
		return nil, storeRefusal(err)
	case s == nil:
		met.misses++
		return nil, RefusedUnknownSession
	}
	return s, RefusedNone
}

// takeSession gets and deletes the session stored under id, atomically if
// the store can (SessionTaker). An external store runs guarded: an error
// means it failed, timed out or panicked.
func (c *Conn) takeSession(ctx context.Context, id []byte) (*Session, error) {
	cfg := c.config
	if m := cfg.memoryStore(); m != nil {
		return m.Take(ctx, id)
	}
	store := cfg.SessionStore
	return guardedCall(ctx, cfg, "SessionStore.Take", func(ctx context.Context) (*Session, error) {
		if taker, ok := store.(SessionTaker); ok {
			return taker.Take(ctx, id)
		}
		// Without an atomic take two connections racing with one ticket
		// could both resume. Without 0-RTT that replays nothing: each
		// still runs its own handshake to its own keys.
		s, err := store.Get(ctx, id)
		if err == nil && s != nil {
			err = store.Delete(ctx, id)
		}
		return s, err
	})
}

// resumable13 is the check every TLS 1.3 resumption passes, one condition
// per line. It returns the reason to refuse, or RefusedNone.
func (hs *server13) resumable13(s *Session, obfuscatedAge uint32, now time.Time) Refusal {
	cfg, h := hs.c.config, hs.hello
	switch {
	// The session belongs to this application (SSL_set_session_id_context).
	case !bytes.Equal(s.idContext, cfg.SessionIDContext):
		return RefusedContext
	// A TLS 1.2 session cannot become a TLS 1.3 PSK.
	case s.version != VersionTLS13:
		return RefusedVersion
	// Section 4.6.1: "Servers MUST NOT use any value greater than 604800
	// seconds" and the ticket is not valid beyond its lifetime.
	case s.Expired(now):
		return RefusedExpired
	// Section 4.6.1: "Any ticket MUST only be resumed with a cipher suite
	// that has the same KDF hash algorithm as that used to establish the
	// original connection."
	case suiteByID(s.cipherSuite) == nil || suiteByID(s.cipherSuite).hash != hs.suite.hash:
		return RefusedCipher
	// RFC 6066, Section 3 and RFC 8446, Section 4.6.1: a session resumes
	// only for the name it was made for.
	case s.serverName != h.ServerName:
		return RefusedSNI
	// The application protocol stays what the session was made with (RFC
	// 8446, Section 4.2.10 requires it for 0-RTT; we apply it to every
	// resumption so a session never changes protocols).
	case s.alpn != hs.alpn:
		return RefusedALPN
	// Section 4.2.11.1: the client's view of the ticket age must agree with
	// ours within the allowed skew.
	case !ticketAgeOK(s, obfuscatedAge, now, cfg.maxTicketAgeSkew()):
		return RefusedAgeWindow
	// A resumption must not skip client authentication the full handshake
	// would now demand (Section 4.3.2 forbids asking for it with a PSK).
	case !cfg.clientAuthSatisfiedBy(s, now):
		return RefusedClientAuth
	}
	return RefusedNone
}

// ticketAgeOK compares the age the client reports, obfuscated_ticket_age
// minus ticket_age_add modulo 2^32 in milliseconds (Section 4.2.11.1), with
// the age we compute from the ticket's birth.
func ticketAgeOK(s *Session, obfuscatedAge uint32, now time.Time, skew time.Duration) bool {
	clientAge := time.Duration(obfuscatedAge-s.ageAdd) * time.Millisecond
	serverAge := now.Sub(s.created)
	diff := clientAge - serverAge
	return diff <= skew && diff >= -skew
}

// maxTicketAgeSkew is Config.MaxTicketAgeSkew with its default.
func (c *Config) maxTicketAgeSkew() time.Duration {
	if c.MaxTicketAgeSkew > 0 {
		return c.MaxTicketAgeSkew
	}
	return 10 * time.Second
}
