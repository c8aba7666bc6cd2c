package reprise

import (
	"context"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// downgradeTLS12 is the last eight bytes of ServerHello.random when a
// server that supports TLS 1.3 negotiates TLS 1.2 (RFC 8446, Section 4.1.3).
var downgradeTLS12 = []byte("DOWNGRD\x01")

// fallbackSCSV signals a client's version fallback (RFC 7507).
const fallbackSCSV uint16 = 0x5600

// serverHandshake reads the ClientHello, settles the version and hands
// over to the TLS 1.2 or TLS 1.3 server.
func (c *Conn) serverHandshake(ctx context.Context) error {
	if hs := c.pausedServer13(); hs != nil {
		return hs.finishAfterEarlyData() // the rest of a handshake that stopped for early data
	}
	c.counters().accept.Add(1)
	hello := new(wire.ClientHello)
	msg, err := c.readMsg(nil, wire.TypeClientHello, hello)
	if err != nil {
		return err
	}
	if err := c.configForClient(ctx, hello); err != nil {
		return err
	}
	vers, err := c.config.serverVersion(hello)
	if err != nil {
		return err
	}
	c.vers = vers
	c.in.SetVersion(vers)
	c.out.SetVersion(vers)
	c.state.ServerName = hello.ServerName
	if vers == VersionTLS13 {
		return newServer13(ctx, c, hello, msg).run()
	}
	hs := &server12{c: c, ctx: ctx, hello: hello}
	if err := hs.run(msg); err != nil {
		return err
	}
	c.setExporter12(hs.suite, hs.master, hello.Random, hs.serverRandom, hs.ems)
	return nil
}

// serverVersion picks the protocol version for a ClientHello: from
// supported_versions when present (RFC 8446, Section 4.2.1), else from
// legacy_version.
func (cfg *Config) serverVersion(hello *wire.ClientHello) (uint16, error) {
	if len(hello.SupportedVersions) > 0 {
		// RFC 8446, Appendix D.5: "Any endpoint receiving a Hello message
		// with ClientHello.legacy_version or ServerHello.legacy_version
		// set to 0x0300 MUST abort the handshake with a "protocol_version"
		// alert." Anything below SSL 3.0 is older still.
		if hello.Vers <= 0x0300 {
			return 0, peerError(alert.ProtocolVersion, "ClientHello legacy_version 0x%04x with supported_versions", hello.Vers)
		}
		for _, v := range []uint16{VersionTLS13, VersionTLS12} {
			if cfg.supportsVersion(v) && slices.Contains(hello.SupportedVersions, v) {
				return v, nil
			}
		}
		return 0, peerError(alert.ProtocolVersion, "client offers no version we enable (%x)", hello.SupportedVersions)
	}
	if hello.Vers >= VersionTLS12 && cfg.supportsVersion(VersionTLS12) {
		// RFC 7507: a fallback retry while we support a higher version
		// means an attacker interfered with the first attempt.
		if slices.Contains(hello.CipherSuites, fallbackSCSV) && cfg.maxVersion() > VersionTLS12 {
			return 0, peerError(alert.InappropriateFallback, "client fell back to TLS 1.2 but TLS 1.3 is enabled")
		}
		return VersionTLS12, nil
	}
	return 0, peerError(alert.ProtocolVersion, "client's version 0x%04x is not enabled", hello.Vers)
}

// negotiateALPN picks the first of our protocols the client offers (RFC
// 7301, Section 3.2). No overlap is no_application_protocol.
func (cfg *Config) negotiateALPN(offered []string) (string, error) {
	if len(cfg.NextProtos) == 0 || len(offered) == 0 {
		return "", nil
	}
	for _, p := range cfg.NextProtos {
		if slices.Contains(offered, p) {
			return p, nil
		}
	}
	return "", peerError(alert.NoApplicationProtocol, "client offers no application protocol we support (%q)", offered)
}

// serverCertificate returns the certificate for a ClientHello.
func (c *Conn) serverCertificate(ctx context.Context, hello *wire.ClientHello) ([]*Certificate, error) {
	if f := c.config.GetCertificate; f != nil {
		cert, err := f(c.clientHelloInfo(ctx, hello))
		if err != nil {
			return nil, wrapError(alert.InternalError, "GetCertificate", err)
		}
		if cert != nil {
			return []*Certificate{cert}, nil
		}
	}
	if len(c.config.Certificates) == 0 {
		return nil, peerError(alert.InternalError, "no server certificate configured")
	}
	certs := make([]*Certificate, len(c.config.Certificates))
	for i := range c.config.Certificates {
		certs[i] = &c.config.Certificates[i]
	}
	return certs, nil
}
