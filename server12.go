package reprise

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// server12 is the server side of a TLS 1.2 handshake. run reads like the
// message flows of RFC 5246, Section 7.3: the decision to resume is made
// once, then one of two flights follows.
type server12 struct {
	c     *Conn
	ctx   context.Context
	hello *wire.ClientHello
	t     *transcript

	suite        *cipherSuite
	cert         *Certificate
	serverRandom []byte
	sessionID    []byte // what ServerHello carries
	ems, etm     bool
	secureReneg  bool
	alpn         string
	master       []byte
	resumed      *Session // the session being resumed, or nil
	sendTicket   bool     // a NewSessionTicket follows ServerHello's flight
	cacheable    bool     // the new session may be cached and ticketed
	peerChain    [][]byte // client certificate chain
	renego       bool     // a renegotiation we asked for (renegotiate12.go)

	// masterPRF is keyed with master once, for the key block and both
	// Finished messages; prf makes it.
	masterPRF *keysched.PRF
}

func (hs *server12) run(helloMsg []byte) error {
	c := hs.c
	hs.t = newTranscript(hs.requestsClientCert())
	hs.t.add(helloMsg)
	if err := hs.processClientHello(); err != nil {
		return err
	}
	decision := resumeDecision{refused: RefusedRenegotiation}
	var err error
	if !hs.refusesResumptionOnRenegotiation() {
		decision, err = hs.decideResumption(hs.ctx)
	}
	c.recordDecision(hs.ctx, decision)
	if err != nil {
		return err
	}
	if decision.session != nil {
		// Abbreviated handshake (RFC 5246, Section 7.3, Figure 2).
		hs.resumed, hs.sessionID, hs.sendTicket = decision.session, decision.echoID, decision.reissueTicket
		c.state.Resumption = decision.via
		return hs.runResumed()
	}
	return hs.runFull()
}

// processClientHello negotiates everything that does not depend on
// resumption: extensions and the secure renegotiation state.
func (hs *server12) processClientHello() error {
	c, h := hs.c, hs.hello
	if !slices.Contains(h.CompressionMethods, 0) {
		return peerError(alert.IllegalParameter, "client does not offer null compression")
	}
	// RFC 5746, Section 3.6: on an initial handshake the extension must
	// be empty; the SCSV counts as the empty extension. Section 3.7 for a
	// renegotiation.
	if hs.renego {
		if err := hs.checkRenegotiationInfo(); err != nil {
			return err
		}
	} else if h.SecureRenegotiationSupported {
		if len(h.SecureRenegotiation) != 0 {
			return peerError(alert.HandshakeFailure, "initial handshake carries renegotiation_info data")
		}
		hs.secureReneg = true
	}
	if !hs.renego && slices.Contains(h.CipherSuites, TLS_EMPTY_RENEGOTIATION_INFO_SCSV) {
		hs.secureReneg = true
	}
	c.state.SecureRenegotiation = hs.secureReneg
	// RFC 8422, Section 5.1.2: a client listing point formats must
	// include uncompressed.
	if h.PointFormats != nil && !slices.Contains(h.PointFormats, 0) {
		return peerError(alert.IllegalParameter, "client does not support uncompressed points")
	}
	// RFC 7627, Section 5.2: use the extension when the client offers it.
	switch {
	case h.ExtendedMasterSecret && c.config.ExtendedMasterSecret != EMSDisable:
		hs.ems = true
	case c.config.ExtendedMasterSecret == EMSRequire:
		return ErrEMSRequired
	}
	var err error
	if hs.alpn, err = c.config.negotiateALPN(h.ALPN); err != nil {
		return err
	}
	hs.serverRandom = make([]byte, 32)
	if _, err := readFull(c.config.rand(), hs.serverRandom); err != nil {
		return err
	}
	// The downgrade sentinel belongs to the first handshake, which
	// settled the version; a renegotiation cannot change it.
	if c.config.supportsVersion(VersionTLS13) && !hs.renego {
		copy(hs.serverRandom[24:], downgradeTLS12)
	}
	hs.cacheable = c.config.AllowNewSession == nil || c.config.AllowNewSession(c.clientHelloInfo(hs.ctx, h))
	return nil
}

// runResumed is the abbreviated handshake: the server speaks first with
// ChangeCipherSpec and Finished right after ServerHello (RFC 5246,
// Section 7.3, Figure 2).
func (hs *server12) runResumed() error {
	c, s := hs.c, hs.resumed
	hs.suite = suiteByID(s.cipherSuite)
	hs.ems = s.ems
	hs.etm = s.etm
	hs.master = s.secret
	hs.t.SetHash(hs.suite.hash)
	if err := hs.sendServerHello(); err != nil {
		return err
	}
	if err := hs.installKeys(); err != nil {
		return err
	}
	if hs.sendTicket {
		if err := hs.sendNewSessionTicket(hs.sealTicket12(s)); err != nil {
			return err
		}
	}
	if err := hs.sendChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}
	if err := hs.readChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	c.counters().hits.Add(1)
	if c.state.Resumption == ResumedTicket {
		c.counters().ticketResumed.Add(1)
	}
	c.state.session = s
	c.state.DidResume = true
	return hs.finishState(s.peerCerts)
}

// runFull is the full handshake of RFC 5246, Section 7.3, Figure 1, with
// ECDHE key exchange (RFC 8422), after the ClientHello:
//
//	                                     ServerHello
//	                                     Certificate
//	                               ServerKeyExchange
//	                              CertificateRequest*
//	              <--------           ServerHelloDone
//	Certificate*
//	ClientKeyExchange
//	CertificateVerify*
//	[ChangeCipherSpec]
//	Finished      -------->
//	                               NewSessionTicket*
//	                              [ChangeCipherSpec]
//	              <--------                  Finished
func (hs *server12) runFull() error {
	c := hs.c
	if err := hs.negotiateFull(); err != nil {
		return err
	}
	kx, err := hs.sendServerFlight()
	if err != nil {
		return err
	}
	if err := hs.readClientFlight(kx); err != nil {
		return err
	}
	// The client's Finished verified: the session is good. Seal it into
	// the ticket we promised, or else cache it, before our last flight
	// goes out, so a client that reconnects the moment it reads our
	// Finished finds it (an external store's write is started here and not
	// waited for: putSession).
	session := hs.newSession()
	var ticket []byte
	if session != nil && hs.sendTicket {
		ticket = hs.sealTicket12(session)
	}
	if session != nil && ticket == nil {
		// A session the client resumes with its ticket is not cached too,
		// as OpenSSL (so nginx) does not cache it: that would cost a cache
		// entry, or a store write, for every full handshake of a
		// ticket-capable client, for a lookup that comes only if the
		// ticket can no longer be opened. When sealing failed, the
		// session ID is how it resumes.
		hs.storeSession(session)
	}
	if err := hs.sendFinalFlight(ticket); err != nil {
		return err
	}
	c.state.Resumption = ResumedNone
	c.state.session = session
	return hs.finishState(hs.peerChain)
}

// negotiateFull settles what only a full handshake needs: the suite and
// certificate, encrypt-then-MAC (RFC 7366, Section 3: CBC suites only), a
// session ID when the session cache is on (RFC 5246, Section 7.4.1.3) and
// whether a NewSessionTicket follows (RFC 5077, Section 3.2).
func (hs *server12) negotiateFull() error {
	c := hs.c
	if err := hs.selectSuiteAndCertificate(); err != nil {
		return err
	}
	hs.t.SetHash(hs.suite.hash)
	hs.etm = hs.hello.EncryptThenMAC && hs.suite.bulk == bulkAESCBC
	if hs.cacheable && c.config.serverCacheOn() {
		var err error
		if hs.sessionID, err = c.config.newSessionID(); err != nil {
			return err
		}
	}
	hs.sendTicket = hs.cacheable && hs.hello.TicketSupported && !c.config.SessionTicketsDisabled
	return nil
}

// sendServerFlight sends ServerHello through ServerHelloDone as one flight
// (RFC 5246, Section 7.3) and returns our half of the key exchange.
func (hs *server12) sendServerFlight() (keyExchange, error) {
	c := hs.c
	if err := hs.sendServerHello(); err != nil {
		return nil, err
	}
	if _, err := c.writeMsg(hs.t, &wire.Certificate12{Certificates: hs.cert.Certificate}); err != nil {
		return nil, err
	}
	kx, err := hs.sendServerKeyExchange()
	if err != nil {
		return nil, err
	}
	if hs.requestsClientCert() {
		if err := hs.sendCertificateRequest(); err != nil {
			return nil, err
		}
	}
	if _, err := c.writeMsg(hs.t, &wire.ServerHelloDone{}); err != nil {
		return nil, err
	}
	return kx, c.flush()
}

// readClientFlight reads the client's certificate when we asked for one,
// ClientKeyExchange, the CertificateVerify for a non-empty certificate, and
// ChangeCipherSpec and Finished (RFC 5246, Section 7.3).
func (hs *server12) readClientFlight(kx keyExchange) error {
	if hs.requestsClientCert() {
		if err := hs.readClientCertificate(); err != nil {
			return err
		}
	}
	if err := hs.readClientKeyExchange(kx); err != nil {
		return err
	}
	// Section 7.4.8: CertificateVerify follows a client certificate with
	// signing capability, and the certificate types sendCertificateRequest
	// asks for all sign.
	if len(hs.peerChain) > 0 {
		if err := hs.readCertificateVerify(); err != nil {
			return err
		}
	}
	if err := hs.installKeys(); err != nil {
		return err
	}
	return hs.readChangeCipherSpecAndFinished()
}

// sendFinalFlight sends the NewSessionTicket we promised (RFC 5077, Section
// 3.3), with ticket or empty, and our ChangeCipherSpec and Finished, and
// flushes them.
func (hs *server12) sendFinalFlight(ticket []byte) error {
	if hs.sendTicket {
		if err := hs.sendNewSessionTicket(ticket); err != nil {
			return err
		}
	}
	if err := hs.sendChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	return hs.c.flush()
}

// selectSuiteAndCertificate picks, in our order of preference, the first
// suite the client offers for which we hold a suitable certificate.
func (hs *server12) selectSuiteAndCertificate() error {
	certs, err := hs.c.serverCertificate(hs.ctx, hs.hello)
	if err != nil {
		return err
	}
	if _, ok := firstCommonGroup(hs.c.config.curves(false), hs.hello.SupportedGroups); !ok && len(hs.hello.SupportedGroups) > 0 {
		return peerError(alert.HandshakeFailure, "no key exchange group in common")
	}
	// Every suite we offer signs its ServerKeyExchange. RFC 9155, Section
	// 4: "Servers MUST NOT include MD5 and SHA-1 in ServerKeyExchange
	// messages. If no other signature algorithms are available (for
	// example, if the client does not send a signature_algorithms
	// extension), the server MUST abort the handshake with a
	// handshake_failure alert or select a different cipher suite." (RFC
	// 5246, Section 7.4.1.4.1 had the server assume SHA-1 instead.) A
	// resumption signs nothing and does not get here.
	if len(hs.hello.SignatureAlgorithms) == 0 {
		return peerError(alert.HandshakeFailure, "TLS 1.2 ClientHello without signature_algorithms (RFC 9155)")
	}
	for _, s := range hs.c.config.suites(false) {
		if !slices.Contains(hs.hello.CipherSuites, s.id) {
			continue
		}
		for _, cert := range certs {
			if certSigner(cert) == nil || !suiteFitsKey(s, certSigner(cert).Public()) || !certCurveOffered(cert, hs.hello.SupportedGroups) {
				continue
			}
			if _, err := selectSignatureScheme(certSigner(cert).Public(), hs.hello.SignatureAlgorithms, false); err != nil {
				continue
			}
			hs.suite, hs.cert = s, cert
			hs.c.state.CipherSuite = s.id
			return nil
		}
	}
	return peerError(alert.HandshakeFailure, "no cipher suite in common with the client")
}

// certCurveOffered: RFC 8422, Section 5.1.1: in TLS 1.2 supported_groups
// also limits the curves of the server's ECDSA certificate.
func certCurveOffered(cert *Certificate, groups []uint16) bool {
	k, ok := certSigner(cert).Public().(*ecdsa.PublicKey)
	if !ok || len(groups) == 0 {
		return true
	}
	var id CurveID
	switch k.Curve.Params().Name {
	case "P-256":
		id = CurveP256
	case "P-384":
		id = CurveP384
	case "P-521":
		id = 25
	}
	return slices.Contains(groups, uint16(id))
}

// suiteFitsKey: ECDHE_ECDSA suites take ECDSA and Ed25519 keys (RFC 8422,
// Section 2), ECDHE_RSA suites take RSA keys.
func suiteFitsKey(s *cipherSuite, pub any) bool {
	switch pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return s.ecdsa
	case *rsa.PublicKey:
		return !s.ecdsa
	}
	return false
}

func (hs *server12) sendServerHello() error {
	c := hs.c
	sh := &wire.ServerHello{
		Vers:                         VersionTLS12,
		Random:                       hs.serverRandom,
		SessionID:                    hs.sessionID,
		CipherSuite:                  hs.suite.id,
		SecureRenegotiationSupported: hs.secureReneg,
		SecureRenegotiation:          hs.renegotiationInfo(),
		ExtendedMasterSecret:         hs.ems,
		EncryptThenMAC:               hs.etm,
		TicketSupported:              hs.sendTicket,
		ALPN:                         hs.alpn,
		ServerNameAck:                hs.hello.ServerName != "" && hs.resumed == nil,
	}
	if hs.hello.PointFormats != nil && hs.resumed == nil {
		sh.PointFormats = []uint8{0}
	}
	c.state.CipherSuite = hs.suite.id
	c.state.SessionID = hs.sessionID
	_, err := c.writeMsg(hs.t, sh)
	return err
}

func (hs *server12) sendServerKeyExchange() (keyExchange, error) {
	c := hs.c
	group, ok := firstCommonGroup(c.config.curves(false), hs.hello.SupportedGroups)
	if !ok {
		// RFC 8422, Section 4: without supported_groups the client is
		// taken to accept any curve; P-256 is the safe choice.
		group = CurveP256
	}
	kx, err := newKeyExchange(c.config.rand(), group)
	if err != nil {
		return nil, err
	}
	c.state.CurveID = group
	ske := &wire.ServerKeyExchangeECDHE{Group: uint16(group), PublicKey: kx.share()}
	scheme, err := selectSignatureScheme(certSigner(hs.cert).Public(), hs.hello.SignatureAlgorithms, false)
	if err != nil {
		return nil, err
	}
	// RFC 8422, Section 5.4: the signature covers both randoms and the
	// ServerECDHParams.
	signed := slices.Concat(hs.hello.Random, hs.serverRandom, ske.Params())
	sig, err := sign(c.config.rand(), certSigner(hs.cert), scheme, signed)
	if err != nil {
		return nil, wrapError(alert.InternalError, "signing ServerKeyExchange", err)
	}
	ske.SigAlg, ske.Signature = uint16(scheme), sig
	_, err = c.writeMsg(hs.t, ske)
	return kx, err
}

func (hs *server12) sendCertificateRequest() error {
	cr := &wire.CertificateRequest12{
		CertificateTypes:    []uint8{1, 64}, // rsa_sign, ecdsa_sign (RFC 8422, Section 5.5)
		SignatureAlgorithms: supportedSignatureAlgorithms,
	}
	if pool := hs.c.config.ClientCAs; pool != nil {
		//lint:ignore SA1019 Subjects is the only way to list the pool's names.
		cr.CertificateAuthorities = pool.Subjects() //nolint:staticcheck
	}
	_, err := hs.c.writeMsg(hs.t, cr)
	return err
}

func (hs *server12) readClientCertificate() error {
	c := hs.c
	cert := new(wire.Certificate12)
	if _, err := c.readMsg(hs.t, wire.TypeCertificate, cert); err != nil {
		return err
	}
	if len(cert.Certificates) == 0 && c.config.clientAuth().requires() {
		// RFC 5246, Section 7.4.6: a server that requires a certificate
		// MAY end the handshake with handshake_failure.
		return peerError(alert.HandshakeFailure, "client sent no certificate, and one is required")
	}
	hs.peerChain = cert.Certificates
	return c.verifyPeerChain(cert.Certificates, hs.verifiesClientCert())
}

func (hs *server12) readClientKeyExchange(kx keyExchange) error {
	c := hs.c
	cke := new(wire.ClientKeyExchangeECDHE)
	if _, err := c.readMsg(hs.t, wire.TypeClientKeyExchange, cke); err != nil {
		return err
	}
	preMaster, err := kx.sharedSecret(cke.PublicKey)
	if err != nil {
		return err
	}
	hs.master = masterSecret12(hs.suite, preMaster, hs.hello.Random, hs.serverRandom, hs.ems, hs.t)
	c.keyLog("CLIENT_RANDOM", hs.hello.Random, hs.master)
	return nil
}

// masterSecret12 derives the master secret (RFC 5246, Section 8.1), or
// with extended master secret from the session hash of every message up
// to and including ClientKeyExchange (RFC 7627, Section 4).
func masterSecret12(s *cipherSuite, preMaster, clientRandom, serverRandom []byte, ems bool, t *transcript) []byte {
	if ems {
		return keysched.ExtendedMasterSecret(s.hash, preMaster, t.Sum())
	}
	return keysched.MasterSecret12(s.hash, preMaster, clientRandom, serverRandom)
}

func (hs *server12) readCertificateVerify() error {
	c := hs.c
	signed := hs.t.raw // every message before CertificateVerify
	cv := new(wire.CertificateVerify)
	if _, err := c.readMsg(hs.t, wire.TypeCertificateVerify, cv); err != nil {
		return err
	}
	if !slices.Contains(supportedSignatureAlgorithms, cv.SigAlg) {
		return peerError(alert.IllegalParameter, "client signed with scheme 0x%04x, which we did not offer", cv.SigAlg)
	}
	return verifySignature(c.state.PeerCertificates[0].PublicKey, SignatureScheme(cv.SigAlg), signed, cv.Signature, false)
}

// installKeys derives the key block and readies both directions; each
// takes effect at its change_cipher_spec.
func (hs *server12) installKeys() error {
	kb := hs.prf().KeyBlock(hs.hello.Random, hs.serverRandom, hs.suite.keyBlockLen())
	client, server, err := hs.suite.records12(kb, hs.etm)
	if err != nil {
		return err
	}
	hs.c.pendingIn, hs.c.pendingOut = client, server
	return nil
}

func (hs *server12) readChangeCipherSpecAndFinished() error {
	c := hs.c
	if err := c.readChangeCipherSpec(); err != nil {
		return err
	}
	c.activateReadKeys()
	want := hs.prf().Finished(true, hs.t.Sum())
	fin := new(wire.Finished)
	if _, err := c.readMsg(hs.t, wire.TypeFinished, fin); err != nil {
		return err
	}
	c.noteFinished12(fin.VerifyData)
	if err := checkFinished(fin.VerifyData, want); err != nil {
		return err
	}
	c.keepVerifyData(true, want)
	return nil
}

func (hs *server12) sendChangeCipherSpecAndFinished() error {
	c := hs.c
	if err := c.writeChangeCipherSpec(); err != nil {
		return err
	}
	c.activateWriteKeys()
	verify := hs.prf().Finished(false, hs.t.Sum())
	c.noteFinished12(verify)
	c.keepVerifyData(false, verify)
	_, err := c.writeMsg(hs.t, &wire.Finished{VerifyData: verify})
	return err
}

// newSession is the session this full handshake made, or nil when the
// connection is not resumable.
func (hs *server12) newSession() *Session {
	if !hs.cacheable {
		return nil
	}
	c := hs.c
	peerCerts, certs := clientLeafOnly(hs.peerChain, c.state.PeerCertificates)
	return &Session{
		version:     VersionTLS12,
		cipherSuite: hs.suite.id,
		secret:      hs.master,
		ems:         hs.ems,
		etm:         hs.etm,
		verified:    len(hs.peerChain) > 0 && hs.verifiesClientCert(),
		id:          hs.sessionID,
		idContext:   c.config.SessionIDContext,
		created:     c.config.time(),
		lifetime:    c.config.sessionTimeout(),
		serverName:  hs.hello.ServerName,
		alpn:        hs.alpn,
		peerCerts:   peerCerts,
		certs:       certs,
	}
}

func (hs *server12) finishState(peerChain [][]byte) error {
	c := hs.c
	c.state.ExtendedMasterSecret = hs.ems
	c.state.EncryptThenMAC = hs.etm
	c.state.NegotiatedProtocol = hs.alpn
	c.state.CipherSuite = hs.suite.id
	if hs.resumed != nil && len(peerChain) > 0 {
		certs, err := hs.resumed.PeerCertificates()
		if err != nil {
			return err
		}
		c.state.PeerCertificates = certs
	}
	return nil
}

// prf is the PRF keyed with the master secret, made on first use: one HMAC
// key setup serves the key block and both Finished messages.
func (hs *server12) prf() *keysched.PRF {
	if hs.masterPRF == nil {
		hs.masterPRF = keysched.NewPRF12(hs.suite.hash, hs.master)
	}
	return hs.masterPRF
}
