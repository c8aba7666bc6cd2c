// Package bolt is a reprise.SessionStore in a local bbolt file, so that a
// server's sessions survive its restart, and clients reconnecting after
// a deploy still resume. It lives in its
// own package so that the reprise core pulls in no database.
//
// Entries are sealed at rest exactly as the Redis store's are
// (AES-256-GCM under a 32-byte key, such as reprise.FleetStoreKey of the
// fleet secret, bound to the session ID): a copy of the file holds no
// master secret, and an altered entry is refused
// (reprise.ErrStoreEntryInvalid). Expired entries are swept every
// SweepInterval, and the file holds at most MaxEntries sessions: when it
// is full, the sessions closest to expiry make room.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/stores/internal/sealed"
)

// Defaults of Options.
const (
	DefaultMaxEntries    = 100_000
	DefaultSweepInterval = time.Minute
)

var (
	sessionsBucket = []byte("sessions") // id -> expiry (8) | sealed entry
	expiryBucket   = []byte("expiry")   // expiry (8) | id -> empty, in expiry order
)

// Options configures a Store.
type Options struct {
	// Key seals the entries: 32 bytes, such as reprise.FleetStoreKey.
	Key []byte
	// MaxEntries bounds the sessions kept; zero means DefaultMaxEntries.
	MaxEntries int
	// SweepInterval is how often expired entries are removed; zero means
	// DefaultSweepInterval.
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is a reprise.SessionStore and reprise.SessionTaker in a bbolt file.
type Store struct {
	db     *bbolt.DB
	sealer *sealed.Sealer
	max    int
	now    func() time.Time

	mu    sync.Mutex // guards count against concurrent writers
	count int

	stop chan struct{}
	done chan struct{}
}

var (
	_ reprise.SessionStore = (*Store)(nil)
	_ reprise.SessionTaker = (*Store)(nil)
)

// Open opens (or creates, mode 0600) the store file at path. A file that
// another process has open is an error after a second, not a wait.
func Open(path string, o Options) (*Store, error) {
	x, err := sealed.New(o.Key)
	if err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("bolt store %s: %w", path, err)
	}
	s := &Store{db: db, sealer: x, max: o.MaxEntries, now: o.Now, stop: make(chan struct{}), done: make(chan struct{})}
	if s.max <= 0 {
		s.max = DefaultMaxEntries
	}
	if s.now == nil {
		s.now = time.Now
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(sessionsBucket)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(expiryBucket); err != nil {
			return err
		}
		s.count = b.Stats().KeyN
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt store %s: %w", path, err)
	}
	s.Sweep()
	every := o.SweepInterval
	if every <= 0 {
		every = DefaultSweepInterval
	}
	go s.sweeper(every)
	return s, nil
}

// Close stops the sweeper and closes the file.
func (s *Store) Close() error {
	close(s.stop)
	<-s.done
	return s.db.Close()
}

func (s *Store) sweeper(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Len returns the number of entries, expired ones not yet swept included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func expiryKey(exp int64, id []byte) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(exp)), id...)
}

// Put stores sess under id until it expires.
func (s *Store) Put(_ context.Context, id []byte, sess *reprise.Session) error {
	now := s.now()
	if sealed.TTL(sess, now) <= 0 {
		return nil
	}
	entry, err := s.sealer.Seal(id, sess)
	if err != nil {
		return err
	}
	exp := sess.Created().Add(sess.Lifetime()).UnixNano()
	value := append(binary.BigEndian.AppendUint64(nil, uint64(exp)), entry...)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *bbolt.Tx) error {
		b, e := tx.Bucket(sessionsBucket), tx.Bucket(expiryBucket)
		if old := b.Get(id); old != nil {
			if err := e.Delete(expiryKey(int64(binary.BigEndian.Uint64(old[:8])), id)); err != nil {
				return err
			}
			s.count--
		}
		if s.count >= s.max {
			// Full: sweep what has expired, then make room by the
			// sessions that would expire first.
			n, err := s.sweepTx(tx, now.UnixNano(), s.count-s.max+1)
			if err != nil {
				return err
			}
			s.count -= n
		}
		if err := b.Put(id, value); err != nil {
			return err
		}
		if err := e.Put(expiryKey(exp, id), nil); err != nil {
			return err
		}
		s.count++
		return nil
	})
}

// Get returns the session stored under id, nil if there is none or it
// has expired.
func (s *Store) Get(_ context.Context, id []byte) (*reprise.Session, error) {
	var value []byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		value = bytes.Clone(tx.Bucket(sessionsBucket).Get(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.open(id, value)
}

// Take returns and deletes the session stored under id, in one
// transaction.
func (s *Store) Take(_ context.Context, id []byte) (*reprise.Session, error) {
	var value []byte
	s.mu.Lock()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		value, err = s.deleteTx(tx, id)
		return err
	})
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.open(id, value)
}

// Delete removes id.
func (s *Store) Delete(_ context.Context, id []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Update(func(tx *bbolt.Tx) error {
		_, err := s.deleteTx(tx, id)
		return err
	})
}

// deleteTx deletes id and returns a copy of its value; s.mu is held.
func (s *Store) deleteTx(tx *bbolt.Tx, id []byte) ([]byte, error) {
	b := tx.Bucket(sessionsBucket)
	value := bytes.Clone(b.Get(id))
	if value == nil {
		return nil, nil
	}
	if len(value) >= 8 {
		if err := tx.Bucket(expiryBucket).Delete(expiryKey(int64(binary.BigEndian.Uint64(value[:8])), id)); err != nil {
			return nil, err
		}
	}
	if err := b.Delete(id); err != nil {
		return nil, err
	}
	s.count--
	return value, nil
}

func (s *Store) open(id, value []byte) (*reprise.Session, error) {
	if value == nil {
		return nil, nil
	}
	if len(value) < 8 {
		return nil, reprise.ErrStoreEntryInvalid
	}
	if exp := int64(binary.BigEndian.Uint64(value[:8])); s.now().UnixNano() >= exp {
		return nil, nil // expired, not yet swept
	}
	return s.sealer.Open(id, value[8:])
}

// Sweep removes every expired entry and returns how many.
func (s *Store) Sweep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		n, err = s.sweepTx(tx, s.now().UnixNano(), 0)
		return err
	})
	if err != nil {
		return 0
	}
	s.count -= n
	return n
}

// sweepTx deletes entries in expiry order: all that expired before now,
// and then more until at least evict are gone. It returns how many.
func (s *Store) sweepTx(tx *bbolt.Tx, now int64, evict int) (int, error) {
	b, e := tx.Bucket(sessionsBucket), tx.Bucket(expiryBucket)
	var doomed [][]byte
	c := e.Cursor()
	for k, _ := c.First(); len(k) >= 8; k, _ = c.Next() {
		if int64(binary.BigEndian.Uint64(k[:8])) > now && len(doomed) >= evict {
			break
		}
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := e.Delete(k); err != nil {
			return 0, err
		}
		if err := b.Delete(k[8:]); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}
