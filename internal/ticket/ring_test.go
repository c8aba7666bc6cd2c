package ticket

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"
)

// testRand is a deterministic source so that failures reproduce.
func testRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

func mustKey(t testing.TB, seed byte, bits int) Key {
	t.Helper()
	k, err := NewKey(testRand(seed), bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t testing.TB, keys ...Key) *Ring {
	t.Helper()
	r, err := NewRing(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSeal(t testing.TB, r *Ring, plaintext []byte) []byte {
	t.Helper()
	tk, err := r.Seal(testRand(99), plaintext)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestSealOpenRoundTrip(t *testing.T) {
	for _, bits := range []int{128, 256} {
		r := mustRing(t, mustKey(t, 1, bits))
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 200, 1000, MaxPlaintext} {
			pt := bytes.Repeat([]byte{0xa5}, n)
			tk := mustSeal(t, r, pt)
			wantLen := nameLen + ivLen + (n/16+1)*16 + macLen
			if len(tk) != wantLen {
				t.Errorf("%d bits, %d bytes: ticket is %d bytes, want %d", bits, n, len(tk), wantLen)
			}
			if len(tk) > maxTicketLen {
				t.Errorf("%d bits, %d bytes: ticket of %d bytes exceeds 2^16-1", bits, n, len(tk))
			}
			got, st := r.Open(tk)
			if st != Opened || !bytes.Equal(got, pt) {
				t.Errorf("%d bits, %d bytes: Open = %v, plaintext equal %v", bits, n, st, bytes.Equal(got, pt))
			}
		}
	}
}

func TestSealTooLarge(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 128))
	if _, err := r.Seal(nil, make([]byte, MaxPlaintext+1)); !errors.Is(err, ErrPlaintextTooLarge) {
		t.Fatalf("Seal(MaxPlaintext+1) error = %v, want ErrPlaintextTooLarge", err)
	}
}

func TestSealRandFailure(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 128))
	if _, err := r.Seal(failingReader{}, []byte("x")); err == nil {
		t.Fatal("Seal with a failing random source succeeded")
	}
}

func TestSealFreshIV(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 128))
	a, _ := r.Seal(nil, []byte("same"))
	b, _ := r.Seal(nil, []byte("same"))
	if bytes.Equal(a[16:32], b[16:32]) {
		t.Fatal("two tickets share an IV")
	}
}

// TestTicketLayout checks the bytes against an independent assembly of the
// format: name | IV | AES-CBC(PKCS#7) | HMAC-SHA256 over all of it.
func TestTicketLayout(t *testing.T) {
	for _, bits := range []int{128, 256} {
		k := mustKey(t, 2, bits)
		r := mustRing(t, k)
		pt := []byte("a session state of thirty-three b") // 33 bytes: 15 bytes of padding
		tk := mustSeal(t, r, pt)

		if !bytes.Equal(tk[:16], k.Name[:]) {
			t.Fatalf("ticket does not start with the key name")
		}
		iv := tk[16:32]
		padded := append(append([]byte(nil), pt...), bytes.Repeat([]byte{15}, 15)...)
		block, _ := aes.NewCipher(k.AESKey)
		ct := make([]byte, len(padded))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
		if !bytes.Equal(tk[32:len(tk)-32], ct) {
			t.Fatalf("%d bits: ciphertext differs from AES-CBC of the padded state", bits)
		}
		mac := hmac.New(sha256.New, k.HMACKey)
		mac.Write(tk[:len(tk)-32])
		if !bytes.Equal(tk[len(tk)-32:], mac.Sum(nil)) {
			t.Fatalf("%d bits: MAC is not HMAC-SHA256 over name|IV|ciphertext", bits)
		}
	}
}

func TestStaleAndUnknownKeys(t *testing.T) {
	oldKey, newKey := mustKey(t, 1, 128), mustKey(t, 2, 256)
	oldTicket := mustSeal(t, mustRing(t, oldKey), []byte("old"))

	rotated := mustRing(t, newKey, oldKey)
	if got, st := rotated.Open(oldTicket); st != OpenedStale || string(got) != "old" {
		t.Errorf("old ticket in [new, old] ring: %v %q, want OpenedStale \"old\"", st, got)
	}
	newTicket := mustSeal(t, rotated, []byte("new"))
	if !bytes.Equal(newTicket[:16], newKey.Name[:]) {
		t.Errorf("ring sealed with a key other than the first")
	}
	if _, st := rotated.Open(newTicket); st != Opened {
		t.Errorf("new ticket: %v, want Opened", st)
	}
	if got, st := mustRing(t, newKey).Open(oldTicket); st != UnknownKey || got != nil {
		t.Errorf("old ticket after its key left the ring: %v, want UnknownKey", st)
	}
}

// TestTamperEveryByte flips bits at every position: the result must never
// open, and must be UnknownKey exactly when the name changed.
func TestTamperEveryByte(t *testing.T) {
	for _, bits := range []int{128, 256} {
		r := mustRing(t, mustKey(t, 1, bits), mustKey(t, 2, bits))
		tk := mustSeal(t, r, bytes.Repeat([]byte("x"), 200))
		for i := range tk {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(tk)
				bad[i] ^= mask
				got, st := r.Open(bad)
				want := Invalid
				if i < nameLen {
					want = UnknownKey
				}
				if st != want || got != nil {
					t.Fatalf("%d bits, byte %d ^ %#x: %v (plaintext %v), want %v", bits, i, mask, st, got != nil, want)
				}
			}
		}
	}
}

func TestTruncateEveryLength(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 256))
	tk := mustSeal(t, r, bytes.Repeat([]byte("y"), 200))
	for n := 0; n < len(tk); n++ {
		if got, st := r.Open(tk[:n]); st == Opened || st == OpenedStale || got != nil {
			t.Fatalf("ticket truncated to %d bytes opened: %v", n, st)
		}
		// Dropping bytes from the front (the name) must not open either.
		if got, st := r.Open(tk[len(tk)-n:]); st == Opened || st == OpenedStale || got != nil {
			t.Fatalf("ticket's last %d bytes opened: %v", n, st)
		}
	}
}

func TestAppendBytes(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 128))
	tk := mustSeal(t, r, bytes.Repeat([]byte("z"), 200))
	for n := 1; n <= 64; n++ {
		long := append(bytes.Clone(tk), bytes.Repeat([]byte{byte(n)}, n)...)
		if got, st := r.Open(long); st != Invalid || got != nil {
			t.Fatalf("ticket with %d bytes appended: %v, want Invalid", n, st)
		}
	}
	if _, st := r.Open(make([]byte, maxTicketLen+1)); st != Invalid {
		t.Fatalf("oversized ticket: %v, want Invalid", st)
	}
}

func TestOpenLeavesInputAlone(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 128))
	tk := mustSeal(t, r, []byte("state"))
	before := bytes.Clone(tk)
	r.Open(tk)
	if !bytes.Equal(tk, before) {
		t.Fatal("Open modified its input")
	}
}

// sealRaw builds a ticket with a valid MAC around arbitrary (already padded)
// bytes, to reach the padding check past the MAC.
func sealRaw(k Key, padded []byte) []byte {
	out := append([]byte(nil), k.Name[:]...)
	iv := make([]byte, 16)
	out = append(out, iv...)
	block, _ := aes.NewCipher(k.AESKey)
	ct := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	out = append(out, ct...)
	mac := hmac.New(sha256.New, k.HMACKey)
	mac.Write(out)
	return mac.Sum(out)
}

func TestBadPaddingWithValidMAC(t *testing.T) {
	k := mustKey(t, 1, 128)
	r := mustRing(t, k)
	good := append(bytes.Repeat([]byte{'s'}, 12), 4, 4, 4, 4)
	if got, st := r.Open(sealRaw(k, good)); st != Opened || string(got) != "ssssssssssss" {
		t.Fatalf("hand-built ticket: %v %q", st, got)
	}
	for name, padded := range map[string][]byte{
		"zero pad byte":   append(bytes.Repeat([]byte{'s'}, 15), 0),
		"pad of 17":       append(bytes.Repeat([]byte{'s'}, 15), 17),
		"pad of 255":      append(bytes.Repeat([]byte{'s'}, 15), 255),
		"inconsistent":    append(bytes.Repeat([]byte{'s'}, 12), 3, 4, 4, 4),
		"pad beyond data": append(bytes.Repeat([]byte{'s'}, 15), 16),
	} {
		if got, st := r.Open(sealRaw(k, padded)); st != Invalid || got != nil {
			t.Errorf("%s: %v, want Invalid", name, st)
		}
	}
	// A full block of padding (16 × 16) is valid and opens to empty state.
	if got, st := r.Open(sealRaw(k, bytes.Repeat([]byte{16}, 16))); st != Opened || len(got) != 0 {
		t.Errorf("all-padding block: %v len %d, want Opened and empty", st, len(got))
	}
}

func TestNewRingErrors(t *testing.T) {
	k := mustKey(t, 1, 128)
	if _, err := NewRing(nil); !errors.Is(err, ErrNoKeys) {
		t.Errorf("NewRing(nil) = %v, want ErrNoKeys", err)
	}
	for name, bad := range map[string]Key{
		"short AES":     {AESKey: make([]byte, 15), HMACKey: make([]byte, 16)},
		"24-byte AES":   {AESKey: make([]byte, 24), HMACKey: make([]byte, 24)},
		"mixed lengths": {AESKey: make([]byte, 16), HMACKey: make([]byte, 32)},
		"empty":         {},
	} {
		if _, err := NewRing([]Key{bad}); !errors.Is(err, ErrKeySize) {
			t.Errorf("%s: %v, want ErrKeySize", name, err)
		}
	}
	dup := mustKey(t, 2, 256)
	dup.Name = k.Name
	if _, err := NewRing([]Key{k, dup}); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate names: %v, want ErrDuplicateName", err)
	}
}

func TestRingCopiesKeys(t *testing.T) {
	k := mustKey(t, 1, 128)
	r := mustRing(t, k)
	tk := mustSeal(t, r, []byte("state"))
	clear(k.AESKey)
	clear(k.HMACKey)
	if _, st := r.Open(tk); st != Opened {
		t.Fatal("changing the caller's key bytes changed the ring")
	}
	got := r.Keys()
	clear(got[0].HMACKey)
	if _, st := r.Open(tk); st != Opened {
		t.Fatal("changing Keys()' result changed the ring")
	}
}

func TestSetKeys(t *testing.T) {
	a, b := mustKey(t, 1, 128), mustKey(t, 2, 128)
	r := mustRing(t, a)
	ta := mustSeal(t, r, []byte("a"))
	if err := r.SetKeys([]Key{b, a}); err != nil {
		t.Fatal(err)
	}
	if _, st := r.Open(ta); st != OpenedStale {
		t.Errorf("after SetKeys([b, a]): %v, want OpenedStale", st)
	}
	if err := r.SetKeys(nil); err == nil {
		t.Error("SetKeys(nil) succeeded")
	}
	if _, st := r.Open(ta); st != OpenedStale {
		t.Errorf("a failed SetKeys changed the ring: %v", st)
	}
	if ks := r.Keys(); len(ks) != 2 || ks[0].Name != b.Name || ks[1].Name != a.Name {
		t.Errorf("Keys() order wrong")
	}
}

func TestStatusString(t *testing.T) {
	for st, want := range map[Status]string{
		Opened: "opened", OpenedStale: "opened-stale",
		UnknownKey: "ticket-key-unknown", Invalid: "ticket-invalid",
	} {
		if st.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(st), st.String(), want)
		}
	}
}

func TestNewKey(t *testing.T) {
	for bits, size := range map[int]int{128: 16, 256: 32} {
		k := mustKey(t, 3, bits)
		if len(k.AESKey) != size || len(k.HMACKey) != size || k.Bits() != bits {
			t.Errorf("NewKey(%d): AES %d HMAC %d bytes, Bits %d", bits, len(k.AESKey), len(k.HMACKey), k.Bits())
		}
		if bytes.Equal(k.AESKey, k.HMACKey) {
			t.Errorf("NewKey(%d): AES and HMAC keys equal", bits)
		}
	}
	if _, err := NewKey(nil, 192); err == nil {
		t.Error("NewKey(192) succeeded")
	}
	if _, err := NewKey(failingReader{}, 128); err == nil {
		t.Error("NewKey with failing rand succeeded")
	}
	if k, err := NewKey(nil, 128); err != nil || k.Bits() != 128 {
		t.Errorf("NewKey(nil rand): %v", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// switchReader serves random bytes until fail is set.
type switchReader struct {
	mu   sync.Mutex
	fail bool
	r    io.Reader
}

func (s *switchReader) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return 0, errors.New("no entropy")
	}
	return s.r.Read(p)
}

func TestRotation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rotate, keep = time.Hour, 2 * time.Hour
	r, err := NewRotatingRing(testRand(7), 256, rotate, keep, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ks := r.Keys(); len(ks) != 1 || ks[0].Bits() != 256 {
		t.Fatalf("new rotating ring: %d keys", len(ks))
	}
	first := r.Keys()[0].Name

	r.Rotate(t0.Add(rotate - time.Nanosecond))
	if r.Keys()[0].Name != first {
		t.Fatal("rotated before the period was up")
	}
	t1 := mustSeal(t, r, []byte("t1")) // sealed by key 0 just before it retires

	r.Rotate(t0.Add(rotate)) // key 1 takes over; key 0 retired at 1h, kept until 3h
	if ks := r.Keys(); len(ks) != 2 || ks[0].Name == first || ks[1].Name != first {
		t.Fatalf("after the first rotation: %d keys, want new key then the old one", len(ks))
	}
	if _, st := r.Open(t1); st != OpenedStale {
		t.Fatalf("ticket of the retired key: %v, want OpenedStale", st)
	}
	t2 := mustSeal(t, r, []byte("t2"))

	r.Rotate(t0.Add(2 * rotate)) // key 2; keys 1 and 0 still kept
	if n := len(r.Keys()); n != 3 {
		t.Fatalf("after the second rotation: %d keys, want 3", n)
	}
	r.Rotate(t0.Add(3*time.Hour - time.Nanosecond))
	if _, st := r.Open(t1); st != OpenedStale {
		t.Fatalf("just before key 0 expires: %v, want OpenedStale", st)
	}

	r.Rotate(t0.Add(3 * time.Hour)) // key 3; key 0 (retired 1h) expires at 3h
	if _, st := r.Open(t1); st != UnknownKey {
		t.Fatalf("after key 0 expired: %v, want UnknownKey", st)
	}
	if _, st := r.Open(t2); st != OpenedStale {
		t.Fatalf("ticket of key 1 (retired 2h, kept to 4h): %v, want OpenedStale", st)
	}
	if n := len(r.Keys()); n != 3 {
		t.Fatalf("steady state: %d keys, want 3 (current + keep/rotate retired)", n)
	}

	// Idle for ten hours: one new key, every retired key expired.
	r.Rotate(t0.Add(13 * time.Hour))
	if ks := r.Keys(); len(ks) != 2 {
		t.Fatalf("after idling: %d keys, want 2 (new current + the one it just replaced)", len(ks))
	}
	if _, st := r.Open(t2); st != UnknownKey {
		t.Fatalf("ticket from before the idle period: %v, want UnknownKey", st)
	}

	// A clock that steps back changes nothing.
	before := r.Keys()
	r.Rotate(t0)
	if after := r.Keys(); len(after) != len(before) || after[0].Name != before[0].Name {
		t.Fatal("a clock stepping back rotated the ring")
	}
}

func TestRotatingRingErrors(t *testing.T) {
	now := time.Unix(0, 0)
	for _, c := range []struct {
		bits         int
		rotate, keep time.Duration
	}{{128, 0, time.Hour}, {128, time.Hour, 0}, {128, -1, time.Hour}, {100, time.Hour, time.Hour}} {
		if _, err := NewRotatingRing(nil, c.bits, c.rotate, c.keep, now); err == nil {
			t.Errorf("NewRotatingRing(%d bits, %v, %v) succeeded", c.bits, c.rotate, c.keep)
		}
	}
	if _, err := NewRotatingRing(failingReader{}, 128, time.Hour, time.Hour, now); err == nil {
		t.Error("NewRotatingRing with failing rand succeeded")
	}
}

func TestRotateRandFailureKeepsCurrentKey(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	src := &switchReader{r: testRand(8)}
	r, err := NewRotatingRing(src, 128, time.Hour, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	first := r.Keys()[0].Name
	src.mu.Lock()
	src.fail = true
	src.mu.Unlock()
	r.Rotate(t0.Add(2 * time.Hour))
	if ks := r.Keys(); len(ks) != 1 || ks[0].Name != first {
		t.Fatal("a failed rotation lost the current key")
	}
	src.mu.Lock()
	src.fail = false
	src.mu.Unlock()
	r.Rotate(t0.Add(2*time.Hour + time.Second))
	if r.Keys()[0].Name == first {
		t.Fatal("rotation did not retry once randomness came back")
	}
}

func TestRotateFixedRingIsNoop(t *testing.T) {
	r := mustRing(t, mustKey(t, 1, 128))
	r.Rotate(time.Now().Add(1000 * time.Hour))
	if len(r.Keys()) != 1 {
		t.Fatal("Rotate changed a fixed ring")
	}
}

func TestSetKeysStopsRotation(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	r, err := NewRotatingRing(testRand(9), 128, time.Hour, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	fixed := mustKey(t, 4, 128)
	if err := r.SetKeys([]Key{fixed}); err != nil {
		t.Fatal(err)
	}
	r.Rotate(t0.Add(10 * time.Hour))
	if ks := r.Keys(); len(ks) != 1 || ks[0].Name != fixed.Name {
		t.Fatal("a ring given keys by SetKeys kept rotating")
	}
}

// TestConcurrentUse is meant for -race: sealing and opening while a
// rotating ring rotates, and while a fixed ring's keys are replaced. The
// two writers are kept on separate rings: SetKeys replaces the whole key
// list, so a read-modify-write racing with Rotate could legitimately drop
// the key Rotate just added.
func TestConcurrentUse(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	rotating, err := NewRotatingRing(nil, 128, time.Minute, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := NewRing([]Key{mustKey(t, 1, 128)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	use := func(r *Ring, g int, rotate bool) {
		defer wg.Done()
		for i := range 200 {
			if rotate {
				r.Rotate(t0.Add(time.Duration(g*200+i) * time.Second))
			}
			tk, err := r.Seal(nil, []byte("state"))
			if err != nil {
				t.Error(err)
				return
			}
			if _, st := r.Open(tk); st != Opened && st != OpenedStale {
				t.Errorf("fresh ticket: %v", st)
				return
			}
		}
	}
	for g := range 2 {
		wg.Add(2)
		go use(rotating, g, true)
		go use(fixed, g, false)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			// The only writer of fixed, and it keeps every old key, so no
			// ticket sealed meanwhile can become unknown.
			if err := fixed.SetKeys(append([]Key{mustKey(t, byte(100+i), 256)}, fixed.Keys()...)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
}

func BenchmarkSeal(b *testing.B) {
	for _, bits := range []int{128, 256} {
		b.Run(map[int]string{128: "AES128", 256: "AES256"}[bits], func(b *testing.B) {
			r := mustRing(b, mustKey(b, 1, bits))
			pt := make([]byte, 200)
			b.ReportAllocs()
			b.SetBytes(int64(len(pt)))
			for b.Loop() {
				if _, err := r.Seal(nil, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, bits := range []int{128, 256} {
		b.Run(map[int]string{128: "AES128", 256: "AES256"}[bits], func(b *testing.B) {
			r := mustRing(b, mustKey(b, 1, bits))
			tk := mustSeal(b, r, make([]byte, 200))
			b.ReportAllocs()
			b.SetBytes(200)
			for b.Loop() {
				if _, st := r.Open(tk); st != Opened {
					b.Fatal(st)
				}
			}
		})
	}
}
