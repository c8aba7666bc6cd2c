//lint:file-ignore SA1019 x/net/http2 deprecates its server and transport in favour of net/http's, which run HTTP/2 only over a *crypto/tls.Conn or without TLS; a reprise connection is neither, so this package drives x/net/http2 directly.

package reprisehttp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sync"
	"time"

	"github.com/reprise-tls/reprise"
	"golang.org/x/net/http2"
)

// Transport is an http.RoundTripper that makes its https connections with
// reprise. Each connection offers "h2" and "http/1.1" (unless TLS names
// other protocols) and the server's choice decides: HTTP/2 connections
// are kept per host and multiplexed, HTTP/1.1 ones are pooled by an
// http.Transport. Response.TLS is the connection's state as crypto/tls's
// ConnectionState. Plain http requests go through the http.Transport
// unchanged.
//
// Sessions resume across connections: when TLS has no
// ClientSessionCache, the Transport uses one of its own.
type Transport struct {
	// TLS is the client configuration; nil means reprise's defaults. An
	// empty ServerName is taken from each request's host.
	TLS *reprise.Config
	// HTTP1 carries HTTP/1.1 requests and plain http; nil means a
	// Transport like http.DefaultTransport's. Its DialTLSContext is
	// replaced by the reprise dialer.
	HTTP1 *http.Transport
	// HTTP2 carries HTTP/2 requests; nil means x/net/http2's defaults.
	HTTP2 *http2.Transport
	// Dialer makes the TCP connections; nil means a net.Dialer with a
	// 30-second timeout, as http.DefaultTransport's.
	Dialer *net.Dialer

	once  sync.Once
	cfg   *reprise.Config // offers every protocol: the first connection to a host
	cfgH1 *reprise.Config // offers all but h2: more connections to an HTTP/1.1 host

	mu     sync.Mutex
	h2     map[string]*http2.ClientConn // by host:port
	proto  map[string]string            // last ALPN result by host:port
	spares map[string][]*reprise.Conn   // HTTP/1.1 connections dialled to learn the protocol
}

// NewClient returns an http.Client whose Transport dials through reprise
// with config.
func NewClient(config *reprise.Config) *http.Client {
	return &http.Client{Transport: &Transport{TLS: config}}
}

func (t *Transport) init() {
	t.once.Do(func() {
		cfg := t.TLS
		if cfg == nil {
			cfg = &reprise.Config{}
		}
		cfg = cfg.Clone()
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = nextProtos
		}
		if cfg.ClientSessionCache == nil {
			cfg.ClientSessionCache = reprise.NewLRUClientSessionCache(0)
		}
		t.cfg = cfg
		t.cfgH1 = cfg.Clone()
		t.cfgH1.NextProtos = slices.DeleteFunc(slices.Clone(cfg.NextProtos), func(p string) bool { return p == http2.NextProtoTLS })
		if len(t.cfgH1.NextProtos) == 0 {
			t.cfgH1 = cfg // an h2-only Config: nothing else to offer
		}
		if t.Dialer == nil {
			t.Dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		}
		if t.HTTP1 == nil {
			t.HTTP1 = &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				MaxIdleConns:          100,
				IdleConnTimeout:       90 * time.Second,
				ExpectContinueTimeout: time.Second,
			}
		}
		// A non-nil empty map keeps net/http from trying HTTP/2 itself.
		t.HTTP1.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		t.HTTP1.DialTLSContext = t.dialHTTP1
		if t.HTTP2 == nil {
			t.HTTP2 = &http2.Transport{}
		}
		t.h2 = map[string]*http2.ClientConn{}
		t.proto = map[string]string{}
		t.spares = map[string][]*reprise.Conn{}
	})
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.init()
	if req.URL.Scheme != "https" {
		return t.HTTP1.RoundTrip(req)
	}
	addr := hostPort(req)
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		cc := t.h2[addr]
		proto, known := t.proto[addr]
		t.mu.Unlock()
		if cc != nil {
			if cc.ReserveNewRequest() {
				resp, err := cc.RoundTrip(req)
				if err == nil || attempt > 0 || !errors.Is(err, http2.ErrNoCachedConn) {
					return resp, err
				}
			}
			t.dropHTTP2(addr, cc)
			continue
		}
		if known && proto != http2.NextProtoTLS {
			return t.roundTripHTTP1(req)
		}
		// A new host, or one that spoke HTTP/2 last: dial to learn what
		// the server chooses now.
		c, err := t.dial(req.Context(), addr, t.cfg)
		if err != nil {
			return nil, err
		}
		if c.ConnectionState().NegotiatedProtocol != http2.NextProtoTLS {
			t.mu.Lock()
			t.proto[addr] = "http/1.1"
			t.spares[addr] = append(t.spares[addr], c)
			t.mu.Unlock()
			return t.roundTripHTTP1(req)
		}
		cc, err = t.HTTP2.NewClientConn(&clientConn{c})
		if err != nil {
			c.Close()
			return nil, err
		}
		t.mu.Lock()
		t.proto[addr] = http2.NextProtoTLS
		if old := t.h2[addr]; old != nil && old.CanTakeNewRequest() {
			cc.Close() // another request won the race; use its connection
		} else {
			t.h2[addr] = cc
		}
		t.mu.Unlock()
	}
}

func (t *Transport) dropHTTP2(addr string, cc *http2.ClientConn) {
	t.mu.Lock()
	if t.h2[addr] == cc {
		delete(t.h2, addr)
	}
	t.mu.Unlock()
}

// roundTripHTTP1 sends req through the http.Transport and fills
// Response.TLS from the connection it used, which net/http does only for a
// *tls.Conn.
func (t *Transport) roundTripHTTP1(req *http.Request) (*http.Response, error) {
	var used net.Conn
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { used = info.Conn }}
	resp, err := t.HTTP1.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil && resp.TLS == nil {
		if c, ok := used.(*clientConn); ok {
			cs := c.ConnectionState()
			resp.TLS = &cs
		}
	}
	return resp, err
}

// dialHTTP1 is the http.Transport's TLS dialer: a connection dialled to
// learn the protocol first, else a new one that does not offer h2, since
// the server chose HTTP/1.1 for this host before.
func (t *Transport) dialHTTP1(ctx context.Context, network, addr string) (net.Conn, error) {
	t.mu.Lock()
	if spares := t.spares[addr]; len(spares) > 0 {
		c := spares[len(spares)-1]
		t.spares[addr] = spares[:len(spares)-1]
		t.mu.Unlock()
		return &clientConn{c}, nil
	}
	t.mu.Unlock()
	c, err := t.dial(ctx, addr, t.cfgH1)
	if err != nil {
		return nil, err
	}
	if c.ConnectionState().NegotiatedProtocol == http2.NextProtoTLS {
		// Only with a Config that offers h2 alone; relearn next time.
		c.Close()
		t.mu.Lock()
		delete(t.proto, addr)
		t.mu.Unlock()
		return nil, errors.New("reprisehttp: server chose HTTP/2 on a connection for HTTP/1.1; retry the request")
	}
	return &clientConn{c}, nil
}

// dial connects to addr and runs the handshake, with ServerName from the
// address when the Config has none.
func (t *Transport) dial(ctx context.Context, addr string, cfg *reprise.Config) (*reprise.Conn, error) {
	d := &reprise.Dialer{NetDialer: t.Dialer, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*reprise.Conn), nil
}

// CloseIdleConnections closes idle connections of both protocols.
func (t *Transport) CloseIdleConnections() {
	t.init()
	t.HTTP1.CloseIdleConnections()
	t.mu.Lock()
	defer t.mu.Unlock()
	for addr, cc := range t.h2 {
		if st := cc.State(); st.StreamsActive == 0 && st.StreamsPending == 0 {
			cc.Close()
			delete(t.h2, addr)
		}
	}
	for addr, spares := range t.spares {
		for _, c := range spares {
			c.Close()
		}
		delete(t.spares, addr)
	}
}

// clientConn gives a reprise client connection crypto/tls's
// ConnectionState signature, which x/net/http2 uses for Response.TLS.
type clientConn struct{ *reprise.Conn }

func (c *clientConn) ConnectionState() tls.ConnectionState {
	cs := c.Conn.ConnectionState()
	return cs.TLS()
}

// hostPort is the request's host with the https port made explicit.
func hostPort(req *http.Request) string {
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(host, port)
}
