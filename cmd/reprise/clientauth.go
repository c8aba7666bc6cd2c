package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/reprisehttp"
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

// serveClientAuthPath answers r if its path is under --client-auth-path,
// and reports whether it did.
func (s *server) serveClientAuthPath(w http.ResponseWriter, r *http.Request) bool {
	if !underClientAuthPath(s.opts.clientAuthPath, r.URL.Path) {
		return false
	}
	status, page := http.StatusInternalServerError, "no TLS connection behind this request\n"
	switch conn, ok := reprisehttp.RequestConn(r); {
	case !ok:
	case r.ProtoMajor >= 2:
		// RFC 7540, Section 9.2.1 forbids renegotiation once the
		// connection preface is sent, and RFC 8740 post-handshake
		// authentication: HTTP/2 clients must come back over HTTP/1.1.
		status, page = http.StatusForbidden, "403 Forbidden: a client certificate is required here, and HTTP/2 cannot ask for one after the handshake (RFC 7540 9.2.1, RFC 8740); retry over HTTP/1.1\n"
	default:
		status, page = clientAuthPage(conn, s.cfg.Counters())
	}
	s.logf("client-auth %s: %d", r.URL.Path, status)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	fmt.Fprint(w, page)
	return true
}

// underClientAuthPath: an empty prefix protects nothing.
func underClientAuthPath(prefix, path string) bool {
	return prefix != "" && strings.HasPrefix(path, prefix)
}

// clientAuthPage asks for the client's certificate, unless the handshake
// already verified one, and returns the HTTP status and the page: the
// connection's status page under the certificate's subject, or a 403 page
// saying why there is none.
func clientAuthPage(conn *reprise.Conn, counters *reprise.Counters) (status int, page string) {
	if len(conn.ConnectionState().PeerCertificates) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), clientAuthTimeout)
		err := conn.RequestClientCertificate(ctx)
		cancel()
		if err != nil {
			return http.StatusForbidden, forbiddenPage(err)
		}
	}
	cs := conn.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		return http.StatusForbidden, forbiddenPage(reprise.ErrNoClientCertificate)
	}
	return http.StatusOK, fmt.Sprintf("Verified client certificate subject: %s\n\n%s", cs.PeerCertificates[0].Subject, statusPage(cs, counters.Snapshot()))
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
