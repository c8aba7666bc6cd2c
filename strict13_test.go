package reprise

// Early data that is not accepted is skipped, not fatal (RFC 8446,
// Section 4.2.10), against hand-made records and a real openssl client.

import (
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/internal/record"
)

// earlyDataConn writes records after the first flight a client writes (its
// ClientHello), as a client sending 0-RTT data does: they were protected
// under a key the server does not have.
type earlyDataConn struct {
	net.Conn
	once    sync.Once
	records [][]byte
}

func (c *earlyDataConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.once.Do(func() {
		for _, r := range c.records {
			c.Conn.Write(r)
		}
	})
	return n, err
}

// fakeEarlyData returns n application_data records of size bytes each,
// random as ciphertext under an unknown key is, after the compatibility
// change_cipher_spec that OpenSSL sends before its early data (RFC 8446,
// Appendix D.4).
func fakeEarlyData(t *testing.T, n, size int) [][]byte {
	out := [][]byte{plainRecord(record.ChangeCipherSpec, []byte{1})}
	for range n {
		body := make([]byte, size)
		rand.Read(body)
		out = append(out, plainRecord(record.ApplicationData, body))
	}
	return out
}

// TestEarlyDataSkipped: a TLS 1.3 ClientHello with early_data, followed by
// records the server cannot decrypt, makes a normal 1-RTT handshake: the
// server skips records that fail under the handshake key, and after a
// HelloRetryRequest skips application_data records, both within
// maxSkippedEarlyData. More than that is unexpected_message.
func TestEarlyDataSkipped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hrr       bool
		resume    bool
		n, size   int
		wantAlert Alert // 0: the handshake succeeds
	}{
		{"full", false, false, 3, 1000, 0},
		{"resumed", false, true, 3, 1000, 0},
		{"after HelloRetryRequest", true, false, 3, 1000, 0},
		{"resumed after HelloRetryRequest", true, true, 3, 1000, 0},
		{"16 KiB in small records", false, false, maxSkippedEarlyRecords, maxSkippedEarlyData/maxSkippedEarlyRecords + 17, 0},
		{"too much", false, false, 5, record.MaxPlaintext/4 + 300, AlertUnexpectedMessage},
		{"too much after HelloRetryRequest", true, false, 5, record.MaxPlaintext/4 + 300, AlertUnexpectedMessage},
		{"too many records", false, false, maxSkippedEarlyRecords + 1, 17, AlertUnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			if tc.hrr {
				scfg.CurvePreferences = []CurveID{CurveP384}
			}
			hrrs := traceHRR(scfg)
			ccfg := testClientConfig(t)
			ccfg.MaxVersion = VersionTLS13
			if tc.resume {
				ccfg.ClientSessionCache = NewLRUClientSessionCache(0)
				connect13(t, ccfg, scfg)
			}
			ccfg.testOfferEarlyData = true
			a, b := memPipe()
			client, server, cerr, serr := handshakeConns(t, &earlyDataConn{Conn: a, records: fakeEarlyData(t, tc.n, tc.size)}, b, ccfg, scfg)
			if tc.wantAlert != 0 {
				wantAlert(t, "server", serr, tc.wantAlert, false)
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client %v; server %v", cerr, serr)
			}
			exchange(t, client, server)
			if got := client.ConnectionState().DidResume; got != tc.resume {
				t.Errorf("DidResume %v, want %v", got, tc.resume)
			}
			if (hrrs() > 0) != tc.hrr {
				t.Errorf("%d HelloRetryRequests", hrrs())
			}
		})
	}
}

// TestEarlyDataSkippedOnlyWhenOffered: without early_data in the
// ClientHello a record that fails to decrypt is bad_record_mac, as ever.
func TestEarlyDataSkippedOnlyWhenOffered(t *testing.T) {
	ccfg := testClientConfig(t)
	a, b := memPipe()
	_, _, _, serr := handshakeConns(t, &earlyDataConn{Conn: a, records: fakeEarlyData(t, 1, 100)}, b, ccfg, testServerConfig(t))
	wantAlert(t, "server", serr, AlertBadRecordMAC, false)
}

// TestOpenSSLEarlyData: openssl s_client resumes with a ticket that allows
// early data and sends some (-early_data); the server skips it and the
// connection carries on in 1-RTT. Also after a HelloRetryRequest, where the
// early data arrives as application_data records before the second
// ClientHello.
func TestOpenSSLEarlyData(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	early := filepath.Join(t.TempDir(), "early.txt")
	if err := os.WriteFile(early, []byte(strings.Repeat("early data the server skips\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hrr  bool
	}{{"1-RTT", false}, {"HelloRetryRequest", true}} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.testAdvertiseEarlyData = 16384
			if tc.hrr {
				scfg.CurvePreferences = []CurveID{CurveP384}
			}
			hrrs := traceHRR(scfg)
			addr := serveTCP(t, scfg)
			sess := filepath.Join(t.TempDir(), "sess.pem")
			base := []string{"s_client", "-connect", addr, "-tls1_3", "-CAfile", pc.CAFile, "-servername", "localhost", "-ign_eof"}
			if tc.hrr {
				base = append(base, "-groups", "X25519:P-384")
			}
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_out", sess)...)
			if err != nil || !strings.Contains(out, "resumed=false") || !strings.Contains(out, "Max Early Data: 16384") {
				t.Fatalf("first connection: %v\n%s", err, out)
			}
			before := hrrs()
			out, err = peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_in", sess, "-early_data", early)...)
			if err != nil || !strings.Contains(out, "Early data was rejected") || !strings.Contains(out, "resumed=true via=psk") {
				t.Fatalf("early data: %v\n%s", err, out)
			}
			if tc.hrr && hrrs() == before {
				t.Error("no HelloRetryRequest on the early data connection")
			}
		})
	}
}
