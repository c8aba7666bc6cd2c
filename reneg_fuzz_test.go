package reprise

import (
	"bytes"
	"testing"

	"github.com/reprise-tls/reprise/internal/wire"
)

// FuzzPostHandshakeCertificateRequest feeds arbitrary CertificateRequest
// bodies to a TLS 1.3 client that offered post_handshake_auth, as a
// server's post-handshake message (RFC 8446, Section 4.6.2): it answers or
// fails, never panics. The seeds are what RequestClientCertificate sends.
func FuzzPostHandshakeCertificateRequest(f *testing.F) {
	for _, req := range []*wire.CertificateRequest13{
		{RequestContext: bytes.Repeat([]byte{7}, phaContextLen), SignatureAlgorithms: supportedSignatureAlgorithms},
		{RequestContext: []byte{1}, SignatureAlgorithms: []uint16{uint16(ECDSAWithP256AndSHA256)}, CertificateAuthorities: [][]byte{[]byte("0\x00")}},
	} {
		msg, err := req.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg[4:])
	}
	ccfg := testClientConfig(f)
	ccfg.Certificates = []Certificate{testClientCert(f)}
	scfg := testServerConfig(f)
	scfg.MinVersion = VersionTLS13
	client, _, cerr, serr := handshakePair(f, ccfg, scfg)
	if cerr != nil || serr != nil {
		f.Fatal(cerr, serr)
	}
	if client.post13 == nil || client.post13.pha == nil {
		f.Fatal("the client did not offer post_handshake_auth")
	}
	client.conn = &rwConn{Reader: bytes.NewReader(nil)}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxCertificateMessage {
			return
		}
		msg := append([]byte{wire.TypeCertificateRequest, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
		client.inMu.Lock()
		defer client.inMu.Unlock()
		client.recordsWithoutData = 0
		client.handlePostHandshake13(msg)
	})
}

// FuzzRenegotiationClientHello feeds arbitrary ClientHellos to a TLS 1.2
// server as the answer to its HelloRequest (RFC 5746, Section 3.7): the
// checks refuse or accept, never panic. The seed is a real renegotiation
// ClientHello of a reprise client.
func FuzzRenegotiationClientHello(f *testing.F) {
	var seen [][]byte
	_, server, _, cerr, serr := protectedPair(f, VersionTLS12, renegClientConfigTB(f), protectedConfigTB(f), func(client, _ *Conn) {
		client.mutateOutgoing = func(msg []byte) []byte {
			if msg[0] == wire.TypeClientHello {
				seen = append(seen, bytes.Clone(msg))
			}
			return msg
		}
	})
	if cerr != nil || serr != nil || len(seen) != 1 {
		f.Fatal(cerr, serr, len(seen))
	}
	f.Add(seen[0])
	f.Fuzz(func(t *testing.T, msg []byte) {
		h := new(wire.ClientHello)
		if h.Unmarshal(msg) != nil {
			return
		}
		hs := &server12{c: server, hello: h, renego: true}
		hs.processClientHello()
	})
}
