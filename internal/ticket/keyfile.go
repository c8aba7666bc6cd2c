package ticket

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
)

// Key file formats. Operators generate these with `openssl rand` and share
// them between reprise, nginx and HAProxy, so the byte layouts below are
// exactly what those servers read (verified against their sources, cited at
// each parser).
type Format int

const (
	// FormatAuto detects the format: text made only of base64 lines is
	// HAProxy's; anything else is nginx's binary format, whose key size must
	// follow unambiguously from the file size.
	FormatAuto Format = iota
	// FormatNginx is nginx's binary ssl_session_ticket_key file, key size
	// detected from the file size.
	FormatNginx
	// FormatHAProxy is HAProxy's tls-ticket-keys file: base64 lines.
	FormatHAProxy
	// FormatNginx128 is FormatNginx with 48-byte (AES-128) keys stated
	// explicitly, for files whose size is a multiple of both 48 and 80.
	FormatNginx128
	// FormatNginx256 is FormatNginx with 80-byte (AES-256) keys stated
	// explicitly.
	FormatNginx256
	// FormatEnvoy is Envoy's session ticket key: 80 raw bytes, name 16 |
	// HMAC-SHA256 key 32 | AES-256 key 32, exactly nginx's 80-byte record.
	// See ParseEnvoy.
	FormatEnvoy
)

func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatNginx:
		return "nginx"
	case FormatHAProxy:
		return "haproxy"
	case FormatNginx128:
		return "nginx-128"
	case FormatNginx256:
		return "nginx-256"
	case FormatEnvoy:
		return "envoy"
	}
	return fmt.Sprintf("format-%d", int(f))
}

// Sizes of one key record in both nginx's and HAProxy's files.
const (
	KeyFileSize128 = 48 // name 16 + AES-128 key 16 + HMAC key 16
	KeyFileSize256 = 80 // name 16 + AES-256 key 32 + HMAC key 32
)

// haproxyKeys is HAProxy's TLS_TICKETS_NO (include/haproxy/defaults.h,
// default 3): how many keys a tls-ticket-keys file holds in effect.
const haproxyKeys = 3

// maxKeyFileSize bounds LoadKeyFile's read: far more than any real key file
// (13,000 nginx keys), small enough that a wrong path (a log, a device) fails
// fast instead of being read into memory.
const maxKeyFileSize = 1 << 20

// Problems with a key file, for errors.Is. Every error from this file is a
// *KeyFileError wrapping one of these.
var (
	ErrKeyFileSize          = errors.New("size is not a whole number of keys")
	ErrKeyFileAmbiguous     = errors.New("key size ambiguous")
	ErrKeyFileEncoding      = errors.New("bad encoding")
	ErrKeyFileKeyCount      = errors.New("wrong number of keys")
	ErrKeyFileMixedSizes    = errors.New("keys of different sizes")
	ErrKeyFileDuplicateName = errors.New("duplicate key name")
	ErrKeyFileFormat        = errors.New("unsupported format")
)

// KeyFileError says what is wrong with a key file, and where.
type KeyFileError struct {
	Path   string // file name, when loaded with LoadKeyFile
	Line   int    // 1-based line of an HAProxy file, or 0
	Kind   error  // one of the ErrKeyFile* values
	Detail string // the problem, in words an operator can act on
}

func (e *KeyFileError) Error() string {
	s := "ticket key file"
	if e.Path != "" {
		s += " " + e.Path
	}
	if e.Line > 0 {
		s += fmt.Sprintf(" line %d", e.Line)
	}
	return s + ": " + e.Detail
}

func (e *KeyFileError) Unwrap() error { return e.Kind }

func fileErr(kind error, format string, args ...any) *KeyFileError {
	return &KeyFileError{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// LoadKeyFile reads and parses a key file (see ParseKeyFile). Errors name the
// file.
func LoadKeyFile(path string, f Format) ([]Key, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ticket key file: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("ticket key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return nil, &KeyFileError{Path: path, Kind: ErrKeyFileSize,
			Detail: fmt.Sprintf("larger than %d bytes; is this a key file?", maxKeyFileSize)}
	}
	keys, err := ParseKeyFile(data, f)
	var kfe *KeyFileError
	if errors.As(err, &kfe) {
		named := *kfe
		named.Path = path
		return nil, &named
	}
	return keys, err
}

// ParseKeyFile parses a key file and returns its keys in ring order: the key
// that nginx or HAProxy would encrypt with comes first, so the result can go
// straight to NewRing or Ring.SetKeys.
//
// FormatAuto tells the formats apart by content, never by guessing between
// two readings: a file of nothing but base64 characters and line breaks is
// HAProxy's (a random binary key is all base64 characters with probability
// below (67/256)^48, about 2^-92); other text is an error; anything else is
// nginx's binary format, where a size that is a multiple of both 48 and 80
// (240, 480, ...) is an error asking for FormatNginx128 or FormatNginx256.
func ParseKeyFile(data []byte, f Format) ([]Key, error) {
	switch f {
	case FormatAuto:
		switch classify(data) {
		case base64Lines:
			return ParseHAProxy(data)
		case otherText:
			return nil, fileErr(ErrKeyFileEncoding,
				"%d bytes of text that is not base64 lines (HAProxy format) nor binary (nginx format)", len(data))
		}
		return ParseNginx(data, 0)
	case FormatNginx:
		return ParseNginx(data, 0)
	case FormatNginx128:
		return ParseNginx(data, KeyFileSize128)
	case FormatNginx256:
		return ParseNginx(data, KeyFileSize256)
	case FormatHAProxy:
		return ParseHAProxy(data)
	case FormatEnvoy:
		return ParseEnvoy(data)
	}
	return nil, fileErr(ErrKeyFileFormat, "unknown format %v", f)
}

type content int

const (
	binary content = iota
	base64Lines
	otherText
)

func classify(data []byte) content {
	onlyBase64 := true
	for _, c := range data {
		switch {
		case isBase64Char(c) || c == '\n' || c == '\r':
		case c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e):
			onlyBase64 = false
		default:
			return binary
		}
	}
	if len(data) == 0 {
		return binary // let ParseNginx report the empty file
	}
	if onlyBase64 {
		return base64Lines
	}
	return otherText
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '='
}

// ParseNginx parses nginx's binary ssl_session_ticket_key format. nginx itself
// reads one key per file (src/event/ngx_event_openssl.c,
// ngx_ssl_session_ticket_keys: the file "must be 48 or 80 bytes"), with the
// layout
//
//	48 bytes: name 16 | AES-128 key 16 | HMAC key 16
//	80 bytes: name 16 | HMAC key 32    | AES-256 key 32
//
// (note the AES and HMAC keys swap places in the 80-byte form), and encrypts
// with the key of the first ssl_session_ticket_key directive. We also accept
// several records back to back in one file, the first being current; all
// records in a file have the same size, since the file carries no sizes.
//
// keySize is KeyFileSize128 (48), KeyFileSize256 (80), or 0 to infer it from
// the file size, which fails when the size is a multiple of both.
func ParseNginx(data []byte, keySize int) ([]Key, error) {
	n := len(data)
	switch keySize {
	case 0:
		by48, by80 := n%KeyFileSize128 == 0, n%KeyFileSize256 == 0
		switch {
		case n == 0:
			return nil, fileErr(ErrKeyFileSize, "empty, want a multiple of 48 or 80 bytes")
		case by48 && by80:
			return nil, fileErr(ErrKeyFileAmbiguous,
				"%d bytes is %d keys of 48 bytes or %d keys of 80 bytes; state the key size (FormatNginx128 or FormatNginx256)",
				n, n/KeyFileSize128, n/KeyFileSize256)
		case by48:
			keySize = KeyFileSize128
		case by80:
			keySize = KeyFileSize256
		default:
			return nil, fileErr(ErrKeyFileSize, "%d bytes, want a multiple of 48 or 80", n)
		}
	case KeyFileSize128, KeyFileSize256:
		if n == 0 || n%keySize != 0 {
			return nil, fileErr(ErrKeyFileSize, "%d bytes, want a non-zero multiple of %d", n, keySize)
		}
	default:
		return nil, fileErr(ErrKeyFileFormat, "key size %d bytes, want 48 or 80", keySize)
	}

	keys := make([]Key, 0, n/keySize)
	for rec := data; len(rec) > 0; rec = rec[keySize:] {
		var k Key
		copy(k.Name[:], rec[:nameLen])
		if keySize == KeyFileSize128 {
			k.AESKey = clone(rec[16:32])
			k.HMACKey = clone(rec[32:48])
		} else {
			k.HMACKey = clone(rec[16:48])
			k.AESKey = clone(rec[48:80])
		}
		keys = append(keys, k)
	}
	if err := checkNames(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// ParseEnvoy parses Envoy's session ticket keys
// (DownstreamTlsContext.session_ticket_keys, each a DataSource that "must
// contain exactly 80 bytes of cryptographically-secure random data", for
// example `openssl rand 80`). Envoy reads each as
//
//	80 bytes: name 16 | HMAC-SHA256 key 32 | AES-256 key 32
//
// (ServerContextConfig::SessionTicketKey: name_, hmac_key_, aes_key_),
// which is byte for byte nginx's 80-byte ssl_session_ticket_key record: the
// same file serves both, and a 48-byte nginx key has no Envoy form. HAProxy's
// 80-byte lines put the AES key before the HMAC key instead. Envoy seals
// with the first key of its list and opens with all; a file here may hold
// several records back to back, the first current, as for nginx.
//
// Envoy seals BoringSSL's session encoding, not OpenSSL's, so sharing the
// key lets reprise and Envoy recognise each other's tickets by key name
// without resuming them (the ticket is refused as ticket-invalid).
func ParseEnvoy(data []byte) ([]Key, error) {
	if len(data) == 0 || len(data)%KeyFileSize256 != 0 {
		return nil, fileErr(ErrKeyFileSize, "%d bytes, Envoy keys are exactly 80 bytes each", len(data))
	}
	return ParseNginx(data, KeyFileSize256)
}

// ParseHAProxy parses HAProxy's tls-ticket-keys format, as read by
// ssl_bind_parse_tls_ticket_keys (src/cfgparse-ssl.c): one standard base64 key
// per line, each decoding to struct tls_sess_key_128 or tls_sess_key_256
// (include/haproxy/ssl_sock-t.h), that is
//
//	48 bytes: name 16 | AES-128 key 16 | HMAC key 16
//	80 bytes: name 16 | AES-256 key 32 | HMAC key 32
//
// (AES before HMAC in both sizes, unlike nginx's 80-byte form). All lines
// must have one size, a blank line is an error, and a trailing "\r" is
// stripped, as HAProxy does.
//
// HAProxy decodes line i into slot i mod TLS_TICKETS_NO (3), so only the
// last three lines survive, and it needs at least three; it encrypts with the
// penultimate line (tls_ticket_enc_index = (lines-2) mod 3) and decrypts by
// trying the slots from there: penultimate, last, then the one before the
// penultimate (ssl_tlsext_ticket_key_cb, which asks for renewal for all but
// the first). The last line is thus the "next" key, handed out early so every
// node can open tickets before any node seals with it.
//
// ParseHAProxy returns exactly those three keys in that order:
//
//	[ line n-1 (penultimate, seals), line n (last), line n-2 ]
//
// Earlier lines are validated but dropped, as HAProxy drops them: an operator
// who rotates by appending a line expects the oldest key to stop opening.
func ParseHAProxy(data []byte) ([]Key, error) {
	var all []Key
	size := 0
	for lineNo, rest := 1, data; len(rest) > 0; lineNo++ {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		k, n, err := decodeHAProxyLine(line)
		if err != nil {
			err.Line = lineNo
			return nil, err
		}
		if size == 0 {
			size = n
		} else if n != size {
			return nil, &KeyFileError{Line: lineNo, Kind: ErrKeyFileMixedSizes,
				Detail: fmt.Sprintf("%d-byte key after %d-byte keys; HAProxy needs all keys one size", n, size)}
		}
		all = append(all, k)
	}
	if len(all) < haproxyKeys {
		return nil, fileErr(ErrKeyFileKeyCount,
			"%d keys, HAProxy needs at least %d (TLS_TICKETS_NO)", len(all), haproxyKeys)
	}
	n := len(all)
	keys := []Key{all[n-2], all[n-1], all[n-3]}
	if err := checkNames(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

func decodeHAProxyLine(line []byte) (Key, int, *KeyFileError) {
	if len(line) == 0 {
		return Key{}, 0, fileErr(ErrKeyFileEncoding, "blank line (HAProxy rejects it as a wrong-sized key)")
	}
	// Check the alphabet ourselves: Go's decoder skips '\r' and '\n', which
	// HAProxy's base64dec rejects.
	for _, c := range line {
		if !isBase64Char(c) {
			return Key{}, 0, fileErr(ErrKeyFileEncoding, "character %q is not base64", c)
		}
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(line)))
	n, err := base64.StdEncoding.Decode(raw, line)
	if err != nil {
		return Key{}, 0, fileErr(ErrKeyFileEncoding, "not base64: %v", err)
	}
	raw = raw[:n]
	var k Key
	switch n {
	case KeyFileSize128:
		k.AESKey, k.HMACKey = raw[16:32:32], raw[32:48]
	case KeyFileSize256:
		k.AESKey, k.HMACKey = raw[16:48:48], raw[48:80]
	default:
		return Key{}, 0, fileErr(ErrKeyFileSize, "key of %d bytes, want 48 or 80", n)
	}
	copy(k.Name[:], raw[:nameLen])
	return k, n, nil
}

// MarshalKeyFile writes keys (in ring order, keys[0] current) so that the
// server reading the file seals with keys[0] and opens with all of them.
//
// FormatNginx (or FormatNginx128/256) writes the records back to back; all
// keys must have one size. nginx itself takes one key per file, so to hand
// keys to nginx write each with MarshalKeyFile([]Key{k}, FormatNginx) and
// list the files with keys[0]'s first.
//
// FormatEnvoy writes the same 80-byte records as FormatNginx256 and takes
// 256-bit keys only; Envoy lists one key per DataSource, so write one key
// per file for it, the current key's file first in session_ticket_keys.
//
// FormatHAProxy needs exactly three keys of one size (HAProxy keeps three)
// and writes the lines keys[2], keys[0], keys[1], the inverse of ParseHAProxy:
// HAProxy then seals with keys[0] (the penultimate line).
func MarshalKeyFile(keys []Key, f Format) ([]byte, error) {
	if len(keys) == 0 {
		return nil, fileErr(ErrKeyFileKeyCount, "no keys to write")
	}
	for _, k := range keys {
		if err := k.validate(); err != nil {
			return nil, fileErr(ErrKeyFileSize, "%v", err)
		}
		if len(k.AESKey) != len(keys[0].AESKey) {
			return nil, fileErr(ErrKeyFileMixedSizes,
				"keys of %d and %d bits; a %v file holds one size", keys[0].Bits(), k.Bits(), f)
		}
	}
	if err := checkNames(keys); err != nil {
		return nil, err
	}
	bits := keys[0].Bits()

	switch f {
	case FormatNginx, FormatNginx128, FormatNginx256, FormatEnvoy:
		if (f == FormatNginx128 && bits != 128) || ((f == FormatNginx256 || f == FormatEnvoy) && bits != 256) {
			return nil, fileErr(ErrKeyFileMixedSizes, "%d-bit keys in a %v file", bits, f)
		}
		var out []byte
		for _, k := range keys {
			out = append(out, k.Name[:]...)
			if bits == 128 {
				out = append(out, k.AESKey...)
				out = append(out, k.HMACKey...)
			} else {
				out = append(out, k.HMACKey...)
				out = append(out, k.AESKey...)
			}
		}
		return out, nil

	case FormatHAProxy:
		if len(keys) != haproxyKeys {
			return nil, fileErr(ErrKeyFileKeyCount,
				"%d keys, HAProxy keeps exactly %d (TLS_TICKETS_NO)", len(keys), haproxyKeys)
		}
		var out []byte
		for _, k := range []Key{keys[2], keys[0], keys[1]} {
			raw := make([]byte, 0, KeyFileSize256)
			raw = append(raw, k.Name[:]...)
			raw = append(raw, k.AESKey...)
			raw = append(raw, k.HMACKey...)
			out = base64.StdEncoding.AppendEncode(out, raw)
			out = append(out, '\n')
		}
		return out, nil
	}
	return nil, fileErr(ErrKeyFileFormat, "cannot write format %v", f)
}

// checkNames rejects duplicate names, which a Ring cannot tell apart.
func checkNames(keys []Key) *KeyFileError {
	for i := range keys {
		for j := range keys[:i] {
			if keys[i].Name == keys[j].Name {
				return fileErr(ErrKeyFileDuplicateName, "two keys named %x", keys[i].Name)
			}
		}
	}
	return nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
