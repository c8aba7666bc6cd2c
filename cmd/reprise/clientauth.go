package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reprise-tls/reprise"
)

// Seed 002's per-directory client authentication for `reprise serve`:
// requests whose path starts with --client-auth-path make the server ask
// for a client certificate after the handshake (RequestClientCertificate:
// a renegotiation in TLS 1.2, post-handshake authentication in TLS 1.3)
// before the page is served; the page shows the verified certificate's
// subject, or is a 403 when the client sent none.

// clientAuthTimeout bounds how long a protected request waits for the
// client's certificate.
const clientAuthTimeout = 10 * time.Second

// serveClientAuthPath answers req, a raw HTTP request header, if its path
// is under --client-auth-path, and reports whether it did.
func (s *server) serveClientAuthPath(conn *reprise.Conn, req []byte) bool {
	path := requestPath(req)
	if !underClientAuthPath(s.opts.clientAuthPath, path) {
		return false
	}
	status, page := clientAuthPage(conn, s.cfg.Counters())
	s.logf("client-auth %s: %s", path, status)
	fmt.Fprintf(conn, "HTTP/1.0 %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, len(page), page)
	conn.CloseWrite()
	return true
}

// underClientAuthPath: an empty prefix protects nothing.
func underClientAuthPath(prefix, path string) bool {
	return prefix != "" && strings.HasPrefix(path, prefix)
}

// clientAuthPage asks for the client's certificate, unless the handshake
// already verified one, and returns the HTTP status and the page: the
// connection's status page with the certificate's subject, or a 403 page
// saying why there is none. Used by both the raw --www path and an
// net/http handler holding the *reprise.Conn.
func clientAuthPage(conn *reprise.Conn, counters *reprise.Counters) (status, page string) {
	if len(conn.ConnectionState().PeerCertificates) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), clientAuthTimeout)
		err := conn.RequestClientCertificate(ctx)
		cancel()
		if err != nil {
			return "403 Forbidden", forbiddenPage(err)
		}
	}
	cs := conn.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return "403 Forbidden", forbiddenPage(reprise.ErrNoClientCertificate)
	}
	return "200 OK", fmt.Sprintf("Verified client certificate subject: %s\n\n%s", cs.PeerCertificates[0].Subject, statusPage(cs, counters.Snapshot()))
}

func forbiddenPage(err error) string {
	why := err.Error()
	switch {
	case errors.Is(err, reprise.ErrNoClientCertificate):
		why = "the client sent no certificate"
	case errors.Is(err, reprise.ErrRenegotiationRefused):
		why = "the client refused to renegotiate"
	case errors.Is(err, reprise.ErrRenegotiationUnsupported):
		why = "the client does not support secure renegotiation (RFC 5746)"
	case errors.Is(err, reprise.ErrPostHandshakeAuthUnsupported):
		why = "the client did not offer post-handshake authentication (TLS 1.3)"
	}
	return fmt.Sprintf("403 Forbidden: a client certificate is required here: %s\n", why)
}

// requestPath is the path of an HTTP request line ("GET /path HTTP/1.1").
func requestPath(req []byte) string {
	line, _, _ := bytes.Cut(req, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 2 {
		return ""
	}
	return fields[1]
}
