package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/diag"
)

const (
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 10 * time.Second
	// replyIdle is how long --send waits for more bytes before it decides
	// the reply is complete.
	replyIdle = 2 * time.Second
	// maxReply bounds what --send keeps of a reply, so a peer that streams
	// forever cannot exhaust memory; the rest is read and dropped.
	maxReply = 1 << 20
	// ticketWait is how long a TLS 1.3 client waits after the handshake for
	// a NewSessionTicket (RFC 8446, Section 4.6.1: it arrives after the
	// server's Finished), when it needs a session for the next connection.
	ticketWait = 500 * time.Millisecond
	// ticketPoll is how often awaitTicket looks for an arrived ticket.
	ticketPoll = 10 * time.Millisecond
)

type connectOptions struct {
	clientOptions
	reconnect int
	sessOut   string
	sessIn    string
	sessFmt   string
	send      string
	early     string // --early-data: sent as TLS 1.3 0-RTT data when the session allows
	trace     bool
	json      bool
	starttls  string    // "ftp": AUTH TLS first (RFC 4217), like s_client -starttls ftp
	traceOut  io.Writer // where --trace writes; the FTP dialogue goes there too
}

func runConnect(args []string, stdout, stderr io.Writer) error {
	var o connectOptions
	fs := newFlagSet("connect")
	o.registerClient(fs)
	fs.IntVar(&o.reconnect, "reconnect", 0, "make N more connections, each resuming the previous one's session")
	fs.StringVar(&o.sessOut, "sess-out", "", "write the last connection's session to this file (PEM, mode 0600)")
	fs.StringVar(&o.sessIn, "sess-in", "", "offer the session in this file on the first connection (reprise's PEM or OpenSSL's SSL SESSION PARAMETERS)")
	fs.StringVar(&o.sessFmt, "sess-format", sessFormatReprise, "--sess-out format: reprise, or openssl (for openssl s_client -sess_in)")
	fs.StringVar(&o.send, "send", "", `send TEXT (\r, \n, \t escapes allowed), then print the reply`)
	fs.StringVar(&o.early, "early-data", "", `send TEXT (escapes as --send) as TLS 1.3 early data on connections that resume a session allowing it (use with --reconnect); rejected early data is sent again after the handshake`)
	fs.BoolVar(&o.trace, "trace", false, "print each connection's handshake messages to stderr")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per connection")
	fs.StringVar(&o.starttls, "starttls", "", "protocol to upgrade first: ftp (explicit FTPS, AUTH TLS)")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want exactly one HOST:PORT, got %d arguments", len(pos))
	}
	addr := pos[0]
	host, err := checkHostPort(addr)
	if err != nil {
		return err
	}
	if o.starttls != "" && o.starttls != "ftp" {
		return usageErrorf("--starttls %q: only ftp is supported", o.starttls)
	}
	if err := checkSessFormat(o.sessFmt); err != nil {
		return err
	}
	if o.trace {
		o.traceOut = stderr
	}
	if o.reconnect < 0 || o.reconnect > 10000 {
		return usageErrorf("--reconnect %d: want 0 to 10000", o.reconnect)
	}

	cfg, closeKeyLog, err := o.clientConfig(host)
	defer closeKeyLog()
	if err != nil {
		return err
	}
	cfg.ClientSessionCache = reprise.NewLRUClientSessionCache(0)
	// Answer a server that asks for our certificate after the handshake
	// by renegotiating (TLS 1.2; TLS 1.3 post-handshake auth is offered
	// whenever --cert is given).
	cfg.Renegotiation = reprise.RenegotiateOnceAsClient
	if o.trace {
		var mu sync.Mutex
		cfg.Tracer = func(ev reprise.TraceEvent) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "  %s\n", ev)
		}
	}
	var offer *reprise.Session
	if o.sessIn != "" {
		if offer, err = readSessionFile(o.sessIn, cfg.ServerName); err != nil {
			return fmt.Errorf("--sess-in %s: %w", o.sessIn, err)
		}
		// Like s_client -sess_in, offer the session given even under
		// another --servername, so that the server's SNI check can be
		// seen; the certificate check still applies.
		diag.Set(cfg, diag.ClientKnobs{OfferSessionUnderAnyName: true})
	}
	payload := unescape(o.send)
	needSession := o.reconnect > 0 || o.sessOut != ""

	var last *reprise.Session
	for n := 1; n <= 1+o.reconnect; n++ {
		connCfg := cfg.Clone()
		// The explicit hand-over: offer the previous connection's session,
		// as an FTPS data connection offers its control connection's. The
		// client cache would offer the same one; this also covers --sess-in.
		connCfg.Session = offer
		if o.trace {
			fmt.Fprintf(stderr, "conn %d:\n", n)
		}
		sess, err := connectOnce(n, addr, connCfg, payload, o, needSession, stdout)
		if err != nil {
			return err
		}
		if sess != nil {
			last, offer = sess, sess
		}
	}
	if o.sessOut != "" {
		if last == nil {
			return fmt.Errorf("--sess-out: the server gave no resumable session")
		}
		if err := writeSessionFile(o.sessOut, last, o.sessFmt); err != nil {
			return fmt.Errorf("--sess-out: %w", err)
		}
	}
	return nil
}

// connectOnce makes connection n, prints its line and returns its session.
func connectOnce(n int, addr string, cfg *reprise.Config, payload []byte, o connectOptions, needSession bool, stdout io.Writer) (*reprise.Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	start := time.Now()
	d := net.Dialer{Timeout: dialTimeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.starttls == "ftp" {
		if _, err := ftpStartTLS(raw, o.traceOut); err != nil {
			raw.Close()
			return nil, fmt.Errorf("conn %d: %w", n, err)
		}
	}
	conn := reprise.Client(raw, cfg)
	defer conn.Close()
	early := unescape(o.early)
	if len(early) > 0 {
		if err := conn.SetEarlyData(early); err != nil {
			return nil, err
		}
	}
	if err := conn.HandshakeContext(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("conn %d: handshake did not finish within %v", n, handshakeTimeout)
		}
		return nil, fmt.Errorf("conn %d: handshake: %w", n, err)
	}
	took := time.Since(start)
	cs := conn.ConnectionState()
	report := newConnReport(n, cs, took)
	if o.json {
		if err := report.writeJSON(stdout); err != nil {
			return nil, err
		}
	} else {
		fmt.Fprintln(stdout, report.humanLine())
	}

	if len(early) > 0 && cs.EarlyData != reprise.EarlyDataAccepted {
		// Not sent, or rejected: the request goes again, now in 1-RTT
		// where it cannot be replayed (RFC 8446, Section 4.2.10 leaves
		// this to the application).
		payload = append(early, payload...)
	} else if len(early) > 0 && len(payload) == 0 {
		payload = nil
		reply, err := readReply(conn)
		if err != nil {
			return nil, fmt.Errorf("conn %d: read: %w", n, err)
		}
		if !o.json {
			writeReply(stdout, reply)
		}
		return conn.Session(), nil
	}
	if len(payload) > 0 {
		if _, err := conn.Write(payload); err != nil {
			return nil, fmt.Errorf("conn %d: write: %w", n, err)
		}
		reply, err := readReply(conn)
		if err != nil {
			return nil, fmt.Errorf("conn %d: read: %w", n, err)
		}
		if !o.json {
			writeReply(stdout, reply)
		}
	} else if needSession && cs.Version == reprise.VersionTLS13 && conn.Session() == nil {
		awaitTicket(conn)
	}
	return conn.Session(), nil
}

// writeReply prints a reply, ending it with a newline.
func writeReply(stdout io.Writer, reply []byte) {
	stdout.Write(reply)
	if len(reply) > 0 && reply[len(reply)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
}

// readReply reads until EOF or replyIdle without data. A timeout or the
// peer's close is the end of the reply, not an error.
func readReply(conn *reprise.Conn) ([]byte, error) {
	var reply []byte
	buf := make([]byte, 16<<10)
	for {
		conn.SetReadDeadline(time.Now().Add(replyIdle))
		n, err := conn.Read(buf)
		if len(reply)+n <= maxReply {
			reply = append(reply, buf[:n]...)
		}
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &ne) && ne.Timeout()) {
			return reply, nil
		}
		return reply, err
	}
}

// awaitTicket reads briefly so that TLS 1.3 NewSessionTicket messages,
// which follow the handshake, are processed and Session has a ticket.
// Read returns only with application data, so it reads in short slices
// and looks for the ticket between them: a server that sends its tickets
// and then waits for a request (s_server -www, gnutls-serv --http) costs
// one slice, not the whole wait.
func awaitTicket(conn *reprise.Conn) {
	deadline := time.Now().Add(ticketWait)
	buf := make([]byte, 1024)
	for conn.Session() == nil && time.Now().Before(deadline) {
		next := time.Now().Add(ticketPoll)
		if next.After(deadline) {
			next = deadline
		}
		conn.SetReadDeadline(next)
		if _, err := conn.Read(buf); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return
			}
		}
	}
}

// writeSecretFile writes data readable by the owner only: sessions hold
// master secrets and ticket key files are keys.
func writeSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	// OpenFile keeps an existing file's mode; tighten it.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// unescape turns \r, \n, \t and \\ in --send's argument into the bytes
// they name, so `--send 'GET / HTTP/1.0\r\n\r\n'` works from a shell.
func unescape(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			out = append(out, s[i])
			continue
		}
		switch s[i+1] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		default:
			out = append(out, s[i], s[i+1])
		}
		i++
	}
	return out
}
