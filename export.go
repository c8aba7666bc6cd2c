package reprise

import (
	"crypto"
	"crypto/tls"
	"errors"

	"github.com/reprise-tls/reprise/internal/keysched"
)

// exporter derives keying material for ConnectionState.ExportKeyingMaterial.
type exporter func(label string, context []byte, length int) ([]byte, error)

var (
	errExportBeforeHandshake = errors.New("tls: ExportKeyingMaterial is unavailable before the handshake completes")
	errExportWithoutEMS      = errors.New("tls: ExportKeyingMaterial is unavailable when neither TLS 1.3 nor extended master secret was negotiated")
	errExportReservedLabel   = errors.New("tls: reserved ExportKeyingMaterial label")
	errExportArguments       = errors.New("tls: ExportKeyingMaterial label, context or length out of range")
)

// exporter12 is RFC 5705's exporter over a TLS 1.2 master secret. RFC 7627,
// Section 5.4: without extended master secret the master secret is not
// bound to the connection (the triple handshake), so an application
// SHOULD NOT export from it; like crypto/tls we refuse.
func exporter12(h crypto.Hash, master, clientRandom, serverRandom []byte, ems bool) exporter {
	if !ems {
		return func(string, []byte, int) ([]byte, error) { return nil, errExportWithoutEMS }
	}
	// master is not copied: like the randoms it is the handshake's own
	// value (or its resumed session's), which nothing writes afterwards.
	return func(label string, context []byte, length int) ([]byte, error) {
		// RFC 5705, Section 4: labels the PRF already uses for the
		// handshake MUST NOT be exported under.
		switch label {
		case "client finished", "server finished", "master secret", "key expansion", "extended master secret":
			return nil, errExportReservedLabel
		}
		// crypto/tls: a nil context is "no context"; an empty non-nil one
		// is a zero-length context, and RFC 5705 makes them differ.
		out := keysched.ExportKeyingMaterial12(h, master, clientRandom, serverRandom, label, context, context != nil, length)
		if out == nil && length != 0 {
			return nil, errExportArguments
		}
		return out, nil
	}
}

// exporter13 is RFC 8446, Section 7.5's TLS-Exporter over
// exporter_master_secret.
func exporter13(h crypto.Hash, exporterMasterSecret []byte) exporter {
	return func(label string, context []byte, length int) ([]byte, error) {
		out := keysched.ExportKeyingMaterial13(h, exporterMasterSecret, label, context, length)
		if out == nil && length != 0 {
			return nil, errExportArguments
		}
		return out, nil
	}
}

// setExporter12 is called by both TLS 1.2 roles when the handshake is done.
func (c *Conn) setExporter12(s *cipherSuite, master, clientRandom, serverRandom []byte, ems bool) {
	c.state.ekm = exporter12(s.hash, master, clientRandom, serverRandom, ems)
}

// setExporter13 is called by both TLS 1.3 roles with the transcript hash
// through the server's Finished (RFC 8446, Section 7.1).
func (c *Conn) setExporter13(s *cipherSuite, master *keysched.MasterSecret, transcriptHash []byte) {
	c.state.ekm = exporter13(s.hash, master.ExporterMasterSecret(transcriptHash))
}

// noteFinished12 records the first Finished verify_data of a TLS 1.2
// connection: the tls-unique channel binding (RFC 5929, Section 3.1). On a
// resumed connection it is the server's, which comes first.
func (c *Conn) noteFinished12(verifyData []byte) {
	if c.state.TLSUnique == nil {
		c.state.TLSUnique = append([]byte(nil), verifyData...)
	}
}

// ExportKeyingMaterial returns length bytes of keying material derived
// from the connection's secrets, for label and context: RFC 5705 for TLS
// 1.2 (only with extended master secret, RFC 7627, Section 5.4) and RFC
// 8446, Section 7.5 for TLS 1.3. It matches crypto/tls's byte for byte, so
// the two ends of a connection may use either library.
func (cs *ConnectionState) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if cs.ekm == nil {
		return nil, errExportBeforeHandshake
	}
	return cs.ekm(label, context, length)
}

// TLS returns the state as crypto/tls's ConnectionState, for code that
// takes one (net/http's Request.TLS and Response.TLS, VerifyConnection
// callbacks shared with crypto/tls). Its ExportKeyingMaterial works as on
// a crypto/tls connection. reprise's own fields (Resumption, Refused,
// HandshakeKind details) have no place there and are dropped; ECH, OCSP
// and SCT fields are zero, as reprise implements none of them.
func (cs *ConnectionState) TLS() tls.ConnectionState {
	out := tls.ConnectionState{
		Version:            cs.Version,
		HandshakeComplete:  cs.HandshakeComplete,
		DidResume:          cs.DidResume,
		CipherSuite:        cs.CipherSuite,
		CurveID:            cs.CurveID,
		NegotiatedProtocol: cs.NegotiatedProtocol,
		//lint:ignore SA1019 crypto/tls still sets it (always true), and code may still read it.
		NegotiatedProtocolIsMutual: true,
		ServerName:                 cs.ServerName,
		PeerCertificates:           cs.PeerCertificates,
		VerifiedChains:             cs.VerifiedChains,
		TLSUnique:                  cs.TLSUnique,
		HelloRetryRequest:          cs.HelloRetryRequest,
	}
	ekm := cs.ekm
	if ekm == nil {
		ekm = func(string, []byte, int) ([]byte, error) { return nil, errExportBeforeHandshake }
	}
	setHidden(&out, "ekm", (func(string, []byte, int) ([]byte, error))(ekm))
	return out
}
