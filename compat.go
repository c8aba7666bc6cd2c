package reprise

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/reprise-tls/reprise/internal/wire"
)

// The types below are crypto/tls's own. They carry no reprise behaviour,
// so sharing them lets values flow between the two packages without
// adapters: autocert's and certmagic's GetCertificate plug into
// Config.GetCertificate unchanged, a tls.Certificate loaded elsewhere goes
// into Config.Certificates, and a CurveID or SignatureScheme compares
// equal in both. See "Migrating from crypto/tls" in the README for what
// does differ.

// Certificate is a certificate chain and its private key: crypto/tls's
// type. reprise signs with PrivateKey through crypto.Signer, so it must be
// an *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey or another
// crypto.Signer over one of those key types. SupportedSignatureAlgorithms,
// OCSPStaple and SignedCertificateTimestamps are not used.
type Certificate = tls.Certificate

// ClientHelloInfo is what GetCertificate, GetConfigForClient and
// AllowNewSession see of a ClientHello: crypto/tls's type. Its Context
// method returns the handshake's context and Conn is the underlying
// connection; SupportsCertificate judges by crypto/tls's rules, which
// match reprise's for the key types both support.
type ClientHelloInfo = tls.ClientHelloInfo

// CertificateRequestInfo is what GetClientCertificate sees of a server's
// CertificateRequest: crypto/tls's type.
type CertificateRequestInfo = tls.CertificateRequestInfo

// CurveID is a TLS NamedGroup (RFC 8446, Section 4.2.7): crypto/tls's type.
type CurveID = tls.CurveID

// Key exchange groups reprise implements; the same values as crypto/tls's.
const (
	CurveP256      = tls.CurveP256
	CurveP384      = tls.CurveP384
	X25519         = tls.X25519
	X25519MLKEM768 = tls.X25519MLKEM768 // draft-ietf-tls-ecdhe-mlkem; TLS 1.3 only
)

// CurveName returns the short name reprise prints for a group ("P-256",
// "X25519"), as the CLI's output and traces use. CurveID's own String
// method is crypto/tls's ("CurveP256").
func CurveName(id CurveID) string {
	switch id {
	case CurveP256:
		return "P-256"
	case CurveP384:
		return "P-384"
	case X25519:
		return "X25519"
	case X25519MLKEM768:
		return "X25519MLKEM768"
	}
	return fmt.Sprintf("CurveID(%d)", uint16(id))
}

// SignatureScheme is a TLS SignatureScheme (RFC 8446, Section 4.2.3):
// crypto/tls's type.
type SignatureScheme = tls.SignatureScheme

const (
	PKCS1WithSHA256        = tls.PKCS1WithSHA256
	PKCS1WithSHA384        = tls.PKCS1WithSHA384
	PKCS1WithSHA512        = tls.PKCS1WithSHA512
	PSSWithSHA256          = tls.PSSWithSHA256
	PSSWithSHA384          = tls.PSSWithSHA384
	PSSWithSHA512          = tls.PSSWithSHA512
	ECDSAWithP256AndSHA256 = tls.ECDSAWithP256AndSHA256
	ECDSAWithP384AndSHA384 = tls.ECDSAWithP384AndSHA384
	ECDSAWithP521AndSHA512 = tls.ECDSAWithP521AndSHA512
	Ed25519                = tls.Ed25519
	PKCS1WithSHA1          = tls.PKCS1WithSHA1
	ECDSAWithSHA1          = tls.ECDSAWithSHA1
)

// ClientAuthType says whether a server asks for and checks client
// certificates: crypto/tls's type.
type ClientAuthType = tls.ClientAuthType

const (
	NoClientCert               = tls.NoClientCert
	RequestClientCert          = tls.RequestClientCert
	RequireAnyClientCert       = tls.RequireAnyClientCert
	VerifyClientCertIfGiven    = tls.VerifyClientCertIfGiven
	RequireAndVerifyClientCert = tls.RequireAndVerifyClientCert
)

// clientAuthPolicy reads a ClientAuthType as the three questions the
// handshake asks of it.
type clientAuthPolicy tls.ClientAuthType

func (c *Config) clientAuth() clientAuthPolicy { return clientAuthPolicy(c.ClientAuth) }

func (t clientAuthPolicy) requests() bool { return ClientAuthType(t) != NoClientCert }
func (t clientAuthPolicy) requires() bool {
	return ClientAuthType(t) == RequireAnyClientCert || ClientAuthType(t) == RequireAndVerifyClientCert
}
func (t clientAuthPolicy) verifies() bool {
	return ClientAuthType(t) == VerifyClientCertIfGiven || ClientAuthType(t) == RequireAndVerifyClientCert
}

// certSigner returns cert's private key as the crypto.Signer reprise signs
// with, or nil when there is none (crypto/tls's Certificate holds a
// crypto.PrivateKey, which any value satisfies).
func certSigner(cert *Certificate) crypto.Signer {
	s, _ := cert.PrivateKey.(crypto.Signer)
	return s
}

// CertificateVerificationError is returned, wrapped, when the peer's
// certificate chain does not verify: crypto/tls's type.
type CertificateVerificationError = tls.CertificateVerificationError

// CipherSuite describes a cipher suite: crypto/tls's type.
type CipherSuite = tls.CipherSuite

// CipherSuites returns the suites reprise implements and enables by
// default, in preference order, as crypto/tls's CipherSuites does. The CBC
// suites are among them: they are below every AEAD suite and kept for
// legacy peers, with encrypt-then-MAC (RFC 7366) when the peer offers it.
func CipherSuites() []*CipherSuite {
	out := make([]*CipherSuite, len(cipherSuites))
	for i, s := range cipherSuites {
		versions := []uint16{VersionTLS12}
		if s.tls13 {
			versions = []uint16{VersionTLS13}
		}
		out[i] = &CipherSuite{ID: s.id, Name: s.name, SupportedVersions: versions}
	}
	return out
}

// InsecureCipherSuites returns the suites reprise knows to be insecure. It
// implements none, so the list is empty: RC4, 3DES, CBC-SHA256 and static
// RSA key exchange are absent rather than disabled.
func InsecureCipherSuites() []*CipherSuite { return []*CipherSuite{} }

// CipherSuiteIDs lists every suite reprise implements, in default
// preference order, as code points.
func CipherSuiteIDs() []uint16 {
	ids := make([]uint16, len(cipherSuites))
	for i, s := range cipherSuites {
		ids[i] = s.id
	}
	return ids
}

// As lets errors.As find an AlertError as crypto/tls's AlertError (the
// alert's code) or as an AlertError value, so code written for crypto/tls
// keeps working after its import path changes. crypto/tls itself only
// returns tls.AlertError from QUIC connections; reprise does for every
// alert it sends or receives.
func (e *AlertError) As(target any) bool {
	switch t := target.(type) {
	case *tls.AlertError:
		*t = tls.AlertError(e.Alert)
		return true
	case *AlertError:
		*t = *e
		return true
	}
	return false
}

// setHidden sets the unexported field name of the struct *ptr to value, when
// the field exists with value's type. crypto/tls keeps three things its
// callers rely on in unexported fields: ClientHelloInfo's and
// CertificateRequestInfo's context (Context returns it, and certmagic
// calls it) and ConnectionState's exporter (ExportKeyingMaterial calls it
// and panics when it is nil). Without them a value reprise hands over
// would panic where crypto/tls's does not. If a Go release renames a
// field, setHidden does nothing and TestCryptoTLSHiddenFields fails.
func setHidden(ptr any, name string, value any) bool {
	v := reflect.ValueOf(ptr).Elem()
	f := v.FieldByName(name)
	val := reflect.ValueOf(value)
	if !f.IsValid() || !val.IsValid() || !val.Type().AssignableTo(f.Type()) {
		return false
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(val)
	return true
}

// clientHelloInfo summarises a ClientHello for GetCertificate,
// GetConfigForClient and AllowNewSession.
func (c *Conn) clientHelloInfo(ctx context.Context, h *wire.ClientHello) *ClientHelloInfo {
	info := &ClientHelloInfo{
		ServerName:        h.ServerName,
		SupportedVersions: h.SupportedVersions,
		CipherSuites:      h.CipherSuites,
		SupportedProtos:   h.ALPN,
		SupportedPoints:   h.PointFormats,
		Extensions:        h.Extensions,
		Conn:              c.conn,
	}
	if len(info.SupportedVersions) == 0 {
		// crypto/tls lists the legacy_version when the extension is absent.
		info.SupportedVersions = []uint16{h.Vers}
	}
	for _, g := range h.SupportedGroups {
		info.SupportedCurves = append(info.SupportedCurves, CurveID(g))
	}
	for _, s := range h.SignatureAlgorithms {
		info.SignatureSchemes = append(info.SignatureSchemes, SignatureScheme(s))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	setHidden(info, "ctx", ctx)
	return info
}

// certificateRequestInfo summarises a CertificateRequest for
// GetClientCertificate.
func certificateRequestInfo(ctx context.Context, vers uint16, schemes []uint16, authorities [][]byte) *CertificateRequestInfo {
	info := &CertificateRequestInfo{AcceptableCAs: authorities, Version: vers}
	for _, s := range schemes {
		info.SignatureSchemes = append(info.SignatureSchemes, SignatureScheme(s))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	setHidden(info, "ctx", ctx)
	return info
}

// VerifyHostname checks that the peer's verified certificate is valid for
// host, as crypto/tls's does.
func (c *Conn) VerifyHostname(host string) error {
	cs := c.ConnectionState()
	switch {
	case !c.isClient:
		return errors.New("tls: VerifyHostname called on TLS server connection")
	case !cs.HandshakeComplete:
		return errors.New("tls: handshake has not yet been performed")
	case len(cs.VerifiedChains) == 0:
		return errors.New("tls: handshake did not verify certificate chain")
	}
	return cs.PeerCertificates[0].VerifyHostname(host)
}

// OCSPResponse returns the stapled OCSP response from a TLS server: always
// nil, as reprise does not request one. It exists so that code written for
// crypto/tls compiles.
func (c *Conn) OCSPResponse() []byte { return nil }
