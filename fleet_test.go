package reprise

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
	"github.com/reprise-tls/reprise/internal/ticket"
)

// TestDerivedTicketKeysAcrossNodes: two nodes that derive their keys from
// one secret, each with its own TicketKeys and a clock on either side of
// a rotation, resume each other's TLS 1.2 and TLS 1.3 tickets; once the
// overlap has passed, a ticket is refused as ticket-key-unknown.
func TestDerivedTicketKeysAcrossNodes(t *testing.T) {
	secret := bytes.Repeat([]byte{0x42}, 32)
	period := time.Hour
	boundary := time.Now().Truncate(period) // certificates are valid around now
	node := func(clk *clock) *Config {
		keys, err := NewDerivedTicketKeys(secret, period, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := testServerConfig(t)
		cfg.TicketKeys = keys
		cfg.Time = clk.Now
		cfg.SessionCacheMode = SessionCacheOff
		return cfg
	}
	before, after := &clock{now: boundary.Add(-time.Second)}, &clock{now: boundary.Add(time.Second)}
	for _, tc := range []struct {
		name       string
		from, to   *clock
		tls13      bool
		wantResume bool
	}{
		{"TLS 1.2, sealed before the rotation, opened after", before, after, false, true},
		{"TLS 1.2, sealed by a node ahead, opened by one behind", after, before, false, true},
		{"TLS 1.3, sealed before the rotation, opened after", before, after, true, true},
		{"TLS 1.3, sealed by a node ahead, opened by one behind", after, before, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := node(tc.from), node(tc.to)
			if tc.tls13 {
				ccfg := resumeClient13(t)
				ccfg.Time = tc.from.Now
				firstSession13(t, ccfg, a)
				client, server := connect13(t, ccfg, b)
				if !client.ConnectionState().DidResume {
					t.Fatalf("not resumed on the other node: %+v", server.ConnectionState())
				}
				return
			}
			ccfg := resumeClient(t, true)
			connect12(t, ccfg, a)
			c, s, _ := connect12(t, ccfg, b)
			if !c.DidResume || c.Resumption != ResumedTicket {
				t.Fatalf("not resumed on the other node: %+v", s)
			}
		})
	}

	// Past the overlap the key is gone.
	clk := &clock{now: boundary}
	a := node(clk)
	a.SessionTimeout = 24 * time.Hour
	ccfg := resumeClient(t, true)
	ccfg.SessionTimeout = 24 * time.Hour
	ccfg.Time = clk.Now
	connect12(t, ccfg, a)
	clk.Advance(2*period + time.Second)
	if _, s, _ := connect12(t, ccfg, a); s.DidResume || s.Refused != RefusedTicketKey {
		t.Fatalf("ticket from two periods ago: %+v", s)
	}
}

// TestDerivedTicketKeyFileMatchesRing: what `reprise ticketkey derive`
// writes for a time is the key the ring seals with at that time, and the
// HAProxy file holds the ring's previous, current and next keys.
func TestDerivedTicketKeyFileMatchesRing(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	at := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	keys, err := NewDerivedTicketKeys(secret, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys.update(at)
	ring := keys.ring.Keys()

	nginx, err := DerivedTicketKeyFile(secret, 0, at, TicketKeyFormatNginx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ticket.ParseKeyFile(nginx, ticket.FormatNginx)
	if err != nil || len(got) != 1 || len(nginx) != ticket.KeyFileSize256 {
		t.Fatalf("nginx file: %d bytes, %v", len(nginx), err)
	}
	if got[0].Name != ring[0].Name || !bytes.Equal(got[0].AESKey, ring[0].AESKey) || !bytes.Equal(got[0].HMACKey, ring[0].HMACKey) {
		t.Fatal("the nginx file's key is not the ring's sealing key")
	}

	haproxy, err := DerivedTicketKeyFile(secret, 0, at, TicketKeyFormatHAProxy)
	if err != nil {
		t.Fatal(err)
	}
	got, err = ticket.ParseKeyFile(haproxy, ticket.FormatHAProxy)
	if err != nil || len(got) != 3 || len(ring) != 3 {
		t.Fatalf("haproxy file: %d keys, ring %d, %v", len(got), len(ring), err)
	}
	for i := range got { // both in ring order: current, next, previous
		if got[i].Name != ring[i].Name || !bytes.Equal(got[i].AESKey, ring[i].AESKey) {
			t.Fatalf("haproxy key %d differs from the ring's", i)
		}
	}
}

// TestNginxSealsWithDerivedKeys: nginx given the key files that
// `reprise ticketkey derive` writes (current, next, previous) resumes its
// own tickets, and our ring for the same secret opens the tickets nginx
// sealed (TLS 1.2 and TLS 1.3): the keys are the same. A reprise node then
// explains such a ticket as ticket-invalid (its plaintext is OpenSSL's
// session encoding), not ticket-key-unknown.
func TestNginxSealsWithDerivedKeys(t *testing.T) {
	secret := bytes.Repeat([]byte{0x6e}, 32)
	now := time.Now()
	dir := t.TempDir()
	var directives string
	for _, k := range []struct {
		name string
		at   time.Time
	}{{"current", now}, {"next", now.Add(ticket.DefaultPeriod)}, {"previous", now.Add(-ticket.DefaultPeriod)}} {
		data, err := DerivedTicketKeyFile(secret, 0, k.at, TicketKeyFormatNginx)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, k.name+".key")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		directives += "ssl_session_ticket_key " + path + ";\n"
	}
	cert := peertest.Certs(t, peertest.ECDSAP256)
	addr, _ := peertest.NginxTLSServer(t, cert, "ssl_protocols TLSv1.2 TLSv1.3;\nssl_session_tickets on;\n"+directives)
	keys, err := NewDerivedTicketKeys(secret, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	node := testServerConfig(t)
	node.TicketKeys = keys
	// nginx binds its sessions to this context; a reprise node that shares
	// it (serve --ticket-format openssl adopts it) opens and resumes them.
	node.SessionIDContext = NginxSessionIDContext(cert.Leaf.Raw)

	for _, version := range []uint16{VersionTLS12, VersionTLS13} {
		ccfg := resumeClient13(t)
		ccfg.MaxVersion = version
		get := func() ConnectionState {
			t.Helper()
			conn, err := Dial("tcp", addr, ccfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			io.ReadAll(conn) // takes in TLS 1.3 tickets on the way
			st := conn.ConnectionState()
			if st.Version != version {
				t.Fatalf("nginx negotiated %s, want %s", VersionName(st.Version), VersionName(version))
			}
			return st
		}
		get()
		held := ccfg.ClientSessionCache.Get("localhost")
		if held == nil || !held.HasTicket() {
			t.Fatalf("%s: nginx issued no ticket", VersionName(version))
		}
		plain, status := keys.OpenTicket(context.Background(), now, held.ticket)
		if status != TicketOpened || len(plain) == 0 || plain[0] != 0x30 {
			t.Fatalf("%s: our ring opened nginx's ticket with status %v, plaintext %x...", VersionName(version), status, plain[:min(len(plain), 4)])
		}
		ccfg.ClientSessionCache.Put("localhost", held)
		if st := get(); !st.DidResume {
			t.Fatalf("%s: nginx did not resume its own ticket under the derived keys", VersionName(version))
		}

		// The same kind of ticket offered to a reprise node of the fleet:
		// the derived key opens it and OpenSSL's encoding inside decodes.
		get()
		held = ccfg.ClientSessionCache.Get("localhost")
		ncfg := resumeClient13(t)
		ncfg.MaxVersion = version
		ncfg.Session = held
		c, s := connectAny(t, ncfg, node)
		if !s.DidResume {
			t.Fatalf("%s: reprise node: resumed %v, refused %q; client resumption %v", VersionName(version), s.DidResume, s.Refused, c.Resumption)
		}
	}
}

// connectAny makes one connection of whatever version and returns both
// views.
func connectAny(t *testing.T, ccfg, scfg *Config) (ConnectionState, ConnectionState) {
	t.Helper()
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v; server %v", cerr, serr)
	}
	exchange(t, client, server)
	return client.ConnectionState(), server.ConnectionState()
}
