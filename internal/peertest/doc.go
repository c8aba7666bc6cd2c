// Package peertest runs real TLS peers (openssl, gnutls-cli, gnutls-serv,
// later redis-server) on loopback for interop tests. There are no mocks:
// the point is to find out what other implementations actually do.
//
// A test asks for a peer with Need (skip locally, fail when CI=true), starts
// a server with OpenSSLServer, GnuTLSServer or Start, or runs a client to
// completion with Run. Every process is killed with its process group when
// the test ends, and its output is kept (bounded) for failure messages.
// Certs, ClientCert and CAPool give certificates from a per-process test CA,
// generated at test time, so no key material lives in the repository.
//
// # Peer command lines for resumption tests
//
// Checked against OpenSSL 3.0.19 and 3.0.22 and GnuTLS 3.7.9 (Debian). The Doc tests
// in peertest_test.go run the starred ones peer against peer, so a peer
// upgrade that breaks them shows up there first.
//
// OpenSSL server ("openssl s_server -accept 127.0.0.1:PORT -cert F -key F"):
//
//	-www                 answer "GET /" with a status page that reports the
//	                     session (Reused, Extended master secret, ...)
//	-rev                 echo each line back reversed
//	-tls1_2 / -tls1_3    pin the version
//	-no_ticket           no RFC 5077 tickets: TLS 1.2 resumes by session ID;
//	                     TLS 1.3 then uses stateful tickets
//	-no_cache            no server-side session cache
//	-num_tickets N       TLS 1.3 NewSessionTickets sent per handshake (default 2)
//	-context ID          session ID context (sessions resume only within it)
//	-early_data, -max_early_data N   accept TLS 1.3 0-RTT
//	-naccept N           exit after N connections
//	-Verify 1 -CAfile F  require a client certificate (-verify 1: request one)
//	-quiet / -brief      suppress the "ACCEPT" line; OpenSSLServer then
//	                     watches /proc/net/tcp instead
//
// OpenSSL client ("openssl s_client -connect ADDR -CAfile CA -servername localhost"):
//
//	-reconnect (*)       connect, then reconnect 5 times with the same
//	                     session; look for "Reused, TLSv1.2". With TLS 1.3 it
//	                     does not resume: the client drops the connection
//	                     before the NewSessionTicket arrives.
//	-sess_out F (*)      save the session (ticket) to F
//	-sess_in F (*)       offer the session from F. For TLS 1.3 send a request
//	                     and wait for the reply (-ign_eof) on the -sess_out
//	                     connection, so the ticket has arrived before exit.
//	-no_ticket (*)       do not send the session_ticket extension (TLS 1.2
//	                     then resumes by session ID)
//	-early_data F        send F as TLS 1.3 0-RTT data (with -sess_in)
//	-ign_eof             keep reading after stdin EOF until the server closes
//	-tls1_2 / -tls1_3 / -no_tls1_3, -msg, -trace, -keylogfile F
//
// OpenSSL 3.0 has no switch to disable extended master secret (RFC 7627);
// use gnutls-cli with %NO_SESSION_HASH for a non-EMS peer.
//
// GnuTLS client ("gnutls-cli --x509cafile CA -p PORT 127.0.0.1"; the test
// certificates carry 127.0.0.1 and localhost, or pass --verify-hostname):
//
//	-r, --resume (*)     connect, then reconnect resuming; look for "This is a
//	                     resumed session"
//	--waitresumption (*) TLS 1.3: wait for the NewSessionTicket before the
//	                     resumed connection (otherwise it may not resume)
//	--noticket           do not use session tickets
//	--earlydata=F        send F as 0-RTT on the resumed connection
//	--inline-commands    ^resume^ (or ^rekey^) on stdin resumes (or sends a
//	                     TLS 1.3 KeyUpdate) mid-session
//	--save-client-trace=F / --save-server-trace=F   message traces
//
// GnuTLS priority strings (--priority, both gnutls-cli and gnutls-serv):
//
//	NORMAL:-VERS-ALL:+VERS-TLS1.2 (*)   TLS 1.2 only (tickets by default)
//	NORMAL:-VERS-ALL:+VERS-TLS1.3 (*)   TLS 1.3 only
//	NORMAL:%NO_TICKETS (*)              no tickets: TLS 1.2 session-ID resumption
//	NORMAL:%NO_TICKETS_TLS12            no tickets in TLS 1.2 only
//	NORMAL:%NO_SESSION_HASH             no extended master secret (RFC 7627);
//	                                    s_server -www then shows
//	                                    "Extended master secret: no"
//
// GnuTLS server ("gnutls-serv --port PORT --x509certfile F --x509keyfile F"):
//
//	--http               answer HTTP with a status page ("HTTP/1.0 200 OK");
//	                     also what gnutls-serv does with neither flag
//	--echo               echo each line back
//	--noticket           do not issue session tickets
//	--nodb               no session-ID cache
//	--earlydata, --maxearlydata=N   accept TLS 1.3 0-RTT
//	-r, --require-client-cert --x509cafile CA   client authentication
//	--priority=STRING    as above
package peertest
