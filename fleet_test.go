package reprise

import (
	"bytes"
	"testing"
	"time"

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
