package reprise

import (
	"context"
	"errors"
	"testing"
	"time"
)

// brokenStore fails every call, with err.
type brokenStore struct{ err error }

func (s brokenStore) Put(context.Context, []byte, *Session) error    { return s.err }
func (s brokenStore) Get(context.Context, []byte) (*Session, error)  { return nil, s.err }
func (s brokenStore) Delete(context.Context, []byte) error           { return s.err }
func (s brokenStore) Take(context.Context, []byte) (*Session, error) { return nil, s.err }

// TestStoreFailuresCounted: a SessionStore that fails costs full
// handshakes, never a connection, and each failure is counted as an error
// or, past its deadline, a timeout.
func TestStoreFailuresCounted(t *testing.T) {
	for _, tc := range []struct {
		err                     error
		wantErrors, wantTimeout int64
	}{
		{errors.New("store down"), 3, 0},
		{context.DeadlineExceeded, 0, 3},
	} {
		scfg := testServerConfig(t)
		scfg.MaxVersion = VersionTLS12
		scfg.SessionTicketsDisabled = true
		scfg.SessionStore = brokenStore{tc.err}
		ccfg := testClientConfig(t)
		ccfg.MaxVersion = VersionTLS12 // no TLS 1.3 compatibility session ID to look up
		ccfg.ClientSessionCache = NewLRUClientSessionCache(2)
		// Full handshake: Put fails. Second: the client offers the ID, Get
		// fails, a full handshake, and Put fails again.
		for range 2 {
			client, _, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			if client.ConnectionState().DidResume {
				t.Fatal("resumed through a broken store")
			}
		}
		// New sessions reach an external store off the handshake's
		// critical path: wait for the two Puts to have been counted.
		s := scfg.Counters().Snapshot()
		for deadline := time.Now().Add(5 * time.Second); s.StoreErrors+s.StoreTimeouts < tc.wantErrors+tc.wantTimeout && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			s = scfg.Counters().Snapshot()
		}
		if s.StoreErrors != tc.wantErrors || s.StoreTimeouts != tc.wantTimeout {
			t.Errorf("%v: store errors %d, timeouts %d; want %d, %d", tc.err, s.StoreErrors, s.StoreTimeouts, tc.wantErrors, tc.wantTimeout)
		}
	}
}
