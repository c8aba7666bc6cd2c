package reprise

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// clientHandshake sends the ClientHello, reads the server's answer and
// hands over to the TLS 1.2 or TLS 1.3 client.
func (c *Conn) clientHandshake(ctx context.Context) error {
	cfg := c.config
	c.counters().connect.Add(1)
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		return errors.New("tls: Config.ServerName is empty and InsecureSkipVerify is false")
	}
	hs := &clientHello{c: c}
	if err := hs.build(); err != nil {
		return err
	}
	hs.offerEarlyData()
	raw, err := hs.send()
	if err != nil {
		return err
	}
	if err := hs.sendEarlyData(raw); err != nil {
		return err
	}

	sh := &hs.serverHello
	shMsg, err := c.readMsg(nil, wire.TypeServerHello, sh)
	if err != nil {
		return err
	}
	vers, err := hs.serverVersion(sh)
	if err != nil {
		return err
	}
	c.vers = vers
	c.in.SetVersion(vers)
	c.out.SetVersion(vers)
	c.recordVers = VersionTLS12
	c.state.ServerName = cfg.ServerName
	if vers == VersionTLS13 {
		// The TLS 1.3 client adds the ServerHello to the transcript
		// itself: a HelloRetryRequest rewrites the transcript first.
		return hs.runTLS13(ctx, sh, shMsg)
	}
	hs.t.add(shMsg)
	hs12 := &client12{c: c, ctx: ctx, ch: hs, hello: hs.hello, sh: sh, t: hs.t}
	if err := hs12.run(); err != nil {
		return err
	}
	c.setExporter12(hs12.suite, hs12.master, hs.hello.Random, sh.Random, hs12.ems)
	return nil
}

// clientHello is what the client offered, shared by both versions.
type clientHello struct {
	c       *Conn
	hello   *wire.ClientHello
	t       *transcript
	offered *Session // the session offered for resumption, or nil
	// notOffered is why a session held was not offered (decideOffer).
	notOffered Refusal
	key        string         // client session cache key
	tls13      *client13Offer // nil unless TLS 1.3 is offered
	groups     []CurveID      // the groups offered, most preferred first

	// Storage for the hello, its fixed-size fields, the TLS 1.3 offer and
	// the server's first answer: part of this struct rather than one
	// allocation each.
	helloMsg    wire.ClientHello // hello points here
	random      [32]byte
	sessionID   [32]byte         // a TLS 1.2 ticket offer's, or TLS 1.3's legacy_session_id
	offer13     client13Offer    // tls13 points here
	serverHello wire.ServerHello // the first ServerHello or HelloRetryRequest
}

// Hello fields with one possible value, shared by every ClientHello and
// only ever read.
var (
	nullCompressionOnly = []uint8{0} // RFC 8446, Section 4.1.2; RFC 5246, Section 7.4.1.2
	uncompressedOnly    = []uint8{0} // ec_point_formats: RFC 8422, Section 5.1.2
	pskDHEOnly          = []uint8{wire.PSKModeDHE}
	versions13And12     = []uint16{VersionTLS13, VersionTLS12} // supported_versions, best first
)

// build fills in the ClientHello: versions, suites, groups, extensions and
// the session offer.
func (hs *clientHello) build() error {
	c, cfg := hs.c, hs.c.config
	maxV, minV := cfg.maxVersion(), cfg.minVersion()
	if maxV < VersionTLS12 || minV > VersionTLS13 || minV > maxV {
		return errors.New("tls: no usable protocol version in Config (need TLS 1.2 or 1.3)")
	}
	hs.helloMsg = wire.ClientHello{
		Vers:                         VersionTLS12,
		Random:                       hs.random[:],
		CompressionMethods:           nullCompressionOnly,
		ServerName:                   sniName(cfg.ServerName),
		SignatureAlgorithms:          supportedSignatureAlgorithms,
		ALPN:                         cfg.NextProtos,
		SecureRenegotiationSupported: true,
	}
	h := &hs.helloMsg
	if _, err := readFull(cfg.rand(), h.Random); err != nil {
		return err
	}
	offer12 := cfg.supportsVersion(VersionTLS12)
	offer13 := cfg.supportsVersion(VersionTLS13)
	var suites13, suites12 []*cipherSuite
	if offer13 {
		suites13 = cfg.suites(true)
	}
	if offer12 {
		suites12 = cfg.suites(false)
		h.PointFormats = uncompressedOnly
		h.ExtendedMasterSecret = cfg.ExtendedMasterSecret != EMSDisable
		h.TicketSupported = !cfg.SessionTicketsDisabled
	}
	h.CipherSuites = make([]uint16, 0, len(suites13)+len(suites12))
	for _, s := range suites13 {
		h.CipherSuites = append(h.CipherSuites, s.id)
	}
	for _, s := range suites12 {
		h.CipherSuites = append(h.CipherSuites, s.id)
		if s.bulk == bulkAESCBC {
			h.EncryptThenMAC = true // RFC 7366: only meaningful with CBC
		}
	}
	hs.groups = cfg.curves(offer13)
	h.SupportedGroups = curvesToUint16(hs.groups)
	if offer13 {
		h.EarlyData = cfg.testOfferEarlyData // tests only: we send no 0-RTT data
		h.PostHandshakeAuth = cfg.offersPostHandshakeAuth()
		h.SupportedVersions = versions13And12
		if !offer12 {
			h.SupportedVersions = versions13And12[:1:1]
		}
	}
	hs.hello = h
	hs.key = c.sessionCacheKey()
	hs.offerSession()
	if offer13 {
		offer, err := hs.prepareTLS13()
		if err != nil {
			return err
		}
		hs.tls13 = offer
	}
	return nil
}

// marshal encodes the ClientHello, with PSK binders filled in when a TLS
// 1.3 ticket is offered.
func (hs *clientHello) marshal() ([]byte, error) {
	raw, err := hs.hello.Marshal()
	if err != nil {
		return nil, wrapError(alert.InternalError, "encoding ClientHello", err)
	}
	if hs.tls13 != nil {
		return hs.tls13.fillBinders(hs, raw, nil)
	}
	return raw, nil
}

// sniName is the server_name to send: RFC 6066, Section 3 forbids IP
// addresses there.
func sniName(name string) string {
	if name == "" || isIP(name) {
		return ""
	}
	return name
}

// serverVersion checks the version the server chose against our offer
// (RFC 8446, Section 4.2.1) and the downgrade sentinel (Section 4.1.3).
func (hs *clientHello) serverVersion(sh *wire.ServerHello) (uint16, error) {
	cfg := hs.c.config
	if sh.SupportedVersion != 0 {
		if sh.SupportedVersion != VersionTLS13 || !cfg.supportsVersion(VersionTLS13) {
			return 0, peerError(alert.IllegalParameter, "server selected version 0x%04x, which we did not offer", sh.SupportedVersion)
		}
		if sh.Vers != VersionTLS12 {
			return 0, peerError(alert.IllegalParameter, "TLS 1.3 ServerHello has legacy_version 0x%04x", sh.Vers)
		}
		return VersionTLS13, nil
	}
	if sh.Vers != VersionTLS12 || !cfg.supportsVersion(VersionTLS12) {
		return 0, peerError(alert.ProtocolVersion, "server selected version 0x%04x, which we do not enable", sh.Vers)
	}
	// RFC 8446, Section 4.1.3: a TLS 1.3 client that is offered TLS 1.2
	// with the downgrade sentinel MUST abort with illegal_parameter.
	if cfg.supportsVersion(VersionTLS13) && len(sh.Random) == 32 && bytes.Equal(sh.Random[24:], downgradeTLS12) {
		return 0, peerError(alert.IllegalParameter, "server's random carries the TLS 1.3 downgrade sentinel")
	}
	return VersionTLS12, nil
}

// offeredSuite reports whether we offered suite id.
func (hs *clientHello) offeredSuite(id uint16) bool {
	return slices.Contains(hs.hello.CipherSuites, id)
}

// send writes the ClientHello, flushed, and starts the transcript with it
// (kept raw while a CertificateVerify may have to sign it). It returns
// the message: the early traffic secret is derived from its hash.
func (hs *clientHello) send() ([]byte, error) {
	raw, err := hs.marshal()
	if err != nil {
		return nil, err
	}
	hs.t = newTranscript(true)
	hs.t.add(raw)
	if err := hs.c.writeHandshakeMsg(raw); err != nil {
		return nil, err
	}
	if err := hs.c.flush(); err != nil {
		return nil, err
	}
	return raw, nil
}
