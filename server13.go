package reprise

import (
	"bytes"
	"context"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// server13 is the server side of a TLS 1.3 handshake. run reads like the
// message flow of RFC 8446, Section 2: one list, with the PSK and
// certificate paths branching inside it.
type server13 struct {
	c        *Conn
	ctx      context.Context
	hello    *wire.ClientHello // the ClientHello being answered (the second after a retry)
	helloMsg []byte
	t        *transcript // messages before hello; hello is added once the PSK is settled

	suite       *cipherSuite
	group       CurveID // key exchange group; 0 for psk_ke
	clientShare []byte  // the client's key_share for group
	alpn        string
	cacheable   bool // AllowNewSession: sessions of this connection may resume
	sentCCS     bool // the compatibility change_cipher_spec went out
	hrrMsg      []byte

	resumed           *Session // the session resumed, or nil
	pskDHE            bool     // resumption mode is psk_dhe_ke
	pskIndex          uint16   // the client's identity that resumed
	cert              *Certificate
	scheme            SignatureScheme
	certReq           bool
	early             *keysched.EarlySecret
	hsSecret          *keysched.HandshakeSecret
	clientFinishedKey []byte // finished_key of client_handshake_traffic_secret
	serverFinishedKey []byte // finished_key of server_handshake_traffic_secret
	master            *keysched.MasterSecret
	clientAP          []byte // client_application_traffic_secret_0
	// clientFinished is the verify_data the client's Finished must carry,
	// already in the transcript (see expectClientFinished).
	clientFinished []byte
	peerChain      [][]byte
	verified       bool
	serverRand     []byte
	// earlyAccepted: the client's 0-RTT data is read under earlyTraffic
	// (client_early_traffic_secret); see earlydata.go.
	earlyAccepted bool
	earlyTraffic  []byte
	phaRounds     uint32 // post-handshake authentications completed (posthandshake13.go)
}

func newServer13(ctx context.Context, c *Conn, hello *wire.ClientHello, raw []byte) *server13 {
	return &server13{c: c, ctx: ctx, hello: hello, helloMsg: raw, t: newTranscript(false)}
}

// run is the server's side of RFC 8446, Section 2 (Figure 1, and Figure 4
// with 0-RTT):
//
//	ClientHello (+early_data, (EC)DHE share, pre_shared_key*)
//	(Application Data*)   -------->
//	                                 (HelloRetryRequest: hrr13.go)
//	                                         ServerHello
//	                               {EncryptedExtensions}
//	                               {CertificateRequest*}
//	                                      {Certificate*}
//	                                {CertificateVerify*}
//	                                          {Finished}
//	                      <--------    [NewSessionTicket] (no client auth)
//	(EndOfEarlyData)
//	{Certificate*}
//	{CertificateVerify*}
//	{Finished}            -------->
//	                      <--------    [NewSessionTicket] (client auth)
//
// The PSK or certificate decision is made once, in readClientHello; the
// steps after it follow what it chose.
func (hs *server13) run() error {
	if err := hs.readClientHello(); err != nil {
		return err
	}
	if err := hs.sendServerFlight(); err != nil {
		return err
	}
	if !hs.certReq {
		// RFC 8446, Section 4.6.1: "a server which does not request client
		// authentication MAY compute the remainder of the transcript
		// independently and then send a NewSessionTicket immediately upon
		// sending its Finished rather than waiting for the client
		// Finished."
		if err := hs.sendTicketsWithFlight(); err != nil {
			return err
		}
		if err := hs.readClientFlight(); err != nil {
			return err
		}
		return hs.finish()
	}
	// The tickets carry the client's certificate: they wait for its flight.
	if err := hs.c.flush(); err != nil {
		return err
	}
	if err := hs.readClientFlight(); err != nil {
		return err
	}
	if err := hs.sendNewSessionTickets(); err != nil {
		return err
	}
	return hs.finish()
}

// readClientHello settles everything the ClientHello decides (RFC 8446,
// Section 4.1.2). serverHandshake read it to choose the version; when no
// key share fits, a HelloRetryRequest round (hrr13.go) reads the second.
// Then the PSK or the certificate is chosen, the ClientHello enters the
// transcript, and its early data is answered.
func (hs *server13) readClientHello() error {
	if err := hs.processClientHello(); err != nil {
		return err
	}
	offeredEarly := hs.hello.EarlyData
	if offeredEarly {
		// RFC 8446, Section 4.2.10: until settleEarlyData accepts it, we
		// "Ignore the extension and return a regular 1-RTT response", and
		// skip the early data the client sends meanwhile: records that
		// fail to deprotect under the handshake key or, after a
		// HelloRetryRequest, application_data records, within
		// maxSkippedEarlyData.
		hs.c.skipEarly = true
	}
	if hs.group != 0 && hs.clientShare == nil {
		if err := hs.retryHello(); err != nil {
			return err
		}
	}
	if err := hs.decidePSKOrCertificate(); err != nil {
		return err
	}
	hs.t.add(hs.helloMsg)
	hs.settleEarlyData(offeredEarly)
	return nil
}

// decidePSKOrCertificate makes the one decision of the handshake: resume
// with the PSK selectPSK accepts (RFC 8446, Section 4.2.11), or
// authenticate with a certificate (Section 4.4.2). The decision is
// recorded, refusal included, before an error returns.
func (hs *server13) decidePSKOrCertificate() error {
	c := hs.c
	decision, err := hs.selectPSK()
	c.recordDecision(hs.ctx, decision.resumeDecision)
	if err != nil {
		return err
	}
	if decision.session != nil {
		hs.resumed, hs.early, hs.pskDHE, hs.pskIndex = decision.session, decision.early, decision.dhe, decision.identity
		c.state.Resumption = decision.via
		return nil
	}
	hs.early = keysched.NewEarlySecret(hs.suite.hash, nil)
	return hs.selectCertificate()
}

// sendServerFlight queues the server's flight (RFC 8446, Section 2):
// ServerHello, then under the handshake keys EncryptedExtensions, the
// certificate messages of a full handshake, and Finished. Nothing is
// flushed here: the caller decides whether tickets join the flight.
func (hs *server13) sendServerFlight() error {
	if err := hs.sendServerHello(); err != nil {
		return err
	}
	if err := hs.sendCompatibilityCCS(); err != nil {
		return err
	}
	if err := hs.establishHandshakeKeys(); err != nil {
		return err
	}
	if err := hs.installEarlyKeys(); err != nil {
		return err
	}
	if err := hs.sendEncryptedExtensions(); err != nil {
		return err
	}
	if hs.resumed == nil {
		if err := hs.sendCertificateFlight(); err != nil {
			return err
		}
	}
	return hs.sendFinished()
}

// sendCertificateFlight authenticates a full handshake: CertificateRequest
// when Config asks for client certificates (RFC 8446, Section 4.3.2),
// Certificate and CertificateVerify (Sections 4.4.2 and 4.4.3).
func (hs *server13) sendCertificateFlight() error {
	// Section 4.3.2: "Servers which are authenticating with a PSK MUST NOT
	// send the CertificateRequest message in the main handshake": only a
	// full handshake gets here.
	if hs.c.config.clientAuth().requests() {
		if err := hs.sendCertificateRequest(); err != nil {
			return err
		}
	}
	if err := hs.sendCertificate(); err != nil {
		return err
	}
	return hs.sendCertificateVerify()
}

// sendTicketsWithFlight, for a server that does not authenticate the
// client, completes the transcript through the client's EndOfEarlyData and
// Finished ahead of their arrival and sends the tickets with our flight
// (RFC 8446, Section 4.6.1).
func (hs *server13) sendTicketsWithFlight() error {
	c := hs.c
	if err := hs.expectEndOfEarlyData(); err != nil {
		return err
	}
	if err := hs.expectClientFinished(); err != nil {
		return err
	}
	// Tickets sealed here by the ticket keys take a few microseconds to
	// mint, less than the second system call and segment they would cost
	// the server on their own: they leave in the flight's write. A store
	// or a sealer hook may stall, and a stalled ticket must cost the
	// ticket, not the handshake: then the flight leaves first.
	if !hs.ticketsSealedHere() {
		if err := c.flush(); err != nil {
			return err
		}
	}
	if err := hs.sendNewSessionTickets(); err != nil {
		return err
	}
	return c.flush()
}

// readClientFlight reads the client's flight (RFC 8446, Section 2): the
// early data through EndOfEarlyData when we accepted it, its Certificate
// and CertificateVerify when we asked for them, and Finished. Early data
// comes only with a PSK and a CertificateRequest only without one (Section
// 4.3.2), so at most one of the first two applies.
func (hs *server13) readClientFlight() error {
	if err := hs.endEarlyData(); err != nil {
		return err
	}
	if hs.certReq {
		if err := hs.readClientCertificate(); err != nil {
			return err
		}
		if err := hs.expectClientFinished(); err != nil {
			return err
		}
	}
	return hs.readFinished()
}

// processClientHello negotiates what does not depend on resumption: the
// suite, the key exchange group and ALPN (RFC 8446, Section 4.1.1).
func (hs *server13) processClientHello() error {
	c, h, cfg := hs.c, hs.hello, hs.c.config
	// RFC 8446, Section 4.1.2: "For every TLS 1.3 ClientHello, this vector
	// MUST contain exactly one byte, set to zero [...] If a TLS 1.3
	// ClientHello is received with any other value in this field, the
	// server MUST abort the handshake with an "illegal_parameter" alert."
	if !bytes.Equal(h.CompressionMethods, []uint8{0}) {
		return peerError(alert.IllegalParameter, "TLS 1.3 ClientHello offers compression")
	}
	hs.suite = cfg.pickSuite13(h.CipherSuites)
	if hs.suite == nil {
		return peerError(alert.HandshakeFailure, "no TLS 1.3 cipher suite in common with the client")
	}
	hs.t.SetHash(hs.suite.hash)
	c.state.CipherSuite = hs.suite.id
	if err := hs.selectGroup(); err != nil {
		return err
	}
	var err error
	if hs.alpn, err = cfg.negotiateALPN(h.ALPN); err != nil {
		return err
	}
	hs.cacheable = cfg.AllowNewSession == nil || cfg.AllowNewSession(hs.c.clientHelloInfo(hs.ctx, h))
	return nil
}

// selectGroup picks the key exchange group: our most preferred group for
// which the client sent a share, else our most preferred group it
// supports, which needs a HelloRetryRequest (RFC 8446, Section 4.2.8).
func (hs *server13) selectGroup() error {
	h, cfg := hs.hello, hs.c.config
	// RFC 8446, Section 9.2: "If containing a "supported_groups" extension,
	// it MUST also contain a "key_share" extension, and vice versa."
	if (len(h.SupportedGroups) > 0) != (h.KeyShares != nil) {
		return peerError(alert.MissingExtension, "ClientHello has only one of supported_groups and key_share")
	}
	// Section 4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values
	// for the same group. Clients MUST NOT offer any KeyShareEntry values
	// for groups not listed in the client's "supported_groups" extension.
	// Servers MAY check for violations of these rules and abort the
	// handshake with an "illegal_parameter" alert if one is violated."
	for i, ks := range h.KeyShares {
		if !slices.Contains(h.SupportedGroups, ks.Group) ||
			slices.ContainsFunc(h.KeyShares[:i], func(o wire.KeyShare) bool { return o.Group == ks.Group }) {
			return peerError(alert.IllegalParameter, "key_share for group %d is repeated or not in supported_groups", ks.Group)
		}
	}
	ours := cfg.curves(true)
	for _, g := range ours {
		if i := slices.IndexFunc(h.KeyShares, func(ks wire.KeyShare) bool { return ks.Group == uint16(g) }); i >= 0 {
			hs.group, hs.clientShare = g, h.KeyShares[i].Data
			return nil
		}
	}
	if g, ok := firstCommonGroup(ours, h.SupportedGroups); ok {
		hs.group = g
		return nil
	}
	// No (EC)DHE is possible. Only psk_ke resumption could still work;
	// selectPSK decides, and a full handshake then fails.
	if len(h.PSKIdentities) > 0 && slices.Contains(h.PSKModes, wire.PSKModePlain) && cfg.AllowPSKWithoutDHE {
		return nil
	}
	if len(h.SupportedGroups) == 0 {
		// Section 9.2: a ClientHello without a PSK must have supported_groups.
		return peerError(alert.MissingExtension, "ClientHello has no supported_groups")
	}
	return peerError(alert.HandshakeFailure, "no key exchange group in common with the client")
}

// selectCertificate picks, for a full handshake, the first certificate whose
// key can sign with a scheme the client accepts (RFC 8446, Section 4.4.2.2).
func (hs *server13) selectCertificate() error {
	c, h := hs.c, hs.hello
	// Section 9.2: a ClientHello for a certificate-authenticated handshake
	// MUST carry signature_algorithms, else missing_extension.
	if len(h.SignatureAlgorithms) == 0 {
		return peerError(alert.MissingExtension, "ClientHello has no signature_algorithms")
	}
	if hs.group == 0 {
		return peerError(alert.HandshakeFailure, "no key exchange group in common with the client")
	}
	certs, err := c.serverCertificate(hs.ctx, h)
	if err != nil {
		return err
	}
	for _, cert := range certs {
		if certSigner(cert) == nil {
			continue
		}
		if s, err := selectSignatureScheme(certSigner(cert).Public(), h.SignatureAlgorithms, true); err == nil {
			hs.cert, hs.scheme = cert, s
			return nil
		}
	}
	return peerError(alert.HandshakeFailure, "client accepts no signature scheme our certificates can make")
}

// sendServerHello completes the key exchange and sends ServerHello (RFC
// 8446, Section 4.1.3).
func (hs *server13) sendServerHello() error {
	c, h := hs.c, hs.hello
	hs.serverRand = make([]byte, 32)
	if _, err := readFull(c.config.rand(), hs.serverRand); err != nil {
		return err
	}
	sh := &wire.ServerHello{
		Vers:             VersionTLS12,
		Random:           hs.serverRand,
		SessionID:        h.SessionID, // legacy_session_id_echo
		CipherSuite:      hs.suite.id,
		SupportedVersion: VersionTLS13,
	}
	var shared []byte
	if hs.resumed == nil || hs.pskDHE {
		share, secret, err := respondKeyExchange(c.config.rand(), hs.group, hs.clientShare)
		if err != nil {
			return err
		}
		sh.KeyShare = wire.KeyShare{Group: uint16(hs.group), Data: share}
		shared = secret
		c.state.CurveID = hs.group
	}
	if hs.resumed != nil {
		sh.HasSelectedPSK, sh.SelectedPSK = true, hs.pskIndex
	}
	// With psk_ke shared is nil and the schedule uses zeros (Section 7.1).
	hs.hsSecret = hs.early.HandshakeSecret(shared)
	c.state.SessionID = h.SessionID
	_, err := c.writeMsg(hs.t, sh)
	return err
}

// sendCompatibilityCCS sends one change_cipher_spec after our first
// handshake message when the client asked for middlebox compatibility by a
// non-empty legacy_session_id (RFC 8446, Appendix D.4).
func (hs *server13) sendCompatibilityCCS() error {
	if hs.sentCCS || len(hs.hello.SessionID) == 0 {
		return nil
	}
	hs.sentCCS = true
	return hs.c.writeChangeCipherSpec()
}

// establishHandshakeKeys installs the handshake traffic keys.
func (hs *server13) establishHandshakeKeys() (err error) {
	hs.clientFinishedKey, hs.serverFinishedKey, err = hs.c.installHandshakeKeys13(hs.suite, hs.hsSecret, hs.t.Sum(), hs.hello.Random)
	return err
}

func (hs *server13) sendEncryptedExtensions() error {
	ee := &wire.EncryptedExtensions{
		ALPN: hs.alpn,
		// RFC 6066, Section 3: acknowledge the name we used to choose the
		// certificate; a resumption chose none.
		ServerNameAck: hs.hello.ServerName != "" && hs.resumed == nil,
		// RFC 8446, Section 4.2.10: the empty early_data extension says
		// the early data was accepted.
		EarlyData: hs.earlyAccepted,
	}
	_, err := hs.c.writeMsg(hs.t, ee)
	return err
}

func (hs *server13) sendCertificateRequest() error {
	req := &wire.CertificateRequest13{SignatureAlgorithms: supportedSignatureAlgorithms}
	if pool := hs.c.config.ClientCAs; pool != nil {
		//lint:ignore SA1019 Subjects is the only way to list the pool's names.
		req.CertificateAuthorities = pool.Subjects() //nolint:staticcheck
	}
	hs.certReq = true
	_, err := hs.c.writeMsg(hs.t, req)
	return err
}

func (hs *server13) sendCertificate() error {
	msg := new(wire.Certificate13)
	for _, der := range hs.cert.Certificate {
		msg.Entries = append(msg.Entries, wire.CertificateEntry{Data: der})
	}
	_, err := hs.c.writeMsg(hs.t, msg)
	return err
}

// sendCertificateVerify signs the transcript through Certificate (RFC 8446,
// Section 4.4.3).
func (hs *server13) sendCertificateVerify() error {
	c := hs.c
	sig, err := sign(c.config.rand(), certSigner(hs.cert), hs.scheme, signed13(true, hs.t.Sum()))
	if err != nil {
		return wrapError(alert.InternalError, "signing CertificateVerify", err)
	}
	_, err = c.writeMsg(hs.t, &wire.CertificateVerify{SigAlg: uint16(hs.scheme), Signature: sig})
	return err
}

// sendFinished sends Finished and moves our writing to the application
// traffic secret, derived from the transcript through it (RFC 8446,
// Sections 4.4.4 and 7.1).
func (hs *server13) sendFinished() error {
	c := hs.c
	verify := keysched.FinishedMAC(hs.suite.hash, hs.serverFinishedKey, hs.t.Sum())
	if _, err := c.writeMsg(hs.t, &wire.Finished{VerifyData: verify}); err != nil {
		return err
	}
	hs.master = hs.hsSecret.MasterSecret()
	th := hs.t.Sum()
	c.setExporter13(hs.suite, hs.master, th)
	hs.clientAP = hs.master.ClientApplicationTrafficSecret(th)
	serverAP := hs.master.ServerApplicationTrafficSecret(th)
	c.keyLog("CLIENT_TRAFFIC_SECRET_0", hs.hello.Random, hs.clientAP)
	c.keyLog("SERVER_TRAFFIC_SECRET_0", hs.hello.Random, serverAP)
	c.post13 = &post13State{suite: hs.suite, outSecret: serverAP}
	return c.setWriteSecret13(hs.suite, serverAP)
}

// readClientCertificate reads the client's Certificate and, when it holds
// a chain, its CertificateVerify (RFC 8446, Sections 4.4.2 and 4.4.3).
func (hs *server13) readClientCertificate() error {
	c, cfg := hs.c, hs.c.config
	cert := new(wire.Certificate13)
	if _, err := c.readMsg(hs.t, wire.TypeCertificate, cert); err != nil {
		return err
	}
	// Section 4.4.2: the context echoes our CertificateRequest's (empty).
	if len(cert.RequestContext) != 0 {
		return peerError(alert.IllegalParameter, "client Certificate has a request context we did not send")
	}
	for _, e := range cert.Entries {
		hs.peerChain = append(hs.peerChain, e.Data)
	}
	if len(hs.peerChain) == 0 {
		// Section 4.4.2.4: "If the client does not send any certificates
		// [...] the server MAY at its discretion either continue the
		// handshake without client authentication, or abort the handshake
		// with a "certificate_required" alert."
		if cfg.clientAuth().requires() {
			return peerError(alert.CertificateRequired, "client sent no certificate, and one is required")
		}
		return nil
	}
	hs.verified = cfg.clientAuth().verifies()
	if err := c.verifyPeerChain(hs.peerChain, hs.verified); err != nil {
		return err
	}
	th := hs.t.Sum()
	cv := new(wire.CertificateVerify)
	if _, err := c.readMsg(hs.t, wire.TypeCertificateVerify, cv); err != nil {
		return err
	}
	// verifySignature refuses schemes outside our signature_algorithms.
	return verifySignature(c.state.PeerCertificates[0].PublicKey, SignatureScheme(cv.SigAlg), signed13(false, th), cv.Signature, true)
}

// expectClientFinished computes the client's Finished (RFC 8446, Section
// 4.4.4) from the transcript so far and adds it to the transcript, which then
// yields the resumption master secret before the client's flight arrives.
func (hs *server13) expectClientFinished() error {
	hs.clientFinished = keysched.FinishedMAC(hs.suite.hash, hs.clientFinishedKey, hs.t.Sum())
	msg, err := (&wire.Finished{VerifyData: hs.clientFinished}).Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding the expected client Finished", err)
	}
	hs.t.add(msg)
	return nil
}

// readFinished checks the client's Finished against the one
// expectClientFinished computed, and moves reading to the client's
// application traffic secret.
func (hs *server13) readFinished() error {
	c := hs.c
	fin := new(wire.Finished)
	if _, err := c.readMsg(nil, wire.TypeFinished, fin); err != nil {
		return err
	}
	if err := checkFinished(fin.VerifyData, hs.clientFinished); err != nil {
		return err
	}
	c.post13.inSecret = hs.clientAP
	return c.setReadSecret13(hs.suite, hs.clientAP)
}

// finish records the outcome in the connection state.
func (hs *server13) finish() error {
	c := hs.c
	hs.keepForPostHandshakeAuth()
	c.state.ExtendedMasterSecret = true // RFC 8446, Section 7.1 binds every secret to the transcript
	c.state.NegotiatedProtocol = hs.alpn
	c.state.CipherSuite = hs.suite.id
	if hs.resumed == nil {
		c.state.Resumption = ResumedNone
		return nil
	}
	c.counters().hits.Add(1)
	c.counters().pskResumed.Add(1)
	c.state.DidResume = true
	if c.state.session == nil {
		c.state.session = hs.resumed
	}
	if len(hs.resumed.peerCerts) > 0 {
		certs, err := hs.resumed.PeerCertificates()
		if err != nil {
			return wrapError(alert.BadCertificate, "parsing the resumed session's certificates", err)
		}
		c.state.PeerCertificates = certs
	}
	return nil
}
