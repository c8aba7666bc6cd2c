//lint:file-ignore SA1019 x/net/http2 deprecates its server and transport in favour of net/http's, which run HTTP/2 only over a *crypto/tls.Conn or without TLS; a reprise connection is neither, so this package drives x/net/http2 directly.

// Package reprisehttp runs net/http over reprise, in both roles, with
// HTTP/2 and HTTP/1.1 chosen by ALPN (RFC 7301; RFC 9113, Section 3.2).
//
// net/http speaks HTTP/2 by itself only over a *crypto/tls.Conn, and fills
// Request.TLS and Response.TLS only from one. This package does for a
// reprise connection what net/http does for a crypto/tls one: a Server
// hands each connection to golang.org/x/net/http2 when the client chose
// "h2" and to the http.Server otherwise, and a Transport dials through
// reprise, keeps HTTP/2 connections per host and resumes sessions across
// connections. Request.TLS and Response.TLS are the connection's state as
// crypto/tls's ConnectionState; a handler reaches reprise's own state
// (how the connection resumed, or why not) with ConnectionState.
//
// The reprise package itself does not import this one or x/net.
package reprisehttp

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/reprise-tls/reprise"
	"golang.org/x/net/http2"
)

// DefaultHandshakeTimeout bounds a server's handshake when the http.Server
// sets no ReadHeaderTimeout, ReadTimeout or WriteTimeout: a client that
// connects and says nothing must not hold a goroutine forever.
const DefaultHandshakeTimeout = 10 * time.Second

// nextProtos is the ALPN list of a Config that names none: HTTP/2 first,
// as net/http offers and prefers.
var nextProtos = []string{http2.NextProtoTLS, "http/1.1"}

// Server serves an http.Server's handler over reprise connections.
type Server struct {
	// HTTP is the server whose Handler, timeouts, ErrorLog, BaseContext,
	// ConnContext and ConnState apply. Its Shutdown and Close stop Serve
	// and close connections of both protocols; the first Serve or
	// ServeConn installs a ConnContext (calling any already set) and
	// registers HTTP/2 with http2.ConfigureServer.
	HTTP *http.Server
	// HTTP2 configures HTTP/2; nil means x/net/http2's defaults.
	HTTP2 *http2.Server
	// TLS is the reprise configuration. When its NextProtos is empty the
	// server offers "h2" and "http/1.1".
	TLS *reprise.Config

	once sync.Once
	cfg  *reprise.Config
	h1   *connListener
	err  error
}

// ListenAndServe listens on addr and serves handler over reprise with
// config, until the listener fails.
func ListenAndServe(addr string, handler http.Handler, config *reprise.Config) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := &Server{HTTP: &http.Server{Handler: handler}, TLS: config}
	return s.Serve(ln)
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.HTTP == nil {
			s.HTTP = &http.Server{}
		}
		if s.HTTP2 == nil {
			s.HTTP2 = &http2.Server{}
		}
		s.cfg = s.TLS
		if s.cfg == nil {
			s.err = errors.New("reprisehttp: Server.TLS is nil")
			return
		}
		if len(s.cfg.NextProtos) == 0 {
			s.cfg = s.cfg.Clone() // shares counters, caches and ticket keys
			s.cfg.NextProtos = nextProtos
		}
		// ConfigureServer lets HTTP.Shutdown send GOAWAY on HTTP/2
		// connections; the crypto/tls settings it makes are unused.
		if err := http2.ConfigureServer(s.HTTP, s.HTTP2); err != nil {
			s.err = err
			return
		}
		prev := s.HTTP.ConnContext
		s.HTTP.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if prev != nil {
				ctx = prev(ctx, c)
			}
			if sc, ok := c.(*serverConn); ok {
				ctx = context.WithValue(ctx, connKey{}, sc.Conn)
			}
			return ctx
		}
		s.h1 = newConnListener()
		go s.HTTP.Serve(s.h1)
	})
}

// Serve accepts TCP connections on l and serves each over reprise until l
// fails or HTTP is shut down. l is a plain listener; Serve runs the
// handshakes.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if s.err != nil {
		return s.err
	}
	s.h1.addCloser(l)
	for {
		raw, err := l.Accept()
		if err != nil {
			if s.h1.isClosed() {
				return http.ErrServerClosed
			}
			return err
		}
		go s.ServeConn(reprise.Server(raw, s.cfg))
	}
}

// ServeConn serves one connection, made with reprise.Server and this
// Server's TLS (or a Config with the same NextProtos), and returns when it
// is done. It runs the handshake if it has not run yet; a caller may run
// it first to log or account for it.
func (s *Server) ServeConn(c *reprise.Conn) {
	s.init()
	if s.err != nil {
		c.Close()
		return
	}
	if err := s.handshake(c); err != nil {
		s.logf("reprisehttp: TLS handshake error from %s: %v", c.RemoteAddr(), err)
		c.Close()
		return
	}
	sc := &serverConn{Conn: c, closed: make(chan struct{})}
	if c.ConnectionState().NegotiatedProtocol == http2.NextProtoTLS {
		ctx := context.Background()
		if s.HTTP.BaseContext != nil {
			ctx = s.HTTP.BaseContext(s.h1)
		}
		ctx = context.WithValue(ctx, http.ServerContextKey, s.HTTP)
		if s.HTTP.ConnContext != nil {
			ctx = s.HTTP.ConnContext(ctx, sc)
		}
		s.HTTP2.ServeConn(sc, &http2.ServeConnOpts{Context: ctx, BaseConfig: s.HTTP})
		sc.Close()
		return
	}
	if !s.h1.push(sc) {
		c.Close()
		return
	}
	<-sc.closed
}

// handshake runs c's handshake within the timeout net/http would give a
// crypto/tls handshake.
func (s *Server) handshake(c *reprise.Conn) error {
	timeout := DefaultHandshakeTimeout
	for _, d := range []time.Duration{s.HTTP.ReadHeaderTimeout, s.HTTP.ReadTimeout, s.HTTP.WriteTimeout} {
		if d > 0 && d < timeout {
			timeout = d
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.HandshakeContext(ctx)
}

func (s *Server) logf(format string, args ...any) {
	if s.HTTP.ErrorLog != nil {
		s.HTTP.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// connKey is the request context key of the *reprise.Conn.
type connKey struct{}

// ConnectionState returns reprise's state of the connection a server
// request arrived on, with what crypto/tls's has not: how the connection
// resumed (Resumption) or why not (Refused).
func ConnectionState(r *http.Request) (reprise.ConnectionState, bool) {
	c, ok := r.Context().Value(connKey{}).(*reprise.Conn)
	if !ok {
		return reprise.ConnectionState{}, false
	}
	return c.ConnectionState(), true
}

// serverConn is a server-side reprise connection as net/http and
// x/net/http2 see it: its ConnectionState method has crypto/tls's
// signature, which both use to fill Request.TLS for a connection that is
// not a *tls.Conn.
type serverConn struct {
	*reprise.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *serverConn) ConnectionState() tls.ConnectionState {
	cs := c.Conn.ConnectionState()
	return cs.TLS()
}

func (c *serverConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { close(c.closed) })
	return err
}

// connListener is the net.Listener the http.Server serves HTTP/1.1 from:
// connections whose handshake chose it are pushed in.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	closers []net.Listener
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close is called by http.Server's Shutdown and Close; it also closes the
// TCP listeners Serve accepts from, so Serve returns.
func (l *connListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		for _, ln := range l.closers {
			ln.Close()
		}
		l.mu.Unlock()
	})
	return nil
}

func (l *connListener) addCloser(ln net.Listener) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed() {
		ln.Close()
		return
	}
	if !slices.Contains(l.closers, ln) {
		l.closers = append(l.closers, ln)
	}
}

func (l *connListener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *connListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "reprise" }
func (pipeAddr) String() string  { return "reprise" }
