package reprise

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/keysched"
	"github.com/reprise-tls/reprise/internal/wire"
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

// statusSealer is a TicketSealer that seals with real keys and reports the
// status it is told to when opening, as a fleet's sealer does when its key
// service is down or a ticket's key has rotated out of first place.
type statusSealer struct {
	keys   *TicketKeys
	status TicketStatus
}

func (s statusSealer) SealTicket(ctx context.Context, now time.Time, rand io.Reader, plain []byte) ([]byte, error) {
	return s.keys.SealTicket(ctx, now, rand, plain)
}

func (s statusSealer) OpenTicket(ctx context.Context, now time.Time, t []byte) ([]byte, TicketStatus) {
	plain, status := s.keys.OpenTicket(ctx, now, t)
	if status == TicketOpened {
		status = s.status
	}
	return plain, status
}

// TestDecideResumption12 feeds the TLS 1.2 server's decision its inputs
// (a Config, a stored or ticketed session, a ClientHello, the time) and
// checks the value it returns: every refusal it can make, the MUST-abort
// errors, and what the caller is to apply and count.
func TestDecideResumption12(t *testing.T) {
	now := time.Now()
	otherKeys, err := NewTicketKeys(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	id := taggedID(7)
	base := func() *Session {
		return &Session{version: VersionTLS12, cipherSuite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			secret: bytes.Repeat([]byte{1}, 48), ems: true, id: id,
			created: now, lifetime: time.Hour, serverName: "localhost"}
	}
	// byTicket offers the session as a ticket sealed by the server's keys.
	byTicket := func(h *wire.ClientHello, ticket []byte) {
		h.SessionID, h.TicketSupported, h.SessionTicket = bytes.Repeat([]byte{9}, 32), true, ticket
	}
	cases := []struct {
		name    string
		config  func(*Config)
		session func(*Session)
		hello   func(h *wire.ClientHello, ticket []byte)
		later   time.Duration // the clock moves on after the session is stored
		err     error

		refused Refusal
		via     Resumption // empty: nothing resumes
		reissue bool
		met     lookupTally
		expired bool // the decision asks for the expired session to be dropped
	}{
		{name: "resumes by ID", via: ResumedSessionID},
		{name: "resumes by ticket", hello: byTicket, via: ResumedTicket, met: lookupTally{ticketsOpened: 1}},
		{name: "resumes by a ticket of an older key, and reissues it", hello: byTicket,
			config: func(c *Config) { c.TicketSealer = statusSealer{c.TicketKeys, TicketOpenedStale} },
			via:    ResumedTicket, reissue: true, met: lookupTally{ticketsOpenedStale: 1}},
		{name: "resumes through GetSession", config: func(c *Config) {
			c.SessionCacheMode = SessionCacheServer | SessionCacheNoInternalLookup
			c.GetSession = func([]byte) *Session { return base() }
		}, via: ResumedSessionID, met: lookupTally{callbackHits: 1}},

		// The refusal list, in state.go's order.
		{name: "unknown ID of our shape", hello: func(h *wire.ClientHello, _ []byte) { h.SessionID = taggedID(8) },
			refused: RefusedUnknownSession, met: lookupTally{misses: 1}},
		{name: "unknown ID from a TLS 1.3 client, of our shape", hello: func(h *wire.ClientHello, _ []byte) {
			h.SessionID = taggedID(8)
			h.SupportedVersions = []uint16{VersionTLS13, VersionTLS12}
		}, refused: RefusedUnknownSession, met: lookupTally{misses: 1}},
		{name: "expired in the internal cache", later: 2 * time.Hour, refused: RefusedExpired, met: lookupTally{timeouts: 1}},
		{name: "expired in an external store: dropped from it", later: 2 * time.Hour,
			config:  func(c *Config) { c.SessionStore = newMapStore() },
			refused: RefusedExpired, met: lookupTally{timeouts: 1}, expired: true},
		{name: "expired in an external store, NoAutoClear: kept", later: 2 * time.Hour,
			config: func(c *Config) {
				c.SessionStore = newMapStore()
				c.SessionCacheMode = SessionCacheServer | SessionCacheNoAutoClear
			},
			refused: RefusedExpired, met: lookupTally{timeouts: 1}},
		{name: "expired ticket", hello: byTicket, later: 2 * time.Hour,
			refused: RefusedExpired, met: lookupTally{ticketsOpened: 1, timeouts: 1}},
		{name: "TLS 1.3 session offered by ID", session: func(s *Session) { s.version = VersionTLS13 }, refused: RefusedVersion},
		{name: "session's suite disabled", config: func(c *Config) {
			c.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
		}, refused: RefusedCipher},
		{name: "other context", session: func(s *Session) { s.idContext = []byte("x") }, refused: RefusedContext},
		{name: "other SNI", hello: func(h *wire.ClientHello, _ []byte) { h.ServerName = "other" }, refused: RefusedSNI},
		{name: "non-EMS session, EMS hello: full handshake (RFC 7627 5.3)", session: func(s *Session) { s.ems = false }, refused: RefusedEMS},
		{name: "client certificate now required", config: func(c *Config) { c.ClientAuth = RequireAnyClientCert }, refused: RefusedClientAuth},
		{name: "cache off", config: func(c *Config) { c.SessionCacheMode = SessionCacheOff }, refused: RefusedCacheOff},
		{name: "ticket offered, tickets off", hello: byTicket, config: func(c *Config) { c.SessionTicketsDisabled = true }, refused: RefusedTicketsOff},
		{name: "ticket of another key", hello: func(h *wire.ClientHello, ticket []byte) { byTicket(h, ticket) },
			config: func(c *Config) { c.TicketKeys = otherKeys }, refused: RefusedTicketKey},
		{name: "tampered ticket", hello: func(h *wire.ClientHello, ticket []byte) {
			ticket = bytes.Clone(ticket)
			ticket[len(ticket)/2] ^= 1
			byTicket(h, ticket)
		}, refused: RefusedTicketInvalid},
		{name: "ETM session, hello without ETM", session: func(s *Session) { s.etm = true }, refused: RefusedETM},
		{name: "AllowNewSession says no", config: func(c *Config) {
			c.AllowNewSession = func(*ClientHelloInfo) bool { return false }
		}, refused: RefusedNotResumable},
		{name: "store down", config: func(c *Config) { c.SessionStore = brokenStore{errors.New("down")} }, refused: RefusedStoreDown},
		{name: "sealer unavailable", hello: byTicket,
			config:  func(c *Config) { c.TicketSealer = statusSealer{c.TicketKeys, TicketUnavailable} },
			refused: RefusedStoreDown, met: lookupTally{sealerUnavailable: 1}},
		{name: "store entry altered", config: func(c *Config) { c.SessionStore = brokenStore{ErrStoreEntryInvalid} }, refused: RefusedStoreEntry},
		// A ticket's refusal explains best when the ID then misses.
		{name: "tampered ticket and an unknown ID", hello: func(h *wire.ClientHello, ticket []byte) {
			byTicket(h, ticket[:len(ticket)-1])
			h.SessionID = taggedID(8)
		}, refused: RefusedTicketInvalid},

		// Not offers.
		{name: "unknown random ID (crypto/tls sends one on every TLS 1.2 hello) is not an offer", hello: func(h *wire.ClientHello, _ []byte) {
			h.SessionID = bytes.Repeat([]byte{8}, 32)
		}},
		{name: "unknown ID from a TLS 1.3 client is its compatibility ID, not an offer", hello: func(h *wire.ClientHello, _ []byte) {
			h.SessionID = bytes.Repeat([]byte{8}, 32)
			h.SupportedVersions = []uint16{VersionTLS13, VersionTLS12}
		}},
		{name: "neither uses EMS: legacy resumption", session: func(s *Session) { s.ems = false }, hello: func(h *wire.ClientHello, _ []byte) {
			h.ExtendedMasterSecret = false
		}, via: ResumedSessionID},

		// MUST-abort.
		{name: "session's suite not offered: abort (RFC 5246 7.4.1.2)", hello: func(h *wire.ClientHello, _ []byte) {
			h.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
		}, err: ErrResumedCipherMismatch},
		{name: "EMS session, hello without EMS: abort (RFC 7627 5.3)", hello: func(h *wire.ClientHello, _ []byte) {
			h.ExtendedMasterSecret = false
		}, err: ErrEMSDowngrade},
		{name: "ticket, then abort: what the lookup met is kept", hello: func(h *wire.ClientHello, ticket []byte) {
			byTicket(h, ticket)
			h.ExtendedMasterSecret = false
		}, err: ErrEMSDowngrade, met: lookupTally{ticketsOpened: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := base()
			if tc.session != nil {
				tc.session(s)
			}
			cfg, ticket := sealedTicketFixture(t, now, s)
			if tc.config != nil {
				tc.config(cfg)
			}
			if m, ok := cfg.SessionStore.(*mapStore); ok {
				m.Put(ctx, s.id, s)
			} else if cfg.SessionStore == nil {
				cfg.store().Put(ctx, s.id, s)
			}
			cfg.Time = func() time.Time { return now.Add(tc.later) }
			h := &wire.ClientHello{SessionID: id, ServerName: "localhost",
				CipherSuites: []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, ExtendedMasterSecret: true}
			if tc.hello != nil {
				tc.hello(h, ticket)
			}
			c := Server(nil, cfg)
			hs := &server12{c: c, ctx: ctx, hello: h, ems: h.ExtendedMasterSecret,
				cacheable: cfg.AllowNewSession == nil || cfg.AllowNewSession(nil)}
			d, err := hs.decideResumption(ctx)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if d.refused != tc.refused || d.via != tc.via || (d.session != nil) != (tc.via != "") {
				t.Fatalf("decision: refused %q via %q session %v; want refused %q via %q", d.refused, d.via, d.session != nil, tc.refused, tc.via)
			}
			if d.reissueTicket != tc.reissue {
				t.Errorf("reissue ticket = %v", d.reissueTicket)
			}
			if wantEcho := tc.via != ""; wantEcho != bytes.Equal(d.echoID, h.SessionID) || (!wantEcho && d.echoID != nil) {
				t.Errorf("echo ID %x, hello's %x", d.echoID, h.SessionID)
			}
			if d.met != tc.met {
				t.Errorf("met %+v, want %+v", d.met, tc.met)
			}
			if (d.expired != nil) != tc.expired || (tc.expired && !bytes.Equal(d.expiredID, h.SessionID)) {
				t.Errorf("expired session to drop: %v under %x", d.expired != nil, d.expiredID)
			}
			// The decision is a value: nothing in the handshake state or
			// the counters moved.
			if hs.sessionID != nil || hs.sendTicket || hs.resumed != nil || c.state.Refused != RefusedNone {
				t.Error("decideResumption wrote into the handshake state")
			}
			if k := cfg.Counters().Snapshot(); k.Misses+k.Timeouts+k.CallbackHits+k.TicketsOpened+k.TicketsStale != 0 || len(k.Refusals) != 0 {
				t.Errorf("decideResumption counted: %+v", k)
			}
		})
	}
}

// TestSelectPSK13 feeds the TLS 1.3 server's PSK decision its inputs (a
// Config, a ticketed or stored session, a ClientHello with real binders,
// the time) and checks the value it returns: every refusal it can make,
// the MUST-abort errors, and what the caller is to apply and count.
func TestSelectPSK13(t *testing.T) {
	now := time.Now()
	otherKeys, err := NewTicketKeys(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	suite := suiteByID(TLS_AES_128_GCM_SHA256)
	base := func() *Session {
		return &Session{version: VersionTLS13, cipherSuite: TLS_AES_128_GCM_SHA256,
			secret: bytes.Repeat([]byte{1}, 32), created: now, lifetime: time.Hour,
			serverName: "localhost", ageAdd: 12345}
	}
	type identity struct {
		identity []byte
		age      uint32 // obfuscated_ticket_age
		secret   []byte // the binder's key
	}
	cases := []struct {
		name    string
		config  func(*Config)
		session func(*Session)
		// offer edits the identities and hello; the binders are computed
		// afterwards from each identity's secret.
		offer func(h *wire.ClientHello, ids []identity) []identity
		hs    func(*server13)
		later time.Duration // the clock moves on after the ticket is issued
		err   error

		refused Refusal
		resumed bool
		index   uint16
		dhe     bool
		met     lookupTally
	}{
		{name: "resumes, psk_dhe_ke", resumed: true, dhe: true, met: lookupTally{ticketsOpened: 1}},
		{name: "resumes, psk_ke when allowed", config: func(c *Config) { c.AllowPSKWithoutDHE = true },
			offer: func(h *wire.ClientHello, ids []identity) []identity {
				h.PSKModes = []uint8{wire.PSKModePlain}
				return ids
			},
			resumed: true, met: lookupTally{ticketsOpened: 1}},
		{name: "second identity resumes", offer: func(h *wire.ClientHello, ids []identity) []identity {
			return append([]identity{{identity: []byte("not a ticket"), secret: ids[0].secret}}, ids...)
		}, resumed: true, index: 1, dhe: true, met: lookupTally{ticketsOpened: 1}},
		{name: "single-use ticket from the store", config: func(c *Config) { c.SingleUseTickets = true }, resumed: true, dhe: true},
		{name: "tickets off: stateful ticket from the session cache", config: func(c *Config) { c.SessionTicketsDisabled = true }, resumed: true, dhe: true},

		// The refusal list, in state.go's order.
		{name: "single-use ticket not in the store", config: func(c *Config) { c.SingleUseTickets = true },
			offer:   func(h *wire.ClientHello, ids []identity) []identity { ids[0].identity = []byte("gone"); return ids },
			refused: RefusedUnknownSession, met: lookupTally{misses: 1}},
		{name: "expired", later: 2 * time.Hour, refused: RefusedExpired, met: lookupTally{ticketsOpened: 1, timeouts: 1}},
		{name: "TLS 1.2 session as a PSK", session: func(s *Session) {
			s.version, s.cipherSuite = VersionTLS12, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
		}, refused: RefusedVersion, met: lookupTally{ticketsOpened: 1}},
		{name: "session's hash differs from the suite's", session: func(s *Session) { s.cipherSuite = TLS_AES_256_GCM_SHA384 },
			refused: RefusedCipher, met: lookupTally{ticketsOpened: 1}},
		{name: "other context", session: func(s *Session) { s.idContext = []byte("x") }, refused: RefusedContext, met: lookupTally{ticketsOpened: 1}},
		{name: "other SNI", offer: func(h *wire.ClientHello, ids []identity) []identity { h.ServerName = "other"; return ids },
			refused: RefusedSNI, met: lookupTally{ticketsOpened: 1}},
		{name: "client certificate now required", config: func(c *Config) { c.ClientAuth = RequireAnyClientCert },
			refused: RefusedClientAuth, met: lookupTally{ticketsOpened: 1}},
		{name: "tickets and session cache off", config: func(c *Config) {
			c.SessionTicketsDisabled, c.SessionCacheMode = true, SessionCacheOff
		}, refused: RefusedTicketsOff},
		{name: "tickets off, a sealed ticket offered", config: func(c *Config) { c.SessionTicketsDisabled = true },
			offer: func(h *wire.ClientHello, ids []identity) []identity {
				ids[0].identity = []byte("a sealed ticket")
				return ids
			},
			refused: RefusedTicketsOff},
		{name: "tickets off, a stateful ticket not in the store", config: func(c *Config) { c.SessionTicketsDisabled = true },
			offer: func(h *wire.ClientHello, ids []identity) []identity {
				other, _ := new(Config).newTicketID() // tagged, so looked up, and missed
				ids[0].identity = other
				return ids
			},
			refused: RefusedUnknownSession, met: lookupTally{misses: 1}},
		{name: "ticket of another key", config: func(c *Config) { c.TicketKeys = otherKeys }, refused: RefusedTicketKey},
		{name: "tampered ticket", offer: func(h *wire.ClientHello, ids []identity) []identity {
			ids[0].identity = bytes.Clone(ids[0].identity)
			ids[0].identity[len(ids[0].identity)/2] ^= 1
			return ids
		}, refused: RefusedTicketInvalid},
		{name: "age outside the window", offer: func(h *wire.ClientHello, ids []identity) []identity { ids[0].age += 60_000; return ids },
			refused: RefusedAgeWindow, met: lookupTally{ticketsOpened: 1}},
		{name: "other ALPN", hs: func(hs *server13) { hs.alpn = "h2" }, refused: RefusedALPN, met: lookupTally{ticketsOpened: 1}},
		{name: "AllowNewSession says no", hs: func(hs *server13) { hs.cacheable = false }, refused: RefusedNotResumable},
		{name: "psk_ke only, not allowed", offer: func(h *wire.ClientHello, ids []identity) []identity {
			h.PSKModes = []uint8{wire.PSKModePlain}
			return ids
		}, refused: RefusedPSKMode},
		{name: "psk_dhe_ke without a key share", hs: func(hs *server13) { hs.clientShare = nil }, refused: RefusedPSKMode},
		{name: "store down", config: func(c *Config) {
			c.SingleUseTickets = true
			c.SessionStore = brokenStore{errors.New("down")}
		}, refused: RefusedStoreDown},
		{name: "sealer unavailable", config: func(c *Config) { c.TicketSealer = statusSealer{c.TicketKeys, TicketUnavailable} },
			refused: RefusedStoreDown, met: lookupTally{sealerUnavailable: 1}},
		{name: "store entry altered", config: func(c *Config) {
			c.SingleUseTickets = true
			c.SessionStore = brokenStore{ErrStoreEntryInvalid}
		}, refused: RefusedStoreEntry},

		// Not offers.
		{name: "no pre_shared_key", offer: func(h *wire.ClientHello, ids []identity) []identity { return nil }},

		// MUST-abort (RFC 8446, Sections 4.2.9 and 4.2.11).
		{name: "bad binder", offer: func(h *wire.ClientHello, ids []identity) []identity {
			ids[0].secret = bytes.Repeat([]byte{2}, 32)
			return ids
		}, err: ErrBadBinder, met: lookupTally{ticketsOpened: 1}},
		{name: "first identity refused, then a bad binder: what the lookups met is kept", offer: func(h *wire.ClientHello, ids []identity) []identity {
			old, bad := ids[0], ids[0]
			old.age += 60_000
			bad.secret = bytes.Repeat([]byte{2}, 32)
			return []identity{old, bad}
		}, err: ErrBadBinder, met: lookupTally{ticketsOpened: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := base()
			if tc.session != nil {
				tc.session(s)
			}
			cfg, ticket := sealedTicketFixture(t, now, s)
			if tc.config != nil {
				tc.config(cfg)
			}
			if cfg.ticketMode13() == tickets13Stateful {
				if ticket, err = cfg.newTicketID(); err != nil {
					t.Fatal(err)
				}
				if cfg.SessionStore == nil {
					cfg.store().Put(ctx, ticket, s)
				}
			}
			c := Server(nil, cfg)
			cfg.Time = func() time.Time { return now.Add(tc.later) }

			h := &wire.ClientHello{Vers: VersionTLS12, Random: make([]byte, 32), ServerName: "localhost",
				CipherSuites: []uint16{TLS_AES_128_GCM_SHA256}, CompressionMethods: []uint8{0},
				SupportedVersions: []uint16{VersionTLS13}, PSKModes: []uint8{wire.PSKModeDHE}}
			age := uint32(tc.later/time.Millisecond) + s.ageAdd
			ids := []identity{{identity: ticket, age: age, secret: s.secret}}
			if tc.offer != nil {
				ids = tc.offer(h, ids)
			}
			for _, id := range ids {
				h.PSKIdentities = append(h.PSKIdentities, wire.PSKIdentity{Identity: id.identity, ObfuscatedTicketAge: id.age})
				h.PSKBinders = append(h.PSKBinders, make([]byte, suite.hash.Size()))
			}
			raw, err := h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			prior := newTranscript(false)
			prior.SetHash(suite.hash)
			if len(ids) > 0 {
				truncated := raw[:len(raw)-h.BindersLen()]
				for i, id := range ids {
					early := keysched.NewEarlySecret(suite.hash, id.secret)
					h.PSKBinders[i] = keysched.Finished13(suite.hash, early.ResumptionBinderKey(), prior.SumWith(truncated))
				}
				if err := wire.PatchBinders(raw, h.PSKBinders); err != nil {
					t.Fatal(err)
				}
			}

			hs := &server13{c: c, ctx: ctx, hello: h, helloMsg: raw, t: prior, suite: suite,
				group: X25519, clientShare: make([]byte, 32), cacheable: true}
			if tc.hs != nil {
				tc.hs(hs)
			}
			d, err := hs.selectPSK()
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if d.refused != tc.refused || (d.session != nil) != tc.resumed {
				t.Fatalf("decision: refused %q, resumed %v; want %q, %v", d.refused, d.session != nil, tc.refused, tc.resumed)
			}
			if tc.resumed && (d.via != ResumedPSK || d.identity != tc.index || d.dhe != tc.dhe || d.early == nil) {
				t.Errorf("accepted: via %q identity %d dhe %v early %v", d.via, d.identity, d.dhe, d.early != nil)
			}
			if d.met != tc.met {
				t.Errorf("met %+v, want %+v", d.met, tc.met)
			}
			if hs.resumed != nil || hs.early != nil || hs.pskDHE || hs.pskIndex != 0 || c.state.Refused != RefusedNone {
				t.Error("selectPSK wrote into the handshake state")
			}
			if k := cfg.Counters().Snapshot(); k.Misses+k.Timeouts+k.TicketsOpened+k.TicketsStale != 0 || len(k.Refusals) != 0 {
				t.Errorf("selectPSK counted: %+v", k)
			}
		})
	}
}

// sealedTicketFixture is the setup of both versions' decision tables: a
// server Config with its own ticket keys and a clock stopped at now, and
// s sealed into a ticket under them.
func sealedTicketFixture(t *testing.T, now time.Time, s *Session) (*Config, []byte) {
	t.Helper()
	cfg := testServerConfig(t)
	keys, err := NewTicketKeys(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TicketKeys = keys
	cfg.Time = func() time.Time { return now }
	ticket, err := Server(nil, cfg).sealTicket(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ticket
}
