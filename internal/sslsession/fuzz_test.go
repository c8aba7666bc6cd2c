package sslsession

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal: no input panics, and whatever decodes re-encodes to an
// encoding that decodes to the same session and re-encodes to itself.
func FuzzUnmarshal(f *testing.F) {
	for _, der := range fixtures(f) {
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unmarshal(data)
		if err != nil {
			return
		}
		der, err := s.Marshal()
		if err != nil {
			t.Fatalf("decoded session does not encode: %v", err)
		}
		s2, err := Unmarshal(der)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		der2, err := s2.Marshal()
		if err != nil || !bytes.Equal(der, der2) {
			t.Fatalf("encoding not stable: %v", err)
		}
	})
}
