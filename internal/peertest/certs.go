package peertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// CertKind selects the key type of a test certificate.
type CertKind int

const (
	ECDSAP256 CertKind = iota
	ECDSAP384
	RSA2048
	Ed25519
)

func (k CertKind) String() string {
	switch k {
	case ECDSAP256:
		return "ECDSAP256"
	case ECDSAP384:
		return "ECDSAP384"
	case RSA2048:
		return "RSA2048"
	case Ed25519:
		return "Ed25519"
	}
	return fmt.Sprintf("CertKind(%d)", int(k))
}

// Cert is a test certificate and its key, in memory and on disk.
//
// The files live in the calling test's t.TempDir, so they disappear with the
// test; the key material itself is cached for the whole process because RSA
// key generation is slow.
type Cert struct {
	CertPEM, KeyPEM []byte // leaf certificate; PKCS#8 private key
	CertFile        string // CertPEM on disk
	KeyFile         string // KeyPEM on disk
	CAFile          string // the test CA certificate (PEM), for -CAfile / --x509cafile
	Leaf            *x509.Certificate
	Key             crypto.Signer
	Chain           [][]byte // DER, leaf only: peers are given the CA as a trust anchor
}

// TLSCertificate returns c for use in a crypto/tls Config on the other side
// of an interop test.
func (c *Cert) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: c.Chain, PrivateKey: c.Key, Leaf: c.Leaf}
}

// issued is the cached, file-less part of a Cert.
type issued struct {
	der    []byte
	leaf   *x509.Certificate
	key    crypto.Signer
	keyDER []byte // PKCS#8
}

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

type issueRequest struct {
	kind   CertKind
	client bool
}

var (
	caOnce sync.Once
	ca     *testCA
	caErr  error

	issuedMu    sync.Mutex
	issuedCache = map[issueRequest]*issued{}
)

// Validity is deliberately wide: in-process tests move Config.Time days or
// weeks ahead to expire tickets, and certificate verification uses that
// same clock, so the certificates must not be the thing that expires.
func validity() (notBefore, notAfter time.Time) {
	now := time.Now()
	return now.AddDate(-1, 0, 0), now.AddDate(10, 0, 0)
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func loadCA() (*testCA, error) {
	caOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			caErr = err
			return
		}
		serial, err := randomSerial()
		if err != nil {
			caErr = err
			return
		}
		notBefore, notAfter := validity()
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: "reprise peertest CA", Organization: []string{"reprise tests"}},
			NotBefore:             notBefore,
			NotAfter:              notAfter,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			caErr = err
			return
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			caErr = err
			return
		}
		ca = &testCA{
			cert: cert,
			key:  key,
			pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		}
	})
	return ca, caErr
}

func generateKey(kind CertKind) (crypto.Signer, error) {
	switch kind {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case Ed25519:
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	}
	return nil, fmt.Errorf("peertest: unknown CertKind %d", int(kind))
}

func issue(req issueRequest) (*issued, error) {
	issuedMu.Lock()
	defer issuedMu.Unlock()
	if got, ok := issuedCache[req]; ok {
		return got, nil
	}
	authority, err := loadCA()
	if err != nil {
		return nil, err
	}
	key, err := generateKey(req.kind)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := validity()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if req.kind == RSA2048 {
		// Only RSA keys can do TLS 1.2 RSA key transport (RFC 5246,
		// Section 7.4.7.1); peers check this bit before using it.
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if req.client {
		tmpl.Subject = pkix.Name{CommonName: "client"}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.Subject = pkix.Name{CommonName: "localhost"}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, authority.cert, key.Public(), authority.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	got := &issued{der: der, leaf: leaf, key: key, keyDER: keyDER}
	issuedCache[req] = got
	return got, nil
}

func certFor(t testing.TB, req issueRequest) *Cert {
	t.Helper()
	authority, err := loadCA()
	if err != nil {
		t.Fatalf("peertest: creating the test CA: %v", err)
	}
	got, err := issue(req)
	if err != nil {
		t.Fatalf("peertest: issuing %v certificate: %v", req.kind, err)
	}
	c := &Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: got.der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: got.keyDER}),
		Leaf:    got.leaf,
		Key:     got.key,
		Chain:   [][]byte{got.der},
	}
	dir := t.TempDir()
	role := "server"
	if req.client {
		role = "client"
	}
	base := filepath.Join(dir, role+"-"+req.kind.String())
	c.CertFile = base + ".crt"
	c.KeyFile = base + ".key"
	c.CAFile = filepath.Join(dir, "ca.crt")
	for _, f := range []struct {
		name string
		data []byte
	}{{c.CertFile, c.CertPEM}, {c.KeyFile, c.KeyPEM}, {c.CAFile, authority.pem}} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			t.Fatalf("peertest: writing %s: %v", f.name, err)
		}
	}
	return c
}

// Certs returns a server certificate for "localhost", 127.0.0.1 and ::1,
// signed by the per-process test CA, with its files written under a
// temporary directory. Keys are PKCS#8, which both openssl and gnutls read.
func Certs(t testing.TB, kind CertKind) *Cert {
	t.Helper()
	return certFor(t, issueRequest{kind: kind})
}

// ClientCert returns a client-authentication certificate (CN "client")
// from the same test CA as Certs.
func ClientCert(t testing.TB, kind CertKind) *Cert {
	t.Helper()
	return certFor(t, issueRequest{kind: kind, client: true})
}

// CAPool returns a pool holding only the test CA, for RootCAs/ClientCAs.
func CAPool(t testing.TB) *x509.CertPool {
	t.Helper()
	authority, err := loadCA()
	if err != nil {
		t.Fatalf("peertest: creating the test CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(authority.cert)
	return pool
}
