package sealed

import (
	"bytes"
	"errors"
	"testing"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
)

func TestSealOpen(t *testing.T) {
	x, err := New(bytes.Repeat([]byte{1}, KeyLen))
	if err != nil {
		t.Fatal(err)
	}
	s := storetest.RealSession(t)
	entry, err := x.Seal(s.ID(), s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(entry, storetest.Secret(t, s)) {
		t.Fatal("secret in clear")
	}
	got, err := x.Open(s.ID(), entry)
	if err != nil || !bytes.Equal(storetest.Secret(t, got), storetest.Secret(t, s)) {
		t.Fatalf("Open: %v", err)
	}
	for i := range entry {
		bad := bytes.Clone(entry)
		bad[i] ^= 0x40
		if _, err := x.Open(s.ID(), bad); !errors.Is(err, reprise.ErrStoreEntryInvalid) {
			t.Fatalf("byte %d altered: %v", i, err)
		}
	}
	if _, err := New(make([]byte, 16)); !errors.Is(err, ErrKeySize) {
		t.Fatalf("16-byte key: %v", err)
	}
}

// FuzzOpen: entries come from a store another machine can write; Open
// never panics and opens nothing it did not seal.
func FuzzOpen(f *testing.F) {
	x, err := New(bytes.Repeat([]byte{2}, KeyLen))
	if err != nil {
		f.Fatal(err)
	}
	s := storetest.RealSession(f)
	entry, err := x.Seal(s.ID(), s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.ID(), entry)
	f.Add([]byte{1}, []byte{1, 2, 3})
	f.Add([]byte{}, make([]byte, Overhead))
	f.Fuzz(func(t *testing.T, id, data []byte) {
		// Only the seed entries were sealed, each under its session's
		// own ID (which may be another process's seed: the fuzzer's
		// workers make their own).
		got, err := x.Open(id, data)
		if err == nil && (got == nil || !bytes.Equal(got.ID(), id)) {
			t.Fatalf("opened an entry it did not seal")
		}
	})
}
