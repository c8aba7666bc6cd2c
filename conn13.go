package reprise

import (
	"crypto/x509"
	"errors"
	"sync"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/diag"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// maxTicketLifetime13 is the longest a TLS 1.3 ticket may be kept (RFC
// 8446, Section 4.6.1: "Clients MUST NOT cache tickets for longer than 7
// days, regardless of the ticket_lifetime").
const maxTicketLifetime13 = 7 * 24 * time.Hour

// maxTicketsPerConnection13 bounds the sessions a client keeps from the
// NewSessionTickets of one connection: a server may send any number.
const maxTicketsPerConnection13 = 8

// post13State is what a TLS 1.3 connection needs after its handshake: the
// application traffic secrets for KeyUpdate (RFC 8446, Section 7.2) and, on
// a client, what turns a NewSessionTicket into a Session (Section 4.6.1).
type post13State struct {
	suite     *cipherSuite
	inSecret  []byte // peer's current application traffic secret; guarded by Conn.inMu
	outSecret []byte // our current application traffic secret; guarded by Conn.outMu

	// Client only.
	resumptionSecret []byte              // resumption_master_secret
	cacheKey         string              // ClientSessionCache key
	serverName       string              // the name the server was verified for
	alpn             string              // negotiated protocol, kept with the session
	peerCerts        [][]byte            // the server's chain (on resumption, the original one)
	certs            []*x509.Certificate // peerCerts parsed
	verified         bool                // the chain was verified
	nameChecked      bool                // the leaf was checked against serverName on this connection

	// pha is post-handshake authentication's state (posthandshake13.go);
	// nil unless the client offered post_handshake_auth.
	pha *pha13

	mu       sync.Mutex
	sessions []*Session // built from received tickets, oldest first
	unused   []*Session // those not yet handed out by TakeSession, oldest first
}

// takeSession removes and returns the oldest unexpired session of an
// unused ticket, or nil; expired ones it meets are dropped.
func (p *post13State) takeSession(now time.Time) *Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.unused) > 0 {
		s := p.unused[0]
		p.unused[0] = nil
		p.unused = p.unused[1:]
		if !s.Expired(now) {
			return s
		}
	}
	return nil
}

// keep adds the session of a received ticket to those Session and
// TakeSession hand out, keeping the newest maxTicketsPerConnection13.
func (p *post13State) keep(s *Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sessions = append(p.sessions, s)
	if len(p.sessions) > maxTicketsPerConnection13 {
		p.sessions = p.sessions[len(p.sessions)-maxTicketsPerConnection13:]
	}
	p.unused = append(p.unused, s)
	if len(p.unused) > maxTicketsPerConnection13 {
		p.unused = p.unused[len(p.unused)-maxTicketsPerConnection13:]
	}
}

// latestSession returns the session from the newest ticket, or nil.
func (p *post13State) latestSession() *Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.sessions) == 0 {
		return nil
	}
	return p.sessions[len(p.sessions)-1]
}

// trafficCipher13 derives the record protection for one direction from a
// traffic secret (RFC 8446, Section 7.3).
func (s *cipherSuite) trafficCipher13(secret []byte) (record.Cipher, error) {
	key, iv := keysched.TrafficKey(s.hash, secret, s.keyLen, s.ivLen)
	rc, err := s.record13(key, iv)
	if err != nil {
		return nil, wrapError(alert.InternalError, "installing TLS 1.3 keys", err)
	}
	return rc, nil
}

// handshakeCipher13 is trafficCipher13 for a handshake traffic secret, which
// also keys its sender's Finished: it returns that finished_key as well.
func (s *cipherSuite) handshakeCipher13(secret []byte) (record.Cipher, []byte, error) {
	key, iv, finishedKey := keysched.HandshakeTrafficKeys(s.hash, secret, s.keyLen, s.ivLen)
	rc, err := s.record13(key, iv)
	if err != nil {
		return nil, nil, wrapError(alert.InternalError, "installing TLS 1.3 keys", err)
	}
	return rc, finishedKey, nil
}

// setReadSecret13 switches reading to keys derived from secret. RFC 8446,
// Section 5.1: "Handshake messages MUST NOT span key changes. Implementations
// MUST verify that all messages immediately preceding a key change align with
// a record boundary; if not, then they MUST terminate the connection with an
// "unexpected_message" alert." The caller must not hold c.inMu.
func (c *Conn) setReadSecret13(suite *cipherSuite, secret []byte) error {
	rc, err := suite.trafficCipher13(secret)
	if err != nil {
		return err
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	return c.setReadCipherLocked13(rc)
}

func (c *Conn) setReadCipherLocked13(rc record.Cipher) error {
	if len(c.hand) > 0 {
		return c.setReadErr(peerError(alert.UnexpectedMessage, "handshake message spans a key change"))
	}
	c.in.SetCipher(rc)
	return nil
}

// setWriteSecret13 switches writing to keys derived from secret. Records
// already queued were sealed under the old keys.
func (c *Conn) setWriteSecret13(suite *cipherSuite, secret []byte) error {
	rc, err := suite.trafficCipher13(secret)
	if err != nil {
		return err
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.setWriteCipherLocked(rc)
}

// handlePostHandshake13 handles one handshake message received after a TLS
// 1.3 handshake. It is called with c.inMu held. RFC 8446, Section 4.6 allows
// only NewSessionTicket (to a client), KeyUpdate, and CertificateRequest
// (to a client that offered post_handshake_auth; posthandshake13.go). A
// server's RequestClientCertificate reads the client's answer itself.
func (c *Conn) handlePostHandshake13(msg []byte) error {
	switch msg[0] {
	case wire.TypeNewSessionTicket:
		if !c.isClient {
			return peerError(alert.UnexpectedMessage, "client sent a NewSessionTicket")
		}
		return c.handleNewSessionTicket13(msg)
	case wire.TypeKeyUpdate:
		return c.handleKeyUpdate13(msg)
	case wire.TypeCertificateRequest:
		if c.isClient {
			return c.answerCertificateRequest13(msg)
		}
	}
	return peerError(alert.UnexpectedMessage, "unexpected %s after the TLS 1.3 handshake", msgName(msg[0]))
}

// handleNewSessionTicket13 reads a ticket, bounds how many arrive without
// application data, and hands it to saveTicket13 (client_resume.go), which
// turns it into a Session (RFC 8446, Section 4.6.1).
func (c *Conn) handleNewSessionTicket13(msg []byte) error {
	nst := new(wire.NewSessionTicket13)
	if err := nst.Unmarshal(msg); err != nil {
		return err
	}
	// Tickets are bounded like the other messages that bring Read no
	// data, with a count of their own: a server sends a batch of them
	// right after the handshake, which should not use up the allowance
	// for KeyUpdates.
	c.ticketsWithoutData++
	if c.ticketsWithoutData > maxRecordsWithoutData {
		return peerError(alert.UnexpectedMessage, "more than %d NewSessionTickets without application data", maxRecordsWithoutData)
	}
	if f := c.config.diagnostics.OnTicket; f != nil {
		f(diag.Ticket{Version: VersionTLS13, Lifetime: nst.Lifetime, AgeAdd: nst.AgeAdd, NonceLen: len(nst.Nonce), Len: len(nst.Ticket)})
	}
	c.saveTicket13(nst)
	return nil
}

// handleKeyUpdate13 moves the read side to the next traffic secret and, if
// the peer asks, answers with a KeyUpdate of our own (RFC 8446, Section
// 4.6.3).
func (c *Conn) handleKeyUpdate13(msg []byte) error {
	ku := new(wire.KeyUpdate)
	if err := ku.Unmarshal(msg); err != nil {
		return err
	}
	if err := c.countRecordWithoutData("KeyUpdates"); err != nil {
		return err
	}
	p := c.post13
	p.inSecret = keysched.NextTrafficSecret(p.suite.hash, p.inSecret)
	rc, err := p.suite.trafficCipher13(p.inSecret)
	if err != nil {
		return err
	}
	if err := c.setReadCipherLocked13(rc); err != nil {
		return err
	}
	// "If the request_update field is set to "update_requested", then the
	// receiver MUST send a KeyUpdate of its own with request_update set to
	// "update_not_requested" prior to sending its next Application Data
	// record."
	if ku.RequestUpdate {
		return c.sendKeyUpdate(false)
	}
	return nil
}

// SendKeyUpdate sends a TLS 1.3 KeyUpdate and switches to new write keys
// (RFC 8446, Section 4.6.3). With requestPeer the peer is asked to update
// its keys too; its answer is handled by Read.
func (c *Conn) SendKeyUpdate(requestPeer bool) error {
	if err := c.Handshake(); err != nil {
		return err
	}
	if c.vers != VersionTLS13 || c.post13 == nil {
		return errors.New("tls: KeyUpdate needs a TLS 1.3 connection")
	}
	return c.fail(c.sendKeyUpdate(requestPeer))
}

// sendKeyUpdate writes a KeyUpdate under the current keys, then moves to
// the next traffic secret, under outMu so no record slips between.
func (c *Conn) sendKeyUpdate(requestPeer bool) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if f := c.fatal.Load(); f != nil {
		return f
	}
	if c.closeSent {
		return errors.New("tls: KeyUpdate after close_notify")
	}
	msg, err := (&wire.KeyUpdate{RequestUpdate: requestPeer}).Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding KeyUpdate", err)
	}
	c.traceMessage(true, msg)
	if _, err := c.writeRecordLocked(record.Handshake, msg); err != nil {
		return err
	}
	if err := c.flushLocked(); err != nil {
		return err
	}
	p := c.post13
	next := keysched.NextTrafficSecret(p.suite.hash, p.outSecret)
	rc, err := p.suite.trafficCipher13(next)
	if err != nil {
		c.writeErr = err
		return err
	}
	p.outSecret = next
	c.out.SetCipher(rc)
	return nil
}

// installHandshakeKeys13 derives both handshake traffic secrets from the
// transcript through ServerHello (RFC 8446, Section 7.1), logs them, and
// switches both directions to them: our secret for writing, the peer's for
// reading. The peer's last plaintext message must end its record, which
// setReadCipherLocked13 checks. It returns the finished_key of each side's
// Finished (Section 4.4.4).
func (c *Conn) installHandshakeKeys13(suite *cipherSuite, secret *keysched.HandshakeSecret, transcriptHash, clientRandom []byte) (clientFinishedKey, serverFinishedKey []byte, err error) {
	clientHS := secret.ClientHandshakeTrafficSecret(transcriptHash)
	serverHS := secret.ServerHandshakeTrafficSecret(transcriptHash)
	c.keyLog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", clientRandom, clientHS)
	c.keyLog("SERVER_HANDSHAKE_TRAFFIC_SECRET", clientRandom, serverHS)
	clientCipher, clientFinishedKey, err := suite.handshakeCipher13(clientHS)
	if err != nil {
		return nil, nil, err
	}
	serverCipher, serverFinishedKey, err := suite.handshakeCipher13(serverHS)
	if err != nil {
		return nil, nil, err
	}
	ours, theirs := serverCipher, clientCipher
	if c.isClient {
		ours, theirs = clientCipher, serverCipher
	}
	c.outMu.Lock()
	err = c.setWriteCipherLocked(ours)
	c.outMu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	return clientFinishedKey, serverFinishedKey, c.setReadCipherLocked13(theirs)
}
