package reprise

import (
	"context"
	"net"
)

// Dialer dials TLS connections given a configuration and a dialer for the
// underlying connection, as crypto/tls's Dialer does.
type Dialer struct {
	// NetDialer is the dialer for the underlying TCP connection; nil means
	// a zero net.Dialer. Its Timeout and Deadline bound the handshake too.
	NetDialer *net.Dialer
	// Config is the TLS configuration; nil means the zero Config. An empty
	// ServerName is filled in from addr's host.
	Config *Config
}

// Dial connects to addr and runs the handshake. The net.Conn it returns is
// a *Conn.
func (d *Dialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to addr and runs the handshake, both bounded by ctx:
// once ctx ends, a connection not yet made fails, and one already made is
// not affected. The net.Conn it returns is a *Conn.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := d.NetDialer
	if nd == nil {
		nd = new(net.Dialer)
	}
	c, err := dial(ctx, nd, network, addr, d.Config)
	if err != nil {
		return nil, err // not a nil *Conn in a non-nil net.Conn
	}
	return c, nil
}

// dial is Dial, DialWithDialer and Dialer.DialContext.
func dial(ctx context.Context, d *net.Dialer, network, addr string, config *Config) (*Conn, error) {
	if d.Timeout != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	if !d.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Deadline)
		defer cancel()
	}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if config == nil {
		config = &Config{}
	}
	if config.ServerName == "" && !config.InsecureSkipVerify {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		config = config.Clone()
		config.ServerName = host
	}
	c := Client(raw, config)
	c.sessionKeyAddr = addr
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}
