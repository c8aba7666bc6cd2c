// Package keysched derives TLS key material: the TLS 1.2 PRF and the secrets
// built on it (RFC 5246 Section 5, RFC 7627), the TLS 1.3 key schedule
// (RFC 8446 Section 7.1), exporters (RFC 5705, RFC 8446 Section 7.5) and the
// running handshake transcript hash.
//
// The TLS 1.3 schedule is a chain of stage types so that a secret from the
// wrong stage cannot be passed where another is expected:
//
//	PSK (or zeros) -> EarlySecret -> HandshakeSecret -> MasterSecret
//	                  | binder keys  | c/s hs traffic    | c/s ap traffic
//	                  | c e traffic  |                   | exp master
//	                  | e exp master |                   | res master
//
// The package never sees handshake messages other than as opaque bytes fed to
// a Transcript, and it knows nothing about records or connections.
//
// Every function takes the negotiated hash as a crypto.Hash. Only
// crypto.SHA256 and crypto.SHA384 are used by the cipher suites reprise
// supports; both are linked in by this package. Secrets returned are fresh
// slices owned by the caller.
package keysched

import (
	_ "crypto/sha256" // registers crypto.SHA256 so h.New() works
	_ "crypto/sha512" // registers crypto.SHA384
)
