package keysched

import (
	"crypto"
	"crypto/hmac"
	"encoding/binary"
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

// pHash fills out with P_hash(secret, seed) (RFC 5246 Section 5):
//
//	A(0) = seed, A(i) = HMAC_hash(secret, A(i-1))
//	P_hash = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + ...
//
// truncated to len(out).
func pHash(h crypto.Hash, secret, seed, out []byte) {
	mac := hmac.New(h.New, secret)
	mac.Write(seed)
	a := mac.Sum(nil) // A(1)
	var block []byte
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		block = mac.Sum(block[:0])
		n := copy(out, block)
		out = out[n:]

		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0]) // A(i+1)
	}
}

// PRF12 fills out with the TLS 1.2 PRF (RFC 5246 Section 5):
// PRF(secret, label, seed) = P_<hash>(secret, label + seed), where <hash> is
// the cipher suite's PRF hash (SHA-256 unless the suite names SHA-384).
func PRF12(h crypto.Hash, secret []byte, label string, seed []byte, out []byte) {
	labelAndSeed := make([]byte, 0, len(label)+len(seed))
	labelAndSeed = append(labelAndSeed, label...)
	labelAndSeed = append(labelAndSeed, seed...)
	pHash(h, secret, labelAndSeed, out)
}

// MasterSecret12 computes the 48-byte TLS 1.2 master secret without the
// extended master secret extension (RFC 5246 Section 8.1):
// PRF(pre_master_secret, "master secret", ClientHello.random + ServerHello.random).
//
// It is named with a 12 suffix, like PRF12 and Finished12, because
// MasterSecret is the TLS 1.3 stage type.
func MasterSecret12(h crypto.Hash, preMaster, clientRandom, serverRandom []byte) []byte {
	seed := make([]byte, 0, len(clientRandom)+len(serverRandom))
	seed = append(seed, clientRandom...)
	seed = append(seed, serverRandom...)
	out := make([]byte, masterSecretLength12)
	PRF12(h, preMaster, labelMasterSecret, seed, out)
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
	if n < 0 {
		n = 0
	}
	seed := make([]byte, 0, len(clientRandom)+len(serverRandom))
	seed = append(seed, serverRandom...)
	seed = append(seed, clientRandom...)
	out := make([]byte, n)
	PRF12(h, master, labelKeyExpansion, seed, out)
	return out
}

// Finished12 computes the 12-byte verify_data of a TLS 1.2 Finished message
// (RFC 5246 Section 7.4.9): PRF(master_secret, finished_label,
// Hash(handshake_messages)). fromClient selects "client finished" or
// "server finished". Compare received values with hmac.Equal.
func Finished12(h crypto.Hash, master []byte, fromClient bool, transcriptHash []byte) []byte {
	label := labelServerFinished
	if fromClient {
		label = labelClientFinished
	}
	out := make([]byte, finishedLength12)
	PRF12(h, master, label, transcriptHash, out)
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
