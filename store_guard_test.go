package reprise

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// taggedID is a session ID of the shape the server issues (store_guard.go)
// whose random part is b repeated.
func taggedID(b byte) []byte {
	id, err := newTaggedID(bytes.NewReader(bytes.Repeat([]byte{b}, sessionIDLen)), sessionIDTagLabel, sessionIDLen-sessionIDTagLen)
	if err != nil {
		panic(err)
	}
	return id
}

// fault is how a faultyStore or faultySealer misbehaves.
type fault int

const (
	healthy     fault = iota
	failing           // returns an error at once
	hanging           // blocks until its context ends, as a store on a dead network does
	hangForever       // ignores its context and blocks until the test releases it
	panicking
)

func (f fault) String() string {
	return [...]string{"healthy", "failing", "hanging", "hang-forever", "panicking"}[f]
}

// faultyStore is a SessionStore (and SessionTaker) over a memory cache that
// can be switched to misbehave, as a store that a fleet reaches over the
// network does when that network or the store fails.
type faultyStore struct {
	mem     *MemorySessionCache
	mu      sync.Mutex
	mode    fault
	release chan struct{} // closed to let hangForever calls return
	puts    atomic.Int64  // Puts that landed
}

func newFaultyStore() *faultyStore {
	return &faultyStore{mem: NewMemorySessionCache(0), release: make(chan struct{})}
}

func (f *faultyStore) set(m fault) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

// misbehave applies the current fault; false means the call may go on.
func (f *faultyStore) misbehave(ctx context.Context) error {
	f.mu.Lock()
	mode := f.mode
	f.mu.Unlock()
	switch mode {
	case failing:
		return errors.New("store down")
	case hanging:
		<-ctx.Done()
		return ctx.Err()
	case hangForever:
		<-f.release
		return errors.New("released")
	case panicking:
		panic("store bug")
	}
	return nil
}

func (f *faultyStore) Put(ctx context.Context, id []byte, s *Session) error {
	if err := f.misbehave(ctx); err != nil {
		return err
	}
	err := f.mem.Put(ctx, id, s)
	f.puts.Add(1)
	return err
}

func (f *faultyStore) Get(ctx context.Context, id []byte) (*Session, error) {
	if err := f.misbehave(ctx); err != nil {
		return nil, err
	}
	return f.mem.Get(ctx, id)
}

func (f *faultyStore) Take(ctx context.Context, id []byte) (*Session, error) {
	if err := f.misbehave(ctx); err != nil {
		return nil, err
	}
	return f.mem.Take(ctx, id)
}

func (f *faultyStore) Delete(ctx context.Context, id []byte) error {
	if err := f.misbehave(ctx); err != nil {
		return err
	}
	return f.mem.Delete(ctx, id)
}

// faultySealer is a TicketSealer over real keys with the same faults.
type faultySealer struct {
	faultyStore
	keys *TicketKeys
}

func newFaultySealer(t *testing.T) *faultySealer {
	keys, err := NewTicketKeys(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &faultySealer{faultyStore: faultyStore{release: make(chan struct{})}, keys: keys}
}

func (f *faultySealer) SealTicket(ctx context.Context, now time.Time, rand io.Reader, p []byte) ([]byte, error) {
	if err := f.misbehave(ctx); err != nil {
		return nil, err
	}
	return f.keys.SealTicket(ctx, now, rand, p)
}

func (f *faultySealer) OpenTicket(ctx context.Context, now time.Time, t []byte) ([]byte, TicketStatus) {
	if err := f.misbehave(ctx); err != nil {
		return nil, TicketUnavailable
	}
	return f.keys.OpenTicket(ctx, now, t)
}

// waitFor polls cond until it holds, failing the test after 10 s. It
// waits for asynchronous work (a store write off the critical path) to
// land; it asserts nothing about how long that takes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

// noGoroutinesLeft waits until the goroutines are back to at most base.
func noGoroutinesLeft(t *testing.T, base int) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the test:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
	}
}

var allFaults = []fault{failing, hanging, hangForever, panicking}

// TestStoreFaultsNeverFailHandshakes: a session store that errs, hangs,
// ignores its context or panics costs full handshakes, each explained as
// "store-unavailable" and counted as a store error rather than a miss, and
// leaves no goroutine behind once it lets go; when it heals, sessions
// resume again. TLS 1.2 session IDs and TLS 1.3 single-use tickets.
func TestStoreFaultsNeverFailHandshakes(t *testing.T) {
	for _, mode := range allFaults {
		for _, tls13 := range []bool{false, true} {
			name := mode.String() + map[bool]string{false: "/tls12-session-id", true: "/tls13-single-use"}[tls13]
			t.Run(name, func(t *testing.T) {
				base := runtime.NumGoroutine()
				store := newFaultyStore()
				scfg := testServerConfig(t)
				scfg.SessionStore = store
				scfg.StoreTimeout = 20 * time.Millisecond
				scfg.SingleUseTickets = true
				ccfg := resumeClient(t, false)
				if tls13 {
					ccfg = resumeClient13(t)
				}
				// While the store is healthy a generous budget, so that a
				// loaded machine does not turn a slow answer into a miss.
				relaxed := scfg.Clone()
				relaxed.StoreTimeout = 10 * time.Second
				cfg := relaxed
				connect := func() (ConnectionState, ConnectionState) {
					client, server, cerr, serr := handshakePair(t, ccfg, cfg)
					if cerr != nil || serr != nil {
						t.Fatalf("%v store failed a handshake: client %v; server %v", mode, cerr, serr)
					}
					exchange(t, client, server)
					return client.ConnectionState(), server.ConnectionState()
				}
				// connectAndStore connects and waits for the new
				// session's Put, which is off the critical path.
				connectAndStore := func() {
					before := store.puts.Load()
					connect()
					want := before + 1 // a TLS 1.2 session
					if tls13 {
						want = before + 2 // both tickets' sessions
					}
					waitFor(t, "the new sessions in the store", func() bool { return store.puts.Load() >= want })
				}

				// Healthy: a session is stored (off the critical path) and
				// resumes.
				connectAndStore()
				if c, _ := connect(); !c.DidResume {
					t.Fatalf("healthy store: no resumption: %+v", c)
				}

				// Broken: every handshake completes, in full.
				store.set(mode)
				cfg = scfg
				for i := range 5 {
					_, s := connect()
					if s.DidResume || (i == 0 && s.Refused != RefusedStoreDown) {
						t.Fatalf("broken store, connection %d: %+v", i, s)
					}
				}
				k := scfg.Counters().Snapshot()
				if k.StoreErrors+k.StoreTimeouts == 0 || k.Refusals[string(RefusedStoreDown)] == 0 || k.Misses != 0 {
					t.Fatalf("counters %+v", k)
				}

				// Healed: resumption is back.
				close(store.release)
				waitFor(t, "the broken store's calls to end", func() bool { return len(scfg.shared().storeSlots.slots) == 0 })
				store.set(healthy)
				cfg = relaxed
				connectAndStore()
				if _, s := connect(); !s.DidResume {
					t.Fatalf("healed store: no resumption: %+v", s)
				}
				noGoroutinesLeft(t, base)
			})
		}
	}
}

// TestSealerFaultsNeverFailHandshakes: a TicketSealer that errs, hangs or
// panics costs its tickets, never the handshake, and never a
// HelloRetryRequest (whose cookie has its own key), in both versions and
// with tickets on or off.
func TestSealerFaultsNeverFailHandshakes(t *testing.T) {
	for _, mode := range allFaults {
		for _, tls13 := range []bool{false, true} {
			name := mode.String() + map[bool]string{false: "/tls12-ticket", true: "/tls13-retry"}[tls13]
			t.Run(name, func(t *testing.T) {
				base := runtime.NumGoroutine()
				sealer := newFaultySealer(t)
				scfg := testServerConfig(t)
				scfg.TicketSealer = sealer
				scfg.StoreTimeout = 20 * time.Millisecond
				scfg.SessionCacheMode = SessionCacheOff
				ccfg := resumeClient(t, true)
				if tls13 {
					ccfg = resumeClient13(t)
					scfg.CurvePreferences = []CurveID{CurveP384} // a HelloRetryRequest every time
				}
				connect := func(cfg *Config) (ConnectionState, ConnectionState) {
					client, server, cerr, serr := handshakePair(t, ccfg, cfg)
					if cerr != nil || serr != nil {
						t.Fatalf("%v sealer failed a handshake: client %v; server %v", mode, cerr, serr)
					}
					exchange(t, client, server)
					return client.ConnectionState(), server.ConnectionState()
				}
				relaxed := scfg.Clone() // a generous budget while the sealer is healthy
				relaxed.StoreTimeout = 10 * time.Second
				connect(relaxed)
				if c, _ := connect(relaxed); !c.DidResume {
					t.Fatalf("healthy sealer: no resumption: %+v", c)
				}
				sealer.set(mode)
				for i := range 3 {
					_, s := connect(scfg)
					if s.DidResume || (i == 0 && s.Refused != RefusedStoreDown) || s.TicketsIssued != 0 {
						t.Fatalf("broken sealer, connection %d: %+v", i, s)
					}
				}
				off := scfg.Clone()
				off.SessionTicketsDisabled = true
				connect(off)
				if k := scfg.Counters().Snapshot(); k.StoreErrors+k.StoreTimeouts == 0 {
					t.Fatalf("counters %+v", k)
				}
				close(sealer.release)
				noGoroutinesLeft(t, base)
			})
		}
	}
}

// TestCallbackPanicsNeverFailHandshakes: GetSession, OnNewSession and
// OnRemoveSession that panic cost nothing but their own work.
func TestCallbackPanicsNeverFailHandshakes(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SessionCacheMode = SessionCacheServer | SessionCacheNoInternalLookup
	scfg.GetSession = func([]byte) *Session { panic("GetSession bug") }
	scfg.OnNewSession = func(*Session) { panic("OnNewSession bug") }
	ccfg := resumeClient(t, false)
	connect12(t, ccfg, scfg)
	_, s, _ := connect12(t, ccfg, scfg)
	if s.DidResume || s.Refused != RefusedStoreDown {
		t.Fatalf("%+v", s)
	}
	if k := scfg.Counters().Snapshot(); k.StoreErrors != 3 || k.Misses != 0 {
		t.Fatalf("counters %+v", k)
	}
}

// TestHungStoreGoroutinesBounded: a store that ignores its context holds
// at most maxStoreCalls goroutines however many handshakes come; the
// rest find the store busy and go on without it.
func TestHungStoreGoroutinesBounded(t *testing.T) {
	base := runtime.NumGoroutine()
	store := newFaultyStore()
	store.set(hangForever)
	scfg := testServerConfig(t)
	scfg.SessionStore = store
	scfg.StoreTimeout = time.Millisecond
	ccfg := resumeClient(t, false)
	connect12(t, ccfg, testServerConfig(t)) // a session the store does not have
	for range maxStoreCalls/2 + 10 {        // each makes a Get and a Put
		connect12(t, ccfg, scfg)
	}
	if n := runtime.NumGoroutine() - base; n > maxStoreCalls+5 {
		t.Fatalf("%d goroutines for a hung store", n)
	}
	close(store.release)
	noGoroutinesLeft(t, base)
}

// TestRandomSessionIDIsNotAMiss: crypto/tls-style clients send a random
// session ID on every TLS 1.2 hello; an unknown ID of that kind is not a
// miss, while one of the server's own IDs that the cache lost is.
func TestRandomSessionIDIsNotAMiss(t *testing.T) {
	scfg := testServerConfig(t)
	for range 3 {
		a, b := memPipe()
		client := tls.Client(a, &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), MaxVersion: tls.VersionTLS12})
		server := Server(b, scfg)
		errc := make(chan error, 1)
		go func() { errc <- server.Handshake() }()
		if err := client.Handshake(); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if st := server.ConnectionState(); st.Refused != RefusedNone {
			t.Fatalf("crypto/tls's random session ID explained as %q", st.Refused)
		}
	}
	if k := scfg.Counters().Snapshot(); k.Misses != 0 || len(k.Refusals) != 0 {
		t.Fatalf("crypto/tls's random session IDs counted: %+v", k)
	}
	// A session of ours that this server does not have (another server
	// issued it, or the cache lost it) is a miss.
	ccfg := resumeClient(t, false)
	connect12(t, ccfg, testServerConfig(t))
	_, s, _ := connect12(t, ccfg, scfg)
	if s.Refused != RefusedUnknownSession || scfg.Counters().Snapshot().Misses != 1 {
		t.Fatalf("%+v, counters %+v", s, scfg.Counters().Snapshot())
	}
}
