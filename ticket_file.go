package reprise

import (
	"errors"
	"io"
	"time"

	"github.com/reprise-tls/reprise/internal/ticket"
)

// NewTicketKeyFile returns the contents of a fresh ticket key file that
// reprise (LoadTicketKeys), nginx or HAProxy can read, for `reprise
// ticketkey new`. bits is 128 (AES-128-CBC, 16-byte HMAC key) or 256
// (AES-256-CBC, 32-byte HMAC key); rand nil means crypto/rand.Reader.
//
// TicketKeyFormatNginx (and Auto) gives one binary key of 48 or 80 bytes:
// nginx's ssl_session_ticket_key takes one key per file, and a new file
// is meant to become the current key. TicketKeyFormatHAProxy gives three
// base64 lines, because HAProxy always keeps three keys and seals with the
// second-to-last line; all three are new. TicketKeyFormatEnvoy gives one
// 80-byte key (bits must be 256): the same bytes as nginx's 80-byte file,
// so one file can be given to both.
//
// The result is secret (RFC 5077, Section 5.5: whoever has the keys can
// read and forge every ticket): write it with mode 0600.
func NewTicketKeyFile(rand io.Reader, bits int, format TicketKeyFormat) ([]byte, error) {
	count := 1
	switch format {
	case TicketKeyFormatAuto, TicketKeyFormatNginx:
		format = TicketKeyFormatNginx
	case TicketKeyFormatHAProxy:
		count = 3
	case TicketKeyFormatEnvoy:
		if bits != 256 {
			return nil, errors.New("reprise: Envoy ticket keys are 80 bytes: AES-256, 256 bits")
		}
	default:
		return nil, errors.New("reprise: ticket key files can be written only in nginx, HAProxy or Envoy format")
	}
	keys := make([]ticket.Key, 0, count)
	for range count {
		k, err := ticket.NewKey(rand, bits)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return ticket.MarshalKeyFile(keys, format)
}

// DerivedTicketKeyFile returns the key file, in nginx or HAProxy format,
// of the keys a fleet derives from secret at time at (see
// NewDerivedTicketKeys; period zero means 12 hours), for `reprise
// ticketkey derive`. TicketKeyFormatNginx gives the one key of at's
// period (nginx reads one key per file: write the next and previous
// periods' keys to the files of its second and third
// ssl_session_ticket_key directives). TicketKeyFormatHAProxy gives three
// lines, previous, current and next, so that HAProxy seals with the
// current key and opens all three. The result is secret: write it with
// mode 0600.
func DerivedTicketKeyFile(secret []byte, period time.Duration, at time.Time, format TicketKeyFormat) ([]byte, error) {
	sched, err := ticket.NewSchedule(secret, period, period)
	if err != nil {
		return nil, err
	}
	n := sched.PeriodAt(at)
	switch format {
	case TicketKeyFormatAuto, TicketKeyFormatNginx:
		return ticket.MarshalKeyFile([]ticket.Key{sched.Key(n)}, ticket.FormatNginx)
	case TicketKeyFormatHAProxy:
		return ticket.MarshalKeyFile([]ticket.Key{sched.Key(n), sched.Key(n + 1), sched.Key(n - 1)}, ticket.FormatHAProxy)
	}
	return nil, errors.New("reprise: derived ticket key files can be written only in nginx or HAProxy format")
}
