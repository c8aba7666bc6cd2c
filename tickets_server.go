package reprise

// Ticket issuing, both versions: TLS 1.2's one NewSessionTicket promised in
// ServerHello (RFC 5077, Section 3.3) and TLS 1.3's post-handshake
// NewSessionTickets (RFC 8446, Section 4.6.1).

import (
	"crypto/x509"
	"encoding/binary"
	"slices"
	"time"

	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// sealTicket12 seals s into a ticket (RFC 5077, Section 4), or returns nil
// when sealing fails.
func (hs *server12) sealTicket12(s *Session) []byte {
	t, err := hs.c.sealTicket(hs.ctx, s)
	if err != nil || len(t) == 0 {
		return nil
	}
	return t
}

// sendNewSessionTicket sends ticket (RFC 5077, Section 3.3); an empty one
// when sealing failed keeps the promise of the ServerHello's extension.
func (hs *server12) sendNewSessionTicket(ticket []byte) error {
	c := hs.c
	nst := &wire.NewSessionTicket12{LifetimeHint: uint32(c.config.sessionTimeout() / time.Second), Ticket: ticket}
	if len(ticket) > 0 {
		c.counters().ticketsIssued.Add(1)
		c.state.TicketsIssued++
	}
	_, err := c.writeMsg(hs.t, nst)
	return err
}

// sendNewSessionTickets issues TicketsPerConnection tickets (RFC 8446,
// Section 4.6.1), or one after a resumption (ticketsToIssue), right after
// our Finished or, when the client authenticates, after its Finished so
// the tickets carry its certificate. Each is a stateless ticket (the
// session sealed by the ticket keys) or a stateful one, the random
// identity of a session kept in the store (ticketMode13).
func (hs *server13) sendNewSessionTickets() error {
	c, cfg := hs.c, hs.c.config
	n, mode := hs.ticketsToIssue()
	if n <= 0 {
		return nil
	}
	batch, ok := hs.newTicketBatch()
	if !ok {
		return nil
	}
	for i := range n {
		nonce := hs.ticketNonce(i)
		var ageAdd [4]byte
		if _, err := readFull(cfg.rand(), ageAdd[:]); err != nil {
			return err
		}
		s := hs.ticketSession(batch, nonce, binary.BigEndian.Uint32(ageAdd[:]))
		ticket, ok := hs.mintTicket(s, mode)
		if !ok {
			// A failing sealer means no ticket, not a failed handshake;
			// the next would fail too, and each try may cost the store
			// budget while the client waits.
			break
		}
		if _, err := c.writeMsg(nil, hs.newSessionTicket13(s, nonce, ticket)); err != nil {
			return err
		}
		c.counters().ticketsIssued.Add(1)
		c.state.TicketsIssued++
		c.state.session = s
	}
	return nil
}

// ticketsToIssue is how many tickets to send now and how to make them;
// none when the client's psk_key_exchange_modes fit no ticket we could
// issue, when the connection's sessions may not resume, or when tickets
// are off.
func (hs *server13) ticketsToIssue() (int, ticketMode13) {
	cfg, h := hs.c.config, hs.hello
	n := cfg.TicketsPerConnection
	if n == 0 {
		n = 2
	}
	if hs.resumed != nil {
		// A resumption spent one of the client's tickets (Appendix C.4:
		// each is used once), so one replaces it: the client keeps as
		// many as its full handshake gave it, without the server paying
		// to seal (or store) a batch per connection. OpenSSL and nginx
		// send one too.
		n = min(n, 1)
	}
	// Each ticket's nonce is its one-byte index, and nonces must differ
	// within a connection (RFC 8446, Section 4.6.1) so each PSK does.
	n = min(n, 256)
	// Section 4.2.9: "Servers SHOULD NOT send NewSessionTicket with tickets
	// that are not compatible with the advertised modes".
	modeOK := slices.Contains(h.PSKModes, wire.PSKModeDHE) ||
		(slices.Contains(h.PSKModes, wire.PSKModePlain) && cfg.AllowPSKWithoutDHE)
	mode := cfg.ticketMode13()
	if n < 0 || !modeOK || !hs.cacheable || mode == tickets13Off {
		return 0, mode
	}
	return n, mode
}

// ticketBatch13 is what the tickets of one batch share: when they were
// made, how long they live, the client identity they carry and the
// resumption_master_secret their PSKs derive from.
type ticketBatch13 struct {
	now              time.Time
	lifetime         time.Duration
	verified         bool
	peerCerts        [][]byte
	certs            []*x509.Certificate
	resumptionSecret []byte
}

// newTicketBatch works out the batch's lifetime and client identity; false
// when what remains of the lifetime is too short to be worth a ticket.
func (hs *server13) newTicketBatch() (*ticketBatch13, bool) {
	c, cfg := hs.c, hs.c.config
	now := cfg.time()
	lifetime := cfg.ticketLifetime13()
	if cfg.ticketMode13() == tickets13Stateful && cfg.TicketLifetime <= 0 {
		// A stateful ticket occupies the store for its lifetime, up to
		// TicketsPerConnection per connection: like OpenSSL's and nginx's, it lives as long as a
		// cached session (SessionTimeout), not RFC 8446's 7-day maximum.
		lifetime = min(lifetime, cfg.sessionTimeout())
	}
	peerCerts, certs := clientLeafOnly(hs.peerChain, c.state.PeerCertificates)
	verified := hs.verified
	if s := hs.resumed; s != nil {
		// Section 4.6.1 recommends limiting the total lifetime of keying
		// material first authenticated by a certificate: tickets from a
		// resumption expire with the original session.
		lifetime = min(lifetime, s.created.Add(s.lifetime).Sub(now))
		if hs.phaRounds == 0 { // else the identity post-handshake auth just learned
			peerCerts, verified = s.peerCerts, s.verified
			certs, _ = s.PeerCertificates()
		}
	}
	if lifetime < time.Second {
		return nil, false
	}
	return &ticketBatch13{
		now:              now,
		lifetime:         lifetime,
		verified:         verified,
		peerCerts:        peerCerts,
		certs:            certs,
		resumptionSecret: hs.master.ResumptionMasterSecret(hs.t.Sum()),
	}, true
}

// ticketSession is the session one ticket of the batch resumes: its PSK is
// derived from the resumption_master_secret and the ticket's nonce
// (RFC 8446, Section 4.6.1).
func (hs *server13) ticketSession(b *ticketBatch13, nonce []byte, ageAdd uint32) *Session {
	cfg := hs.c.config
	return &Session{
		version:     VersionTLS13,
		cipherSuite: hs.suite.id,
		secret:      keysched.ResumptionPSK(hs.suite.hash, b.resumptionSecret, nonce),
		verified:    b.verified,
		idContext:   cfg.SessionIDContext,
		created:     b.now,
		lifetime:    b.lifetime,
		serverName:  hs.hello.ServerName,
		alpn:        hs.alpn,
		peerCerts:   b.peerCerts,
		certs:       b.certs,
		ageAdd:      ageAdd,
		maxEarly:    cfg.MaxEarlyData,
	}
}

// newSessionTicket13 is the NewSessionTicket message that carries ticket,
// the identity of s.
func (hs *server13) newSessionTicket13(s *Session, nonce, ticket []byte) *wire.NewSessionTicket13 {
	cfg := hs.c.config
	nst := &wire.NewSessionTicket13{
		Lifetime: uint32(s.lifetime / time.Second),
		AgeAdd:   s.ageAdd,
		Nonce:    nonce,
		Ticket:   ticket,
	}
	if n := cfg.testAdvertiseEarlyData; n > 0 {
		nst.HasEarlyData, nst.MaxEarlyData = true, n
	}
	if cfg.MaxEarlyData > 0 {
		// RFC 8446, Section 4.6.1: max_early_data_size, the
		// early data this ticket may carry.
		nst.HasEarlyData, nst.MaxEarlyData = true, cfg.MaxEarlyData
	}
	return nst
}

// ticketsSealedHere reports whether mintTicket seals sessions in process
// with the ticket keys, calling out to no store or TicketSealer.
func (hs *server13) ticketsSealedHere() bool {
	cfg := hs.c.config
	return cfg.TicketSealer == nil && !cfg.SingleUseTickets && !cfg.SessionTicketsDisabled
}

// mintTicket makes the ticket identity for s.
func (hs *server13) mintTicket(s *Session, mode ticketMode13) ([]byte, bool) {
	c, cfg := hs.c, hs.c.config
	if mode == tickets13Sealed {
		t, err := c.sealTicket(hs.ctx, s)
		return t, err == nil
	}
	id, err := cfg.newTicketID()
	if err != nil {
		return nil, false
	}
	// The Put is off the critical path for an external store (putSession):
	// a store that fails it costs this ticket's later resumption, not the
	// handshake.
	c.putSession(hs.ctx, id, s)
	return id, true
}

// ticketNonce is the nonce of the i-th ticket of one batch: one byte for
// the handshake's batch, and after each post-handshake authentication a
// longer one that names the round, so that nonces never repeat within a
// connection (Section 4.6.1) and neither do the PSKs.
func (hs *server13) ticketNonce(i int) []byte {
	if hs.phaRounds == 0 {
		return []byte{byte(i)}
	}
	r := hs.phaRounds
	return []byte{byte(r >> 24), byte(r >> 16), byte(r >> 8), byte(r), byte(i)}
}
