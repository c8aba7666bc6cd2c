package record

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"strconv"

	"github.com/reprise-tls/reprise/internal/alert"
)

// cbc12 is AES-CBC with HMAC-SHA1 in TLS 1.1 and later: a random explicit
// IV per record (RFC 5246, Section 6.2.3.2), and either MAC-then-encrypt
// (the RFC 5246 default) or encrypt-then-MAC (RFC 7366).
type cbc12 struct {
	block          cipher.Block
	mac            hash.Hash // HMAC-SHA1 under the MAC key
	dummy          hash.Hash // plain SHA-1, for the Lucky Thirteen dummy work
	encryptThenMAC bool
	macBuf         [sha1.Size]byte // scratch for the MAC we compute
	peerMACBuf     [sha1.Size]byte // scratch for the MAC we extract
}

const (
	cbcBlockSize = aes.BlockSize // 16
	cbcMACSize   = sha1.Size     // 20
	// sha1BlockSize is SHA-1's compression block; the Lucky Thirteen
	// countermeasure counts these.
	sha1BlockSize = 64
	// macHeaderLen is seq_num(8) + type(1) + version(2) + length(2), the
	// data that precedes the fragment in the MAC input (RFC 5246,
	// Section 6.2.3.1).
	macHeaderLen = 13
	// maxPaddingLen is the largest padding_length value (it is a uint8).
	maxPaddingLen = 255
)

// NewCBC12 returns TLS 1.2 AES-CBC + HMAC-SHA1 protection for a 16- or
// 32-byte AES key and a 20-byte MAC key (the *_WITH_AES_*_CBC_SHA suites).
// With encryptThenMAC the record format of RFC 7366 is used; otherwise the
// MAC-then-encrypt format of RFC 5246, Section 6.2.3.2, with the padding
// and MAC checked as described on (*cbc12).openMACThenEncrypt.
func NewCBC12(encKey, macKey []byte, encryptThenMAC bool) (Cipher, error) {
	if len(encKey) != 16 && len(encKey) != 32 {
		return nil, errors.New("record: AES-CBC key must be 16 or 32 bytes, got " + strconv.Itoa(len(encKey)))
	}
	if len(macKey) != cbcMACSize {
		return nil, errors.New("record: HMAC-SHA1 key must be 20 bytes, got " + strconv.Itoa(len(macKey)))
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	return &cbc12{
		block:          block,
		mac:            hmac.New(sha1.New, macKey),
		dummy:          sha1.New(),
		encryptThenMAC: encryptThenMAC,
	}, nil
}

func (c *cbc12) tls13() bool { return false }

// roundUpToBlock rounds n up to a multiple of the AES block size.
func roundUpToBlock(n int) int {
	return (n + cbcBlockSize - 1) / cbcBlockSize * cbcBlockSize
}

func (c *cbc12) fragmentLen(n int) int {
	if c.encryptThenMAC {
		// IV || ENC(content || padding || padding_length) || MAC
		return cbcBlockSize + roundUpToBlock(n+1) + cbcMACSize
	}
	// IV || ENC(content || MAC || padding || padding_length)
	return cbcBlockSize + roundUpToBlock(n+cbcMACSize+1)
}

// writeMACHeader starts c.mac over seq_num + type + version + length
// (RFC 5246, Section 6.2.3.1).
func (c *cbc12) writeMACHeader(seq uint64, header []byte, length int) {
	var buf [macHeaderLen]byte
	binary.BigEndian.PutUint64(buf[:8], seq)
	buf[8], buf[9], buf[10] = header[0], header[1], header[2]
	binary.BigEndian.PutUint16(buf[11:], uint16(length))
	c.mac.Reset()
	c.mac.Write(buf[:])
}

// appendPadding appends padding and padding_length so that the encrypted
// part, of which used bytes are already written, fills whole blocks. Every
// padding byte holds the padding length (RFC 5246, Section 6.2.3.2). We
// send the minimum.
func appendPadding(b []byte, used int) []byte {
	paddingLen := roundUpToBlock(used+1) - used - 1
	for i := 0; i <= paddingLen; i++ {
		b = append(b, byte(paddingLen))
	}
	return b
}

func (c *cbc12) seal(record []byte, seq uint64, _ ContentType, payload []byte) ([]byte, error) {
	header := record[len(record)-HeaderLen:]
	start := len(record)
	// RFC 5246, Section 6.2.3.2: the IV "SHOULD be chosen at random, and
	// MUST be unpredictable".
	var iv [cbcBlockSize]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return nil, &Error{Alert: alert.InternalError, Msg: "cannot generate a CBC IV: " + err.Error()}
	}
	record = append(record, iv[:]...)
	encStart := len(record)
	record = append(record, payload...)
	if !c.encryptThenMAC {
		c.writeMACHeader(seq, header, len(payload))
		c.mac.Write(payload)
		record = c.mac.Sum(record)
	}
	record = appendPadding(record, len(record)-encStart)
	cipher.NewCBCEncrypter(c.block, iv[:]).CryptBlocks(record[encStart:], record[encStart:])
	if c.encryptThenMAC {
		// RFC 7366, Section 3 (with erratum 4212): the MAC covers
		// IV + ENC(...), and the length in its input is that of
		// IV + ENC(...), not the record length, which includes the MAC.
		ivAndCiphertext := record[start:]
		c.writeMACHeader(seq, header, len(ivAndCiphertext))
		c.mac.Write(ivAndCiphertext)
		record = c.mac.Sum(record)
	}
	return record, nil
}

func (c *cbc12) open(record []byte, seq uint64) ([]byte, error) {
	if c.encryptThenMAC {
		return c.openEncryptThenMAC(record, seq)
	}
	return c.openMACThenEncrypt(record, seq)
}

// openEncryptThenMAC verifies the MAC over the ciphertext before decrypting
// anything (RFC 7366, Section 3), so padding is only ever examined on
// authenticated data and needs no timing care.
func (c *cbc12) openEncryptThenMAC(record []byte, seq uint64) ([]byte, error) {
	header, fragment := record[:HeaderLen], record[HeaderLen:]
	// The shortest valid fragment is IV, one block, MAC. The lengths here
	// are public (they are on the wire), so plain comparisons are fine.
	if len(fragment) < cbcBlockSize+cbcBlockSize+cbcMACSize {
		return nil, errBadRecordMAC
	}
	ivAndCiphertext := fragment[:len(fragment)-cbcMACSize]
	peerMAC := fragment[len(fragment)-cbcMACSize:]
	c.writeMACHeader(seq, header, len(ivAndCiphertext))
	c.mac.Write(ivAndCiphertext)
	if !hmac.Equal(c.mac.Sum(c.macBuf[:0]), peerMAC) {
		return nil, errBadRecordMAC
	}
	// RFC 7366, Section 3: a ciphertext that is not a whole number of
	// blocks is rejected with bad_record_mac.
	if len(ivAndCiphertext)%cbcBlockSize != 0 {
		return nil, errBadRecordMAC
	}
	iv, ciphertext := ivAndCiphertext[:cbcBlockSize], ivAndCiphertext[cbcBlockSize:]
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(ciphertext, ciphertext)
	contentLen, good := checkPadding(ciphertext, 0)
	if good != 1 {
		return nil, errBadRecordMAC
	}
	return ciphertext[:contentLen], nil
}

// checkPadding examines the TLS CBC padding at the end of decrypted, which
// must leave at least reserved bytes (the MAC) before it. It returns the
// length of what precedes the padding and 1 if the padding is well formed;
// otherwise the returned length is as if the padding were the single
// padding_length byte, and good is 0.
//
// The work done is independent of the padding's value and validity: it
// reads the last min(256, len(decrypted)) bytes, a bound that depends only
// on the public record length, and combines the results with crypto/subtle
// instead of branching. This is the check RFC 5246, Section 6.2.3.2 asks
// for ("check the padding ... in constant time").
func checkPadding(decrypted []byte, reserved int) (contentLen int, good int) {
	n := len(decrypted)
	if n == 0 {
		return 0, 0
	}
	paddingLen := int(decrypted[n-1])
	// The padding plus its length byte must fit after the reserved bytes.
	good = subtle.ConstantTimeLessOrEq(paddingLen+1+reserved, n)

	toCheck := maxPaddingLen + 1
	if toCheck > n {
		toCheck = n
	}
	for i := 1; i < toCheck; i++ {
		// Byte n-1-i is padding iff i <= paddingLen; every padding
		// byte must equal paddingLen.
		isPadding := subtle.ConstantTimeLessOrEq(i, paddingLen)
		matches := subtle.ConstantTimeByteEq(decrypted[n-1-i], byte(paddingLen))
		// good &= matches, wherever isPadding.
		good &= matches | (isPadding ^ 1)
	}
	// On failure act as if only the padding_length byte were padding, so
	// the MAC is computed over (nearly) as much data as a valid record
	// of this size would have.
	effectivePadding := subtle.ConstantTimeSelect(good, paddingLen, 0)
	return n - effectivePadding - 1, good
}

// dummyBlocks is the input for the Lucky Thirteen dummy compression calls:
// enough whole SHA-1 blocks to cover 255 bytes of padding at any alignment.
// It is only ever read.
var dummyBlocks [sha1BlockSize * (maxPaddingLen/sha1BlockSize + 2)]byte

// sha1Blocks returns how many SHA-1 compression-function calls hashing n
// bytes takes, counting the final block holding the 0x80 byte and the
// 8-byte length (FIPS 180-4, Section 5.1.1).
func sha1Blocks(n int) int {
	return (n+8)/sha1BlockSize + 1
}

// openMACThenEncrypt opens a MAC-then-encrypt CBC record with the
// Lucky Thirteen countermeasures (AlFardan and Paterson, "Lucky Thirteen:
// Breaking the TLS and DTLS Record Protocols", 2013; RFC 5246,
// Section 6.2.3.2 implementation note).
//
// The padding is not authenticated, so how long the receiver takes must
// not depend on whether the padding was valid or how long it was. What we
// do:
//
//  1. Only public lengths cause an early return: a fragment that is not IV
//     plus a whole number of blocks, or too short to hold a MAC and a
//     padding_length byte.
//  2. The padding is checked in constant time over min(256, record) bytes
//     (checkPadding). Bad padding is treated as zero-length padding.
//  3. The HMAC is computed over the content that the (possibly bogus)
//     padding implies. Its cost in SHA-1 compression calls depends on the
//     content length, so we then run the difference between that count and
//     the count for the longest possible content (all but the MAC and one
//     padding byte) through a separate SHA-1, in a single Write. The total
//     number of compression calls is then the same for every padding
//     value.
//  4. The peer's MAC sits at a secret offset. It is copied out by reading
//     every candidate offset in the window the padding can move it over
//     and keeping the right one with a mask, so memory access does not
//     depend on the offset either.
//  5. The MACs are compared with hmac.Equal, and every failure returns the
//     same errBadRecordMAC value.
//
// Limits: this equalises the count of compression calls, not their exact
// cost. The HMAC reads the content (a secret-length prefix) while the dummy
// SHA-1 reads a fixed buffer, so cache behaviour differs slightly; the
// per-call overheads of Write and Sum are not identical to the dummy's;
// the Go compiler gives no guarantee that the mask arithmetic stays
// branch-free; and the Write of up to 5 dummy blocks is a loop whose trip
// count is secret, balanced against the HMAC's own. What is removed is the
// whole-compression-call difference that Lucky Thirteen measures; the
// smaller residue is not measured by our tests. Prefer AEAD suites, or
// encrypt_then_mac, which removes the problem.
func (c *cbc12) openMACThenEncrypt(record []byte, seq uint64) ([]byte, error) {
	header, fragment := record[:HeaderLen], record[HeaderLen:]
	// The shortest valid encrypted part is MAC + padding_length rounded
	// up to whole blocks; with the IV that is 16 + 32 bytes.
	minEncrypted := roundUpToBlock(cbcMACSize + 1)
	if len(fragment) < cbcBlockSize+minEncrypted || len(fragment)%cbcBlockSize != 0 {
		return nil, errBadRecordMAC
	}
	iv, decrypted := fragment[:cbcBlockSize], fragment[cbcBlockSize:]
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(decrypted, decrypted)
	n := len(decrypted)

	withMAC, paddingGood := checkPadding(decrypted, cbcMACSize)
	contentLen := withMAC - cbcMACSize // >= 0: n >= 32 and padding <= 1 byte when bad

	// Step 3: the real MAC, then dummy compression calls to make up the
	// count for the longest content this record could carry.
	c.writeMACHeader(seq, header, contentLen)
	c.mac.Write(decrypted[:contentLen])
	localMAC := c.mac.Sum(c.macBuf[:0])
	maxContentLen := n - cbcMACSize - 1
	// HMAC's inner hash covers the 64-byte key block, the MAC header and
	// the content; the outer hash is the same size for every record.
	missing := sha1Blocks(sha1BlockSize+macHeaderLen+maxContentLen) - sha1Blocks(sha1BlockSize+macHeaderLen+contentLen)
	c.dummy.Reset()
	c.dummy.Write(dummyBlocks[:missing*sha1BlockSize])

	// Step 4: copy the peer's MAC out from its secret offset contentLen.
	// It can start anywhere from n-MAC-256 (maximum padding) to n-MAC-1.
	peerMAC := c.peerMACBuf[:]
	clear(peerMAC)
	lowest := n - cbcMACSize - (maxPaddingLen + 1)
	if lowest < 0 {
		lowest = 0
	}
	for offset := lowest; offset <= n-cbcMACSize-1; offset++ {
		selected := byte(subtle.ConstantTimeEq(int32(offset), int32(contentLen)))
		mask := -selected // 0xff when offset == contentLen, else 0
		for j := range peerMAC {
			peerMAC[j] |= decrypted[offset+j] & mask
		}
	}

	// Both checks have run in full; only now is their outcome used.
	macGood := hmac.Equal(localMAC, peerMAC)
	if !macGood || paddingGood != 1 {
		return nil, errBadRecordMAC
	}
	return decrypted[:contentLen], nil
}
