package reprise_test

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/reprise-tls/reprise"
)

// A server with OpenSSL's session cache: sessions are resumed by session
// ID, bound to an application's context, expire after a timeout, and are
// handed to a callback for an external cache. The counters are OpenSSL's
// SSL_CTX_sess_* ones, with the refusals counted by reason.
func Example_serverSessionCache() {
	cert, err := reprise.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	var newSessions atomic.Int64
	srv := &reprise.Config{
		Certificates:           []reprise.Certificate{cert},
		MaxVersion:             reprise.VersionTLS12,
		SessionTicketsDisabled: true,                                            // resume from the cache, by session ID
		SessionIDContext:       []byte("my-app"),                                // SSL_CTX_set_session_id_context
		SessionTimeout:         5 * time.Minute,                                 // SSL_CTX_set_timeout
		OnNewSession:           func(*reprise.Session) { newSessions.Add(1) },   // SSL_CTX_sess_set_new_cb
		GetSession:             func(id []byte) *reprise.Session { return nil }, // SSL_CTX_sess_set_get_cb
	}
	ln, err := reprise.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go greet(ln)

	pem, err := os.ReadFile("testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &reprise.Config{RootCAs: roots, ServerName: "localhost", ClientSessionCache: reprise.NewLRUClientSessionCache(0)}
	for range 3 {
		c, err := reprise.Dial("tcp", ln.Addr().String(), client)
		if err != nil {
			log.Fatal(err)
		}
		io.ReadFull(c, make([]byte, 1)) // the server's greeting: its handshake is counted
		fmt.Println("resumption:", c.ConnectionState().Resumption)
		c.Close()
	}
	s := srv.Counters().Snapshot()
	fmt.Printf("accept_good=%d hits=%d misses=%d new sessions=%d\n", s.AcceptGood, s.Hits, s.Misses, newSessions.Load())
	// Output:
	// resumption: none
	// resumption: session-id
	// resumption: session-id
	// accept_good=3 hits=2 misses=0 new sessions=1
}

// greet handshakes with each client and sends it one byte.
func greet(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			c.Write([]byte("!"))
			io.Copy(io.Discard, c)
		}(c)
	}
}
