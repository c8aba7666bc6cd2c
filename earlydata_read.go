package reprise

import (
	"errors"
	"fmt"
	"io"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// earlyState is a connection's TLS 1.3 0-RTT state, in both roles.
type earlyState struct {
	// Server.
	pause       bool          // ReadEarlyData asked the handshake to stop after the server's flight
	paused      *server13     // the handshake stopped for early data, to be finished by Handshake
	reading     bool          // records are read under client_early_traffic_secret
	hsIn        record.Cipher // the client's handshake traffic keys, in use after EndOfEarlyData
	buf         []byte        // early data received and not yet returned by ReadEarlyData
	received    int           // early data bytes received in all (≤ Config.MaxEarlyData)
	emptyOrCCS  int           // records that brought no early data (maxRecordsWithoutData)
	maxReceived int
	skipLimit   uint32 // rejected: the resumed ticket's max_early_data_size, which bounds the skipping

	// Client.
	toSend []byte          // SetEarlyData's data
	out    record.HalfConn // our early traffic keys: sent records are sealed here, apart from c.out
	sent   bool            // the data went out after the ClientHello
	ccs    bool            // the compatibility change_cipher_spec went out with it
}

// errEarlyDataPause is how a server handshake that accepted early data stops
// after its flight when ReadEarlyData started it: HandshakeContext returns
// nil without completing, and the next Handshake finishes the handshake.
var errEarlyDataPause = errors.New("reprise: handshake paused for early data")

// ReadEarlyData reads, on a TLS 1.3 server, the 0-RTT data the client sent
// with its ClientHello (RFC 8446, Section 2.3). It returns io.EOF once the
// early data has ended (EndOfEarlyData), and at once if the client sent
// none or the server rejected it (ConnectionState.EarlyData says which).
//
// Early data is the one kind of data a network attacker can replay (RFC
// 8446, Section 8): Config.AntiReplay lets each ClientHello's early data
// be accepted once, but a client may still send the same request twice.
// That is why it comes only from this call and never from Read: an
// application cannot treat it as ordinary data by accident, and the code
// that handles it is the code that must make the request safe to repeat.
//
// Called before the handshake, ReadEarlyData runs the handshake only as far
// as the server's flight, so the early data is returned before the client's
// Finished arrives, one round trip sooner than the first Read's data; the
// client is not yet authenticated by its Finished then (Section 4.4.4), only
// by its PSK binder. A later Read, Write or Handshake completes the
// handshake, keeping any early data not yet read for ReadEarlyData. Call it
// from the goroutine that will Read.
func (c *Conn) ReadEarlyData(b []byte) (int, error) {
	if c.isClient {
		return 0, errors.New("reprise: ReadEarlyData is for servers; a client sends early data with SetEarlyData")
	}
	c.handshakeMu.Lock()
	start := c.early == nil && !c.handshakeDone.Load() && c.handshakeErr == nil
	if start {
		c.early = &earlyState{pause: true}
	}
	c.handshakeMu.Unlock()
	if start {
		if err := c.Handshake(); err != nil {
			return 0, err
		}
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	e := c.early
	if e == nil {
		return 0, io.EOF
	}
	for len(e.buf) == 0 {
		if !e.reading {
			return 0, io.EOF
		}
		if err := c.readEarlyRecordLocked(); err != nil {
			return 0, c.fail(err)
		}
	}
	n := copy(b, e.buf)
	e.buf = e.buf[n:]
	if len(e.buf) == 0 {
		e.buf = nil
	}
	return n, nil
}

// startEarlyRead moves the read side from the client's handshake keys,
// installed by installHandshakeKeys13, to its early traffic keys, keeping
// the former for after EndOfEarlyData (RFC 8446, Section 2.3: the client's
// 0-RTT data and EndOfEarlyData are protected by client_early_traffic_secret).
func (c *Conn) startEarlyRead(earlyIn record.Cipher, maxEarly uint32) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	e := c.early
	e.hsIn = c.in.Cipher()
	c.in.SetCipher(earlyIn)
	// The client may send what the ticket allowed (RFC 8446, Section
	// 4.6.1), which decideEarlyData made sure is within MaxEarlyData.
	e.reading, e.maxReceived = true, int(maxEarly)
	c.skipEarly = false
}

// readEarlyRecordLocked reads one record under the early traffic keys: early
// data, which acceptEarlyDataLocked buffers, or the EndOfEarlyData that ends
// it and moves reading to the client's handshake keys. The caller holds
// inMu; errors are fatal.
func (c *Conn) readEarlyRecordLocked() error {
	e := c.early
	for {
		if typ, n, ok := wire.ParseHeader(c.hand); ok {
			// Section 4.5: the only handshake message under the early
			// keys is EndOfEarlyData; anything else is unexpected.
			if typ != wire.TypeEndOfEarlyData {
				return c.setReadErr(peerError(alert.UnexpectedMessage, "%s during early data, want EndOfEarlyData", msgName(typ)))
			}
			msg := c.hand[:min(len(c.hand), 4+n)]
			if err := new(wire.EndOfEarlyData).Unmarshal(msg); err != nil {
				return c.setReadErr(err)
			}
			c.hand = c.hand[len(msg):]
			c.traceMessage(false, msg)
			e.reading = false
			// Section 5.1: EndOfEarlyData must end its record, since the
			// keys change after it; setReadCipherLocked13 checks.
			return c.setReadCipherLocked13(e.hsIn)
		}
		typ, err := c.readRecord()
		if errors.Is(err, io.EOF) {
			// A close_notify or a closed transport before EndOfEarlyData
			// is a truncation: io.EOF from ReadEarlyData must mean the
			// early data is complete.
			return fmt.Errorf("reprise: early data ended without EndOfEarlyData: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return err
		}
		switch typ {
		case record.ApplicationData:
			return nil
		case record.ChangeCipherSpec:
			// The compatibility change_cipher_spec may come after the
			// ClientHello, before the early data (Appendix D.4).
			c.traceCCS(false)
			if err := c.countEarlyWithoutData(); err != nil {
				return err
			}
		}
	}
}

// acceptEarlyDataLocked buffers one record of early data, within
// Config.MaxEarlyData. RFC 8446, Section 4.2.10: "If the server receives
// more than max_early_data_size bytes of 0-RTT data, it SHOULD abort the
// connection with an "unexpected_message" alert."
func (c *Conn) acceptEarlyDataLocked(data []byte) error {
	e := c.early
	if len(c.hand) > 0 {
		return c.setReadErr(peerError(alert.UnexpectedMessage, "early data inside a handshake message"))
	}
	if len(data) == 0 {
		return c.countEarlyWithoutData()
	}
	e.received += len(data)
	if e.received > e.maxReceived {
		return c.setReadErr(peerError(alert.UnexpectedMessage, "more early data than max_early_data_size (%d bytes)", e.maxReceived))
	}
	c.trace(TraceEvent{Message: "EarlyData", Detail: fmt.Sprintf("bytes=%d", len(data))})
	e.buf = append(e.buf, data...)
	return nil
}

// countEarlyWithoutData bounds the records of early data that bring none
// (empty records, change_cipher_spec), like maxRecordsWithoutData after the
// handshake.
func (c *Conn) countEarlyWithoutData() error {
	c.early.emptyOrCCS++
	if c.early.emptyOrCCS > maxRecordsWithoutData {
		return c.setReadErr(peerError(alert.UnexpectedMessage, "more than %d early data records without data", maxRecordsWithoutData))
	}
	return nil
}

// readAllEarlyData reads the rest of the early data into the buffer, up to
// EndOfEarlyData, for the handshake to go on to the client's Finished.
func (c *Conn) readAllEarlyData() error {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for c.early.reading {
		if err := c.readEarlyRecordLocked(); err != nil {
			return err
		}
	}
	return nil
}

// earlySkipBounds is what a server skips of early data it rejects: RFC
// 8446, Section 4.2.10 skips "up to the configured max_early_data_size",
// so a server skips as much as the resumed ticket allowed, or when none was
// resumed its own tickets allow (a rejected client sends that much), and at
// least maxSkippedEarlyData.
// Records are bounded in proportion, so empty ones cannot keep it busy.
func (c *Conn) earlySkipBounds() (data, records int) {
	n := int(c.config.MaxEarlyData)
	if c.early != nil {
		n = max(n, int(c.early.skipLimit))
	}
	return max(maxSkippedEarlyData, n), max(maxSkippedEarlyRecords, n/256)
}

// pausedServer13 returns the server handshake that stopped for early data,
// and forgets it: the caller finishes it.
func (c *Conn) pausedServer13() *server13 {
	if c.early == nil || c.early.paused == nil {
		return nil
	}
	hs := c.early.paused
	c.early.paused = nil
	return hs
}

// endEarlyData is the server handshake's step after its flight when it
// accepted early data: stop there if ReadEarlyData asked, else read the
// early data through EndOfEarlyData.
func (hs *server13) endEarlyData() error {
	c := hs.c
	if !hs.earlyAccepted {
		return nil
	}
	if c.early.pause {
		c.early.pause = false
		c.early.paused = hs
		return errEarlyDataPause
	}
	return c.readAllEarlyData()
}

// finishAfterEarlyData completes a handshake that stopped for early data.
func (hs *server13) finishAfterEarlyData() error {
	if err := hs.c.readAllEarlyData(); err != nil {
		return err
	}
	if err := hs.readFinished(); err != nil {
		return err
	}
	return hs.finish()
}
