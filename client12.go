package reprise

import (
	"context"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/diag"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// client12 is the client side of a TLS 1.2 handshake, from the ServerHello
// on. run reads like RFC 5246, Section 7.3.
type client12 struct {
	c     *Conn
	ctx   context.Context
	ch    *clientHello
	hello *wire.ClientHello
	sh    *wire.ServerHello
	t     *transcript

	suite      *cipherSuite
	master     []byte
	ems, etm   bool
	resumed    *Session
	peerChain  [][]byte
	ticket     []byte // a NewSessionTicket's ticket, if one came
	ticketHint uint32
	gotTicket  bool
	renego     bool // a renegotiation the server asked for (renegotiate12.go)

	// Full handshake only: the server's key exchange, and its
	// CertificateRequest if it sent one.
	ske     *wire.ServerKeyExchangeECDHE
	certReq *wire.CertificateRequest12

	// masterPRF is keyed with master once, for the key block and both
	// Finished messages; prf makes it.
	masterPRF *keysched.PRF
}

func (hs *client12) run() error {
	if err := hs.processServerHello(); err != nil {
		return err
	}
	hs.ch.answered(VersionTLS12, hs.resumed != nil)
	if hs.resumed != nil {
		return hs.runResumed()
	}
	return hs.runFull()
}

// processServerHello checks the server's choices against our offer and
// learns whether it resumes: the server echoes the session ID we sent
// (RFC 5246, Section 7.4.1.3; RFC 5077, Section 3.4).
func (hs *client12) processServerHello() error {
	c, sh, h := hs.c, hs.sh, hs.hello
	if err := hs.checkExtensions(); err != nil {
		return err
	}
	hs.suite = suiteByID(sh.CipherSuite)
	if hs.suite == nil || hs.suite.tls13 || !slices.Contains(h.CipherSuites, sh.CipherSuite) {
		return peerError(alert.IllegalParameter, "server chose cipher suite 0x%04x, which we did not offer", sh.CipherSuite)
	}
	if sh.CompressionMethod != 0 {
		return peerError(alert.IllegalParameter, "server chose compression method %d", sh.CompressionMethod)
	}
	// RFC 5746, Section 3.4: on the initial handshake the server's
	// renegotiation_info must be empty.
	// Section 3.5 for a renegotiation.
	if hs.renego {
		if err := hs.checkRenegotiationInfo(); err != nil {
			return err
		}
	} else if sh.SecureRenegotiationSupported && len(sh.SecureRenegotiation) != 0 {
		return peerError(alert.HandshakeFailure, "server's renegotiation_info is not empty")
	}
	c.state.SecureRenegotiation = sh.SecureRenegotiationSupported
	hs.ems = sh.ExtendedMasterSecret
	if !hs.ems && c.config.ExtendedMasterSecret == EMSRequire {
		return ErrEMSRequired
	}
	hs.etm = sh.EncryptThenMAC
	hs.t.SetHash(hs.suite.hash)
	c.state.CipherSuite = sh.CipherSuite
	c.state.SessionID = sh.SessionID
	c.state.NegotiatedProtocol = sh.ALPN

	var err error
	hs.resumed, err = hs.ch.accept12(sh, hs.ems, hs.etm)
	return err
}

// checkExtensions: a server may only answer extensions we sent (RFC 5246,
// Section 7.4.1.4; RFC 8446, Section 4.2).
func (hs *client12) checkExtensions() error {
	sh, h := hs.sh, hs.hello
	unsolicited := func(sent bool, name string) error {
		if !sent {
			return peerError(alert.UnsupportedExtension, "server sent %s, which we did not offer", name)
		}
		return nil
	}
	for _, err := range []error{
		func() error {
			if sh.ExtendedMasterSecret {
				return unsolicited(h.ExtendedMasterSecret, "extended_master_secret")
			}
			return nil
		}(),
		func() error {
			if sh.TicketSupported {
				return unsolicited(h.TicketSupported, "session_ticket")
			}
			return nil
		}(),
		func() error {
			if sh.EncryptThenMAC {
				if err := unsolicited(h.EncryptThenMAC, "encrypt_then_mac"); err != nil {
					return err
				}
				// RFC 7366, Section 3: not with an AEAD suite.
				if s := suiteByID(sh.CipherSuite); s != nil && s.bulk != bulkAESCBC {
					return peerError(alert.IllegalParameter, "server sent encrypt_then_mac with an AEAD suite")
				}
			}
			return nil
		}(),
		func() error {
			if sh.ALPN != "" {
				if err := unsolicited(len(h.ALPN) > 0, "application_layer_protocol_negotiation"); err != nil {
					return err
				}
				// RFC 7301, Section 3.1: the protocol must be one we offered.
				if !slices.Contains(h.ALPN, sh.ALPN) {
					return peerError(alert.IllegalParameter, "server selected ALPN protocol %q, which we did not offer", sh.ALPN)
				}
			}
			return nil
		}(),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// runResumed is the abbreviated handshake: the server's NewSessionTicket
// (if promised), ChangeCipherSpec and Finished, then ours.
func (hs *client12) runResumed() error {
	c := hs.c
	hs.master = hs.resumed.secret
	if err := hs.installKeys(); err != nil {
		return err
	}
	if err := hs.readNewSessionTicket(); err != nil {
		return err
	}
	if err := hs.readChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	if err := hs.sendChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	c.state.DidResume = true
	c.state.Resumption = ResumedSessionID
	if len(hs.hello.SessionTicket) > 0 {
		c.state.Resumption = ResumedTicket
	}
	c.state.ExtendedMasterSecret = hs.ems
	c.state.EncryptThenMAC = hs.etm
	if certs, err := hs.resumed.PeerCertificates(); err == nil {
		c.state.PeerCertificates = certs
	}
	s := hs.resumed
	if hs.gotTicket && len(hs.ticket) > 0 {
		renewed := *s
		renewed.ticket = hs.ticket
		renewed.created = c.config.time()
		renewed.lifetime = ticketLifetime12(hs.ticketHint)
		s = &renewed
	}
	c.saveSession(hs.ch.key, s)
	return nil
}

// runFull is the full handshake of RFC 5246, Section 7.3, Figure 1, with
// ECDHE key exchange (RFC 8422), from the ServerHello on:
//
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
func (hs *client12) runFull() error {
	c := hs.c
	if err := hs.readServerCertificate(); err != nil {
		return err
	}
	if err := hs.readServerKeyExchange(); err != nil {
		return err
	}
	if err := hs.readCertificateRequestAndServerHelloDone(); err != nil {
		return err
	}
	if err := hs.sendClientFlight(); err != nil {
		return err
	}
	if err := hs.readNewSessionTicket(); err != nil {
		return err
	}
	if err := hs.readChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	c.state.Resumption = ResumedNone
	c.state.ExtendedMasterSecret = hs.ems
	c.state.EncryptThenMAC = hs.etm
	c.state.CurveID = CurveID(hs.ske.Group)
	hs.saveNewSession()
	return nil
}

// readServerCertificate reads and verifies the server's chain (RFC 5246,
// Section 7.4.2).
func (hs *client12) readServerCertificate() error {
	c := hs.c
	cert := new(wire.Certificate12)
	if _, err := c.readMsg(hs.t, wire.TypeCertificate, cert); err != nil {
		return err
	}
	if len(cert.Certificates) == 0 {
		return peerError(alert.DecodeError, "server sent an empty Certificate")
	}
	hs.peerChain = cert.Certificates
	return c.verifyPeerChain(cert.Certificates, !c.config.InsecureSkipVerify)
}

// readServerKeyExchange reads the server's ECDHE share and checks its
// signature (RFC 8422, Section 5.4).
func (hs *client12) readServerKeyExchange() error {
	ske := new(wire.ServerKeyExchangeECDHE)
	if _, err := hs.c.readMsg(hs.t, wire.TypeServerKeyExchange, ske); err != nil {
		return err
	}
	hs.ske = ske
	return hs.verifyServerKeyExchange(ske)
}

// readCertificateRequestAndServerHelloDone reads the optional
// CertificateRequest (RFC 5246, Section 7.4.4) and the ServerHelloDone that
// ends the server's flight (Section 7.4.5).
func (hs *client12) readCertificateRequestAndServerHelloDone() error {
	c := hs.c
	req, done := new(wire.CertificateRequest12), new(wire.ServerHelloDone)
	gotReq, _, err := c.readOptionalMsg(hs.t, wire.TypeCertificateRequest, req, wire.TypeServerHelloDone, done)
	if err != nil {
		return err
	}
	if !gotReq {
		hs.t.keepRaw, hs.t.raw = false, nil // no CertificateVerify will be signed
		return nil
	}
	hs.certReq = req
	_, err = c.readMsg(hs.t, wire.TypeServerHelloDone, done)
	return err
}

// sendClientFlight sends our certificate if asked, ClientKeyExchange, the
// CertificateVerify for a certificate sent, ChangeCipherSpec and Finished
// (RFC 5246, Section 7.3), and flushes them as one flight.
func (hs *client12) sendClientFlight() error {
	c := hs.c
	var clientCert *Certificate
	if hs.certReq != nil {
		var err error
		if clientCert, err = hs.sendCertificate(); err != nil {
			return err
		}
	}
	if err := hs.sendClientKeyExchange(); err != nil {
		return err
	}
	if clientCert != nil {
		if err := hs.sendCertificateVerify(clientCert, hs.certReq); err != nil {
			return err
		}
	}
	if err := hs.installKeys(); err != nil {
		return err
	}
	if err := hs.sendChangeCipherSpecAndFinished(); err != nil {
		return err
	}
	return c.flush()
}

// sendCertificate answers a CertificateRequest with the certificate
// chooseClientCertificate picks, or an empty Certificate when none fits
// (RFC 5246, Section 7.4.6). It returns the certificate sent, if any.
func (hs *client12) sendCertificate() (*Certificate, error) {
	clientCert, err := hs.chooseClientCertificate(hs.certReq)
	if err != nil {
		return nil, err
	}
	var chain [][]byte
	if clientCert != nil {
		chain = clientCert.Certificate
	}
	if _, err := hs.c.writeMsg(hs.t, &wire.Certificate12{Certificates: chain}); err != nil {
		return nil, err
	}
	return clientCert, nil
}

// sendClientKeyExchange answers the server's ECDHE share with ours (RFC
// 8422, Section 5.7) and derives the master secret (RFC 5246, Section 8.1;
// RFC 7627, Section 4), whose session hash ends with this message.
func (hs *client12) sendClientKeyExchange() error {
	c := hs.c
	share, preMaster, err := respondKeyExchange(c.config.rand(), CurveID(hs.ske.Group), hs.ske.PublicKey)
	if err != nil {
		return err
	}
	if _, err := c.writeMsg(hs.t, &wire.ClientKeyExchangeECDHE{PublicKey: share}); err != nil {
		return err
	}
	hs.master = masterSecret12(hs.suite, preMaster, hs.hello.Random, hs.sh.Random, hs.ems, hs.t)
	c.keyLog("CLIENT_RANDOM", hs.hello.Random, hs.master)
	return nil
}

func (hs *client12) verifyServerKeyExchange(ske *wire.ServerKeyExchangeECDHE) error {
	c := hs.c
	if !slices.Contains(c.config.curves(false), CurveID(ske.Group)) {
		return peerError(alert.IllegalParameter, "server chose group %v, which we did not offer", CurveID(ske.Group))
	}
	if !slices.Contains(hs.hello.SignatureAlgorithms, ske.SigAlg) {
		return peerError(alert.IllegalParameter, "server signed with scheme 0x%04x, which we did not offer", ske.SigAlg)
	}
	signed := slices.Concat(hs.hello.Random, hs.sh.Random, ske.Params())
	return verifySignature(c.state.PeerCertificates[0].PublicKey, SignatureScheme(ske.SigAlg), signed, ske.Signature, false)
}

// chooseClientCertificate picks our first certificate whose key can sign
// with a scheme the server accepts; none means an empty Certificate.
func (hs *client12) chooseClientCertificate(req *wire.CertificateRequest12) (*Certificate, error) {
	candidates, err := hs.c.clientCertificates(hs.ctx, VersionTLS12, req.SignatureAlgorithms, req.CertificateAuthorities)
	if err != nil {
		return nil, err
	}
	for i := range candidates {
		cert := &candidates[i]
		if certSigner(cert) == nil {
			continue
		}
		if _, err := selectSignatureScheme(certSigner(cert).Public(), req.SignatureAlgorithms, false); err == nil {
			return cert, nil
		}
	}
	return nil, nil
}

func (hs *client12) sendCertificateVerify(cert *Certificate, req *wire.CertificateRequest12) error {
	c := hs.c
	scheme, err := selectSignatureScheme(certSigner(cert).Public(), req.SignatureAlgorithms, false)
	if err != nil {
		return err
	}
	signed := hs.t.raw
	if c.config.testSignShortTranscript12 {
		signed = signed[:len(signed)-1]
	}
	sig, err := sign(c.config.rand(), certSigner(cert), scheme, signed)
	if err != nil {
		return wrapError(alert.InternalError, "signing CertificateVerify", err)
	}
	_, err = c.writeMsg(hs.t, &wire.CertificateVerify{SigAlg: uint16(scheme), Signature: sig})
	return err
}

func (hs *client12) installKeys() error {
	kb := hs.prf().KeyBlock(hs.hello.Random, hs.sh.Random, hs.suite.keyBlockLen())
	client, server, err := hs.suite.records12(kb, hs.etm)
	if err != nil {
		return err
	}
	hs.c.pendingIn, hs.c.pendingOut = server, client
	return nil
}

// readNewSessionTicket reads the ticket a server promised with an empty
// session_ticket extension (RFC 5077, Section 3.3). It must come before
// the server's ChangeCipherSpec; it is trusted only once Finished verifies.
func (hs *client12) readNewSessionTicket() error {
	if !hs.sh.TicketSupported {
		return nil
	}
	nst := new(wire.NewSessionTicket12)
	if _, err := hs.c.readMsg(hs.t, wire.TypeNewSessionTicket, nst); err != nil {
		return err
	}
	hs.gotTicket = true
	hs.ticket, hs.ticketHint = nst.Ticket, nst.LifetimeHint
	if f := hs.c.config.diagnostics.OnTicket; f != nil {
		f(diag.Ticket{Version: VersionTLS12, Lifetime: nst.LifetimeHint, Len: len(nst.Ticket)})
	}
	return nil
}

func (hs *client12) readChangeCipherSpecAndFinished() error {
	c := hs.c
	if err := c.readChangeCipherSpec(); err != nil {
		return err
	}
	c.activateReadKeys()
	want := hs.prf().Finished(false, hs.t.Sum())
	fin := new(wire.Finished)
	if _, err := c.readMsg(hs.t, wire.TypeFinished, fin); err != nil {
		return err
	}
	c.noteFinished12(fin.VerifyData)
	if err := checkFinished(fin.VerifyData, want); err != nil {
		return err
	}
	c.keepVerifyData(false, want)
	return nil
}

func (hs *client12) sendChangeCipherSpecAndFinished() error {
	c := hs.c
	if err := c.writeChangeCipherSpec(); err != nil {
		return err
	}
	c.activateWriteKeys()
	verify := hs.prf().Finished(true, hs.t.Sum())
	c.noteFinished12(verify)
	c.keepVerifyData(true, verify)
	_, err := c.writeMsg(hs.t, &wire.Finished{VerifyData: verify})
	return err
}

// prf is the PRF keyed with the master secret, made on first use: one HMAC
// key setup serves the key block and both Finished messages.
func (hs *client12) prf() *keysched.PRF {
	if hs.masterPRF == nil {
		hs.masterPRF = keysched.NewPRF12(hs.suite.hash, hs.master)
	}
	return hs.masterPRF
}
