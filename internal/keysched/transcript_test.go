package keysched

import (
	"bytes"
	"crypto"
	"testing"
)

func rfc8448S3Messages(t testing.TB) [][]byte {
	return [][]byte{
		unhex(t, rfc8448S3ClientHello),
		unhex(t, rfc8448S3ServerHello),
		unhex(t, rfc8448S3EncryptedExtensions),
		unhex(t, rfc8448S3Certificate),
		unhex(t, rfc8448S3CertificateVerify),
		unhex(t, rfc8448S3ServerFinished),
	}
}

func hashOf(h crypto.Hash, parts ...[]byte) []byte {
	d := h.New()
	for _, p := range parts {
		d.Write(p)
	}
	return d.Sum(nil)
}

// TestTranscriptReplay checks that messages written before SetHash give the
// same hash as messages written after, at every split point.
func TestTranscriptReplay(t *testing.T) {
	msgs := rfc8448S3Messages(t)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		want := hashOf(h, msgs...)
		for split := 0; split <= len(msgs); split++ {
			tr := NewTranscript()
			if tr.Sum() != nil || tr.SumWith([]byte{1}) != nil {
				t.Fatal("Sum before SetHash is not nil")
			}
			for _, m := range msgs[:split] {
				tr.Write(m)
			}
			if split > 0 && !bytes.Equal(tr.Buffer(), bytes.Join(msgs[:split], nil)) {
				t.Errorf("%v split %d: Buffer does not hold the written bytes", h, split)
			}
			tr.SetHash(h)
			tr.SetHash(h) // second call with the same hash is a no-op
			if tr.Buffer() != nil {
				t.Errorf("%v split %d: Buffer not nil after SetHash", h, split)
			}
			for _, m := range msgs[split:] {
				tr.Write(m)
			}
			if got := tr.Sum(); !bytes.Equal(got, want) {
				t.Errorf("%v split %d: Sum = %x, want %x", h, split, got, want)
			}
			if tr.Hash() != h {
				t.Errorf("Hash() = %v, want %v", tr.Hash(), h)
			}
		}
	}
}

// TestTranscriptSetHashFirstWins checks a second, different hash is ignored
// rather than silently rehashing or panicking.
func TestTranscriptSetHashFirstWins(t *testing.T) {
	tr := NewTranscript()
	tr.Write([]byte("hello"))
	tr.SetHash(crypto.SHA256)
	tr.SetHash(crypto.SHA384)
	tr.SetHash(crypto.MD5)
	if tr.Hash() != crypto.SHA256 || !bytes.Equal(tr.Sum(), hashOf(crypto.SHA256, []byte("hello"))) {
		t.Error("second SetHash changed the transcript")
	}
	unset := NewTranscript()
	unset.SetHash(crypto.MD5)
	if unset.Hash() != 0 || unset.Sum() != nil {
		t.Error("unsupported hash was accepted")
	}
}

func TestTranscriptSumWithIsNonDestructive(t *testing.T) {
	tr := NewTranscript()
	tr.SetHash(crypto.SHA256)
	tr.Write([]byte("one"))
	before := tr.Sum()
	if got, want := tr.SumWith([]byte("two")), hashOf(crypto.SHA256, []byte("one"), []byte("two")); !bytes.Equal(got, want) {
		t.Errorf("SumWith = %x, want %x", got, want)
	}
	if !bytes.Equal(tr.Sum(), before) {
		t.Error("SumWith changed the transcript")
	}
	if !bytes.Equal(tr.Sum(), tr.Sum()) {
		t.Error("Sum is not repeatable")
	}
	tr.Write([]byte("three"))
	if got, want := tr.Sum(), hashOf(crypto.SHA256, []byte("one"), []byte("three")); !bytes.Equal(got, want) {
		t.Errorf("after SumWith, Sum = %x, want %x", got, want)
	}
}

// TestTranscriptReplaceWithMessageHash checks the RFC 8446 Section 4.4.1
// construction after a HelloRetryRequest, for both hashes, whether
// ClientHello1 was buffered or hashed directly.
func TestTranscriptReplaceWithMessageHash(t *testing.T) {
	ch1 := unhex(t, rfc8448S3ClientHello)
	hrr := []byte{2, 0, 0, 4, 3, 3, 0xcf, 0x21}
	ch2 := []byte{1, 0, 0, 2, 9, 9}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		digest := hashOf(h, ch1)
		messageHash := append([]byte{254, 0, 0, byte(h.Size())}, digest...)
		want := hashOf(h, messageHash, hrr, ch2)
		for _, buffered := range []bool{true, false} {
			tr := NewTranscript()
			if !buffered {
				tr.SetHash(h)
			}
			tr.Write(ch1)
			tr.SetHash(h)
			tr.ReplaceWithMessageHash()
			if got := tr.Sum(); !bytes.Equal(got, hashOf(h, messageHash)) {
				t.Errorf("%v buffered=%v: after replace Sum = %x", h, buffered, got)
			}
			tr.Write(hrr)
			tr.Write(ch2)
			if got := tr.Sum(); !bytes.Equal(got, want) {
				t.Errorf("%v buffered=%v: Sum = %x, want %x", h, buffered, got, want)
			}
		}
	}
	// Before SetHash there is nothing to replace with; it must not panic.
	tr := NewTranscript()
	tr.Write(ch1)
	tr.ReplaceWithMessageHash()
	if !bytes.Equal(tr.Buffer(), ch1) {
		t.Error("ReplaceWithMessageHash before SetHash changed the buffer")
	}
}

func TestTranscriptCloneIsIndependent(t *testing.T) {
	// Cloned while buffering.
	a := NewTranscript()
	a.Write([]byte("one"))
	b := a.Clone()
	a.Write([]byte("a"))
	b.Write([]byte("b"))
	a.SetHash(crypto.SHA256)
	b.SetHash(crypto.SHA384)
	if !bytes.Equal(a.Sum(), hashOf(crypto.SHA256, []byte("onea"))) || !bytes.Equal(b.Sum(), hashOf(crypto.SHA384, []byte("oneb"))) {
		t.Error("clone made while buffering is not independent")
	}

	// Cloned while hashing.
	c := a.Clone()
	c.Write([]byte("c"))
	a.Write([]byte("x"))
	if !bytes.Equal(a.Sum(), hashOf(crypto.SHA256, []byte("oneax"))) || !bytes.Equal(c.Sum(), hashOf(crypto.SHA256, []byte("oneac"))) {
		t.Error("clone made while hashing is not independent")
	}
	if c.Hash() != crypto.SHA256 {
		t.Error("clone lost its hash")
	}
	c.ReplaceWithMessageHash()
	if !bytes.Equal(a.Sum(), hashOf(crypto.SHA256, []byte("oneax"))) {
		t.Error("ReplaceWithMessageHash on a clone changed the original")
	}
}

// FuzzTranscript splits arbitrary input into messages and checks that the
// transcript always equals direct hashing, whatever the SetHash point, and
// that Clone and SumWith agree with it.
func FuzzTranscript(f *testing.F) {
	f.Add(unhex(f, rfc8448S3ClientHello+rfc8448S3ServerHello+rfc8448S3EncryptedExtensions), uint8(1), uint8(3), false)
	f.Add(unhex(f, rfc8448S4ClientHello), uint8(0), uint8(7), true)
	f.Add([]byte{}, uint8(0), uint8(0), false)
	f.Fuzz(func(t *testing.T, data []byte, splitAt, chunk uint8, sha384 bool) {
		h := crypto.SHA256
		if sha384 {
			h = crypto.SHA384
		}
		step := int(chunk) + 1
		split := int(splitAt) * step
		tr := NewTranscript()
		for i := 0; i < len(data); i += step {
			if i >= split {
				tr.SetHash(h)
			}
			tr.Write(data[i:min(i+step, len(data))])
		}
		tr.SetHash(h)
		want := hashOf(h, data)
		if !bytes.Equal(tr.Sum(), want) {
			t.Fatalf("Sum = %x, want %x", tr.Sum(), want)
		}
		if !bytes.Equal(tr.Clone().Sum(), want) {
			t.Fatal("Clone differs")
		}
		if !bytes.Equal(tr.SumWith(data), hashOf(h, data, data)) || !bytes.Equal(tr.Sum(), want) {
			t.Fatal("SumWith wrong or destructive")
		}
	})
}
