package bolt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/storetest"
)

var testKey = bytes.Repeat([]byte{0x33}, 32)

func open(t *testing.T, path string, o Options) *Store {
	t.Helper()
	o.Key = testKey
	s, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreContract(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "sessions.db"), Options{})
	defer s.Close()
	storetest.CheckStore(t, s)
}

// TestSurvivesRestartSealedAtRest: a session put before Close comes back
// after Open; the file holds no master secret; an altered entry is
// refused.
func TestSurvivesRestartSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	sess := storetest.RealSession(t)
	s := open(t, path, Options{})
	if err := s.Put(ctx, sess.ID(), sess); err != nil {
		t.Fatal(err)
	}
	s.Close()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file, storetest.Secret(t, sess)) {
		t.Fatal("the master secret is in the file in clear")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", st.Mode())
	}

	s = open(t, path, Options{})
	got, err := s.Get(ctx, sess.ID())
	if err != nil || got == nil || !bytes.Equal(storetest.Secret(t, got), storetest.Secret(t, sess)) {
		t.Fatalf("after a restart: %v, %v", got, err)
	}
	// Flip one byte of the sealed entry.
	s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(sessionsBucket)
		v := bytes.Clone(b.Get(sess.ID()))
		v[len(v)-5] ^= 1
		return b.Put(sess.ID(), v)
	})
	if got, err := s.Get(ctx, sess.ID()); got != nil || !errors.Is(err, reprise.ErrStoreEntryInvalid) {
		t.Fatalf("altered entry: %v, %v", got, err)
	}
	s.Close()
}

// TestBoundedAndSwept: the store never holds more than MaxEntries, makes
// room by the sessions closest to expiry, and sweeps expired ones.
func TestBoundedAndSwept(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := open(t, filepath.Join(t.TempDir(), "sessions.db"), Options{MaxEntries: 10, Now: clock})
	defer s.Close()
	sess := storetest.RealSession(t)
	var ids [][]byte
	for i := range 25 {
		id := bytes.Repeat([]byte{byte(i + 1)}, 32)
		ids = append(ids, id)
		if err := s.Put(ctx, id, sess); err != nil {
			t.Fatal(err)
		}
		if s.Len() > 10 {
			t.Fatalf("%d entries after %d puts", s.Len(), i+1)
		}
	}
	if got, _ := s.Get(ctx, ids[24]); got == nil {
		t.Fatal("the newest session was evicted")
	}
	mu.Lock()
	now = now.Add(sess.Lifetime() + time.Second)
	mu.Unlock()
	if got, _ := s.Get(ctx, ids[24]); got != nil {
		t.Fatal("an expired session was returned")
	}
	if n := s.Sweep(); n != 10 || s.Len() != 0 {
		t.Fatalf("swept %d, %d left", n, s.Len())
	}
}
