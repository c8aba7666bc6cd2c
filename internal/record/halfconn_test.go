package record

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math"
	"testing"

	"github.com/reprise-tls/reprise/internal/alert"
)

// testBytes returns n deterministic bytes starting at seed.
func testBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// cipherKind makes a cipher under fixed test keys; calling it twice gives
// the two ends of one direction.
type cipherKind struct {
	name    string
	version uint16
	newFunc func() (Cipher, error)
}

var cipherKinds = []cipherKind{
	{"AESGCM12-128", 0x0303, func() (Cipher, error) { return NewAESGCM12(testBytes(16, 1), testBytes(4, 2)) }},
	{"AESGCM12-256", 0x0303, func() (Cipher, error) { return NewAESGCM12(testBytes(32, 1), testBytes(4, 2)) }},
	{"ChaCha20Poly1305_12", 0x0303, func() (Cipher, error) { return NewChaCha20Poly1305_12(testBytes(32, 3), testBytes(12, 4)) }},
	{"CBC12-128", 0x0303, func() (Cipher, error) { return NewCBC12(testBytes(16, 5), testBytes(20, 6), false) }},
	{"CBC12-256", 0x0303, func() (Cipher, error) { return NewCBC12(testBytes(32, 5), testBytes(20, 6), false) }},
	{"CBC12-ETM", 0x0303, func() (Cipher, error) { return NewCBC12(testBytes(16, 7), testBytes(20, 8), true) }},
	{"AESGCM13-128", 0x0304, func() (Cipher, error) { return NewAESGCM13(testBytes(16, 9), testBytes(12, 10)) }},
	{"AESGCM13-256", 0x0304, func() (Cipher, error) { return NewAESGCM13(testBytes(32, 9), testBytes(12, 10)) }},
	{"ChaCha20Poly1305_13", 0x0304, func() (Cipher, error) { return NewChaCha20Poly1305_13(testBytes(32, 11), testBytes(12, 12)) }},
}

// pair returns a sealing and an opening HalfConn sharing keys.
func (k cipherKind) pair(t testing.TB) (sealer, opener *HalfConn) {
	t.Helper()
	sealer, opener = new(HalfConn), new(HalfConn)
	for _, hc := range []*HalfConn{sealer, opener} {
		c, err := k.newFunc()
		if err != nil {
			t.Fatal(err)
		}
		hc.SetVersion(k.version)
		hc.SetCipher(c)
	}
	return sealer, opener
}

func (k cipherKind) maxCiphertext() int {
	if k.version == 0x0304 {
		return MaxCiphertext13
	}
	return MaxCiphertext12
}

func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 15, 16, 17, 255, 256, 1000, 16383, 16384}
	for _, k := range cipherKinds {
		t.Run(k.name, func(t *testing.T) {
			sealer, opener := k.pair(t)
			for i, size := range sizes {
				typ := ApplicationData
				if size > 0 && i%2 == 1 {
					typ = Handshake
				}
				payload := testBytes(size, byte(i))
				rec, err := sealer.Seal(nil, typ, 0x0303, payload)
				if err != nil {
					t.Fatalf("Seal(%d bytes): %v", size, err)
				}
				if len(rec) > HeaderLen+k.maxCiphertext() {
					t.Fatalf("sealed record of %d bytes exceeds the maximum", len(rec))
				}
				if k.version == 0x0304 && ContentType(rec[0]) != ApplicationData {
					t.Fatalf("TLS 1.3 outer type %v", ContentType(rec[0]))
				}
				if bytes.Contains(rec, payload) && size > 16 {
					t.Fatal("payload appears in the clear")
				}
				gotType, got, err := opener.Open(rec)
				if err != nil {
					t.Fatalf("Open(%d bytes): %v", size, err)
				}
				if gotType != typ || !bytes.Equal(got, payload) {
					t.Fatalf("size %d: got %v %d bytes, want %v %d bytes", size, gotType, len(got), typ, len(payload))
				}
			}
			if sealer.seq != uint64(len(sizes)) || opener.seq != uint64(len(sizes)) {
				t.Errorf("sequence numbers %d/%d after %d records", sealer.seq, opener.seq, len(sizes))
			}
		})
	}
}

func TestSealAppendsToDst(t *testing.T) {
	for _, k := range cipherKinds {
		sealer, opener := k.pair(t)
		prefix := []byte("prefix")
		out, err := sealer.Seal(append([]byte(nil), prefix...), ApplicationData, 0x0303, []byte("data"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("%s: Seal did not keep dst", k.name)
		}
		if _, got, err := opener.Open(out[len(prefix):]); err != nil || string(got) != "data" {
			t.Fatalf("%s: Open = %q, %v", k.name, got, err)
		}
	}
}

func TestTamperedRecordFails(t *testing.T) {
	for _, k := range cipherKinds {
		t.Run(k.name, func(t *testing.T) {
			sealer, _ := k.pair(t)
			rec, err := sealer.Seal(nil, Handshake, 0x0303, testBytes(40, 0))
			if err != nil {
				t.Fatal(err)
			}
			for i := range rec {
				for _, flip := range []byte{0x01, 0x80} {
					_, opener := k.pair(t)
					bad := bytes.Clone(rec)
					bad[i] ^= flip
					_, _, err := opener.Open(bad)
					if err == nil {
						t.Fatalf("byte %d ^ %#x: tampered record opened", i, flip)
					}
					if i >= HeaderLen && err != errBadRecordMAC {
						t.Fatalf("byte %d ^ %#x: got %v, want bad_record_mac", i, flip, err)
					}
				}
			}
		})
	}
}

// The header is authenticated too: a record relabelled with another valid
// type (TLS 1.2) or another legacy version (TLS 1.3, where the version is
// otherwise ignored) fails authentication.
func TestHeaderIsAuthenticated(t *testing.T) {
	for _, k := range cipherKinds {
		sealer, _ := k.pair(t)
		rec, err := sealer.Seal(nil, Handshake, 0x0303, testBytes(40, 0))
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(rec)
		if k.version == 0x0304 {
			bad[2] = 0x01
		} else {
			bad[0] = byte(ApplicationData)
		}
		_, opener := k.pair(t)
		if _, _, err := opener.Open(bad); err != errBadRecordMAC {
			t.Errorf("%s: got %v, want bad_record_mac", k.name, err)
		}
	}
}

func TestWrongSequenceNumberFails(t *testing.T) {
	for _, k := range cipherKinds {
		t.Run(k.name, func(t *testing.T) {
			sealer, opener := k.pair(t)
			first, _ := sealer.Seal(nil, ApplicationData, 0x0303, []byte("first"))
			second, _ := sealer.Seal(nil, ApplicationData, 0x0303, []byte("second"))
			// Replaying or skipping a record is detected.
			if _, _, err := opener.Open(bytes.Clone(second)); err != errBadRecordMAC {
				t.Fatalf("record 1 at sequence 0: got %v, want bad_record_mac", err)
			}
			if _, _, err := opener.Open(first); err != nil {
				t.Fatalf("record 0 at sequence 0: %v", err)
			}
			_, _, err := opener.Open(bytes.Clone(first))
			if err != errBadRecordMAC {
				t.Fatalf("replayed record 0 at sequence 1: got %v, want bad_record_mac", err)
			}
		})
	}
}

func TestSetCipherResetsSequence(t *testing.T) {
	k := cipherKinds[0]
	sealer, opener := k.pair(t)
	for range 3 {
		if _, err := sealer.Seal(nil, ApplicationData, 0x0303, nil); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := k.newFunc()
	sealer.SetCipher(c)
	rec, _ := sealer.Seal(nil, ApplicationData, 0x0303, []byte("x"))
	if _, _, err := opener.Open(rec); err != nil {
		t.Fatalf("after SetCipher the sequence should restart at 0: %v", err)
	}
}

func TestSequenceNumberExhaustion(t *testing.T) {
	for _, k := range cipherKinds {
		t.Run(k.name, func(t *testing.T) {
			sealer, opener := k.pair(t)
			sealer.seq = math.MaxUint64 - 1
			opener.seq = math.MaxUint64 - 1
			rec, err := sealer.Seal(nil, ApplicationData, 0x0303, []byte("last"))
			if err != nil {
				t.Fatalf("last usable sequence number: %v", err)
			}
			if _, got, err := opener.Open(rec); err != nil || string(got) != "last" {
				t.Fatalf("Open at the last sequence number = %q, %v", got, err)
			}
			if _, err := sealer.Seal(nil, ApplicationData, 0x0303, []byte("wrap")); err != errSeqExhausted {
				t.Fatalf("Seal past the last sequence number: got %v", err)
			}
			if sealer.seq != math.MaxUint64 {
				t.Fatalf("sequence number wrapped to %d", sealer.seq)
			}
			if _, _, err := opener.Open(bytes.Clone(rec)); err != errSeqExhausted {
				t.Fatalf("Open past the last sequence number: got %v", err)
			}
		})
	}
}

func TestSealRejects(t *testing.T) {
	var plain HalfConn
	_, err := plain.Seal(nil, ApplicationData, 0x0303, make([]byte, MaxPlaintext+1))
	wantAlert(t, err, alert.InternalError)
	_, err = plain.Seal(nil, ContentType(24), 0x0303, []byte{1})
	wantAlert(t, err, alert.InternalError)
	_, err = plain.Seal(nil, Handshake, 0x0303, nil)
	wantAlert(t, err, alert.InternalError)

	// A TLS 1.3 cipher under a TLS 1.2 version is a caller bug.
	c, _ := NewAESGCM13(testBytes(16, 0), testBytes(12, 0))
	var hc HalfConn
	hc.SetVersion(0x0303)
	hc.SetCipher(c)
	_, err = hc.Seal(nil, ApplicationData, 0x0303, []byte{1})
	wantAlert(t, err, alert.InternalError)
	_, _, err = hc.Open(append(header(ApplicationData, 0x0303, 17), make([]byte, 17)...))
	wantAlert(t, err, alert.InternalError)
}

func TestOversizeRecords(t *testing.T) {
	t.Run("plaintext", func(t *testing.T) {
		var hc HalfConn
		rec := append(header(Handshake, 0x0301, MaxPlaintext+1), make([]byte, MaxPlaintext+1)...)
		_, _, err := hc.Open(rec)
		wantAlert(t, err, alert.RecordOverflow)
		rec = append(header(Handshake, 0x0301, MaxPlaintext), make([]byte, MaxPlaintext)...)
		if _, _, err := hc.Open(rec); err != nil {
			t.Fatalf("a 2^14-byte plaintext record: %v", err)
		}
	})
	for _, k := range cipherKinds {
		t.Run(k.name+"/ciphertext", func(t *testing.T) {
			_, opener := k.pair(t)
			n := k.maxCiphertext() + 1
			_, _, err := opener.Open(append(header(ApplicationData, 0x0303, n), make([]byte, n)...))
			wantAlert(t, err, alert.RecordOverflow)
		})
		t.Run(k.name+"/plaintext", func(t *testing.T) {
			// A peer that seals more than 2^14 bytes; Seal refuses to,
			// so go around it.
			_, opener := k.pair(t)
			c, _ := k.newFunc()
			payload := make([]byte, MaxPlaintext+1)
			var rec []byte
			if k.version == 0x0304 {
				rec = sealInner13(t, c, 0, append(payload, byte(ApplicationData)))
			} else {
				rec = appendHeader(nil, ApplicationData, 0x0303, c.fragmentLen(len(payload)))
				rec, _ = c.seal(rec, 0, ApplicationData, payload)
			}
			_, _, err := opener.Open(rec)
			wantAlert(t, err, alert.RecordOverflow)
		})
	}
}

// sealInner13 protects a hand-made TLSInnerPlaintext (content, type and
// any padding) with a TLS 1.3 cipher.
func sealInner13(t testing.TB, c Cipher, seq uint64, inner []byte) []byte {
	t.Helper()
	a := c.(*aead13)
	rec := appendHeader(nil, ApplicationData, 0x0303, len(inner)+a.aead.Overhead())
	nonce := make([]byte, len(a.iv))
	xorNonce(nonce, a.iv, seq)
	return a.aead.Seal(rec, nonce, inner, rec[:HeaderLen])
}

func TestTLS13InnerPlaintext(t *testing.T) {
	padded := append([]byte("hello"), byte(Handshake))
	padded = append(padded, make([]byte, 100)...)
	maxPadded := append(make([]byte, MaxPlaintext-1), byte(ApplicationData), 0, 0)
	tests := []struct {
		name      string
		inner     []byte
		wantType  ContentType
		wantData  []byte
		wantAlert alert.Alert // 0 for success
	}{
		{"padded", padded, Handshake, []byte("hello"), 0},
		{"content ends in zeros", []byte{'a', 0, 0, byte(ApplicationData), 0, 0}, ApplicationData, []byte{'a', 0, 0}, 0},
		{"empty application data", []byte{byte(ApplicationData), 0}, ApplicationData, []byte{}, 0},
		{"padding within 2^14+1", append(make([]byte, MaxPlaintext-1), byte(ApplicationData), 0), ApplicationData, make([]byte, MaxPlaintext-1), 0},
		{"padding beyond 2^14+1", maxPadded, 0, nil, alert.RecordOverflow},
		{"all zeros", make([]byte, 32), 0, nil, alert.UnexpectedMessage},
		{"empty", nil, 0, nil, alert.UnexpectedMessage},
		{"protected change_cipher_spec", []byte{1, byte(ChangeCipherSpec)}, 0, nil, alert.UnexpectedMessage},
		{"unknown inner type", []byte{1, 99, 0}, 0, nil, alert.UnexpectedMessage},
		{"empty handshake", []byte{byte(Handshake), 0, 0}, 0, nil, alert.UnexpectedMessage},
	}
	for _, k := range cipherKinds {
		if k.version != 0x0304 {
			continue
		}
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				c, _ := k.newFunc()
				rec := sealInner13(t, c, 0, tt.inner)
				_, opener := k.pair(t)
				typ, data, err := opener.Open(rec)
				if tt.wantAlert != 0 {
					wantAlert(t, err, tt.wantAlert)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if typ != tt.wantType || !bytes.Equal(data, tt.wantData) {
					t.Fatalf("got %v %x, want %v %x", typ, data, tt.wantType, tt.wantData)
				}
			})
		}
	}
}

func TestTLS13ChangeCipherSpecPassesThrough(t *testing.T) {
	sealer, opener := cipherKinds[6].pair(t)
	rec, err := sealer.Seal(nil, ChangeCipherSpec, 0x0303, []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{20, 3, 3, 0, 1, 1}; !bytes.Equal(rec, want) {
		t.Fatalf("sealed CCS = %x, want %x", rec, want)
	}
	typ, data, err := opener.Open(rec)
	if err != nil || typ != ChangeCipherSpec || !bytes.Equal(data, []byte{1}) {
		t.Fatalf("Open(CCS) = %v %x %v", typ, data, err)
	}
	if opener.seq != 0 || sealer.seq != 0 {
		t.Fatal("an unprotected CCS used a sequence number")
	}
	// A protected TLS 1.3 record must say application_data outside.
	hs := append(header(Handshake, 0x0303, 20), make([]byte, 20)...)
	_, _, err = opener.Open(hs)
	wantAlert(t, err, alert.UnexpectedMessage)
}

func TestOpenRejectsMalformed(t *testing.T) {
	var plain HalfConn
	_, _, err := plain.Open([]byte{22, 3, 3, 0})
	wantAlert(t, err, alert.DecodeError)
	_, _, err = plain.Open([]byte{22, 3, 3, 0, 2, 1})
	wantAlert(t, err, alert.DecodeError)
	_, _, err = plain.Open([]byte{99, 3, 3, 0, 1, 1})
	wantAlert(t, err, alert.UnexpectedMessage)
	_, _, err = plain.Open([]byte{byte(Alert), 3, 3, 0, 0})
	wantAlert(t, err, alert.UnexpectedMessage)
	if typ, data, err := plain.Open([]byte{byte(ApplicationData), 3, 3, 0, 0}); err != nil || typ != ApplicationData || len(data) != 0 {
		t.Fatalf("empty application_data: %v %x %v", typ, data, err)
	}

	// TLS 1.2: once negotiated, the record version must match.
	var hc12 HalfConn
	hc12.SetVersion(0x0303)
	_, _, err = hc12.Open([]byte{22, 3, 1, 0, 1, 1})
	wantAlert(t, err, alert.ProtocolVersion)
	// TLS 1.3 ignores legacy_record_version.
	var hc13 HalfConn
	hc13.SetVersion(0x0304)
	if _, _, err := hc13.Open([]byte{22, 3, 1, 0, 1, 1}); err != nil {
		t.Fatalf("TLS 1.3 plaintext record with version 0x0301: %v", err)
	}
	// Before negotiation any version is accepted (a ClientHello may say
	// 0x0301).
	if _, _, err := plain.Open([]byte{22, 3, 1, 0, 1, 1}); err != nil {
		t.Fatal(err)
	}
}

func TestEncrypted(t *testing.T) {
	var hc HalfConn
	if hc.Encrypted() {
		t.Fatal("zero HalfConn reports encryption")
	}
	c, _ := cipherKinds[0].newFunc()
	hc.SetCipher(c)
	if !hc.Encrypted() {
		t.Fatal("HalfConn with a cipher reports plaintext")
	}
	hc.SetCipher(nil)
	if hc.Encrypted() {
		t.Fatal("SetCipher(nil) still reports encryption")
	}
}

func TestConstructorsRejectBadKeys(t *testing.T) {
	bad := []struct {
		name string
		f    func() (Cipher, error)
	}{
		{"gcm12 key", func() (Cipher, error) { return NewAESGCM12(make([]byte, 24), make([]byte, 4)) }},
		{"gcm12 salt", func() (Cipher, error) { return NewAESGCM12(make([]byte, 16), make([]byte, 12)) }},
		{"chacha12 key", func() (Cipher, error) { return NewChaCha20Poly1305_12(make([]byte, 16), make([]byte, 12)) }},
		{"chacha12 iv", func() (Cipher, error) { return NewChaCha20Poly1305_12(make([]byte, 32), make([]byte, 8)) }},
		{"gcm13 iv", func() (Cipher, error) { return NewAESGCM13(make([]byte, 16), make([]byte, 4)) }},
		{"chacha13 key", func() (Cipher, error) { return NewChaCha20Poly1305_13(make([]byte, 31), make([]byte, 12)) }},
		{"cbc key", func() (Cipher, error) { return NewCBC12(make([]byte, 24), make([]byte, 20), false) }},
		{"cbc mac key", func() (Cipher, error) { return NewCBC12(make([]byte, 16), make([]byte, 32), false) }},
	}
	for _, b := range bad {
		if _, err := b.f(); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NewAEAD13 accepted an IV of the wrong length")
		}
	}()
	block, _ := aes.NewCipher(make([]byte, 16))
	gcm, _ := cipher.NewGCM(block)
	NewAEAD13(gcm, make([]byte, 8))
}

// FuzzOpen feeds arbitrary records to each kind of HalfConn under fixed
// keys. Nothing may panic, and whatever opens must respect the limits.
func FuzzOpen(f *testing.F) {
	kinds := append([]cipherKind{{"plaintext12", 0x0303, nil}, {"plaintext13", 0x0304, nil}}, cipherKinds...)
	for i, k := range kinds {
		sealer := new(HalfConn)
		sealer.SetVersion(k.version)
		if k.newFunc != nil {
			c, err := k.newFunc()
			if err != nil {
				f.Fatal(err)
			}
			sealer.SetCipher(c)
		}
		for _, size := range []int{0, 1, 48, 300} {
			rec, err := sealer.Seal(nil, ApplicationData, 0x0303, testBytes(size, byte(i)))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), false, rec)
			sealer.seq = 0
		}
	}
	f.Add(uint8(0), true, []byte{20, 3, 3, 0, 1, 1})
	f.Fuzz(func(t *testing.T, kind uint8, keepLength bool, rec []byte) {
		k := kinds[int(kind)%len(kinds)]
		hc := new(HalfConn)
		hc.SetVersion(k.version)
		if k.newFunc != nil {
			c, err := k.newFunc()
			if err != nil {
				t.Fatal(err)
			}
			hc.SetCipher(c)
		}
		// Most random inputs have a wrong length field; fix it unless
		// asked not to, so the fuzzer reaches the decryption code.
		if !keepLength && len(rec) >= HeaderLen && len(rec)-HeaderLen <= 0xffff {
			rec[3], rec[4] = byte((len(rec)-HeaderLen)>>8), byte(len(rec)-HeaderLen)
		}
		typ, data, err := hc.Open(rec)
		if err != nil {
			return
		}
		if !typ.known() || len(data) > MaxPlaintext {
			t.Fatalf("opened %v with %d bytes", typ, len(data))
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	for _, k := range cipherKinds {
		if k.name != "AESGCM12-128" && k.name != "AESGCM13-128" && k.name != "CBC12-128" {
			continue
		}
		b.Run(k.name+"/16KiB", func(b *testing.B) {
			sealer, opener := k.pair(b)
			payload := testBytes(16384, 0)
			buf := make([]byte, 0, HeaderLen+MaxCiphertext12)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				rec, err := sealer.Seal(buf[:0], ApplicationData, 0x0303, payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := opener.Open(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
