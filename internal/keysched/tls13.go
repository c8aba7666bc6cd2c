package keysched

import (
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"sync"
)

// Labels of RFC 8446 Sections 4.4.4, 4.6.1, 7.1, 7.3 and 7.5. ExpandLabel adds
// the "tls13 " prefix.
const (
	labelPrefix13            = "tls13 "
	labelDerived             = "derived"
	labelExternalBinder      = "ext binder"
	labelResumptionBinder    = "res binder"
	labelClientEarlyTraffic  = "c e traffic"
	labelEarlyExporterMaster = "e exp master"
	labelClientHSTraffic     = "c hs traffic"
	labelServerHSTraffic     = "s hs traffic"
	labelClientAPTraffic     = "c ap traffic"
	labelServerAPTraffic     = "s ap traffic"
	labelExporterMaster      = "exp master"
	labelResumptionMaster    = "res master"
	labelResumption          = "resumption"
	labelTrafficUpdate       = "traffic upd"
	labelKey                 = "key"
	labelIV                  = "iv"
	labelFinished            = "finished"
	labelExporter            = "exporter"
)

// Bounds of the HkdfLabel structure (RFC 8446 Section 7.1):
// opaque label<7..255> (with the prefix) and opaque context<0..255>.
const (
	maxLabelLength13   = 255 - len(labelPrefix13)
	maxContextLength13 = 255
)

// ExpandLabel is HKDF-Expand-Label (RFC 8446 Section 7.1):
//
//	HKDF-Expand(Secret, HkdfLabel, Length), where
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
//
// Labels in this package are constants and contexts are transcript hashes or
// ticket nonces (which the wire parser bounds to 255 bytes), so the encoding
// limits can only be broken by a programming error: ExpandLabel panics if
// label is longer than 249 bytes, context longer than 255 bytes, or length
// is negative or above HKDF's limit of 255*h.Size(). Code that passes
// application-supplied labels (the exporters) checks these limits first.
func ExpandLabel(h crypto.Hash, secret []byte, label string, context []byte, length int) []byte {
	if length < 0 {
		panic("keysched: HKDF-Expand-Label parameters out of range")
	}
	buf := make([]byte, length+hkdfLabelScratch)
	out := buf[:length:length]
	e := expander{hash: h, secret: secret, scratch: buf[length:]}
	e.expandLabelInto(out, label, context)
	return out
}

// maxHashSize is the largest output of the suites' hashes (SHA-384).
const maxHashSize = 48

// hkdfLabelScratch holds the HkdfLabel of every expansion of a handshake
// (2 + 1 + "tls13 " and a label of at most 12 bytes + 1 + a context of at
// most one SHA-384 hash, + the HKDF block counter) and, after it is
// written, an HMAC output. Longer labels or contexts (exporters, long
// ticket nonces) use a buffer of their own.
const hkdfLabelScratch = 2 + 1 + len(labelPrefix13) + 12 + 1 + maxHashSize + 1

// expander computes HKDF-Expand-Label outputs from one secret. HMAC is keyed
// once: from the second output on, hmac's Reset restores the keyed state, so
// each further output costs two hash compressions instead of four plus the
// setup. The stages of the key schedule keep one for their secret, since each
// derives two to four values from it.
//
// The HkdfLabel is written into scratch, memory the caller already has on
// the heap (a stage's array, or the tail of the output's allocation): a
// stack buffer would move to the heap anyway, as hash.Hash's Write may
// keep it. An expander is not safe for concurrent use.
type expander struct {
	hash    crypto.Hash
	secret  []byte    // the PRK
	mac     hash.Hash // keyed with secret on first use
	scratch []byte    // hkdfLabelScratch bytes
}

// stage is the expander of a key schedule stage, with its secret and
// scratch in arrays of its own, so that a stage is one allocation, and the
// secrets it derives taken from one slab.
type stage struct {
	expander
	secretBuf  [maxHashSize]byte
	scratchBuf [hkdfLabelScratch]byte
	secrets    slab
}

// secretsPerStage is the most secrets a stage derives besides "derived":
// the Master Secret's four (RFC 8446 Section 7.1).
const secretsPerStage = 4

// extractFrom sets s's secret to HKDF-Extract(salt, IKM) = HMAC-Hash(salt,
// IKM) (RFC 5869 Section 2.2), written into s's own array.
func (s *stage) extractFrom(h crypto.Hash, salt, ikm []byte) {
	mac := hmac.New(h.New, salt)
	mac.Write(ikm)
	s.hash = h
	s.secret = mac.Sum(s.secretBuf[:0])
	s.scratch = s.scratchBuf[:]
}

// expandLabelInto fills out with HKDF-Expand-Label(secret, label, context,
// len(out)) (RFC 8446 Section 7.1).
func (e *expander) expandLabelInto(out []byte, label string, context []byte) {
	h := e.hash
	length := len(out)
	if len(label) > maxLabelLength13 || len(context) > maxContextLength13 || length > 255*h.Size() {
		panic("keysched: HKDF-Expand-Label parameters out of range")
	}
	info := e.scratch[:0]
	if n := 2 + 1 + len(labelPrefix13) + len(label) + 1 + len(context) + 1; n > len(e.scratch) {
		info = make([]byte, 0, n)
	}
	info = append(info, byte(length>>8), byte(length), byte(len(labelPrefix13)+len(label)))
	info = append(info, labelPrefix13...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	if length > h.Size() {
		t, err := hkdf.Expand(h.New, e.secret, string(info), length)
		if err != nil {
			// Only reachable in FIPS 140-only mode with a secret shorter
			// than 112 bits; every secret expanded here is h.Size() bytes.
			panic("keysched: " + err.Error())
		}
		copy(out, t)
		return
	}
	// Every key, IV and secret of the key schedule is at most one hash
	// long, where HKDF-Expand's output is its first block alone,
	// T(1) = HMAC(PRK, info | 0x01) (RFC 5869 Section 2.3).
	if e.mac == nil {
		e.mac = hmac.New(h.New, e.secret)
	} else {
		e.mac.Reset()
	}
	info = append(info, 1)
	e.mac.Write(info)
	// The HkdfLabel has been hashed, so T(1) may overwrite it.
	t := e.mac.Sum(info[:0])
	copy(out, t)
	clear(t)
}

// deriveSecret is Derive-Secret with s's secret.
func (s *stage) deriveSecret(label string, transcriptHash []byte) []byte {
	out := s.secrets.take(s.hash.Size(), secretsPerStage)
	s.expandLabelInto(out, label, transcriptHash)
	return out
}

// deriveNextStage sets next's secret to the next stage's
// HKDF-Extract(Derive-Secret(s's secret, "derived", ""), ikm) (RFC 8446
// Section 7.1). The salt is written into next's scratch, which next has not
// used yet, and wiped once HMAC has copied it.
func (s *stage) deriveNextStage(next *stage, ikm []byte) {
	salt := next.scratchBuf[:s.hash.Size()]
	s.expandLabelInto(salt, labelDerived, emptyHash(s.hash))
	next.extractFrom(s.hash, salt, ikm)
	clear(salt)
}

// DeriveSecret is Derive-Secret (RFC 8446 Section 7.1):
// HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length).
// It takes the transcript hash rather than the messages, so callers hash with
// a Transcript.
func DeriveSecret(h crypto.Hash, secret []byte, label string, transcriptHash []byte) []byte {
	return ExpandLabel(h, secret, label, transcriptHash, h.Size())
}

// emptyHash is Transcript-Hash("") = Hash(""), the context of the "derived"
// and binder-key derivations (RFC 8446 Section 7.1).
func emptyHash(h crypto.Hash) []byte {
	switch h {
	case crypto.SHA256:
		return emptySHA256[:]
	case crypto.SHA384:
		return emptySHA384[:]
	}
	return h.New().Sum(nil)
}

// The two hashes of the TLS 1.3 suites, computed once: every handshake needs
// them for each "derived" step.
var (
	emptySHA256 = sha256.Sum256(nil)
	emptySHA384 = sha512.Sum384(nil)
)

// zeros is the string of Hash.length zero bytes that RFC 8446 Section 7.1
// uses as the first salt and in place of an absent PSK or (EC)DHE input.
// Only read: HMAC copies its key and hashes its input.
var zeros [maxHashSize]byte

// EarlySecret is the first stage of the TLS 1.3 key schedule
// (RFC 8446 Section 7.1): HKDF-Extract(0, PSK). Only NewEarlySecret makes one.
type EarlySecret struct {
	stage
	// derived is Derive-Secret(., "derived", "") when it is known in
	// advance (noPSKSecrets), else nil. Shared: only read.
	derived []byte
}

// NewEarlySecret starts the key schedule. With no PSK (psk empty), the input
// is Hash.length zero bytes, as RFC 8446 Section 7.1 requires. The salt is
// "0", a string of Hash.length zero bytes.
func NewEarlySecret(h crypto.Hash, psk []byte) *EarlySecret {
	s := new(EarlySecret)
	if len(psk) == 0 {
		if pre, ok := noPSKSecrets(h); ok {
			s.hash = h
			s.secret = append(s.secretBuf[:0], pre.early...)
			s.scratch = s.scratchBuf[:]
			s.derived = pre.derived
			return s
		}
		psk = zeros[:h.Size()]
	}
	s.extractFrom(h, zeros[:h.Size()], psk)
	return s
}

// precomputedEarly is the Early Secret of a handshake without a PSK and its
// "derived" secret. With Hash.length zero bytes for both salt and PSK, both
// are constants of the hash (RFC 8446 Section 7.1), so every full handshake
// would compute the same two values: they are computed once.
type precomputedEarly struct{ early, derived []byte }

var (
	noPSKSHA256 = sync.OnceValue(func() precomputedEarly { return computeNoPSK(crypto.SHA256) })
	noPSKSHA384 = sync.OnceValue(func() precomputedEarly { return computeNoPSK(crypto.SHA384) })
)

// noPSKSecrets returns the precomputed secrets for h, if h is a suite's.
func noPSKSecrets(h crypto.Hash) (precomputedEarly, bool) {
	switch h {
	case crypto.SHA256:
		return noPSKSHA256(), true
	case crypto.SHA384:
		return noPSKSHA384(), true
	}
	return precomputedEarly{}, false
}

// computeNoPSK computes h's precomputedEarly the way NewEarlySecret and
// HandshakeSecret do for any PSK.
func computeNoPSK(h crypto.Hash) precomputedEarly {
	var s stage
	s.extractFrom(h, zeros[:h.Size()], zeros[:h.Size()])
	derived := make([]byte, h.Size())
	s.expandLabelInto(derived, labelDerived, emptyHash(h))
	return precomputedEarly{early: s.secret, derived: derived}
}

// ResumptionBinderKey is binder_key for a resumption PSK: Derive-Secret(.,
// "res binder", "") (RFC 8446 Sections 4.2.11.2 and 7.1). Pass it to
// Finished13 with the truncated-ClientHello hash to compute a binder.
func (s *EarlySecret) ResumptionBinderKey() []byte {
	return s.deriveSecret(labelResumptionBinder, emptyHash(s.hash))
}

// ExternalBinderKey is binder_key for an external PSK: Derive-Secret(.,
// "ext binder", ""). The distinct label keeps a resumption PSK from being
// accepted as an external one and vice versa (RFC 8446 Section 4.2.11.2).
func (s *EarlySecret) ExternalBinderKey() []byte {
	return s.deriveSecret(labelExternalBinder, emptyHash(s.hash))
}

// ClientEarlyTrafficSecret is client_early_traffic_secret, protecting 0-RTT
// data: Derive-Secret(., "c e traffic", ClientHello).
func (s *EarlySecret) ClientEarlyTrafficSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelClientEarlyTraffic, transcriptHash)
}

// EarlyExporterMasterSecret is early_exporter_master_secret:
// Derive-Secret(., "e exp master", ClientHello).
func (s *EarlySecret) EarlyExporterMasterSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelEarlyExporterMaster, transcriptHash)
}

// HandshakeSecret advances to the Handshake Secret:
// HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE). With psk_ke there is
// no (EC)DHE input; pass nil and Hash.length zero bytes are used
// (RFC 8446 Section 7.1).
func (s *EarlySecret) HandshakeSecret(sharedSecret []byte) *HandshakeSecret {
	if len(sharedSecret) == 0 {
		sharedSecret = zeros[:s.hash.Size()]
	}
	next := new(HandshakeSecret)
	if s.derived != nil {
		next.extractFrom(s.hash, s.derived, sharedSecret)
	} else {
		s.deriveNextStage(&next.stage, sharedSecret)
	}
	return next
}

// HandshakeSecret is the second stage of the TLS 1.3 key schedule. Only
// EarlySecret.HandshakeSecret makes one.
type HandshakeSecret struct {
	stage
}

// ClientHandshakeTrafficSecret is client_handshake_traffic_secret:
// Derive-Secret(., "c hs traffic", ClientHello...ServerHello).
func (s *HandshakeSecret) ClientHandshakeTrafficSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelClientHSTraffic, transcriptHash)
}

// ServerHandshakeTrafficSecret is server_handshake_traffic_secret:
// Derive-Secret(., "s hs traffic", ClientHello...ServerHello).
func (s *HandshakeSecret) ServerHandshakeTrafficSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelServerHSTraffic, transcriptHash)
}

// MasterSecret advances to the Master Secret:
// HKDF-Extract(Derive-Secret(., "derived", ""), 0) (RFC 8446 Section 7.1).
func (s *HandshakeSecret) MasterSecret() *MasterSecret {
	next := new(MasterSecret)
	s.deriveNextStage(&next.stage, zeros[:s.hash.Size()])
	return next
}

// MasterSecret is the last stage of the TLS 1.3 key schedule. Only
// HandshakeSecret.MasterSecret makes one. (The TLS 1.2 master secret is a
// plain 48-byte slice from MasterSecret12 or ExtendedMasterSecret.)
type MasterSecret struct {
	stage
}

// ClientApplicationTrafficSecret is client_application_traffic_secret_0:
// Derive-Secret(., "c ap traffic", ClientHello...server Finished).
func (s *MasterSecret) ClientApplicationTrafficSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelClientAPTraffic, transcriptHash)
}

// ServerApplicationTrafficSecret is server_application_traffic_secret_0:
// Derive-Secret(., "s ap traffic", ClientHello...server Finished).
func (s *MasterSecret) ServerApplicationTrafficSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelServerAPTraffic, transcriptHash)
}

// ExporterMasterSecret is exporter_master_secret:
// Derive-Secret(., "exp master", ClientHello...server Finished).
func (s *MasterSecret) ExporterMasterSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelExporterMaster, transcriptHash)
}

// ResumptionMasterSecret is resumption_master_secret:
// Derive-Secret(., "res master", ClientHello...client Finished). Note the
// transcript includes the client Finished, unlike the other three.
func (s *MasterSecret) ResumptionMasterSecret(transcriptHash []byte) []byte {
	return s.deriveSecret(labelResumptionMaster, transcriptHash)
}

// ResumptionPSK computes the PSK carried by a NewSessionTicket
// (RFC 8446 Section 4.6.1):
// HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length).
// The per-ticket nonce makes each ticket's PSK distinct.
func ResumptionPSK(h crypto.Hash, resumptionMasterSecret, nonce []byte) []byte {
	return ExpandLabel(h, resumptionMasterSecret, labelResumption, nonce, h.Size())
}

// NextTrafficSecret computes application_traffic_secret_N+1 after a
// KeyUpdate (RFC 8446 Section 7.2):
// HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length).
func NextTrafficSecret(h crypto.Hash, secret []byte) []byte {
	return ExpandLabel(h, secret, labelTrafficUpdate, nil, h.Size())
}

// TrafficKey derives the record protection key and IV from a traffic secret
// (RFC 8446 Section 7.3): HKDF-Expand-Label(Secret, "key", "", key_length)
// and HKDF-Expand-Label(Secret, "iv", "", iv_length).
//
// Key and IV share one allocation with the HkdfLabel scratch.
func TrafficKey(h crypto.Hash, secret []byte, keyLen, ivLen int) (key, iv []byte) {
	out := make([]byte, keyLen+ivLen+hkdfLabelScratch)
	key, iv = out[:keyLen:keyLen], out[keyLen:keyLen+ivLen:keyLen+ivLen]
	e := expander{hash: h, secret: secret, scratch: out[keyLen+ivLen:]}
	e.expandLabelInto(key, labelKey, nil)
	e.expandLabelInto(iv, labelIV, nil)
	return key, iv
}

// FinishedKey13 is finished_key (RFC 8446 Section 4.4.4):
// HKDF-Expand-Label(BaseKey, "finished", "", Hash.length).
func FinishedKey13(h crypto.Hash, baseKey []byte) []byte {
	return ExpandLabel(h, baseKey, labelFinished, nil, h.Size())
}

// HandshakeTrafficKeys derives from a handshake traffic secret the record
// key and IV (RFC 8446 Section 7.3) and the finished_key of the Finished
// message that secret's sender will send (Section 4.4.4), keying HMAC with
// the secret once for the three. The three share one allocation with the
// HkdfLabel scratch.
func HandshakeTrafficKeys(h crypto.Hash, secret []byte, keyLen, ivLen int) (key, iv, finishedKey []byte) {
	n := keyLen + ivLen + h.Size()
	out := make([]byte, n+hkdfLabelScratch)
	key, iv, finishedKey = out[:keyLen:keyLen], out[keyLen:keyLen+ivLen:keyLen+ivLen], out[keyLen+ivLen:n:n]
	e := expander{hash: h, secret: secret, scratch: out[n:]}
	e.expandLabelInto(key, labelKey, nil)
	e.expandLabelInto(iv, labelIV, nil)
	e.expandLabelInto(finishedKey, labelFinished, nil)
	return key, iv, finishedKey
}

// Finished13 computes Finished verify_data (RFC 8446 Section 4.4.4):
// HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*,
// CertificateVerify*)). BaseKey is the sender's handshake traffic secret, or
// a binder key for a PSK binder (Section 4.2.11.2). Compare received values
// with hmac.Equal.
func Finished13(h crypto.Hash, baseKey, transcriptHash []byte) []byte {
	// One allocation holds verify_data, then finished_key (wiped once
	// HMAC has copied it) and the HkdfLabel scratch.
	size := h.Size()
	buf := make([]byte, 2*size+hkdfLabelScratch)
	verifyData, finishedKey := buf[:size:size], buf[size:2*size]
	e := expander{hash: h, secret: baseKey, scratch: buf[2*size:]}
	e.expandLabelInto(finishedKey, labelFinished, nil)
	mac := hmac.New(h.New, finishedKey)
	mac.Write(transcriptHash)
	verifyData = mac.Sum(verifyData[:0])
	clear(finishedKey)
	return verifyData
}

// FinishedMAC is Finished13 with the finished_key already derived:
// HMAC(finished_key, transcriptHash).
func FinishedMAC(h crypto.Hash, finishedKey, transcriptHash []byte) []byte {
	mac := hmac.New(h.New, finishedKey)
	mac.Write(transcriptHash)
	return mac.Sum(nil)
}

// ExportKeyingMaterial13 is TLS-Exporter (RFC 8446 Section 7.5):
//
//	HKDF-Expand-Label(Derive-Secret(Secret, label, ""),
//	                  "exporter", Hash(context_value), key_length)
//
// where Secret is exporter_master_secret (or early_exporter_master_secret).
// In TLS 1.3 an absent context and an empty one are the same. It returns nil
// when the label cannot be encoded (empty or longer than 249 bytes) or length
// is negative or above 255*h.Size(), since label and length come from the
// application.
func ExportKeyingMaterial13(h crypto.Hash, exporterSecret []byte, label string, context []byte, length int) []byte {
	if len(label) == 0 || len(label) > maxLabelLength13 || length < 0 || length > 255*h.Size() {
		return nil
	}
	secret := DeriveSecret(h, exporterSecret, label, emptyHash(h))
	contextHash := h.New()
	contextHash.Write(context)
	return ExpandLabel(h, secret, labelExporter, contextHash.Sum(nil), length)
}
