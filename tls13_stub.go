package reprise

import (
	"context"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// Placeholders until TLS 1.3 lands: TLS 1.3 is not offered or accepted.

type post13State struct{}

func (p *post13State) latestSession() *Session { return nil }

type client13Offer struct{}

func (o *client13Offer) fillBinders(hs *clientHello, raw []byte, _ []byte) ([]byte, error) {
	return raw, nil
}

func (hs *clientHello) prepareTLS13() (*client13Offer, error) { return nil, nil }

func (hs *clientHello) runTLS13(ctx context.Context, sh *wire.ServerHello, shMsg []byte) error {
	return peerError(alert.ProtocolVersion, "TLS 1.3 is not implemented yet")
}

type server13 struct{}

func newServer13(ctx context.Context, c *Conn, hello *wire.ClientHello, raw []byte) *server13 {
	return &server13{}
}

func (hs *server13) run() error {
	return peerError(alert.ProtocolVersion, "TLS 1.3 is not implemented yet")
}

func (c *Conn) handlePostHandshake13(msg []byte) error {
	return peerError(alert.UnexpectedMessage, "unexpected post-handshake message")
}
