package reprise

import (
	"bytes"
	"context"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// TLS 1.3 post-handshake client authentication (RFC 8446, Sections 4.2.6
// and 4.6.2): a server that the client told, with post_handshake_auth,
// that it may ask, sends a CertificateRequest with a fresh context at any
// time after the handshake; the client answers with Certificate,
// CertificateVerify (when the Certificate is not empty) and Finished,
// computed over the handshake's transcript through the client Finished
// plus these messages (Section 4.4: "Post-Handshake: ClientHello ... client
// Finished + CertificateRequest"), with the finished_key of the client's
// current application traffic secret.

// phaContextLen is the length of our certificate_request_context: random,
// so "unique within the scope of this connection" (Section 4.3.2) without
// bookkeeping.
const phaContextLen = 16

// pha13 is what post-handshake authentication needs after the handshake.
type pha13 struct {
	// transcript is the handshake's, through the client Finished; each
	// exchange works on a clone.
	transcript *keysched.Transcript
	// server is the finished handshake, kept by a server whose client
	// offered post_handshake_auth: it issues the tickets that carry the
	// identity learned afterwards.
	server *server13
}

// offersPostHandshakeAuth says whether a client offers post_handshake_auth:
// when it has a certificate to give, or GetClientCertificate to choose one.
func (cfg *Config) offersPostHandshakeAuth() bool {
	return len(cfg.Certificates) > 0 || cfg.GetClientCertificate != nil || cfg.testForcePostHandshakeAuth
}

// keepForPostHandshakeAuth, at the end of a server's handshake, keeps
// what a later RequestClientCertificate needs, if the client offered.
func (hs *server13) keepForPostHandshakeAuth() {
	if !hs.hello.PostHandshakeAuth || hs.c.post13 == nil {
		return
	}
	hs.c.post13.pha = &pha13{transcript: hs.t.Clone(), server: hs}
}

// keepForPostHandshakeAuth, at the end of a client's handshake, keeps the
// transcript a post-handshake CertificateRequest is answered over.
func (hs *client13) keepForPostHandshakeAuth() {
	if !hs.hello.PostHandshakeAuth || hs.c.post13 == nil {
		return
	}
	hs.c.post13.pha = &pha13{transcript: hs.t.Clone()}
}

// postHandshakeAuth13 is the server's side of one exchange. The caller
// (RequestClientCertificate) holds handshakeMu; Read leaves the client's
// messages to us.
func (c *Conn) postHandshakeAuth13(ctx context.Context) error {
	p, cfg := c.post13, c.config
	reqContext := make([]byte, phaContextLen)
	if _, err := readFull(cfg.rand(), reqContext); err != nil {
		return err
	}
	req := &wire.CertificateRequest13{RequestContext: reqContext, SignatureAlgorithms: supportedSignatureAlgorithms}
	if pool := cfg.ClientCAs; pool != nil {
		//lint:ignore SA1019 Subjects is the only way to list the pool's names.
		req.CertificateAuthorities = pool.Subjects() //nolint:staticcheck
	}
	reqMsg, err := req.Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding CertificateRequest", err)
	}
	t := &transcript{Transcript: p.pha.transcript.Clone()}
	t.add(reqMsg)
	if err := c.writePostHandshakeMessage(reqMsg); err != nil {
		return err
	}

	cert := new(wire.Certificate13)
	if err := c.readPostHandshakeAuthCertificate(t, cert); err != nil {
		return err
	}
	// Section 4.4.2: the context echoes the CertificateRequest's.
	if !bytes.Equal(cert.RequestContext, reqContext) {
		return peerError(alert.IllegalParameter, "client Certificate's request context is not the one we sent")
	}
	var chain [][]byte
	for _, e := range cert.Entries {
		chain = append(chain, e.Data)
	}
	verify := cfg.clientAuth().verifies() || cfg.ClientCAs != nil
	if len(chain) > 0 {
		if err := c.verifyPeerChain(chain, verify); err != nil {
			return err
		}
		th := t.Sum()
		cv := new(wire.CertificateVerify)
		if _, err := c.readMsg(t, wire.TypeCertificateVerify, cv); err != nil {
			return err
		}
		// Section 4.4.3: the signature covers the transcript through
		// Certificate; verifySignature refuses schemes we did not offer.
		if err := verifySignature(c.state.PeerCertificates[0].PublicKey, SignatureScheme(cv.SigAlg), signed13(false, th), cv.Signature, true); err != nil {
			return err
		}
	}
	c.inMu.Lock()
	finishedKey := keysched.FinishedKey13(p.suite.hash, p.inSecret)
	c.inMu.Unlock()
	want := keysched.FinishedMAC(p.suite.hash, finishedKey, t.Sum())
	fin := new(wire.Finished)
	if _, err := c.readMsg(t, wire.TypeFinished, fin); err != nil {
		return err
	}
	if err := checkFinished(fin.VerifyData, want); err != nil {
		return err
	}
	if len(chain) == 0 {
		// Section 4.4.2.4: without a certificate the server "MAY at its
		// discretion either continue the handshake without client
		// authentication, or abort the handshake with a
		// "certificate_required" alert."
		if cfg.clientAuth().requires() {
			return peerError(alert.CertificateRequired, "client sent no certificate, and one is required")
		}
		return ErrNoClientCertificate
	}
	// Config.VerifyConnection sees the connection with its new peer.
	if err := c.verifyConnection(); err != nil {
		return err
	}
	// The identity is known: the tickets issued from now on carry it
	// (Section 4.6.1), so a resumption keeps it.
	hs := p.pha.server
	hs.ctx, hs.peerChain, hs.verified = ctx, chain, verify
	hs.phaRounds++
	if err := hs.sendNewSessionTickets(); err != nil {
		return err
	}
	return c.flush()
}

// readPostHandshakeAuthCertificate reads the client's Certificate. A
// KeyUpdate the client sent before it saw our request may come first
// (Section 4.6.3 lets either side send one at any time after its
// Finished); it is acted on as Read would, within the same bound.
func (c *Conn) readPostHandshakeAuthCertificate(t *transcript, cert *wire.Certificate13) error {
	for {
		// A KeyUpdate is not part of the authenticator's transcript
		// (Section 4.4): msg goes to t only when it is the Certificate.
		gotKeyUpdate, msg, err := c.readOptionalMsg(nil, wire.TypeKeyUpdate, new(wire.KeyUpdate), wire.TypeCertificate, cert)
		if err != nil {
			return err
		}
		if !gotKeyUpdate {
			t.add(msg)
			return nil
		}
		c.inMu.Lock()
		err = c.handleKeyUpdate13(msg)
		c.inMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// answerCertificateRequest13 is the client's side: called by Read, with
// inMu held, for a post-handshake CertificateRequest.
func (c *Conn) answerCertificateRequest13(msg []byte) error {
	p := c.post13
	// Section 4.6.2: "A client that receives a CertificateRequest message
	// without having sent the "post_handshake_auth" extension MUST send an
	// "unexpected_message" fatal alert."
	if p.pha == nil {
		return peerError(alert.UnexpectedMessage, "post-handshake CertificateRequest without post_handshake_auth")
	}
	req := new(wire.CertificateRequest13)
	if err := req.Unmarshal(msg); err != nil {
		return err
	}
	// Each answer costs a signature: requests share the bound on
	// messages that bring Read no data.
	if err := c.countRecordWithoutData("post-handshake CertificateRequests"); err != nil {
		return err
	}
	t := &transcript{Transcript: p.pha.transcript.Clone()}
	if !c.reneg.testOmitRequestFromTranscript {
		t.add(msg)
	}
	candidates, err := c.clientCertificates(context.Background(), VersionTLS13, req.SignatureAlgorithms, req.CertificateAuthorities)
	if err != nil {
		return err
	}
	cert, scheme := chooseClientCertificate13(candidates, req.SignatureAlgorithms)
	certMsg := &wire.Certificate13{RequestContext: req.RequestContext}
	if cert != nil {
		for _, der := range cert.Certificate {
			certMsg.Entries = append(certMsg.Entries, wire.CertificateEntry{Data: der})
		}
	}
	var flight [][]byte
	m, err := certMsg.Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding Certificate", err)
	}
	t.add(m)
	flight = append(flight, m)
	if cert != nil {
		sig, err := sign(c.config.rand(), certSigner(cert), scheme, signed13(false, t.Sum()))
		if err != nil {
			return wrapError(alert.InternalError, "signing CertificateVerify", err)
		}
		m, err := (&wire.CertificateVerify{SigAlg: uint16(scheme), Signature: sig}).Marshal()
		if err != nil {
			return wrapError(alert.InternalError, "encoding CertificateVerify", err)
		}
		t.add(m)
		flight = append(flight, m)
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if f := c.fatal.Load(); f != nil {
		return f
	}
	finishedKey := keysched.FinishedKey13(p.suite.hash, p.outSecret)
	fin, err := (&wire.Finished{VerifyData: keysched.FinishedMAC(p.suite.hash, finishedKey, t.Sum())}).Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding Finished", err)
	}
	flight = append(flight, fin)
	var all []byte
	for _, m := range flight {
		c.traceMessage(true, m)
		if c.mutateOutgoing != nil {
			m = c.mutateOutgoing(m)
		}
		all = append(all, m...)
	}
	if _, err := c.writeRecordLocked(record.Handshake, all); err != nil {
		return err
	}
	return c.flushLocked()
}

// chooseClientCertificate13 picks the first certificate that can sign
// with a scheme the server accepts (Section 4.4.2.3), or none.
func chooseClientCertificate13(candidates []Certificate, schemes []uint16) (*Certificate, SignatureScheme) {
	for i := range candidates {
		cand := &candidates[i]
		if certSigner(cand) == nil {
			continue
		}
		if s, err := selectSignatureScheme(certSigner(cand).Public(), schemes, true); err == nil {
			return cand, s
		}
	}
	return nil, 0
}
