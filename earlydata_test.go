package reprise

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// earlyServerConfig is a server that takes up to 16 KiB of early data.
func earlyServerConfig(t *testing.T) *Config {
	scfg := testServerConfig(t)
	scfg.MaxEarlyData = 64 << 10
	return scfg
}

// earlyResult is one connection that offered early data.
type earlyResult struct {
	client, server *Conn
	cerr, serr     error
	early          []byte // what the server's ReadEarlyData returned
	sent           [][]byte
}

// recordingConn keeps a copy of the first writes made through it: a
// client's ClientHello and early data, for replaying.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.writes) < 2 {
		c.writes = append(c.writes, bytes.Clone(p))
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// connectEarly runs a client that sends data as early data against a
// server that reads it with ReadEarlyData, then exchanges 1-RTT data.
func connectEarly(t *testing.T, ccfg, scfg *Config, data []byte) earlyResult {
	t.Helper()
	a, b := memPipe()
	rec := &recordingConn{Conn: a}
	client, server := Client(rec, ccfg), Server(b, scfg)
	if err := client.SetEarlyData(data); err != nil {
		t.Fatal(err)
	}
	var r earlyResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.early, r.serr = io.ReadAll(readerFunc(server.ReadEarlyData))
		if r.serr == nil {
			r.serr = server.Handshake()
		}
	}()
	r.cerr = client.Handshake()
	if r.cerr != nil {
		a.Close()
	}
	<-done
	if r.serr != nil {
		b.Close()
	}
	r.client, r.server, r.sent = client, server, rec.writes
	if r.cerr == nil && r.serr == nil {
		exchange(t, client, server)
	}
	return r
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// replay sends a recorded ClientHello and early data to a new server
// connection, as an attacker who copied them would, and returns what the
// server made of them.
func replay(t *testing.T, scfg *Config, flight [][]byte) (ConnectionState, []byte) {
	t.Helper()
	a, b := memPipe()
	server := Server(b, scfg)
	for _, w := range flight {
		a.Write(w)
	}
	// The attacker cannot finish the handshake; the server's decision on
	// the early data is made before it needs to.
	a.Close()
	type result struct {
		early []byte
		st    ConnectionState
	}
	done := make(chan result, 1)
	go func() {
		early, _ := io.ReadAll(readerFunc(server.ReadEarlyData))
		done <- result{early, server.ConnectionState()}
	}()
	r := <-done
	b.Close()
	return r.st, r.early
}

func wantEarly(t *testing.T, who string, st ConnectionState, status EarlyDataStatus, refused Refusal) {
	t.Helper()
	if st.EarlyData != status || st.EarlyDataRefused != refused {
		t.Fatalf("%s: early data %q refused %q, want %q %q", who, st.EarlyData, st.EarlyDataRefused, status, refused)
	}
}

func TestEarlyDataAccepted(t *testing.T) {
	scfg := earlyServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	if s := ccfg.ClientSessionCache.Get("localhost"); s == nil || s.maxEarly != 64<<10 {
		t.Fatalf("ticket's max_early_data_size: %+v", s)
	}
	data := bytes.Repeat([]byte("GET /early\n"), 2000) // two records
	r := connectEarly(t, ccfg, scfg, data)
	if r.cerr != nil || r.serr != nil {
		t.Fatalf("client %v, server %v", r.cerr, r.serr)
	}
	if !bytes.Equal(r.early, data) {
		t.Fatalf("server read %d bytes of early data, want %d", len(r.early), len(data))
	}
	cs, ss := r.client.ConnectionState(), r.server.ConnectionState()
	wantEarly(t, "client", cs, EarlyDataAccepted, RefusedNone)
	wantEarly(t, "server", ss, EarlyDataAccepted, RefusedNone)
	if !cs.DidResume || !ss.DidResume {
		t.Fatal("not resumed")
	}
	// Read never returns early data: exchange checked the 1-RTT data.
	snap := scfg.Counters().Snapshot()
	if snap.EarlyDataAccepted != 1 || len(snap.EarlyDataRejected) != 0 {
		t.Fatalf("counters %+v", snap)
	}
	// The new tickets carry early data too.
	r = connectEarly(t, ccfg, scfg, []byte("again"))
	if r.cerr != nil || r.serr != nil || string(r.early) != "again" {
		t.Fatalf("second 0-RTT: %v %v %q", r.cerr, r.serr, r.early)
	}
}

// TestEarlyDataServerHandshakeWithoutReadEarlyData: a server that calls
// Handshake (or Read) directly keeps the early data for ReadEarlyData.
func TestEarlyDataServerHandshakeWithoutReadEarlyData(t *testing.T) {
	scfg := earlyServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	a, b := memPipe()
	client, server := Client(a, ccfg), Server(b, scfg)
	client.SetEarlyData([]byte("kept"))
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	exchange(t, client, server)
	early, err := io.ReadAll(readerFunc(server.ReadEarlyData))
	if err != nil || string(early) != "kept" {
		t.Fatalf("early data after the handshake: %q %v", early, err)
	}
}

func TestEarlyDataReplayOneNode(t *testing.T) {
	scfg := earlyServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	r := connectEarly(t, ccfg, scfg, []byte("transfer 100"))
	if r.cerr != nil || r.serr != nil || string(r.early) != "transfer 100" {
		t.Fatalf("0-RTT: %v %v %q", r.cerr, r.serr, r.early)
	}
	for i := range 2 {
		st, early := replay(t, scfg, r.sent)
		if len(early) != 0 {
			t.Fatalf("replay %d: early data %q accepted again", i, early)
		}
		wantEarly(t, "replay", st, EarlyDataRejected, RefusedEarlyReplay)
	}
	snap := scfg.Counters().Snapshot()
	if snap.EarlyDataAccepted != 1 || snap.EarlyDataReplayed != 2 || snap.EarlyDataRejected["replayed"] != 2 {
		t.Fatalf("counters %+v", snap)
	}
}

// TestEarlyDataReplaySingleUseTickets: with single-use tickets and no
// strike register, the replayed ClientHello's ticket is gone.
func TestEarlyDataReplaySingleUseTickets(t *testing.T) {
	scfg := earlyServerConfig(t)
	scfg.SingleUseTickets = true
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	r := connectEarly(t, ccfg, scfg, []byte("once"))
	if r.cerr != nil || r.serr != nil || string(r.early) != "once" {
		t.Fatalf("0-RTT: %v %v %q", r.cerr, r.serr, r.early)
	}
	st, early := replay(t, scfg, r.sent)
	if len(early) != 0 {
		t.Fatalf("replay accepted %q", early)
	}
	wantEarly(t, "replay", st, EarlyDataRejected, RefusedEarlyNoPSK)
	if scfg.memoryStrikes().Len() != 0 {
		t.Fatal("the strike register was used with single-use tickets")
	}
}

// failingStrikes is an anti-replay register that fails or stalls.
type failingStrikes struct{ stall bool }

func (f failingStrikes) Strike(ctx context.Context, _ []byte, _ time.Duration) (bool, error) {
	if f.stall {
		<-ctx.Done()
		return false, ctx.Err()
	}
	return false, errors.New("register down")
}

// TestEarlyDataRejections: every reason to reject early data, each
// ending in a working connection (a resumption where one was possible).
func TestEarlyDataRejections(t *testing.T) {
	for _, tc := range []struct {
		name    string
		server  func(*Config) // changes the resuming server
		client  func(*Config)
		refused Refusal
		resumes bool
	}{
		{name: "off", server: func(c *Config) { c.MaxEarlyData = 0 }, refused: RefusedEarlyOff, resumes: true},
		{name: "hello-retry", server: func(c *Config) { c.CurvePreferences = []CurveID{CurveP384} }, refused: RefusedEarlyHRR, resumes: true},
		{name: "not-resumed", server: func(c *Config) { c.SessionTicketsDisabled = true }, refused: RefusedEarlyNoPSK},
		{name: "cipher", server: func(c *Config) { c.CipherSuites = []uint16{TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256} }, refused: RefusedCipher, resumes: true},
		{name: "age-window", server: func(c *Config) {
			c.EarlyDataAgeWindow = time.Second
			c.Time = func() time.Time { return time.Now().Add(4 * time.Second) }
		}, refused: RefusedAgeWindow, resumes: true},
		{name: "register-down", server: func(c *Config) { c.AntiReplay = failingStrikes{} }, refused: RefusedStoreDown, resumes: true},
		{name: "register-stalls", server: func(c *Config) {
			c.AntiReplay = failingStrikes{stall: true}
			c.StoreTimeout = 50 * time.Millisecond
		}, refused: RefusedStoreDown, resumes: true},
		{name: "client-auth", server: func(c *Config) { c.ClientAuth = RequestClientCert }, refused: RefusedEarlyClientAuth, resumes: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := earlyServerConfig(t)
			scfg.CipherSuites = []uint16{TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256}
			ccfg := resumeClient13(t)
			ccfg.CipherSuites = []uint16{TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256}
			firstSession13(t, ccfg, scfg)
			s2 := scfg.Clone()
			if tc.server != nil {
				tc.server(s2)
			}
			if tc.client != nil {
				tc.client(ccfg)
			}
			// More than the 16 KiB a server without 0-RTT skips: a
			// rejection skips as much as the tickets allowed.
			r := connectEarly(t, ccfg, s2, bytes.Repeat([]byte("early"), 8<<10))
			if r.cerr != nil || r.serr != nil {
				t.Fatalf("client %v, server %v", r.cerr, r.serr)
			}
			if len(r.early) != 0 {
				t.Fatalf("rejected early data read: %q", r.early)
			}
			ss, cs := r.server.ConnectionState(), r.client.ConnectionState()
			wantEarly(t, "server", ss, EarlyDataRejected, tc.refused)
			wantEarly(t, "client", cs, EarlyDataRejected, map[bool]Refusal{false: RefusedServerDeclined, true: RefusedEarlyHRR}[tc.refused == RefusedEarlyHRR])
			if ss.DidResume != tc.resumes {
				t.Fatalf("resumed %v, want %v (refused %q)", ss.DidResume, tc.resumes, ss.Refused)
			}
			if n := s2.Counters().Snapshot().EarlyDataRejected[string(tc.refused)]; n != 1 {
				t.Fatalf("rejections counted %d", n)
			}
		})
	}
}

// TestEarlyDataTicketDisallows: a ticket without max_early_data_size
// carries no early data: the client does not send it, and a server seeing
// early_data with it anyway (testOfferEarlyData) rejects it.
func TestEarlyDataTicketDisallows(t *testing.T) {
	issuer := testServerConfig(t)
	ccfg := resumeClient13(t)
	sess := firstSession13(t, ccfg, issuer)
	s2 := issuer.Clone()
	s2.MaxEarlyData = 1 << 10
	r := connectEarly(t, ccfg, s2, []byte("early"))
	if r.cerr != nil || r.serr != nil {
		t.Fatal(r.cerr, r.serr)
	}
	wantEarly(t, "client", r.client.ConnectionState(), EarlyDataNone, RefusedEarlyTicket)
	wantEarly(t, "server", r.server.ConnectionState(), EarlyDataNone, RefusedNone)

	ccfg = testClientConfig(t)
	ccfg.Session = sess
	ccfg.testOfferEarlyData = true
	client, server := connect13(t, ccfg, s2)
	wantEarly(t, "server", server.ConnectionState(), EarlyDataRejected, RefusedEarlyTicket)
	_ = client
}

// TestEarlyDataDecisionChecks: the checks a resumption already makes
// (ALPN and SNI refuse the PSK first) and the first-identity rule, asked
// of the decision directly (RFC 8446, Section 4.2.10).
func TestEarlyDataDecisionChecks(t *testing.T) {
	scfg := earlyServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	s := ccfg.ClientSessionCache.Get("localhost")
	hs := &server13{c: Server(nil, scfg), ctx: context.Background()}
	base := earlyDataFacts{session: s, suite: s.cipherSuite, alpn: s.alpn, serverName: s.serverName, binder: []byte{1}}
	for _, tc := range []struct {
		change  func(*earlyDataFacts)
		refused Refusal
	}{
		{func(f *earlyDataFacts) { f.identity = 1 }, RefusedEarlyNotFirstPSK},
		{func(f *earlyDataFacts) { f.alpn = "h2" }, RefusedALPN},
		{func(f *earlyDataFacts) { f.serverName = "other.example" }, RefusedSNI},
	} {
		f := base
		tc.change(&f)
		if d := hs.c.decideEarlyData(hs, f); d.accept || d.refused != tc.refused {
			t.Fatalf("want %q, got %+v", tc.refused, d)
		}
	}
}

// TestEarlyDataMemoryBound: the memory register holds at most its
// capacity, and entries expire with their ttl.
func TestEarlyDataMemoryBound(t *testing.T) {
	m := NewMemoryStrikeRegister(4)
	now := time.Unix(1000, 0)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	for i := range 4 {
		if fresh, err := m.Strike(ctx, []byte{byte(i)}, time.Second); !fresh || err != nil {
			t.Fatal(fresh, err)
		}
	}
	if fresh, _ := m.Strike(ctx, []byte{0}, time.Second); fresh {
		t.Fatal("a key struck twice is fresh")
	}
	if _, err := m.Strike(ctx, []byte{9}, time.Second); err == nil {
		t.Fatal("a full register took a new key")
	}
	now = now.Add(time.Second)
	if m.Len() != 0 {
		t.Fatalf("%d entries outlived their ttl", m.Len())
	}
	if fresh, err := m.Strike(ctx, []byte{0}, time.Second); !fresh || err != nil {
		t.Fatal("an expired key is not fresh again", err)
	}
	// A long run of handshakes, each new key living one step: what the
	// register holds stays within its capacity.
	m = NewMemoryStrikeRegister(4)
	m.now = func() time.Time { return now }
	for i := range 100000 {
		now = now.Add(time.Millisecond)
		key := []byte{byte(i), byte(i >> 8), byte(i >> 16), 1}
		if _, err := m.Strike(ctx, key, 3*time.Millisecond); err != nil {
			t.Fatalf("strike %d: %v", i, err)
		}
		if len(m.order) > 2*m.max+1 || len(m.live) > m.max {
			t.Fatalf("strike %d: %d in order, %d live", i, len(m.order), len(m.live))
		}
	}
}

// TestEarlyDataTooMuch: a client that sends more than the ticket's
// max_early_data_size gets unexpected_message (RFC 8446, Section 4.2.10);
// a ticket allowing more than the server now takes carries no early data.
func TestEarlyDataTooMuch(t *testing.T) {
	scfg := earlyServerConfig(t)
	ccfg := resumeClient13(t)
	sess := firstSession13(t, ccfg, scfg)
	greedy := *sess
	greedy.maxEarly = 1 << 20
	ccfg.ClientSessionCache = nil
	ccfg.Session = &greedy
	r := connectEarly(t, ccfg, scfg, bytes.Repeat([]byte{'x'}, 64<<10+1))
	wantAlert(t, "server", r.serr, AlertUnexpectedMessage, false)

	lower := scfg.Clone()
	lower.MaxEarlyData = 1 << 10
	ccfg.Session = sess
	r = connectEarly(t, ccfg, lower, []byte("small"))
	if r.cerr != nil || r.serr != nil {
		t.Fatal(r.cerr, r.serr)
	}
	wantEarly(t, "server", r.server.ConnectionState(), EarlyDataRejected, RefusedEarlyTicket)
}
