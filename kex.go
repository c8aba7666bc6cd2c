package reprise

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"io"
	"slices"

	"github.com/reprise-tls/reprise/internal/alert"
)

// keyExchange is our half of one (EC)DHE or hybrid KEM exchange, held by
// the side that speaks first: the TLS 1.3 client, or the TLS 1.2 server.
type keyExchange interface {
	group() CurveID
	share() []byte                            // our key_share / ServerECDHParams point
	sharedSecret(peer []byte) ([]byte, error) // from the peer's share
}

func ecdhCurve(g CurveID) ecdh.Curve {
	switch g {
	case X25519:
		return ecdh.X25519()
	case CurveP256:
		return ecdh.P256()
	case CurveP384:
		return ecdh.P384()
	}
	return nil
}

type ecdheExchange struct {
	g    CurveID
	priv *ecdh.PrivateKey
}

func (e *ecdheExchange) group() CurveID { return e.g }
func (e *ecdheExchange) share() []byte  { return e.priv.PublicKey().Bytes() }
func (e *ecdheExchange) sharedSecret(peer []byte) ([]byte, error) {
	pub, err := e.priv.Curve().NewPublicKey(peer)
	if err != nil {
		return nil, wrapError(alert.IllegalParameter, "peer's key share is not a valid point", err)
	}
	s, err := e.priv.ECDH(pub)
	if err != nil {
		return nil, wrapError(alert.IllegalParameter, "key exchange with peer's share failed", err)
	}
	return s, nil
}

// hybridExchange is X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem, Section 3):
// the client share is the ML-KEM-768 encapsulation key then the X25519
// point; the server share is the ciphertext then its X25519 point; the
// secret is the ML-KEM secret then the X25519 secret.
type hybridExchange struct {
	kem *mlkem.DecapsulationKey768
	x   *ecdh.PrivateKey
}

func (h *hybridExchange) group() CurveID { return X25519MLKEM768 }
func (h *hybridExchange) share() []byte {
	return append(h.kem.EncapsulationKey().Bytes(), h.x.PublicKey().Bytes()...)
}
func (h *hybridExchange) sharedSecret(peer []byte) ([]byte, error) {
	if len(peer) != mlkem.CiphertextSize768+32 {
		return nil, peerError(alert.IllegalParameter, "X25519MLKEM768 server share has %d bytes", len(peer))
	}
	k, err := h.kem.Decapsulate(peer[:mlkem.CiphertextSize768])
	if err != nil {
		return nil, wrapError(alert.IllegalParameter, "ML-KEM decapsulation failed", err)
	}
	xs, err := (&ecdheExchange{g: X25519, priv: h.x}).sharedSecret(peer[mlkem.CiphertextSize768:])
	if err != nil {
		return nil, err
	}
	return append(k, xs...), nil
}

// newKeyExchange makes a fresh private share for group g.
func newKeyExchange(rand io.Reader, g CurveID) (keyExchange, error) {
	if g == X25519MLKEM768 {
		kem, err := mlkem.GenerateKey768()
		if err != nil {
			return nil, err
		}
		x, err := ecdh.X25519().GenerateKey(rand)
		if err != nil {
			return nil, err
		}
		return &hybridExchange{kem: kem, x: x}, nil
	}
	curve := ecdhCurve(g)
	if curve == nil {
		return nil, peerError(alert.InternalError, "unsupported group %v", g)
	}
	priv, err := curve.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	return &ecdheExchange{g: g, priv: priv}, nil
}

// respondKeyExchange is the responder's side (TLS 1.3 server, TLS 1.2
// client): given the peer's share for g, it returns our share and the
// shared secret.
func respondKeyExchange(rand io.Reader, g CurveID, peer []byte) (share, secret []byte, err error) {
	if g == X25519MLKEM768 {
		if len(peer) != mlkem.EncapsulationKeySize768+32 {
			return nil, nil, peerError(alert.IllegalParameter, "X25519MLKEM768 client share has %d bytes", len(peer))
		}
		ek, err := mlkem.NewEncapsulationKey768(peer[:mlkem.EncapsulationKeySize768])
		if err != nil {
			return nil, nil, wrapError(alert.IllegalParameter, "ML-KEM encapsulation key", err)
		}
		k, ct := ek.Encapsulate()
		x, err := newKeyExchange(rand, X25519)
		if err != nil {
			return nil, nil, err
		}
		xs, err := x.sharedSecret(peer[mlkem.EncapsulationKeySize768:])
		if err != nil {
			return nil, nil, err
		}
		return append(ct, x.share()...), append(k, xs...), nil
	}
	kx, err := newKeyExchange(rand, g)
	if err != nil {
		return nil, nil, err
	}
	secret, err = kx.sharedSecret(peer)
	if err != nil {
		return nil, nil, err
	}
	return kx.share(), secret, nil
}

// curvesToUint16 and back convert group lists for the wire.
func curvesToUint16(cs []CurveID) []uint16 {
	out := make([]uint16, len(cs))
	for i, c := range cs {
		out[i] = uint16(c)
	}
	return out
}

// firstCommonGroup returns our most preferred group that the peer lists.
func firstCommonGroup(ours []CurveID, peer []uint16) (CurveID, bool) {
	for _, g := range ours {
		if slices.Contains(peer, uint16(g)) {
			return g, true
		}
	}
	return 0, false
}
