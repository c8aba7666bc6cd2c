package record

import (
	"math"
	"slices"
	"strconv"

	"github.com/reprise-tls/reprise/internal/alert"
)

// HalfConn is the protection state of one direction of a connection: the
// negotiated version, the installed cipher and the sequence number. The
// zero value sends and accepts plaintext records. A HalfConn is not safe
// for concurrent use; the connection holds one per direction.
type HalfConn struct {
	version uint16 // 0 until negotiated
	cipher  Cipher // nil while records are unprotected
	seq     uint64 // sequence number of the next record (RFC 5246, Section 6.1)
}

// SetVersion records the negotiated protocol version: 0x0303 for TLS 1.2,
// 0x0304 for TLS 1.3. It decides the record format once a cipher is set,
// whether a TLS 1.3 change_cipher_spec passes unprotected, and, for
// TLS 1.2, which legacy record version Open accepts.
func (hc *HalfConn) SetVersion(v uint16) { hc.version = v }

// SetCipher installs new keys (nil returns to plaintext) and resets the
// sequence number to zero: RFC 5246, Section 6.1 ("set to zero whenever a
// connection state is made the active state") and RFC 8446, Section 5.3
// ("reset to zero whenever the key is changed").
func (hc *HalfConn) SetCipher(c Cipher) {
	hc.cipher = c
	hc.seq = 0
}

// Cipher returns the keys in use, nil for plaintext.
func (hc *HalfConn) Cipher() Cipher { return hc.cipher }

// Encrypted reports whether records in this direction are protected.
func (hc *HalfConn) Encrypted() bool { return hc.cipher != nil }

// tls13 reports whether the TLS 1.3 record format applies. A cipher made
// for one version cannot protect records of the other; the constructors
// and SetVersion disagreeing is a bug in the caller.
func (hc *HalfConn) tls13() (bool, error) {
	if hc.cipher == nil {
		return hc.version == versionTLS13, nil
	}
	is13 := hc.cipher.tls13()
	if hc.version != 0 && is13 != (hc.version == versionTLS13) {
		return false, &Error{Alert: alert.InternalError, Msg: "record cipher does not match protocol version " + strconv.Itoa(int(hc.version))}
	}
	return is13, nil
}

// Seal appends to dst one record carrying payload as content type typ and
// returns the extended slice. payload must not overlap dst's spare
// capacity, and may hold at most MaxPlaintext bytes; splitting larger
// data into records is the caller's job.
//
// recordVersion is the legacy_record_version written in the header: 0x0303
// for TLS 1.2 and 1.3, or 0x0301 for a first ClientHello (RFC 8446,
// Section 5.1). With a TLS 1.3 cipher the outer type is application_data
// and typ becomes the inner content type (RFC 8446, Section 5.2); no
// padding is added. A TLS 1.3 change_cipher_spec is always sent in the
// clear (RFC 8446, Section 5: it is "unprotected" middlebox compatibility).
func (hc *HalfConn) Seal(dst []byte, typ ContentType, recordVersion uint16, payload []byte) ([]byte, error) {
	if !typ.known() {
		return dst, &Error{Alert: alert.InternalError, Msg: "cannot send a record of " + typ.String()}
	}
	if len(payload) > MaxPlaintext {
		return dst, &Error{Alert: alert.InternalError, Msg: "record payload of " + strconv.Itoa(len(payload)) + " bytes exceeds 2^14"}
	}
	// RFC 5246, Section 6.2.1 and RFC 8446, Section 5.1: implementations
	// MUST NOT send zero-length fragments of handshake, alert or
	// change_cipher_spec records.
	if len(payload) == 0 && typ != ApplicationData {
		return dst, &Error{Alert: alert.InternalError, Msg: "cannot send an empty " + typ.String() + " record"}
	}
	is13, err := hc.tls13()
	if err != nil {
		return dst, err
	}
	if hc.cipher == nil || (is13 && typ == ChangeCipherSpec) {
		dst = slices.Grow(dst, HeaderLen+len(payload))
		dst = appendHeader(dst, typ, recordVersion, len(payload))
		return append(dst, payload...), nil
	}
	if hc.seq == math.MaxUint64 {
		return dst, errSeqExhausted
	}

	outerType, plaintextLen := typ, len(payload)
	if is13 {
		// RFC 8446, Section 5.2: opaque_type is always application_data;
		// the real type follows the content inside the encryption.
		outerType, plaintextLen = ApplicationData, len(payload)+1
	}
	fragmentLen := hc.cipher.fragmentLen(plaintextLen)
	start := len(dst)
	dst = slices.Grow(dst, HeaderLen+fragmentLen)
	dst = appendHeader(dst, outerType, recordVersion, fragmentLen)
	out, err := hc.cipher.seal(dst, hc.seq, typ, payload)
	if err != nil {
		return dst[:start], err
	}
	if len(out)-start != HeaderLen+fragmentLen {
		return dst[:start], &Error{Alert: alert.InternalError, Msg: "record cipher produced a fragment of unexpected length"}
	}
	hc.seq++
	return out, nil
}

func appendHeader(b []byte, typ ContentType, version uint16, length int) []byte {
	return append(b, byte(typ), byte(version>>8), byte(version), byte(length>>8), byte(length))
}

// Open checks and removes the protection of one whole record (header and
// fragment, as returned by ReadRecord) and returns its real content type
// and plaintext. The plaintext may alias record, which Open overwrites.
//
// Failures carry the alert to send:
//   - a malformed header or a length that disagrees with the record:
//     decode_error;
//   - an unknown content type, or a TLS 1.3 protected record whose outer
//     type is not application_data or whose inner type is not alert,
//     handshake or application_data: unexpected_message (RFC 8446,
//     Section 5);
//   - a TLS 1.2 legacy record version other than the negotiated one:
//     protocol_version (TLS 1.3 ignores the field, RFC 8446, Section 5.1);
//   - a ciphertext over the version's maximum, or a plaintext over 2^14
//     bytes: record_overflow (RFC 5246, Section 6.2.3; RFC 8446,
//     Sections 5.1, 5.2 and 5.4);
//   - any authentication failure: bad_record_mac, one error value for all;
//   - a TLS 1.3 inner plaintext of only zeros: unexpected_message (RFC 8446,
//     Section 5.4);
//   - an empty handshake, alert or change_cipher_spec record:
//     unexpected_message (RFC 5246, Section 6.2.1; RFC 8446, Section 5.1).
//
// In TLS 1.3 a change_cipher_spec record is returned as it is, without
// decryption: RFC 8446, Section 5 has it arrive unprotected at any time
// during the handshake, and the caller decides whether it is acceptable.
func (hc *HalfConn) Open(record []byte) (ContentType, []byte, error) {
	if len(record) < HeaderLen {
		return 0, nil, &Error{Alert: alert.DecodeError, Msg: "record shorter than its header"}
	}
	typ := ContentType(record[0])
	version := uint16(record[1])<<8 | uint16(record[2])
	length := int(record[3])<<8 | int(record[4])
	fragment := record[HeaderLen:]
	if length != len(fragment) {
		return 0, nil, &Error{Alert: alert.DecodeError, Msg: "record length field disagrees with the record"}
	}
	if !typ.known() {
		return 0, nil, &Error{Alert: alert.UnexpectedMessage, Msg: "received a record of unknown " + typ.String()}
	}
	is13, err := hc.tls13()
	if err != nil {
		return 0, nil, err
	}
	// RFC 5246, Appendix E.1: once the version is agreed, records carry
	// it. RFC 8446, Section 5.1: in TLS 1.3 legacy_record_version "MUST
	// be ignored for all purposes".
	if hc.version != 0 && !is13 && version != hc.version {
		return 0, nil, &Error{Alert: alert.ProtocolVersion, Msg: "record version " + strconv.Itoa(int(version)) + " differs from the negotiated version"}
	}

	if hc.cipher == nil || (is13 && typ == ChangeCipherSpec) {
		// RFC 8446, Section 5.1: "The length MUST NOT exceed 2^14
		// bytes. An endpoint that receives a record that exceeds this
		// length MUST terminate the connection with a
		// "record_overflow" alert."
		if len(fragment) > MaxPlaintext {
			return 0, nil, &Error{Alert: alert.RecordOverflow, Msg: "plaintext record exceeds 2^14 bytes"}
		}
		if err := checkNotEmpty(typ, fragment); err != nil {
			return 0, nil, err
		}
		return typ, fragment, nil
	}

	if hc.seq == math.MaxUint64 {
		return 0, nil, errSeqExhausted
	}
	if is13 {
		// RFC 8446, Section 5.2: the outer opaque_type "is always set to
		// the value 23 (application_data)".
		if typ != ApplicationData {
			return 0, nil, &Error{Alert: alert.UnexpectedMessage, Msg: "protected TLS 1.3 record with outer " + typ.String()}
		}
		// RFC 8446, Section 5.2: "The length MUST NOT exceed 2^14 + 256
		// bytes."
		if len(fragment) > MaxCiphertext13 {
			return 0, nil, &Error{Alert: alert.RecordOverflow, Msg: "TLS 1.3 ciphertext exceeds 2^14+256 bytes"}
		}
	} else if len(fragment) > MaxCiphertext12 {
		// RFC 5246, Section 6.2.3: "The length MUST NOT exceed 2^14 +
		// 2048."
		return 0, nil, &Error{Alert: alert.RecordOverflow, Msg: "TLS 1.2 ciphertext exceeds 2^14+2048 bytes"}
	}

	plaintext, err := hc.cipher.open(record, hc.seq)
	if err != nil {
		return 0, nil, err
	}
	hc.seq++

	if is13 {
		// RFC 8446, Section 5.4: the TLSInnerPlaintext "MUST NOT exceed
		// 2^14 + 1 octets".
		if len(plaintext) > MaxPlaintext+1 {
			return 0, nil, &Error{Alert: alert.RecordOverflow, Msg: "TLS 1.3 inner plaintext exceeds 2^14+1 bytes"}
		}
		// RFC 8446, Section 5.4: the content type is the last non-zero
		// octet; "If a receiving implementation does not find a non-zero
		// octet in the cleartext, it MUST terminate the connection with
		// an "unexpected_message" alert." The scan runs over padding
		// the peer chose, so its timing reveals nothing to a third party.
		i := len(plaintext) - 1
		for i >= 0 && plaintext[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, &Error{Alert: alert.UnexpectedMessage, Msg: "TLS 1.3 record has no content type"}
		}
		typ, plaintext = ContentType(plaintext[i]), plaintext[:i]
		// RFC 8446, Section 5: a protected change_cipher_spec, like any
		// unknown type, ends the connection with unexpected_message.
		if typ != Alert && typ != Handshake && typ != ApplicationData {
			return 0, nil, &Error{Alert: alert.UnexpectedMessage, Msg: "protected TLS 1.3 record with inner " + typ.String()}
		}
	} else if len(plaintext) > MaxPlaintext {
		return 0, nil, &Error{Alert: alert.RecordOverflow, Msg: "TLS 1.2 plaintext exceeds 2^14 bytes"}
	}
	if err := checkNotEmpty(typ, plaintext); err != nil {
		return 0, nil, err
	}
	return typ, plaintext, nil
}

// checkNotEmpty rejects the zero-length fragments that RFC 5246,
// Section 6.2.1 and RFC 8446, Section 5.1 forbid: only application_data
// may be empty.
func checkNotEmpty(typ ContentType, plaintext []byte) error {
	if len(plaintext) == 0 && typ != ApplicationData {
		return &Error{Alert: alert.UnexpectedMessage, Msg: "received an empty " + typ.String() + " record"}
	}
	return nil
}
