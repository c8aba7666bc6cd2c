// Package diag holds the diagnostic switches of a reprise client: ways to
// break the client's own rules on purpose, so that `reprise probe` can see
// whether a server enforces them (does it refuse an EMS session offered
// without EMS? does it resume a session offered under another name?), and
// to observe what the server sent that the public API does not surface.
//
// They are deliberately not part of the public API: only code inside the
// reprise module can import this package. A client with a switch on is a
// test instrument, not a safe TLS client; never set one on a connection
// that carries data.
package diag

// ClientKnobs are a client Config's diagnostic switches; the zero value
// (every Config's) changes nothing.
type ClientKnobs struct {
	// OfferEMSSessionWithoutEMS offers a TLS 1.2 session made with
	// extended master secret in a ClientHello that does not offer it:
	// the downgrade RFC 7627, Section 5.3 says a server MUST abort (the
	// case of Windows SChannel servers). The client normally refuses to
	// make this offer (reason "ems-mismatch").
	OfferEMSSessionWithoutEMS bool

	// OfferSessionUnderAnyName offers a session (a TLS 1.2 session ID or
	// ticket, or a TLS 1.3 PSK) whatever the server name it was made for,
	// to see whether the server binds resumption to SNI. RFC 6066, Section
	// 3 and RFC 8446, Section 4.6.1 say a client SHOULD only resume under
	// the original name, which the client normally enforces.
	OfferSessionUnderAnyName bool

	// PSKModes, if not nil, replaces the psk_key_exchange_modes the client
	// offers (normally psk_dhe_ke alone), to see whether a server accepts
	// psk_ke (resumption without a fresh key exchange).
	PSKModes []uint8

	// OnTicket, if set, sees every NewSessionTicket the client receives,
	// as the server sent it.
	OnTicket func(Ticket)
}

// Ticket is what a NewSessionTicket said (RFC 5077, Section 3.3; RFC 8446,
// Section 4.6.1).
type Ticket struct {
	Version  uint16 // 0x0303 or 0x0304
	Lifetime uint32 // TLS 1.2 ticket_lifetime_hint or TLS 1.3 ticket_lifetime, seconds
	AgeAdd   uint32 // TLS 1.3 ticket_age_add
	NonceLen int    // TLS 1.3 ticket_nonce length
	Len      int    // ticket length
}

// attach is set by package reprise: it stores knobs in a *reprise.Config.
var attach func(config any, k ClientKnobs)

// Register is called once by package reprise, which owns the Config type
// this package cannot import.
func Register(f func(config any, k ClientKnobs)) { attach = f }

// Set gives config (a *reprise.Config, used by clients only) the knobs k.
// Clone copies them with the rest of the Config.
func Set(config any, k ClientKnobs) { attach(config, k) }
