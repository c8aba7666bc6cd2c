package reprise_test

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"os"

	"github.com/reprise-tls/reprise"
)

// An FTPS data connection must resume the control connection's session:
// vsftpd (require_ssl_reuse=YES), ProFTPD and FileZilla Server refuse it
// otherwise. crypto/tls cannot do this; reprise hands the session over
// explicitly with Config.Session, one per data connection from TakeSession
// (TLS 1.2: the control session; TLS 1.3: a ticket not used before).
func Example_handOver() {
	addr := ftpsServer() // stands in for the FTP server

	pem, err := os.ReadFile("testdata/example-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	cfg := &reprise.Config{
		RootCAs:                roots,
		ServerName:             "localhost",
		MaxVersion:             reprise.VersionTLS12,
		SessionTicketsDisabled: true, // resume by session ID, as FTP servers expect
	}

	ctrl, err := reprise.Dial("tcp", addr, cfg) // the control connection, after "AUTH TLS"
	if err != nil {
		log.Fatal(err)
	}
	defer ctrl.Close()

	// USER, PASS, PBSZ 0, PROT P, PASV, RETR ... then, for each data connection:
	dataCfg := cfg.Clone()
	dataCfg.Session = ctrl.TakeSession() // offer exactly this session
	data, err := reprise.Dial("tcp", addr, dataCfg)
	if err != nil {
		log.Fatal(err)
	}
	defer data.Close()

	fmt.Println("control:", ctrl.ConnectionState().Resumption)
	fmt.Println("data:   ", data.ConnectionState().Resumption)
	// Output:
	// control: none
	// data:    session-id
}

// ftpsServer runs a TLS server on a loopback port that handshakes and then
// reads until the client hangs up, and returns its address.
func ftpsServer() string {
	cert, err := reprise.LoadX509KeyPair("testdata/example-cert.pem", "testdata/example-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	ln, err := reprise.Listen("tcp", "127.0.0.1:0", &reprise.Config{Certificates: []reprise.Certificate{cert}})
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
				io.Copy(io.Discard, c) // the first Read runs the handshake
			}(c)
		}
	}()
	return ln.Addr().String()
}
