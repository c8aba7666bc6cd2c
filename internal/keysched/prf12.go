package keysched

import (
	"crypto"
	"crypto/hmac"
	"encoding/binary"
	"hash"
)

// Lengths fixed by the TLS 1.2 specifications.
const (
	masterSecretLength12 = 48 // RFC 5246 Section 8.1
	finishedLength12     = 12 // RFC 5246 Section 7.4.9: verify_data_length default
)

// Labels from RFC 5246 Sections 6.3, 7.4.9, 8.1 and RFC 7627 Section 4.
const (
	labelMasterSecret         = "master secret"
	labelExtendedMasterSecret = "extended master secret"
	labelKeyExpansion         = "key expansion"
	labelClientFinished       = "client finished"
	labelServerFinished       = "server finished"
)

// PRF is the TLS 1.2 PRF with its secret fixed (RFC 5246 Section 5): one
// HMAC keyed once serves every derivation from the secret, as the key
// block and both Finished messages all derive from the master secret. A
// PRF allocates when it is made and not when it is used (beyond the
// output), except for seeds longer than a handshake's (exporters). It is
// not safe for concurrent use.
type PRF struct {
	mac   hash.Hash
	a     [maxHashSize]byte // A(i)
	block [maxHashSize]byte // HMAC_hash(secret, A(i) + seed)
	lseed []byte            // label + seed: lseedBuf, or larger
	// lseedBuf holds label + seed for the derivations of a handshake:
	// at most 22 + 64 bytes ("extended master secret" and a SHA-384
	// session hash, or "master secret" and two randoms).
	lseedBuf [96]byte
	finished slab // both Finished messages' verify_data
}

// NewPRF12 keys the PRF with secret; h is the cipher suite's PRF hash
// (SHA-256 unless the suite names SHA-384).
func NewPRF12(h crypto.Hash, secret []byte) *PRF {
	p := &PRF{mac: hmac.New(h.New, secret)}
	p.lseed = p.lseedBuf[:0]
	return p
}

// Fill fills out with PRF(secret, label, seed) = P_hash(secret, label +
// seed), where (RFC 5246 Section 5)
//
//	A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
//	P_hash = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
//
// truncated to len(out).
func (p *PRF) Fill(label string, seed, out []byte) { p.fill(label, seed, nil, out) }

// fill is Fill with the seed in two parts, seed1 + seed2.
func (p *PRF) fill(label string, seed1, seed2, out []byte) {
	p.lseed = append(append(append(p.lseed[:0], label...), seed1...), seed2...)
	mac := p.mac
	mac.Reset()
	mac.Write(p.lseed)
	a := mac.Sum(p.a[:0]) // A(1)
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(p.lseed)
		n := copy(out, mac.Sum(p.block[:0]))
		out = out[n:]

		mac.Reset()
		mac.Write(a)
		a = mac.Sum(p.a[:0]) // A(i+1)
	}
	clear(p.block[:])
}

// PRF12 fills out with the TLS 1.2 PRF (RFC 5246 Section 5):
// PRF(secret, label, seed) = P_<hash>(secret, label + seed), where <hash> is
// the cipher suite's PRF hash (SHA-256 unless the suite names SHA-384).
func PRF12(h crypto.Hash, secret []byte, label string, seed []byte, out []byte) {
	NewPRF12(h, secret).Fill(label, seed, out)
}

// MasterSecret12 computes the 48-byte TLS 1.2 master secret without the
// extended master secret extension (RFC 5246 Section 8.1):
// PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random).
//
// It is named with a 12 suffix, like PRF12 and Finished12, because
// MasterSecret is the TLS 1.3 stage type.
func MasterSecret12(h crypto.Hash, preMaster, clientRandom, serverRandom []byte) []byte {
	out := make([]byte, masterSecretLength12)
	NewPRF12(h, preMaster).fill(labelMasterSecret, clientRandom, serverRandom, out)
	return out
}

// ExtendedMasterSecret computes the 48-byte master secret when the
// extended_master_secret extension was negotiated (RFC 7627 Section 4):
// PRF(pre_master_secret, "extended master secret", session_hash), where
// session_hash is the transcript hash of every handshake message up to and
// including ClientKeyExchange (RFC 7627 Section 3). Binding the master secret
// to the whole handshake is what defeats the triple-handshake attack.
func ExtendedMasterSecret(h crypto.Hash, preMaster, sessionHash []byte) []byte {
	out := make([]byte, masterSecretLength12)
	PRF12(h, preMaster, labelExtendedMasterSecret, sessionHash, out)
	return out
}

// KeyBlock expands the master secret into n bytes of key material
// (RFC 5246 Section 6.3). Note the seed order: server_random first, the
// reverse of the master secret derivation.
func KeyBlock(h crypto.Hash, master, clientRandom, serverRandom []byte, n int) []byte {
	return NewPRF12(h, master).KeyBlock(clientRandom, serverRandom, n)
}

// KeyBlock is the package's KeyBlock with p keyed by the master secret.
func (p *PRF) KeyBlock(clientRandom, serverRandom []byte, n int) []byte {
	if n < 0 {
		n = 0
	}
	out := make([]byte, n)
	p.fill(labelKeyExpansion, serverRandom, clientRandom, out)
	return out
}

// Finished12 computes the 12-byte verify_data of a TLS 1.2 Finished message
// (RFC 5246 Section 7.4.9): PRF(master_secret, finished_label,
// Hash(handshake_messages)). fromClient selects "client finished" or
// "server finished". Compare received values with hmac.Equal.
func Finished12(h crypto.Hash, master []byte, fromClient bool, transcriptHash []byte) []byte {
	return NewPRF12(h, master).Finished(fromClient, transcriptHash)
}

// Finished is Finished12 with p keyed by the master secret.
func (p *PRF) Finished(fromClient bool, transcriptHash []byte) []byte {
	label := labelServerFinished
	if fromClient {
		label = labelClientFinished
	}
	out := p.finished.take(finishedLength12, 2)
	p.Fill(label, transcriptHash, out)
	return out
}

// ExportKeyingMaterial12 is the TLS 1.2 keying material exporter
// (RFC 5705 Section 4):
//
//	PRF(master_secret, label, client_random + server_random
//	    [+ context_value_length + context_value])
//
// The context is included only when hasContext is set; RFC 5705 makes "no
// context" and "empty context" produce different outputs. It returns nil if
// the context cannot be encoded (longer than 2^16-1 bytes) or length is
// negative. The caller must reject the labels reserved by RFC 5705 Section 4
// ("client finished", "master secret", ...) and, per RFC 7627 Section 5.4,
// should refuse to export from a session without extended master secret.
func ExportKeyingMaterial12(h crypto.Hash, master, clientRandom, serverRandom []byte, label string, context []byte, hasContext bool, length int) []byte {
	if length < 0 || len(context) > 0xffff {
		return nil
	}
	seed := make([]byte, 0, len(clientRandom)+len(serverRandom)+2+len(context))
	seed = append(seed, clientRandom...)
	seed = append(seed, serverRandom...)
	if hasContext {
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(context)))
		seed = append(seed, context...)
	}
	out := make([]byte, length)
	PRF12(h, master, label, seed, out)
	return out
}
