package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/metrics"
	"github.com/reprise-tls/reprise/reprisehttp"
	"github.com/reprise-tls/reprise/stores/bolt"
	"github.com/reprise-tls/reprise/stores/redis"
)

const (
	// requestTimeout bounds how long --www waits for an HTTP request after
	// the handshake, and echoIdle how long --echo keeps a silent connection.
	requestTimeout = 10 * time.Second
	echoIdle       = 5 * time.Minute
	// maxRequest bounds the request header --www reads.
	maxRequest = 8 << 10
	// shutdownGrace is how long a stopping server waits for connections.
	shutdownGrace = 2 * time.Second
)

type serveOptions struct {
	tlsOptions
	addr             string
	sessionCache     string
	sessionTimeout   time.Duration
	storeTimeout     time.Duration
	sessionIDContext string
	tickets          string
	ticketKeys       string
	ticketKeyFormat  string
	ticketFormat     string
	ticketSecret     string
	ticketPeriod     time.Duration
	store            string
	verifyClient     string
	clientCA         string
	www, echo, json  bool
	metrics          string
	earlyData        string // --early-data on|off
	antiReplay       string // --anti-replay memory|store
	clientAuthPath   string // clientauth.go
}

func runServe(args []string, stdout, stderr io.Writer) error {
	var o serveOptions
	fs := newFlagSet("serve")
	o.register(fs, "1.3")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:4433", "address to listen on (port 0: any free port)")
	fs.StringVar(&o.sessionCache, "session-cache", "on", "server session ID cache: on or off")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", 5*time.Minute, "how long a TLS 1.2 session can be resumed")
	fs.StringVar(&o.sessionIDContext, "session-id-context", "", "session ID context: sessions resume only within it (at most 32 bytes)")
	fs.StringVar(&o.tickets, "tickets", "on", "session tickets: on (sealed), off (no stateless tickets: TLS 1.2 resumes by session ID, TLS 1.3 by stateful tickets naming sessions in --store, each resumed once, unless --session-cache off), or single-use (TLS 1.3 tickets name sessions in --store, each resumed once; TLS 1.2 tickets stay sealed)")
	fs.StringVar(&o.ticketKeys, "ticket-keys", "", "ticket key file (nginx, HAProxy or Envoy format; reloaded on SIGHUP)")
	fs.StringVar(&o.ticketKeyFormat, "ticket-key-format", "auto", "ticket key file format: auto, nginx, haproxy or envoy")
	fs.StringVar(&o.ticketFormat, "ticket-format", "reprise", "state sealed in minted tickets: reprise, or openssl (nginx and HAProxy open them; tickets of both are always opened)")
	fs.StringVar(&o.ticketSecret, "ticket-secret", "", "fleet secret file (one line of base64, at least 32 bytes): ticket keys derived from it and the clock, in step on every node")
	fs.DurationVar(&o.ticketPeriod, "ticket-period", 0, "with --ticket-secret: how often the derived ticket key changes (default 12h; the same on every node)")
	fs.StringVar(&o.store, "store", "memory", "session store: memory, redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS) or bolt:PATH; redis and bolt need --ticket-secret")
	fs.DurationVar(&o.storeTimeout, "store-timeout", 100*time.Millisecond, "budget of each --store call in a handshake; a call that errs or runs out of it costs a full handshake (store-unavailable), never the connection")
	fs.StringVar(&o.verifyClient, "verify-client", "none", "client certificates: none, request or require")
	fs.StringVar(&o.clientCA, "client-ca", "", "PEM file of CAs that client certificates must chain to")
	fs.BoolVar(&o.www, "www", false, "answer HTTP requests with a page describing the connection (the default)")
	fs.BoolVar(&o.echo, "echo", false, "echo received bytes back")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics")
	fs.StringVar(&o.earlyData, "early-data", "off", "TLS 1.3 0-RTT early data: on (up to 16 KiB per connection) or off; replayable, so --echo returns it only as early data")
	fs.StringVar(&o.antiReplay, "anti-replay", "memory", "with --early-data on: memory (a strike register in this process, or with --tickets single-use, or off with the session cache on, the tickets themselves) or store (a strike register in the --store Redis, shared by the fleet)")
	fs.BoolVar(&o.json, "json", false, "print one JSON line per finished handshake on stdout (status lines then go to stderr)")
	fs.StringVar(&o.clientAuthPath, "client-auth-path", "", "ask for a client certificate (TLS 1.2 renegotiation, TLS 1.3 post-handshake auth) before serving paths with this prefix; 403 without one")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if o.www && o.echo {
		return usageErrorf("--www and --echo exclude each other")
	}

	cfg, closeKeyLog, err := o.config()
	defer closeKeyLog()
	if err != nil {
		return err
	}
	// Status lines go to stdout, unless stdout carries JSON for a script.
	info := stdout
	if o.json {
		info = stderr
	}
	if len(cfg.Certificates) == 0 {
		cert, err := selfSignedCertificate()
		if err != nil {
			return fmt.Errorf("making a certificate: %w", err)
		}
		cfg.Certificates = []reprise.Certificate{cert}
		sum := sha256.Sum256(cert.Certificate[0])
		fmt.Fprintf(info, "self-signed certificate for localhost, 127.0.0.1; SHA-256 fingerprint %s\n", colonHex(sum[:]))
	}
	if err := o.applyTicketFormat(cfg, info); err != nil {
		return err
	}

	if !o.echo && len(cfg.NextProtos) == 0 {
		// --www speaks HTTP/2 to clients that offer it (RFC 9113, Section 3.2).
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}

	if o.metrics != "" {
		stop, err := serveMetrics(o.metrics, cfg, info)
		if err != nil {
			return err
		}
		defer stop()
	}

	// No TCP keep-alive on accepted connections (net.Listen's default costs
	// four setsockopt calls per connection): every connection is bounded by
	// handshakeTimeout and then requestTimeout or echoIdle instead.
	ln, err := (&net.ListenConfig{KeepAlive: -1, Control: deferAccept}).Listen(context.Background(), "tcp", o.addr)
	if err != nil {
		return err
	}
	s := &server{
		cfg: cfg, opts: o, stdout: stdout, stderr: stderr,
		conns: map[net.Conn]struct{}{},
		idle:  make(chan acceptedConn), stopped: make(chan struct{}),
	}
	if !o.echo {
		s.www = s.newWWW()
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)

	acceptDone := make(chan error, 1)
	go func() { acceptDone <- s.acceptLoop(ln) }()
	fmt.Fprintf(info, "listening on %s\n", ln.Addr())

	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				s.reloadTicketKeys(info)
				continue
			}
			fmt.Fprintf(info, "%v: stopping\n", sig)
			ln.Close()
			<-acceptDone
			s.shutdown()
			return nil
		case err := <-acceptDone:
			s.shutdown()
			return fmt.Errorf("accept: %w", err)
		}
	}
}

// config turns the flags into a server Config.
func (o *serveOptions) config() (*reprise.Config, func(), error) {
	cfg := &reprise.Config{}
	closeKeyLog, err := o.apply(cfg)
	if err != nil {
		return nil, closeKeyLog, err
	}
	cacheOn, err := parseOnOff("session-cache", o.sessionCache)
	if err != nil {
		return nil, closeKeyLog, err
	}
	if !cacheOn {
		cfg.SessionCacheMode = reprise.SessionCacheOff
	}
	if o.sessionTimeout <= 0 {
		return nil, closeKeyLog, usageErrorf("--session-timeout %v: want a positive duration", o.sessionTimeout)
	}
	cfg.SessionTimeout = o.sessionTimeout
	if len(o.sessionIDContext) > 32 {
		// RFC 5246 session IDs, and OpenSSL's contexts, are at most 32 bytes.
		return nil, closeKeyLog, usageErrorf("--session-id-context is %d bytes; at most 32", len(o.sessionIDContext))
	}
	if o.sessionIDContext != "" {
		cfg.SessionIDContext = []byte(o.sessionIDContext)
	}
	ticketsOn := true
	if strings.EqualFold(o.tickets, "single-use") {
		// TLS 1.3 tickets name sessions kept in the store, each taken
		// once; TLS 1.2 tickets stay sealed.
		cfg.SingleUseTickets = true
	} else if ticketsOn, err = parseOnOff("tickets", o.tickets); err != nil {
		return nil, closeKeyLog, err
	}
	cfg.SessionTicketsDisabled = !ticketsOn
	format, err := parseKeyFormat(o.ticketKeyFormat)
	if err != nil {
		return nil, closeKeyLog, err
	}
	if o.ticketKeys != "" && o.ticketSecret != "" {
		return nil, closeKeyLog, usageErrorf("--ticket-keys and --ticket-secret exclude each other")
	}
	if o.ticketKeys != "" {
		keys, err := reprise.LoadTicketKeys(o.ticketKeys, format)
		if err != nil {
			return nil, closeKeyLog, fmt.Errorf("--ticket-keys: %w", err)
		}
		cfg.TicketKeys = keys
	}
	var secret []byte
	if o.ticketSecret != "" {
		if secret, err = reprise.LoadFleetSecret(o.ticketSecret); err != nil {
			return nil, closeKeyLog, fmt.Errorf("--ticket-secret: %w", err)
		}
		keys, err := reprise.NewDerivedTicketKeys(secret, o.ticketPeriod, 0)
		if err != nil {
			return nil, closeKeyLog, fmt.Errorf("--ticket-secret: %w", err)
		}
		cfg.TicketKeys = keys
	} else if o.ticketPeriod != 0 {
		return nil, closeKeyLog, usageErrorf("--ticket-period needs --ticket-secret")
	}
	if o.storeTimeout <= 0 {
		return nil, closeKeyLog, usageErrorf("--store-timeout %v: want a positive duration", o.storeTimeout)
	}
	cfg.StoreTimeout = o.storeTimeout
	store, closeStore, err := openStore(o.store, secret)
	if err != nil {
		return nil, closeKeyLog, err
	}
	cfg.SessionStore = store
	if err := o.applyEarlyData(cfg); err != nil {
		closeStore()
		return nil, closeKeyLog, err
	}
	closeOthers := closeKeyLog
	closeKeyLog = func() { closeStore(); closeOthers() }
	var pool *x509.CertPool
	if o.clientCA != "" {
		if pool, err = loadCAFile("client-ca", o.clientCA); err != nil {
			return nil, closeKeyLog, err
		}
		cfg.ClientCAs = pool
	}
	switch o.verifyClient {
	case "none":
		cfg.ClientAuth = reprise.NoClientCert
	case "request":
		// With CAs, a certificate that is sent must verify; without, any
		// certificate is taken as it is.
		cfg.ClientAuth = reprise.RequestClientCert
		if pool != nil {
			cfg.ClientAuth = reprise.VerifyClientCertIfGiven
		}
	case "require":
		cfg.ClientAuth = reprise.RequireAnyClientCert
		if pool != nil {
			cfg.ClientAuth = reprise.RequireAndVerifyClientCert
		}
	default:
		return nil, closeKeyLog, usageErrorf("--verify-client %q: want none, request or require", o.verifyClient)
	}
	return cfg, closeKeyLog, nil
}

func parseKeyFormat(s string) (reprise.TicketKeyFormat, error) {
	switch strings.ToLower(s) {
	case "auto", "":
		return reprise.TicketKeyFormatAuto, nil
	case "nginx":
		return reprise.TicketKeyFormatNginx, nil
	case "haproxy":
		return reprise.TicketKeyFormatHAProxy, nil
	case "envoy":
		return reprise.TicketKeyFormatEnvoy, nil
	}
	return 0, usageErrorf("--ticket-key-format %q: want auto, nginx, haproxy or envoy", s)
}

// openStore opens the session store a --store URL names: memory (the
// internal cache; nil), redis://HOST:PORT/DB or rediss:// (stores/redis),
// or bolt:PATH (stores/bolt). Redis and bolt entries are sealed under a
// key derived from the fleet secret, so they need --ticket-secret.
func openStore(url string, secret []byte) (reprise.SessionStore, func(), error) {
	nothing := func() {}
	scheme, rest, _ := strings.Cut(url, ":")
	switch strings.ToLower(scheme) {
	case "memory":
		return nil, nothing, nil
	case "redis", "rediss", "bolt":
	default:
		return nil, nothing, usageErrorf("--store %q: want memory, redis://HOST:PORT/DB, rediss://... or bolt:PATH", url)
	}
	if secret == nil {
		return nil, nothing, usageErrorf("--store %s seals sessions with a key derived from the fleet secret: give --ticket-secret FILE", scheme)
	}
	key := reprise.FleetStoreKey(secret)
	if strings.EqualFold(scheme, "bolt") {
		if rest == "" {
			return nil, nothing, usageErrorf("--store bolt:PATH needs a path")
		}
		st, err := bolt.Open(rest, bolt.Options{Key: key})
		if err != nil {
			return nil, nothing, err
		}
		return st, func() { st.Close() }, nil
	}
	// While Redis is down go-redis logs every failed dial; one line a
	// minute says as much.
	redis.SetLogger(func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "reprise: serve: store: "+strings.ReplaceAll(format, "\n", " ")+"\n", args...)
	}, time.Minute)
	st, err := redis.Open(url, key)
	if err != nil {
		return nil, nothing, usageErrorf("--store: %v", err)
	}
	return st, func() { st.Close() }, nil
}

// server is a running `reprise serve`.
type server struct {
	cfg            *reprise.Config
	opts           serveOptions
	stdout, stderr io.Writer
	outMu          sync.Mutex // one line at a time on stdout and stderr

	accepted atomic.Int64
	wg       sync.WaitGroup
	connsMu  sync.Mutex
	conns    map[net.Conn]struct{}
	closing  bool

	www *reprisehttp.Server // --www: the status page over HTTP/2 or HTTP/1.1

	// idle hands an accepted connection to a handler goroutine waiting
	// for one; stopped, closed at shutdown, sends waiting handlers home.
	idle    chan acceptedConn
	stopped chan struct{}
}

type acceptedConn struct {
	n   int
	raw net.Conn
}

// handlerIdle is how long a handler goroutine waits for another
// connection before it exits.
const handlerIdle = 10 * time.Second

func (s *server) acceptLoop(ln net.Listener) error {
	var backoff time.Duration
	for {
		raw, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like pass; wait and retry
			// rather than spin or die.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("accept: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if !s.track(raw) {
			raw.Close()
			return nil
		}
		ac := acceptedConn{n: int(s.accepted.Add(1)), raw: raw}
		s.wg.Add(1)
		select {
		case s.idle <- ac:
		default:
			go s.handler(ac)
		}
	}
}

// handler serves connections until none comes for handlerIdle. A
// goroutine that has served one connection has the stack a handshake
// needs; a new goroutine per connection would start small and grow its
// stack by copying, on every connection, a few percent of a resumed
// handshake's CPU.
func (s *server) handler(ac acceptedConn) {
	wait := time.NewTimer(handlerIdle)
	defer wait.Stop()
	var echoBuf []byte // --echo's read buffer, one per handler, not per connection
	if s.opts.echo {
		echoBuf = make([]byte, 16<<10)
	}
	for {
		s.handle(ac.n, ac.raw, echoBuf)
		s.untrack(ac.raw)
		s.wg.Done()
		wait.Reset(handlerIdle)
		select {
		case ac = <-s.idle:
		case <-wait.C:
			return
		case <-s.stopped:
			return
		}
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *server) track(c net.Conn) bool {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *server) untrack(c net.Conn) {
	s.connsMu.Lock()
	delete(s.conns, c)
	s.connsMu.Unlock()
}

// shutdown lets connections finish for a moment, then closes the rest.
func (s *server) shutdown() {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	s.connsMu.Lock()
	s.closing = true
	s.connsMu.Unlock()
	close(s.stopped)
	select {
	case <-done:
		return
	case <-time.After(shutdownGrace):
	}
	s.connsMu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.connsMu.Unlock()
	<-done
}

func (s *server) reloadTicketKeys(info io.Writer) {
	if s.opts.ticketSecret != "" {
		s.printf(info, "SIGHUP: ticket keys are derived from --ticket-secret and the clock; nothing to reload\n")
		return
	}
	if s.cfg.TicketKeys == nil {
		s.printf(info, "SIGHUP: no --ticket-keys file to reload\n")
		return
	}
	if err := s.cfg.TicketKeys.Reload(); err != nil {
		s.printf(info, "SIGHUP: reloading ticket keys from %s failed, keeping the old keys: %v\n", s.opts.ticketKeys, err)
		return
	}
	s.printf(info, "SIGHUP: reloaded ticket keys from %s\n", s.opts.ticketKeys)
}

func (s *server) printf(w io.Writer, format string, args ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// logf writes one line to stderr.
func (s *server) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	line = strings.ReplaceAll(line, "\n", " ")
	s.printf(s.stderr, "reprise: serve: %s\n", line)
}

// handle runs one connection: handshake, report, then --www or --echo.
func (s *server) handle(n int, raw net.Conn, buf []byte) {
	start := time.Now()
	conn := reprise.Server(raw, s.cfg)
	defer conn.Close()
	// The handshake, early data included, is bounded by a deadline on the
	// socket rather than a context: the poller's one timer per socket,
	// where a context with a timeout costs a timer of its own, its
	// allocations and a callback registration on every connection.
	raw.SetDeadline(start.Add(handshakeTimeout))
	early, err := s.readEarlyData(conn)
	if err == nil {
		err = conn.Handshake()
	}
	raw.SetDeadline(time.Time{})
	if errors.Is(err, reprise.ErrClientSpokeHTTP) {
		s.logf("conn %d from %v: client spoke HTTP to a TLS port", n, raw.RemoteAddr())
		return
	}
	if err != nil {
		s.logf("conn %d from %v: handshake: %v", n, raw.RemoteAddr(), err)
		return
	}
	cs := conn.ConnectionState()
	if s.opts.json {
		report := newConnReport(n, cs, time.Since(start))
		s.outMu.Lock()
		report.writeJSON(s.stdout)
		s.outMu.Unlock()
	}
	if s.opts.echo {
		if len(early) > 0 {
			conn.SetWriteDeadline(time.Now().Add(echoIdle))
			if _, err := conn.Write(early); err != nil {
				return
			}
		}
		s.echo(conn, buf)
		return
	}
	if len(early) > 0 {
		s.logf("conn %d: %d bytes of early data not served: --www answers requests sent after the handshake only", n, len(early))
	}
	s.www.ServeConn(conn)
}

func (s *server) echo(conn *reprise.Conn, buf []byte) {
	for {
		conn.SetReadDeadline(time.Now().Add(echoIdle))
		n, err := conn.Read(buf)
		if n > 0 {
			conn.SetWriteDeadline(time.Now().Add(echoIdle))
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// newWWW is the --www server: every request, over HTTP/2 or HTTP/1.1 as
// the client's ALPN chose, gets a page about its connection, like
// `openssl s_server -www`. A client that hangs up without a request
// (s_client -reconnect does) is fine.
func (s *server) newWWW() *reprisehttp.Server {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.serveClientAuthPath(w, r) {
			return
		}
		cs, _ := reprisehttp.ConnectionState(r)
		body := statusPage(cs, s.cfg.Counters().Snapshot())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	})
	return &reprisehttp.Server{
		HTTP: &http.Server{
			Handler:           page,
			ReadHeaderTimeout: requestTimeout,
			IdleTimeout:       requestTimeout,
			MaxHeaderBytes:    maxRequest,
			ErrorLog:          log.New(logWriter{s}, "", 0),
		},
		TLS: s.cfg,
	}
}

// logWriter turns net/http's log lines into serve's stderr lines.
type logWriter struct{ s *server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.logf("%s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// statusPage describes the connection and the server's counters.
func statusPage(cs reprise.ConnectionState, c reprise.CounterSnapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "reprise serve\n\n")
	fmt.Fprintf(&b, "Protocol:        %s\n", reprise.VersionName(cs.Version))
	fmt.Fprintf(&b, "Cipher suite:    %s\n", reprise.CipherSuiteName(cs.CipherSuite))
	if cs.CurveID != 0 {
		fmt.Fprintf(&b, "Key exchange:    %s\n", reprise.CurveName(cs.CurveID))
	} else {
		fmt.Fprintf(&b, "Key exchange:    none (resumed)\n")
	}
	switch {
	case cs.DidResume:
		fmt.Fprintf(&b, "Resumed:         yes, by %s\n", cs.Resumption)
	case cs.Refused != reprise.RefusedNone:
		fmt.Fprintf(&b, "Resumed:         no, offered session refused: %s\n", cs.Refused)
	default:
		fmt.Fprintf(&b, "Resumed:         no, no session offered\n")
	}
	fmt.Fprintf(&b, "Extended master secret: %s\n", yesNo(cs.ExtendedMasterSecret))
	fmt.Fprintf(&b, "Session ID:      %x\n", cs.SessionID)
	fmt.Fprintf(&b, "SNI:             %s\n", orNone(cs.ServerName))
	fmt.Fprintf(&b, "ALPN:            %s\n", orNone(cs.NegotiatedProtocol))
	fmt.Fprintf(&b, "Tickets issued on this connection: %d\n", cs.TicketsIssued)
	if len(cs.PeerCertificates) > 0 {
		fmt.Fprintf(&b, "Client certificate: %s\n", cs.PeerCertificates[0].Subject)
	}

	fmt.Fprintf(&b, "\nServer counters\n")
	for _, row := range []struct {
		name  string
		value int64
	}{
		{"accept", c.Accept}, {"accept_good", c.AcceptGood}, {"hits", c.Hits},
		{"misses", c.Misses}, {"timeouts", c.Timeouts}, {"cache_full", c.CacheFull},
		{"cb_hits", c.CallbackHits}, {"tickets_issued", c.TicketsIssued},
		{"ticket_resumed", c.TicketResumed}, {"psk_resumed", c.PSKResumed},
		{"store_errors", c.StoreErrors},
		{"store_timeouts", c.StoreTimeouts},
		{"post_handshake_auths", c.PostHandshakeAuths},
		{"renegotiations_refused", c.RenegotiationsRefused},
	} {
		fmt.Fprintf(&b, "  %-16s %d\n", row.name, row.value)
	}
	fmt.Fprintf(&b, "Refusals by reason\n")
	names := c.RefusalNames()
	if len(names) == 0 {
		fmt.Fprintf(&b, "  (none)\n")
	}
	for _, name := range names {
		fmt.Fprintf(&b, "  %-20s %d\n", name, c.Refusals[name])
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// selfSignedCertificate makes a fresh ECDSA P-256 certificate for
// localhost and the loopback addresses, valid for a day.
func selfSignedCertificate() (reprise.Certificate, error) {
	return selfSignedFor([]string{"localhost"})
}

func selfSignedFor(names []string) (reprise.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return reprise.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return reprise.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"reprise serve (self-signed)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so that clients can trust it directly with --ca
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return reprise.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return reprise.Certificate{}, err
	}
	return reprise.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// serveMetrics serves the Config's handshake metrics and counters in the
// Prometheus text format at http://addr/metrics until stop is called.
func serveMetrics(addr string, cfg *reprise.Config, info io.Writer) (stop func(), err error) {
	collector := metrics.New(cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", collector.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: requestTimeout}
	go srv.Serve(ln)
	fmt.Fprintf(info, "metrics on http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}
