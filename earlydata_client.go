package reprise

import (
	"errors"
	"fmt"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// SetEarlyData asks a TLS 1.3 client to send data as 0-RTT early data
// (RFC 8446, Section 2.3), right after its ClientHello. Call it before the
// handshake. The data goes out only if the session offered for resumption
// allows that much early data (its ticket's max_early_data_size) and the
// ClientHello needs no retry; otherwise it is not sent at all.
//
// After the handshake ConnectionState.EarlyData says what happened:
// EarlyDataAccepted (the server took it), EarlyDataRejected (sent and
// skipped by the server), or EarlyDataNone (not sent). reprise never
// resends rejected early data itself, as crypto/tls's QUIC API and
// OpenSSL do not: the application decides whether the request is still
// worth sending with Write, now that it is no longer replayable.
//
// Early data can be replayed by an attacker (Section 8): send only
// requests that are safe to repeat.
func (c *Conn) SetEarlyData(data []byte) error {
	if !c.isClient {
		return errors.New("reprise: SetEarlyData is for clients; a server reads early data with ReadEarlyData")
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeDone.Load() || c.handshakeErr != nil || c.vers != 0 {
		return errors.New("reprise: SetEarlyData after the handshake started")
	}
	c.early = &earlyState{toSend: slices.Clone(data)}
	return nil
}

// offerEarlyData puts early_data in the first ClientHello when the
// application set early data and the offered session may carry it (RFC
// 8446, Section 4.2.10: the early data is under the first PSK, which is
// the only one reprise offers).
func (hs *clientHello) offerEarlyData() {
	c, o := hs.c, hs.tls13
	if c.early == nil || len(c.early.toSend) == 0 || o == nil {
		return
	}
	switch {
	case o.psk == nil:
		c.state.EarlyDataRefused = RefusedEarlyNoPSK
	case o.psk.maxEarly == 0 || uint32(len(c.early.toSend)) > o.psk.maxEarly:
		c.state.EarlyDataRefused = RefusedEarlyTicket
	default:
		hs.hello.EarlyData = true
	}
}

// sendEarlyData, after the ClientHello (raw, with its binder) is on its
// way, sends the early data under client_early_traffic_secret, derived
// from the ClientHello (RFC 8446, Section 7.1). Its records are sealed
// apart from c.out, which stays in the clear for a possible second
// ClientHello and then moves to the handshake keys; EndOfEarlyData is
// sealed the same way (sendEndOfEarlyData).
func (hs *clientHello) sendEarlyData(raw []byte) error {
	c, o := hs.c, hs.tls13
	if !hs.hello.EarlyData || c.early == nil || o == nil || o.early == nil {
		return nil
	}
	e := c.early
	secret := o.early.ClientEarlyTrafficSecret(hashOf(o.pskSuite.hash, raw))
	c.keyLog("CLIENT_EARLY_TRAFFIC_SECRET", hs.hello.Random, secret)
	rc, err := o.pskSuite.trafficCipher13(secret)
	if err != nil {
		return err
	}
	e.out.SetCipher(rc)
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if err := c.sealPendingLocked(); err != nil {
		return err
	}
	// Section 5.1: records after the first ClientHello carry 0x0303.
	c.recordVers = VersionTLS12
	// Appendix D.4: in compatibility mode the change_cipher_spec goes
	// right after the ClientHello when early data follows it.
	if len(hs.hello.SessionID) > 0 {
		c.traceCCS(true)
		if _, err := c.sealRecordsLocked(record.ChangeCipherSpec, []byte{1}); err != nil {
			return err
		}
		e.ccs = true
	}
	for data := e.toSend; len(data) > 0; {
		chunk := data[:min(len(data), record.MaxPlaintext)]
		if c.sendBuf, err = e.out.Seal(c.sendBuf, record.ApplicationData, VersionTLS12, chunk); err != nil {
			return wrapError(alert.InternalError, "sealing early data", err)
		}
		c.trace(TraceEvent{Sent: true, Message: "EarlyData", Detail: fmt.Sprintf("bytes=%d", len(chunk))})
		data = data[len(chunk):]
	}
	e.sent = true
	c.state.EarlyData = EarlyDataRejected // until EncryptedExtensions says otherwise
	return c.flushLocked()
}

// earlyRetry records that a HelloRetryRequest rejected the early data
// (RFC 8446, Section 4.1.2: the second ClientHello has no early_data).
func (hs *client13) earlyRetry() {
	if e := hs.c.early; e != nil && e.sent {
		hs.c.state.EarlyDataRefused = RefusedEarlyHRR
	}
}

// earlyAnswer checks the server's answer to our early data in
// EncryptedExtensions (RFC 8446, Section 4.2.10).
func (hs *client13) earlyAnswer(ee *wire.EncryptedExtensions) error {
	c := hs.c
	e := c.early
	sent := e != nil && e.sent && hs.usingPSK && !c.state.HelloRetryRequest
	if !ee.EarlyData {
		if e != nil && e.sent && c.state.EarlyDataRefused == RefusedNone {
			c.state.EarlyDataRefused = RefusedServerDeclined
		}
		return nil
	}
	if !sent {
		return peerError(alert.IllegalParameter, "server accepted early data we did not send")
	}
	// Section 4.2.10: the early data was sent for the session's protocol;
	// a server accepting it must have negotiated the same one.
	if ee.ALPN != hs.offer.psk.alpn {
		return peerError(alert.IllegalParameter, "server accepted early data but chose ALPN %q, not the session's %q", ee.ALPN, hs.offer.psk.alpn)
	}
	c.state.EarlyData, c.state.EarlyDataRefused = EarlyDataAccepted, RefusedNone
	return nil
}

// sendEndOfEarlyData ends accepted early data before our second flight
// (RFC 8446, Section 4.5), under the early traffic keys; it enters the
// transcript before our Finished.
func (hs *client13) sendEndOfEarlyData() error {
	c := hs.c
	if c.state.EarlyData != EarlyDataAccepted {
		return nil
	}
	msg, err := new(wire.EndOfEarlyData).Marshal()
	if err != nil {
		return wrapError(alert.InternalError, "encoding EndOfEarlyData", err)
	}
	hs.t.add(msg)
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if err := c.sealPendingLocked(); err != nil {
		return err
	}
	c.traceMessage(true, msg)
	if c.sendBuf, err = c.early.out.Seal(c.sendBuf, record.Handshake, VersionTLS12, msg); err != nil {
		return wrapError(alert.InternalError, "sealing EndOfEarlyData", err)
	}
	return nil
}

// earlyCCSSent reports whether the compatibility change_cipher_spec went
// out with the early data, so the second flight does not repeat it.
func (c *Conn) earlyCCSSent() bool { return c.early != nil && c.early.ccs }
