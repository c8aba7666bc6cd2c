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

// handleHelloRetryRequest answers a HelloRetryRequest with a second
// ClientHello (RFC 8446, Section 4.1.4).
func (hs *client13) handleHelloRetryRequest(hrrMsg []byte) error {
	if err := hs.checkHelloRetryRequest(hrrMsg); err != nil {
		return err
	}
	return hs.sendSecondClientHello()
}

// checkHelloRetryRequest applies Section 4.1.4's checks to the
// HelloRetryRequest in hs.sh, and restarts the transcript with it.
func (hs *client13) checkHelloRetryRequest(hrrMsg []byte) error {
	c, hrr, h, o := hs.c, hs.sh, hs.hello, hs.offer
	if err := hs.checkServerHelloCommon(hrr); err != nil {
		return err
	}
	c.state.HelloRetryRequest = true
	hs.hrrSuite = hrr.CipherSuite
	suite := suiteByID(hrr.CipherSuite)

	// Section 4.4.1: the transcript restarts with a message_hash of
	// ClientHello1, then the HelloRetryRequest.
	hs.t.SetHash(suite.hash)
	hs.t.ReplaceWithMessageHash()
	hs.t.add(hrrMsg)

	// "Clients MUST abort the handshake with an "illegal_parameter" alert
	// if the HelloRetryRequest would not result in any change in the
	// ClientHello."
	if hrr.SelectedGroup == 0 && len(hrr.Cookie) == 0 {
		return peerError(alert.IllegalParameter, "HelloRetryRequest asks for no change")
	}
	if hrr.SelectedGroup == 0 {
		return nil
	}
	g := CurveID(hrr.SelectedGroup)
	// Section 4.2.8: "Upon receipt of this extension in a
	// HelloRetryRequest, the client MUST verify that (1) the
	// selected_group field corresponds to a group which was provided in
	// the "supported_groups" extension in the original ClientHello and
	// (2) the selected_group field does not correspond to a group which
	// was provided in the "key_share" extension in the original
	// ClientHello. If either of these checks fails, then the client MUST
	// abort the handshake with an "illegal_parameter" alert."
	if !slices.Contains(h.SupportedGroups, uint16(g)) || !slices.Contains(c.config.curves(true), g) {
		return peerError(alert.IllegalParameter, "HelloRetryRequest selects group %v, which we did not offer", g)
	}
	if slices.ContainsFunc(o.shares, func(kx keyExchange) bool { return kx.group() == g }) {
		return peerError(alert.IllegalParameter, "HelloRetryRequest selects group %v, for which we sent a share", g)
	}
	hs.hrrGroup = g
	return nil
}

// sendSecondClientHello rebuilds our ClientHello as the HelloRetryRequest
// in hs.sh asks (Section 4.1.2), and sends it.
func (hs *client13) sendSecondClientHello() error {
	c, hrr, h, o := hs.c, hs.sh, hs.hello, hs.offer
	if hs.hrrGroup != 0 {
		kx, err := newKeyExchange(c.config.rand(), hs.hrrGroup)
		if err != nil {
			return err
		}
		o.shares = []keyExchange{kx}
		h.KeyShares = []wire.KeyShare{{Group: uint16(hs.hrrGroup), Data: kx.share()}}
	}
	// Section 4.1.2: the second ClientHello echoes the cookie and drops
	// early_data.
	h.Cookie = hrr.Cookie
	h.EarlyData = false
	hs.earlyRetry()
	// Section 4.1.4: "the client SHOULD NOT offer any pre-shared keys
	// associated with a hash other than that of the selected cipher suite."
	// One that stays gets a fresh age and a binder over the new transcript.
	if o.psk != nil {
		if o.pskSuite.hash != suiteByID(hrr.CipherSuite).hash {
			o.psk, o.early = nil, nil // declined: answered records it
			h.PSKIdentities, h.PSKBinders = nil, nil
		} else {
			h.PSKIdentities[o.pskIndex].ObfuscatedTicketAge = o.obfuscatedAge(c.config.time())
		}
	}
	if testHookClientHello13 != nil {
		testHookClientHello13(h, true)
	}
	raw, err := h.Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding ClientHello", err)
	}
	if raw, err = o.fillBinders(hs.ch, raw, hs.t); err != nil {
		return err
	}
	hs.t.add(raw)
	if err := c.writeHandshakeMsg(raw); err != nil {
		return err
	}
	return c.flush()
}

// readServerHello reads the ServerHello after a HelloRetryRequest.
func (hs *client13) readServerHello() ([]byte, error) {
	sh := new(wire.ServerHello)
	msg, err := hs.c.readMsg(nil, wire.TypeServerHello, sh)
	if err != nil {
		return nil, err
	}
	// Section 4.1.4: "If a client receives a second HelloRetryRequest in
	// the same connection [...], it MUST abort the handshake with an
	// "unexpected_message" alert."
	if sh.IsHelloRetryRequest() {
		return nil, peerError(alert.UnexpectedMessage, "second HelloRetryRequest")
	}
	hs.sh = sh
	return msg, nil
}
