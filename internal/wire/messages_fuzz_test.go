package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// msgFuzzable is a pointer to a message type from messages.go.
type msgFuzzable[T any] interface {
	*T
	Marshal() ([]byte, error)
	Unmarshal(msg []byte) error
}

// msgFuzzSeeds returns the encoded samples of type T plus extra hex seeds.
func msgFuzzSeeds[T any, P msgFuzzable[T]](f *testing.F, extraHex ...string) {
	for _, tc := range msgSamples {
		if _, ok := tc.m.(P); !ok {
			continue
		}
		encoded, err := tc.m.Marshal()
		if err != nil {
			f.Fatalf("%s: %v", tc.name, err)
		}
		f.Add(encoded)
	}
	for _, h := range extraHex {
		f.Add(msgTestHex(f, h))
	}
}

// msgFuzzRoundTrip checks that parsing arbitrary bytes never panics and
// fails only with a *Error, and that whatever parses re-marshals. With
// exact, the re-marshalled bytes must equal the input. Without it (messages
// whose Unmarshal drops unknown extensions) the re-marshalled bytes must
// parse to the same value after normalize, and marshal again to themselves.
func msgFuzzRoundTrip[T any, P msgFuzzable[T]](f *testing.F, exact bool, normalize func(*T)) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var m T
		if err := P(&m).Unmarshal(data); err != nil {
			var wireErr *Error
			if !errors.As(err, &wireErr) {
				t.Fatalf("Unmarshal returned %T %v, want *wire.Error", err, err)
			}
			return
		}
		encoded, err := P(&m).Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed message failed: %v (%+v)", err, m)
		}
		if exact {
			if !bytes.Equal(encoded, data) {
				t.Fatalf("re-marshal differs:\n got %x\nwant %x", encoded, data)
			}
			return
		}
		var again T
		if err := P(&again).Unmarshal(encoded); err != nil {
			t.Fatalf("re-marshalled message %x does not parse: %v", encoded, err)
		}
		if normalize != nil {
			normalize(&m)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("re-parse differs:\n got %+v\nwant %+v", again, m)
		}
		if encodedAgain, err := P(&again).Marshal(); err != nil || !bytes.Equal(encodedAgain, encoded) {
			t.Fatalf("marshal not stable: %x, %v; want %x", encodedAgain, err, encoded)
		}
	})
}

func FuzzCertificate12(f *testing.F) {
	msgFuzzSeeds[Certificate12](f)
	msgFuzzRoundTrip[Certificate12](f, true, nil)
}

func FuzzCertificate13(f *testing.F) {
	msgFuzzSeeds[Certificate13](f, msgRFC8448Certificate)
	msgFuzzRoundTrip[Certificate13](f, true, nil)
}

func FuzzServerKeyExchange(f *testing.F) {
	msgFuzzSeeds[ServerKeyExchangeECDHE](f, "0c00000a 01 001d 01 aa 0804 0001 bb")
	msgFuzzRoundTrip[ServerKeyExchangeECDHE](f, true, nil)
}

func FuzzCertificateRequest12(f *testing.F) {
	msgFuzzSeeds[CertificateRequest12](f)
	msgFuzzRoundTrip[CertificateRequest12](f, true, nil)
}

func FuzzCertificateRequest13(f *testing.F) {
	msgFuzzSeeds[CertificateRequest13](f,
		"0d000014 01 07 0010 1a1a 0000 000d 0004 0002 0403 ffee 0000",
		"0d00000b 00 0008 0032 0004 0002 0804")
	msgFuzzRoundTrip[CertificateRequest13](f, false, nil)
}

func FuzzClientKeyExchange(f *testing.F) {
	msgFuzzSeeds[ClientKeyExchangeECDHE](f)
	msgFuzzRoundTrip[ClientKeyExchangeECDHE](f, true, nil)
}

func FuzzCertificateVerify(f *testing.F) {
	msgFuzzSeeds[CertificateVerify](f, msgRFC8448CertificateVerify)
	msgFuzzRoundTrip[CertificateVerify](f, true, nil)
}

func FuzzFinished(f *testing.F) {
	msgFuzzSeeds[Finished](f, msgRFC8448ServerFinished)
	msgFuzzRoundTrip[Finished](f, true, nil)
}

func FuzzNewSessionTicket12(f *testing.F) {
	msgFuzzSeeds[NewSessionTicket12](f)
	msgFuzzRoundTrip[NewSessionTicket12](f, true, nil)
}

func FuzzNewSessionTicket13(f *testing.F) {
	msgFuzzSeeds[NewSessionTicket13](f, msgRFC8448NewSessionTicket,
		"04000015 00000e10 00000001 02 abcd 0002 0102 0004 0a0a 0000")
	msgFuzzRoundTrip[NewSessionTicket13](f, false, nil)
}

func FuzzEncryptedExtensions(f *testing.F) {
	msgFuzzSeeds[EncryptedExtensions](f, msgRFC8448EncryptedExtensions,
		"08000014 0012 0017 0000 fafa 0001 00 0010 0005 0003 02 6832")
	// Unknown extension types are listed on parse but not written back.
	msgFuzzRoundTrip[EncryptedExtensions](f, false, func(m *EncryptedExtensions) {
		var kept []uint16
		for _, typ := range m.Extensions {
			switch typ {
			case ExtServerName, ExtSupportedGroups, ExtALPN, ExtEarlyData:
				kept = append(kept, typ)
			}
		}
		m.Extensions = kept
	})
}

func FuzzKeyUpdate(f *testing.F) {
	msgFuzzSeeds[KeyUpdate](f, "18000001 02")
	msgFuzzRoundTrip[KeyUpdate](f, true, nil)
}
