package reprise

import (
	"context"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// configForClient lets Config.GetConfigForClient replace the server's
// Config for this connection, as crypto/tls does, before anything is
// negotiated. The replacement's counters, caches and ticket keys are the
// ones the connection then uses.
func (c *Conn) configForClient(ctx context.Context, hello *wire.ClientHello) error {
	f := c.config.GetConfigForClient
	if f == nil {
		return nil
	}
	cfg, err := f(c.clientHelloInfo(ctx, hello))
	if err != nil {
		return wrapError(alert.InternalError, "GetConfigForClient", err)
	}
	if cfg != nil && cfg != c.config {
		c.config = cfg
		c.counters().accept.Add(1)
	}
	return nil
}

// clientCertificates is what a client may answer a CertificateRequest
// with: GetClientCertificate's choice when it is set (none when it returns
// an empty Certificate), else Config.Certificates.
func (c *Conn) clientCertificates(ctx context.Context, vers uint16, schemes []uint16, authorities [][]byte) ([]Certificate, error) {
	f := c.config.GetClientCertificate
	if f == nil {
		return c.config.Certificates, nil
	}
	cert, err := f(certificateRequestInfo(ctx, vers, schemes, authorities))
	if err != nil {
		return nil, wrapError(alert.InternalError, "GetClientCertificate", err)
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, nil
	}
	return []Certificate{*cert}, nil
}

// verifyConnection runs Config.VerifyConnection once the handshake's
// messages are exchanged, on full and resumed handshakes alike, before
// Handshake returns and before any application data is read or written.
// A refusal ends the connection with bad_certificate, as in crypto/tls.
func (c *Conn) verifyConnection() error {
	f := c.config.VerifyConnection
	if f == nil {
		return nil
	}
	if err := f(c.stateLocked(true)); err != nil {
		return wrapError(alert.BadCertificate, "VerifyConnection refused the connection", err)
	}
	return nil
}
