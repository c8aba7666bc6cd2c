package wire

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// TestBuilderMatchesCryptobyte writes the same nested vectors with Builder
// and with cryptobyte.Builder, which the encoders used before, and expects
// the same bytes.
func TestBuilderMatchesCryptobyte(t *testing.T) {
	payloads := [][]byte{nil, {1}, bytes.Repeat([]byte{0xAB}, 255), bytes.Repeat([]byte{7}, 300), bytes.Repeat([]byte{9}, 70000)}
	for _, p := range payloads {
		ours := NewBuilder(nil)
		var ref cryptobyte.Builder
		ours.AddUint8(1)
		ref.AddUint8(1)
		ours.AddUint24LengthPrefixed(func(b *Builder) {
			b.AddUint16(0x0303)
			b.AddUint32(0xDEADBEEF)
			b.AddUint64(1 << 40)
			b.AddUint24(0x010203)
			b.AddUint8LengthPrefixed(func(b *Builder) { b.AddBytes(p[:min(len(p), 255)]) })
			b.AddUint16LengthPrefixed(func(b *Builder) {
				b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes(p[:min(len(p), 1000)]) })
			})
			b.AddUint24LengthPrefixed(func(b *Builder) { b.AddBytes(p) })
		})
		ref.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddUint32(0xDEADBEEF)
			b.AddUint64(1 << 40)
			b.AddUint24(0x010203)
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p[:min(len(p), 255)]) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p[:min(len(p), 1000)]) })
			})
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p) })
		})
		got, err := ours.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.BytesOrPanic(); !bytes.Equal(got, want) {
			t.Fatalf("payload of %d bytes: Builder wrote\n%x\ncryptobyte wrote\n%x", len(p), got, want)
		}
	}
}

// TestBuilderVectorTooLong: a vector that does not fit its length prefix is
// an error from Bytes, and nothing written after it matters.
func TestBuilderVectorTooLong(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(b *Builder, f func(*Builder))
		max  int
	}{
		{"uint8", (*Builder).AddUint8LengthPrefixed, 255},
		{"uint16", (*Builder).AddUint16LengthPrefixed, 65535},
	} {
		fits := NewBuilder(nil)
		tc.add(fits, func(b *Builder) { b.AddBytes(make([]byte, tc.max)) })
		if _, err := fits.Bytes(); err != nil {
			t.Errorf("%s: %d bytes: %v", tc.name, tc.max, err)
		}
		over := NewBuilder(nil)
		tc.add(over, func(b *Builder) { b.AddBytes(make([]byte, tc.max+1)) })
		over.AddUint8(1)
		if out, err := over.Bytes(); err == nil || out != nil || !strings.Contains(err.Error(), "length prefix") {
			t.Errorf("%s: %d bytes: got %d bytes, error %v; want the length error", tc.name, tc.max+1, len(out), err)
		}
	}
}

// TestBuilderFixed: a fixed Builder never grows its array, so no copy of a
// secret is left behind in an old one; it fails instead.
func TestBuilderFixed(t *testing.T) {
	buf := make([]byte, 0, 8)
	b := NewFixedBuilder(buf)
	b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes([]byte("secret")) })
	out, err := b.Bytes()
	if err != nil || len(out) != 8 || &out[0] != &buf[:1][0] {
		t.Fatalf("8 bytes into 8: %x, %v (same array: %v)", out, err, err == nil && &out[0] == &buf[:1][0])
	}
	b = NewFixedBuilder(make([]byte, 0, 8))
	b.AddUint16LengthPrefixed(func(b *Builder) { b.AddBytes([]byte("secrets")) })
	if _, err := b.Bytes(); err == nil {
		t.Fatal("9 bytes into a fixed Builder of 8: no error")
	}
}

// TestBuilderSetError: the first error wins and Bytes returns it.
func TestBuilderSetError(t *testing.T) {
	b := NewBuilder(nil)
	first := msgMarshalErr("first")
	b.AddUint16LengthPrefixed(func(b *Builder) {
		b.SetError(first)
		b.SetError(msgMarshalErr("second"))
		b.AddBytes([]byte("ignored"))
	})
	if _, err := b.Bytes(); err != first {
		t.Fatalf("got %v, want %v", err, first)
	}
}

// TestBuilderOptionalVector: an optional vector with no contents leaves
// nothing behind, not even its length; with contents it is an ordinary
// vector.
func TestBuilderOptionalVector(t *testing.T) {
	b := NewBuilder(nil)
	b.AddUint8(1)
	b.AddOptionalUint16LengthPrefixed(func(*Builder) {})
	if out, err := b.Bytes(); err != nil || !bytes.Equal(out, []byte{1}) {
		t.Fatalf("empty: %x, %v; want 01", out, err)
	}
	b.AddOptionalUint16LengthPrefixed(func(b *Builder) { b.AddUint8(7) })
	if out, err := b.Bytes(); err != nil || !bytes.Equal(out, []byte{1, 0, 1, 7}) {
		t.Fatalf("one byte: %x, %v; want 01000107", out, err)
	}
}
