package reprise

import (
	"errors"
	"testing"
	"time"
)

// TestStatefulTickets13: with stateless tickets off and the session cache
// on, a TLS 1.3 server issues stateful tickets (as OpenSSL and nginx do):
// the identity is a tagged random key into the cache, the session resumes
// once, and a second use of the same ticket is an unknown session.
func TestStatefulTickets13(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SessionTicketsDisabled = true
	s := firstSession13(t, testClientConfig(t), scfg)
	if !isOurTicketID(s.ticket) {
		t.Fatalf("ticket of %d bytes is not a stateful identity", len(s.ticket))
	}
	// Like a cached session, a stateful ticket lives SessionTimeout, not
	// RFC 8446's 7 days: it occupies the store while it lives.
	if got := s.lifetime; got != scfg.sessionTimeout() {
		t.Fatalf("ticket lifetime %v, want %v", got, scfg.sessionTimeout())
	}
	if n := scfg.internalCache().Len(); n != 2 {
		t.Fatalf("the session cache holds %d sessions, want the 2 tickets'", n)
	}

	ccfg := testClientConfig(t)
	ccfg.Session = s
	client, server := connect13(t, ccfg, scfg)
	if cs, ss := client.ConnectionState(), server.ConnectionState(); !cs.DidResume || ss.Resumption != ResumedPSK || ss.TicketsIssued == 0 {
		t.Fatalf("first use: client %+v\nserver %+v", cs, ss)
	}
	client, server = connect13(t, ccfg, scfg)
	if cs, ss := client.ConnectionState(), server.ConnectionState(); cs.DidResume || ss.Refused != RefusedUnknownSession {
		t.Fatalf("second use of one ticket: client %+v\nserver %+v", cs, ss)
	}
	k := scfg.Counters().Snapshot()
	if k.Misses != 1 || k.Refusals[string(RefusedUnknownSession)] != 1 {
		t.Fatalf("counters %+v", k)
	}

	// A client that keeps its tickets in a cache resumes connection after
	// connection, each time with a fresh ticket.
	cached := resumeClient13(t)
	for i := range 4 {
		client, _ := connect13(t, cached, scfg)
		if got := client.ConnectionState().DidResume; got != (i > 0) {
			t.Fatalf("connection %d resumed %v", i, got)
		}
	}
}

// TestStatefulTickets13Refused: what a server without stateless tickets
// says to each kind of TLS 1.3 ticket it cannot resume.
func TestStatefulTickets13Refused(t *testing.T) {
	sealed := firstSession13(t, testClientConfig(t), testServerConfig(t))
	for _, tc := range []struct {
		name    string
		config  func(*Config)
		tickets bool // the server issues tickets
		want    Refusal
	}{
		// A sealed ticket from before tickets were turned off: not an
		// identity the server issues, so not looked up.
		{name: "sealed ticket, cache on", config: func(c *Config) {}, tickets: true, want: RefusedTicketsOff},
		// Both off: no tickets at all, as before stateful tickets.
		{name: "sealed ticket, cache off", config: func(c *Config) { c.SessionCacheMode = SessionCacheOff }, want: RefusedTicketsOff},
		{name: "sealed ticket, cache off, single-use asked for", config: func(c *Config) {
			c.SessionCacheMode, c.SingleUseTickets = SessionCacheOff, true
		}, want: RefusedTicketsOff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.SessionTicketsDisabled = true
			tc.config(scfg)
			ccfg := testClientConfig(t)
			ccfg.Session = sealed
			client, server := connect13(t, ccfg, scfg)
			cs, ss := client.ConnectionState(), server.ConnectionState()
			if cs.DidResume || ss.Refused != tc.want || (ss.TicketsIssued > 0) != tc.tickets {
				t.Fatalf("client %+v\nserver %+v", cs, ss)
			}
			if k := scfg.Counters().Snapshot(); k.Misses != 0 {
				t.Fatalf("a sealed ticket counted as a miss: %+v", k)
			}
		})
	}
}

// TestStatefulTickets13StoreDown: with stateful tickets, a store that
// fails costs a resumption, never a connection: the ticket's Put fails
// off the critical path, and the Take fails with "store-unavailable".
func TestStatefulTickets13StoreDown(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SessionTicketsDisabled = true
	scfg.SessionStore = brokenStore{errors.New("store down")}
	scfg.StoreTimeout = 50 * time.Millisecond
	s := firstSession13(t, testClientConfig(t), scfg)
	ccfg := testClientConfig(t)
	ccfg.Session = s
	client, server := connect13(t, ccfg, scfg)
	if cs, ss := client.ConnectionState(), server.ConnectionState(); cs.DidResume || ss.Refused != RefusedStoreDown {
		t.Fatalf("client %+v\nserver %+v", cs, ss)
	}
	if k := scfg.Counters().Snapshot(); k.StoreErrors == 0 || k.Misses != 0 {
		t.Fatalf("counters %+v", k)
	}
}
