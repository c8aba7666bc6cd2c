package reprise

import (
	"bytes"
	"crypto/tls"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/internal/wire"
)

// resumeClient13 is a TLS 1.3 client with a session cache.
func resumeClient13(t *testing.T) *Config {
	ccfg := testClientConfig(t)
	ccfg.ClientSessionCache = NewLRUClientSessionCache(0)
	return ccfg
}

// withHello13 installs a ClientHello hook for the rest of the test.
func withHello13(t *testing.T, f func(*wire.ClientHello)) {
	withHellos13(t, func(h *wire.ClientHello, retry bool) {
		if !retry {
			f(h)
		}
	})
}

// withHellos13 is withHello13 for first and retried ClientHellos.
func withHellos13(t *testing.T, f func(h *wire.ClientHello, retry bool)) {
	testHookClientHello13 = f
	t.Cleanup(func() { testHookClientHello13 = nil })
}

// firstSession13 makes a full handshake and returns the session of its
// newest ticket.
func firstSession13(t *testing.T, ccfg, scfg *Config) *Session {
	t.Helper()
	client, server := connect13(t, ccfg, scfg)
	if st := server.ConnectionState(); st.DidResume || st.TicketsIssued == 0 {
		t.Fatalf("first connection: %+v", st)
	}
	s := client.Session()
	if s == nil || s.Version() != VersionTLS13 || !s.HasTicket() {
		t.Fatalf("client session %+v", s)
	}
	return s
}

func TestResume13(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	for i := range 3 {
		client, server := connect13(t, ccfg, scfg)
		cs, ss := client.ConnectionState(), server.ConnectionState()
		for _, st := range []ConnectionState{cs, ss} {
			if !st.DidResume || st.Resumption != ResumedPSK || st.Refused != RefusedNone || st.CurveID == 0 || !st.ExtendedMasterSecret {
				t.Fatalf("resumption %d: %+v", i, st)
			}
		}
		// One ticket replaces the one spent (tickets_server.go).
		if len(cs.PeerCertificates) == 0 || cs.TicketsIssued != 1 || ss.TicketsIssued != 1 {
			t.Fatalf("resumption %d: client %+v server %+v", i, cs, ss)
		}
	}
	k := scfg.Counters().Snapshot()
	if k.PSKResumed != 3 || k.Hits != 3 || k.TicketsIssued != 2+3 {
		t.Fatalf("server counters %+v", k)
	}
	if k := ccfg.Counters().Snapshot(); k.ConnectResumed != 3 {
		t.Fatalf("client counters %+v", k)
	}
}

// TestResume13EachTicketOnce: a client keeps every ticket of a connection
// and offers each in one later connection only (RFC 8446, Appendix C.4).
func TestResume13EachTicketOnce(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.TicketsPerConnection = 4
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	// A server that issues no tickets lets the client run dry.
	quiet := scfg.Clone()
	quiet.TicketsPerConnection = -1
	seen := map[string]bool{}
	withHello13(t, func(h *wire.ClientHello) {
		for _, id := range h.PSKIdentities {
			if seen[string(id.Identity)] {
				t.Errorf("ticket offered twice")
			}
			seen[string(id.Identity)] = true
		}
	})
	for i := range 5 {
		client, _ := connect13(t, ccfg, quiet)
		if got, want := client.ConnectionState().DidResume, i < 4; got != want {
			t.Fatalf("connection %d: DidResume %v", i, got)
		}
	}
	if len(seen) != 4 {
		t.Fatalf("%d tickets offered", len(seen))
	}
}

// TestResume13HandOver: Conn.Session carried to another connection and
// through the PEM encoding resumes (the FTPS data-connection pattern).
func TestResume13HandOver(t *testing.T) {
	scfg := testServerConfig(t)
	s := firstSession13(t, testClientConfig(t), scfg)
	pemBytes, err := s.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSessionPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	ccfg := testClientConfig(t)
	ccfg.Session = s2
	client, _ := connect13(t, ccfg, scfg)
	if st := client.ConnectionState(); !st.DidResume || len(st.PeerCertificates) == 0 {
		t.Fatalf("state %+v", st)
	}
}

func TestResume13WithHelloRetryRequest(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	retry := scfg.Clone()
	retry.CurvePreferences = []CurveID{CurveP384}
	client, server := connect13(t, ccfg, retry)
	for _, st := range []ConnectionState{client.ConnectionState(), server.ConnectionState()} {
		if !st.DidResume || !st.HelloRetryRequest || st.CurveID != CurveP384 {
			t.Fatalf("state %+v", st)
		}
	}
}

// TestResume13PSKOnly: psk_ke resumes only where the server allows it.
func TestResume13PSKOnly(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg) // two tickets: one per connection below
	withHello13(t, func(h *wire.ClientHello) { h.PSKModes = []uint8{wire.PSKModePlain} })

	_, server := connect13(t, ccfg, scfg)
	if st := server.ConnectionState(); st.DidResume || st.Refused != RefusedPSKMode || st.TicketsIssued != 0 {
		t.Fatalf("psk_ke not allowed: %+v", st)
	}
	allow := scfg.Clone()
	allow.AllowPSKWithoutDHE = true
	client, server := connect13(t, ccfg, allow)
	for _, st := range []ConnectionState{client.ConnectionState(), server.ConnectionState()} {
		if !st.DidResume || st.CurveID != 0 {
			t.Fatalf("psk_ke allowed: %+v", st)
		}
	}
}

// TestResume13SecondIdentity: the first acceptable identity wins; an
// unknown one before it is skipped, and its reason is not reported.
func TestResume13SecondIdentity(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := resumeClient13(t)
	firstSession13(t, ccfg, scfg)
	withHello13(t, func(h *wire.ClientHello) {
		h.PSKIdentities = append([]wire.PSKIdentity{{Identity: []byte("not a ticket")}}, h.PSKIdentities...)
		h.PSKBinders = append([][]byte{make([]byte, 32)}, h.PSKBinders...)
	})
	var selected []string
	cc := ccfg.Clone()
	cc.Tracer = func(ev TraceEvent) {
		if !ev.Sent && ev.Message == "ServerHello" {
			selected = append(selected, ev.Detail)
		}
	}
	client, _ := connect13(t, cc, scfg)
	if st := client.ConnectionState(); !st.DidResume || len(selected) != 1 || !bytes.Contains([]byte(selected[0]), []byte("selected_psk=1")) {
		t.Fatalf("state %+v, ServerHello %q", st, selected)
	}
}

func TestResume13SingleUseTickets(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SingleUseTickets = true
	s := firstSession13(t, testClientConfig(t), scfg)
	if len(s.ticket) != ticketIDLen || !isOurTicketID(s.ticket) {
		t.Fatalf("single-use ticket of %d bytes", len(s.ticket))
	}
	ccfg := testClientConfig(t)
	ccfg.Session = s
	client, _ := connect13(t, ccfg, scfg)
	if !client.ConnectionState().DidResume {
		t.Fatal("first use did not resume")
	}
	client, server := connect13(t, ccfg, scfg)
	if client.ConnectionState().DidResume || server.ConnectionState().Refused != RefusedUnknownSession {
		t.Fatalf("replayed ticket: %+v", server.ConnectionState())
	}
}

// TestRefusals13 checks every reason a TLS 1.3 server declines a PSK:
// the handshake completes in full and both sides say why.
func TestRefusals13(t *testing.T) {
	otherKeys, err := NewTicketKeys(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		want   Refusal
		setup  func(t *testing.T, scfg, ccfg *Config) // before the first connection
		change func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config)
	}{
		{name: "expired", want: RefusedExpired,
			setup: func(t *testing.T, scfg, ccfg *Config) { scfg.TicketLifetime = time.Hour },
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				clk.Advance(2 * time.Hour)
				return scfg, ccfg
			}},
		{name: "age-window", want: RefusedAgeWindow,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				clk.Advance(time.Minute)
				return scfg, ccfg
			}},
		{name: "sni-mismatch", want: RefusedSNI,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				other := *s
				other.serverName = "example.com"
				ccfg.Session, ccfg.ServerName, ccfg.InsecureSkipVerify = &other, "example.com", true
				return scfg, ccfg
			}},
		{name: "alpn-mismatch", want: RefusedALPN,
			setup: func(t *testing.T, scfg, ccfg *Config) {
				scfg.NextProtos = []string{"h2", "http/1.1"}
				ccfg.NextProtos = []string{"h2"}
			},
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				ccfg.NextProtos = []string{"http/1.1"}
				return scfg, ccfg
			}},
		{name: "cipher-mismatch", want: RefusedCipher,
			setup: func(t *testing.T, scfg, ccfg *Config) { scfg.CipherSuites = []uint16{TLS_AES_256_GCM_SHA384} },
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				scfg.CipherSuites = []uint16{TLS_AES_128_GCM_SHA256}
				return scfg, ccfg
			}},
		{name: "client-auth-mismatch", want: RefusedClientAuth,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				scfg.ClientAuth = RequireAnyClientCert
				ccfg.Certificates = []Certificate{testClientCert(t)}
				return scfg, ccfg
			}},
		{name: "context-mismatch", want: RefusedContext,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				scfg.SessionIDContext = []byte("another application")
				return scfg, ccfg
			}},
		{name: "ticket-key-unknown", want: RefusedTicketKey,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				scfg.TicketKeys = otherKeys
				return scfg, ccfg
			}},
		{name: "ticket-invalid (tampered)", want: RefusedTicketInvalid,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				other := *s
				other.ticket = bytes.Clone(s.ticket)
				other.ticket[len(other.ticket)/2] ^= 1
				ccfg.Session = &other
				return scfg, ccfg
			}},
		{name: "ticket-invalid (truncated)", want: RefusedTicketInvalid,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				other := *s
				other.ticket = s.ticket[:len(s.ticket)-1]
				ccfg.Session = &other
				return scfg, ccfg
			}},
		{name: "ticket-key-unknown (key name)", want: RefusedTicketKey,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				other := *s
				other.ticket = bytes.Clone(s.ticket)
				other.ticket[0] ^= 1
				ccfg.Session = &other
				return scfg, ccfg
			}},
		{name: "ticket-invalid (short)", want: RefusedTicketInvalid,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				other := *s
				other.ticket = []byte("short")
				ccfg.Session = &other
				return scfg, ccfg
			}},
		// A TLS 1.2 ticket from the same server, sealed by the same keys,
		// offered as a TLS 1.3 PSK identity: it opens, and is refused.
		{name: "version-mismatch", want: RefusedVersion,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				c12 := testClientConfig(t)
				c12.MaxVersion = VersionTLS12
				s12cfg := scfg.Clone()
				s12cfg.SessionCacheMode = SessionCacheOff // resume by ticket only
				_, _, conn := connect12(t, c12, s12cfg)
				if s12 := conn.Session(); s12 == nil || !s12.HasTicket() {
					t.Fatal("no TLS 1.2 ticket")
				} else {
					other := *s
					other.ticket = s12.ticket
					ccfg.Session = &other
				}
				return scfg, ccfg
			}},
		{name: "tickets-off", want: RefusedTicketsOff,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				scfg.SessionTicketsDisabled = true
				return scfg, ccfg
			}},
		{name: "not-resumable", want: RefusedNotResumable,
			change: func(t *testing.T, clk *clock, scfg, ccfg *Config, s *Session) (*Config, *Config) {
				scfg.AllowNewSession = func(*ClientHelloInfo) bool { return false }
				return scfg, ccfg
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			scfg := testServerConfig(t)
			scfg.Time = clk.Now
			ccfg := testClientConfig(t)
			if tc.setup != nil {
				tc.setup(t, scfg, ccfg)
			}
			s := firstSession13(t, ccfg, scfg)
			scfg2, ccfg2 := scfg.Clone(), ccfg.Clone()
			ccfg2.Session = s
			scfg2, ccfg2 = tc.change(t, clk, scfg2, ccfg2, s)
			client, server := connect13(t, ccfg2, scfg2)
			cs, ss := client.ConnectionState(), server.ConnectionState()
			if cs.DidResume || ss.DidResume || ss.Refused != tc.want || cs.Refused != RefusedServerDeclined {
				t.Fatalf("client %+v\nserver %+v", cs, ss)
			}
			if k := scfg.Counters().Snapshot(); k.Refusals[string(tc.want)] != 1 {
				t.Fatalf("refusal counters %v", k.Refusals)
			}
		})
	}
}

// TestPSKAborts13: the MUST-abort cases of the server's PSK decision.
func TestPSKAborts13(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hook  func(h *wire.ClientHello)
		forge bool // offer the session with a wrong secret
		want  Alert
	}{
		{name: "bad binder", forge: true, want: AlertDecryptError},
		{name: "no psk_key_exchange_modes", hook: func(h *wire.ClientHello) { h.PSKModes = nil }, want: AlertMissingExtension},
		{name: "more binders than identities", hook: func(h *wire.ClientHello) { h.PSKBinders = append(h.PSKBinders, make([]byte, 32)) }, want: AlertIllegalParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			s := firstSession13(t, testClientConfig(t), scfg)
			ccfg := testClientConfig(t)
			ccfg.Session = s
			if tc.forge {
				forged := *s
				forged.secret = bytes.Clone(s.secret)
				forged.secret[0] ^= 1
				ccfg.Session = &forged
			}
			if tc.hook != nil {
				withHello13(t, tc.hook)
			}
			_, _, cerr, serr := handshakePair(t, ccfg, scfg)
			wantAlert(t, "server", serr, tc.want, false)
			wantAlert(t, "client", cerr, tc.want, true)
			if tc.forge && !errors.Is(serr, ErrBadBinder) {
				t.Fatalf("server error %v is not ErrBadBinder", serr)
			}
		})
	}
}

// TestResume13ClientChecks: the client refuses a ServerHello that selects
// a PSK it did not offer (RFC 8446, Sections 4.2 and 4.2.11).
func TestResume13ClientChecks(t *testing.T) {
	hello := &wire.ClientHello{CipherSuites: []uint16{TLS_AES_128_GCM_SHA256}}
	c := Client(nil, testClientConfig(t))
	hs := &client13{c: c, ch: &clientHello{c: c, hello: hello}, hello: hello, offer: &client13Offer{}, t: newTranscript(false),
		sh: &wire.ServerHello{Vers: VersionTLS12, SupportedVersion: VersionTLS13, CipherSuite: TLS_AES_128_GCM_SHA256,
			Random: make([]byte, 32), HasSelectedPSK: true, Extensions: []uint16{wire.ExtSupportedVersions, wire.ExtPreSharedKey}}}
	err := hs.processServerHello([]byte{2, 0, 0, 0})
	if a, ok := alertFor(err); !ok || a != AlertUnsupportedExtension {
		t.Fatalf("unsolicited pre_shared_key: %v", err)
	}
	hello.PSKIdentities = []wire.PSKIdentity{{Identity: []byte("x")}}
	err = hs.processServerHello([]byte{2, 0, 0, 0})
	if a, ok := alertFor(err); !ok || a != AlertIllegalParameter {
		t.Fatalf("selected PSK not offered: %v", err)
	}
}

// TestCryptoTLSResumption13: crypto/tls's client resumes against reprise,
// and reprise resumes against crypto/tls's server.
func TestCryptoTLSResumption13(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, g := range []CurveID{X25519MLKEM768, X25519} {
		goCurve := map[CurveID]tls.CurveID{X25519MLKEM768: tls.X25519MLKEM768, X25519: tls.X25519}[g]
		t.Run("crypto/tls client/"+g.String(), func(t *testing.T) {
			scfg := testServerConfig(t)
			ccfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), CurvePreferences: []tls.CurveID{goCurve},
				ClientSessionCache: tls.NewLRUClientSessionCache(0)}
			for i := range 3 {
				a, b := memPipe()
				srv := Server(b, scfg)
				go echoOnce(srv)
				c := tls.Client(a, ccfg)
				roundTrip(t, c)
				if got := c.ConnectionState().DidResume; got != (i > 0) {
					t.Fatalf("connection %d: DidResume=%v", i, got)
				}
				if st := srv.ConnectionState(); st.DidResume != (i > 0) || st.CurveID != g {
					t.Fatalf("connection %d: server %+v", i, st)
				}
			}
			if k := scfg.Counters().Snapshot(); k.PSKResumed != 2 {
				t.Fatalf("counters %+v", k)
			}
		})
		t.Run("reprise client/"+g.String(), func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}, CurvePreferences: []tls.CurveID{goCurve}}
			ccfg := resumeClient13(t)
			for i := range 3 {
				a, b := memPipe()
				go echoOnce(tls.Server(b, scfg))
				c := Client(a, ccfg)
				roundTrip(t, c)
				st := c.ConnectionState()
				if st.DidResume != (i > 0) || st.Version != VersionTLS13 || st.CurveID != g {
					t.Fatalf("connection %d: %+v", i, st)
				}
				if i > 0 && st.Resumption != ResumedPSK {
					t.Fatalf("connection %d: %+v", i, st)
				}
			}
		})
	}
}

// TestConcurrentResumption13: many connections resume at once from one
// server config (run with -race).
func TestConcurrentResumption13(t *testing.T) {
	scfg := testServerConfig(t)
	s := firstSession13(t, testClientConfig(t), scfg)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ccfg := testClientConfig(t)
			ccfg.Session = s
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				errs <- cerr.Error()
				return
			}
			if !client.ConnectionState().DidResume || !server.ConnectionState().DidResume {
				errs <- "did not resume"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestCryptoTLSResumption13HRR: resumption across a HelloRetryRequest, which
// recomputes the binder over the new transcript, with crypto/tls on
// either side.
func TestCryptoTLSResumption13HRR(t *testing.T) {
	pc := peertest.Certs(t, peertest.ECDSAP256)
	t.Run("crypto/tls client", func(t *testing.T) {
		scfg := testServerConfig(t)
		scfg.CurvePreferences = []CurveID{CurveP384}
		ccfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), ClientSessionCache: tls.NewLRUClientSessionCache(0)}
		for i := range 3 {
			a, b := memPipe()
			srv := Server(b, scfg)
			go echoOnce(srv)
			c := tls.Client(a, ccfg)
			roundTrip(t, c)
			if st := srv.ConnectionState(); st.DidResume != (i > 0) || !st.HelloRetryRequest {
				t.Fatalf("connection %d: server %+v", i, st)
			}
		}
	})
	t.Run("reprise client", func(t *testing.T) {
		scfg := &tls.Config{Certificates: []tls.Certificate{pc.TLSCertificate()}, CurvePreferences: []tls.CurveID{tls.CurveP384}}
		ccfg := resumeClient13(t)
		for i := range 3 {
			a, b := memPipe()
			go echoOnce(tls.Server(b, scfg))
			c := Client(a, ccfg)
			roundTrip(t, c)
			if st := c.ConnectionState(); st.DidResume != (i > 0) || !st.HelloRetryRequest {
				t.Fatalf("connection %d: %+v", i, st)
			}
		}
	})
}
