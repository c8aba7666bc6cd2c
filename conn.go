package reprise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// maxHandshakeMessage bounds one handshake message. Certificate chains are
// the largest messages we meet; 256 KiB is far beyond any real chain.
const maxHandshakeMessage = 256 << 10

// maxWarningAlerts bounds consecutive warning alerts, so a peer cannot keep
// us reading them forever.
const maxWarningAlerts = 5

// maxRecordsWithoutData bounds the records a Read processes in a row that
// bring no application data but cost us work: empty application-data
// records, and TLS 1.3 KeyUpdates (each a key derivation, and with
// update_requested a record of our own). Without it a peer could keep Read
// busy forever; 32 is BoringSSL's bound on consecutive KeyUpdates.
const maxRecordsWithoutData = 32

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
	// recordsWithoutData counts empty application-data records and
	// KeyUpdates since Read last returned data (maxRecordsWithoutData).
	recordsWithoutData int

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

	// sessionKeyAddr is the host:port the client dialled; it keys the
	// client session cache when Config.ServerName is empty.
	sessionKeyAddr string

	// pendingIn and pendingOut are record keys derived but not yet in use.
	pendingIn, pendingOut record.Cipher

	// post13 holds TLS 1.3 state needed after the handshake (KeyUpdate,
	// NewSessionTicket); nil for TLS 1.2.
	post13 *post13State
}

// Client returns a client-side TLS connection over conn. config must have
// ServerName set or InsecureSkipVerify true.
func Client(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, isClient: true, config: config, recordVers: 0x0301}
}

// Server returns a server-side TLS connection over conn. config must hold a
// certificate or GetCertificate.
func Server(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, config: config, recordVers: VersionTLS12}
}

// LocalAddr, RemoteAddr and the deadline setters pass through to the
// underlying connection.
func (c *Conn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection.
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
	if err == nil {
		err = c.verifyConnection()
	}
	if err == nil {
		err = c.flush()
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("tls: handshake interrupted: %w", ctx.Err())
		} else if a, ok := alertFor(err); ok {
			c.sendAlert(a)
			err = &AlertError{Alert: a, Err: err}
		}
		c.handshakeErr = err
		c.countHandshakeFailure()
		c.onHandshake(start, err)
		return err
	}
	c.handshakeDone.Store(true)
	c.countHandshakeSuccess()
	c.onHandshake(start, nil)
	return nil
}

// ---- reading records -------------------------------------------------

// readRecord reads one record, removes its protection and files its
// contents: handshake bytes to c.hand, application data to c.input. It
// returns the record's type. Alerts are handled here.
func (c *Conn) readRecord() (record.ContentType, error) {
	if c.readErr != nil {
		return 0, c.readErr
	}
	raw, err := record.ReadRecord(c.conn, &c.rawBuf)
	if err != nil {
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) {
			c.readErr = err
		}
		return 0, err
	}
	typ, data, err := c.in.Open(raw)
	if err != nil {
		c.readErr = err
		return 0, err
	}
	if typ != record.Alert {
		c.warningAlerts = 0
	}
	switch typ {
	case record.Alert:
		return typ, c.handleAlert(data)
	case record.ChangeCipherSpec:
		// RFC 5246, Section 7.1: the message is a single byte of value 1.
		// RFC 8446, Section 5: any other value, or a protected one, is
		// unexpected_message.
		if len(data) != 1 || data[0] != 1 {
			return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "malformed change_cipher_spec"))
		}
		if len(c.hand) > 0 {
			return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "change_cipher_spec inside a handshake message"))
		}
	case record.Handshake:
		// RFC 8446, Section 5.1: zero-length handshake fragments MUST NOT
		// be sent; RFC 5246 likewise forbids empty handshake records.
		if len(data) == 0 {
			return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "empty handshake record"))
		}
		if len(c.hand)+len(data) > maxHandshakeMessage+4 {
			return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "handshake message exceeds %d bytes", maxHandshakeMessage))
		}
		c.hand = append(c.hand, data...)
	case record.ApplicationData:
		if !c.handshakeDone.Load() {
			return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "application data before the handshake finished"))
		}
		if len(c.hand) > 0 {
			return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "application data inside a handshake message"))
		}
		c.input = data
	default:
		return typ, c.setReadErr(peerError(alert.UnexpectedMessage, "record of unknown type %d", typ))
	}
	return typ, nil
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
		c.warningAlerts++
		if c.warningAlerts > maxWarningAlerts {
			return c.setReadErr(peerError(alert.UnexpectedMessage, "too many warning alerts"))
		}
		return nil
	}
	return c.setReadErr(&AlertError{Alert: desc, Received: true})
}

// readHandshakeMsg returns the next complete handshake message, header
// included. Records that carry no handshake data are handled on the way:
// warning alerts are skipped, and TLS 1.3's compatibility
// change_cipher_spec is ignored while ignoreCCS13 says so.
func (c *Conn) readHandshakeMsg() ([]byte, error) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for {
		if typ, n, ok := wire.ParseHeader(c.hand); ok {
			if n > maxHandshakeMessage {
				return nil, c.setReadErr(peerError(alert.UnexpectedMessage, "handshake message type %d of %d bytes exceeds the limit", typ, n))
			}
			if len(c.hand) >= 4+n {
				// The message keeps its place in c.hand's array: later
				// records are appended after it, never over it, because
				// c.hand only ever moves forward or is dropped.
				msg := c.hand[: 4+n : 4+n]
				c.hand = c.hand[4+n:]
				if len(c.hand) == 0 {
					c.hand = nil // the next record starts a new array
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

// sendAlert writes an alert now. Fatal alerts end the write side.
func (c *Conn) sendAlert(a alert.Alert) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.sendAlertLocked(a)
}

func (c *Conn) sendAlertLocked(a alert.Alert) error {
	level := byte(2)
	switch a {
	case alert.CloseNotify, alert.UserCanceled:
		level = 1
	case alert.NoRenegotiation:
		if c.vers != VersionTLS13 {
			level = 1
		}
	}
	c.traceAlert(true, a)
	c.buffering = false
	if c.writeErr != nil && len(c.sendBuf) > 0 {
		return c.writeErr
	}
	saved := c.writeErr
	c.writeErr = nil
	_, err := c.writeRecordLocked(record.Alert, []byte{level, byte(a)})
	if saved != nil {
		c.writeErr = saved
	} else if level == 2 {
		c.writeErr = fmt.Errorf("tls: connection ended by alert %s", a)
	}
	return err
}

// ---- application data --------------------------------------------------

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
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
			return n, err
		}
		b = b[len(chunk):]
		// Write large buffers out in pieces so one Write does not
		// hold a whole copy of b.
		if len(c.sendBuf) >= 4*record.MaxPlaintext {
			if err := c.flushLocked(); err != nil {
				return n, err
			}
		}
	}
	c.buffering = false
	return n, c.flushLocked()
}

// Read reads application data, running the handshake first if needed.
// Post-handshake messages (TLS 1.3 tickets and key updates; TLS 1.2
// renegotiation requests, which are refused) are handled on the way.
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
		typ, err := c.readRecord()
		if err != nil {
			if a, ok := alertFor(err); ok && !errors.Is(err, io.EOF) {
				c.sendAlert(a)
			}
			return 0, err
		}
		switch typ {
		case record.Handshake:
			if err := c.handlePostHandshakeLocked(); err != nil {
				if a, ok := alertFor(err); ok {
					c.sendAlert(a)
				}
				c.readErr = err
				return 0, err
			}
		case record.ChangeCipherSpec:
			err := peerError(alert.UnexpectedMessage, "change_cipher_spec after the handshake")
			c.sendAlert(alert.UnexpectedMessage)
			c.readErr = err
			return 0, err
		case record.ApplicationData:
			if len(c.input) == 0 {
				if err := c.countRecordWithoutData("empty application data records"); err != nil {
					if a, ok := alertFor(err); ok {
						c.sendAlert(a)
					}
					return 0, err
				}
			}
		}
	}
	c.recordsWithoutData = 0
	n := copy(b, c.input)
	c.input = c.input[n:]
	return n, nil
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
		_, n, ok := wire.ParseHeader(c.hand)
		if !ok || len(c.hand) < 4+n {
			return nil
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
		// RFC 5746, Section 4.2 and 4.4: we never renegotiate. A client
		// answers HelloRequest, and a server a ClientHello, with a
		// no_renegotiation warning and carries on.
		switch {
		case c.isClient && msg[0] == wire.TypeHelloRequest && n == 0,
			!c.isClient && msg[0] == wire.TypeClientHello:
			if err := c.sendAlert(alert.NoRenegotiation); err != nil {
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
	if c.handshakeDone.Load() {
		// Do not let a peer that stopped reading hold Close forever.
		c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		alertErr = c.closeNotify()
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
	if err := c.closeNotify(); err != nil {
		return err
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *Conn) closeNotify() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closeSent {
		return nil
	}
	c.closeSent = true
	return c.sendAlertLocked(alert.CloseNotify)
}

// ---- listener and dialer ---------------------------------------------

type listener struct {
	net.Listener
	config *Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}

// NewListener wraps inner so that Accept returns server-side *Conn values.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{inner, config}
}

// Listen listens on a network address and returns a TLS listener.
func Listen(network, addr string, config *Config) (net.Listener, error) {
	if config == nil || (len(config.Certificates) == 0 && config.GetCertificate == nil) {
		return nil, errors.New("tls: Listen needs a Config with a certificate")
	}
	l, err := net.Listen(network, addr)
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
