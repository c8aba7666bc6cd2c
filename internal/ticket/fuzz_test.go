package ticket

import (
	"bytes"
	"testing"
)

// fuzzRing is fixed so that seeds sealed with it stay valid across runs.
func fuzzRing(t testing.TB) *Ring {
	return mustRing(t, mustKey(t, 1, 128), mustKey(t, 2, 256))
}

// FuzzOpen feeds arbitrary tickets to Open. It must never panic, and nothing
// but a ticket we sealed may open: the fuzzer cannot forge HMAC-SHA256, so
// an opened input must be byte-for-byte one of the seeds.
func FuzzOpen(f *testing.F) {
	r := fuzzRing(f)
	stale := mustRing(f, mustKey(f, 2, 256)) // seals with the ring's second key
	var sealed [][]byte
	for _, pt := range [][]byte{nil, []byte("x"), make([]byte, 16), make([]byte, 200)} {
		sealed = append(sealed, mustSeal(f, r, pt), mustSeal(f, stale, pt))
	}
	for _, tk := range sealed {
		f.Add(tk)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 80))
	f.Fuzz(func(t *testing.T, ticket []byte) {
		in := bytes.Clone(ticket)
		pt, st := r.Open(ticket)
		if !bytes.Equal(in, ticket) {
			t.Fatal("Open modified its input")
		}
		switch st {
		case Opened, OpenedStale:
			for _, s := range sealed {
				if bytes.Equal(s, ticket) {
					return
				}
			}
			t.Fatalf("a ticket we never sealed opened (%v, %d bytes of plaintext)", st, len(pt))
		case UnknownKey, Invalid:
			if pt != nil {
				t.Fatalf("%v with a plaintext", st)
			}
		default:
			t.Fatalf("unknown status %v", st)
		}
	})
}

// FuzzParseKeyFile: no panics, and whatever parses re-marshals in its own
// format to a file that parses to the same keys.
func FuzzParseKeyFile(f *testing.F) {
	k128 := []Key{mustKey(f, 1, 128), mustKey(f, 2, 128), mustKey(f, 3, 128)}
	k256 := []Key{mustKey(f, 4, 256), mustKey(f, 5, 256), mustKey(f, 6, 256)}
	for _, keys := range [][]Key{k128, k256} {
		for _, fm := range []Format{FormatNginx, FormatHAProxy} {
			data, err := MarshalKeyFile(keys, fm)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, uint8(FormatAuto))
			f.Add(data, uint8(fm))
		}
		one, _ := MarshalKeyFile(keys[:1], FormatNginx)
		f.Add(one, uint8(FormatAuto))
	}
	f.Add(make([]byte, 240), uint8(FormatNginx128))
	f.Add([]byte("# comment\n"), uint8(FormatAuto))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		fm := Format(format % 6)
		keys, err := ParseKeyFile(data, fm)
		if err != nil {
			if keys != nil {
				t.Fatal("keys returned with an error")
			}
			return
		}
		if _, err := NewRing(keys); err != nil {
			t.Fatalf("parsed keys do not make a ring: %v", err)
		}
		out := FormatNginx128
		if keys[0].Bits() == 256 {
			out = FormatNginx256
		}
		if fm == FormatHAProxy || (fm == FormatAuto && classify(data) == base64Lines) {
			out = FormatHAProxy
		}
		again, err := MarshalKeyFile(keys, out)
		if err != nil {
			t.Fatalf("re-marshal as %v: %v", out, err)
		}
		back, err := ParseKeyFile(again, out)
		if err != nil || !sameKeys(back, keys) {
			t.Fatalf("round trip through %v: %v", out, err)
		}
	})
}
