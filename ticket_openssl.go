package reprise

import (
	"crypto/sha1"
	"fmt"

	"github.com/reprise-tls/reprise/internal/sslsession"
)

// TicketFormat is what a server seals inside the tickets it mints. Both
// formats travel in the same RFC 5077, Section 4 envelope (key_name, IV,
// AES-CBC, HMAC-SHA256), and a server opens tickets of either format
// whatever it mints, so a fleet can switch node by node.
type TicketFormat int

const (
	// TicketFormatReprise seals reprise's own session encoding
	// (Session.MarshalBinary). The default.
	TicketFormatReprise TicketFormat = iota
	// TicketFormatOpenSSL seals OpenSSL's DER SSL_SESSION
	// (Session.MarshalOpenSSL), the state nginx, HAProxy and other
	// OpenSSL-based servers seal: with the same key file they open
	// reprise's tickets and reprise opens theirs. They also check the
	// session ID context, so set Config.SessionIDContext to theirs (see
	// NginxSessionIDContext).
	TicketFormatOpenSSL
)

func (f TicketFormat) String() string {
	switch f {
	case TicketFormatReprise:
		return "reprise"
	case TicketFormatOpenSSL:
		return "openssl"
	}
	return fmt.Sprintf("TicketFormat(%d)", int(f))
}

// ticketState encodes a server's session for sealing into a ticket, in
// the Config's TicketFormat.
func (c *Conn) ticketState(s *Session) ([]byte, error) {
	if c.config.TicketFormat != TicketFormatOpenSSL {
		return s.marshal(false)
	}
	o, err := s.openSSL(c.config.rand())
	if err != nil {
		return nil, err
	}
	return o.Marshal()
}

// openedTicketState decodes the state a ticket's key opened: reprise's
// encoding (it starts with its format number, 0x00 0x01) or OpenSSL's DER
// (it starts with a SEQUENCE tag, 0x30). The input passed the ticket's MAC,
// so it was sealed by a holder of the key, but it is still decoded
// defensively: anything else, or a client's session, is nil, and the
// caller refuses the ticket as ticket-invalid. Whatever decodes then goes
// through every resumption check, as a ticket of our own would.
func openedTicketState(plain []byte) *Session {
	if len(plain) > 0 && plain[0] == 0x30 {
		o, err := sslsession.Unmarshal(plain)
		if err != nil {
			return nil
		}
		s, err := sessionFromOpenSSL(o, false)
		if err != nil {
			return nil
		}
		return s
	}
	s := new(Session)
	if err := s.UnmarshalBinary(plain); err != nil || s.isClient {
		return nil
	}
	return s
}

// NginxSessionIDContext returns the session ID context nginx's http module
// binds its sessions and tickets to, for a server block whose
// ssl_certificate directives load leafCerts (DER, in directive order) and
// that has no ssl_client_certificate: SHA-1 over "HTTP" and the SHA-1 of
// each certificate (ngx_ssl_session_id_context). OpenSSL refuses a ticket
// whose context differs from its own, and so does reprise, so a mixed
// fleet sets Config.SessionIDContext to this on every reprise node.
//
// HAProxy's context is the string "haproxy"; openssl s_server's is the
// 4-byte integer 1 unless -context is given.
func NginxSessionIDContext(leafCerts ...[]byte) []byte {
	h := sha1.New()
	h.Write([]byte("HTTP"))
	for _, der := range leafCerts {
		sum := sha1.Sum(der)
		h.Write(sum[:])
	}
	return h.Sum(nil)
}
