package record

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"testing"
)

var (
	cbcTestEncKey = testBytes(16, 0x40)
	cbcTestMACKey = testBytes(20, 0x60)
)

// cbcMAC computes the TLS HMAC-SHA1 over seq, type, version, length and
// data (RFC 5246, Section 6.2.3.1), independently of cbc12.
func cbcMAC(seq uint64, typ ContentType, length int, data []byte) []byte {
	m := hmac.New(sha1.New, cbcTestMACKey)
	var h [13]byte
	binary.BigEndian.PutUint64(h[:], seq)
	h[8], h[9], h[10] = byte(typ), 3, 3
	binary.BigEndian.PutUint16(h[11:], uint16(length))
	m.Write(h[:])
	m.Write(data)
	return m.Sum(nil)
}

// cbcEncrypt returns IV || AES-CBC(plaintext) under the test key.
func cbcEncrypt(t *testing.T, plaintext []byte) []byte {
	t.Helper()
	if len(plaintext)%16 != 0 {
		t.Fatalf("test bug: %d bytes is not whole blocks", len(plaintext))
	}
	block, _ := aes.NewCipher(cbcTestEncKey)
	out := append(testBytes(16, 0x99), plaintext...)
	cipher.NewCBCEncrypter(block, out[:16]).CryptBlocks(out[16:], out[16:])
	return out
}

func withHeader(typ ContentType, fragment []byte) []byte {
	return append(header(typ, 0x0303, len(fragment)), fragment...)
}

func padding(n int) []byte { return bytes.Repeat([]byte{byte(n)}, n+1) }

// macThenEncrypt builds a MAC-then-encrypt record by hand from its parts,
// any of which a test may spoil.
func macThenEncrypt(t *testing.T, content, mac, pad []byte) []byte {
	t.Helper()
	plaintext := append(append(append([]byte(nil), content...), mac...), pad...)
	return withHeader(ApplicationData, cbcEncrypt(t, plaintext))
}

func newCBCOpener(t *testing.T, etm bool) *HalfConn {
	t.Helper()
	c, err := NewCBC12(cbcTestEncKey, cbcTestMACKey, etm)
	if err != nil {
		t.Fatal(err)
	}
	hc := new(HalfConn)
	hc.SetVersion(0x0303)
	hc.SetCipher(c)
	return hc
}

// Every way a MAC-then-encrypt record can be wrong gives the very same
// error value, so nothing distinguishes a padding failure from a MAC
// failure (RFC 5246, Section 6.2.3.2; Lucky Thirteen).
func TestCBCMalformedRecordsAllLookTheSame(t *testing.T) {
	content := testBytes(27, 1)
	goodMAC := cbcMAC(0, ApplicationData, len(content), content)
	// 27 + 20 = 47 bytes: one byte of padding_length completes 3 blocks,
	// 17 more complete 4.
	badPad := padding(16)
	badPad[3] ^= 1
	wrongMAC := bytes.Clone(goodMAC)
	wrongMAC[19] ^= 1

	valid := []struct {
		name string
		rec  []byte
	}{
		{"minimal padding", macThenEncrypt(t, content, goodMAC, padding(0))},
		{"longer padding", macThenEncrypt(t, content, goodMAC, padding(16))},
		{"maximal padding", macThenEncrypt(t, content, goodMAC, padding(240))},
		{"empty content", macThenEncrypt(t, nil, cbcMAC(0, ApplicationData, 0, nil), padding(11))},
	}
	for _, v := range valid {
		_, got, err := newCBCOpener(t, false).Open(v.rec)
		if err != nil || !bytes.Equal(got, content[:len(got)]) {
			t.Fatalf("%s: valid record rejected: %v", v.name, err)
		}
	}

	bad := []struct {
		name string
		rec  []byte
	}{
		{"bad padding byte", macThenEncrypt(t, content, goodMAC, badPad)},
		{"padding bytes differ from the length", macThenEncrypt(t, content, goodMAC, append(bytes.Repeat([]byte{7}, 16), 16))},
		{"padding length beyond the record", macThenEncrypt(t, content, goodMAC, append(bytes.Repeat([]byte{0xff}, 16), 0xff))},
		{"padding length eats the MAC", macThenEncrypt(t, content, goodMAC, append(bytes.Repeat([]byte{40}, 16), 40))},
		{"bad MAC", macThenEncrypt(t, content, wrongMAC, padding(0))},
		{"bad MAC and bad padding", macThenEncrypt(t, content, wrongMAC, badPad)},
		{"MAC for another sequence number", macThenEncrypt(t, content, cbcMAC(1, ApplicationData, len(content), content), padding(0))},
		{"MAC for another type", macThenEncrypt(t, content, cbcMAC(0, Handshake, len(content), content), padding(0))},
		{"MAC over the padding too", macThenEncrypt(t, content, cbcMAC(0, ApplicationData, len(content)+1, append(bytes.Clone(content), 0)), padding(0))},
		{"too short: IV only", withHeader(ApplicationData, testBytes(16, 0))},
		{"too short: IV and one block", withHeader(ApplicationData, testBytes(32, 0))},
		{"too short: empty", withHeader(ApplicationData, nil)},
		{"not whole blocks", withHeader(ApplicationData, testBytes(16+48+5, 0))},
		{"IV truncated", withHeader(ApplicationData, testBytes(8, 0))},
	}
	for _, b := range bad {
		_, _, err := newCBCOpener(t, false).Open(b.rec)
		if err != errBadRecordMAC {
			t.Errorf("%s: got %v, want the bad_record_mac error value", b.name, err)
		}
	}
}

// Every padding length, with the MAC at every offset the padding can move
// it to, opens: this exercises the constant-time MAC extraction.
func TestCBCEveryPaddingLength(t *testing.T) {
	for _, contentLen := range []int{0, 1, 300} {
		content := testBytes(contentLen, 3)
		mac := cbcMAC(0, ApplicationData, contentLen, content)
		for pad := 0; pad <= 255; pad++ {
			if (contentLen+20+pad+1)%16 != 0 {
				continue
			}
			rec := macThenEncrypt(t, content, mac, padding(pad))
			_, got, err := newCBCOpener(t, false).Open(rec)
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("content %d, padding %d: %v", contentLen, pad, err)
			}
		}
	}
}

func TestCheckPadding(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		reserved int
		wantLen  int
		wantGood int
	}{
		{"only length byte", []byte{9, 9, 0}, 0, 2, 1},
		{"three bytes", []byte{9, 2, 2, 2}, 0, 1, 1},
		{"whole buffer", []byte{2, 2, 2}, 0, 0, 1},
		{"one byte wrong", []byte{9, 2, 3, 2}, 0, 3, 0},
		{"longer than buffer", []byte{3, 3, 3}, 0, 2, 0},
		{"into reserved", []byte{1, 1, 1}, 2, 2, 0},
		{"fits reserved", []byte{1, 1, 1}, 1, 1, 1},
		{"empty", nil, 0, 0, 0},
		{"256 bytes of 255", bytes.Repeat([]byte{255}, 256), 0, 0, 1},
		{"255 bytes of 255", bytes.Repeat([]byte{255}, 255), 0, 254, 0},
		{"first of 256 wrong", append([]byte{254}, bytes.Repeat([]byte{255}, 255)...), 0, 255, 0},
	}
	for _, tt := range tests {
		gotLen, gotGood := checkPadding(tt.data, tt.reserved)
		if gotLen != tt.wantLen || gotGood != tt.wantGood {
			t.Errorf("%s: got (%d, %d), want (%d, %d)", tt.name, gotLen, gotGood, tt.wantLen, tt.wantGood)
		}
	}
}

// The dummy SHA-1 work makes the number of compression calls the same for
// every padding length a record of a given size can have.
func TestLuckyThirteenBlockCountIsConstant(t *testing.T) {
	for n := 32; n <= 16384+256; n += 16 {
		maxContent := n - cbcMACSize - 1
		want := sha1Blocks(sha1BlockSize + macHeaderLen + maxContent)
		for pad := 0; pad <= 255 && pad <= maxContent; pad++ {
			content := maxContent - pad
			missing := want - sha1Blocks(sha1BlockSize+macHeaderLen+content)
			if missing < 0 || missing*sha1BlockSize > len(dummyBlocks) {
				t.Fatalf("n=%d pad=%d: %d dummy blocks do not fit the buffer", n, pad, missing)
			}
		}
	}
}

func TestEncryptThenMAC(t *testing.T) {
	content := testBytes(33, 5)
	// IV || ENC(content || padding) || MAC(seq, type, version,
	// len(IV+ENC), IV+ENC): RFC 7366, Section 3 and erratum 4212.
	build := func(pad []byte, mac func(ivAndCiphertext []byte) []byte) []byte {
		ivAndCiphertext := cbcEncrypt(t, append(bytes.Clone(content), pad...))
		return withHeader(ApplicationData, append(ivAndCiphertext, mac(ivAndCiphertext)...))
	}
	goodMAC := func(ic []byte) []byte { return cbcMAC(0, ApplicationData, len(ic), ic) }

	// A record built independently of cbc12 opens, so the MAC input and
	// the length in it follow the RFC and the erratum.
	_, got, err := newCBCOpener(t, true).Open(build(padding(14), goodMAC))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("hand-built encrypt-then-MAC record: %v", err)
	}

	// And cbc12 seals exactly that format.
	c, _ := NewCBC12(cbcTestEncKey, cbcTestMACKey, true)
	sealed, err := c.seal(header(ApplicationData, 0x0303, c.fragmentLen(len(content))), 0, ApplicationData, content)
	if err != nil {
		t.Fatal(err)
	}
	ic := sealed[HeaderLen : len(sealed)-cbcMACSize]
	if !bytes.Equal(sealed[len(sealed)-cbcMACSize:], goodMAC(ic)) {
		t.Fatal("sealed encrypt-then-MAC record carries an unexpected MAC")
	}

	badPad := padding(14)
	badPad[0] ^= 1
	bad := []struct {
		name string
		rec  []byte
	}{
		{"bad padding under a good MAC", build(badPad, goodMAC)},
		{"MAC over the record length", build(padding(14), func(ic []byte) []byte { return cbcMAC(0, ApplicationData, len(ic)+cbcMACSize, ic) })},
		{"MAC without the IV", build(padding(14), func(ic []byte) []byte { return cbcMAC(0, ApplicationData, len(ic)-16, ic[16:]) })},
		{"too short", withHeader(ApplicationData, testBytes(16+16+cbcMACSize-1, 0))},
	}
	for _, b := range bad {
		if _, _, err := newCBCOpener(t, true).Open(b.rec); err != errBadRecordMAC {
			t.Errorf("%s: got %v, want bad_record_mac", b.name, err)
		}
	}
}

func TestCBCRandomIV(t *testing.T) {
	sealer, _ := cipherKinds[3].pair(t)
	a, _ := sealer.Seal(nil, ApplicationData, 0x0303, []byte("same"))
	sealer.seq = 0
	b, _ := sealer.Seal(nil, ApplicationData, 0x0303, []byte("same"))
	if bytes.Equal(a[HeaderLen:HeaderLen+16], b[HeaderLen:HeaderLen+16]) {
		t.Fatal("two records share an explicit IV")
	}
}
