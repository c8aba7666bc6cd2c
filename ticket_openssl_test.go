package reprise

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/pem"
	"path/filepath"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/sslsession"
	"github.com/reprise-tls/reprise/internal/ticket"
)

// nginxFleet is a reprise server set up to share nginx's tickets: the
// fixture's key file and nginx's session ID context for the fixture's
// certificate, at a clock set shortly after nginx minted the fixtures.
func nginxFleet(t *testing.T) (scfg *Config, clk *clock, nginxCertDER []byte) {
	t.Helper()
	keys, err := LoadTicketKeys(filepath.Join("internal", "sslsession", "testdata", "nginx-ticket.key"), TicketKeyFormatNginx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(opensslFixture(t, "cert.pem"))
	nginxCertDER = b.Bytes
	minted, err := sslsession.Unmarshal(opensslFixture(t, "server-tls12.der"))
	if err != nil {
		t.Fatal(err)
	}
	clk = &clock{now: time.Unix(minted.Time, 0).Add(10 * time.Second)}
	scfg = testServerConfig(t)
	scfg.TicketKeys = keys
	scfg.SessionIDContext = NginxSessionIDContext(nginxCertDER)
	scfg.SessionCacheMode = SessionCacheOff
	scfg.Time = clk.Now
	return scfg, clk, nginxCertDER
}

// nginxClient offers the session s_client saved from nginx.
func nginxClient(t *testing.T, file string, clk *clock) *Config {
	t.Helper()
	s, err := ParseOpenSSLSessionPEM(opensslFixture(t, file), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	ccfg := testClientConfig(t)
	ccfg.Session = s
	ccfg.Time = clk.Now
	// nginx's session was for TLS_AES_256_GCM_SHA384; a PSK resumes only
	// with a suite of its hash (RFC 8446, Section 4.6.1).
	ccfg.CipherSuites = []uint16{TLS_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	// A TLS 1.2 session is offered only in a TLS 1.2 hello.
	ccfg.MaxVersion = s.Version()
	return ccfg
}

// TestOpenNginxTickets resumes, in reprise, the tickets nginx minted for
// the fixture sessions: the same key file, the state in OpenSSL's DER.
func TestOpenNginxTickets(t *testing.T) {
	for _, tc := range []struct {
		file string
		via  Resumption
	}{
		{"nginx-tls12.pem", ResumedTicket},
		{"nginx-tls13.pem", ResumedPSK},
	} {
		t.Run(tc.file, func(t *testing.T) {
			scfg, clk, _ := nginxFleet(t)
			ccfg := nginxClient(t, tc.file, clk)
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v; server %v", cerr, serr)
			}
			exchange(t, client, server)
			cs, ss := client.ConnectionState(), server.ConnectionState()
			if !cs.DidResume || ss.Resumption != tc.via || ss.Refused != RefusedNone {
				t.Fatalf("client %+v\nserver %+v", cs, ss)
			}
			if tc.via == ResumedTicket && !ss.ExtendedMasterSecret {
				t.Fatal("nginx's EMS session resumed without EMS")
			}
		})
	}
}

// TestNginxTicketsMeetEveryCheck: what an nginx ticket holds goes through
// the same resumption checks as our own tickets.
func TestNginxTicketsMeetEveryCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string
		setup  func(scfg, ccfg *Config, clk *clock)
		refuse Refusal
	}{
		{"another session ID context", "nginx-tls12.pem", func(scfg, _ *Config, _ *clock) { scfg.SessionIDContext = []byte("other") }, RefusedContext},
		{"TLS 1.3: another session ID context", "nginx-tls13.pem", func(scfg, _ *Config, _ *clock) { scfg.SessionIDContext = nil }, RefusedContext},
		{"expired (nginx's 300 s)", "nginx-tls12.pem", expireOnServerOnly, RefusedExpired},
		{"TLS 1.3: expired", "nginx-tls13.pem", expireOnServerOnly, RefusedExpired},
		{"another server name", "nginx-tls12.pem", func(_, ccfg *Config, _ *clock) {
			ccfg.ServerName, ccfg.InsecureSkipVerify = "other.example", true
			ccfg.diagnostics.OfferSessionUnderAnyName = true // our client keeps to the session's name
		}, RefusedSNI},
		{"suite disabled here", "nginx-tls12.pem", func(scfg, _ *Config, _ *clock) {
			scfg.CipherSuites = []uint16{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, RefusedCipher},
		{"tickets off", "nginx-tls12.pem", func(scfg, _ *Config, _ *clock) { scfg.SessionTicketsDisabled = true }, RefusedTicketsOff},
		{"another key", "nginx-tls12.pem", func(scfg, _ *Config, _ *clock) {
			keys, _ := NewTicketKeys(256, 1)
			scfg.TicketKeys = keys
		}, RefusedTicketKey},
		{"client certificate now required", "nginx-tls13.pem", func(scfg, _ *Config, _ *clock) {
			scfg.ClientAuth = RequireAndVerifyClientCert
		}, RefusedClientAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg, clk, _ := nginxFleet(t)
			ccfg := nginxClient(t, tc.file, clk)
			ccfg.CipherSuites = append(ccfg.CipherSuites, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
			tc.setup(scfg, ccfg, clk)
			if scfg.ClientAuth != NoClientCert {
				ccfg.Certificates = []Certificate{testClientCert(t)}
				scfg.ClientCAs = ccfg.RootCAs
			}
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v; server %v", cerr, serr)
			}
			exchange(t, client, server)
			if ss := server.ConnectionState(); ss.DidResume || ss.Refused != tc.refuse {
				t.Fatalf("server resumed %v, refused %q; want refused %q", ss.DidResume, ss.Refused, tc.refuse)
			}
		})
	}
}

// expireOnServerOnly moves past nginx's 300 s timeout while the client
// keeps the session, so that the server's check is the one that refuses.
func expireOnServerOnly(_, ccfg *Config, clk *clock) {
	ccfg.Session.lifetime = time.Hour
	clk.Advance(300 * time.Second)
}

// TestTicketStateNeitherFormat: a ticket that authenticates but holds
// neither format is ticket-invalid, never a panic.
func TestTicketStateNeitherFormat(t *testing.T) {
	for _, plain := range [][]byte{
		nil, {0x30}, {0x30, 0x00}, {0x00, 0x01}, bytes.Repeat([]byte{0xff}, 100),
		// A client's session in reprise's format is not a server's state.
		func() []byte {
			s, _ := ParseSessionPEM(opensslFixture(t, "client-tls12-ticket.pem"))
			b, _ := s.MarshalBinary()
			return b
		}(),
		// OpenSSL's DER with a 47-byte TLS 1.2 master secret.
		func() []byte {
			o, _ := sslsession.Unmarshal(opensslFixture(t, "server-tls12.der"))
			o.MasterKey = o.MasterKey[:47]
			b, _ := o.Marshal()
			return b
		}(),
	} {
		if s := openedTicketState(plain); s != nil {
			t.Errorf("state %x decoded to %+v", plain, s)
		}
	}
	// End to end: a ticket sealed with the server's key around garbage.
	scfg, clk, _ := nginxFleet(t)
	ccfg := nginxClient(t, "nginx-tls12.pem", clk)
	garbage, err := scfg.TicketKeys.SealTicket(context.Background(), clk.Now(), rand.Reader, []byte("neither reprise nor openssl"))
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Session.ticket = garbage
	_, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v; server %v", cerr, serr)
	}
	if ss := server.ConnectionState(); ss.DidResume || ss.Refused != RefusedTicketInvalid {
		t.Fatalf("refused %q, want ticket-invalid", ss.Refused)
	}
}

// TestMintOpenSSLTickets: with TicketFormatOpenSSL the state inside our
// tickets is OpenSSL's DER, as nginx would seal it, and reprise resumes
// from it too; the default stays reprise's format.
func TestMintOpenSSLTickets(t *testing.T) {
	for _, version := range []uint16{VersionTLS12, VersionTLS13} {
		for _, format := range []TicketFormat{TicketFormatReprise, TicketFormatOpenSSL} {
			t.Run(versionName(version)+"/"+format.String(), func(t *testing.T) {
				scfg, _, _ := nginxFleet(t)
				// The client session cache keeps time by the wall clock, so
				// this test runs at the present, not at the fixtures' time.
				clk := newClock()
				scfg.Time = clk.Now
				scfg.TicketFormat = format
				ccfg := testClientConfig(t)
				ccfg.Time = clk.Now
				ccfg.MaxVersion = version
				ccfg.ClientSessionCache = NewLRUClientSessionCache(0)
				client, server, cerr, serr := handshakePair(t, ccfg, scfg)
				if cerr != nil || serr != nil {
					t.Fatalf("handshake: client %v; server %v", cerr, serr)
				}
				exchange(t, client, server)
				s := client.Session()
				if s == nil || len(s.ticket) == 0 {
					t.Fatal("no ticket")
				}
				ring := scfg.TicketKeys.ring
				plain, st := ring.Open(s.ticket)
				if st != ticket.Opened {
					t.Fatalf("open: %v", st)
				}
				isDER := plain[0] == 0x30
				if isDER != (format == TicketFormatOpenSSL) {
					t.Fatalf("state starts %x for format %v", plain[:2], format)
				}
				if isDER {
					o, err := sslsession.Unmarshal(plain)
					if err != nil {
						t.Fatal(err)
					}
					if o.SSLVersion != version || !bytes.Equal(o.SIDCtx, scfg.SessionIDContext) || string(o.Hostname) != "localhost" ||
						(version == VersionTLS13 && (len(o.SessionID) != 32 || o.TicketAgeAdd != s.ageAdd)) ||
						(version == VersionTLS12 && o.Flags != sslsession.FlagExtendedMasterSecret) || o.Timeout <= 0 {
						t.Fatalf("minted %+v", o)
					}
				}
				clk.Advance(time.Second)
				client, server, cerr, serr = handshakePair(t, ccfg, scfg)
				if cerr != nil || serr != nil {
					t.Fatalf("resumption: client %v; server %v", cerr, serr)
				}
				exchange(t, client, server)
				if !server.ConnectionState().DidResume {
					t.Fatalf("did not resume: server %q, client %q", server.ConnectionState().Refused, client.ConnectionState().Refused)
				}
			})
		}
	}
}

// FuzzOpenedTicketState: the state inside a ticket, in either format, is
// decoded defensively: no input panics, and an OpenSSL state that decodes
// encodes again to one that decodes to the same session. (A state in
// reprise's format may hold what OpenSSL's refuses, such as a time of 0.)
func FuzzOpenedTicketState(f *testing.F) {
	f.Add(opensslFixture(f, "server-tls12.der"))
	f.Add(opensslFixture(f, "server-tls13.der"))
	f.Add([]byte{0x00, 0x01})
	f.Fuzz(func(t *testing.T, plain []byte) {
		s := openedTicketState(plain)
		if s == nil {
			return
		}
		o, err := s.openSSL(rand.Reader)
		if err != nil {
			return // too long for OpenSSL's limits: ours is the larger format
		}
		der, err := o.Marshal()
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		if plain[0] != 0x30 {
			return
		}
		again := openedTicketState(der)
		if again == nil || !bytes.Equal(again.secret, s.secret) || again.version != s.version ||
			again.cipherSuite != s.cipherSuite || again.serverName != s.serverName || !again.created.Equal(s.created) {
			t.Fatalf("state changed through OpenSSL's encoding: %+v -> %+v", s, again)
		}
	})
}
