package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/diag"
)

// demoPath is one row of `reprise demo`: a connection made in a chosen way,
// and what it should show. A new resumption path (TLS 1.3 full, PSK) is a
// new entry in demoPaths.
type demoPath struct {
	name       string
	version    uint16 // the client's MaxVersion (and MinVersion)
	serverName string // SNI; "" means "localhost"
	noTicket   bool   // client offers no ticket, so TLS 1.2 resumes by ID
	// resume names the row whose session this connection offers; "" means
	// offer nothing (a full handshake).
	resume string
	// want and wantRefused are what the server must report; a row that
	// shows anything else makes the demo fail.
	want        reprise.Resumption
	wantRefused reprise.Refusal
}

// demoPaths are run in order against one server. The server issues
// tickets, and caches by ID the sessions of clients that take none (like
// OpenSSL, it does not cache a session it sent as a ticket), so the row
// decides the path.
var demoPaths = []demoPath{
	{name: "TLS 1.2 full", version: reprise.VersionTLS12,
		want: reprise.ResumedNone},
	{name: "TLS 1.2 ticket", version: reprise.VersionTLS12, resume: "TLS 1.2 full",
		want: reprise.ResumedTicket},
	{name: "TLS 1.2 full, no ticket", version: reprise.VersionTLS12, noTicket: true,
		want: reprise.ResumedNone},
	{name: "TLS 1.2 session-ID", version: reprise.VersionTLS12, noTicket: true, resume: "TLS 1.2 full, no ticket",
		want: reprise.ResumedSessionID},
	{name: "TLS 1.3 full", version: reprise.VersionTLS13,
		want: reprise.ResumedNone},
	{name: "TLS 1.3 PSK", version: reprise.VersionTLS13, resume: "TLS 1.3 full",
		want: reprise.ResumedPSK},
	// The refused path: a ticket offered under another server name must
	// not resume (RFC 6066, Section 3), and the server says why.
	{name: "TLS 1.2 ticket, other SNI", version: reprise.VersionTLS12, serverName: "other.localhost", resume: "TLS 1.2 full",
		want: reprise.ResumedNone, wantRefused: reprise.RefusedSNI},
}

// demoResult is what one row measured.
type demoResult struct {
	client, server reprise.ConnectionState
	took           time.Duration
	roundTrips     int
	sent, received int64
	session        *reprise.Session
}

// serverOutcome is the server's view of one connection.
type serverOutcome struct {
	state reprise.ConnectionState
	err   error
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("demo takes no arguments")
	}

	cert, err := selfSignedFor([]string{"localhost", "other.localhost"})
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	serverCfg := &reprise.Config{Certificates: []reprise.Certificate{cert}}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	outcomes := make(chan serverOutcome, 1)
	go demoServe(ln, serverCfg, outcomes)

	fmt.Fprintf(stdout, "reprise demo: one server and one client on %s, each resumption path in turn\n\n", ln.Addr())
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tVERSION\tRESUMED\tTIME\tRTT\tBYTES C->S\tBYTES S->C\tKEY EXCHANGE\tSIGNATURE")
	sessions := map[string]*reprise.Session{}
	var failed []string
	for _, p := range demoPaths {
		var offer *reprise.Session
		if p.resume != "" {
			if offer = sessions[p.resume]; offer == nil {
				failed = append(failed, fmt.Sprintf("%s: row %q left no session", p.name, p.resume))
				continue
			}
		}
		res, err := demoConnect(ln.Addr().String(), p, roots, offer, outcomes)
		if err != nil {
			fmt.Fprintf(tw, "%s\tfailed: %v\n", p.name, err)
			failed = append(failed, fmt.Sprintf("%s: %v", p.name, err))
			continue
		}
		sessions[p.name] = res.session
		resumed := string(res.server.Resumption)
		if res.server.Refused != reprise.RefusedNone {
			resumed += " (refused: " + string(res.server.Refused) + ")"
		}
		if res.server.Resumption != p.want || res.server.Refused != p.wantRefused {
			failed = append(failed, fmt.Sprintf("%s: resumed %s refused %q, want %s refused %q",
				p.name, res.server.Resumption, res.server.Refused, p.want, p.wantRefused))
		}
		kx := "skipped"
		if res.client.CurveID != 0 {
			kx = "done (" + reprise.CurveName(res.client.CurveID) + ")"
		}
		sig := "done"
		if res.client.DidResume {
			sig = "skipped"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fms\t%d\t%d\t%d\t%s\t%s\n", p.name, reprise.VersionName(res.client.Version),
			resumed, float64(res.took.Microseconds())/1000, res.roundTrips, res.sent, res.received, kx, sig)
	}
	tw.Flush()
	fmt.Fprint(stdout, demoExplanation)
	if len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintf(stderr, "reprise: demo: %s\n", f)
		}
		return errReported
	}
	return nil
}

const demoExplanation = `
A full handshake does a key exchange and the server signs it: two round
trips in TLS 1.2, and the certificate dominates the bytes from the server.
A resumed handshake reuses the master secret of an earlier session: no
certificate, no signature, no key exchange in TLS 1.2, and one round trip.
By ticket the server keeps nothing and the client carries the session
sealed under the server's ticket key, so more bytes go from client to
server; a client that takes no tickets resumes by session ID, from the
server's cache. TLS 1.3 needs one round trip
even in full; a PSK resumption skips the certificate and the signature but
still makes a fresh (EC)DHE exchange (psk_dhe_ke), so that the resumed
connection keeps forward secrecy. An offered session is refused,
and a full handshake made instead, when a check fails; the server names the
check (here the session belongs to another server name, RFC 6066 section 3),
while the client learns only that the server declined.
`

// demoConnect makes one connection for p and collects both sides' views.
func demoConnect(addr string, p demoPath, roots *x509.CertPool, offer *reprise.Session, outcomes <-chan serverOutcome) (demoResult, error) {
	var res demoResult
	var lastSent atomic.Bool
	cfg := &reprise.Config{
		RootCAs:                roots,
		ServerName:             p.serverName,
		MinVersion:             p.version,
		MaxVersion:             p.version,
		Session:                offer,
		SessionTicketsDisabled: p.noTicket,
		DisableSessionOffer:    offer == nil,
		Tracer: func(ev reprise.TraceEvent) {
			// A round trip is the client waiting for the server after
			// sending: count each switch from sending to receiving.
			// Tickets and alerts after the handshake are not part of
			// the handshake's round trips.
			if ev.Message == "Alert" || (ev.Message == "NewSessionTicket" && p.version == reprise.VersionTLS13) {
				return
			}
			if !ev.Sent && lastSent.Load() {
				res.roundTrips++
			}
			lastSent.Store(ev.Sent)
		},
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "localhost"
	} else {
		// The refused path: our client keeps a session to its name (RFC
		// 6066, Section 3), so it is told to offer it anyway, to show
		// the server's check.
		diag.Set(cfg, diag.ClientKnobs{OfferSessionUnderAnyName: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	start := time.Now()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return res, err
	}
	counted := &countingConn{Conn: raw}
	conn := reprise.Client(counted, cfg)
	defer conn.Close()
	if err := conn.HandshakeContext(ctx); err != nil {
		return res, err
	}
	res.took = time.Since(start)
	res.sent, res.received = counted.written.Load(), counted.read.Load()
	res.client = conn.ConnectionState()
	if res.client.Version == reprise.VersionTLS13 {
		awaitTicket(conn)
	}
	res.session = conn.Session()
	conn.Close()
	select {
	case out := <-outcomes:
		if out.err != nil {
			return res, fmt.Errorf("server: %w", out.err)
		}
		res.server = out.state
	case <-time.After(handshakeTimeout):
		return res, errors.New("the server did not finish its handshake")
	}
	return res, nil
}

// demoServe handles the demo's connections one at a time, reporting each
// handshake's outcome.
func demoServe(ln net.Listener, cfg *reprise.Config, outcomes chan<- serverOutcome) {
	for {
		raw, err := ln.Accept()
		if err != nil {
			return
		}
		conn := reprise.Server(raw, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err = conn.HandshakeContext(ctx)
		cancel()
		outcomes <- serverOutcome{state: conn.ConnectionState(), err: err}
		if err == nil {
			// Read until the client closes, so that anything sent after
			// the handshake (TLS 1.3 tickets) reaches it.
			conn.SetReadDeadline(time.Now().Add(handshakeTimeout))
			io.Copy(io.Discard, conn)
		}
		conn.Close()
	}
}

// countingConn counts the bytes that cross a connection each way.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written.Add(int64(n))
	return n, err
}
