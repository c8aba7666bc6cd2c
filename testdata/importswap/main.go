// Command importswap is an ordinary crypto/tls program: a mutual-TLS echo
// server and its client, with the idioms Go programs reach for. The test
// TestImportSwap builds it twice, as written and with "crypto/tls" replaced
// by reprise, and checks that both print the same lines.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

func main() {
	dir, err := os.MkdirTemp("", "importswap")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	caPool, serverFiles, clientFiles := writeCertificates(dir)

	serverCert, err := tls.LoadX509KeyPair(serverFiles[0], serverFiles[1])
	if err != nil {
		log.Fatal(err)
	}
	clientCert, err := tls.LoadX509KeyPair(clientFiles[0], clientFiles[1])
	if err != nil {
		log.Fatal(err)
	}
	certPEM, _ := os.ReadFile(serverFiles[0])
	keyPEM, _ := os.ReadFile(serverFiles[1])
	if pair, err := tls.X509KeyPair(certPEM, keyPEM); err != nil || pair.Leaf.Subject.CommonName != "localhost" {
		log.Fatalf("X509KeyPair: %v", err)
	}

	perName := &tls.Config{
		Certificates:     []tls.Certificate{serverCert},
		MinVersion:       tls.VersionTLS12,
		NextProtos:       []string{"h2", "http/1.1"},
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
		KeyLogWriter:     io.Discard,
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        caPool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || cs.PeerCertificates[0].Subject.CommonName != "client" {
				return errors.New("unexpected client")
			}
			return nil
		},
	}
	serverConfig := &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if hello.ServerName != "localhost" {
				return nil, fmt.Errorf("no certificate for %q", hello.ServerName)
			}
			return perName, nil
		},
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ln := tls.NewListener(tcp, serverConfig)
	defer ln.Close()
	go serve(ln)

	clientConfig := &tls.Config{
		RootCAs:            caPool,
		ServerName:         "localhost",
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"h2"},
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		GetClientCertificate: func(req *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if err := req.SupportsCertificate(&clientCert); err != nil {
				return nil, err
			}
			return &clientCert, nil
		},
	}
	addr := ln.Addr().String()

	// tls.Dial, then a Dialer: the second connection resumes the first.
	conn, err := tls.Dial("tcp", addr, clientConfig)
	if err != nil {
		log.Fatal(err)
	}
	report("dial", conn)
	conn.Close()

	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: clientConfig}
	nc, err := dialer.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	conn = nc.(*tls.Conn)
	report("dialer", conn)
	if _, ok := conn.NetConn().(*net.TCPConn); !ok {
		log.Fatalf("NetConn is %T", conn.NetConn())
	}
	conn.Close()

	// tls.Client over a connection of our own, one version only.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	only12 := clientConfig.Clone()
	only12.MaxVersion = tls.VersionTLS12
	only12.ClientSessionCache = nil
	conn = tls.Client(raw, only12)
	if err := conn.HandshakeContext(context.Background()); err != nil {
		log.Fatal(err)
	}
	report("client", conn)
	conn.Close()

	// A client that does not trust the server fails; errors.As with the
	// library's error types must not panic.
	_, err = tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost", MinVersion: tls.VersionTLS12})
	var alertErr tls.AlertError
	var verifyErr *tls.CertificateVerificationError
	errors.As(err, &alertErr)
	fmt.Printf("untrusted: failed=%v verification-error=%v\n", err != nil, errors.As(err, &verifyErr))

	var names []string
	for _, s := range tls.CipherSuites() {
		if s.ID == tls.TLS_AES_128_GCM_SHA256 || s.ID == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			names = append(names, s.Name)
		}
	}
	fmt.Println("suites:", names, tls.CipherSuiteName(tls.TLS_CHACHA20_POLY1305_SHA256))
}

// report echoes a line over conn and prints what the connection negotiated.
func report(name string, conn *tls.Conn) {
	if _, err := io.WriteString(conn, "ping\n"); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil {
		log.Fatal(err)
	}
	cs := conn.ConnectionState()
	keying, err := cs.ExportKeyingMaterial("EXPERIMENTAL importswap", nil, 32)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: version=%#04x alpn=%q resumed=%v complete=%v peer=%s sni=%s keying=%d chains=%d tls-unique=%v\n",
		name, cs.Version, cs.NegotiatedProtocol, cs.DidResume, cs.HandshakeComplete,
		cs.PeerCertificates[0].Subject.CommonName, cs.ServerName, len(keying), len(cs.VerifiedChains), cs.TLSUnique != nil)
	if err := conn.VerifyHostname("localhost"); err != nil {
		log.Fatal(err)
	}
}

func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			conn := c.(*tls.Conn)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := conn.HandshakeContext(ctx); err != nil {
				return
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(conn, buf); err != nil {
				return
			}
			conn.Write(buf)
			io.Copy(io.Discard, conn)
		}()
	}
}

// writeCertificates makes a CA, a server certificate for localhost and a
// client certificate, and writes each leaf and key as PEM files.
func writeCertificates(dir string) (pool *x509.CertPool, server, client [2]string) {
	caKey, caCert := issue(nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "importswap CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	})
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	write := func(name string, tmpl *x509.Certificate) [2]string {
		key, cert := issue(caKey, caCert, tmpl)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			log.Fatal(err)
		}
		files := [2]string{filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")}
		os.WriteFile(files[0], pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600)
		os.WriteFile(files[1], pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
		return files
	}
	server = write("server", &x509.Certificate{Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	client = write("client", &x509.Certificate{Subject: pkix.Name{CommonName: "client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return pool, server, client
}

func issue(parentKey *ecdsa.PrivateKey, parent, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	return key, cert
}
