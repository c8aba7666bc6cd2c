package reprise_test

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/reprise-tls/reprise"
)

// Two servers, as two machines behind a load balancer, share one ticket
// key file, so a session made with one resumes on the other. The file is
// nginx's ssl_session_ticket_key format (TicketKeyFormatHAProxy writes
// HAProxy's tls-ticket-keys), so nginx and HAProxy can share it too; the
// command line writes one with `reprise ticketkey new`.
func Example_ticketKeyFile() {
	dir, err := os.MkdirTemp("", "reprise-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "ticket.key")
	data, err := reprise.NewTicketKeyFile(nil, 256, reprise.TicketKeyFormatNginx)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(keyFile, data, 0o600); err != nil { // the keys are secret
		log.Fatal(err)
	}

	serverA, serverB := keyFileServer(keyFile), keyFileServer(keyFile)

	pem, err := os.ReadFile("testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &reprise.Config{
		RootCAs:            roots,
		ServerName:         "localhost", // the client's session cache is keyed by name
		MaxVersion:         reprise.VersionTLS12,
		ClientSessionCache: reprise.NewLRUClientSessionCache(0),
	}
	for _, addr := range []string{serverA, serverB} {
		c, err := reprise.Dial("tcp", addr, client)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("resumption:", c.ConnectionState().Resumption)
		c.Close()
	}
	// Output:
	// resumption: none
	// resumption: ticket
}

// keyFileServer runs a server whose ticket keys come from keyFile and
// returns its address. TicketKeys.Reload rereads the file (on SIGHUP, say).
func keyFileServer(keyFile string) string {
	cert, err := reprise.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	keys, err := reprise.LoadTicketKeys(keyFile, reprise.TicketKeyFormatAuto)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := reprise.Listen("tcp", "127.0.0.1:0", &reprise.Config{Certificates: []reprise.Certificate{cert}, TicketKeys: keys})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				io.Copy(io.Discard, c)
			}(c)
		}
	}()
	return ln.Addr().String()
}
