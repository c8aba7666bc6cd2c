package reprise

import (
	"context"
	"sync"
	"testing"
	"time"
)

// mapStore is a custom SessionStore that keeps whatever it is given and
// knows nothing of expiry, as a simple external store does.
type mapStore struct {
	mu      sync.Mutex
	m       map[string]*Session
	puts    chan struct{}
	deletes chan struct{}
}

func newMapStore() *mapStore {
	return &mapStore{m: map[string]*Session{}, puts: make(chan struct{}, 16), deletes: make(chan struct{}, 16)}
}

func (s *mapStore) Put(_ context.Context, id []byte, sess *Session) error {
	s.mu.Lock()
	s.m[string(id)] = sess
	s.mu.Unlock()
	s.puts <- struct{}{}
	return nil
}

func (s *mapStore) Get(_ context.Context, id []byte) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[string(id)], nil
}

func (s *mapStore) Delete(_ context.Context, id []byte) error {
	s.mu.Lock()
	delete(s.m, string(id))
	s.mu.Unlock()
	s.deletes <- struct{}{}
	return nil
}

func (s *mapStore) len() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.m) }

// TestRemoveSessionCustomStore: an expired session found in a custom
// SessionStore is deleted from it and handed to OnRemoveSession. (The
// callback once looked the session up again after deleting it, and so
// never fired with a custom store.)
func TestRemoveSessionCustomStore(t *testing.T) {
	store := newMapStore()
	clk := newClock()
	var mu sync.Mutex
	var removed []*Session
	scfg := testServerConfig(t)
	scfg.SessionStore = store
	scfg.Time = clk.Now
	scfg.OnRemoveSession = func(s *Session) { mu.Lock(); removed = append(removed, s); mu.Unlock() }
	ccfg := resumeClient(t, false) // the client's own clock: it still offers the session

	_, s1, _ := connect12(t, ccfg, scfg)
	select {
	case <-store.puts:
	case <-time.After(10 * time.Second):
		t.Fatal("the session never reached the store")
	}
	clk.Advance(scfg.sessionTimeout() + time.Minute)
	_, s2, _ := connect12(t, ccfg, scfg)
	if s2.DidResume || s2.Refused != RefusedExpired {
		t.Fatalf("expired session: resumed=%v refused=%q", s2.DidResume, s2.Refused)
	}
	select {
	case <-store.deletes:
	case <-time.After(10 * time.Second):
		t.Fatal("the expired session was never deleted from the store")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(removed) != 1 || string(removed[0].ID()) != string(s1.SessionID) {
		t.Fatalf("OnRemoveSession got %d sessions, want the expired one", len(removed))
	}
	if k := scfg.Counters().Snapshot(); k.Timeouts != 1 {
		t.Fatalf("timeouts %d", k.Timeouts)
	}
}
