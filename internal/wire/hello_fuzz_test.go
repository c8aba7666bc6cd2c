package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/reprise-tls/reprise/internal/alert"
)

// helloCheckWireError fails unless err is a *Error carrying one of the two alerts
// a parser may ask for.
func helloCheckWireError(t *testing.T, err error) {
	t.Helper()
	var werr *Error
	if !errors.As(err, &werr) {
		t.Fatalf("error %v is not a *Error", err)
	}
	if werr.Alert != alert.DecodeError && werr.Alert != alert.IllegalParameter {
		t.Fatalf("unexpected alert %s in %s", werr.Alert, werr.Field)
	}
}

func FuzzClientHello(f *testing.F) {
	f.Add(helloHex(f, rfc8448ClientHello))
	f.Add(rfc8448ResumedClientHello(f))
	for _, m := range []*ClientHello{richClientHello(), minimalClientHello()} {
		raw, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	// Host names that are (and are not) DNS host names, RFC 6066, Section 3.
	for _, name := range []string{"xn--bcher-kva.example", "_srv.example", "example.com.", "a\x00b", "a..b"} {
		m := minimalClientHello()
		m.ServerName = name
		raw, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, msg := range helloFuzzInputs(data) {
			fuzzClientHelloOnce(t, msg)
		}
	})
}

// helloFuzzInputs returns data as given and, so that mutations reach past
// the header, with its uint24 length rewritten to match.
func helloFuzzInputs(data []byte) [][]byte {
	if len(data) < 4 || len(data)-4 >= 1<<24 {
		return [][]byte{data}
	}
	return [][]byte{data, helloMsg(data[0], data[4:])}
}

func fuzzClientHelloOnce(t *testing.T, data []byte) {
	var m ClientHello
	if err := m.Unmarshal(data); err != nil {
		helloCheckWireError(t, err)
		return
	}
	// Whatever parses must re-marshal, and re-parse to the same value.
	raw, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal of a parsed ClientHello: %v", err)
	}
	var again ClientHello
	if err := again.Unmarshal(raw); err != nil {
		t.Fatalf("Unmarshal of a re-marshalled ClientHello: %v", err)
	}
	m.Extensions, again.Extensions = nil, nil
	if !reflect.DeepEqual(m, again) {
		t.Fatalf("re-parse differs:\n got %+v\nwant %+v", again, m)
	}
	// The binders list is the tail of both encodings, byte for byte.
	n := m.BindersLen()
	if n > len(data) || n > len(raw) || !bytes.Equal(data[len(data)-n:], raw[len(raw)-n:]) {
		t.Fatalf("BindersLen %d does not delimit the binders", n)
	}
	if len(m.PSKBinders) > 0 {
		if err := PatchBinders(raw, m.PSKBinders); err != nil {
			t.Fatalf("PatchBinders with the binders already there: %v", err)
		}
	}
}

func FuzzServerHello(f *testing.F) {
	f.Add(helloHex(f, rfc8448ServerHello))
	f.Add(helloHex(f, rfc8448ResumedServerHello))
	f.Add(helloHex(f, rfc8448HelloRetryRequest))
	for _, m := range []*ServerHello{richServerHello(), helloRetryRequest()} {
		raw, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, msg := range helloFuzzInputs(data) {
			fuzzServerHelloOnce(t, msg)
		}
	})
}

func fuzzServerHelloOnce(t *testing.T, data []byte) {
	var m ServerHello
	if err := m.Unmarshal(data); err != nil {
		helloCheckWireError(t, err)
		return
	}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal of a parsed ServerHello: %v", err)
	}
	var again ServerHello
	if err := again.Unmarshal(raw); err != nil {
		t.Fatalf("Unmarshal of a re-marshalled ServerHello: %v", err)
	}
	m.Extensions, again.Extensions = nil, nil
	if !reflect.DeepEqual(m, again) {
		t.Fatalf("re-parse differs:\n got %+v\nwant %+v", again, m)
	}
}
