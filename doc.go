// Package reprise is TLS 1.2 and TLS 1.3 in pure Go, built around session
// resumption.
//
// The API follows crypto/tls: a Config, Client and Server wrapping a
// net.Conn, Dial and Listen, and a ConnectionState after the handshake. What
// it adds is every resumption path in both roles, with the checks that keep
// a resumed connection as strong as the full handshake it replaces, and an
// explanation whenever an offered session is not resumed:
//
//   - TLS 1.2 session IDs (RFC 5246, Section 7.3) with a server session
//     cache: session ID context, timeout, cache modes, the new/remove/get
//     callbacks of OpenSSL's SSL_CTX_sess_set_*_cb, and OpenSSL-style
//     counters (Config.Counters). Go's crypto/tls has none of this.
//   - RFC 5077 session tickets sealed in the recommended format by a key
//     ring (TicketKeys) that reads nginx and HAProxy key files.
//   - RFC 7627 extended master secret by default, with the rules of its
//     Section 5.3 on both sides.
//   - TLS 1.3 PSK resumption from stateless tickets.
//
// ConnectionState.Resumption says how a connection resumed ("session-id",
// "ticket", "psk") and ConnectionState.Refused why an offered session was
// not resumed ("expired", "sni-mismatch", "ems-mismatch", ...; see the
// Refused* constants).
//
// A session store, the GetSession callback and a TicketSealer can never
// fail a handshake: each call has its own budget (Config.StoreTimeout)
// inside the handshake's context, and an error, a timeout or a panic makes
// a full handshake (or a ticket not issued), explained as
// "store-unavailable" and counted apart from misses. New sessions are
// written to an external store off the handshake's critical path.
//
// A client checks a session before it offers it, too: one from a
// connection that skipped certificate verification, or whose server
// certificate has expired since or does not name Config.ServerName, is not
// offered to a connection that verifies ("certificate-invalid"), since a
// resumed server proves nothing about its certificate.
//
// # Asking for a client certificate after the handshake
//
// A server that lets anyone connect can ask for a certificate only when a
// request needs one (seed 002's per-directory client authentication):
// Conn.RequestClientCertificate renegotiates in TLS 1.2 (RFC 5746 secure
// renegotiation only, never resuming unless Config.ResumeOnRenegotiation)
// and sends a post-handshake CertificateRequest in TLS 1.3 (RFC 8446,
// Section 4.6.2). A client answers a HelloRequest as Config.Renegotiation
// allows, and then holds the new session; it offers post-handshake
// authentication when it has a certificate. Client-initiated
// renegotiation is always refused, and counted (renegotiate12.go,
// posthandshake13.go).
//
// # Handing a session to another connection (FTPS)
//
// FTPS servers such as vsftpd (require_ssl_reuse=YES, its default) accept a
// data connection only if it resumes the control connection's TLS session.
// Pass the control connection's session explicitly:
//
//	ctrl, err := reprise.Dial("tcp", "ftp.example.com:21", cfg) // after AUTH TLS, in practice Client(conn, cfg)
//	...
//	dataCfg := cfg.Clone()
//	dataCfg.Session = ctrl.Session() // offer exactly this session
//	data := reprise.Client(rawDataConn, dataCfg)
//	err = data.Handshake() // data.ConnectionState().DidResume is true
//
// For TLS 1.2 set SessionTicketsDisabled on the client to resume by session
// ID, which every FTPS server supports.
//
// # Layout
//
// The handshake reads top to bottom like the RFCs' message flows:
// server12.go and client12.go for TLS 1.2, server13.go and client13.go for
// TLS 1.3. The server's decision to resume is made in one function per
// version (server_resume.go). Handshake code never sends alerts: it returns
// errors that carry the alert the RFC names, and Conn sends it once.
// Wire formats live in internal/wire, the record layer in internal/record,
// the key schedules in internal/keysched, ticket protection, key files
// and fleet-derived keys in internal/ticket, and the cache in
// internal/cache. The Redis and bbolt session stores are packages of their
// own (stores/redis, stores/bolt), so the core imports neither.
package reprise
