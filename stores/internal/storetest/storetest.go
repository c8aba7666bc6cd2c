// Package storetest holds what the store packages' tests share: reprise
// servers on loopback ports, clients, and checks that every SessionStore
// must pass. It is imported by tests only.
package storetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/peertest"
)

// ServerConfig is a server Config with the test certificate.
func ServerConfig(t testing.TB) *reprise.Config {
	t.Helper()
	pc := peertest.Certs(t, peertest.ECDSAP256)
	cert, err := reprise.X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	// These tests prove resumption through a real engine, not the store
	// budget: a loaded CI machine (the race detector, an fsync) can take
	// longer than the 100 ms default, which would turn a resumption into
	// store-unavailable. Tests of the budget set their own.
	return &reprise.Config{Certificates: []reprise.Certificate{cert}, StoreTimeout: 5 * time.Second}
}

// ClientConfig is a client Config that trusts the test CA, keeps its
// sessions, and speaks at most maxVersion.
func ClientConfig(t testing.TB, maxVersion uint16) *reprise.Config {
	return &reprise.Config{
		ServerName:         "localhost",
		RootCAs:            peertest.CAPool(t),
		MaxVersion:         maxVersion,
		ClientSessionCache: reprise.NewLRUClientSessionCache(0),
	}
}

// Node is a reprise server on a loopback port: it completes each
// handshake, writes "ok" and closes, and reports every handshake.
type Node struct {
	Addr    string
	Results chan Result
	ln      net.Listener
	wg      sync.WaitGroup
}

// Result is one server-side handshake.
type Result struct {
	State reprise.ConnectionState
	Err   error
}

// StartNode serves cfg until the test ends.
func StartNode(t testing.TB, cfg *reprise.Config) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{Addr: ln.Addr().String(), Results: make(chan Result, 4096), ln: ln}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				defer raw.Close()
				raw.SetDeadline(time.Now().Add(10 * time.Second))
				conn := reprise.Server(raw, cfg)
				err := conn.Handshake()
				if err == nil {
					_, err = conn.Write([]byte("ok"))
					conn.Close()
				}
				select {
				case n.Results <- Result{conn.ConnectionState(), err}:
				default:
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); n.wg.Wait() })
	return n
}

// Connect makes one connection to addr, reads until the server closes (so
// a TLS 1.3 client takes in its tickets) and returns the client's state.
func Connect(addr string, ccfg *reprise.Config) (reprise.ConnectionState, error) {
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return reprise.ConnectionState{}, err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := reprise.Client(raw, ccfg)
	if err := conn.Handshake(); err != nil {
		return reprise.ConnectionState{}, err
	}
	if _, err := io.ReadAll(conn); err != nil {
		return conn.ConnectionState(), err
	}
	return conn.ConnectionState(), nil
}

// MustConnect is Connect that fails the test on error, and returns the
// server's view too.
func MustConnect(t testing.TB, node *Node, ccfg *reprise.Config) (client, server reprise.ConnectionState) {
	t.Helper()
	client, err := Connect(node.Addr, ccfg)
	if err != nil {
		t.Fatalf("connecting to %s: %v", node.Addr, err)
	}
	select {
	case r := <-node.Results:
		if r.Err != nil {
			t.Fatalf("server %s: %v", node.Addr, r.Err)
		}
		return client, r.State
	case <-time.After(10 * time.Second):
		t.Fatalf("server %s reported no handshake", node.Addr)
	}
	return
}

// Secret returns the master secret or PSK in a session's encoding (the
// layout documented at reprise.Session.MarshalBinary).
func Secret(t testing.TB, s *reprise.Session) []byte {
	t.Helper()
	enc, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	const offset = 2 + 1 + 2 + 2 + 8 + 4 + 4 + 4 // format, flags, version, suite, created, lifetime, age_add, max_early_data
	n := int(enc[offset])
	return enc[offset+1 : offset+1+n]
}

// KeyLogSecrets returns every secret in an NSS key log.
func KeyLogSecrets(t testing.TB, keylog []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, line := range bytes.Split(keylog, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) != 3 {
			continue
		}
		s := make([]byte, len(f[2])/2)
		if _, err := hex.Decode(s, f[2]); err == nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatal("the key log holds no secret")
	}
	return out
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (a KeyLogWriter
// shared by servers).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// RealSession makes a TLS 1.2 session by a handshake against a server of
// cfg's kind, as a store would be given one.
func RealSession(t testing.TB) *reprise.Session {
	t.Helper()
	var got *reprise.Session
	scfg := ServerConfig(t)
	scfg.OnNewSession = func(s *reprise.Session) { got = s }
	node := StartNode(t, scfg)
	ccfg := ClientConfig(t, reprise.VersionTLS12)
	ccfg.SessionTicketsDisabled = true
	MustConnect(t, node, ccfg)
	if got == nil {
		t.Fatal("no session made")
	}
	return got
}

// CheckStore runs the SessionStore contract against a store: a session
// put under an ID comes back under that ID only, Take takes it once,
// Delete removes it, a miss is (nil, nil).
func CheckStore(t *testing.T, store interface {
	reprise.SessionStore
	reprise.SessionTaker
}) {
	ctx := context.Background()
	s := RealSession(t)
	id := s.ID()
	if err := store.Put(ctx, id, s); err != nil {
		t.Fatal(err)
	}
	got, err := store.Get(ctx, id)
	if err != nil || got == nil || !bytes.Equal(Secret(t, got), Secret(t, s)) || !bytes.Equal(got.ID(), id) {
		t.Fatalf("Get after Put: %v, %v", got, err)
	}
	other := bytes.Clone(id)
	other[0] ^= 1
	if got, err := store.Get(ctx, other); got != nil || err != nil {
		t.Fatalf("Get of another ID: %v, %v", got, err)
	}
	if got, err := store.Take(ctx, id); got == nil || err != nil {
		t.Fatalf("Take: %v, %v", got, err)
	}
	if got, err := store.Take(ctx, id); got != nil || err != nil {
		t.Fatalf("second Take: %v, %v", got, err)
	}
	store.Put(ctx, id, s)
	if err := store.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Get(ctx, id); got != nil || err != nil {
		t.Fatalf("Get after Delete: %v, %v", got, err)
	}
}
