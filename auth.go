package reprise

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/reprise-tls/reprise/internal/alert"
)

// schemesForKey lists the signature schemes a key can make, in our
// preference order. RFC 8446, Section 4.2.3: in TLS 1.3 ECDSA schemes are
// bound to one curve and RSA signatures must be PSS.
func schemesForKey(pub crypto.PublicKey, tls13 bool) []SignatureScheme {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var curveScheme SignatureScheme
		switch k.Curve {
		case elliptic.P256():
			curveScheme = ECDSAWithP256AndSHA256
		case elliptic.P384():
			curveScheme = ECDSAWithP384AndSHA384
		case elliptic.P521():
			curveScheme = ECDSAWithP521AndSHA512
		default:
			return nil
		}
		if tls13 {
			return []SignatureScheme{curveScheme}
		}
		// TLS 1.2 schemes name only the hash; prefer the curve's own.
		all := []SignatureScheme{curveScheme, ECDSAWithP256AndSHA256, ECDSAWithP384AndSHA384, ECDSAWithP521AndSHA512}
		return slices.Compact(all)
	case ed25519.PublicKey:
		return []SignatureScheme{Ed25519}
	case *rsa.PublicKey:
		pss := []SignatureScheme{PSSWithSHA256, PSSWithSHA384, PSSWithSHA512}
		if tls13 {
			return pss
		}
		return append(pss, PKCS1WithSHA256, PKCS1WithSHA384, PKCS1WithSHA512)
	}
	return nil
}

// selectSignatureScheme picks the first scheme for key that the peer
// listed in signature_algorithms. RFC 5246, Section 7.4.1.4.1: a TLS 1.2
// peer that sent no list is assumed to accept SHA-1; we do not sign with
// SHA-1, so such a peer gets SHA-256, which every TLS 1.2 stack verifies.
func selectSignatureScheme(pub crypto.PublicKey, peer []uint16, tls13 bool) (SignatureScheme, error) {
	ours := schemesForKey(pub, tls13)
	if len(ours) == 0 {
		return 0, peerError(alert.InternalError, "certificate key type is not supported")
	}
	if len(peer) == 0 && !tls13 {
		return ours[0], nil
	}
	for _, s := range ours {
		if slices.Contains(peer, uint16(s)) {
			return s, nil
		}
	}
	return 0, peerError(alert.HandshakeFailure, "peer accepts no signature scheme our certificate can make")
}

// sign signs message (the unhashed signed content) with key under scheme.
func sign(rand io.Reader, key crypto.Signer, scheme SignatureScheme, message []byte) ([]byte, error) {
	h := hashForScheme(scheme)
	if scheme == Ed25519 {
		return key.Sign(rand, message, crypto.Hash(0))
	}
	hh := h.New()
	hh.Write(message)
	digest := hh.Sum(nil)
	switch scheme {
	case PSSWithSHA256, PSSWithSHA384, PSSWithSHA512:
		return key.Sign(rand, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h})
	}
	return key.Sign(rand, digest, h)
}

var errBadSignature = errors.New("signature does not verify")

// verifySignature checks a peer's signature over message. allowed is the
// list we advertised; a scheme outside it is illegal_parameter (RFC 8446,
// Section 4.4.3).
func verifySignature(pub crypto.PublicKey, scheme SignatureScheme, message, sig []byte, tls13 bool) error {
	if !slices.Contains(schemesForKey(pub, tls13), scheme) || !slices.Contains(supportedSignatureAlgorithms, uint16(scheme)) {
		return peerError(alert.IllegalParameter, "peer signed with scheme 0x%04x, which its key or our offer does not allow", uint16(scheme))
	}
	h := hashForScheme(scheme)
	var digest []byte
	if scheme != Ed25519 {
		hh := h.New()
		hh.Write(message)
		digest = hh.Sum(nil)
	}
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest, sig)
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, message, sig)
	case *rsa.PublicKey:
		switch scheme {
		case PSSWithSHA256, PSSWithSHA384, PSSWithSHA512:
			ok = rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		default:
			ok = rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
		}
	}
	if !ok {
		return wrapError(alert.DecryptError, "peer's handshake signature", errBadSignature)
	}
	return nil
}

// signed13 builds the content a TLS 1.3 CertificateVerify signs (RFC 8446,
// Section 4.4.3): 64 spaces, a context string, a zero byte, the transcript hash.
func signed13(server bool, transcriptHash []byte) []byte {
	ctx := "TLS 1.3, client CertificateVerify"
	if server {
		ctx = "TLS 1.3, server CertificateVerify"
	}
	b := make([]byte, 0, 64+len(ctx)+1+len(transcriptHash))
	for range 64 {
		b = append(b, 0x20)
	}
	b = append(b, ctx...)
	b = append(b, 0)
	return append(b, transcriptHash...)
}

// parseCertificates parses a peer's DER chain. Parsed certificates are
// shared through certCache: a client talking to one server, or a server
// seeing the same client certificates, parses each once.
func parseCertificates(chain [][]byte) ([]*x509.Certificate, error) {
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		c, err := certCache.parse(der)
		if err != nil {
			return nil, wrapError(alert.BadCertificate, "parsing peer certificate", err)
		}
		certs[i] = c
	}
	return certs, nil
}

// parsedCerts is a small bounded cache of parsed certificates keyed by
// their DER bytes. x509.Certificate values are treated as read-only, as
// crypto/tls does with its own cache.
type parsedCerts struct {
	mu sync.Mutex
	m  map[string]*x509.Certificate
}

const maxParsedCerts = 256

var certCache = &parsedCerts{m: make(map[string]*x509.Certificate)}

func (pc *parsedCerts) parse(der []byte) (*x509.Certificate, error) {
	pc.mu.Lock()
	c, ok := pc.m[string(der)]
	pc.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	if len(pc.m) >= maxParsedCerts {
		// Forget everything rather than track recency: the cache only
		// saves work, and a full cache means a varied population.
		clear(pc.m)
	}
	pc.m[string(der)] = c
	pc.mu.Unlock()
	return c, nil
}

// verifyPeerChain verifies the peer's chain: the server's against RootCAs
// and ServerName, a client's against ClientCAs. It fills in the connection
// state's certificate fields.
func (c *Conn) verifyPeerChain(chain [][]byte, verify bool) error {
	certs, err := parseCertificates(chain)
	if err != nil {
		return err
	}
	c.state.PeerCertificates = certs
	if len(certs) == 0 {
		return nil
	}
	if verify {
		opts := x509.VerifyOptions{
			Intermediates: x509.NewCertPool(),
			CurrentTime:   c.config.time(),
		}
		for _, ic := range certs[1:] {
			opts.Intermediates.AddCert(ic)
		}
		if c.isClient {
			opts.Roots = c.config.RootCAs
			opts.DNSName = c.config.ServerName
		} else {
			opts.Roots = c.config.ClientCAs
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		chains, err := certs[0].Verify(opts)
		if err != nil {
			return wrapError(certificateAlert(err), "verifying peer certificate", &CertificateVerificationError{UnverifiedCertificates: certs, Err: err})
		}
		c.state.VerifiedChains = chains
	}
	if f := c.config.VerifyPeerCertificate; f != nil {
		if err := f(chain, c.state.VerifiedChains); err != nil {
			return wrapError(alert.BadCertificate, "VerifyPeerCertificate refused the peer", err)
		}
	}
	switch certs[0].PublicKey.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return peerError(alert.UnsupportedCertificate, "peer certificate has an unsupported key type %T", certs[0].PublicKey)
	}
	return nil
}

// certificateAlert maps an x509 verification failure to its alert
// (RFC 8446, Section 6.2).
func certificateAlert(err error) alert.Alert {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return alert.UnknownCA
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return alert.CertificateExpired
	}
	return alert.BadCertificate
}
