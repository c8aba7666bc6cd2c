package reprise

import (
	"testing"
	"time"
)

// TestHandOverOutlivesClientTimeout: a TLS 1.2 session handed over after
// 330 s (an FTPS data connection late in a transfer session) is still
// offered, because the client keeps sessions as long as the server does,
// not for its own SessionTimeout (the field failure of issue 16).
func TestHandOverOutlivesClientTimeout(t *testing.T) {
	for _, tickets := range []bool{false, true} {
		clk := newClock()
		scfg := testServerConfig(t)
		scfg.Time = clk.Now
		scfg.SessionTimeout = time.Hour
		ccfg := resumeClient(t, tickets)
		ccfg.Time = clk.Now
		ccfg.ClientSessionCache = nil
		_, _, ctrl := connect12(t, ccfg, scfg)
		s := ctrl.TakeSession()
		if s == nil {
			t.Fatal("no session")
		}
		if want := map[bool]time.Duration{false: 24 * time.Hour, true: time.Hour}[tickets]; s.Lifetime() != want {
			t.Fatalf("tickets %v: lifetime %v, want %v", tickets, s.Lifetime(), want)
		}
		clk.Advance(330 * time.Second)
		data := ccfg.Clone()
		data.Session = s
		cs, ss, _ := connect12(t, data, scfg)
		want := map[bool]Resumption{false: ResumedSessionID, true: ResumedTicket}[tickets]
		if !cs.DidResume || cs.Resumption != want || ss.Resumption != want {
			t.Fatalf("tickets %v: client %+v server %+v", tickets, cs, ss)
		}
	}
}

// TestTakeSession13: each data connection takes an unused ticket of the
// control connection (RFC 8446, Appendix C.4), so a server with single-use
// tickets resumes every one; when the control connection's tickets are
// used up, a data connection's own fresh ticket carries on.
func TestTakeSession13(t *testing.T) {
	scfg := testServerConfig(t)
	scfg.SingleUseTickets = true
	ccfg := testClientConfig(t)
	ctrl, _ := connect13(t, ccfg, scfg)
	var last *Conn
	seen := map[string]bool{}
	for i := range 4 {
		s := ctrl.TakeSession()
		if i >= 2 {
			if s != nil {
				t.Fatalf("data %d: control still had a ticket", i)
			}
			s = last.TakeSession()
		}
		if s == nil || seen[string(s.ticket)] {
			t.Fatalf("data %d: session %v, reused %v", i, s, s != nil)
		}
		seen[string(s.ticket)] = true
		data := ccfg.Clone()
		data.Session = s
		client, server := connect13(t, data, scfg)
		if cs, ss := client.ConnectionState(), server.ConnectionState(); !cs.DidResume || !ss.DidResume {
			t.Fatalf("data %d: client %+v server %+v", i, cs, ss)
		}
		last = client
	}
	// Session still shows the newest ticket; TakeSession has none left.
	if ctrl.Session() == nil || ctrl.TakeSession() != nil {
		t.Fatal("Session/TakeSession after the tickets were taken")
	}
}

// TestTakeSession12: a TLS 1.2 session resumes many connections, so
// TakeSession returns it every time; a server has none to give.
func TestTakeSession12(t *testing.T) {
	scfg := testServerConfig(t)
	ccfg := resumeClient(t, false)
	client, server, cerr, serr := handshakePair(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	exchange(t, client, server)
	if a, b := client.TakeSession(), client.TakeSession(); a == nil || a != b {
		t.Fatalf("TakeSession %p then %p", a, b)
	}
	if server.TakeSession() != nil {
		t.Fatal("server TakeSession")
	}
}

// TestNoSessionForKey: a client cache without ServerName is keyed by
// host:port; when that key holds nothing the client says so.
func TestNoSessionForKey(t *testing.T) {
	scfg := testServerConfig(t)
	for _, tc := range []struct {
		name       string
		serverName string
		want       Refusal
	}{
		{"no ServerName", "", RefusedNoSessionForKey},
		{"ServerName", "localhost", RefusedNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccfg := &Config{ServerName: tc.serverName, InsecureSkipVerify: true, MaxVersion: VersionTLS12,
				ClientSessionCache: NewLRUClientSessionCache(0)}
			cs, _, _ := connect12(t, ccfg, scfg)
			if cs.Refused != tc.want {
				t.Fatalf("refused %q, want %q", cs.Refused, tc.want)
			}
			cs, _, _ = connect12(t, ccfg, scfg)
			if !cs.DidResume || cs.Refused != RefusedNone {
				t.Fatalf("second connection %+v", cs)
			}
		})
	}
}
