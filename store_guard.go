package reprise

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// A session store, a GetSession callback and a TicketSealer are other
// people's code, and a store is usually across a network: each may err,
// stall or panic. None of that may fail a handshake, since losing a
// resumption costs one full handshake and losing a connection costs a
// user's request: every
// call here runs with a budget of its own, Config.StoreTimeout, inside the
// handshake's context, and whatever goes wrong becomes a miss (a full
// handshake) or a ticket not issued, counted as a store error and
// explained as "store-unavailable".

// defaultStoreTimeout is StoreTimeout's default: far above a healthy
// store's round trip on a LAN, far below what a client notices.
const defaultStoreTimeout = 100 * time.Millisecond

// maxStoreCalls bounds the store and sealer calls in flight per Config. A
// call that ignores its context keeps its goroutine until it returns; once
// this many are stuck, further calls are not made at all (they count as
// store errors), so a store that never answers costs a bounded number of
// goroutines, not one per handshake.
const maxStoreCalls = 256

var errStoreBusy = errors.New("reprise: session store: too many calls in flight")

// storeTimeout is Config.StoreTimeout with its default.
func (c *Config) storeTimeout() time.Duration {
	if c.StoreTimeout > 0 {
		return c.StoreTimeout
	}
	return defaultStoreTimeout
}

// storeSlots counts a Config's store calls in flight. It lives in the
// Config's shared state, so clones share the bound.
type storeSlots struct {
	once  sync.Once
	slots chan struct{}
}

func (s *storeSlots) acquire() bool {
	s.once.Do(func() { s.slots = make(chan struct{}, maxStoreCalls) })
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *storeSlots) release() { <-s.slots }

// guardedCall runs f with the store budget and returns its result, or an
// error if f erred, panicked or ran out of time. The caller never waits
// past the budget: f runs in its own goroutine, which ends when f does
// (f's context is cancelled when the budget is spent, so a store that
// honours it returns at once).
func guardedCall[T any](ctx context.Context, cfg *Config, what string, f func(context.Context) (T, error)) (T, error) {
	var zero T
	st := cfg.shared()
	if !st.storeSlots.acquire() {
		st.counters.storeErrors.Add(1)
		return zero, errStoreBusy
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.storeTimeout())
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: the goroutine never blocks on a caller that left
	go func() {
		defer st.storeSlots.release()
		var r result
		defer func() {
			if p := recover(); p != nil {
				r = result{err: fmt.Errorf("reprise: %s panicked: %v", what, p)}
			}
			done <- r
		}()
		r.v, r.err = f(ctx)
	}()
	select {
	case r := <-done:
		if r.err != nil {
			if !errors.Is(r.err, ErrStoreEntryInvalid) { // an altered entry is not an outage
				st.counters.countStoreError(r.err)
			}
			return zero, fmt.Errorf("reprise: %s: %w", what, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		st.counters.countStoreError(ctx.Err())
		return zero, fmt.Errorf("reprise: %s: %w", what, ctx.Err())
	}
}

// guardedAsync starts f with the store budget and does not wait for it:
// caching a new session is not on the handshake's critical path. The
// budget is counted from now, detached from the handshake's cancellation
// (the handshake may well be over when the write lands), so the goroutine
// ends within the budget unless f ignores its context, and the number of
// those is bounded by maxStoreCalls.
func guardedAsync(ctx context.Context, cfg *Config, what string, f func(context.Context) error) {
	st := cfg.shared()
	if !st.storeSlots.acquire() {
		st.counters.storeErrors.Add(1)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.storeTimeout())
	go func() {
		defer st.storeSlots.release()
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				st.counters.storeErrors.Add(1)
			}
		}()
		if err := f(ctx); err != nil {
			st.counters.countStoreError(err)
		}
	}()
}

// recoverCallback runs a callback that has no context (OnNewSession,
// OnRemoveSession) and turns a panic into a counted store error.
func recoverCallback(cfg *Config, f func()) {
	defer func() {
		if p := recover(); p != nil {
			cfg.shared().counters.storeErrors.Add(1)
		}
	}()
	f()
}

// Session IDs the server issues are 24 random bytes followed by the first
// 8 bytes of SHA-256("reprise session ID" || those 24 bytes). The tag is
// public and proves nothing; it only lets the server tell an ID it may
// have issued from the random legacy_session_id that many clients send
// without holding a session (crypto/tls does on every TLS 1.2 connection,
// to detect ticket resumption, RFC 5077 Section 3.4; TLS 1.3 clients do
// for middlebox compatibility, RFC 8446 Appendix D.4). An unknown ID
// without the tag is not a session being offered, so it is neither counted
// as a miss nor explained as "unknown-session"; one with it is (the chance
// that a random ID carries it is 2^-64). The 192 random bits keep IDs
// unguessable.
const (
	sessionIDLen    = 32
	sessionIDTagLen = 8
)

const sessionIDTagLabel = "reprise session ID"

// newSessionID returns a fresh tagged session ID.
func (c *Config) newSessionID() ([]byte, error) {
	return newTaggedID(c.rand(), sessionIDTagLabel, sessionIDLen-sessionIDTagLen)
}

// isOurSessionID reports whether id has the shape of an ID this server
// (or another reprise node) issued.
func isOurSessionID(id []byte) bool {
	return hasIDTag(id, sessionIDTagLabel, sessionIDLen-sessionIDTagLen)
}

// newTaggedID returns randomLen random bytes followed by the first
// sessionIDTagLen bytes of SHA-256(label || those bytes): a session ID or
// a stateful ticket identity (server_resume13.go).
func newTaggedID(rand io.Reader, label string, randomLen int) ([]byte, error) {
	id := make([]byte, randomLen+sessionIDTagLen)
	if _, err := readFull(rand, id[:randomLen]); err != nil {
		return nil, err
	}
	tag := idTag(label, id[:randomLen])
	copy(id[randomLen:], tag[:sessionIDTagLen])
	return id, nil
}

// hasIDTag reports whether id is randomLen bytes followed by their tag
// under label (newTaggedID).
func hasIDTag(id []byte, label string, randomLen int) bool {
	if len(id) != randomLen+sessionIDTagLen {
		return false
	}
	tag := idTag(label, id[:randomLen])
	return string(tag[:sessionIDTagLen]) == string(id[randomLen:])
}

func idTag(label string, random []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write(random)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// storeRefusal explains a failed store lookup.
func storeRefusal(err error) Refusal {
	if errors.Is(err, ErrStoreEntryInvalid) {
		return RefusedStoreEntry
	}
	return RefusedStoreDown
}
