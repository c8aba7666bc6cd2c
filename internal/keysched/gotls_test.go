// cryptocustomrand=1 lets Config.Rand reach crypto/ecdh, so the TLS 1.3 test
// knows the client's X25519 private key.
//
//go:debug cryptocustomrand=1

package keysched

// Cross-checks against Go's crypto/tls, an independent implementation: run a
// real handshake in memory, record the bytes each side writes, and recompute
// what crypto/tls derived from them.

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// recordingConn keeps a copy of every byte written through it.
type recordingConn struct {
	net.Conn
	mu      sync.Mutex
	written bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.written.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recordingConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.written.Bytes())
}

func testCertificate(t *testing.T) (tls.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "keysched.test"},
		DNSNames:     []string{"keysched.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, key
}

// handshakeWithGo runs a crypto/tls handshake over an in-memory pipe and
// returns what the client and server wrote, the client's key log, and the
// client's connection state.
func handshakeWithGo(t *testing.T, clientCfg, serverCfg *tls.Config) (clientWrote, serverWrote []byte, keyLog string, state tls.ConnectionState) {
	t.Helper()
	var log bytes.Buffer
	clientCfg.KeyLogWriter = &log
	c, s := net.Pipe()
	rc, rs := &recordingConn{Conn: c}, &recordingConn{Conn: s}
	client, server := tls.Client(rc, clientCfg), tls.Server(rs, serverCfg)
	errs := make(chan error, 1)
	go func() { errs <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	state = client.ConnectionState()
	c.Close()
	s.Close()
	return rc.bytes(), rs.bytes(), log.String(), state
}

// keyLogSecret finds a secret in NSS key log format ("LABEL client_random secret").
func keyLogSecret(t *testing.T, keyLog, label string) (clientRandom, secret []byte) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(keyLog))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == label {
			return unhex(t, f[1]), unhex(t, f[2])
		}
	}
	t.Fatalf("no %s in key log", label)
	return nil, nil
}

type tlsRecord struct {
	contentType byte
	payload     []byte
}

func splitRecords(t *testing.T, stream []byte) []tlsRecord {
	t.Helper()
	var recs []tlsRecord
	for len(stream) > 0 {
		if len(stream) < 5 {
			t.Fatal("truncated record header")
		}
		n := int(stream[3])<<8 | int(stream[4])
		if len(stream) < 5+n {
			t.Fatal("truncated record")
		}
		recs = append(recs, tlsRecord{stream[0], stream[5 : 5+n]})
		stream = stream[5+n:]
	}
	return recs
}

// plaintextFlight returns the handshake messages sent before
// ChangeCipherSpec, and the first encrypted handshake record after it.
func plaintextFlight(t *testing.T, stream []byte) (msgs [][]byte, encryptedFinished []byte) {
	t.Helper()
	var hs []byte
	recs := splitRecords(t, stream)
	for i, r := range recs {
		if r.contentType == 20 { // change_cipher_spec
			if i+1 >= len(recs) || recs[i+1].contentType != 22 {
				t.Fatal("no Finished after ChangeCipherSpec")
			}
			encryptedFinished = recs[i+1].payload
			break
		}
		if r.contentType == 22 {
			hs = append(hs, r.payload...)
		}
	}
	for len(hs) > 0 {
		if len(hs) < 4 {
			t.Fatal("truncated handshake header")
		}
		n := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
		if len(hs) < n {
			t.Fatal("truncated handshake message")
		}
		msgs = append(msgs, hs[:n])
		hs = hs[n:]
	}
	return msgs, encryptedFinished
}

// openGCM12 decrypts the first record after ChangeCipherSpec with a TLS 1.2
// AES-GCM key (RFC 5288 Section 3: nonce = salt || explicit nonce; RFC 5246
// Section 6.2.3.3: additional data = seq_num || type || version || length).
func openGCM12(t *testing.T, key, salt, payload []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := append(bytes.Clone(salt), payload[:8]...)
	ciphertext := payload[8:]
	plainLen := len(ciphertext) - aead.Overhead()
	ad := []byte{0, 0, 0, 0, 0, 0, 0, 0, 22, 3, 3, byte(plainLen >> 8), byte(plainLen)}
	plain, err := aead.Open(nil, nonce, ciphertext, ad)
	if err != nil {
		t.Fatalf("cannot decrypt Finished with the derived key block: %v", err)
	}
	return plain
}

// TestTLS12AgainstGo checks the extended master secret, key block, both
// Finished messages and the exporter against a crypto/tls TLS 1.2 handshake.
// RSA key exchange is used because the test can then recover the
// pre-master secret from the ClientKeyExchange with the server's key.
func TestTLS12AgainstGo(t *testing.T) {
	cert, key := testCertificate(t)
	suites := []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}
	serverCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12, CipherSuites: suites, SessionTicketsDisabled: true}
	clientCfg := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
	clientWrote, serverWrote, keyLog, state := handshakeWithGo(t, clientCfg, serverCfg)
	if state.Version != tls.VersionTLS12 || state.CipherSuite != suites[0] {
		t.Fatalf("negotiated %x/%x", state.Version, state.CipherSuite)
	}

	clientMsgs, clientFinishedRecord := plaintextFlight(t, clientWrote)
	serverMsgs, serverFinishedRecord := plaintextFlight(t, serverWrote)
	if len(clientMsgs) != 2 || len(serverMsgs) != 3 {
		t.Fatalf("unexpected flights: %d client, %d server messages", len(clientMsgs), len(serverMsgs))
	}
	clientHello, clientKeyExchange := clientMsgs[0], clientMsgs[1]
	clientRandom := clientHello[6:38]
	serverRandom := serverMsgs[0][6:38]

	// ClientKeyExchange body: opaque EncryptedPreMasterSecret<0..2^16-1>.
	//lint:ignore SA1019 the RSA key exchange is PKCS #1 v1.5 by definition (RFC 5246, Section 7.4.7.1); this test decrypts crypto/tls's own to check our PRF against it.
	preMaster, err := rsa.DecryptPKCS1v15(nil, key, clientKeyExchange[6:])
	if err != nil {
		t.Fatal(err)
	}

	h := crypto.SHA256
	tr := NewTranscript()
	tr.Write(clientHello)
	tr.SetHash(h)
	for _, m := range serverMsgs {
		tr.Write(m)
	}
	tr.Write(clientKeyExchange)
	sessionHash := tr.Sum()

	loggedRandom, loggedMaster := keyLogSecret(t, keyLog, "CLIENT_RANDOM")
	if !bytes.Equal(loggedRandom, clientRandom) {
		t.Fatal("key log is for a different handshake")
	}
	master := ExtendedMasterSecret(h, preMaster, sessionHash)
	if !bytes.Equal(master, loggedMaster) {
		t.Fatalf("extended master secret %x, crypto/tls used %x", master, loggedMaster)
	}

	// client_write_key, server_write_key (16 each), client/server salt (4 each).
	kb := KeyBlock(h, master, clientRandom, serverRandom, 40)
	clientFinished := openGCM12(t, kb[0:16], kb[32:36], clientFinishedRecord)
	want := append([]byte{20, 0, 0, 12}, Finished12(h, master, true, sessionHash)...)
	if !bytes.Equal(clientFinished, want) {
		t.Fatalf("client Finished %x, want %x", clientFinished, want)
	}
	tr.Write(clientFinished)
	serverFinished := openGCM12(t, kb[16:32], kb[36:40], serverFinishedRecord)
	want = append([]byte{20, 0, 0, 12}, Finished12(h, master, false, tr.Sum())...)
	if !bytes.Equal(serverFinished, want) {
		t.Fatalf("server Finished %x, want %x", serverFinished, want)
	}

	goExport, err := state.ExportKeyingMaterial("EXPORTER-reprise-test", []byte("context"), 32)
	if err != nil {
		t.Fatal(err)
	}
	ours := ExportKeyingMaterial12(h, master, clientRandom, serverRandom, "EXPORTER-reprise-test", []byte("context"), true, 32)
	if !bytes.Equal(ours, goExport) {
		t.Errorf("exporter %x, crypto/tls %x", ours, goExport)
	}
}

// constReader is a deterministic Config.Rand: every byte is 0x42, so the
// client's X25519 private key is 32 bytes of 0x42.
type constReader struct{}

func (constReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0x42
	}
	return len(p), nil
}

// serverKeyShare returns the key_exchange of the ServerHello's key_share
// extension (RFC 8446 Section 4.2.8).
func serverKeyShare(t *testing.T, serverHello []byte) []byte {
	t.Helper()
	b := serverHello[4+2+32:] // header, legacy_version, random
	b = b[1+int(b[0]):]       // legacy_session_id_echo
	b = b[2+1+2:]             // cipher_suite, compression, extensions length
	for len(b) >= 4 {
		typ, n := int(b[0])<<8|int(b[1]), int(b[2])<<8|int(b[3])
		data := b[4 : 4+n]
		if typ == 51 {
			return data[4:] // group, key_exchange length
		}
		b = b[4+n:]
	}
	t.Fatal("no key_share in ServerHello")
	return nil
}

// openRecords13 decrypts a sequence of TLS 1.3 application_data records with
// one traffic key (RFC 8446 Section 5.2-5.3) and returns the handshake bytes.
func openRecords13(t *testing.T, aead cipher.AEAD, iv []byte, recs []tlsRecord, raw [][]byte) []byte {
	t.Helper()
	var out []byte
	for seq, r := range recs {
		nonce := bytes.Clone(iv)
		for i := 0; i < 8; i++ {
			nonce[len(nonce)-1-i] ^= byte(uint64(seq) >> (8 * i))
		}
		plain, err := aead.Open(nil, nonce, r.payload, raw[seq])
		if err != nil {
			t.Fatalf("record %d does not decrypt with the derived traffic key: %v", seq, err)
		}
		plain = bytes.TrimRight(plain, "\x00")
		if plain[len(plain)-1] != 22 {
			t.Fatalf("record %d is not a handshake record", seq)
		}
		out = append(out, plain[:len(plain)-1]...)
	}
	return out
}

// encryptedRecords returns the application_data records of a stream with
// their 5-byte headers (the TLS 1.3 additional data), skipping the rest.
func encryptedRecords(t *testing.T, stream []byte) ([]tlsRecord, [][]byte) {
	var recs []tlsRecord
	var headers [][]byte
	for _, r := range splitRecords(t, stream) {
		if r.contentType == 23 {
			recs = append(recs, r)
			headers = append(headers, []byte{23, 3, 3, byte(len(r.payload) >> 8), byte(len(r.payload))})
		}
	}
	return recs, headers
}

// TestTLS13AgainstGo recomputes a crypto/tls TLS 1.3 handshake: the
// handshake and application traffic secrets must match its key log, the
// derived keys must decrypt its records, both Finished messages must verify,
// and the exporter must match its ExportKeyingMaterial.
func TestTLS13AgainstGo(t *testing.T) {
	cert, _ := testCertificate(t)
	serverCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true}
	clientCfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, Rand: constReader{}, CurvePreferences: []tls.CurveID{tls.X25519}}
	clientWrote, serverWrote, keyLog, state := handshakeWithGo(t, clientCfg, serverCfg)

	var newAEAD func(key []byte) (cipher.AEAD, error)
	keyLen := 16
	switch state.CipherSuite {
	case tls.TLS_AES_128_GCM_SHA256:
		newAEAD = func(key []byte) (cipher.AEAD, error) {
			block, err := aes.NewCipher(key)
			if err != nil {
				return nil, err
			}
			return cipher.NewGCM(block)
		}
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		newAEAD, keyLen = chacha20poly1305.New, 32
	default:
		t.Skipf("suite %x not handled by this test", state.CipherSuite)
	}
	h := crypto.SHA256

	clientRecs := splitRecords(t, clientWrote)
	serverRecs := splitRecords(t, serverWrote)
	clientHello, serverHello := clientRecs[0].payload, serverRecs[0].payload
	if clientHello[0] != 1 || serverHello[0] != 2 {
		t.Fatal("first records are not the hellos")
	}
	priv, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ecdh.X25519().NewPublicKey(serverKeyShare(t, serverHello))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := priv.ECDH(peer)
	if err != nil {
		t.Fatal(err)
	}

	tr := NewTranscript()
	tr.Write(clientHello)
	tr.SetHash(h)
	tr.Write(serverHello)
	hs := NewEarlySecret(h, nil).HandshakeSecret(shared)
	cHS := hs.ClientHandshakeTrafficSecret(tr.Sum())
	sHS := hs.ServerHandshakeTrafficSecret(tr.Sum())
	if _, s := keyLogSecret(t, keyLog, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"); !bytes.Equal(s, cHS) {
		t.Fatalf("c hs traffic %x, crypto/tls %x", cHS, s)
	}
	if _, s := keyLogSecret(t, keyLog, "SERVER_HANDSHAKE_TRAFFIC_SECRET"); !bytes.Equal(s, sHS) {
		t.Fatalf("s hs traffic %x, crypto/tls %x", sHS, s)
	}

	// The server's encrypted flight: EncryptedExtensions .. Finished.
	key, iv := TrafficKey(h, sHS, keyLen, 12)
	aead, err := newAEAD(key)
	if err != nil {
		t.Fatal(err)
	}
	recs, headers := encryptedRecords(t, serverWrote)
	flight := openRecords13(t, aead, iv, recs, headers)
	var serverFinishedHash []byte
	for len(flight) > 0 {
		n := 4 + (int(flight[1])<<16 | int(flight[2])<<8 | int(flight[3]))
		msg := flight[:n]
		flight = flight[n:]
		if msg[0] == 20 {
			if want := Finished13(h, sHS, tr.Sum()); !bytes.Equal(msg[4:], want) {
				t.Fatalf("server Finished %x, want %x", msg[4:], want)
			}
			tr.Write(msg)
			serverFinishedHash = tr.Sum()
			break
		}
		tr.Write(msg)
	}
	if serverFinishedHash == nil {
		t.Fatal("no server Finished")
	}

	ms := hs.MasterSecret()
	if _, s := keyLogSecret(t, keyLog, "CLIENT_TRAFFIC_SECRET_0"); !bytes.Equal(s, ms.ClientApplicationTrafficSecret(serverFinishedHash)) {
		t.Errorf("c ap traffic differs from crypto/tls")
	}
	if _, s := keyLogSecret(t, keyLog, "SERVER_TRAFFIC_SECRET_0"); !bytes.Equal(s, ms.ServerApplicationTrafficSecret(serverFinishedHash)) {
		t.Errorf("s ap traffic differs from crypto/tls")
	}

	// The client's Finished, under the client handshake key.
	key, iv = TrafficKey(h, cHS, keyLen, 12)
	if aead, err = newAEAD(key); err != nil {
		t.Fatal(err)
	}
	recs, headers = encryptedRecords(t, clientWrote)
	clientFinished := openRecords13(t, aead, iv, recs[:1], headers[:1])
	if want := append([]byte{20, 0, 0, 32}, Finished13(h, cHS, serverFinishedHash)...); !bytes.Equal(clientFinished, want) {
		t.Errorf("client Finished %x, want %x", clientFinished, want)
	}

	exporterSecret := ms.ExporterMasterSecret(serverFinishedHash)
	for _, ctx := range [][]byte{nil, []byte("context")} {
		goExport, err := state.ExportKeyingMaterial("EXPORTER-reprise-test", ctx, 48)
		if err != nil {
			t.Fatal(err)
		}
		ours := ExportKeyingMaterial13(h, exporterSecret, "EXPORTER-reprise-test", ctx, 48)
		if !bytes.Equal(ours, goExport) {
			t.Errorf("context %q: exporter %s, crypto/tls %s", ctx, hex.EncodeToString(ours), hex.EncodeToString(goExport))
		}
	}
}
