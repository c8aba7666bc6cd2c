package reprise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// Handshake message size limits, checked against the declared length in
// the 4-byte header before any of the body is buffered, so a peer cannot
// make us hold more than this for one message before anything is
// authenticated. maxHandshakeMessage is every message's limit, the first
// ClientHello's included; maxCertificateMessage is Certificate's and
// CertificateRequest's (a chain, or a list of CA names) once the version
// is agreed. 256 KiB is far beyond any real chain.
const (
	maxHandshakeMessage   = 64 << 10
	maxCertificateMessage = 256 << 10
)

// maxWarningAlerts bounds consecutive warning alerts during the handshake,
// so a peer cannot keep us reading them forever.
const maxWarningAlerts = 5

// maxRecordsWithoutData bounds the records a Read processes in a row that
// bring no application data but cost us work: empty application-data
// records, TLS 1.3 KeyUpdates (each a key derivation, and with
// update_requested a record of our own) and NewSessionTickets, TLS 1.2
// HelloRequests and renegotiation ClientHellos (each answered with a
// no_renegotiation warning), and warning alerts. Without it a peer could
// keep Read busy forever; 32 is BoringSSL's bound on consecutive
// KeyUpdates.
const maxRecordsWithoutData = 32

// maxSkippedEarlyData bounds the 0-RTT data a server skips when it ignores
// a ClientHello's early_data (RFC 8446, Section 4.2.10: "discarding records
// which fail deprotection (up to the configured max_early_data_size)"). We
// never accept early data and so configure no max_early_data_size; 16 KiB
// is the one OpenSSL and nginx advertise by default, the most a client
// holding one of their tickets (a shared ticket key) will send. Each
// skipped record counts its fragment less the 17 bytes of content type and
// AEAD tag that every TLS 1.3 record carries, and at most
// maxSkippedEarlyRecords records are skipped, so empty records cannot make
// the bound endless.
const (
	maxSkippedEarlyData    = 16 << 10
	maxSkippedEarlyRecords = 64
)

// Conn is a TLS connection: a net.Conn whose first Read or Write runs the
// handshake. Conn is safe for one concurrent reader and one concurrent
// writer; Close may be called at any time.
type Conn struct {
	conn     net.Conn
	isClient bool
	config   *Config

	handshakeMu   sync.Mutex
	handshakeErr  error
	handshakeDone atomic.Bool
	vers          uint16 // negotiated version, 0 until the hellos are exchanged

	state connState // what ConnectionState reports; written only by the handshake

	// Read side.
	inMu          sync.Mutex
	in            record.HalfConn
	rawBuf        []byte // record.ReadRecord's buffer
	hand          []byte // handshake bytes received and not yet consumed
	input         []byte // decrypted application data not yet returned by Read
	readErr       error  // sticky: once reading failed, it keeps failing
	warningAlerts int
	// firstRecord is true until a server has read its first record, which
	// must be a TLS handshake record (see checkFirstRecordHeader).
	firstRecord bool
	// skipEarly is set while a TLS 1.3 server skips the client's 0-RTT
	// data (RFC 8446, Section 4.2.10); skippedEarly and
	// skippedEarlyRecords count what it skipped (maxSkippedEarlyData).
	skipEarly                         bool
	skippedEarly, skippedEarlyRecords int
	// recordsWithoutData counts empty application-data records and
	// KeyUpdates since Read last returned data (maxRecordsWithoutData).
	recordsWithoutData int
	ticketsWithoutData int // the same for TLS 1.3 NewSessionTickets
	// rawIn reads conn for ReadRecord, as much as has arrived at once: a
	// flight costs one read system call, not two per record.
	rawIn record.ReadAhead

	// Write side.
	outMu      sync.Mutex
	out        record.HalfConn
	sendBuf    []byte // records sealed but not yet written (handshake flights)
	pendingHS  []byte // handshake messages queued for one record, not yet sealed
	buffering  bool   // while true, records collect in sendBuf until flush
	writeErr   error
	closeSent  bool
	recordVers uint16 // legacy_record_version for outgoing records

	closed atomic.Bool
	id     atomic.Uint64 // see ID

	// fatal is the alert that ended the connection, sent or received; set
	// once, by fail or handleAlert. After it nothing more goes on the
	// wire (RFC 8446, Section 6.2; RFC 5246, Section 7.2.2).
	fatal atomic.Pointer[AlertError]

	// mutateOutgoing, in tests only, rewrites each handshake message we
	// send after it entered the transcript, to play a misbehaving peer.
	mutateOutgoing func(msg []byte) []byte

	// accepted marks a server connection from Listen or NewListener,
	// whose handshake DefaultHandshakeTimeout bounds by default.
	accepted bool

	// peerReset is set when a read found the connection reset by the
	// peer: Close then sends no close_notify, which could only fail.
	peerReset atomic.Bool

	// sessionKeyAddr is the host:port the client dialled; it keys the
	// client session cache when Config.ServerName is empty.
	sessionKeyAddr string

	// pendingIn and pendingOut are record keys derived but not yet in use.
	pendingIn, pendingOut record.Cipher

	// post13 holds TLS 1.3 state needed after the handshake (KeyUpdate,
	// NewSessionTicket); nil for TLS 1.2.
	post13 *post13State

	// early is the TLS 1.3 0-RTT state (earlydata_read.go); nil when
	// early data is neither sent nor read.
	early *earlyState

	// reneg is asking for a client certificate after the handshake
	// (renegotiate12.go, posthandshake13.go).
	reneg renegState
}

// Client returns a client-side TLS connection over conn. config must have
// ServerName set or InsecureSkipVerify true.
func Client(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, isClient: true, config: config, recordVers: 0x0301}
}

// Server returns a server-side TLS connection over conn. config must hold a
// certificate or GetCertificate.
func Server(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, config: config, recordVers: VersionTLS12, firstRecord: true}
}

// LocalAddr, RemoteAddr and the deadline setters pass through to the
// underlying connection.
func (c *Conn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection. Reprise reads it ahead, up
// to what has arrived: bytes the peer sent after its last record read
// through Conn may already be taken from it.
func (c *Conn) NetConn() net.Conn { return c.conn }

// Handshake runs the handshake if it has not run yet. Read and Write call
// it; call it directly to learn of failures early.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext is Handshake bounded by ctx: if ctx ends first the
// underlying connection is closed and ctx's error returned.
func (c *Conn) HandshakeContext(ctx context.Context) error {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeErr != nil {
		return c.handshakeErr
	}
	if c.handshakeDone.Load() {
		return nil
	}
	if d := c.handshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.conn.Close() })
		defer stop()
	}

	start := time.Now()
	var err error
	if c.isClient {
		err = c.clientHandshake(ctx)
	} else {
		err = c.serverHandshake(ctx)
	}
	if err == errEarlyDataPause {
		return nil // ReadEarlyData returns the early data; the next Handshake finishes
	}
	if err == nil {
		err = c.verifyConnection()
	}
	if err == nil {
		err = c.flush()
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("tls: handshake interrupted: %w", ctx.Err())
		} else {
			err = c.fail(err)
		}
		c.handshakeErr = err
		c.onHandshake(start, err)
		return err
	}
	c.handshakeDone.Store(true)
	c.releaseHandshakeArray()
	c.countHandshakeSuccess()
	c.onHandshake(start, nil)
	return nil
}

// ---- fatal errors: the one way out ------------------------------------

// fail is the one way out for every fatal error, during the handshake and
// after it (Read, Write, KeyUpdate, post-handshake messages). The first
// fatal error ends the connection: its alert is sent once, here and
// nowhere else, the connection is marked broken so that nothing more goes
// on the wire (RFC 8446, Section 6.2: "Upon transmission or receipt of a
// fatal alert message, both parties MUST immediately close the connection
// [...] without sending or receiving any additional data"; RFC 5246,
// Section 7.2.2), and the caller gets an *AlertError naming the alert. A
// received fatal alert (handleAlert) marks the connection the same way.
// Transport failures and cancellations send nothing and are returned as
// they are; so is nil.
//
// The caller must not hold outMu (use failLocked); holding inMu is fine.
func (c *Conn) fail(err error) error {
	ae, send := c.markFatal(err)
	if ae == nil {
		return err
	}
	if send {
		c.outMu.Lock()
		c.sendFatalAlertLocked(ae.Alert)
		c.outMu.Unlock()
	}
	return ae
}

// failLocked is fail for a caller that holds outMu.
func (c *Conn) failLocked(err error) error {
	ae, send := c.markFatal(err)
	if ae == nil {
		return err
	}
	if send {
		c.sendFatalAlertLocked(ae.Alert)
	}
	return ae
}

// markFatal records err as the connection's fatal error unless one is
// already recorded, and says whether its alert is ours to send. It
// returns nil for errors that end nothing by themselves.
func (c *Conn) markFatal(err error) (ae *AlertError, send bool) {
	if err == nil || err == io.EOF {
		// io.EOF is the peer's close_notify (or its FIN), the end of
		// every connection: it ends nothing by itself, as alertFor would
		// find after four allocating errors.As calls.
		return nil, false
	}
	if prev := c.fatal.Load(); prev != nil {
		return prev, false // the connection ended already; say how
	}
	if got, ok := errors.AsType[*AlertError](err); ok {
		// A received alert, or one already sent.
		if !c.fatal.CompareAndSwap(nil, got) {
			return c.fatal.Load(), false
		}
		return got, false
	}
	if c.handshakeDone.Load() && !carriesAlert(err) {
		// After the handshake every error we find is built with its
		// alert; anything else came from the transport, or is the
		// caller's misuse, and ends nothing by itself.
		return nil, false
	}
	a, ok := alertFor(err)
	if !ok {
		return nil, false
	}
	ae = &AlertError{Alert: a, Err: err}
	if !c.fatal.CompareAndSwap(nil, ae) {
		return c.fatal.Load(), false
	}
	return ae, true
}

// sendFatalAlertLocked writes the fatal alert a, after any handshake
// messages still queued (the peer needs them to read the alert, e.g. a
// ServerHello before an alert under the handshake keys), and then closes
// the write side for good. Only fail calls it.
func (c *Conn) sendFatalAlertLocked(a alert.Alert) {
	c.traceAlert(true, a)
	c.buffering = false
	if c.writeErr != nil && len(c.sendBuf) > 0 {
		// The transport failed in the middle of a flight; nothing more
		// can be said on it.
		return
	}
	// A record-layer error (say an exhausted sequence number) may
	// still leave room for the alert; a failed transport does not, and
	// the write fails harmlessly.
	c.writeErr = nil
	c.writeRecordLocked(record.Alert, []byte{2, byte(a)})
	c.writeErr = c.fatal.Load()
}

// ---- reading records -------------------------------------------------

// readRecord reads one record, removes its protection and files its
// contents: handshake bytes to c.hand, application data to c.input. It
// returns the record's type. Alerts are handled here.
func (c *Conn) readRecord() (record.ContentType, error) {
	for {
		typ, skipped, err := c.readRecordOnce()
		if !skipped {
			return typ, err
		}
	}
}

// readRecordOnce is readRecord for one record; skipped reports a record of
// early data that was dropped (skipEarlyDataRecord).
func (c *Conn) readRecordOnce() (typ record.ContentType, skipped bool, err error) {
	if f := c.fatal.Load(); f != nil {
		return 0, false, f
	}
	if c.readErr != nil {
		return 0, false, c.readErr
	}
	if c.rawIn.R == nil {
		c.rawIn.R = c.conn
	}
	var check func([]byte) error
	if c.firstRecord {
		check = checkFirstRecordHeader
	}
	raw, err := record.ReadRecordChecked(&c.rawIn, &c.rawBuf, check)
	if err != nil {
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) {
			c.readErr = err
		}
		if errors.Is(err, syscall.ECONNRESET) {
			c.peerReset.Store(true)
		}
		return 0, false, err
	}
	c.firstRecord = false
	if c.skipEarly && record.ContentType(raw[0]) == record.ApplicationData && !c.in.Encrypted() {
		// RFC 8446, Section 4.2.10: after a HelloRetryRequest the server
		// skips "all records with an external content type of
		// "application_data" (indicating that they are encrypted), up to
		// the configured max_early_data_size".
		return 0, true, c.skipEarlyDataRecord(raw)
	}
	typ, data, err := c.in.Open(raw)
	if err != nil {
		if c.skipEarly && c.in.Encrypted() && record.IsBadRecordMAC(err) {
			// RFC 8446, Section 4.2.10, first bullet: the server "skips
			// past early data by attempting to deprotect received records
			// using the handshake traffic key, discarding records which
			// fail deprotection (up to the configured
			// max_early_data_size)."
			return 0, true, c.skipEarlyDataRecord(raw)
		}
		c.readErr = err
		return 0, false, err
	}
	if c.skipEarly && typ != record.ChangeCipherSpec && (c.in.Encrypted() || typ == record.Handshake) {
		// "Once a record is deprotected successfully, it is treated as
		// the start of the client's second flight"; after a
		// HelloRetryRequest the second ClientHello ends the early data.
		// The compatibility change_cipher_spec, never protected (Section
		// 5), may come before the early data and ends nothing.
		c.skipEarly = false
	}
	if typ != record.Alert {
		c.warningAlerts = 0
	}
	switch typ {
	case record.Alert:
		return typ, false, c.handleAlert(data)
	case record.ChangeCipherSpec:
		// RFC 5246, Section 7.1: the message is a single byte of value 1.
		// RFC 8446, Section 5: any other value, or a protected one, is
		// unexpected_message.
		if len(data) != 1 || data[0] != 1 {
			return typ, false, c.setReadErr(peerError(alert.UnexpectedMessage, "malformed change_cipher_spec"))
		}
		if len(c.hand) > 0 {
			return typ, false, c.setReadErr(peerError(alert.UnexpectedMessage, "change_cipher_spec inside a handshake message"))
		}
	case record.Handshake:
		// RFC 8446, Section 5.1: zero-length handshake fragments MUST NOT
		// be sent; RFC 5246 likewise forbids empty handshake records.
		if len(data) == 0 {
			return typ, false, c.setReadErr(peerError(alert.UnexpectedMessage, "empty handshake record"))
		}
		if err := c.bufferHandshake(data); err != nil {
			return typ, false, c.setReadErr(err)
		}
	case record.ApplicationData:
		if c.early != nil && c.early.reading {
			return typ, false, c.acceptEarlyDataLocked(data)
		}
		if !c.handshakeDone.Load() {
			return typ, false, c.setReadErr(peerError(alert.UnexpectedMessage, "application data before the handshake finished"))
		}
		if len(c.hand) > 0 {
			return typ, false, c.setReadErr(peerError(alert.UnexpectedMessage, "application data inside a handshake message"))
		}
		if c.reneg.inExchange.Load() {
			return typ, false, c.bufferAppDataInExchangeLocked(data)
		}
		c.input = data
	default:
		return typ, false, c.setReadErr(peerError(alert.UnexpectedMessage, "record of unknown type %d", typ))
	}
	return typ, false, nil
}

// skipEarlyDataRecord drops one record of the client's early data, within
// maxSkippedEarlyData and maxSkippedEarlyRecords. RFC 8446, Section 4.2.10
// bounds the skipping by max_early_data_size; more is unexpected_message,
// the alert the section names for too much early data.
func (c *Conn) skipEarlyDataRecord(raw []byte) error {
	c.skippedEarlyRecords++
	c.skippedEarly += max(len(raw)-record.HeaderLen-17, 0)
	maxData, maxRecords := c.earlySkipBounds()
	if c.skippedEarly > maxData || c.skippedEarlyRecords > maxRecords {
		c.skipEarly = false
		return c.setReadErr(peerError(alert.UnexpectedMessage, "more early data than the %d bytes (%d records) we skip", maxData, maxRecords))
	}
	return nil
}

// checkFirstRecordHeader rejects a server's first record as soon as its
// 5-byte header is read, unless it is a TLS handshake record: a client
// that speaks plain HTTP, an SSLv2-format ClientHello, or any other
// protocol would otherwise keep the connection waiting for the length its
// first bytes happen to declare. RFC 5246, Section 6 and RFC 8446, Section
// 5: "If a TLS implementation receives an unexpected record type, it MUST
// terminate the connection with an "unexpected_message" alert." An SSLv2
// ClientHello (RFC 5246, Appendix E.2) offers a version we do not speak:
// protocol_version.
func checkFirstRecordHeader(h []byte) error {
	switch {
	case record.ContentType(h[0]) == record.Handshake && h[1] == 3:
		return nil
	case looksLikeHTTP(h):
		return ErrClientSpokeHTTP
	case h[0]&0x80 != 0 && h[2] == 1:
		// msg_length with the high bit set, then msg_type 1
		// (client_hello): RFC 5246, Appendix E.2.
		return peerError(alert.ProtocolVersion, "SSLv2-format ClientHello")
	case record.ContentType(h[0]) == record.Handshake:
		return peerError(alert.ProtocolVersion, "first record has version %d.%d", h[1], h[2])
	}
	return peerError(alert.UnexpectedMessage, "first record has %s, not a TLS handshake", record.ContentType(h[0]))
}

// looksLikeHTTP reports whether a record header is the start of an HTTP
// request: an upper-case method and a space or a path (RFC 9110, Section
// 9; RFC 9112, Section 3).
func looksLikeHTTP(h []byte) bool {
	for _, m := range []string{"GET /", "HEAD ", "POST ", "PUT /", "DELET", "CONNE", "OPTIO", "TRACE", "PATCH", "PRI *"} {
		if string(h) == m {
			return true
		}
	}
	return false
}

// bufferHandshake appends one record's handshake bytes to c.hand. RFC 8446,
// Section 5.1 and RFC 5246, Section 6.2.1 let a message span records;
// once a message's header is in, its declared length is checked against
// its type's limit (maxMessageLen) and the buffer is grown once to hold
// the whole message, not by repeated appends as its records arrive.
//
// A new array has room for at least handshakeReadSize bytes, and
// readHandshakeMsg lets the records that follow fill it: the records of a
// resumption's handshake then share one allocation.
func (c *Conn) bufferHandshake(data []byte) error {
	if len(c.hand) < 4 && len(c.hand)+len(data) >= 4 {
		var hdr [4]byte
		n := copy(hdr[:], c.hand)
		copy(hdr[n:], data)
		typ, length, _ := wire.ParseHeader(hdr[:])
		if err := c.checkMessageLen(typ, length); err != nil {
			return err
		}
		if need := 4 + length; cap(c.hand) < need && len(c.hand)+len(data) < need {
			grown := make([]byte, len(c.hand), need)
			copy(grown, c.hand)
			c.hand = grown
		}
	}
	if c.hand == nil && len(data) < handshakeReadSize {
		c.hand = make([]byte, 0, handshakeReadSize)
	}
	c.hand = append(c.hand, data...)
	return nil
}

// handshakeReadSize is the smallest array bufferHandshake makes: a
// ClientHello with a ticket and a Finished, or a server's abbreviated
// flight, fit in it.
const handshakeReadSize = 1024

// releaseHandshakeArray drops the unused rest of the array the last
// handshake messages were read into, so that an idle connection does not
// keep it.
func (c *Conn) releaseHandshakeArray() {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	if len(c.hand) == 0 {
		c.hand = nil
	}
}

// maxMessageLen is the largest body we accept for a handshake message of
// type typ: maxCertificateMessage for Certificate and CertificateRequest
// once the version is agreed, maxHandshakeMessage for everything else.
func (c *Conn) maxMessageLen(typ uint8) int {
	if c.vers != 0 && (typ == wire.TypeCertificate || typ == wire.TypeCertificateRequest) {
		return maxCertificateMessage
	}
	return maxHandshakeMessage
}

// checkMessageLen rejects a handshake message whose declared length
// exceeds its type's limit. The message is well formed but longer than we
// can decode: decode_error, the alert RFC 8446, Section 6.2 names for a
// message that "cannot be decoded" (BoringSSL and OpenSSL send it too).
func (c *Conn) checkMessageLen(typ uint8, length int) error {
	if limit := c.maxMessageLen(typ); length > limit {
		return peerError(alert.DecodeError, "%s of %d bytes exceeds the %d-byte limit", msgName(typ), length, limit)
	}
	return nil
}

func (c *Conn) setReadErr(err error) error {
	c.readErr = err
	return err
}

// handleAlert acts on a received alert (RFC 5246, Section 7.2; RFC 8446,
// Section 6).
func (c *Conn) handleAlert(data []byte) error {
	if len(data) != 2 {
		return c.setReadErr(peerError(alert.DecodeError, "malformed alert record"))
	}
	level, desc := data[0], alert.Alert(data[1])
	c.traceAlert(false, desc)
	if desc == alert.CloseNotify {
		c.readErr = io.EOF
		return io.EOF
	}
	// RFC 8446, Section 6: in TLS 1.3 every alert but close_notify and
	// user_canceled is fatal, whatever its level says.
	warning := level == 1 && (c.vers != VersionTLS13 || desc == alert.UserCanceled)
	if warning {
		if c.handshakeDone.Load() && desc == alert.NoRenegotiation {
			if err := c.noRenegotiationReceived(); err != nil {
				return err
			}
		}
		if c.handshakeDone.Load() {
			// After the handshake warnings share the bound on records
			// that bring Read no data, however they are interleaved.
			return c.countRecordWithoutData("warning alerts")
		}
		c.warningAlerts++
		if c.warningAlerts > maxWarningAlerts {
			return c.setReadErr(peerError(alert.UnexpectedMessage, "too many warning alerts"))
		}
		return nil
	}
	// RFC 8446, Section 6.2: on receipt of a fatal alert nothing more is
	// sent, not even close_notify.
	ae := &AlertError{Alert: desc, Received: true}
	c.fatal.CompareAndSwap(nil, ae)
	return c.setReadErr(ae)
}

// readHandshakeMsg returns the next complete handshake message, header
// included. Records that carry no handshake data are handled on the way:
// warning alerts are skipped, and TLS 1.3's compatibility
// change_cipher_spec is ignored while ignoreCCS13 says so.
func (c *Conn) readHandshakeMsg() ([]byte, error) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for {
		if c.reneg.peerRefused.Load() && c.reneg.helloRequested.Load() {
			return nil, errPeerRefusedRenegotiation
		}
		if typ, n, ok := wire.ParseHeader(c.hand); ok {
			if err := c.checkMessageLen(typ, n); err != nil {
				return nil, c.setReadErr(err)
			}
			if len(c.hand) >= 4+n {
				// The message keeps its place in c.hand's array: later
				// records are appended after it, into the array's
				// unused rest, never over it, because c.hand only ever
				// moves forward or is dropped. The message is capped,
				// so appending to it cannot reach them either.
				msg := c.hand[: 4+n : 4+n]
				c.hand = c.hand[4+n:]
				if cap(c.hand) == 0 {
					c.hand = nil // the array is full: the next record starts a new one
				}
				c.traceMessage(false, msg)
				return msg, nil
			}
		}
		typ, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		switch typ {
		case record.ChangeCipherSpec:
			// RFC 8446, Section 5 and Appendix D.4: in TLS 1.3 a plain
			// change_cipher_spec may arrive during the handshake and is
			// dropped. In TLS 1.2 the handshake asks for it by
			// readChangeCipherSpec; anywhere else it is out of order.
			if c.vers == VersionTLS13 && !c.handshakeDone.Load() {
				c.traceCCS(false)
				continue
			}
			return nil, c.setReadErr(peerError(alert.UnexpectedMessage, "unexpected change_cipher_spec"))
		case record.ApplicationData:
			if c.reneg.inExchange.Load() {
				continue // kept for Read (bufferAppDataInExchangeLocked)
			}
			return nil, c.setReadErr(peerError(alert.UnexpectedMessage, "unexpected application data"))
		}
	}
}

// readChangeCipherSpec waits for the peer's TLS 1.2 change_cipher_spec. Any
// handshake message before it is out of order.
func (c *Conn) readChangeCipherSpec() error {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for {
		if len(c.hand) > 0 {
			return c.setReadErr(peerError(alert.UnexpectedMessage, "handshake message where change_cipher_spec was expected"))
		}
		typ, err := c.readRecord()
		if err != nil {
			return err
		}
		switch typ {
		case record.ChangeCipherSpec:
			c.traceCCS(false)
			return nil
		case record.ApplicationData:
			if c.reneg.inExchange.Load() {
				continue // kept for Read (bufferAppDataInExchangeLocked)
			}
			return c.setReadErr(peerError(alert.UnexpectedMessage, "application data where change_cipher_spec was expected"))
		}
	}
}

// ---- writing records --------------------------------------------------

// writeRecordLocked protects data as records of type typ, split at the
// 2^14 limit, and writes them (or queues them while buffering). Handshake
// messages queued by writeHandshakeMsg go first.
func (c *Conn) writeRecordLocked(typ record.ContentType, data []byte) (int, error) {
	if err := c.sealPendingLocked(); err != nil {
		return 0, err
	}
	return c.sealRecordsLocked(typ, data)
}

// sealPendingLocked seals the queued handshake messages into as few
// records as the 2^14 limit allows: a flight such as EncryptedExtensions,
// Certificate, CertificateVerify and Finished travels in one record
// (RFC 8446, Section 5.1 lets messages share records). It must run before
// the write keys change, since messages may not span a key change.
func (c *Conn) sealPendingLocked() error {
	if len(c.pendingHS) == 0 {
		return nil
	}
	data := c.pendingHS
	c.pendingHS = c.pendingHS[:0]
	_, err := c.sealRecordsLocked(record.Handshake, data)
	return err
}

// setWriteCipherLocked switches the write side to new keys, after sealing
// what was queued under the old ones.
func (c *Conn) setWriteCipherLocked(rc record.Cipher) error {
	if err := c.sealPendingLocked(); err != nil {
		return err
	}
	c.out.SetCipher(rc)
	return nil
}

func (c *Conn) sealRecordsLocked(typ record.ContentType, data []byte) (int, error) {
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	n := 0
	for first := true; first || len(data) > 0; first = false {
		chunk := data
		if len(chunk) > record.MaxPlaintext {
			chunk = chunk[:record.MaxPlaintext]
		}
		var err error
		c.sendBuf, err = c.out.Seal(c.sendBuf, typ, c.recordVers, chunk)
		if err != nil {
			c.writeErr = err
			return n, err
		}
		data = data[len(chunk):]
		n += len(chunk)
		if !c.buffering {
			if err := c.flushLocked(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (c *Conn) flushLocked() error {
	if err := c.sealPendingLocked(); err != nil {
		return err
	}
	if len(c.sendBuf) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.sendBuf)
	c.sendBuf = c.sendBuf[:0]
	if err != nil {
		c.writeErr = err
	}
	return err
}

// flush writes any queued records; the handshake buffers each flight.
func (c *Conn) flush() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.flushLocked()
}

// flightQueueSize and flightRecordsSize are the room made for queued
// handshake messages (pendingHS) and sealed records (sendBuf) when a
// connection writes its first handshake message: enough for a resumption
// flight (a ClientHello with a ticket; a server's ServerHello, Finished and
// NewSessionTickets), so that it needs no regrowing. Longer flights grow
// the buffers as before.
const (
	flightQueueSize   = 512
	flightRecordsSize = 1024
)

// writeHandshakeMsg queues one handshake message. The caller adds it to
// the transcript.
func (c *Conn) writeHandshakeMsg(msg []byte) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.writeErr != nil {
		return c.writeErr
	}
	c.buffering = true
	c.traceMessage(true, msg)
	if c.mutateOutgoing != nil {
		msg = c.mutateOutgoing(msg)
	}
	if c.pendingHS == nil && c.sendBuf == nil {
		// The first message: one allocation holds the queue and the
		// sealed records of a flight.
		buf := make([]byte, 0, flightQueueSize+flightRecordsSize)
		c.pendingHS, c.sendBuf = buf[:0:flightQueueSize], buf[flightQueueSize:flightQueueSize]
	}
	c.pendingHS = append(c.pendingHS, msg...)
	return nil
}

// writeChangeCipherSpec queues a change_cipher_spec record.
func (c *Conn) writeChangeCipherSpec() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	c.buffering = true
	c.traceCCS(true)
	_, err := c.writeRecordLocked(record.ChangeCipherSpec, []byte{1})
	return err
}

// sendWarningLocked writes a warning alert now: close_notify, or a TLS 1.2
// no_renegotiation. Fatal alerts leave only through fail. Nothing is sent
// once the connection has ended with a fatal alert.
func (c *Conn) sendWarningLocked(a alert.Alert) error {
	if f := c.fatal.Load(); f != nil {
		return f
	}
	c.traceAlert(true, a)
	c.buffering = false
	_, err := c.writeRecordLocked(record.Alert, []byte{1, byte(a)})
	return err
}

// ---- application data --------------------------------------------------

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.lockOutForWrite() // waits out a renegotiation or PHA (renegotiate12.go)
	defer c.outMu.Unlock()
	if f := c.fatal.Load(); f != nil {
		return 0, f
	}
	if c.closeSent {
		return 0, errors.New("tls: write after CloseWrite")
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.buffering = true
	n := 0
	for len(b) > 0 {
		chunk := b
		if len(chunk) > record.MaxPlaintext {
			chunk = chunk[:record.MaxPlaintext]
		}
		m, err := c.writeRecordLocked(record.ApplicationData, chunk)
		n += m
		if err != nil {
			return n, c.failLocked(err)
		}
		b = b[len(chunk):]
		// Write large buffers out in pieces so one Write does not
		// hold a whole copy of b.
		if len(c.sendBuf) >= 4*record.MaxPlaintext {
			if err := c.flushLocked(); err != nil {
				return n, c.failLocked(err)
			}
		}
	}
	c.buffering = false
	return n, c.failLocked(c.flushLocked())
}

// Read reads application data, running the handshake first if needed.
// Post-handshake messages (TLS 1.3 tickets, key updates and
// CertificateRequests; TLS 1.2 HelloRequests, answered as
// Config.Renegotiation says, and client renegotiations, refused) are
// handled on the way; while RequestClientCertificate runs, Read waits.
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for len(c.input) == 0 {
		if err := c.readPostHandshakeStepLocked(); err != nil {
			return 0, c.fail(err)
		}
	}
	c.recordsWithoutData, c.ticketsWithoutData = 0, 0
	n := copy(b, c.input)
	c.input = c.input[n:]
	return n, nil
}

// readPostHandshakeRecordLocked reads one record after the handshake and
// acts on it; Read passes every error it returns to fail.
func (c *Conn) readPostHandshakeRecordLocked() error {
	typ, err := c.readRecord()
	if err != nil {
		return err
	}
	switch typ {
	case record.Handshake:
		err := c.handlePostHandshakeLocked()
		if errors.Is(err, errYieldToExchange) || errors.Is(err, errClientRenegotiate) {
			return err
		}
		return c.setReadErr(err)
	case record.ChangeCipherSpec:
		// RFC 8446, Section 5: a change_cipher_spec after the handshake
		// is unexpected_message; TLS 1.2 has no renegotiation here.
		return c.setReadErr(peerError(alert.UnexpectedMessage, "change_cipher_spec after the handshake"))
	case record.ApplicationData:
		if len(c.input) == 0 {
			return c.countRecordWithoutData("empty application data records")
		}
	}
	return nil
}

// countRecordWithoutData counts one record that brought Read no data, and
// fails the connection once a peer sends too many of them in a row.
func (c *Conn) countRecordWithoutData(what string) error {
	c.recordsWithoutData++
	if c.recordsWithoutData > maxRecordsWithoutData {
		return c.setReadErr(peerError(alert.UnexpectedMessage, "more than %d %s without application data", maxRecordsWithoutData, what))
	}
	return nil
}

// handlePostHandshakeLocked processes every complete handshake message
// that arrived after the handshake.
func (c *Conn) handlePostHandshakeLocked() error {
	for {
		typ, n, ok := wire.ParseHeader(c.hand)
		if !ok {
			return nil
		}
		if err := c.checkMessageLen(typ, n); err != nil {
			return err
		}
		if len(c.hand) < 4+n {
			return nil
		}
		if c.leaveForExchangeLocked() {
			return errYieldToExchange
		}
		msg := c.hand[:4+n]
		c.hand = c.hand[4+n:]
		c.traceMessage(false, msg)
		if c.vers == VersionTLS13 {
			if err := c.handlePostHandshake13(msg); err != nil {
				return err
			}
			continue
		}
		// RFC 5746, Sections 4.2 and 4.4: a server never renegotiates
		// at the client's request, and a client only when the server
		// asks and Config.Renegotiation allows it (renegotiate12.go).
		// Refusals are a no_renegotiation warning, and the connection
		// carries on.
		switch {
		case c.isClient && msg[0] == wire.TypeHelloRequest && n == 0 && c.answersHelloRequest():
			// A renegotiation the server asked for, which Config allows
			// (renegotiate12.go): one handshake per HelloRequest, and
			// HelloRequests share the bound below.
			if err := c.countRecordWithoutData("renegotiation requests"); err != nil {
				return err
			}
			return errClientRenegotiate
		case c.isClient && msg[0] == wire.TypeHelloRequest && n == 0,
			!c.isClient && msg[0] == wire.TypeClientHello:
			if err := c.refuseRenegotiationLocked(); err != nil {
				return err
			}
		default:
			return peerError(alert.UnexpectedMessage, "unexpected handshake message type %d after the handshake", msg[0])
		}
	}
}

// Close sends close_notify, if the handshake finished, and closes the
// underlying connection.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	var alertErr error
	// After a fatal alert, sent or received, not even close_notify
	// follows (RFC 8446, Section 6.2).
	if c.handshakeDone.Load() && c.fatal.Load() == nil && !c.peerReset.Load() {
		// Do not let a peer that stopped reading hold Close forever.
		c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		alertErr = c.closeNotify(true)
	}
	if err := c.conn.Close(); err != nil {
		return err
	}
	return alertErr
}

// CloseWrite sends close_notify and shuts down the write side of the
// underlying connection where it supports that.
func (c *Conn) CloseWrite() error {
	if !c.handshakeDone.Load() {
		return errors.New("tls: CloseWrite before the handshake finished")
	}
	if f := c.fatal.Load(); f != nil {
		return f
	}
	if err := c.closeNotify(false); err != nil {
		return err
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// closeNotify sends close_notify, once. For Close (beforeClose) it is the
// last thing written, and leaves with the FIN (writeBeforeClose).
func (c *Conn) closeNotify(beforeClose bool) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closeSent {
		return nil
	}
	c.closeSent = true
	if !beforeClose {
		return c.sendWarningLocked(alert.CloseNotify)
	}
	if f := c.fatal.Load(); f != nil {
		return f
	}
	c.traceAlert(true, alert.CloseNotify)
	c.buffering = true // seal into sendBuf; written below
	if _, err := c.writeRecordLocked(record.Alert, []byte{1, byte(alert.CloseNotify)}); err != nil {
		return err
	}
	err := writeBeforeClose(c.conn, c.sendBuf)
	c.sendBuf = c.sendBuf[:0]
	if err != nil {
		c.writeErr = err
	}
	return err
}

// ---- listener and dialer ---------------------------------------------

// DefaultHandshakeTimeout bounds the handshake of connections accepted
// from Listen or NewListener when Config.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 60 * time.Second

// handshakeTimeout is the bound Config.HandshakeTimeout sets on this
// connection's handshake; 0 means none.
func (c *Conn) handshakeTimeout() time.Duration {
	switch d := c.config.HandshakeTimeout; {
	case d < 0:
		return 0
	case d == 0 && c.accepted:
		return DefaultHandshakeTimeout
	default:
		return d
	}
}

type listener struct {
	net.Listener
	config *Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	conn := Server(c, l.config)
	conn.accepted = true
	return conn, nil
}

// NewListener wraps inner so that Accept returns server-side *Conn values.
// Their handshakes are bounded by Config.HandshakeTimeout, or by
// DefaultHandshakeTimeout when it is zero.
// It sets no socket options: TCP keep-alive and the like are inner's.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{inner, config}
}

// Listen listens on a network address and returns a TLS listener.
//
// Accepted connections have no TCP keep-alive, unlike net.Listen's, which
// costs four setsockopt calls per connection: a TLS peer that goes quiet is
// bounded by the deadlines the server sets for the handshake and for
// reads, not by keep-alive probes. For keep-alive, wrap a listener of your
// own (net.ListenConfig) with NewListener.
func Listen(network, addr string, config *Config) (net.Listener, error) {
	if config == nil || (len(config.Certificates) == 0 && config.GetCertificate == nil) {
		return nil, errors.New("tls: Listen needs a Config with a certificate")
	}
	l, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return NewListener(l, config), nil
}

// Dial connects to addr and runs a TLS handshake.
func Dial(network, addr string, config *Config) (*Conn, error) {
	return DialWithDialer(new(net.Dialer), network, addr, config)
}

// DialWithDialer is Dial with a custom dialer; its Timeout and Deadline
// bound the handshake too.
func DialWithDialer(d *net.Dialer, network, addr string, config *Config) (*Conn, error) {
	return dial(context.Background(), d, network, addr, config)
}

// activateReadKeys switches reading to the keys installed by the
// handshake, at the peer's change_cipher_spec (TLS 1.2) or key change.
func (c *Conn) activateReadKeys() {
	c.in.SetCipher(c.pendingIn)
	c.pendingIn = nil
}

// activateWriteKeys switches writing to the handshake's pending keys.
func (c *Conn) activateWriteKeys() {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	c.setWriteCipherLocked(c.pendingOut)
	c.pendingOut = nil
}

// readFull fills b from r, reporting a short read as an error.
func readFull(r io.Reader, b []byte) (int, error) {
	n, err := io.ReadFull(r, b)
	if err != nil {
		return n, fmt.Errorf("tls: reading randomness: %w", err)
	}
	return n, nil
}
