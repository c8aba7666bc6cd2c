package reprise

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// TestTraceEventsCarryConnID: a Tracer shared by concurrent handshakes can
// tell them apart: each connection's events carry its ID, and the IDs of
// different connections differ.
func TestTraceEventsCarryConnID(t *testing.T) {
	var mu sync.Mutex
	byConn := map[uint64][]TraceEvent{}
	tracer := func(ev TraceEvent) {
		mu.Lock()
		byConn[ev.ConnID] = append(byConn[ev.ConnID], ev)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	ids := make(chan uint64, 8)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ccfg, scfg := testClientConfig(t), testServerConfig(t)
			ccfg.Tracer, scfg.Tracer = tracer, tracer
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Error(cerr, serr)
				return
			}
			ids <- client.ID()
			ids <- server.ID()
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[uint64]bool{}
	for id := range ids {
		if id == 0 || seen[id] {
			t.Fatalf("connection ID %d is zero or repeated", id)
		}
		seen[id] = true
		evs := byConn[id]
		if len(evs) == 0 || evs[0].Message != "ClientHello" {
			t.Fatalf("connection %d: events %v", id, evs)
		}
	}
	if len(byConn) != 6 {
		t.Fatalf("events from %d connections, want 6", len(byConn))
	}
}

// TestLogHandshakes: the slog hook logs one line per handshake, with the
// connection ID and how it resumed, and failures at Warn.
func TestLogHandshakes(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	scfg := testServerConfig(t)
	scfg.OnHandshake = LogHandshakes(logger)
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	ccfg.ClientSessionCache = NewLRUClientSessionCache(2)
	for range 2 {
		if _, _, cerr, serr := handshakePair(t, ccfg, scfg); cerr != nil || serr != nil {
			t.Fatal(cerr, serr)
		}
	}
	bad := testClientConfig(t)
	bad.ServerName = "other.example"
	handshakePair(t, bad, scfg)
	out := buf.String()
	for _, want := range []string{"resumption=none", "resumption=ticket", "level=WARN", "role=server", "version=TLS1.2"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("%d log lines, want 3:\n%s", n, out)
	}
}
