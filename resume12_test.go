package reprise

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/internal/ticket"
	"github.com/reprise-tls/reprise/internal/wire"
)

// clock is an injectable Config.Time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// connect12 makes one TLS 1.2 connection and returns both views of it.
func connect12(t *testing.T, ccfg, scfg *Config) (ConnectionState, ConnectionState, *Conn) {
	t.Helper()
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v; server %v", cerr, serr)
	}
	exchange(t, client, server)
	return client.ConnectionState(), server.ConnectionState(), client
}

func resumeClient(t *testing.T, tickets bool) *Config {
	ccfg := testClientConfig(t)
	ccfg.MaxVersion = VersionTLS12
	ccfg.ClientSessionCache = NewLRUClientSessionCache(0)
	ccfg.SessionTicketsDisabled = !tickets
	return ccfg
}

func TestResumeSessionID(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := resumeClient(t, false)
	c1, s1, _ := connect12(t, ccfg, scfg)
	if c1.DidResume || len(s1.SessionID) != 32 || s1.Resumption != ResumedNone {
		t.Fatalf("first: client %+v server %+v", c1, s1)
	}
	for i := 0; i < 3; i++ {
		c2, s2, _ := connect12(t, ccfg, scfg)
		if !c2.DidResume || c2.Resumption != ResumedSessionID || s2.Resumption != ResumedSessionID {
			t.Fatalf("resume %d: client %+v server %+v", i, c2, s2)
		}
		if !bytes.Equal(c2.SessionID, s1.SessionID) || !c2.ExtendedMasterSecret {
			t.Fatalf("resume %d: session ID %x, want %x", i, c2.SessionID, s1.SessionID)
		}
		if len(c2.PeerCertificates) == 0 {
			t.Fatal("resumed connection lost the peer certificates")
		}
	}
	k := scfg.Counters().Snapshot()
	if k.Accept != 4 || k.AcceptGood != 4 || k.Hits != 3 || k.Misses != 0 {
		t.Fatalf("counters %+v", k)
	}
}

func TestResumeTicket(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SessionCacheMode = SessionCacheOff
	ccfg := resumeClient(t, true)
	_, s1, _ := connect12(t, ccfg, scfg)
	if s1.TicketsIssued != 1 || len(s1.SessionID) != 0 {
		t.Fatalf("first: %+v", s1)
	}
	c2, s2, _ := connect12(t, ccfg, scfg)
	if !c2.DidResume || c2.Resumption != ResumedTicket || s2.Resumption != ResumedTicket {
		t.Fatalf("client %+v server %+v", c2, s2)
	}
	// RFC 5077, Section 3.4: the server echoes the client's random ID.
	if len(c2.SessionID) != 32 {
		t.Fatalf("session ID %x", c2.SessionID)
	}
	if k := scfg.Counters().Snapshot(); k.TicketResumed != 1 || k.TicketsIssued != 1 {
		t.Fatalf("counters %+v", k)
	}
}

// TestExplicitHandOver is the FTPS pattern: a data connection resumes the
// control connection's session, whatever the cache says.
func TestExplicitHandOver(t *testing.T) {
	scfg := testServerConfig(t)
	ctrl := testClientConfig(t)
	ctrl.MaxVersion = VersionTLS12
	ctrl.SessionTicketsDisabled = true
	_, _, conn := connect12(t, ctrl, scfg)
	data := ctrl.Clone()
	data.Session = conn.Session()
	c2, _, _ := connect12(t, data, scfg)
	if c2.Resumption != ResumedSessionID {
		t.Fatalf("data connection did not resume: %+v", c2)
	}
}

func TestRenewTicketWithOldKey(t *testing.T) {
	oldKeys, _ := NewTicketKeys(256, 1)
	scfg := testServerConfig(t)
	scfg.TicketKeys = oldKeys
	ccfg := resumeClient(t, true)
	connect12(t, ccfg, scfg)

	newKeys, _ := NewTicketKeys(128, 1)
	rotated := testServerConfig(t)
	rotated.TicketKeys = &TicketKeys{ring: mustRing(t, append(newKeys.ring.Keys(), oldKeys.ring.Keys()...))}
	c2, s2, _ := connect12(t, ccfg, rotated)
	if c2.Resumption != ResumedTicket || s2.TicketsIssued != 1 {
		t.Fatalf("old ticket: client %+v server %+v", c2, s2)
	}
	// The renewed ticket opens with the new key alone.
	newOnly := testServerConfig(t)
	newOnly.TicketKeys = newKeys
	c3, _, _ := connect12(t, ccfg, newOnly)
	if c3.Resumption != ResumedTicket {
		t.Fatalf("renewed ticket did not resume: %+v", c3)
	}
}

// TestRefusals makes one offer per rule the server checks and asserts the
// precise reason on the server and "server-declined" on the client.
func TestRefusals(t *testing.T) {
	type setup struct {
		name   string
		reason Refusal
		// first prepares both configs for the first connection; second
		// changes them before the second.
		first, second func(t *testing.T, ccfg, scfg *Config, clk *clock)
		tickets       bool
	}
	none := func(*testing.T, *Config, *Config, *clock) {}
	cases := []setup{
		{name: "unknown session", reason: RefusedUnknownSession, first: none, second: func(t *testing.T, c, s *Config, _ *clock) {
			*s = *testServerConfig(t)
		}},
		{name: "expired", reason: RefusedExpired, first: func(t *testing.T, c, s *Config, _ *clock) {
			c.SessionTimeout = time.Hour // the client would still offer it
		}, second: func(t *testing.T, c, s *Config, clk *clock) {
			clk.Advance(301 * time.Second)
		}},
		{name: "ticket expired", reason: RefusedExpired, tickets: true, first: func(t *testing.T, c, s *Config, _ *clock) {
			s.SessionCacheMode = SessionCacheOff
		}, second: func(t *testing.T, c, s *Config, clk *clock) {
			// Offer the ticket past its lifetime hint, as a client with a
			// wrong clock would.
			old := *c.ClientSessionCache.Get("localhost")
			old.lifetime = time.Hour
			c.Session = &old
			clk.Advance(301 * time.Second)
		}},
		{name: "context mismatch", reason: RefusedContext, first: func(t *testing.T, c, s *Config, _ *clock) {
			s.SessionIDContext = []byte("app-a")
		}, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.SessionIDContext = []byte("app-b")
		}},
		{name: "cipher no longer enabled", reason: RefusedCipher, first: func(t *testing.T, c, s *Config, _ *clock) {
			c.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
		}, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
		}},
		{name: "sni mismatch", reason: RefusedSNI, first: func(t *testing.T, c, s *Config, _ *clock) {
			c.InsecureSkipVerify = true
			c.ServerName = "a.example"
			c.Session = nil
		}, second: func(t *testing.T, c, s *Config, _ *clock) {
			// Hand the session over explicitly: the cache is keyed by name.
			c.Session = c.ClientSessionCache.Get("a.example")
			c.ServerName = "b.example"
			// Our client keeps to the session's name (offerable), as
			// `reprise probe` does not: offer it as the probe does.
			c.diagnostics.OfferSessionUnderAnyName = true
		}},
		{name: "ems mismatch", reason: RefusedEMS, first: func(t *testing.T, c, s *Config, _ *clock) {
			c.ExtendedMasterSecret = EMSDisable
		}, second: func(t *testing.T, c, s *Config, _ *clock) {
			c.ExtendedMasterSecret = EMSPrefer
		}},
		{name: "client auth now required", reason: RefusedClientAuth, first: none, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.ClientAuth = RequireAnyClientCert
			c.Certificates = []Certificate{testClientCert(t)}
		}},
		{name: "cache off", reason: RefusedCacheOff, first: none, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.SessionCacheMode = SessionCacheOff
		}},
		{name: "tickets off", reason: RefusedTicketsOff, tickets: true, first: func(t *testing.T, c, s *Config, _ *clock) {
			s.SessionCacheMode = SessionCacheOff
		}, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.SessionTicketsDisabled = true
		}},
		{name: "ticket key unknown", reason: RefusedTicketKey, tickets: true, first: none, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.TicketKeys, _ = NewTicketKeys(256, 1)
			s.SessionCacheMode = SessionCacheOff
		}},
		{name: "not resumable", reason: RefusedNotResumable, first: none, second: func(t *testing.T, c, s *Config, _ *clock) {
			s.AllowNewSession = func(*ClientHelloInfo) bool { return false }
		}},
		// A TLS 1.3 ticket from the same server, sealed by the same keys,
		// offered in a TLS 1.2 session_ticket extension: it opens, and the
		// TLS 1.3 PSK is not taken for a TLS 1.2 master secret.
		{name: "TLS 1.3 ticket in TLS 1.2", reason: RefusedVersion, tickets: true, first: func(t *testing.T, c, s *Config, _ *clock) {
			c.MaxVersion = VersionTLS13
		}, second: func(t *testing.T, c, s *Config, _ *clock) {
			s13 := c.ClientSessionCache.Get("localhost")
			if s13 == nil || s13.Version() != VersionTLS13 || !s13.HasTicket() {
				t.Fatal("no TLS 1.3 ticket")
			}
			as12 := *s13
			as12.version, as12.cipherSuite = VersionTLS12, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
			c.MaxVersion, c.Session = VersionTLS12, &as12
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			scfg := testServerConfig(t)
			scfg.Time = clk.Now
			ccfg := resumeClient(t, tc.tickets)
			ccfg.Time = clk.Now
			tc.first(t, ccfg, scfg, clk)
			connect12(t, ccfg, scfg)
			// A changed server Config keeps the first one's cache,
			// counters and ticket keys, as a reconfigured server would.
			s2 := scfg.Clone()
			tc.second(t, ccfg, s2, clk)
			if s2.Time == nil {
				s2.Time = clk.Now
			}
			c, s, _ := connect12(t, ccfg, s2)
			if s.DidResume || s.Refused != tc.reason {
				t.Fatalf("server: resumed=%v refused=%q, want %q", s.DidResume, s.Refused, tc.reason)
			}
			if c.DidResume || c.Refused != RefusedServerDeclined {
				t.Fatalf("client: resumed=%v refused=%q", c.DidResume, c.Refused)
			}
			if n := s2.Counters().Snapshot().Refusals[string(tc.reason)]; n != 1 {
				t.Fatalf("refusal counter %d", n)
			}
		})
	}
}

// TestClientAuthSatisfiedBy: the client-authentication rule both
// versions' resumption decisions share, on a session holding a real client
// certificate.
func TestClientAuthSatisfiedBy(t *testing.T) {
	cert := testClientCert(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	now := leaf.NotBefore.Add(time.Hour)
	withCert := &Session{peerCerts: cert.Certificate, verified: true}
	unverified := &Session{peerCerts: cert.Certificate}
	noCert := &Session{}
	for _, tc := range []struct {
		name string
		auth ClientAuthType
		s    *Session
		at   time.Time
		want bool
	}{
		{"no client auth, no certificate", NoClientCert, noCert, now, true},
		{"required, session has none", RequireAnyClientCert, noCert, now, false},
		{"required, session has one", RequireAnyClientCert, unverified, now, true},
		{"verified, session has a verified one", RequireAndVerifyClientCert, withCert, now, true},
		{"verified, session's was not verified", RequireAndVerifyClientCert, unverified, now, false},
		{"verify if given, session's was not verified", VerifyClientCertIfGiven, unverified, now, false},
		{"verify if given, session has none", VerifyClientCertIfGiven, noCert, now, true},
		{"verified, certificate expired since", RequireAndVerifyClientCert, withCert, leaf.NotAfter.Add(time.Minute), false},
		{"verify if given, certificate expired since", VerifyClientCertIfGiven, withCert, leaf.NotAfter.Add(time.Minute), false},
		{"not verified now, certificate expired since", RequireAnyClientCert, withCert, leaf.NotAfter.Add(time.Minute), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{ClientAuth: tc.auth}
			if got := cfg.clientAuthSatisfiedBy(tc.s, tc.at); got != tc.want {
				t.Errorf("clientAuthSatisfiedBy = %v, want %v", got, tc.want)
			}
		})
	}
}

func testClientCert(t testing.TB) Certificate {
	pc := peertest.ClientCert(t, peertest.ECDSAP256)
	cert, err := X509KeyPair(pc.CertPEM, pc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestClientChecksResumption: a server that resumes on other terms than
// the session's is refused by the client.
func TestClientChecksResumption(t *testing.T) {
	s := &Session{version: VersionTLS12, cipherSuite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ems: true,
		id: bytes.Repeat([]byte{7}, 32), secret: make([]byte, 48)}
	cases := []struct {
		name string
		sh   func(*wire.ServerHello)
		err  error
	}{
		{"other suite", func(sh *wire.ServerHello) { sh.CipherSuite = TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 }, ErrResumedCipherMismatch},
		{"EMS dropped (RFC 7627 5.3)", func(sh *wire.ServerHello) { sh.ExtendedMasterSecret = false }, ErrEMSDowngrade},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testClientConfig(t)
			c := Client(nil, cfg)
			h := &wire.ClientHello{SessionID: s.id, ExtendedMasterSecret: true,
				CipherSuites: []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}
			sh := &wire.ServerHello{Vers: VersionTLS12, Random: make([]byte, 32), SessionID: s.id,
				CipherSuite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ExtendedMasterSecret: true}
			tc.sh(sh)
			hs := &client12{c: c, ch: &clientHello{c: c, hello: h, offered: s}, hello: h, sh: sh, t: newTranscript(false)}
			if err := hs.processServerHello(); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestClientOfferable: the client's own checks before it offers a
// session, on real sessions of both versions. A session is not offered
// when resuming would skip a check the full handshake would make.
func TestClientOfferable(t *testing.T) {
	scfg := testServerConfig(t)
	session := func(t *testing.T, vers uint16, insecure bool) *Session {
		return clientSession(t, scfg, vers, insecure)
	}
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		verified, unverified := session(t, vers, false), session(t, vers, true)
		certs, err := verified.PeerCertificates()
		if err != nil {
			t.Fatal(err)
		}
		notAfter := certs[0].NotAfter
		for _, tc := range []struct {
			name   string
			s      *Session
			change func(cfg *Config, hello *wire.ClientHello) *Session // nil: offer tc.s as is
			want   Refusal
		}{
			{name: "fresh", s: verified, want: RefusedNone},
			{name: "expired", s: verified, want: RefusedExpired, change: func(cfg *Config, _ *wire.ClientHello) *Session {
				cfg.Time = func() time.Time { return verified.created.Add(verified.lifetime) }
				return nil
			}},
			{name: "version no longer enabled", s: verified, want: RefusedVersion, change: func(cfg *Config, _ *wire.ClientHello) *Session {
				cfg.MinVersion, cfg.MaxVersion = otherVersion(vers), otherVersion(vers)
				return nil
			}},
			{name: "suite no longer enabled", s: verified, want: RefusedCipher, change: func(cfg *Config, _ *wire.ClientHello) *Session {
				cfg.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_CHACHA20_POLY1305_SHA256}
				return nil
			}},
			{name: "made without verification", s: unverified, want: RefusedCertificate},
			{name: "made without verification, now insecure too", s: unverified, want: RefusedNone, change: func(cfg *Config, _ *wire.ClientHello) *Session {
				cfg.InsecureSkipVerify = true
				return nil
			}},
			{name: "other server name", s: verified, want: RefusedCertificate, change: func(cfg *Config, _ *wire.ClientHello) *Session {
				cfg.ServerName = "other.example"
				return nil
			}},
			{name: "certificate expired since", s: verified, want: RefusedCertificate, change: func(cfg *Config, _ *wire.ClientHello) *Session {
				// The session itself is still live: only the certificate
				// that it vouches for has run out.
				cfg.Time = func() time.Time { return notAfter.Add(time.Minute) }
				stretched := *verified
				stretched.created, stretched.lifetime = notAfter.Add(-time.Minute), time.Hour
				return &stretched
			}},
		} {
			t.Run(VersionName(vers)+"/"+tc.name, func(t *testing.T) {
				cfg := testClientConfig(t)
				hello := &wire.ClientHello{ExtendedMasterSecret: true}
				s := tc.s
				if tc.change != nil {
					if changed := tc.change(cfg, hello); changed != nil {
						s = changed
					}
				}
				hs := &clientHello{c: Client(nil, cfg), hello: hello}
				if got := hs.offerable(s); got != tc.want {
					t.Errorf("offerable = %q, want %q", got, tc.want)
				}
			})
		}
	}
	t.Run("TLS1.2/EMS session, hello without EMS", func(t *testing.T) {
		hs := &clientHello{c: Client(nil, testClientConfig(t)), hello: &wire.ClientHello{}}
		if got := hs.offerable(session(t, VersionTLS12, false)); got != RefusedEMS {
			t.Errorf("offerable = %q, want %q", got, RefusedEMS)
		}
	})
}

// otherVersion is the one of TLS 1.2 and TLS 1.3 that v is not.
func otherVersion(v uint16) uint16 {
	if v == VersionTLS12 {
		return VersionTLS13
	}
	return VersionTLS12
}

// TestClientDoesNotVouchForUnverifiedSession: a session from a connection
// that skipped certificate verification, handed to a connection that
// verifies, is not offered: that connection makes a full handshake and
// checks the certificate, and says why it did not resume.
func TestClientDoesNotVouchForUnverifiedSession(t *testing.T) {
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			scfg := testServerConfig(t)
			insecure := testClientConfig(t)
			insecure.MaxVersion, insecure.InsecureSkipVerify = vers, true
			client, server, cerr, serr := handshakePair(t, insecure, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			exchange(t, client, server)
			secure := testClientConfig(t)
			secure.MaxVersion, secure.Session = vers, client.Session()
			client, server, cerr, serr = handshakePair(t, secure, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			cs, ss := client.ConnectionState(), server.ConnectionState()
			if cs.DidResume || cs.Refused != RefusedCertificate || len(cs.VerifiedChains) == 0 {
				t.Errorf("client: resumed=%v refused=%q verified chains %d", cs.DidResume, cs.Refused, len(cs.VerifiedChains))
			}
			if ss.DidResume || ss.Refused != RefusedNone {
				t.Errorf("server: resumed=%v refused=%q, want nothing offered", ss.DidResume, ss.Refused)
			}
		})
	}
}

// TestTamperedTickets flips, truncates and extends a ticket: every variant
// gives a full handshake and no crash.
func TestTamperedTickets(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SessionCacheMode = SessionCacheOff
	ccfg := resumeClient(t, true)
	_, _, conn := connect12(t, ccfg, scfg)
	orig := conn.Session()
	variants := [][]byte{orig.ticket[:len(orig.ticket)-1], append(bytes.Clone(orig.ticket), 0), orig.ticket[:16]}
	for i := range orig.ticket {
		v := bytes.Clone(orig.ticket)
		v[i] ^= 0x80
		variants = append(variants, v)
	}
	for i, v := range variants {
		s := *orig
		s.ticket = v
		c := ccfg.Clone()
		c.ClientSessionCache = nil
		c.Session = &s
		cs, ss, _ := connect12(t, c, scfg)
		if cs.DidResume || (ss.Refused != RefusedTicketInvalid && ss.Refused != RefusedTicketKey) {
			t.Fatalf("variant %d: resumed=%v refused=%q", i, cs.DidResume, ss.Refused)
		}
	}
}

func TestCacheCallbacksAndModes(t *testing.T) {
	var mu sync.Mutex
	external := map[string]*Session{}
	var removed int
	scfg := testServerConfig(t)
	scfg.SessionCacheMode = SessionCacheServer | SessionCacheNoInternalLookup
	scfg.OnNewSession = func(s *Session) { mu.Lock(); external[string(s.ID())] = s; mu.Unlock() }
	scfg.GetSession = func(id []byte) *Session { mu.Lock(); defer mu.Unlock(); return external[string(id)] }
	scfg.OnRemoveSession = func(*Session) { mu.Lock(); removed++; mu.Unlock() }
	ccfg := resumeClient(t, false)
	connect12(t, ccfg, scfg)
	c2, _, _ := connect12(t, ccfg, scfg)
	if c2.Resumption != ResumedSessionID {
		t.Fatal("GetSession callback did not resume")
	}
	if k := scfg.Counters().Snapshot(); k.CallbackHits != 1 {
		t.Fatalf("cb_hits %d", k.CallbackHits)
	}

	// NoAutoClear keeps expired sessions until Flush.
	clk := newClock()
	s2 := testServerConfig(t)
	s2.Time = clk.Now
	s2.SessionCacheMode = SessionCacheServer | SessionCacheNoAutoClear
	s2.OnRemoveSession = scfg.OnRemoveSession
	c := resumeClient(t, false)
	c.Time = clk.Now
	connect12(t, c, s2)
	clk.Advance(time.Hour)
	if n := s2.internalCache().Len(); n != 1 {
		t.Fatalf("cache holds %d", n)
	}
	if n := s2.FlushSessionCache(clk.Now()); n != 1 {
		t.Fatalf("flushed %d", n)
	}
	if removed != 1 {
		t.Fatalf("OnRemoveSession called %d times", removed)
	}
}

// TestConcurrentResumption: many goroutines resume at once against one
// server Config (run with -race).
func TestConcurrentResumption(t *testing.T) {
	scfg := testServerConfig(t)
	for _, tickets := range []bool{false, true} {
		ccfg := resumeClient(t, tickets)
		connect12(t, ccfg, scfg)
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 4; j++ {
					client, _, cerr, serr := handshakePair(t, ccfg, scfg)
					if cerr != nil || serr != nil {
						errs <- errors.Join(cerr, serr)
						return
					}
					if !client.ConnectionState().DidResume {
						errs <- errors.New("did not resume")
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

func mustRing(t *testing.T, keys []ticket.Key) *ticket.Ring {
	t.Helper()
	r, err := ticket.NewRing(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// countingSealer is a TicketSealer that a fleet might write: it delegates
// to shared keys and counts.
type countingSealer struct {
	keys         *TicketKeys
	seals, opens int
	mu           sync.Mutex
}

func (s *countingSealer) SealTicket(ctx context.Context, now time.Time, rand io.Reader, p []byte) ([]byte, error) {
	s.mu.Lock()
	s.seals++
	s.mu.Unlock()
	return s.keys.SealTicket(ctx, now, rand, p)
}

func (s *countingSealer) OpenTicket(ctx context.Context, now time.Time, t []byte) ([]byte, TicketStatus) {
	s.mu.Lock()
	s.opens++
	s.mu.Unlock()
	return s.keys.OpenTicket(ctx, now, t)
}

// TestCustomTicketSealer: two servers sharing a TicketSealer resume each
// other's tickets.
func TestCustomTicketSealer(t *testing.T) {
	keys, _ := NewTicketKeys(128, 2)
	sealer := &countingSealer{keys: keys}
	a, b := testServerConfig(t), testServerConfig(t)
	a.TicketSealer, b.TicketSealer = sealer, sealer
	a.SessionCacheMode, b.SessionCacheMode = SessionCacheOff, SessionCacheOff
	ccfg := resumeClient(t, true)
	connect12(t, ccfg, a)
	c, _, _ := connect12(t, ccfg, b)
	if c.Resumption != ResumedTicket || sealer.seals != 1 || sealer.opens != 1 {
		t.Fatalf("resumption %q, seals %d, opens %d", c.Resumption, sealer.seals, sealer.opens)
	}
}

// failingSealer cannot seal: the server must keep the promise its empty
// session_ticket extension made with a zero-length ticket (RFC 5077,
// Section 3.3).
type failingSealer struct{}

func (failingSealer) SealTicket(context.Context, time.Time, io.Reader, []byte) ([]byte, error) {
	return nil, errors.New("sealer down")
}
func (failingSealer) OpenTicket(context.Context, time.Time, []byte) ([]byte, TicketStatus) {
	return nil, TicketInvalid
}

func TestEmptyTicketWhenSealingFails(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.TicketSealer = failingSealer{}
	ccfg := resumeClient(t, true)
	var nst []string
	ccfg.Tracer = func(ev TraceEvent) {
		if ev.Message == "NewSessionTicket" {
			nst = append(nst, ev.Detail)
		}
	}
	_, s1, conn := connect12(t, ccfg, scfg)
	if len(nst) != 1 || s1.TicketsIssued != 0 {
		t.Fatalf("NewSessionTicket %q, issued %d", nst, s1.TicketsIssued)
	}
	if sess := conn.Session(); sess == nil || sess.HasTicket() {
		t.Fatal("an empty ticket must leave a session-ID session, no ticket")
	}
	// The session ID still resumes.
	c2, _, _ := connect12(t, ccfg, scfg)
	if c2.Resumption != ResumedSessionID {
		t.Fatalf("second connection %+v", c2)
	}
}

// TestTicketLifetimeHint: the hint is the session timeout, never 0 (Java
// discards TLS 1.2 tickets whose hint is 0).
func TestTicketLifetimeHint(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SessionTimeout = 90 * time.Second
	ccfg := resumeClient(t, true)
	_, _, conn := connect12(t, ccfg, scfg)
	if s := conn.Session(); s == nil || !s.HasTicket() || s.Lifetime() != 90*time.Second {
		t.Fatalf("session %+v", s)
	}
}

// TestCacheFullCounter: sessions pushed out of a full cache are counted
// as cache_full (SSL_CTX_sess_cache_full).
func TestCacheFullCounter(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.MaxCachedSessions = 1
	scfg.SessionTicketsDisabled = true
	for range 3 {
		connect12(t, resumeClient(t, false), scfg)
	}
	if k := scfg.Counters().Snapshot(); k.CacheFull != 2 {
		t.Fatalf("cache_full %d, want 2", k.CacheFull)
	}
}

// TestTicketedSessionNotCached: a TLS 1.2 session sent to the client as a
// ticket is not cached as well (OpenSSL's rule, so nginx's): no store
// write, no OnNewSession, no room taken in the cache; a client that
// cannot take tickets still gets its session cached. Checked with
// crypto/tls clients, which resume by ticket only, and a reprise client
// that keeps the session ID too.
func TestTicketedSessionNotCached(t *testing.T) {
	scfg := testServerConfig(t)
	var cached int
	scfg.OnNewSession = func(*Session) { cached++ }

	gcfg := goClientConfig(t)
	gcfg.MaxVersion = tls.VersionTLS12
	gcfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	goPair(t, false, scfg, gcfg)
	if cached != 0 {
		t.Fatalf("session sent as a ticket to crypto/tls was cached too (%d)", cached)
	}
	_, gc := goPair(t, false, scfg, gcfg)
	if !gc.ConnectionState().DidResume {
		t.Fatal("crypto/tls did not resume by ticket")
	}

	gcfg.SessionTicketsDisabled = true
	goPair(t, false, scfg, gcfg)
	if cached != 1 {
		t.Fatalf("session of a client without tickets: cached %d times, want 1", cached)
	}

	// A reprise client with tickets resumes by ticket.
	cached = 0
	ccfg := resumeClient(t, true)
	connect12(t, ccfg, scfg)
	c2, _, _ := connect12(t, ccfg, scfg)
	if cached != 0 || c2.Resumption != ResumedTicket {
		t.Fatalf("cached %d, second connection %+v", cached, c2)
	}
}
