package reprise

import (
	"bytes"
	"testing"

	"github.com/reprise-tls/reprise/internal/wire"
)

// clientSession makes a connection of version vers (InsecureSkipVerify
// when insecure) and returns the client's session.
func clientSession(t *testing.T, scfg *Config, vers uint16, insecure bool) *Session {
	t.Helper()
	ccfg := testClientConfig(t)
	ccfg.MaxVersion, ccfg.InsecureSkipVerify = vers, insecure
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	exchange(t, client, server) // TLS 1.3 tickets arrive with the first read
	s := client.Session()
	if s == nil {
		t.Fatal("no session")
	}
	return s
}

// TestOfferableSNIBothVersions: the SNI rule (RFC 6066, Section 3; RFC
// 8446, Section 4.6.1) holds for TLS 1.2 sessions as for TLS 1.3 ones. With
// verification on the certificate check already refuses another name;
// with it off, the name is what keeps the session to its server.
func TestOfferableSNIBothVersions(t *testing.T) {
	scfg := testServerConfig(t)
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		s := clientSession(t, scfg, vers, true)
		cfg := testClientConfig(t)
		cfg.InsecureSkipVerify, cfg.ServerName = true, "other.example"
		hs := &clientHello{c: Client(nil, cfg), hello: &wire.ClientHello{ExtendedMasterSecret: true}}
		if got := hs.offerable(s); got != RefusedSNI {
			t.Errorf("%s: offerable = %q, want %q", VersionName(vers), got, RefusedSNI)
		}
		cfg.diagnostics.OfferSessionUnderAnyName = true
		if got := hs.offerable(s); got != RefusedNone {
			t.Errorf("%s with OfferSessionUnderAnyName: offerable = %q", VersionName(vers), got)
		}
	}
}

// TestDecideOffer: what the client offers, and why not, for the cases
// offerable leaves to the way a session is offered.
func TestDecideOffer(t *testing.T) {
	scfg := testServerConfig(t)
	s12, s13 := clientSession(t, scfg, VersionTLS12, false), clientSession(t, scfg, VersionTLS13, false)
	if !s12.HasTicket() || len(s12.ID()) == 0 {
		t.Fatal("want a TLS 1.2 session with both an ID and a ticket")
	}
	ticketOnly, idOnly, neither := *s12, *s12, *s12
	ticketOnly.id, idOnly.ticket, neither.id, neither.ticket = nil, nil, nil, nil
	noTicket13 := *s13
	noTicket13.ticket = nil
	for _, tc := range []struct {
		name       string
		s          *Session
		ticketsOff bool
		noName     bool // no ServerName, a cache and nothing in it for the key
		want       Refusal
		offered    bool
		byTicket   bool
	}{
		{name: "TLS 1.2 by ticket", s: s12, offered: true, byTicket: true},
		{name: "TLS 1.2 by ID when tickets are off", s: s12, ticketsOff: true, offered: true},
		{name: "TLS 1.2 by ID", s: &idOnly, offered: true},
		{name: "TLS 1.2 ticket only, tickets off", s: &ticketOnly, ticketsOff: true, want: RefusedTicketsOff},
		{name: "TLS 1.2 without ID or ticket", s: &neither, want: RefusedNotResumable},
		{name: "TLS 1.3", s: s13, offered: true},
		{name: "TLS 1.3, tickets off", s: s13, ticketsOff: true, want: RefusedTicketsOff},
		{name: "TLS 1.3 without a ticket", s: &noTicket13, want: RefusedTicketInvalid},
		{name: "nothing cached for host:port", noName: true, want: RefusedNoSessionForKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testClientConfig(t)
			cfg.Session, cfg.SessionTicketsDisabled = tc.s, tc.ticketsOff
			if tc.noName {
				cfg.ServerName, cfg.InsecureSkipVerify = "", true
				cfg.ClientSessionCache = NewLRUClientSessionCache(1)
			}
			h := &wire.ClientHello{ExtendedMasterSecret: true}
			hs := &clientHello{c: Client(nil, cfg), hello: h, key: "127.0.0.1:1"}
			hs.offerSession()
			if hs.notOffered != tc.want || (hs.offered != nil) != tc.offered {
				t.Fatalf("offered %v, not offered because %q; want %v, %q", hs.offered != nil, hs.notOffered, tc.offered, tc.want)
			}
			if tc.offered && tc.s.version == VersionTLS12 {
				switch {
				case tc.byTicket && (!bytes.Equal(h.SessionTicket, tc.s.ticket) || len(h.SessionID) != 32 || bytes.Equal(h.SessionID, tc.s.id)):
					t.Errorf("ticket offer: ticket %x, session ID %x", h.SessionTicket, h.SessionID)
				case !tc.byTicket && (h.SessionTicket != nil || !bytes.Equal(h.SessionID, tc.s.id)):
					t.Errorf("ID offer: ticket %x, session ID %x", h.SessionTicket, h.SessionID)
				}
			}
		})
	}
}

// TestSessionOfOtherVersionExplained: a client that offers both versions
// offers a TLS 1.2 session in the legacy fields (as crypto/tls does), so a
// TLS 1.2 server resumes it; a server that picks TLS 1.3 cannot, and the
// client says why (it used to leave Refused empty). The same holds for a
// TLS 1.3 session meeting a TLS 1.2 server.
func TestSessionOfOtherVersionExplained(t *testing.T) {
	both := testServerConfig(t)
	// Clones share the first Config's session cache and ticket keys.
	only12 := both.Clone()
	only12.MaxVersion = VersionTLS12
	only13 := both.Clone()
	only13.MinVersion = VersionTLS13
	s12, s13 := clientSession(t, both, VersionTLS12, false), clientSession(t, both, VersionTLS13, false)
	for _, tc := range []struct {
		name    string
		s       *Session
		server  *Config
		resumed bool
		client  Refusal
	}{
		{name: "TLS 1.2 session, TLS 1.2 server: resumes", s: s12, server: only12, resumed: true},
		{name: "TLS 1.2 session, server picks TLS 1.3", s: s12, server: both, client: RefusedVersion},
		{name: "TLS 1.2 session, TLS 1.3 server", s: s12, server: only13, client: RefusedVersion},
		{name: "TLS 1.3 session, server picks TLS 1.3: resumes", s: s13, server: both, resumed: true},
		{name: "TLS 1.3 session, TLS 1.2 server", s: s13, server: only12, client: RefusedVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := testClientConfig(t) // TLS 1.2 and 1.3
			ccfg.Session = tc.s
			client, server, cerr, serr := handshakePair(t, ccfg, tc.server)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			cs := client.ConnectionState()
			if cs.DidResume != tc.resumed || cs.Refused != tc.client {
				t.Fatalf("client: resumed %v, refused %q; want %v, %q", cs.DidResume, cs.Refused, tc.resumed, tc.client)
			}
			if ss := server.ConnectionState(); ss.DidResume != tc.resumed {
				t.Fatalf("server: resumed %v, refused %q", ss.DidResume, ss.Refused)
			}
		})
	}
}

// TestServerNameCheckedOnce: a session made by a connection that verified
// the server's certificate for ServerName, in this process, is offered
// under that name without checking the name again; any other session
// (made without verification, decoded, or verified by another program
// that may not have checked the name, as an OpenSSL session file) has its
// name checked before it is offered.
func TestServerNameCheckedOnce(t *testing.T) {
	scfg := testServerConfig(t)
	for _, vers := range []uint16{VersionTLS12, VersionTLS13} {
		t.Run(VersionName(vers), func(t *testing.T) {
			made := clientSession(t, scfg, vers, false)
			if !made.nameChecked || clientSession(t, scfg, vers, true).nameChecked {
				t.Fatal("nameChecked is not whether the connection verified ServerName")
			}
			// The session of a resumed connection: TLS 1.3's new ticket,
			// TLS 1.2's session (renewed or not).
			ccfg := testClientConfig(t)
			ccfg.MaxVersion, ccfg.Session = vers, made
			client, server, cerr, serr := handshakePair(t, ccfg, scfg)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			exchange(t, client, server)
			if s := client.Session(); !client.ConnectionState().DidResume || s == nil || !s.nameChecked {
				t.Fatalf("resumed %v, session %+v", client.ConnectionState().DidResume, s)
			}
			enc, err := made.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			decoded := new(Session)
			if err := decoded.UnmarshalBinary(enc); err != nil || decoded.nameChecked {
				t.Fatalf("decoded session: %v, nameChecked %v", err, decoded.nameChecked)
			}

			// A session verified elsewhere for a name its certificate
			// does not carry (the test certificate is for localhost).
			other := *made
			other.serverName, other.nameChecked = "other.example", false
			cfg := testClientConfig(t)
			cfg.MaxVersion, cfg.ServerName = vers, "other.example"
			hs := &clientHello{c: Client(nil, cfg), hello: &wire.ClientHello{ExtendedMasterSecret: true}}
			if got := hs.offerable(&other); got != RefusedCertificate {
				t.Errorf("session verified elsewhere under another name: offerable = %q, want %q", got, RefusedCertificate)
			}
			cfg.ServerName = "localhost"
			if got := hs.offerable(decoded); got != RefusedNone {
				t.Errorf("decoded session: offerable = %q", got)
			}
		})
	}
}

func TestIsIP(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1":             true,
		"::1":                   true,
		"2001:DB8::1":           true,
		"::ffff:192.0.2.1":      true,
		"localhost":             false,
		"example.com":           false,
		"cafe.de":               false, // hex digits and a dot, still a name
		"beef":                  false,
		"1.2.3":                 false,
		"1.2.3.4.":              false,
		"":                      false,
		"[::1]":                 false,
		"fe80::1%eth0":          false, // net.ParseIP takes no zone
		"192.0.2.1:443":         false,
		"xn--bcher-kva.example": false,
	} {
		if got := isIP(host); got != want {
			t.Errorf("isIP(%q) = %v, want %v", host, got, want)
		}
	}
}
