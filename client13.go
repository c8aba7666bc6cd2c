package reprise

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// client13Offer is what a ClientHello offers for TLS 1.3 beyond TLS 1.2:
// our key shares and, when resuming, one PSK.
type client13Offer struct {
	shares   []keyExchange         // one per key_share entry sent
	psk      *Session              // the TLS 1.3 session offered, or nil
	pskSuite *cipherSuite          // psk's suite: it fixes the binder hash
	early    *keysched.EarlySecret // Early Secret from psk, set with the binder
	pskIndex int                   // psk's place in the pre_shared_key identities
}

// testHookClientHello13, if set, sees every ClientHello before it is
// encoded (retry: the one answering a HelloRetryRequest): tests use it to
// offer what reprise never would.
var testHookClientHello13 func(h *wire.ClientHello, retry bool)

// prepareTLS13 adds the TLS 1.3 parts to hs.hello (built for TLS 1.2
// already): key shares, psk_key_exchange_modes, a legacy_session_id for
// middlebox compatibility, and the PSK of a TLS 1.3 session being offered.
func (hs *clientHello) prepareTLS13() (*client13Offer, error) {
	cfg, h := hs.c.config, hs.hello
	o := &hs.offer13

	// RFC 8446, Section 4.2.8: shares for the groups we most expect the
	// server to pick. The hybrid group comes with a classic one, as Go and
	// the browsers send, so a server without ML-KEM needs no retry.
	groups := hs.groups
	if len(groups) == 0 {
		return nil, errors.New("tls: no key exchange group enabled for TLS 1.3")
	}
	shareGroups := groups[:1]
	if groups[0] == X25519MLKEM768 {
		if i := slices.IndexFunc(groups, func(g CurveID) bool { return g != X25519MLKEM768 }); i > 0 {
			shareGroups = []CurveID{groups[0], groups[i]}
		}
	}
	h.KeyShares = []wire.KeyShare{}
	for _, g := range shareGroups {
		kx, err := newKeyExchange(cfg.rand(), g)
		if err != nil {
			return nil, err
		}
		o.shares = append(o.shares, kx)
		h.KeyShares = append(h.KeyShares, wire.KeyShare{Group: uint16(g), Data: kx.share()})
	}

	// RFC 8446, Appendix D.4: in middlebox compatibility mode the client
	// sends a non-empty legacy_session_id. A TLS 1.2 offer may have set one.
	if len(h.SessionID) == 0 {
		h.SessionID = hs.sessionID[:]
		if _, err := readFull(cfg.rand(), h.SessionID); err != nil {
			return nil, err
		}
	}

	// RFC 8446, Section 4.2.9: without psk_key_exchange_modes a server
	// sends no tickets, which is what a client with tickets off wants. We
	// offer only psk_dhe_ke: resumption keeps forward secrecy.
	if cfg.SessionTicketsDisabled {
		return o, nil // decideOffer has not chosen a TLS 1.3 session
	}
	h.PSKModes = pskDHEOnly
	if m := cfg.diagnostics.PSKModes; m != nil {
		h.PSKModes = m
	}
	if s := hs.offered; s != nil && s.version == VersionTLS13 {
		o.offerPSK(hs, s)
	}
	if testHookClientHello13 != nil {
		testHookClientHello13(h, false)
	}
	return o, nil
}

// offerPSK puts s, which decideOffer chose, in the pre_shared_key
// extension with a placeholder binder; fillBinders computes the real one
// once the hello is encoded.
func (o *client13Offer) offerPSK(hs *clientHello, s *Session) {
	suite := suiteByID(s.cipherSuite)
	o.psk, o.pskSuite = s, suite
	hs.hello.PSKIdentities = []wire.PSKIdentity{{Identity: s.ticket, ObfuscatedTicketAge: o.obfuscatedAge(hs.c.config.time())}}
	hs.hello.PSKBinders = [][]byte{make([]byte, suite.hash.Size())}
}

// obfuscatedAge is the ticket's age in milliseconds plus ticket_age_add,
// modulo 2^32 (RFC 8446, Section 4.2.11).
func (o *client13Offer) obfuscatedAge(now time.Time) uint32 {
	age := now.Sub(o.psk.created)
	if age < 0 {
		age = 0
	}
	return uint32(age.Milliseconds()) + o.psk.ageAdd
}

// fillBinders computes the PSK binder over the ClientHello truncated before
// the binders list (RFC 8446, Section 4.2.11.2) and patches it into raw.
// prior holds the messages before this ClientHello (after a
// HelloRetryRequest: message_hash and the HelloRetryRequest); nil for the
// first ClientHello.
func (o *client13Offer) fillBinders(hs *clientHello, raw []byte, prior *transcript) ([]byte, error) {
	if o == nil || o.psk == nil {
		return raw, nil
	}
	o.pskIndex = slices.IndexFunc(hs.hello.PSKIdentities, func(id wire.PSKIdentity) bool { return slices.Equal(id.Identity, o.psk.ticket) })
	if o.pskIndex < 0 || o.pskIndex >= len(hs.hello.PSKBinders) {
		return nil, peerError(alert.InternalError, "offered PSK is missing from the ClientHello")
	}
	h := o.pskSuite.hash
	truncated := raw[:len(raw)-hs.hello.BindersLen()]
	var th []byte
	if prior != nil {
		th = prior.SumWith(truncated)
	} else {
		t := keysched.NewTranscript()
		t.SetHash(h)
		th = t.SumWith(truncated)
	}
	o.early = keysched.NewEarlySecret(h, o.psk.secret)
	// The hello keeps the binder it is sent with, in place of the
	// placeholder (or, on a retry, the first hello's binder) of the same
	// length that raw was encoded with.
	hs.hello.PSKBinders[o.pskIndex] = keysched.Finished13(h, o.early.ResumptionBinderKey(), th)
	if err := wire.PatchBinders(raw, hs.hello.PSKBinders); err != nil {
		return nil, wrapError(alert.InternalError, "writing PSK binder", err)
	}
	return raw, nil
}

// client13 is the client side of a TLS 1.3 handshake from the first
// ServerHello (or HelloRetryRequest) on. run reads like RFC 8446, Section 2.
type client13 struct {
	c     *Conn
	ctx   context.Context
	ch    *clientHello
	hello *wire.ClientHello
	offer *client13Offer
	sh    *wire.ServerHello
	t     *transcript

	suite             *cipherSuite
	hrrSuite          uint16  // the HelloRetryRequest's suite; 0 without one
	hrrGroup          CurveID // the group a HelloRetryRequest asked for; 0 without
	usingPSK          bool
	early             *keysched.EarlySecret
	hsSecret          *keysched.HandshakeSecret
	clientFinishedKey []byte // finished_key of client_handshake_traffic_secret
	serverFinishedKey []byte // finished_key of server_handshake_traffic_secret
	master            *keysched.MasterSecret
	certReq           *wire.CertificateRequest13
	peerChain         [][]byte
	peerVerified      bool
}

// runTLS13 finishes a handshake in which the server chose TLS 1.3. sh is
// its first ServerHello, not yet in hs.t.
func (hs *clientHello) runTLS13(ctx context.Context, sh *wire.ServerHello, shMsg []byte) error {
	// TLS 1.3 signs transcript hashes, never raw messages.
	hs.t.keepRaw, hs.t.raw = false, nil
	if hs.tls13 == nil {
		return peerError(alert.IllegalParameter, "server selected TLS 1.3, which we did not offer")
	}
	c13 := &client13{c: hs.c, ctx: ctx, ch: hs, hello: hs.hello, offer: hs.tls13, sh: sh, t: hs.t}
	return c13.run(shMsg)
}

func (hs *client13) run(shMsg []byte) error {
	c := hs.c
	if hs.sh.IsHelloRetryRequest() {
		if err := hs.handleHelloRetryRequest(shMsg); err != nil {
			return err
		}
		var err error
		if shMsg, err = hs.readServerHello(); err != nil {
			return err
		}
	}
	if err := hs.processServerHello(shMsg); err != nil {
		return err
	}
	if err := hs.establishHandshakeKeys(); err != nil {
		return err
	}
	if err := hs.readEncryptedExtensions(); err != nil {
		return err
	}
	if !hs.usingPSK {
		if err := hs.readCertificateRequestAndCertificate(); err != nil {
			return err
		}
		if err := hs.readCertificateVerify(); err != nil {
			return err
		}
	}
	if err := hs.readFinished(); err != nil {
		return err
	}
	if err := hs.sendClientFlight(); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	return hs.finish()
}

// checkServerHelloCommon applies RFC 8446, Section 4.1.3 to a ServerHello
// or HelloRetryRequest (Section 4.1.4 sends the latter through the same
// checks).
func (hs *client13) checkServerHelloCommon(sh *wire.ServerHello) error {
	// "A client which receives a legacy_session_id_echo field that does
	// not match what it sent in the ClientHello MUST abort the handshake
	// with an "illegal_parameter" alert."
	if !slices.Equal(sh.SessionID, hs.hello.SessionID) {
		return peerError(alert.IllegalParameter, "server did not echo our legacy_session_id")
	}
	// "A client which receives a cipher suite that was not offered MUST
	// abort the handshake with an "illegal_parameter" alert."
	suite := suiteByID(sh.CipherSuite)
	if suite == nil || !suite.tls13 || !hs.ch.offeredSuite(sh.CipherSuite) {
		return peerError(alert.IllegalParameter, "server chose cipher suite 0x%04x, which we did not offer for TLS 1.3", sh.CipherSuite)
	}
	// legacy_compression_method "MUST have the value 0".
	if sh.CompressionMethod != 0 {
		return peerError(alert.IllegalParameter, "server chose compression method %d", sh.CompressionMethod)
	}
	if sh.SupportedVersion != VersionTLS13 || sh.Vers != VersionTLS12 {
		return peerError(alert.IllegalParameter, "server hello after TLS 1.3 was negotiated is not TLS 1.3")
	}
	// RFC 8446, Section 4.2: a ServerHello or HelloRetryRequest may answer
	// only these extensions. A response to an extension we did not send is
	// unsupported_extension; one not allowed in this message is
	// illegal_parameter.
	allowed := []uint16{wire.ExtSupportedVersions, wire.ExtKeyShare, wire.ExtPreSharedKey}
	if sh.IsHelloRetryRequest() {
		allowed = []uint16{wire.ExtSupportedVersions, wire.ExtKeyShare, wire.ExtCookie}
	}
	for _, ext := range sh.Extensions {
		switch {
		case ext == wire.ExtPreSharedKey && len(hs.hello.PSKIdentities) == 0:
			return peerError(alert.UnsupportedExtension, "server selected a PSK, which we did not offer")
		case slices.Contains(allowed, ext):
		case offeredExtension(hs.hello, ext):
			return peerError(alert.IllegalParameter, "server sent extension %d in a TLS 1.3 ServerHello", ext)
		default:
			return peerError(alert.UnsupportedExtension, "server sent extension %d, which we did not offer", ext)
		}
	}
	return nil
}

// offeredExtension reports whether our ClientHello carried extension ext.
func offeredExtension(h *wire.ClientHello, ext uint16) bool {
	switch ext {
	case wire.ExtServerName:
		return h.ServerName != ""
	case wire.ExtSupportedGroups:
		return len(h.SupportedGroups) > 0
	case wire.ExtECPointFormats:
		return len(h.PointFormats) > 0
	case wire.ExtSignatureAlgorithms:
		return len(h.SignatureAlgorithms) > 0
	case wire.ExtALPN:
		return len(h.ALPN) > 0
	case wire.ExtRenegotiationInfo:
		return h.SecureRenegotiationSupported
	case wire.ExtExtendedMasterSecret:
		return h.ExtendedMasterSecret
	case wire.ExtEncryptThenMAC:
		return h.EncryptThenMAC
	case wire.ExtSessionTicket:
		return h.TicketSupported
	case wire.ExtSupportedVersions:
		return len(h.SupportedVersions) > 0
	case wire.ExtKeyShare:
		return h.KeyShares != nil
	case wire.ExtPSKKeyExchangeModes:
		return len(h.PSKModes) > 0
	case wire.ExtPreSharedKey:
		return len(h.PSKIdentities) > 0
	case wire.ExtCookie:
		return len(h.Cookie) > 0
	case wire.ExtEarlyData:
		return h.EarlyData
	}
	return false
}

// processServerHello checks the ServerHello, learns whether the server
// accepted our PSK, and computes the (EC)DHE shared secret.
func (hs *client13) processServerHello(shMsg []byte) error {
	c, sh, o := hs.c, hs.sh, hs.offer
	if err := hs.checkServerHelloCommon(sh); err != nil {
		return err
	}
	// Section 4.1.4: "Upon receiving the ServerHello, clients MUST check
	// that the cipher suite supplied in the ServerHello is the same as that
	// in the HelloRetryRequest and otherwise abort the handshake with an
	// "illegal_parameter" alert."
	if hs.hrrSuite != 0 && sh.CipherSuite != hs.hrrSuite {
		return peerError(alert.IllegalParameter, "ServerHello's cipher suite differs from the HelloRetryRequest's")
	}
	hs.suite = suiteByID(sh.CipherSuite)
	hs.t.SetHash(hs.suite.hash)
	hs.t.add(shMsg)
	c.state.CipherSuite = sh.CipherSuite
	c.state.SessionID = sh.SessionID

	resumed, err := o.accept13(hs.hello, sh, hs.suite)
	if err != nil {
		return err
	}
	hs.ch.answered(VersionTLS13, resumed)
	if resumed {
		hs.usingPSK = true
		hs.early = o.early
		if sh.KeyShare.Group == 0 {
			// psk_ke (Section 4.2.9): no (EC)DHE input (Section 7.1).
			hs.hsSecret = hs.early.HandshakeSecret(nil)
			return nil
		}
	} else {
		hs.early = keysched.NewEarlySecret(hs.suite.hash, nil)
	}

	// Section 4.2.8: the server's share must be for a group we sent a
	// share for (after a HelloRetryRequest, the one it asked for).
	if sh.KeyShare.Group == 0 {
		return peerError(alert.MissingExtension, "ServerHello has no key_share")
	}
	g := CurveID(sh.KeyShare.Group)
	if hs.hrrGroup != 0 && g != hs.hrrGroup {
		return peerError(alert.IllegalParameter, "ServerHello's group %v differs from the HelloRetryRequest's %v", g, hs.hrrGroup)
	}
	i := slices.IndexFunc(o.shares, func(kx keyExchange) bool { return kx.group() == g })
	if i < 0 {
		return peerError(alert.IllegalParameter, "server's key share is for group %v, for which we sent none", g)
	}
	shared, err := o.shares[i].sharedSecret(sh.KeyShare.Data)
	if err != nil {
		return err
	}
	c.state.CurveID = g
	hs.hsSecret = hs.early.HandshakeSecret(shared)
	return nil
}

// establishHandshakeKeys installs the handshake traffic keys.
func (hs *client13) establishHandshakeKeys() (err error) {
	hs.clientFinishedKey, hs.serverFinishedKey, err = hs.c.installHandshakeKeys13(hs.suite, hs.hsSecret, hs.t.Sum(), hs.hello.Random)
	return err
}

// readEncryptedExtensions reads the server's extensions (RFC 8446, Section
// 4.3.1). The wire parser already rejects extensions forbidden there; here
// every extension must answer one we sent.
func (hs *client13) readEncryptedExtensions() error {
	c, h := hs.c, hs.hello
	ee := new(wire.EncryptedExtensions)
	if _, err := c.readMsg(hs.t, wire.TypeEncryptedExtensions, ee); err != nil {
		return err
	}
	for _, ext := range ee.Extensions {
		switch ext {
		case wire.ExtServerName, wire.ExtALPN, wire.ExtEarlyData:
			if !offeredExtension(h, ext) {
				return peerError(alert.UnsupportedExtension, "server sent extension %d, which we did not offer", ext)
			}
		case wire.ExtSupportedGroups:
			// Section 4.2.7: the server's preference, for later connections.
		default:
			return peerError(alert.UnsupportedExtension, "server sent extension %d, which we did not offer", ext)
		}
	}
	if err := hs.earlyAnswer(ee); err != nil {
		return err
	}
	// RFC 7301, Section 3.1: the protocol must be one we offered.
	if ee.ALPN != "" && !slices.Contains(h.ALPN, ee.ALPN) {
		return peerError(alert.IllegalParameter, "server selected ALPN protocol %q, which we did not offer", ee.ALPN)
	}
	c.state.NegotiatedProtocol = ee.ALPN
	return nil
}

// readCertificateRequestAndCertificate reads an optional
// CertificateRequest (RFC 8446, Section 4.3.2) and the server's
// Certificate (Section 4.4.2), and verifies the chain.
func (hs *client13) readCertificateRequestAndCertificate() error {
	c := hs.c
	req, cert := new(wire.CertificateRequest13), new(wire.Certificate13)
	gotReq, _, err := c.readOptionalMsg(hs.t, wire.TypeCertificateRequest, req, wire.TypeCertificate, cert)
	if err != nil {
		return err
	}
	if gotReq {
		// Section 4.3.2: "this field SHALL be zero length unless used for
		// the post-handshake authentication exchanges".
		if len(req.RequestContext) != 0 {
			return peerError(alert.IllegalParameter, "handshake CertificateRequest has a request context")
		}
		hs.certReq = req
		if _, err := c.readMsg(hs.t, wire.TypeCertificate, cert); err != nil {
			return err
		}
	}
	// Section 4.4.2: "In the case of server authentication, this field
	// SHALL be zero length."
	if len(cert.RequestContext) != 0 {
		return peerError(alert.IllegalParameter, "server Certificate has a request context")
	}
	// Section 4.4.2.4: "If the server supplies an empty Certificate
	// message, the client MUST abort the handshake with a "decode_error"
	// alert."
	if len(cert.Entries) == 0 {
		return peerError(alert.DecodeError, "server sent an empty Certificate")
	}
	for _, e := range cert.Entries {
		hs.peerChain = append(hs.peerChain, e.Data)
	}
	hs.peerVerified = !c.config.InsecureSkipVerify
	return c.verifyPeerChain(hs.peerChain, hs.peerVerified)
}

// readCertificateVerify checks the server's signature over the transcript
// (RFC 8446, Section 4.4.3).
func (hs *client13) readCertificateVerify() error {
	c := hs.c
	th := hs.t.Sum()
	cv := new(wire.CertificateVerify)
	if _, err := c.readMsg(hs.t, wire.TypeCertificateVerify, cv); err != nil {
		return err
	}
	// "If the CertificateVerify message is sent by a server, the signature
	// algorithm MUST be one offered in the client's "signature_algorithms"
	// extension".
	if !slices.Contains(hs.hello.SignatureAlgorithms, cv.SigAlg) {
		return peerError(alert.IllegalParameter, "server signed with scheme 0x%04x, which we did not offer", cv.SigAlg)
	}
	return verifySignature(c.state.PeerCertificates[0].PublicKey, SignatureScheme(cv.SigAlg), signed13(true, th), cv.Signature, true)
}

// readFinished checks the server's Finished (RFC 8446, Section 4.4.4) and
// derives the application traffic secrets from the transcript through it.
func (hs *client13) readFinished() error {
	c := hs.c
	want := keysched.FinishedMAC(hs.suite.hash, hs.serverFinishedKey, hs.t.Sum())
	fin := new(wire.Finished)
	if _, err := c.readMsg(hs.t, wire.TypeFinished, fin); err != nil {
		return err
	}
	if err := checkFinished(fin.VerifyData, want); err != nil {
		return err
	}
	hs.master = hs.hsSecret.MasterSecret()
	return nil
}

// sendClientFlight sends the compatibility change_cipher_spec, our
// certificate if asked, and Finished, then moves to application keys.
func (hs *client13) sendClientFlight() error {
	c := hs.c
	th := hs.t.Sum() // through the server's Finished

	// RFC 8446, Appendix D.4: in compatibility mode the client sends one
	// change_cipher_spec before its second flight.
	if err := hs.sendEndOfEarlyData(); err != nil {
		return err
	}
	if len(hs.hello.SessionID) > 0 && !c.earlyCCSSent() {
		if err := c.writeChangeCipherSpec(); err != nil {
			return err
		}
	}
	if hs.certReq != nil {
		if err := hs.sendCertificate(); err != nil {
			return err
		}
	}
	verify := keysched.FinishedMAC(hs.suite.hash, hs.clientFinishedKey, hs.t.Sum())
	if _, err := c.writeMsg(hs.t, &wire.Finished{VerifyData: verify}); err != nil {
		return err
	}
	// The server waits for our Finished; the application secrets are
	// derived after it is on its way.
	if err := c.flush(); err != nil {
		return err
	}

	clientAP := hs.master.ClientApplicationTrafficSecret(th)
	serverAP := hs.master.ServerApplicationTrafficSecret(th)
	c.setExporter13(hs.suite, hs.master, th)
	c.keyLog("CLIENT_TRAFFIC_SECRET_0", hs.hello.Random, clientAP)
	c.keyLog("SERVER_TRAFFIC_SECRET_0", hs.hello.Random, serverAP)
	if err := c.setReadSecret13(hs.suite, serverAP); err != nil {
		return err
	}
	if err := c.setWriteSecret13(hs.suite, clientAP); err != nil {
		return err
	}
	c.post13 = &post13State{
		suite:     hs.suite,
		inSecret:  serverAP,
		outSecret: clientAP,
		// Section 7.1: resumption_master_secret covers the transcript
		// through the client's Finished.
		resumptionSecret: hs.master.ResumptionMasterSecret(hs.t.Sum()),
		cacheKey:         hs.ch.key,
		serverName:       c.config.ServerName,
		alpn:             c.state.NegotiatedProtocol,
		peerCerts:        hs.peerChain,
		certs:            c.state.PeerCertificates,
		verified:         hs.peerVerified,
		// verifyPeerChain checked ServerName, or, on a resumption,
		// offerable did (serverStillTrusted).
		nameChecked: !c.config.InsecureSkipVerify,
	}
	hs.keepForPostHandshakeAuth()
	return nil
}

// sendCertificate answers a CertificateRequest (RFC 8446, Section 4.4.2):
// our first certificate that can sign with a scheme the server accepts,
// with its CertificateVerify, or an empty Certificate.
func (hs *client13) sendCertificate() error {
	c, req := hs.c, hs.certReq
	var cert *Certificate
	var scheme SignatureScheme
	candidates, err := c.clientCertificates(hs.ctx, VersionTLS13, req.SignatureAlgorithms, req.CertificateAuthorities)
	if err != nil {
		return err
	}
	for i := range candidates {
		cand := &candidates[i]
		if certSigner(cand) == nil {
			continue
		}
		if s, err := selectSignatureScheme(certSigner(cand).Public(), req.SignatureAlgorithms, true); err == nil {
			cert, scheme = cand, s
			break
		}
	}
	msg := &wire.Certificate13{RequestContext: req.RequestContext}
	if cert != nil {
		for _, der := range cert.Certificate {
			msg.Entries = append(msg.Entries, wire.CertificateEntry{Data: der})
		}
	}
	if _, err := c.writeMsg(hs.t, msg); err != nil {
		return err
	}
	if cert == nil {
		return nil
	}
	sig, err := sign(c.config.rand(), certSigner(cert), scheme, signed13(false, hs.t.Sum()))
	if err != nil {
		return wrapError(alert.InternalError, "signing CertificateVerify", err)
	}
	_, err = c.writeMsg(hs.t, &wire.CertificateVerify{SigAlg: uint16(scheme), Signature: sig})
	return err
}

// finish records the outcome in the connection state.
func (hs *client13) finish() error {
	c := hs.c
	c.state.ExtendedMasterSecret = true // RFC 8446, Section 7.1 binds every secret to the transcript
	if !hs.usingPSK {
		c.state.Resumption = ResumedNone
		return nil
	}
	// The session's ticket was used; later connections use the new tickets.
	s := hs.offer.psk
	c.state.DidResume = true
	c.state.Resumption = ResumedPSK
	c.post13.peerCerts = s.peerCerts
	c.post13.verified = s.verified
	if certs, err := s.PeerCertificates(); err == nil {
		c.state.PeerCertificates = certs
		c.post13.certs = certs
	}
	return nil
}
