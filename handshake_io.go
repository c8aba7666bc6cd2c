package reprise

import (
	"crypto"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
)

// unmarshaler is every wire message.
type unmarshaler interface{ Unmarshal([]byte) error }

// marshaler is every wire message.
type marshaler interface{ Marshal() ([]byte, error) }

// transcript is the handshake hash plus, while a TLS 1.2 CertificateVerify
// may still be needed, the raw messages it signs (RFC 5246, Section 7.4.8).
type transcript struct {
	*keysched.Transcript
	raw     []byte
	keepRaw bool
	// own is the Transcript of newTranscript, allocated with its
	// wrapper; a clone (posthandshake13.go) points elsewhere.
	own keysched.Transcript
}

// rawSlack is the room left after the first raw message (a ClientHello)
// for the rest of an abbreviated TLS 1.2 handshake (ServerHello,
// NewSessionTicket, both Finished), so that it needs one allocation.
const rawSlack = 512

func newTranscript(keepRaw bool) *transcript {
	t := &transcript{keepRaw: keepRaw}
	t.Transcript = &t.own
	return t
}

func (t *transcript) add(msg []byte) {
	t.Write(msg)
	if t.keepRaw {
		if t.raw == nil {
			t.raw = make([]byte, 0, len(msg)+rawSlack)
		}
		t.raw = append(t.raw, msg...)
	}
}

// readMsg reads the next handshake message into m, which must be of type
// want; anything else is unexpected_message (RFC 5246, Section 7.4; RFC
// 8446, Section 4). The message is added to t unless t is nil.
func (c *Conn) readMsg(t *transcript, want uint8, m unmarshaler) ([]byte, error) {
	msg, err := c.readHandshakeMsg()
	if err != nil {
		return nil, err
	}
	if msg[0] != want {
		return nil, peerError(alert.UnexpectedMessage, "got handshake message %s, want %s", msgName(msg[0]), msgName(want))
	}
	if err := decodeMsg(t, msg, m); err != nil {
		return nil, err
	}
	return msg, nil
}

// readOptionalMsg reads the next handshake message where an optional one
// may come first (RFC 5246, Section 7.3 and RFC 8446, Section 2 mark them
// with "*"): into opt when it has type optType, else into m, which must be
// of type want. Anything else is unexpected_message, as in readMsg. It
// reports whether opt came, and the caller then reads m with readMsg. The
// message is added to t unless t is nil.
func (c *Conn) readOptionalMsg(t *transcript, optType uint8, opt unmarshaler, want uint8, m unmarshaler) (gotOpt bool, msg []byte, err error) {
	if msg, err = c.readHandshakeMsg(); err != nil {
		return false, nil, err
	}
	switch msg[0] {
	case optType:
		gotOpt, m = true, opt
	case want:
	default:
		return false, nil, peerError(alert.UnexpectedMessage, "got handshake message %s, want %s or %s", msgName(msg[0]), msgName(optType), msgName(want))
	}
	if err := decodeMsg(t, msg, m); err != nil {
		return false, nil, err
	}
	return gotOpt, msg, nil
}

// decodeMsg decodes msg into m and adds it to t unless t is nil.
func decodeMsg(t *transcript, msg []byte, m unmarshaler) error {
	if err := m.Unmarshal(msg); err != nil {
		return err
	}
	if t != nil {
		t.add(msg)
	}
	return nil
}

// writeMsg marshals m, adds it to t (unless nil) and queues it.
func (c *Conn) writeMsg(t *transcript, m marshaler) ([]byte, error) {
	msg, err := m.Marshal()
	if err != nil {
		return nil, wrapError(alert.InternalError, "encoding handshake message", err)
	}
	if t != nil {
		t.add(msg)
	}
	return msg, c.writeHandshakeMsg(msg)
}

// checkFinished compares a peer's verify_data with the expected value in
// constant time. A body of the wrong length is a decode_error (RFC 8446,
// Sections 4.4.4 and 6.2: verify_data is exactly Hash.length bytes in TLS
// 1.3, verify_data_length, 12, in TLS 1.2); only a right-length value that
// does not match is decrypt_error.
func checkFinished(got, want []byte) error {
	if len(got) != len(want) {
		return ErrFinishedLength
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrBadFinished
	}
	return nil
}

// msgName names a handshake message type (the names live in internal/wire).
func msgName(t uint8) string { return wire.MessageName(t) }

// keyLog writes one NSS key log line ("LABEL <client_random> <secret>").
func (c *Conn) keyLog(label string, clientRandom, secret []byte) {
	w := c.config.KeyLogWriter
	if w == nil {
		return
	}
	logKey(w, label, clientRandom, secret)
}

func logKey(w io.Writer, label string, clientRandom, secret []byte) {
	fmt.Fprintf(w, "%s %x %x\n", label, clientRandom, secret)
}

// hashOf is a small helper for crypto.Hash sums.
func hashOf(h crypto.Hash, parts ...[]byte) []byte {
	hh := h.New()
	for _, p := range parts {
		hh.Write(p)
	}
	return hh.Sum(nil)
}
