package reprise

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// ticketCounts13 are the rows of the tests below: a full TLS 1.3 handshake
// issues TicketsPerConnection tickets, a resumption one, replacing the
// ticket the client spent (tickets_server.go, ticketsToIssue).
var ticketCounts13 = []struct {
	name                 string
	ticketsPerConnection int
	full                 int
}{
	{"default", 0, 2},
	{"three", 3, 3},
}

// TestTicketsAfterResumption13: reprise's client counts the tickets it
// received; so does the server.
func TestTicketsAfterResumption13(t *testing.T) {
	for _, tc := range ticketCounts13 {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.TicketsPerConnection = tc.ticketsPerConnection
			ccfg := resumeClient13(t)
			for i := range 3 {
				client, server := connect13(t, ccfg, scfg)
				cs, ss := client.ConnectionState(), server.ConnectionState()
				want := map[bool]int{false: tc.full, true: 1}[i > 0]
				if cs.DidResume != (i > 0) || cs.TicketsIssued != want || ss.TicketsIssued != want {
					t.Fatalf("connection %d: resumed %v, client received %d tickets, server sent %d; want %d",
						i, cs.DidResume, cs.TicketsIssued, ss.TicketsIssued, want)
				}
			}
			if k := scfg.Counters().Snapshot(); k.TicketsIssued != int64(tc.full+2) {
				t.Fatalf("server counters %+v", k)
			}
		})
	}
}

// countingSessionCache counts the tickets crypto/tls's client stores: it
// calls Put for each NewSessionTicket it reads, and with nil to forget one.
type countingSessionCache struct {
	tls.ClientSessionCache
	puts atomic.Int64
}

func (c *countingSessionCache) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		c.puts.Add(1)
	}
	c.ClientSessionCache.Put(key, cs)
}

// TestCryptoTLSTicketsAfterResumption13: crypto/tls's client receives
// TicketsPerConnection tickets after a full handshake and one after a
// resumption.
func TestCryptoTLSTicketsAfterResumption13(t *testing.T) {
	for _, tc := range ticketCounts13 {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.TicketsPerConnection = tc.ticketsPerConnection
			cache := &countingSessionCache{ClientSessionCache: tls.NewLRUClientSessionCache(0)}
			ccfg := &tls.Config{ServerName: "localhost", RootCAs: peertest.CAPool(t), ClientSessionCache: cache}
			for i := range 3 {
				a, b := memPipe()
				srv := Server(b, scfg)
				go echoOnce(srv)
				c := tls.Client(a, ccfg)
				before := cache.puts.Load()
				// The echo follows the tickets, so the client has read
				// them all when roundTrip returns.
				roundTrip(t, c)
				want := map[bool]int{false: tc.full, true: 1}[i > 0]
				got := cache.puts.Load() - before
				if c.ConnectionState().DidResume != (i > 0) || got != int64(want) || srv.ConnectionState().TicketsIssued != want {
					t.Fatalf("connection %d: resumed %v, client stored %d tickets, server sent %d; want %d",
						i, c.ConnectionState().DidResume, got, srv.ConnectionState().TicketsIssued, want)
				}
			}
		})
	}
}

// TestOpenSSLTicketsAfterResumption13: openssl s_client -msg shows the
// tickets it received, after a full handshake (-sess_out) and after the
// resumption of its session (-sess_in).
func TestOpenSSLTicketsAfterResumption13(t *testing.T) {
	openssl := peertest.Need(t, "openssl")
	pc := peertest.Certs(t, peertest.ECDSAP256)
	for _, tc := range ticketCounts13 {
		t.Run(tc.name, func(t *testing.T) {
			scfg := testServerConfig(t)
			scfg.TicketsPerConnection = tc.ticketsPerConnection
			addr := serveTCP(t, scfg)
			sess := filepath.Join(t.TempDir(), "sess.pem")
			base := []string{"s_client", "-connect", addr, "-tls1_3", "-CAfile", pc.CAFile, "-servername", "localhost", "-ign_eof", "-msg"}
			// -msg prints a line "<<< TLS 1.3, Handshake [length 00c2],
			// NewSessionTicket" for each ticket received.
			tickets := func(out string) int { return strings.Count(out, "], NewSessionTicket\n") }
			// The request makes the client read on until the server's
			// tickets have arrived.
			out, err := peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_out", sess)...)
			if err != nil || !strings.Contains(out, "resumed=false") || tickets(out) != tc.full {
				t.Fatalf("full handshake, %d tickets, want %d: %v\n%s", tickets(out), tc.full, err, out)
			}
			out, err = peertest.Run(t, 20*time.Second, "GET / HTTP/1.0\r\n\r\n", openssl, append(base, "-sess_in", sess)...)
			if err != nil || !strings.Contains(out, "resumed=true via=psk") || tickets(out) != 1 {
				t.Fatalf("resumption, %d tickets, want 1: %v\n%s", tickets(out), err, out)
			}
		})
	}
}
