package reprise

import (
	"context"
	"crypto/hmac"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// Asking for a client certificate after the handshake (seed 002's
// per-directory client authentication): a TLS 1.2 server renegotiates
// (RFC 5746; RFC 5246, Section 7.4.1.1), a TLS 1.3 server sends a
// post-handshake CertificateRequest (RFC 8446, Section 4.6.2,
// posthandshake13.go). Conn.RequestClientCertificate does either.

// RenegotiationSupport is how a TLS 1.2 client answers a server's
// HelloRequest; it is crypto/tls's type, so a crypto/tls Config's value
// carries over.
type RenegotiationSupport = tls.RenegotiationSupport

const (
	// RenegotiateNever refuses every HelloRequest with a no_renegotiation
	// warning (RFC 5746, Section 4.2). The default.
	RenegotiateNever = tls.RenegotiateNever
	// RenegotiateOnceAsClient answers the first HelloRequest of a
	// connection and refuses the others.
	RenegotiateOnceAsClient = tls.RenegotiateOnceAsClient
	// RenegotiateFreelyAsClient answers every HelloRequest.
	RenegotiateFreelyAsClient = tls.RenegotiateFreelyAsClient
)

// RefusedRenegotiation: a TLS 1.2 client offered a session in a
// renegotiation ClientHello and Config.ResumeOnRenegotiation is off.
const RefusedRenegotiation Refusal = "renegotiation"

// Errors RequestClientCertificate returns without ending the connection.
var (
	// ErrNoClientCertificate: the client answered with no certificate;
	// the connection goes on without one.
	ErrNoClientCertificate = errors.New("tls: the client sent no certificate")
	// ErrRenegotiationRefused: the TLS 1.2 client answered the
	// HelloRequest with a no_renegotiation warning.
	ErrRenegotiationRefused = errors.New("tls: the client refused to renegotiate")
	// ErrRenegotiationUnsupported: the TLS 1.2 client did not signal RFC
	// 5746 secure renegotiation, and insecure renegotiation is never made.
	ErrRenegotiationUnsupported = errors.New("tls: the client does not support secure renegotiation (RFC 5746)")
	// ErrPostHandshakeAuthUnsupported: the TLS 1.3 client did not offer
	// post_handshake_auth (RFC 8446, Section 4.2.6), so it cannot be asked.
	ErrPostHandshakeAuthUnsupported = errors.New("tls: the client did not offer post_handshake_auth")
)

// Signals between the record reader and a running exchange; never
// returned to callers.
var (
	// errYieldToExchange: Read met a handshake message that belongs to a
	// RequestClientCertificate in progress, and left it for it.
	errYieldToExchange = errors.New("tls: handshake message left for the exchange in progress")
	// errPeerRefusedRenegotiation: a no_renegotiation warning answered
	// our HelloRequest.
	errPeerRefusedRenegotiation = errors.New("tls: no_renegotiation received")
	// errClientRenegotiate: a client Read met a HelloRequest it answers.
	errClientRenegotiate = errors.New("tls: HelloRequest to answer")
)

// maxAppDataInExchange bounds the application data buffered for Read
// while a renegotiation or post-handshake authentication runs: RFC 5246
// lets it arrive between the handshake messages (Section 6.2.1 interleaves
// record types), and it is kept, not dropped, but not without bound.
const maxAppDataInExchange = 1 << 20

// renegState is a connection's state for asking for, and answering a
// request for, a client certificate after the handshake.
type renegState struct {
	// clientVerify and serverVerify are the verify_data of the last
	// handshake's Finished messages (RFC 5746, Section 3.1), kept by
	// both sides of a TLS 1.2 connection for the next renegotiation.
	clientVerify, serverVerify []byte

	// exchange is the server's RequestClientCertificate in progress. Read
	// leaves the records to it and waits for done.
	exchange atomic.Pointer[certExchange]
	// inExchange is set while a handshake runs after the first one (either
	// side); application data that arrives meanwhile is buffered for Read.
	inExchange atomic.Bool
	// helloRequested is set while a server waits for the answer to its
	// HelloRequest; peerRefused records a no_renegotiation answer.
	helloRequested, peerRefused atomic.Bool
	// renegotiations counts the client's renegotiations (Config.Renegotiation).
	renegotiations int

	// testOmitRequestFromTranscript, in tests only, makes a TLS 1.3
	// client sign and MAC its answer to a post-handshake
	// CertificateRequest over a transcript without the request.
	testOmitRequestFromTranscript bool
}

type certExchange struct{ done chan struct{} }

// RequestClientCertificate asks the client for a certificate after the
// handshake: in TLS 1.2 by a secure renegotiation (HelloRequest, then a
// full handshake with CertificateRequest under the current keys; RFC
// 5746), in TLS 1.3 by a post-handshake CertificateRequest (RFC 8446,
// Section 4.6.2), which needs a client that offered post_handshake_auth.
// The certificate is verified against ClientCAs when ClientCAs is set or
// ClientAuth verifies; afterwards ConnectionState().PeerCertificates holds
// it, and the sessions and tickets issued from then on carry it.
//
// It returns ErrNoClientCertificate when the client answers without one
// (the connection stays usable unless ClientAuth requires a certificate),
// and ErrRenegotiationRefused, ErrRenegotiationUnsupported or
// ErrPostHandshakeAuthUnsupported when the client cannot be asked. Other
// errors end the connection, and so does ctx ending first (the underlying
// connection is closed). Reads and Writes wait while it runs; application
// data the client sends meanwhile is kept for Read.
func (c *Conn) RequestClientCertificate(ctx context.Context) error {
	if c.isClient {
		return errors.New("tls: RequestClientCertificate is for servers")
	}
	if err := c.Handshake(); err != nil {
		return err
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if f := c.fatal.Load(); f != nil {
		return f
	}
	switch {
	case c.vers == VersionTLS13 && (c.post13 == nil || c.post13.pha == nil):
		return ErrPostHandshakeAuthUnsupported
	case c.vers == VersionTLS12 && !c.state.SecureRenegotiation:
		return ErrRenegotiationUnsupported
	}
	x := &certExchange{done: make(chan struct{})}
	c.reneg.exchange.Store(x)
	c.reneg.inExchange.Store(true)
	defer func() {
		c.reneg.inExchange.Store(false)
		c.reneg.exchange.Store(nil)
		close(x.done)
	}()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.conn.Close() })
		defer stop()
	}
	var err error
	if c.vers == VersionTLS13 {
		err = c.postHandshakeAuth13(ctx)
	} else {
		err = c.renegotiateAsServer(ctx)
	}
	switch {
	case err == nil:
		c.counters().postHandshakeAuths.Add(1)
		return nil
	case errors.Is(err, ErrNoClientCertificate):
		c.counters().postHandshakeAuths.Add(1)
		return err
	case errors.Is(err, errPeerRefusedRenegotiation):
		return ErrRenegotiationRefused
	case ctx.Err() != nil:
		err = fmt.Errorf("tls: asking for a client certificate: %w", ctx.Err())
	}
	return c.breakAfterFailedExchange(c.fail(err))
}

// breakAfterFailedExchange: a handshake after the first that failed
// half-way leaves nothing to go on with, even when the failure was the
// transport's or a deadline's (which fail does not make fatal): reads and
// writes fail from now on with err.
func (c *Conn) breakAfterFailedExchange(err error) error {
	c.inMu.Lock()
	if c.readErr == nil {
		c.readErr = err
	}
	c.inMu.Unlock()
	c.outMu.Lock()
	if c.writeErr == nil {
		c.writeErr = err
	}
	c.outMu.Unlock()
	return err
}

// renegotiateAsServer sends HelloRequest and runs the client's new
// handshake under the current keys (RFC 5246, Section 7.4.1.1; RFC 5746,
// Section 3.7). The caller holds handshakeMu.
func (c *Conn) renegotiateAsServer(ctx context.Context) error {
	msg, err := (&wire.HelloRequest{}).Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding HelloRequest", err)
	}
	c.reneg.peerRefused.Store(false)
	c.reneg.helloRequested.Store(true)
	defer c.reneg.helloRequested.Store(false)
	// HelloRequest is not part of any transcript (Section 7.4.1.1).
	if err := c.writePostHandshakeMessage(msg); err != nil {
		return err
	}
	hello := new(wire.ClientHello)
	helloMsg, err := c.readMsg(nil, wire.TypeClientHello, hello)
	if err != nil {
		return err
	}
	c.reneg.helloRequested.Store(false)
	// The version was settled by the first handshake; a renegotiation
	// cannot move to TLS 1.3, which has none.
	if !(hello.Vers >= VersionTLS12 || slices.Contains(hello.SupportedVersions, VersionTLS12)) {
		return peerError(alert.ProtocolVersion, "renegotiation ClientHello does not offer TLS 1.2")
	}
	c.resetStateForRenegotiation()
	hs := &server12{c: c, ctx: ctx, hello: hello, renego: true}
	if err := hs.run(helloMsg); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	// The new handshake's keys serve the exporters from now on.
	c.setExporter12(hs.suite, hs.master, hello.Random, hs.serverRandom, hs.ems)
	if err := c.verifyConnection(); err != nil {
		return err
	}
	if len(c.state.PeerCertificates) == 0 {
		return ErrNoClientCertificate
	}
	return nil
}

// resetStateForRenegotiation clears what the last handshake recorded and
// the new one sets afresh.
func (c *Conn) resetStateForRenegotiation() {
	s := &c.state
	s.DidResume, s.Resumption, s.Refused = false, ResumedNone, RefusedNone
	s.CurveID = 0 // a resumed renegotiation exchanges no key
	s.PeerCertificates, s.VerifiedChains = nil, nil
	// RFC 5929, Section 3.1: tls-unique is the first Finished "in the
	// most recent handshake of the current connection".
	s.TLSUnique = nil
	if !c.isClient {
		s.session = nil
	}
}

// writePostHandshakeMessage writes one handshake message now, under the
// current keys.
func (c *Conn) writePostHandshakeMessage(msg []byte) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if f := c.fatal.Load(); f != nil {
		return f
	}
	c.traceMessage(true, msg)
	if c.mutateOutgoing != nil {
		msg = c.mutateOutgoing(msg)
	}
	if _, err := c.writeRecordLocked(record.Handshake, msg); err != nil {
		return err
	}
	return c.flushLocked()
}

// checkRenegotiationInfo is RFC 5746, Section 3.7 for a server reading a
// renegotiation ClientHello.
func (hs *server12) checkRenegotiationInfo() error {
	h, c := hs.hello, hs.c
	// "The server MUST verify that it does not contain the
	// TLS_EMPTY_RENEGOTIATION_INFO_SCSV SCSV. If the SCSV is present, the
	// server MUST abort the handshake."
	if slices.Contains(h.CipherSuites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV) {
		return peerError(alert.HandshakeFailure, "renegotiation ClientHello carries the empty renegotiation_info SCSV")
	}
	// "The server MUST verify that the "renegotiation_info" extension is
	// present; if it is not, the server MUST abort the handshake." And the
	// same for a "renegotiated_connection" other than client_verify_data.
	if !h.SecureRenegotiationSupported {
		return peerError(alert.HandshakeFailure, "renegotiation ClientHello lacks renegotiation_info")
	}
	if !hmac.Equal(h.SecureRenegotiation, c.reneg.clientVerify) {
		return peerError(alert.HandshakeFailure, "renegotiation_info does not carry the previous client_verify_data")
	}
	hs.secureReneg = true
	return nil
}

// renegotiationInfo is what the server's renegotiation_info carries:
// empty on the first handshake, client_verify_data followed by
// server_verify_data on a renegotiation (RFC 5746, Section 3.7).
func (hs *server12) renegotiationInfo() []byte {
	if !hs.renego {
		return nil
	}
	return slices.Concat(hs.c.reneg.clientVerify, hs.c.reneg.serverVerify)
}

// refusesResumptionOnRenegotiation: seed 002's
// SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION, our default.
func (hs *server12) refusesResumptionOnRenegotiation() bool {
	h := hs.hello
	return hs.renego && !hs.c.config.ResumeOnRenegotiation && (len(h.SessionID) > 0 || len(h.SessionTicket) > 0)
}

// requestsClientCert: a renegotiation is made to see a certificate.
func (hs *server12) requestsClientCert() bool {
	return hs.renego || hs.c.config.clientAuth().requests()
}

// verifiesClientCert: on a renegotiation the certificate is verified
// against ClientCAs whenever they are set.
func (hs *server12) verifiesClientCert() bool {
	return hs.c.config.clientAuth().verifies() || (hs.renego && hs.c.config.ClientCAs != nil)
}

// ---- the client side -------------------------------------------------

// answersHelloRequest says whether a TLS 1.2 client renegotiates now:
// Config.Renegotiation allows it, and the server supports secure
// renegotiation (insecure renegotiation is never made: RFC 5746, Section
// 4.2 lets a client refuse it, and we always do).
func (c *Conn) answersHelloRequest() bool {
	if !c.state.SecureRenegotiation {
		return false
	}
	switch c.config.Renegotiation {
	case RenegotiateOnceAsClient:
		return c.reneg.renegotiations == 0
	case RenegotiateFreelyAsClient:
		return true
	}
	return false
}

// renegotiateAsClient runs a new TLS 1.2 handshake under the current
// keys, in answer to a HelloRequest: the ClientHello carries our last
// client_verify_data (RFC 5746, Section 3.5), the new session replaces the
// old one in Session() and in the ClientSessionCache (seed 002's refresh).
// Read calls it without holding inMu.
func (c *Conn) renegotiateAsClient() error {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	c.reneg.renegotiations++
	c.reneg.inExchange.Store(true)
	defer c.reneg.inExchange.Store(false)
	ctx := context.Background()
	if d := c.handshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
		stop := context.AfterFunc(ctx, func() { c.conn.Close() })
		defer stop()
	}
	err := c.runClientRenegotiation(ctx)
	if err == nil {
		c.counters().postHandshakeAuths.Add(1)
	}
	return err
}

func (c *Conn) runClientRenegotiation(ctx context.Context) error {
	cfg := c.config
	hs := &clientHello{c: c}
	if err := hs.build(); err != nil {
		return err
	}
	h := hs.hello
	// TLS 1.2 only: the version was settled by the first handshake.
	h.SupportedVersions, h.KeyShares, h.PSKModes = nil, nil, nil
	h.PSKIdentities, h.PSKBinders, h.EarlyData, h.Cookie = nil, nil, false, nil
	h.PostHandshakeAuth = false
	hs.tls13 = nil
	h.CipherSuites = slices.DeleteFunc(h.CipherSuites, func(id uint16) bool {
		s := suiteByID(id)
		return s != nil && s.tls13
	})
	h.SupportedGroups = curvesToUint16(cfg.curves(false))
	h.SecureRenegotiationSupported = true
	h.SecureRenegotiation = c.reneg.clientVerify
	if !cfg.testOfferSessionOnRenegotiation || hs.offered == nil || hs.offered.version != VersionTLS12 {
		// A renegotiation asked for by the server is there to make a new
		// handshake; offering the session would only be refused.
		h.SessionID, h.SessionTicket, hs.offered = nil, nil, nil
	}
	if _, err := hs.send(); err != nil {
		return err
	}
	sh := new(wire.ServerHello)
	shMsg, err := c.readMsg(nil, wire.TypeServerHello, sh)
	if err != nil {
		return err
	}
	if sh.SupportedVersion != 0 || sh.Vers != VersionTLS12 {
		return peerError(alert.ProtocolVersion, "renegotiation ServerHello is not TLS 1.2")
	}
	hs.t.add(shMsg)
	c.resetStateForRenegotiation()
	hs12 := &client12{c: c, ctx: ctx, ch: hs, hello: h, sh: sh, t: hs.t, renego: true}
	if err := hs12.run(); err != nil {
		return err
	}
	// The abbreviated handshake ends with our Finished, still queued.
	if err := c.flush(); err != nil {
		return err
	}
	c.setExporter12(hs12.suite, hs12.master, h.Random, sh.Random, hs12.ems)
	return c.verifyConnection()
}

// checkRenegotiationInfo is RFC 5746, Section 3.5 for a client reading the
// renegotiation ServerHello: "The client MUST then verify that the first
// half of the "renegotiated_connection" field is equal to the saved
// client_verify_data value, and the second half is equal to the saved
// server_verify_data value. If they are not, the client MUST abort the
// handshake." (Missing, it is the same failure.)
func (hs *client12) checkRenegotiationInfo() error {
	sh, c := hs.sh, hs.c
	want := slices.Concat(c.reneg.clientVerify, c.reneg.serverVerify)
	if !sh.SecureRenegotiationSupported || !hmac.Equal(sh.SecureRenegotiation, want) {
		return peerError(alert.HandshakeFailure, "renegotiation ServerHello does not carry the previous verify_data")
	}
	return nil
}

// ---- the record reader's side ----------------------------------------

// readPostHandshakeStepLocked is one step of Read's loop after the
// handshake: it waits while a server's RequestClientCertificate runs,
// reads one record otherwise, and runs a client's renegotiation when a
// HelloRequest asks for one. Called with inMu held; it may release and
// retake it.
func (c *Conn) readPostHandshakeStepLocked() error {
	if x := c.reneg.exchange.Load(); x != nil {
		c.inMu.Unlock()
		<-x.done
		c.inMu.Lock()
		return nil
	}
	err := c.readPostHandshakeRecordLocked()
	switch {
	case errors.Is(err, errYieldToExchange), errors.Is(err, errPeerRefusedRenegotiation):
		return nil
	case errors.Is(err, errClientRenegotiate):
		c.inMu.Unlock()
		err = c.renegotiateAsClient()
		if err != nil {
			err = c.breakAfterFailedExchange(c.fail(err))
		}
		c.inMu.Lock()
	}
	return err
}

// lockOutForWrite takes outMu for Write, once no handshake runs after the
// first: application data must not slip between a renegotiation's
// change_cipher_spec and its Finished, nor, in TLS 1.3, be sent under
// keys the exchange is about to replace. An exchange holds handshakeMu
// throughout, so Write waits for it there.
func (c *Conn) lockOutForWrite() {
	for {
		c.outMu.Lock()
		if !c.reneg.inExchange.Load() {
			return
		}
		c.outMu.Unlock()
		c.handshakeMu.Lock()
		//lint:ignore SA2001 waiting for the exchange to let go is the point
		c.handshakeMu.Unlock()
	}
}

// leaveForExchangeLocked: a server's Read leaves handshake messages to
// the RequestClientCertificate in progress.
func (c *Conn) leaveForExchangeLocked() bool {
	return !c.isClient && c.reneg.exchange.Load() != nil
}

// bufferAppDataInExchangeLocked keeps application data that arrived while
// a post-handshake exchange reads handshake messages, for Read.
func (c *Conn) bufferAppDataInExchangeLocked(data []byte) error {
	if len(c.input)+len(data) > maxAppDataInExchange {
		return c.setReadErr(peerError(alert.UnexpectedMessage, "more than %d bytes of application data in the middle of a handshake", maxAppDataInExchange))
	}
	// A copy: data lives in the record buffer, which the next record
	// overwrites.
	c.input = append(slices.Clip(c.input), data...)
	return nil
}

// noRenegotiationReceived handles a no_renegotiation warning after the
// handshake: the answer to our HelloRequest, or just a warning.
func (c *Conn) noRenegotiationReceived() error {
	if !c.isClient && c.reneg.helloRequested.Load() {
		c.reneg.peerRefused.Store(true)
		return errPeerRefusedRenegotiation
	}
	return nil
}

// refuseRenegotiationLocked answers a renegotiation we do not make (a
// client's ClientHello on a server, a HelloRequest a client does not
// answer) with a no_renegotiation warning (RFC 5746, Sections 4.2 and
// 4.4), counted.
func (c *Conn) refuseRenegotiationLocked() error {
	if err := c.countRecordWithoutData("renegotiation requests"); err != nil {
		return err
	}
	c.counters().renegotiationsRefused.Add(1)
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.sendWarningLocked(alert.NoRenegotiation)
}

// keepVerifyData records a Finished's verify_data for the next
// renegotiation (RFC 5746, Section 3.1). It keeps verify itself: the
// callers pass the verify_data they computed (PRF.Finished's fresh
// output), which nothing writes afterwards.
func (c *Conn) keepVerifyData(client bool, verify []byte) {
	if client {
		c.reneg.clientVerify = verify
	} else {
		c.reneg.serverVerify = verify
	}
}
