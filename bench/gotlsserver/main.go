// Command gotlsserver is a TLS server built on Go's crypto/tls, the
// baseline that bench/run.sh measures `reprise bench` against. Like
// `reprise serve`, it handshakes, then waits for the client to send or
// hang up; it answers nothing. Session tickets are on (crypto/tls has no
// server-side session ID cache, so TLS 1.2 resumes by ticket only).
//
//	go run ./bench/gotlsserver --addr 127.0.0.1:4434 [--cert F --key F] [--max-version 1.2|1.3]
//
// It prints "listening on ADDR" once it accepts connections.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"time"
)

const (
	handshakeTimeout = 10 * time.Second
	// idleTimeout bounds how long a connection that sends nothing is kept.
	idleTimeout = 10 * time.Second
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4434", "address to listen on")
	certFile := flag.String("cert", "", "PEM certificate chain (default: a fresh self-signed ECDSA P-256 certificate)")
	keyFile := flag.String("key", "", "PEM private key")
	maxVersion := flag.String("max-version", "1.3", "highest protocol version: 1.2 or 1.3")
	flag.Parse()
	// run serves until it fails, so it only ever returns an error.
	err := run(*addr, *certFile, *keyFile, *maxVersion)
	fmt.Fprintln(os.Stderr, "gotlsserver:", err)
	os.Exit(1)
}

func run(addr, certFile, keyFile, maxVersion string) error {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch maxVersion {
	case "1.2":
		cfg.MaxVersion = tls.VersionTLS12
	case "1.3":
		cfg.MaxVersion = tls.VersionTLS13
	default:
		return fmt.Errorf("--max-version %q: want 1.2 or 1.3", maxVersion)
	}
	var cert tls.Certificate
	var err error
	switch {
	case certFile != "" && keyFile != "":
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	case certFile == "" && keyFile == "":
		cert, err = selfSigned()
	default:
		return errors.New("--cert and --key go together")
	}
	if err != nil {
		return err
	}
	cfg.Certificates = []tls.Certificate{cert}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go serve(tls.Server(c, cfg))
	}
}

// serve handshakes and then reads until the client closes, as `reprise
// serve` does while it waits for a request, so both servers do the same
// work per connection.
func serve(conn *tls.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := conn.Handshake(); err != nil {
		return
	}
	conn.SetDeadline(time.Now().Add(idleTimeout))
	io.Copy(io.Discard, io.LimitReader(conn, 1<<20))
}

// selfSigned makes a certificate for localhost and 127.0.0.1.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
