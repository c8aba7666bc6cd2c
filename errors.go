package reprise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// Alert is a TLS alert description, such as AlertHandshakeFailure.
type Alert = alert.Alert

// Alerts callers commonly test for.
const (
	AlertCloseNotify           = alert.CloseNotify
	AlertUnexpectedMessage     = alert.UnexpectedMessage
	AlertBadRecordMAC          = alert.BadRecordMAC
	AlertRecordOverflow        = alert.RecordOverflow
	AlertHandshakeFailure      = alert.HandshakeFailure
	AlertBadCertificate        = alert.BadCertificate
	AlertIllegalParameter      = alert.IllegalParameter
	AlertUnknownCA             = alert.UnknownCA
	AlertDecodeError           = alert.DecodeError
	AlertDecryptError          = alert.DecryptError
	AlertProtocolVersion       = alert.ProtocolVersion
	AlertInsufficientSecurity  = alert.InsufficientSecurity
	AlertInternalError         = alert.InternalError
	AlertNoRenegotiation       = alert.NoRenegotiation
	AlertMissingExtension      = alert.MissingExtension
	AlertUnsupportedExtension  = alert.UnsupportedExtension
	AlertCertificateRequired   = alert.CertificateRequired
	AlertNoApplicationProtocol = alert.NoApplicationProtocol
)

// AlertError is a fatal alert that ended a connection: one we sent
// (Received false) because of Err, or one the peer sent (Received true).
type AlertError struct {
	Alert    Alert
	Received bool
	Err      error // what we found wrong; nil for a received alert
}

func (e AlertError) Error() string {
	if e.Received {
		return "tls: peer sent alert " + e.Alert.String()
	}
	if e.Err != nil {
		return e.Err.Error() + " (sent alert " + e.Alert.String() + ")"
	}
	return "tls: sent alert " + e.Alert.String()
}

func (e AlertError) Unwrap() error { return e.Err }

// protocolError is a handshake failure whose alert was fixed where it was
// found. Handshake code returns these; only Conn sends the alert.
type protocolError struct {
	alert alert.Alert
	msg   string
	cause error
}

func (e *protocolError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *protocolError) Unwrap() error { return e.cause }

// peerError reports something the peer did wrong, with the alert the RFC names.
func peerError(a alert.Alert, format string, args ...any) error {
	return &protocolError{alert: a, msg: "tls: " + fmt.Sprintf(format, args...)}
}

// wrapError attaches an alert to an underlying error.
func wrapError(a alert.Alert, msg string, cause error) error {
	return &protocolError{alert: a, msg: "tls: " + msg, cause: cause}
}

// Sentinels for errors callers and tests match with errors.Is.
var (
	// ErrEMSDowngrade: an extended-master-secret session was offered or
	// resumed without the extension (RFC 7627, Section 5.3).
	ErrEMSDowngrade = &protocolError{alert: alert.HandshakeFailure, msg: "tls: extended master secret session resumed without extended master secret"}
	// ErrEMSRequired: the peer does not support extended master secret and
	// the configuration requires it.
	ErrEMSRequired = &protocolError{alert: alert.HandshakeFailure, msg: "tls: peer does not support extended master secret, which is required"}
	// ErrResumedCipherMismatch: a session's cipher suite was not offered again
	// (RFC 5246, Section 7.4.1.2), or the server resumed with another suite.
	ErrResumedCipherMismatch = &protocolError{alert: alert.IllegalParameter, msg: "tls: resumed session's cipher suite is not in the client's offer"}
	// ErrBadFinished: the peer's Finished did not verify.
	ErrBadFinished = &protocolError{alert: alert.DecryptError, msg: "tls: peer's Finished message is wrong"}
	// ErrBadBinder: a TLS 1.3 PSK binder did not verify (RFC 8446, Section 4.2.11).
	ErrBadBinder = &protocolError{alert: alert.DecryptError, msg: "tls: PSK binder does not verify"}
	// ErrFinishedLength: the peer's Finished is not as long as verify_data
	// (RFC 8446, Section 4.4.4; RFC 5246, Section 7.4.9), a message that
	// cannot be decoded (decode_error, RFC 8446, Section 6.2); a
	// right-length verify_data that does not match is ErrBadFinished.
	ErrFinishedLength = &protocolError{alert: alert.DecodeError, msg: "tls: peer's Finished has the wrong length"}
	// ErrClientSpokeHTTP: a server's first bytes were an HTTP request, not
	// a TLS record. It is returned, wrapped in an AlertError for
	// unexpected_message, as soon as the 5-byte record header is read.
	ErrClientSpokeHTTP = &protocolError{alert: alert.UnexpectedMessage, msg: "tls: client spoke HTTP to a TLS port"}
)

// carriesAlert reports whether err was built with the alert it calls for.
func carriesAlert(err error) bool {
	var pe *protocolError
	var we *wire.Error
	var re *record.Error
	return errors.As(err, &pe) || errors.As(err, &we) || errors.As(err, &re)
}

// alertFor maps a handshake error to the alert we send for it. It returns
// false when no alert should be sent: the transport failed or the caller
// gave up.
func alertFor(err error) (alert.Alert, bool) {
	var pe *protocolError
	var we *wire.Error
	var re *record.Error
	var ae *AlertError
	var ne net.Error
	switch {
	case errors.As(err, &ae):
		return 0, false // already sent or received
	case errors.As(err, &pe):
		return pe.alert, true
	case errors.As(err, &we):
		return we.Alert, true
	case errors.As(err, &re):
		return re.Alert, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return alert.UserCanceled, false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return 0, false
	}
	return alert.InternalError, true
}
