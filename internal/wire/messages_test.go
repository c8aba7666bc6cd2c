package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/reprise-tls/reprise/internal/alert"
)

// msgTestCodec is what every message in messages.go implements.
type msgTestCodec interface {
	Marshal() ([]byte, error)
	Unmarshal(msg []byte) error
}

// msgTestHex decodes hex that may contain spaces and newlines, as the RFC
// traces are printed.
func msgTestHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad test hex: %v", err)
	}
	return b
}

// msgTestFrame prepends a handshake header to body.
func msgTestFrame(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// msgTestFresh returns a new zero value of the same message type as m.
func msgTestFresh(m msgTestCodec) msgTestCodec {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(msgTestCodec)
}

// msgTestAlert returns the alert carried by err, failing if err is not a
// *Error.
func msgTestAlert(t *testing.T, err error) alert.Alert {
	t.Helper()
	var wireErr *Error
	if !errors.As(err, &wireErr) {
		t.Fatalf("error %v (%T) is not a *wire.Error", err, err)
	}
	return wireErr.Alert
}

// RFC 8448, Section 3 (Simple 1-RTT Handshake): the server's handshake
// messages and the NewSessionTicket, as printed in the trace.
const (
	msgRFC8448EncryptedExtensions = `08 00 00 24 00 22 00 0a 00 14 00 12 00 1d
	00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c 00 02 40
	01 00 00 00 00`

	msgRFC8448Certificate = `0b 00 01 b9 00 00 01 b5 00 01 b0 30 82 01 ac 30
	82 01 15 a0 03 02 01 02 02 01 02 30 0d 06 09 2a 86 48 86 f7 0d
	01 01 0b 05 00 30 0e 31 0c 30 0a 06 03 55 04 03 13 03 72 73 61
	30 1e 17 0d 31 36 30 37 33 30 30 31 32 33 35 39 5a 17 0d 32 36
	30 37 33 30 30 31 32 33 35 39 5a 30 0e 31 0c 30 0a 06 03 55 04
	03 13 03 72 73 61 30 81 9f 30 0d 06 09 2a 86 48 86 f7 0d 01 01
	01 05 00 03 81 8d 00 30 81 89 02 81 81 00 b4 bb 49 8f 82 79 30
	3d 98 08 36 39 9b 36 c6 98 8c 0c 68 de 55 e1 bd b8 26 d3 90 1a
	24 61 ea fd 2d e4 9a 91 d0 15 ab bc 9a 95 13 7a ce 6c 1a f1 9e
	aa 6a f9 8c 7c ed 43 12 09 98 e1 87 a8 0e e0 cc b0 52 4b 1b 01
	8c 3e 0b 63 26 4d 44 9a 6d 38 e2 2a 5f da 43 08 46 74 80 30 53
	0e f0 46 1c 8c a9 d9 ef bf ae 8e a6 d1 d0 3e 2b d1 93 ef f0 ab
	9a 80 02 c4 74 28 a6 d3 5a 8d 88 d7 9f 7f 1e 3f 02 03 01 00 01
	a3 1a 30 18 30 09 06 03 55 1d 13 04 02 30 00 30 0b 06 03 55 1d
	0f 04 04 03 02 05 a0 30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05
	00 03 81 81 00 85 aa d2 a0 e5 b9 27 6b 90 8c 65 f7 3a 72 67 17
	06 18 a5 4c 5f 8a 7b 33 7d 2d f7 a5 94 36 54 17 f2 ea e8 f8 a5
	8c 8f 81 72 f9 31 9c f3 6b 7f d6 c5 5b 80 f2 1a 03 01 51 56 72
	60 96 fd 33 5e 5e 67 f2 db f1 02 70 2e 60 8c ca e6 be c1 fc 63
	a4 2a 99 be 5c 3e b7 10 7c 3c 54 e9 b9 eb 2b d5 20 3b 1c 3b 84
	e0 a8 b2 f7 59 40 9b a3 ea c9 d9 1d 40 2d cc 0c c8 f8 96 12 29
	ac 91 87 b4 2b 4d e1 00 00`

	msgRFC8448CertificateVerify = `0f 00 00 84 08 04 00 80 5a 74 7c 5d 88 fa 9b
	d2 e5 5a b0 85 a6 10 15 b7 21 1f 82 4c d4 84 14 5a b3 ff 52 f1
	fd a8 47 7b 0b 7a bc 90 db 78 e2 d3 3a 5c 14 1a 07 86 53 fa 6b
	ef 78 0c 5e a2 48 ee aa a7 85 c4 f3 94 ca b6 d3 0b be 8d 48 59
	ee 51 1f 60 29 57 b1 54 11 ac 02 76 71 45 9e 46 44 5c 9e a5 8c
	18 1e 81 8e 95 b8 c3 fb 0b f3 27 84 09 d3 be 15 2a 3d a5 04 3e
	06 3d da 65 cd f5 ae a2 0d 53 df ac d4 2f 74 f3`

	msgRFC8448ServerFinished = `14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc
	e7 1d f4 de da 4a b4 2c 30 95 72 cb 7f ff ee 54 54 b7 8f 07 18`

	msgRFC8448NewSessionTicket = `04 00 00 c9 00 00 00 1e fa d6 aa c5 02 00 00
	00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00 00 26 2a 64
	94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9
	36 7c 09 a2 be 78 5a bc 55 cd 22 60 97 a3 a9 82 11 72 83 f8 2a
	03 a1 43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c
	ce 14 50 77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4 da fc
	d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90 6c 5b 3f 7d 8f
	92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac
	5c 03 27 2e 97 07 27 c6 21 a7 91 41 ef 5f 7d e6 50 5e 5b fb c3
	88 e9 33 43 69 40 93 93 4a e4 d3 57 00 08 00 2a 00 04 00 00 04
	00`
)

// msgSamples are valid messages of every type; each must survive
// Marshal → Unmarshal → Marshal unchanged. They also seed the fuzz targets.
var msgSamples = []struct {
	name string
	m    msgTestCodec
}{
	{"HelloRequest", &HelloRequest{}},
	{"ServerHelloDone", &ServerHelloDone{}},
	{"EndOfEarlyData", &EndOfEarlyData{}},
	{"Certificate12 empty", &Certificate12{}},
	{"Certificate12 chain", &Certificate12{Certificates: [][]byte{{0x30, 0x01, 0x02}, bytes.Repeat([]byte{0xab}, 300)}}},
	{"Certificate13 server", &Certificate13{Entries: []CertificateEntry{{Data: []byte{0x30, 0x82}}}}},
	{"Certificate13 client with extensions", &Certificate13{
		RequestContext: []byte{1, 2, 3},
		Entries: []CertificateEntry{
			// status_request with a small body, then an unknown type.
			{Data: []byte{0x30, 0x03, 1, 2, 3}, Extensions: []byte{0x00, 0x05, 0x00, 0x02, 0xaa, 0xbb, 0xfe, 0xfe, 0x00, 0x00}},
			{Data: []byte{0x30}},
		},
	}},
	{"Certificate13 empty", &Certificate13{RequestContext: []byte{9}}},
	{"ServerKeyExchange x25519", &ServerKeyExchangeECDHE{Group: 0x001d, PublicKey: bytes.Repeat([]byte{7}, 32), SigAlg: 0x0804, Signature: bytes.Repeat([]byte{9}, 256)}},
	{"ServerKeyExchange p256", &ServerKeyExchangeECDHE{Group: 0x0017, PublicKey: append([]byte{4}, bytes.Repeat([]byte{5}, 64)...), SigAlg: 0x0403, Signature: []byte{0x30, 0x44}}},
	{"CertificateRequest12 minimal", &CertificateRequest12{CertificateTypes: []uint8{1}, SignatureAlgorithms: []uint16{0x0401}}},
	{"CertificateRequest12 full", &CertificateRequest12{
		CertificateTypes:       []uint8{1, 64},
		SignatureAlgorithms:    []uint16{0x0804, 0x0403, 0x0401},
		CertificateAuthorities: [][]byte{{0x30, 0x00}, []byte("another DN")},
	}},
	{"CertificateRequest13 minimal", &CertificateRequest13{SignatureAlgorithms: []uint16{0x0804}}},
	{"CertificateRequest13 full", &CertificateRequest13{
		RequestContext:          []byte{0xde, 0xad},
		SignatureAlgorithms:     []uint16{0x0804, 0x0403},
		SignatureAlgorithmsCert: []uint16{0x0401},
		CertificateAuthorities:  [][]byte{{0x30, 0x00}},
	}},
	{"ClientKeyExchange", &ClientKeyExchangeECDHE{PublicKey: bytes.Repeat([]byte{1}, 32)}},
	{"CertificateVerify", &CertificateVerify{SigAlg: 0x0804, Signature: bytes.Repeat([]byte{3}, 256)}},
	{"CertificateVerify empty signature", &CertificateVerify{SigAlg: 0x0403}},
	{"Finished 1.2", &Finished{VerifyData: bytes.Repeat([]byte{0x11}, 12)}},
	{"Finished 1.3", &Finished{VerifyData: bytes.Repeat([]byte{0x22}, 48)}},
	{"NewSessionTicket12", &NewSessionTicket12{LifetimeHint: 7200, Ticket: bytes.Repeat([]byte{4}, 100)}},
	{"NewSessionTicket12 empty ticket", &NewSessionTicket12{}},
	{"NewSessionTicket13", &NewSessionTicket13{Lifetime: 604800, AgeAdd: 0xdeadbeef, Nonce: []byte{0}, Ticket: []byte{1, 2, 3}}},
	{"NewSessionTicket13 early data", &NewSessionTicket13{Lifetime: 1, Ticket: []byte{1}, MaxEarlyData: 16384, HasEarlyData: true}},
	{"NewSessionTicket13 early data zero", &NewSessionTicket13{Ticket: []byte{1}, HasEarlyData: true}},
	{"EncryptedExtensions empty", &EncryptedExtensions{}},
	{"EncryptedExtensions all", &EncryptedExtensions{
		ALPN:            "h2",
		ServerNameAck:   true,
		EarlyData:       true,
		SupportedGroups: []uint16{0x001d, 0x0017},
		Extensions:      []uint16{ExtEarlyData, ExtALPN, ExtServerName, ExtSupportedGroups},
	}},
	{"EncryptedExtensions ALPN", &EncryptedExtensions{ALPN: "http/1.1", Extensions: []uint16{ExtALPN}}},
	{"KeyUpdate not requested", &KeyUpdate{}},
	{"KeyUpdate requested", &KeyUpdate{RequestUpdate: true}},
}

func TestMessagesRoundTrip(t *testing.T) {
	for _, tc := range msgSamples {
		t.Run(tc.name, func(t *testing.T) {
			encoded, err := tc.m.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			typ, length, ok := ParseHeader(encoded)
			if !ok || length != len(encoded)-4 {
				t.Fatalf("ParseHeader(%x) = %d, %d, %v", encoded, typ, length, ok)
			}
			decoded := msgTestFresh(tc.m)
			if err := decoded.Unmarshal(encoded); err != nil {
				t.Fatalf("Unmarshal(%x): %v", encoded, err)
			}
			if !reflect.DeepEqual(decoded, tc.m) {
				t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", decoded, tc.m)
			}
			again, err := decoded.Marshal()
			if err != nil {
				t.Fatalf("second Marshal: %v", err)
			}
			if !bytes.Equal(again, encoded) {
				t.Fatalf("re-marshal differs:\n got %x\nwant %x", again, encoded)
			}
		})
	}
}

// TestMessagesTruncated cuts every valid message at every byte: with the
// original header the length no longer matches, and with a corrected header
// the body itself is short. Both are decode_error.
func TestMessagesTruncated(t *testing.T) {
	for _, tc := range msgTestValidMessages(t) {
		t.Run(tc.name, func(t *testing.T) {
			for i := range len(tc.encoded) {
				if err := msgTestFresh(tc.m).Unmarshal(tc.encoded[:i]); msgTestAlert(t, err) != alert.DecodeError {
					t.Fatalf("truncated at %d: got %v, want decode_error", i, err)
				}
			}
			if _, isFinished := tc.m.(*Finished); isFinished {
				return // any non-empty prefix of verify_data is itself well formed
			}
			body := tc.encoded[4:]
			for i := range len(body) {
				reframed := msgTestFrame(tc.encoded[0], body[:i])
				if err := msgTestFresh(tc.m).Unmarshal(reframed); msgTestAlert(t, err) != alert.DecodeError {
					t.Fatalf("body truncated at %d (%x): got %v, want decode_error", i, reframed, err)
				}
			}
		})
	}
}

// TestMessagesTrailingBytes appends a byte, with and without fixing the
// header length.
func TestMessagesTrailingBytes(t *testing.T) {
	for _, tc := range msgTestValidMessages(t) {
		t.Run(tc.name, func(t *testing.T) {
			long := append(bytes.Clone(tc.encoded), 0)
			if err := msgTestFresh(tc.m).Unmarshal(long); msgTestAlert(t, err) != alert.DecodeError {
				t.Fatalf("extra byte after message: got %v, want decode_error", err)
			}
			if _, isFinished := tc.m.(*Finished); isFinished {
				return
			}
			reframed := msgTestFrame(tc.encoded[0], append(bytes.Clone(tc.encoded[4:]), 0))
			if err := msgTestFresh(tc.m).Unmarshal(reframed); msgTestAlert(t, err) != alert.DecodeError {
				t.Fatalf("extra byte inside body: got %v, want decode_error", err)
			}
		})
	}
}

// TestMessagesWrongType hands each parser a message of another type.
func TestMessagesWrongType(t *testing.T) {
	for _, tc := range msgTestValidMessages(t) {
		t.Run(tc.name, func(t *testing.T) {
			wrong := bytes.Clone(tc.encoded)
			wrong[0] = TypeMessageHash
			if err := msgTestFresh(tc.m).Unmarshal(wrong); msgTestAlert(t, err) != alert.UnexpectedMessage {
				t.Fatalf("got %v, want unexpected_message", err)
			}
		})
	}
}

type msgTestValid struct {
	name    string
	m       msgTestCodec // a value of the type that parses encoded
	encoded []byte
}

// msgTestValidMessages returns the samples encoded, plus the RFC 8448
// messages.
func msgTestValidMessages(t *testing.T) []msgTestValid {
	var out []msgTestValid
	for _, tc := range msgSamples {
		encoded, err := tc.m.Marshal()
		if err != nil {
			t.Fatalf("%s: Marshal: %v", tc.name, err)
		}
		out = append(out, msgTestValid{tc.name, tc.m, encoded})
	}
	for _, v := range []struct {
		name string
		m    msgTestCodec
		hex  string
	}{
		{"RFC 8448 EncryptedExtensions", &EncryptedExtensions{}, msgRFC8448EncryptedExtensions},
		{"RFC 8448 Certificate", &Certificate13{}, msgRFC8448Certificate},
		{"RFC 8448 CertificateVerify", &CertificateVerify{}, msgRFC8448CertificateVerify},
		{"RFC 8448 Finished", &Finished{}, msgRFC8448ServerFinished},
		{"RFC 8448 NewSessionTicket", &NewSessionTicket13{}, msgRFC8448NewSessionTicket},
	} {
		out = append(out, msgTestValid{v.name, v.m, msgTestHex(t, v.hex)})
	}
	return out
}

func TestMessagesRFC8448(t *testing.T) {
	t.Run("EncryptedExtensions", func(t *testing.T) {
		var m EncryptedExtensions
		if err := m.Unmarshal(msgTestHex(t, msgRFC8448EncryptedExtensions)); err != nil {
			t.Fatal(err)
		}
		want := EncryptedExtensions{
			ServerNameAck:   true,
			SupportedGroups: []uint16{0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104},
			// record_size_limit (28, RFC 8449) is not decoded but is listed.
			Extensions: []uint16{ExtSupportedGroups, 28, ExtServerName},
		}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("got %+v\nwant %+v", m, want)
		}
	})
	t.Run("Certificate", func(t *testing.T) {
		raw := msgTestHex(t, msgRFC8448Certificate)
		var m Certificate13
		if err := m.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if m.RequestContext != nil || len(m.Entries) != 1 || len(m.Entries[0].Data) != 0x1b0 || m.Entries[0].Extensions != nil {
			t.Fatalf("unexpected contents: context %x, %d entries", m.RequestContext, len(m.Entries))
		}
		msgTestRemarshal(t, &m, raw)
	})
	t.Run("CertificateVerify", func(t *testing.T) {
		raw := msgTestHex(t, msgRFC8448CertificateVerify)
		var m CertificateVerify
		if err := m.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if m.SigAlg != 0x0804 || len(m.Signature) != 128 { // rsa_pss_rsae_sha256
			t.Fatalf("got SigAlg %#04x, %d-byte signature", m.SigAlg, len(m.Signature))
		}
		msgTestRemarshal(t, &m, raw)
	})
	t.Run("Finished", func(t *testing.T) {
		raw := msgTestHex(t, msgRFC8448ServerFinished)
		var m Finished
		if err := m.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.VerifyData, raw[4:]) || len(m.VerifyData) != 32 {
			t.Fatalf("verify_data %x", m.VerifyData)
		}
		msgTestRemarshal(t, &m, raw)
	})
	t.Run("NewSessionTicket", func(t *testing.T) {
		raw := msgTestHex(t, msgRFC8448NewSessionTicket)
		var m NewSessionTicket13
		if err := m.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if m.Lifetime != 30 || m.AgeAdd != 0xfad6aac5 || !bytes.Equal(m.Nonce, []byte{0, 0}) ||
			len(m.Ticket) != 0xb2 || !m.HasEarlyData || m.MaxEarlyData != 1024 {
			t.Fatalf("unexpected contents: %+v", m)
		}
		msgTestRemarshal(t, &m, raw)
	})
}

func msgTestRemarshal(t *testing.T, m msgTestCodec, want []byte) {
	t.Helper()
	got, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("re-marshal differs:\n got %x\nwant %x", got, want)
	}
}

// TestMessagesMalformed lists hand-built bad messages, each with the alert
// the RFCs require.
func TestMessagesMalformed(t *testing.T) {
	sigAlgsExt := "000d 0004 0002 0804"
	tests := []struct {
		name string
		m    msgTestCodec
		typ  uint8
		body string // hex of the body; the header is added
		want alert.Alert
	}{
		{"HelloRequest with body", &HelloRequest{}, TypeHelloRequest, "00", alert.DecodeError},
		{"ServerHelloDone with body", &ServerHelloDone{}, TypeServerHelloDone, "00", alert.DecodeError},
		{"EndOfEarlyData with body", &EndOfEarlyData{}, TypeEndOfEarlyData, "00", alert.DecodeError},

		{"Certificate12 zero-length certificate", &Certificate12{}, TypeCertificate, "000003 000000", alert.DecodeError},
		{"Certificate12 list longer than body", &Certificate12{}, TypeCertificate, "000005 000001 aa", alert.DecodeError},

		{"Certificate13 zero-length cert_data", &Certificate13{}, TypeCertificate, "00 000005 000000 0000", alert.DecodeError},
		{"Certificate13 missing entry extensions", &Certificate13{}, TypeCertificate, "00 000004 000001 aa", alert.DecodeError},
		{"Certificate13 malformed entry extensions", &Certificate13{}, TypeCertificate, "00 000008 000001 aa 0002 0005", alert.DecodeError},
		{"Certificate13 duplicate entry extension", &Certificate13{}, TypeCertificate, "00 00000e 000001 aa 0008 0005 0000 0005 0000", alert.IllegalParameter},
		{"Certificate13 signature_algorithms in entry", &Certificate13{}, TypeCertificate, "00 00000e 000001 aa 0008 " + sigAlgsExt, alert.IllegalParameter},

		{"ServerKeyExchange explicit_prime", &ServerKeyExchangeECDHE{}, TypeServerKeyExchange, "01 001d 01 aa 0804 0001 bb", alert.IllegalParameter},
		{"ServerKeyExchange explicit_char2", &ServerKeyExchangeECDHE{}, TypeServerKeyExchange, "02", alert.IllegalParameter},
		{"ServerKeyExchange empty body", &ServerKeyExchangeECDHE{}, TypeServerKeyExchange, "", alert.DecodeError},
		{"ServerKeyExchange empty point", &ServerKeyExchangeECDHE{}, TypeServerKeyExchange, "03 001d 00 0804 0001 bb", alert.DecodeError},
		{"ServerKeyExchange empty signature", &ServerKeyExchangeECDHE{}, TypeServerKeyExchange, "03 001d 01 aa 0804 0000", alert.DecodeError},

		{"CertificateRequest12 no certificate types", &CertificateRequest12{}, TypeCertificateRequest, "00 0002 0401 0000", alert.DecodeError},
		{"CertificateRequest12 empty signature algorithms", &CertificateRequest12{}, TypeCertificateRequest, "01 01 0000 0000", alert.DecodeError},
		{"CertificateRequest12 odd signature algorithms", &CertificateRequest12{}, TypeCertificateRequest, "01 01 0003 040105 0000", alert.DecodeError},
		{"CertificateRequest12 empty distinguished name", &CertificateRequest12{}, TypeCertificateRequest, "01 01 0002 0401 0002 0000", alert.DecodeError},

		{"CertificateRequest13 without signature_algorithms", &CertificateRequest13{}, TypeCertificateRequest, "00 0008 0032 0004 0002 0804", alert.MissingExtension},
		{"CertificateRequest13 no extensions", &CertificateRequest13{}, TypeCertificateRequest, "00 0000", alert.MissingExtension},
		{"CertificateRequest13 duplicate signature_algorithms", &CertificateRequest13{}, TypeCertificateRequest, "00 0010 " + sigAlgsExt + sigAlgsExt, alert.IllegalParameter},
		{"CertificateRequest13 key_share is forbidden", &CertificateRequest13{}, TypeCertificateRequest, "00 000c " + sigAlgsExt + "0033 0000", alert.IllegalParameter},
		{"CertificateRequest13 empty signature_algorithms", &CertificateRequest13{}, TypeCertificateRequest, "00 0006 000d 0002 0000", alert.DecodeError},
		{"CertificateRequest13 signature_algorithms trailing byte", &CertificateRequest13{}, TypeCertificateRequest, "00 0009 000d 0005 0002 0804 00", alert.DecodeError},
		{"CertificateRequest13 empty certificate_authorities", &CertificateRequest13{}, TypeCertificateRequest, "00 000e " + sigAlgsExt + "002f 0002 0000", alert.DecodeError},

		{"ClientKeyExchange empty point", &ClientKeyExchangeECDHE{}, TypeClientKeyExchange, "00", alert.DecodeError},
		{"ClientKeyExchange point longer than body", &ClientKeyExchangeECDHE{}, TypeClientKeyExchange, "02 aa", alert.DecodeError},

		{"CertificateVerify short signature", &CertificateVerify{}, TypeCertificateVerify, "0804 0002 aa", alert.DecodeError},
		{"Finished empty", &Finished{}, TypeFinished, "", alert.DecodeError},

		{"NewSessionTicket12 short", &NewSessionTicket12{}, TypeNewSessionTicket, "00001c20 00", alert.DecodeError},

		{"NewSessionTicket13 zero-length ticket", &NewSessionTicket13{}, TypeNewSessionTicket, "0000001e 00000000 00 0000 0000", alert.DecodeError},
		{"NewSessionTicket13 early_data too short", &NewSessionTicket13{}, TypeNewSessionTicket, "0000001e 00000000 00 0001 aa 0007 002a 0003 000400", alert.DecodeError},
		{"NewSessionTicket13 early_data too long", &NewSessionTicket13{}, TypeNewSessionTicket, "0000001e 00000000 00 0001 aa 0009 002a 0005 0000040000", alert.DecodeError},
		{"NewSessionTicket13 duplicate early_data", &NewSessionTicket13{}, TypeNewSessionTicket, "0000001e 00000000 00 0001 aa 0010 002a 0004 00000400 002a 0004 00000400", alert.IllegalParameter},
		{"NewSessionTicket13 pre_shared_key is forbidden", &NewSessionTicket13{}, TypeNewSessionTicket, "0000001e 00000000 00 0001 aa 0004 0029 0000", alert.IllegalParameter},

		{"EncryptedExtensions ALPN with two names", &EncryptedExtensions{}, TypeEncryptedExtensions, "000d 0010 0009 0007 02 6832 03 616263", alert.IllegalParameter},
		{"EncryptedExtensions ALPN empty list", &EncryptedExtensions{}, TypeEncryptedExtensions, "0006 0010 0002 0000", alert.DecodeError},
		{"EncryptedExtensions ALPN empty name", &EncryptedExtensions{}, TypeEncryptedExtensions, "0007 0010 0003 0001 00", alert.DecodeError},
		{"EncryptedExtensions server_name not empty", &EncryptedExtensions{}, TypeEncryptedExtensions, "0005 0000 0001 00", alert.DecodeError},
		{"EncryptedExtensions early_data not empty", &EncryptedExtensions{}, TypeEncryptedExtensions, "0008 002a 0004 00000400", alert.DecodeError},
		{"EncryptedExtensions odd supported_groups", &EncryptedExtensions{}, TypeEncryptedExtensions, "0007 000a 0003 0001 1d", alert.DecodeError},
		{"EncryptedExtensions duplicate extension", &EncryptedExtensions{}, TypeEncryptedExtensions, "0008 0000 0000 0000 0000", alert.IllegalParameter},
		{"EncryptedExtensions key_share is forbidden", &EncryptedExtensions{}, TypeEncryptedExtensions, "0004 0033 0000", alert.IllegalParameter},
		{"EncryptedExtensions supported_versions is forbidden", &EncryptedExtensions{}, TypeEncryptedExtensions, "0006 002b 0002 0304", alert.IllegalParameter},
		{"EncryptedExtensions extension longer than block", &EncryptedExtensions{}, TypeEncryptedExtensions, "0004 0000 0001", alert.DecodeError},

		{"KeyUpdate 2", &KeyUpdate{}, TypeKeyUpdate, "02", alert.IllegalParameter},
		{"KeyUpdate 255", &KeyUpdate{}, TypeKeyUpdate, "ff", alert.IllegalParameter},
		{"KeyUpdate empty", &KeyUpdate{}, TypeKeyUpdate, "", alert.DecodeError},
		{"KeyUpdate two bytes", &KeyUpdate{}, TypeKeyUpdate, "0100", alert.DecodeError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := msgTestFrame(tc.typ, msgTestHex(t, tc.body))
			if got := msgTestAlert(t, tc.m.Unmarshal(msg)); got != tc.want {
				t.Fatalf("Unmarshal(%x): got %v, want %v", msg, got, tc.want)
			}
		})
	}
}

// TestMessagesShortHeader checks that fewer than four bytes never parse.
func TestMessagesShortHeader(t *testing.T) {
	for _, tc := range msgSamples {
		encoded, _ := tc.m.Marshal()
		for i := range 4 {
			if err := msgTestFresh(tc.m).Unmarshal(encoded[:i]); msgTestAlert(t, err) != alert.DecodeError {
				t.Fatalf("%s: %d-byte input: got %v, want decode_error", tc.name, i, err)
			}
		}
	}
}

// TestMessagesAccepted lists unusual but valid inputs and what they decode
// to.
func TestMessagesAccepted(t *testing.T) {
	tests := []struct {
		name string
		typ  uint8
		body string
		want msgTestCodec
	}{
		{
			"CertificateRequest13 ignores unknown extensions",
			TypeCertificateRequest, "01 07 0010 1a1a 0000 000d 0004 0002 0403 ffee 0000",
			&CertificateRequest13{RequestContext: []byte{7}, SignatureAlgorithms: []uint16{0x0403}},
		},
		{
			"CertificateRequest13 extensions in any order",
			TypeCertificateRequest, "00 001a 002f 0006 0004 0002 3000 0032 0004 0002 0401 000d 0004 0002 0804",
			&CertificateRequest13{SignatureAlgorithms: []uint16{0x0804}, SignatureAlgorithmsCert: []uint16{0x0401}, CertificateAuthorities: [][]byte{{0x30, 0x00}}},
		},
		{
			"NewSessionTicket13 ignores unknown extensions",
			TypeNewSessionTicket, "00000e10 00000001 02 abcd 0002 0102 0004 0a0a 0000",
			&NewSessionTicket13{Lifetime: 3600, AgeAdd: 1, Nonce: []byte{0xab, 0xcd}, Ticket: []byte{1, 2}},
		},
		{
			"EncryptedExtensions records unknown and TLS 1.2-only types",
			TypeEncryptedExtensions, "0012 0017 0000 fafa 0001 00 0010 0005 0003 02 6832",
			&EncryptedExtensions{ALPN: "h2", Extensions: []uint16{ExtExtendedMasterSecret, 0xfafa, ExtALPN}},
		},
		{
			"ServerKeyExchange unknown group kept",
			TypeServerKeyExchange, "03 1234 01 aa 0805 0001 bb",
			&ServerKeyExchangeECDHE{Group: 0x1234, PublicKey: []byte{0xaa}, SigAlg: 0x0805, Signature: []byte{0xbb}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := msgTestFresh(tc.want)
			if err := got.Unmarshal(msgTestFrame(tc.typ, msgTestHex(t, tc.body))); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestMessagesMarshalRefusesInvalid checks that Marshal never produces what
// Unmarshal would reject.
func TestMessagesMarshalRefusesInvalid(t *testing.T) {
	tests := []struct {
		name string
		m    msgTestCodec
	}{
		{"Certificate12 empty certificate", &Certificate12{Certificates: [][]byte{{1}, {}}}},
		{"Certificate13 empty cert_data", &Certificate13{Entries: []CertificateEntry{{}}}},
		{"Certificate13 malformed entry extensions", &Certificate13{Entries: []CertificateEntry{{Data: []byte{1}, Extensions: []byte{0}}}}},
		{"Certificate13 context too long", &Certificate13{RequestContext: make([]byte, 256)}},
		{"ServerKeyExchange empty public key", &ServerKeyExchangeECDHE{Signature: []byte{1}}},
		{"ServerKeyExchange public key too long", &ServerKeyExchangeECDHE{PublicKey: make([]byte, 256), Signature: []byte{1}}},
		{"ServerKeyExchange empty signature", &ServerKeyExchangeECDHE{PublicKey: []byte{1}}},
		{"CertificateRequest12 no types", &CertificateRequest12{SignatureAlgorithms: []uint16{1}}},
		{"CertificateRequest12 no signature algorithms", &CertificateRequest12{CertificateTypes: []uint8{1}}},
		{"CertificateRequest12 empty DN", &CertificateRequest12{CertificateTypes: []uint8{1}, SignatureAlgorithms: []uint16{1}, CertificateAuthorities: [][]byte{{}}}},
		{"CertificateRequest13 no signature algorithms", &CertificateRequest13{}},
		{"ClientKeyExchange empty public key", &ClientKeyExchangeECDHE{}},
		{"CertificateVerify signature too long", &CertificateVerify{Signature: make([]byte, 1<<16)}},
		{"Finished empty", &Finished{}},
		{"NewSessionTicket12 ticket too long", &NewSessionTicket12{Ticket: make([]byte, 1<<16)}},
		{"NewSessionTicket13 empty ticket", &NewSessionTicket13{}},
		{"NewSessionTicket13 nonce too long", &NewSessionTicket13{Ticket: []byte{1}, Nonce: make([]byte, 256)}},
		{"EncryptedExtensions ALPN too long", &EncryptedExtensions{ALPN: strings.Repeat("a", 256)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.m.Marshal()
			if err == nil {
				t.Fatalf("Marshal succeeded: %x", out)
			}
			if got := msgTestAlert(t, err); got != alert.InternalError {
				t.Fatalf("got %v, want internal_error", got)
			}
		})
	}
}

func TestServerKeyExchangeParams(t *testing.T) {
	m := &ServerKeyExchangeECDHE{Group: 0x001d, PublicKey: []byte{1, 2, 3}, SigAlg: 0x0804, Signature: []byte{9}}
	want := []byte{3, 0x00, 0x1d, 3, 1, 2, 3}
	if got := m.Params(); !bytes.Equal(got, want) {
		t.Fatalf("Params() = %x, want %x", got, want)
	}
	encoded, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The signed parameters are exactly the start of the body.
	if !bytes.Equal(encoded[4:4+len(want)], want) {
		t.Fatalf("body %x does not start with Params", encoded[4:])
	}
	if (&ServerKeyExchangeECDHE{}).Params() != nil {
		t.Fatal("Params of an empty public key should be nil")
	}
}

func TestParseHeader(t *testing.T) {
	if _, _, ok := ParseHeader([]byte{1, 2, 3}); ok {
		t.Fatal("ParseHeader accepted three bytes")
	}
	typ, length, ok := ParseHeader([]byte{TypeFinished, 0x01, 0x02, 0x03, 0xff})
	if !ok || typ != TypeFinished || length != 0x010203 {
		t.Fatalf("ParseHeader = %d, %d, %v", typ, length, ok)
	}
}

// TestMessagesDoNotAliasInput checks that a parsed message survives the
// caller reusing its buffer.
func TestMessagesDoNotAliasInput(t *testing.T) {
	for _, tc := range msgTestValidMessages(t) {
		t.Run(tc.name, func(t *testing.T) {
			buf := bytes.Clone(tc.encoded)
			m := msgTestFresh(tc.m)
			if err := m.Unmarshal(buf); err != nil {
				t.Fatal(err)
			}
			before, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			for i := range buf {
				buf[i] ^= 0xff
			}
			after, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("message changed when the input buffer was overwritten")
			}
		})
	}
}

// TestMessagesUnmarshalLeavesReceiverOnError checks that a failed parse
// does not half-fill the receiver.
func TestMessagesUnmarshalLeavesReceiverOnError(t *testing.T) {
	m := &NewSessionTicket13{Lifetime: 5, Ticket: []byte{1}}
	bad := msgTestFrame(TypeNewSessionTicket, msgTestHex(t, "0000001e 00000000 00 0000 0000"))
	if err := m.Unmarshal(bad); err == nil {
		t.Fatal("accepted empty ticket")
	}
	if m.Lifetime != 5 || !bytes.Equal(m.Ticket, []byte{1}) {
		t.Fatalf("receiver modified: %+v", m)
	}
}
