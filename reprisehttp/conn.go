package reprisehttp

import (
	"net/http"

	"github.com/reprise-tls/reprise"
)

// RequestConn returns the *reprise.Conn a server request arrived on, for
// what only the connection can do, such as asking for a client
// certificate before answering (Conn.RequestClientCertificate: a TLS 1.2
// renegotiation or TLS 1.3 post-handshake authentication, HTTP/1.1 only:
// HTTP/2 forbids both, RFC 7540 Section 9.2.1 and RFC 8740).
func RequestConn(r *http.Request) (*reprise.Conn, bool) {
	c, ok := r.Context().Value(connKey{}).(*reprise.Conn)
	return c, ok
}
