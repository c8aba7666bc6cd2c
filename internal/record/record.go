// Package record implements the TLS record layer: framing records off a
// stream and protecting or unprotecting them for one direction of a
// connection, in the TLS 1.2 (RFC 5246, Section 6) and TLS 1.3 (RFC 8446,
// Section 5) formats.
//
// The package knows nothing about handshakes. It receives key material as
// plain byte slices, keeps the per-direction sequence number, and reports
// every failure as an *Error that names the alert the RFCs require. Nothing
// read from the network can make it panic, loop forever, or allocate more
// than one maximum-size record.
package record

import (
	"errors"
	"io"
	"strconv"

	"github.com/reprise-tls/reprise/internal/alert"
)

// ContentType is a TLS record's content type (RFC 5246, Section 6.2.1;
// RFC 8446, Section 5.1).
type ContentType uint8

// Content types.
const (
	ChangeCipherSpec ContentType = 20
	Alert            ContentType = 21
	Handshake        ContentType = 22
	ApplicationData  ContentType = 23
)

// String returns the RFC name of the content type.
func (t ContentType) String() string {
	switch t {
	case ChangeCipherSpec:
		return "change_cipher_spec"
	case Alert:
		return "alert"
	case Handshake:
		return "handshake"
	case ApplicationData:
		return "application_data"
	}
	return "content_type(" + strconv.Itoa(int(t)) + ")"
}

// known reports whether t is one of the four content types TLS 1.2 and
// TLS 1.3 define. RFC 5246, Section 6 and RFC 8446, Section 5: "If a TLS
// implementation receives an unexpected record type, it MUST terminate the
// connection with an unexpected_message alert."
func (t ContentType) known() bool {
	return t >= ChangeCipherSpec && t <= ApplicationData
}

// Record size limits.
const (
	// HeaderLen is the length of the record header: type, legacy version
	// and a uint16 length.
	HeaderLen = 5
	// MaxPlaintext is the largest plaintext fragment, 2^14 bytes
	// (RFC 5246, Section 6.2.1; RFC 8446, Section 5.1).
	MaxPlaintext = 16384
	// MaxCiphertext12 is the largest TLS 1.2 protected fragment,
	// 2^14 + 2048 bytes (RFC 5246, Section 6.2.3).
	MaxCiphertext12 = 16384 + 2048
	// MaxCiphertext13 is the largest TLS 1.3 protected fragment,
	// 2^14 + 256 bytes (RFC 8446, Section 5.2).
	MaxCiphertext13 = 16384 + 256
)

// Protocol versions the record layer distinguishes.
const (
	versionTLS12 uint16 = 0x0303
	versionTLS13 uint16 = 0x0304
)

// Error is a record-layer failure together with the alert the caller must
// send before closing the connection.
type Error struct {
	Alert alert.Alert
	Msg   string
}

// Error returns the message prefixed with "tls: ".
func (e *Error) Error() string { return "tls: " + e.Msg }

// errBadRecordMAC is the single error returned for every failure to
// authenticate or decrypt a protected record: a bad tag, a bad MAC, bad CBC
// padding, or a fragment too short to hold the protection. Returning one
// value for all of them is what RFC 5246, Section 6.2.3.2 asks for ("the
// same alert ... for all of these"), so that an attacker cannot tell them
// apart by the error.
var errBadRecordMAC = &Error{Alert: alert.BadRecordMAC, Msg: "record authentication failed"}

// IsBadRecordMAC reports whether err is the failure to authenticate a
// record, which a TLS 1.3 server skipping rejected early data treats as
// the end of one early-data record (RFC 8446, Section 4.2.10).
func IsBadRecordMAC(err error) bool { return err == errBadRecordMAC }

// errSeqExhausted is returned once a direction has used every sequence
// number. RFC 5246, Section 6.1: "Sequence numbers ... may not exceed
// 2^64-1"; RFC 8446, Section 5.3: "If a TLS implementation would need to
// wrap a sequence number, it MUST either rekey or terminate the
// connection."
var errSeqExhausted = &Error{Alert: alert.InternalError, Msg: "record sequence number exhausted; the connection must rekey or close"}

// ReadRecord reads one record from r into *buf, which is reused and grown as
// needed up to HeaderLen+MaxCiphertext12, and returns the whole record
// (header and fragment) as a slice of *buf, valid until the next call.
//
// A read that fails inside a record keeps what it got in *buf (len(*buf)
// is the part of a record already received), and the next call goes on
// from there. That is what makes a read deadline harmless: a timeout in
// the middle of a record loses nothing, and the connection reads on once
// the rest arrives. Callers that treat other errors as final never call
// again.
//
// A declared length above MaxCiphertext12 is rejected with record_overflow
// (RFC 5246, Section 6.2.3) before any of the body is read, so a peer cannot
// make us buffer more than one maximum-size record. ReadRecord returns
// io.EOF only when the stream ends before the first byte of a record, and
// io.ErrUnexpectedEOF when it ends inside one. The content type is not
// checked here; HalfConn.Open does that.
func ReadRecord(r io.Reader, buf *[]byte) ([]byte, error) {
	return ReadRecordChecked(r, buf, nil)
}

// ReadRecordChecked is ReadRecord with a check on the 5-byte header, run as
// soon as the header is complete and before any of the fragment is read:
// a non-nil error from check is returned at once, and the header stays in
// *buf. A caller uses it to reject a first record that is not TLS at all
// (plain HTTP, an SSLv2 hello) without waiting for the length its first
// bytes happen to declare. Whatever check says, a record of an unknown
// content type is rejected here with unexpected_message (RFC 5246,
// Section 6; RFC 8446, Section 5), for the same reason.
func ReadRecordChecked(r io.Reader, buf *[]byte, check func(header []byte) error) ([]byte, error) {
	b := *buf
	have := len(b)
	if cap(b) < HeaderLen {
		b = make([]byte, 0, 512)
	}
	if have < HeaderLen {
		b = b[:HeaderLen]
		n, err := readFull(r, b[have:])
		have += n
		if err != nil {
			*buf = b[:have]
			if have == 0 && err == io.EOF {
				return nil, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if check != nil {
		if err := check(b[:HeaderLen]); err != nil {
			*buf = b[:have]
			return nil, err
		}
	}
	if !ContentType(b[0]).known() {
		*buf = b[:have]
		return nil, &Error{Alert: alert.UnexpectedMessage, Msg: "received a record of unknown " + ContentType(b[0]).String()}
	}
	length := int(b[3])<<8 | int(b[4])
	if length > MaxCiphertext12 {
		*buf = b[:have]
		return nil, &Error{Alert: alert.RecordOverflow, Msg: "record length " + strconv.Itoa(length) + " exceeds the maximum"}
	}
	total := HeaderLen + length
	if cap(b) < total {
		grown := make([]byte, total)
		copy(grown, b[:have])
		b = grown
	}
	b = b[:total]
	n, err := readFull(r, b[have:])
	have += n
	if err != nil {
		*buf = b[:have]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*buf = b[:0]
	return b, nil
}

// maxEmptyReads bounds how many consecutive (0, nil) results readFull
// accepts from a reader before giving up, so that a misbehaving reader
// cannot make ReadRecord spin forever (io.Reader discourages such returns
// but does not forbid them).
const maxEmptyReads = 100

// readFull is io.ReadFull with a bound on reads that make no progress. It
// returns io.EOF only if no bytes were read.
func readFull(r io.Reader, b []byte) (int, error) {
	n, empty := 0, 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		if m < 0 || m > len(b)-n {
			return n, errors.New("tls: transport returned an invalid byte count")
		}
		n += m
		if n == len(b) {
			return n, nil
		}
		if err != nil {
			if err == io.EOF && n > 0 {
				return n, io.ErrUnexpectedEOF
			}
			return n, err
		}
		if m == 0 {
			empty++
			if empty >= maxEmptyReads {
				return n, io.ErrNoProgress
			}
		} else {
			empty = 0
		}
	}
	return n, nil
}
