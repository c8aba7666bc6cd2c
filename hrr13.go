package reprise

// HelloRetryRequest, both roles (RFC 8446, Section 4.1.4): the server asks
// for a key share it can use, and the client answers with a second
// ClientHello. The transcript then restarts with a message_hash standing
// for the first ClientHello (Section 4.4.1).

import (
	"crypto/hmac"
	"encoding/binary"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// retryHello is the server's HelloRetryRequest round: it asks for a share
// for hs.group and reads the ClientHello that brings one.
func (hs *server13) retryHello() error {
	if err := hs.sendHelloRetryRequest(); err != nil {
		return err
	}
	return hs.readSecondClientHello()
}

// hrrCookieTag starts every HelloRetryRequest cookie's sealed contents. An
// encoded Session starts with its format number (1), so a cookie can never
// be taken for a ticket nor a ticket for a cookie.
var hrrCookieTag = []byte("HRR1")

// sendHelloRetryRequest asks the client for a share for hs.group (RFC 8446,
// Section 4.1.4). The cookie (Section 4.2.2) carries the hash of
// ClientHello1, sealed by a per-process key (hrrCookieKeys), so the
// transcript can be rebuilt from the second ClientHello alone.
func (hs *server13) sendHelloRetryRequest() error {
	c, h := hs.c, hs.hello
	ch1Hash := hashOf(hs.suite.hash, hs.helloMsg)
	plain := slices.Concat(hrrCookieTag, binary.BigEndian.AppendUint16(nil, hs.suite.id),
		binary.BigEndian.AppendUint16(nil, uint16(hs.group)), ch1Hash)
	keys, err := hrrCookieKeys()
	if err != nil {
		return wrapError(alert.InternalError, "HelloRetryRequest cookie keys", err)
	}
	cookie, err := keys.Seal(c.config.rand(), plain)
	if err != nil {
		return wrapError(alert.InternalError, "sealing HelloRetryRequest cookie", err)
	}
	hrr := &wire.ServerHello{
		Vers:             VersionTLS12,
		Random:           wire.HelloRetryRequestRandom[:],
		SessionID:        h.SessionID,
		CipherSuite:      hs.suite.id,
		SupportedVersion: VersionTLS13,
		SelectedGroup:    uint16(hs.group),
		Cookie:           cookie,
	}
	// Section 4.4.1: the transcript restarts with message_hash(ClientHello1).
	hs.t = transcriptFromCookie(hs.suite, ch1Hash)
	if hs.hrrMsg, err = c.writeMsg(hs.t, hrr); err != nil {
		return err
	}
	c.state.HelloRetryRequest = true
	if err := hs.sendCompatibilityCCS(); err != nil {
		return err
	}
	return c.flush()
}

// transcriptFromCookie starts a transcript with the synthetic message_hash
// message that stands for ClientHello1 (RFC 8446, Section 4.4.1).
func transcriptFromCookie(suite *cipherSuite, ch1Hash []byte) *transcript {
	t := newTranscript(false)
	t.SetHash(suite.hash)
	t.add(slices.Concat([]byte{wire.TypeMessageHash, 0, 0, byte(len(ch1Hash))}, ch1Hash))
	return t
}

// readSecondClientHello reads the ClientHello that answers our
// HelloRetryRequest: it must return our cookie, and change only what RFC
// 8446, Section 4.1.2 allows.
func (hs *server13) readSecondClientHello() error {
	h2 := new(wire.ClientHello)
	msg, err := hs.c.readMsg(nil, wire.TypeClientHello, h2)
	if err != nil {
		return err
	}
	if err := hs.checkCookie(h2); err != nil {
		return err
	}
	if err := hs.checkSecondClientHello(h2); err != nil {
		return err
	}
	hs.hello, hs.helloMsg, hs.clientShare = h2, msg, h2.KeyShares[0].Data
	return nil
}

// checkCookie checks that h2's cookie (Section 4.2.2) is ours, for this
// suite and group, and rebuilds from it the transcript so far (Section
// 4.4.1), which must be the one we hold.
func (hs *server13) checkCookie(h2 *wire.ClientHello) error {
	keys, err := hrrCookieKeys()
	if err != nil {
		return wrapError(alert.InternalError, "HelloRetryRequest cookie keys", err)
	}
	var plain []byte
	if len(h2.Cookie) > 0 {
		plain, _ = keys.Open(h2.Cookie)
	}
	wantPrefix := slices.Concat(hrrCookieTag, binary.BigEndian.AppendUint16(nil, hs.suite.id), binary.BigEndian.AppendUint16(nil, uint16(hs.group)))
	if len(h2.Cookie) == 0 || len(plain) != len(wantPrefix)+hs.suite.hash.Size() || !hmac.Equal(plain[:len(wantPrefix)], wantPrefix) {
		return peerError(alert.IllegalParameter, "second ClientHello does not return our cookie")
	}
	t := transcriptFromCookie(hs.suite, plain[len(wantPrefix):])
	t.add(hs.hrrMsg)
	if !hmac.Equal(t.Sum(), hs.t.Sum()) {
		return peerError(alert.IllegalParameter, "second ClientHello's cookie is from another handshake")
	}
	hs.t = t
	return nil
}

// checkSecondClientHello compares h2 with the first ClientHello (RFC 8446,
// Section 4.1.2).
func (hs *server13) checkSecondClientHello(h2 *wire.ClientHello) error {
	h1 := hs.hello
	// Section 4.1.2: "the client MUST send the same ClientHello without
	// modification, except as follows": a key_share for the selected
	// group, no early_data, the cookie, updated pre_shared_key, padding.
	i := slices.IndexFunc(h2.KeyShares, func(ks wire.KeyShare) bool { return ks.Group == uint16(hs.group) })
	switch {
	case len(h2.KeyShares) != 1 || i != 0:
		// Section 4.2.8: the new key_share has exactly one entry, for the
		// selected group.
		return peerError(alert.IllegalParameter, "second ClientHello has no single key share for group %v", hs.group)
	case h2.EarlyData:
		// Section 4.2.10: "A client MUST NOT include the "early_data"
		// extension in its followup ClientHello."
		return peerError(alert.IllegalParameter, "second ClientHello offers early data")
	case !slices.Equal(h2.SessionID, h1.SessionID),
		!slices.Equal(h2.CipherSuites, h1.CipherSuites),
		!slices.Equal(h2.SupportedVersions, h1.SupportedVersions),
		!slices.Equal(h2.SupportedGroups, h1.SupportedGroups),
		!slices.Equal(h2.CompressionMethods, h1.CompressionMethods),
		h2.ServerName != h1.ServerName,
		!slices.Equal(h2.ALPN, h1.ALPN),
		!slices.Equal(h2.PSKModes, h1.PSKModes):
		return peerError(alert.IllegalParameter, "second ClientHello changed more than the retry allows")
	}
	return nil
}
