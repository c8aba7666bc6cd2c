package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/reprise-tls/reprise/internal/alert"
	"golang.org/x/crypto/cryptobyte"
)

// Handshake messages from RFC 8448 (Example Handshake Traces for TLS 1.3).
const (
	// Section 3, "Simple 1-RTT Handshake": {client} construct a ClientHello.
	rfc8448ClientHello = "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7" +
		"000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d" +
		"0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e" +
		"435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e04030503060302" +
		"0308040805080604010501060102010402050206020202002d00020101001c00024001"
	// Section 3: {server} construct a ServerHello.
	rfc8448ServerHello = "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800" +
		"130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b0" +
		"4e751f0f002b00020304"
	// Section 4, "Resumed 0-RTT Handshake": the ClientHello up to the
	// binders ("ClientHello prefix") is rfc8448ResumedClientHelloPrefix, then
	// come these binders.
	rfc8448ResumedBinders = "0021203add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d"
	// Section 4: the hash of the truncated ClientHello the binder covers.
	rfc8448ResumedBinderHash = "63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14"
	// Section 4: the ServerHello accepting PSK identity 0.
	rfc8448ResumedServerHello = "0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d00" +
		"130100003400290002000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47" +
		"f115e86eff50942cea31002b00020304"
	// Section 5, "HelloRetryRequest": the HRR selecting secp256r1 with a cookie.
	rfc8448HelloRetryRequest = "020000ac0303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c00" +
		"1301000084003300020017002c0074007271dcd04bb88bc3189119398a00000000eefafc76c146b823" +
		"b096f8aacad365dd0030953f4edf625636e5f21bb2e23fcc654b1b5b40318d10d137abcbb87574e36e" +
		"8a1f025f7dfa5d6e50781b5eda4aa15b0c8be778257d16aa3030e9e7841dd9e4c0342267e8ca0caf57" +
		"1fb2b7cff0f934b0002b00020304"
)

// rfc8448ResumedClientHelloPrefix is RFC 8448, Section 4's truncated
// ClientHello; its padding extension (21) holds 87 zero bytes.
var rfc8448ResumedClientHelloPrefix = "010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95" +
	"000006130113031302010001cd0000000b0009000006736572766572ff01000100000a00140012001d" +
	"00170018001901000101010201030104003300260024001d0020e4ffb68ac05f8d96c99da26698346c" +
	"6be16482badddafe051a66b4f18d668f0b002a0000002b0003020304000d0020001e04030503060302" +
	"0308040805080604010501060102010402050206020202002d00020101001c00024001" +
	"00150057" + strings.Repeat("00", 87) +
	"002900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90bf1b00" +
	"70ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be" +
	"7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2" +
	"677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a791" +
	"41ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb"

func helloHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rfc8448ResumedClientHello(t testing.TB) []byte {
	return helloHex(t, rfc8448ResumedClientHelloPrefix+rfc8448ResumedBinders)
}

func helloRandom(seed byte) []byte {
	r := make([]byte, 32)
	for i := range r {
		r[i] = seed + byte(i)
	}
	return r
}

func helloBytes(n int, v byte) []byte { return bytes.Repeat([]byte{v}, n) }

// richClientHello sets every extension field.
func richClientHello() *ClientHello {
	return &ClientHello{
		Vers:                         0x0303,
		Random:                       helloRandom(1),
		SessionID:                    helloBytes(32, 0xaa),
		CipherSuites:                 []uint16{0x1301, 0x1302, 0xc02f, 0x00ff},
		CompressionMethods:           []uint8{0},
		ServerName:                   "example.com",
		SupportedGroups:              []uint16{0x001d, 0x0017},
		PointFormats:                 []uint8{0},
		SignatureAlgorithms:          []uint16{0x0403, 0x0804},
		SignatureAlgorithmsCert:      []uint16{0x0401},
		ALPN:                         []string{"h2", "http/1.1"},
		SecureRenegotiationSupported: true,
		SecureRenegotiation:          helloBytes(12, 0x55),
		ExtendedMasterSecret:         true,
		EncryptThenMAC:               true,
		TicketSupported:              true,
		SessionTicket:                helloBytes(100, 0x77),
		SupportedVersions:            []uint16{0x0304, 0x0303},
		KeyShares:                    []KeyShare{{Group: 0x001d, Data: helloBytes(32, 9)}, {Group: 0x0017, Data: helloBytes(65, 4)}},
		PSKModes:                     []uint8{PSKModeDHE},
		EarlyData:                    true,
		Cookie:                       helloBytes(40, 0xc0),
		PostHandshakeAuth:            true,
		PSKIdentities:                []PSKIdentity{{Identity: helloBytes(50, 1), ObfuscatedTicketAge: 0xdeadbeef}, {Identity: []byte{2}, ObfuscatedTicketAge: 7}},
		PSKBinders:                   [][]byte{helloBytes(32, 0xb1), helloBytes(48, 0xb2)},
	}
}

// minimalClientHello is an old TLS 1.2 client's: no extensions block at all.
func minimalClientHello() *ClientHello {
	return &ClientHello{
		Vers:               0x0303,
		Random:             helloRandom(2),
		CipherSuites:       []uint16{0xc02f},
		CompressionMethods: []uint8{0},
	}
}

func richServerHello() *ServerHello {
	return &ServerHello{
		Vers:                         0x0303,
		Random:                       helloRandom(3),
		SessionID:                    helloBytes(32, 0x11),
		CipherSuite:                  0xc02f,
		SecureRenegotiationSupported: true,
		SecureRenegotiation:          helloBytes(24, 0x22),
		ExtendedMasterSecret:         true,
		EncryptThenMAC:               true,
		TicketSupported:              true,
		ALPN:                         "h2",
		ServerNameAck:                true,
		PointFormats:                 []uint8{0, 1},
		SupportedVersion:             0x0304,
		KeyShare:                     KeyShare{Group: 0x001d, Data: helloBytes(32, 0x33)},
		HasSelectedPSK:               true,
		SelectedPSK:                  1,
	}
}

func helloRetryRequest() *ServerHello {
	return &ServerHello{
		Vers:             0x0303,
		Random:           bytes.Clone(HelloRetryRequestRandom[:]),
		SessionID:        helloBytes(32, 0x44),
		CipherSuite:      0x1301,
		SupportedVersion: 0x0304,
		SelectedGroup:    0x0017,
		Cookie:           helloBytes(100, 0x66),
	}
}

func clientHelloRoundTrip(t *testing.T, in *ClientHello) {
	t.Helper()
	raw, err := in.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var out ClientHello
	if err := out.Unmarshal(raw); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	out.Extensions = nil
	want := *in
	want.Extensions = nil
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", out, want)
	}
}

func serverHelloRoundTrip(t *testing.T, in *ServerHello) {
	t.Helper()
	raw, err := in.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var out ServerHello
	if err := out.Unmarshal(raw); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	out.Extensions = nil
	want := *in
	want.Extensions = nil
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", out, want)
	}
}

func TestClientHelloRoundTrip(t *testing.T) {
	emptyKeyShare := richClientHello()
	emptyKeyShare.KeyShares = []KeyShare{} // present but empty: asks for an HRR
	emptyReneg := minimalClientHello()
	emptyReneg.SecureRenegotiationSupported = true // initial handshake: empty renegotiated_connection
	emptyReneg.TicketSupported = true              // no ticket yet
	emptyReneg.ExtendedMasterSecret = true
	for name, m := range map[string]*ClientHello{
		"rich":            richClientHello(),
		"minimal":         minimalClientHello(),
		"empty key_share": emptyKeyShare,
		"TLS 1.2 initial": emptyReneg,
	} {
		t.Run(name, func(t *testing.T) { clientHelloRoundTrip(t, m) })
	}
}

func TestServerHelloRoundTrip(t *testing.T) {
	minimal := &ServerHello{Vers: 0x0303, Random: helloRandom(5), CipherSuite: 0x009c}
	for name, m := range map[string]*ServerHello{
		"rich":              richServerHello(),
		"minimal":           minimal,
		"HelloRetryRequest": helloRetryRequest(),
	} {
		t.Run(name, func(t *testing.T) { serverHelloRoundTrip(t, m) })
	}
}

// Generate makes random ClientHellos that are valid by construction, for
// testing/quick.
func (*ClientHello) Generate(r *rand.Rand, size int) reflect.Value {
	maybe := func() bool { return r.Intn(2) == 0 }
	randBytes := func(min, max int) []byte {
		n := min + r.Intn(max-min+1)
		if n == 0 {
			return nil
		}
		b := make([]byte, n)
		r.Read(b)
		return b
	}
	uint16s := func(min, max int) []uint16 {
		n := min + r.Intn(max-min+1)
		if n == 0 {
			return nil
		}
		out := make([]uint16, n)
		for i := range out {
			out[i] = uint16(r.Intn(1 << 16))
		}
		return out
	}
	m := &ClientHello{
		Vers:               uint16(r.Intn(1 << 16)),
		Random:             randBytes(32, 32),
		SessionID:          randBytes(0, 32),
		CipherSuites:       uint16s(1, 20),
		CompressionMethods: randBytes(1, 3),
	}
	if maybe() {
		// A DNS host name (RFC 6066, Section 3): labels of letters.
		name := randBytes(1, 40)
		for i := range name {
			name[i] = 'a' + name[i]%26
			if i > 0 && i < len(name)-1 && name[i-1] != '.' && r.Intn(8) == 0 {
				name[i] = '.'
			}
		}
		m.ServerName = string(name)
	}
	m.SupportedGroups = uint16s(0, 8)
	m.PointFormats = randBytes(0, 3)
	m.SignatureAlgorithms = uint16s(0, 10)
	m.SignatureAlgorithmsCert = uint16s(0, 3)
	for range r.Intn(3) {
		m.ALPN = append(m.ALPN, string(randBytes(1, 20)))
	}
	if m.SecureRenegotiationSupported = maybe(); m.SecureRenegotiationSupported {
		m.SecureRenegotiation = randBytes(0, 36)
	}
	m.ExtendedMasterSecret = maybe()
	m.EncryptThenMAC = maybe()
	if m.TicketSupported = maybe(); m.TicketSupported {
		m.SessionTicket = randBytes(0, 200)
	}
	m.SupportedVersions = uint16s(0, 4)
	if maybe() {
		m.KeyShares = []KeyShare{}
		for range r.Intn(3) {
			m.KeyShares = append(m.KeyShares, KeyShare{Group: uint16(r.Intn(1 << 16)), Data: randBytes(1, 100)})
		}
	}
	m.PSKModes = randBytes(0, 2)
	m.EarlyData = maybe()
	m.Cookie = randBytes(0, 50)
	m.PostHandshakeAuth = maybe()
	if maybe() {
		// Counts may differ: that is the handshake's to reject, not the wire's.
		for range 1 + r.Intn(3) {
			m.PSKIdentities = append(m.PSKIdentities, PSKIdentity{Identity: randBytes(1, 60), ObfuscatedTicketAge: r.Uint32()})
		}
		for range 1 + r.Intn(3) {
			m.PSKBinders = append(m.PSKBinders, randBytes(32, 64))
		}
	}
	return reflect.ValueOf(m)
}

// Generate makes random ServerHellos and HelloRetryRequests that are valid
// by construction, for testing/quick.
func (*ServerHello) Generate(r *rand.Rand, size int) reflect.Value {
	maybe := func() bool { return r.Intn(2) == 0 }
	randBytes := func(min, max int) []byte {
		n := min + r.Intn(max-min+1)
		if n == 0 {
			return nil
		}
		b := make([]byte, n)
		r.Read(b)
		return b
	}
	nonZero16 := func() uint16 { return uint16(1 + r.Intn(1<<16-1)) }
	m := &ServerHello{
		Vers:              uint16(r.Intn(1 << 16)),
		Random:            randBytes(32, 32),
		SessionID:         randBytes(0, 32),
		CipherSuite:       uint16(r.Intn(1 << 16)),
		CompressionMethod: uint8(r.Intn(256)),
	}
	hrr := maybe()
	if hrr {
		m.Random = bytes.Clone(HelloRetryRequestRandom[:])
	}
	if m.SecureRenegotiationSupported = maybe(); m.SecureRenegotiationSupported {
		m.SecureRenegotiation = randBytes(0, 24)
	}
	m.ExtendedMasterSecret = maybe()
	m.EncryptThenMAC = maybe()
	m.TicketSupported = maybe()
	if maybe() {
		m.ALPN = string(randBytes(1, 30))
	}
	m.ServerNameAck = maybe()
	m.PointFormats = randBytes(0, 3)
	if maybe() {
		m.SupportedVersion = nonZero16()
	}
	switch {
	case hrr && maybe():
		m.SelectedGroup = nonZero16()
	case !hrr && maybe():
		m.KeyShare = KeyShare{Group: nonZero16(), Data: randBytes(1, 97)}
	}
	if hrr {
		m.Cookie = randBytes(0, 80)
	}
	if m.HasSelectedPSK = maybe(); m.HasSelectedPSK {
		m.SelectedPSK = uint16(r.Intn(1 << 16))
	}
	return reflect.ValueOf(m)
}

func TestClientHelloQuick(t *testing.T) {
	roundTrips := func(m *ClientHello) bool {
		raw, err := m.Marshal()
		if err != nil {
			t.Logf("Marshal: %v", err)
			return false
		}
		var out ClientHello
		if err := out.Unmarshal(raw); err != nil {
			t.Logf("Unmarshal: %v", err)
			return false
		}
		out.Extensions = nil
		return reflect.DeepEqual(&out, m) && len(raw)-m.BindersLen() >= 0
	}
	if err := quick.Check(roundTrips, &quick.Config{MaxCount: 500}); err != nil {
		t.Fatal(err)
	}
}

func TestServerHelloQuick(t *testing.T) {
	roundTrips := func(m *ServerHello) bool {
		raw, err := m.Marshal()
		if err != nil {
			t.Logf("Marshal: %v", err)
			return false
		}
		var out ServerHello
		if err := out.Unmarshal(raw); err != nil {
			t.Logf("Unmarshal: %v", err)
			return false
		}
		out.Extensions = nil
		return reflect.DeepEqual(&out, m)
	}
	if err := quick.Check(roundTrips, &quick.Config{MaxCount: 500}); err != nil {
		t.Fatal(err)
	}
}

func TestClientHelloRFC8448(t *testing.T) {
	var m ClientHello
	if err := m.Unmarshal(helloHex(t, rfc8448ClientHello)); err != nil {
		t.Fatal(err)
	}
	want := ClientHello{
		Vers:                         0x0303,
		Random:                       helloHex(t, "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"),
		CipherSuites:                 []uint16{0x1301, 0x1303, 0x1302},
		CompressionMethods:           []uint8{0},
		ServerName:                   "server",
		SecureRenegotiationSupported: true,
		SupportedGroups:              []uint16{0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104},
		TicketSupported:              true,
		KeyShares:                    []KeyShare{{Group: 0x001d, Data: helloHex(t, "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c")}},
		SupportedVersions:            []uint16{0x0304},
		SignatureAlgorithms: []uint16{0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806,
			0x0401, 0x0501, 0x0601, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202},
		PSKModes: []uint8{PSKModeDHE},
		// record_size_limit (28, RFC 8449) is unknown here: recorded, skipped.
		Extensions: []uint16{ExtServerName, ExtRenegotiationInfo, ExtSupportedGroups, ExtSessionTicket,
			ExtKeyShare, ExtSupportedVersions, ExtSignatureAlgorithms, ExtPSKKeyExchangeModes, 28},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got  %+v\nwant %+v", m, want)
	}
	if m.BindersLen() != 0 {
		t.Errorf("BindersLen = %d without pre_shared_key", m.BindersLen())
	}
	clientHelloRoundTrip(t, &m)
}

func TestClientHelloRFC8448Resumed(t *testing.T) {
	raw := rfc8448ResumedClientHello(t)
	var m ClientHello
	if err := m.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if !m.EarlyData || m.ServerName != "server" || !reflect.DeepEqual(m.PSKModes, []uint8{PSKModeDHE}) {
		t.Errorf("EarlyData=%v ServerName=%q PSKModes=%v", m.EarlyData, m.ServerName, m.PSKModes)
	}
	wantExts := []uint16{ExtServerName, ExtRenegotiationInfo, ExtSupportedGroups, ExtKeyShare, ExtEarlyData,
		ExtSupportedVersions, ExtSignatureAlgorithms, ExtPSKKeyExchangeModes, 28, ExtPadding, ExtPreSharedKey}
	if !reflect.DeepEqual(m.Extensions, wantExts) {
		t.Errorf("Extensions = %v, want %v", m.Extensions, wantExts)
	}
	if len(m.PSKIdentities) != 1 || len(m.PSKIdentities[0].Identity) != 0xb2 ||
		m.PSKIdentities[0].ObfuscatedTicketAge != 0xfad6aacb {
		t.Fatalf("PSKIdentities = %+v", m.PSKIdentities)
	}
	if !bytes.HasPrefix(m.PSKIdentities[0].Identity, helloHex(t, "2c035d829359ee5ff7af4ec9")) {
		t.Errorf("identity = %x", m.PSKIdentities[0].Identity)
	}
	wantBinder := helloHex(t, "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d")
	if !reflect.DeepEqual(m.PSKBinders, [][]byte{wantBinder}) {
		t.Errorf("PSKBinders = %x", m.PSKBinders)
	}

	// The truncated ClientHello of RFC 8446, Section 4.2.11.2 is what RFC
	// 8448 prints as the prefix, and its hash is the one the binder covers.
	if got := m.BindersLen(); got != 35 {
		t.Fatalf("BindersLen = %d, want 35", got)
	}
	truncated := raw[:len(raw)-m.BindersLen()]
	if !bytes.Equal(truncated, helloHex(t, rfc8448ResumedClientHelloPrefix)) {
		t.Error("truncated ClientHello differs from RFC 8448's prefix")
	}
	if sum := sha256.Sum256(truncated); hex.EncodeToString(sum[:]) != rfc8448ResumedBinderHash {
		t.Errorf("truncated hash = %x", sum)
	}
	clientHelloRoundTrip(t, &m)
}

func TestServerHelloRFC8448(t *testing.T) {
	t.Run("1-RTT", func(t *testing.T) {
		var m ServerHello
		if err := m.Unmarshal(helloHex(t, rfc8448ServerHello)); err != nil {
			t.Fatal(err)
		}
		want := ServerHello{
			Vers:             0x0303,
			Random:           helloHex(t, "a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928"),
			CipherSuite:      0x1301,
			SupportedVersion: 0x0304,
			KeyShare:         KeyShare{Group: 0x001d, Data: helloHex(t, "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f")},
			Extensions:       []uint16{ExtKeyShare, ExtSupportedVersions},
		}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("got  %+v\nwant %+v", m, want)
		}
		if m.IsHelloRetryRequest() {
			t.Error("IsHelloRetryRequest on a ServerHello")
		}
		serverHelloRoundTrip(t, &m)
	})
	t.Run("resumed", func(t *testing.T) {
		var m ServerHello
		if err := m.Unmarshal(helloHex(t, rfc8448ResumedServerHello)); err != nil {
			t.Fatal(err)
		}
		if !m.HasSelectedPSK || m.SelectedPSK != 0 || m.KeyShare.Group != 0x001d || m.SupportedVersion != 0x0304 {
			t.Fatalf("got %+v", m)
		}
		if want := []uint16{ExtPreSharedKey, ExtKeyShare, ExtSupportedVersions}; !reflect.DeepEqual(m.Extensions, want) {
			t.Errorf("Extensions = %v, want %v", m.Extensions, want)
		}
		serverHelloRoundTrip(t, &m)
	})
	t.Run("HelloRetryRequest", func(t *testing.T) {
		var m ServerHello
		if err := m.Unmarshal(helloHex(t, rfc8448HelloRetryRequest)); err != nil {
			t.Fatal(err)
		}
		if !m.IsHelloRetryRequest() || m.SelectedGroup != 0x0017 || m.KeyShare.Group != 0 ||
			len(m.Cookie) != 0x72 || m.SupportedVersion != 0x0304 || m.CipherSuite != 0x1301 {
			t.Fatalf("got %+v", m)
		}
		serverHelloRoundTrip(t, &m)
	})
}

func TestHelloPatchBinders(t *testing.T) {
	raw := rfc8448ResumedClientHello(t)
	prefix := helloHex(t, rfc8448ResumedClientHelloPrefix)

	// Patching RFC 8448's own binder over a zeroed one restores the trace.
	zeroed := bytes.Clone(raw)
	if err := PatchBinders(zeroed, [][]byte{make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(zeroed[:len(prefix)], prefix) || bytes.Equal(zeroed, raw) {
		t.Fatal("PatchBinders touched the prefix or did nothing")
	}
	var m ClientHello
	if err := m.Unmarshal(zeroed); err != nil || !bytes.Equal(m.PSKBinders[0], make([]byte, 32)) {
		t.Fatalf("after zeroing: err=%v binders=%x", err, m.PSKBinders)
	}
	wantBinder := helloHex(t, "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d")
	if err := PatchBinders(zeroed, [][]byte{wantBinder}); err != nil || !bytes.Equal(zeroed, raw) {
		t.Fatalf("re-patch: err=%v, equal=%v", err, bytes.Equal(zeroed, raw))
	}

	// The client's flow: marshal with placeholders, patch, and the result
	// equals marshalling with the real binders.
	ch := richClientHello()
	real := [][]byte{helloBytes(32, 0xe1), helloBytes(48, 0xe2)}
	placeholder, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := PatchBinders(placeholder, real); err != nil {
		t.Fatal(err)
	}
	ch.PSKBinders = real
	direct, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(placeholder, direct) {
		t.Fatal("patched message differs from one marshalled with the binders")
	}

	noPSK, err := minimalClientHello().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		raw     []byte
		binders [][]byte
	}{
		"wrong length":  {bytes.Clone(raw), [][]byte{make([]byte, 48)}},
		"wrong count":   {bytes.Clone(raw), [][]byte{make([]byte, 32), make([]byte, 32)}},
		"no binders":    {bytes.Clone(raw), nil},
		"no psk":        {noPSK, [][]byte{make([]byte, 32)}},
		"not a message": {raw[:10], [][]byte{make([]byte, 32)}},
	} {
		before := bytes.Clone(tc.raw)
		if err := PatchBinders(tc.raw, tc.binders); err == nil {
			t.Errorf("%s: no error", name)
		}
		if !bytes.Equal(before, tc.raw) {
			t.Errorf("%s: raw modified on error", name)
		}
	}
}

// Helpers to build helloMalformed messages by hand.

func helloExt(typ uint16, data []byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
}

func helloU8Vec(b ...byte) []byte  { return append([]byte{byte(len(b))}, b...) }
func helloU16Vec(b ...byte) []byte { return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...) }
func helloCat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// handshake wraps body in a handshake header.
func helloMsg(typ uint8, body []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(body) })
	return b.BytesOrPanic()
}

// helloCHBody is a valid ClientHello body up to the extensions.
func helloCHBody() []byte {
	return helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(), helloU16Vec(0x13, 0x01), helloU8Vec(0))
}

// helloCHWith builds a ClientHello whose extensions block holds exts.
func helloCHWith(exts ...[]byte) []byte {
	return helloMsg(TypeClientHello, helloCat(helloCHBody(), helloU16Vec(helloCat(exts...)...)))
}

func helloSHBody(random []byte) []byte {
	return helloCat([]byte{3, 3}, random, helloU8Vec(), []byte{0x13, 0x01, 0})
}

func helloSHWith(exts ...[]byte) []byte {
	return helloMsg(TypeServerHello, helloCat(helloSHBody(helloRandom(0)), helloU16Vec(helloCat(exts...)...)))
}

func helloHRRWith(exts ...[]byte) []byte {
	return helloMsg(TypeServerHello, helloCat(helloSHBody(HelloRetryRequestRandom[:]), helloU16Vec(helloCat(exts...)...)))
}

var helloValidPSK = helloExt(ExtPreSharedKey, helloCat(
	helloU16Vec(helloCat(helloU16Vec(1, 2, 3), []byte{0, 0, 0, 1})...),
	helloU16Vec(helloU8Vec(helloBytes(32, 7)...)...),
))

type helloMalformed struct {
	name  string
	msg   []byte
	alert alert.Alert
	field string
}

func helloCheckMalformed(t *testing.T, tc helloMalformed, unmarshal func([]byte) error) {
	t.Helper()
	err := unmarshal(tc.msg)
	var werr *Error
	if !errors.As(err, &werr) {
		t.Errorf("%s: got %v, want *Error", tc.name, err)
		return
	}
	if werr.Alert != tc.alert || werr.Field != tc.field {
		t.Errorf("%s: got %s in %s, want %s in %s", tc.name, werr.Alert, werr.Field, tc.alert, tc.field)
	}
}

func TestClientHelloMalformed(t *testing.T) {
	const (
		dec = alert.DecodeError
		ill = alert.IllegalParameter
	)
	valid := helloCHWith(helloExt(ExtSupportedGroups, helloU16Vec(0, 0x1d)))
	hostName := func(name string) []byte { return helloCat([]byte{0}, helloU16Vec([]byte(name)...)) }
	tests := []helloMalformed{
		{"wrong type", helloMsg(TypeServerHello, helloCHBody()), dec, "ClientHello"},
		{"empty", nil, dec, "ClientHello"},
		{"length too long", append(valid[:1:1], append([]byte{0, 0, byte(len(valid) - 3)}, valid[4:]...)...), dec, "ClientHello"},
		{"trailing after message", append(bytes.Clone(valid), 0), dec, "ClientHello"},
		{"no random", helloMsg(TypeClientHello, []byte{3, 3, 1, 2}), dec, "ClientHello.random"},
		{"session_id 33 bytes", helloMsg(TypeClientHello, helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(helloBytes(33, 1)...), helloU16Vec(0x13, 0x01), helloU8Vec(0))), dec, "ClientHello.legacy_session_id"},
		{"no cipher suites", helloMsg(TypeClientHello, helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(), helloU16Vec(), helloU8Vec(0))), dec, "ClientHello.cipher_suites"},
		{"odd cipher suites", helloMsg(TypeClientHello, helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(), helloU16Vec(0x13, 0x01, 0x13), helloU8Vec(0))), dec, "ClientHello.cipher_suites"},
		{"no compression methods", helloMsg(TypeClientHello, helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(), helloU16Vec(0x13, 0x01), helloU8Vec())), dec, "ClientHello.legacy_compression_methods"},
		{"one stray byte for extensions", helloMsg(TypeClientHello, helloCat(helloCHBody(), []byte{0})), dec, "ClientHello.extensions"},
		{"trailing after extensions", helloMsg(TypeClientHello, helloCat(helloCHBody(), helloU16Vec(), []byte{0})), dec, "ClientHello.extensions"},
		{"extension overruns block", helloMsg(TypeClientHello, helloCat(helloCHBody(), helloU16Vec(0, 10, 0, 5, 1))), dec, "ClientHello.extensions"},
		{"duplicate extension", helloCHWith(helloExt(ExtSupportedGroups, helloU16Vec(0, 0x1d)), helloExt(ExtSupportedGroups, helloU16Vec(0, 0x17))), ill, "ClientHello.supported_groups"},
		{"duplicate unknown extension", helloCHWith(helloExt(0x1234, nil), helloExt(0x1234, nil)), ill, "ClientHello.extension(4660)"},
		{"psk not last", helloCHWith(helloValidPSK, helloExt(ExtEarlyData, nil)), ill, "ClientHello.pre_shared_key"},
		{"server_name empty list", helloCHWith(helloExt(ExtServerName, helloU16Vec())), dec, "ClientHello.server_name"},
		{"server_name empty host_name", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName("")...))), dec, "ClientHello.server_name"},
		{"server_name two host_names", helloCHWith(helloExt(ExtServerName, helloU16Vec(helloCat(hostName("a"), hostName("b"))...))), ill, "ClientHello.server_name"},
		{"server_name trailing", helloCHWith(helloExt(ExtServerName, helloCat(helloU16Vec(hostName("a")...), []byte{0}))), dec, "ClientHello.server_name"},
		{"server_name NUL", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName("a\x00.example")...))), ill, "ClientHello.server_name"},
		{"server_name trailing dot", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName("example.com.")...))), ill, "ClientHello.server_name"},
		{"server_name empty label", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName("a..b")...))), ill, "ClientHello.server_name"},
		{"server_name space", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName("a b")...))), ill, "ClientHello.server_name"},
		{"server_name non-ASCII", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName("b\xc3\xa9b")...))), ill, "ClientHello.server_name"},
		{"server_name label of 64", helloCHWith(helloExt(ExtServerName, helloU16Vec(hostName(strings.Repeat("a", 64))...))), ill, "ClientHello.server_name"},
		{"server_name truncated entry", helloCHWith(helloExt(ExtServerName, helloU16Vec(0, 0, 5, 'a'))), dec, "ClientHello.server_name"},
		{"supported_groups empty", helloCHWith(helloExt(ExtSupportedGroups, helloU16Vec())), dec, "ClientHello.supported_groups"},
		{"supported_groups odd", helloCHWith(helloExt(ExtSupportedGroups, helloU16Vec(0, 0x1d, 0))), dec, "ClientHello.supported_groups"},
		{"ec_point_formats empty", helloCHWith(helloExt(ExtECPointFormats, helloU8Vec())), dec, "ClientHello.ec_point_formats"},
		{"signature_algorithms empty", helloCHWith(helloExt(ExtSignatureAlgorithms, helloU16Vec())), dec, "ClientHello.signature_algorithms"},
		{"signature_algorithms_cert odd", helloCHWith(helloExt(ExtSignatureAlgorithmsCert, helloU16Vec(4))), dec, "ClientHello.signature_algorithms_cert"},
		{"alpn empty list", helloCHWith(helloExt(ExtALPN, helloU16Vec())), dec, "ClientHello.application_layer_protocol_negotiation"},
		{"alpn empty name", helloCHWith(helloExt(ExtALPN, helloU16Vec(helloCat(helloU8Vec('h', '2'), helloU8Vec())...))), dec, "ClientHello.application_layer_protocol_negotiation"},
		{"renegotiation_info trailing", helloCHWith(helloExt(ExtRenegotiationInfo, []byte{0, 0})), dec, "ClientHello.renegotiation_info"},
		{"renegotiation_info missing length", helloCHWith(helloExt(ExtRenegotiationInfo, nil)), dec, "ClientHello.renegotiation_info"},
		{"extended_master_secret not empty", helloCHWith(helloExt(ExtExtendedMasterSecret, []byte{0})), dec, "ClientHello.extended_master_secret"},
		{"encrypt_then_mac not empty", helloCHWith(helloExt(ExtEncryptThenMAC, []byte{0})), dec, "ClientHello.encrypt_then_mac"},
		{"supported_versions empty", helloCHWith(helloExt(ExtSupportedVersions, helloU8Vec())), dec, "ClientHello.supported_versions"},
		{"supported_versions with 2-byte length", helloCHWith(helloExt(ExtSupportedVersions, helloU16Vec(3, 4))), dec, "ClientHello.supported_versions"},
		{"key_share empty key_exchange", helloCHWith(helloExt(ExtKeyShare, helloU16Vec(0, 0x1d, 0, 0))), dec, "ClientHello.key_share"},
		{"key_share truncated entry", helloCHWith(helloExt(ExtKeyShare, helloU16Vec(0, 0x1d, 0, 2, 1))), dec, "ClientHello.key_share"},
		{"key_share trailing", helloCHWith(helloExt(ExtKeyShare, helloCat(helloU16Vec(), []byte{0}))), dec, "ClientHello.key_share"},
		{"psk_key_exchange_modes empty", helloCHWith(helloExt(ExtPSKKeyExchangeModes, helloU8Vec())), dec, "ClientHello.psk_key_exchange_modes"},
		{"early_data not empty", helloCHWith(helloExt(ExtEarlyData, []byte{0})), dec, "ClientHello.early_data"},
		{"post_handshake_auth not empty", helloCHWith(helloExt(ExtPostHandshakeAuth, []byte{0})), dec, "ClientHello.post_handshake_auth"},
		{"cookie empty", helloCHWith(helloExt(ExtCookie, helloU16Vec())), dec, "ClientHello.cookie"},
		{"cookie trailing", helloCHWith(helloExt(ExtCookie, helloCat(helloU16Vec(1), []byte{1}))), dec, "ClientHello.cookie"},
		{"psk no identities", helloCHWith(helloExt(ExtPreSharedKey, helloCat(helloU16Vec(), helloU16Vec(helloU8Vec(helloBytes(32, 7)...)...)))), dec, "ClientHello.pre_shared_key"},
		{"psk empty identity", helloCHWith(helloExt(ExtPreSharedKey, helloCat(helloU16Vec(0, 0, 0, 0, 0, 1), helloU16Vec(helloU8Vec(helloBytes(32, 7)...)...)))), dec, "ClientHello.pre_shared_key"},
		{"psk identity without age", helloCHWith(helloExt(ExtPreSharedKey, helloCat(helloU16Vec(0, 1, 9, 0, 0), helloU16Vec(helloU8Vec(helloBytes(32, 7)...)...)))), dec, "ClientHello.pre_shared_key"},
		{"psk no binders", helloCHWith(helloExt(ExtPreSharedKey, helloCat(helloU16Vec(helloCat(helloU16Vec(1), []byte{0, 0, 0, 1})...), helloU16Vec()))), dec, "ClientHello.pre_shared_key"},
		{"psk binder 31 bytes", helloCHWith(helloExt(ExtPreSharedKey, helloCat(helloU16Vec(helloCat(helloU16Vec(1), []byte{0, 0, 0, 1})...), helloU16Vec(helloU8Vec(helloBytes(31, 7)...)...)))), dec, "ClientHello.pre_shared_key"},
		{"psk missing binders", helloCHWith(helloExt(ExtPreSharedKey, helloU16Vec(helloCat(helloU16Vec(1), []byte{0, 0, 0, 1})...))), dec, "ClientHello.pre_shared_key"},
		{"psk trailing", helloCHWith(helloExt(ExtPreSharedKey, helloCat(helloU16Vec(helloCat(helloU16Vec(1), []byte{0, 0, 0, 1})...), helloU16Vec(helloU8Vec(helloBytes(32, 7)...)...), []byte{0}))), dec, "ClientHello.pre_shared_key"},
	}
	for _, tc := range tests {
		helloCheckMalformed(t, tc, func(b []byte) error { var m ClientHello; return m.Unmarshal(b) })
	}

	// The well-formed variants the table is built from do parse.
	for _, msg := range [][]byte{valid, helloCHWith(helloValidPSK), helloCHWith(helloExt(ExtKeyShare, helloU16Vec())),
		helloCHWith(helloExt(ExtServerName, helloU16Vec(helloCat([]byte{7}, helloU16Vec('x'))...)))} {
		var m ClientHello
		if err := m.Unmarshal(msg); err != nil {
			t.Errorf("valid %x: %v", msg, err)
		}
	}
}

func TestServerHelloMalformed(t *testing.T) {
	const (
		dec = alert.DecodeError
		ill = alert.IllegalParameter
	)
	tests := []helloMalformed{
		{"wrong type", helloMsg(TypeClientHello, helloSHBody(helloRandom(0))), dec, "ServerHello"},
		{"trailing after message", append(helloSHWith(), 0), dec, "ServerHello"},
		{"session_id 33 bytes", helloMsg(TypeServerHello, helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(helloBytes(33, 1)...), []byte{0x13, 0x01, 0})), dec, "ServerHello.legacy_session_id"},
		{"no compression method", helloMsg(TypeServerHello, helloCat([]byte{3, 3}, helloRandom(0), helloU8Vec(), []byte{0x13, 0x01})), dec, "ServerHello.legacy_compression_method"},
		{"trailing after extensions", helloMsg(TypeServerHello, helloCat(helloSHBody(helloRandom(0)), helloU16Vec(), []byte{0})), dec, "ServerHello.extensions"},
		{"duplicate extension", helloSHWith(helloExt(ExtExtendedMasterSecret, nil), helloExt(ExtExtendedMasterSecret, nil)), ill, "ServerHello.extended_master_secret"},
		{"supported_versions list form", helloSHWith(helloExt(ExtSupportedVersions, helloU8Vec(3, 4))), dec, "ServerHello.supported_versions"},
		{"supported_versions zero", helloSHWith(helloExt(ExtSupportedVersions, []byte{0, 0})), ill, "ServerHello.supported_versions"},
		{"key_share HRR form in ServerHello", helloSHWith(helloExt(ExtKeyShare, []byte{0, 0x1d})), dec, "ServerHello.key_share"},
		{"key_share empty key_exchange", helloSHWith(helloExt(ExtKeyShare, []byte{0, 0x1d, 0, 0})), dec, "ServerHello.key_share"},
		{"key_share group zero", helloSHWith(helloExt(ExtKeyShare, []byte{0, 0, 0, 1, 9})), ill, "ServerHello.key_share"},
		{"key_share entry in HRR", helloHRRWith(helloExt(ExtKeyShare, []byte{0, 0x1d, 0, 1, 9})), dec, "ServerHello.key_share"},
		{"key_share HRR group zero", helloHRRWith(helloExt(ExtKeyShare, []byte{0, 0})), ill, "ServerHello.key_share"},
		{"cookie outside HRR", helloSHWith(helloExt(ExtCookie, helloU16Vec(1))), ill, "ServerHello.cookie"},
		{"cookie empty", helloHRRWith(helloExt(ExtCookie, helloU16Vec())), dec, "ServerHello.cookie"},
		{"extended_master_secret not empty", helloSHWith(helloExt(ExtExtendedMasterSecret, []byte{0})), dec, "ServerHello.extended_master_secret"},
		{"encrypt_then_mac not empty", helloSHWith(helloExt(ExtEncryptThenMAC, []byte{0})), dec, "ServerHello.encrypt_then_mac"},
		{"session_ticket not empty", helloSHWith(helloExt(ExtSessionTicket, []byte{0})), dec, "ServerHello.session_ticket"},
		{"server_name not empty", helloSHWith(helloExt(ExtServerName, helloU16Vec())), dec, "ServerHello.server_name"},
		{"alpn two names", helloSHWith(helloExt(ExtALPN, helloU16Vec(helloCat(helloU8Vec('a'), helloU8Vec('b'))...))), ill, "ServerHello.application_layer_protocol_negotiation"},
		{"alpn empty name", helloSHWith(helloExt(ExtALPN, helloU16Vec(helloU8Vec()...))), dec, "ServerHello.application_layer_protocol_negotiation"},
		{"alpn empty list", helloSHWith(helloExt(ExtALPN, helloU16Vec())), dec, "ServerHello.application_layer_protocol_negotiation"},
		{"ec_point_formats empty", helloSHWith(helloExt(ExtECPointFormats, helloU8Vec())), dec, "ServerHello.ec_point_formats"},
		{"renegotiation_info trailing", helloSHWith(helloExt(ExtRenegotiationInfo, []byte{0, 0})), dec, "ServerHello.renegotiation_info"},
		{"pre_shared_key 3 bytes", helloSHWith(helloExt(ExtPreSharedKey, []byte{0, 0, 0})), dec, "ServerHello.pre_shared_key"},
	}
	for _, tc := range tests {
		helloCheckMalformed(t, tc, func(b []byte) error { var m ServerHello; return m.Unmarshal(b) })
	}
}

// TestHelloTruncated cuts real messages at every byte: the header's length then
// no longer matches, so every prefix is a decode_error, and so is every
// prefix whose header was rewritten to match (or it parses cleanly, when the
// cut falls between fields that may end the message).
func TestHelloTruncated(t *testing.T) {
	richCH, _ := richClientHello().Marshal()
	richSH, _ := richServerHello().Marshal()
	cases := []struct {
		name      string
		msg       []byte
		unmarshal func([]byte) error
	}{
		{"RFC 8448 ClientHello", helloHex(t, rfc8448ClientHello), func(b []byte) error { var m ClientHello; return m.Unmarshal(b) }},
		{"RFC 8448 resumed ClientHello", rfc8448ResumedClientHello(t), func(b []byte) error { var m ClientHello; return m.Unmarshal(b) }},
		{"rich ClientHello", richCH, func(b []byte) error { var m ClientHello; return m.Unmarshal(b) }},
		{"RFC 8448 ServerHello", helloHex(t, rfc8448ServerHello), func(b []byte) error { var m ServerHello; return m.Unmarshal(b) }},
		{"RFC 8448 HelloRetryRequest", helloHex(t, rfc8448HelloRetryRequest), func(b []byte) error { var m ServerHello; return m.Unmarshal(b) }},
		{"rich ServerHello", richSH, func(b []byte) error { var m ServerHello; return m.Unmarshal(b) }},
	}
	for _, c := range cases {
		for n := range len(c.msg) {
			err := c.unmarshal(c.msg[:n])
			var werr *Error
			if !errors.As(err, &werr) || werr.Alert != alert.DecodeError {
				t.Errorf("%s cut at %d: got %v, want decode_error", c.name, n, err)
			}
			if n < 4 {
				continue
			}
			fixed := helloMsg(c.msg[0], c.msg[4:n])
			if err := c.unmarshal(fixed); err != nil && (!errors.As(err, &werr) || werr.Alert != alert.DecodeError) {
				t.Errorf("%s body cut at %d: got %v, want decode_error or success", c.name, n, err)
			}
		}
	}
}

func TestHelloMarshalRejects(t *testing.T) {
	chCases := map[string]func(m *ClientHello){
		"random 31 bytes":           func(m *ClientHello) { m.Random = m.Random[:31] },
		"session_id 33 bytes":       func(m *ClientHello) { m.SessionID = helloBytes(33, 1) },
		"no cipher suites":          func(m *ClientHello) { m.CipherSuites = nil },
		"no compression":            func(m *ClientHello) { m.CompressionMethods = nil },
		"empty ALPN name":           func(m *ClientHello) { m.ALPN = []string{""} },
		"ALPN name 256 bytes":       func(m *ClientHello) { m.ALPN = []string{strings.Repeat("a", 256)} },
		"binder 31 bytes":           func(m *ClientHello) { m.PSKBinders[0] = helloBytes(31, 1) },
		"binder 256 bytes":          func(m *ClientHello) { m.PSKBinders[0] = helloBytes(256, 1) },
		"identities without binder": func(m *ClientHello) { m.PSKBinders = nil },
		"empty identity":            func(m *ClientHello) { m.PSKIdentities[0].Identity = nil },
		"empty key_exchange":        func(m *ClientHello) { m.KeyShares[0].Data = nil },
		"ticket without support":    func(m *ClientHello) { m.TicketSupported = false },
		"reneg without support":     func(m *ClientHello) { m.SecureRenegotiationSupported = false },
		"too many groups":           func(m *ClientHello) { m.SupportedGroups = make([]uint16, 40000) },
		"versions overflow":         func(m *ClientHello) { m.SupportedVersions = make([]uint16, 128) },
		"server name too long":      func(m *ClientHello) { m.ServerName = strings.Repeat("a", 70000) },
	}
	for name, mutate := range chCases {
		m := richClientHello()
		mutate(m)
		if _, err := m.Marshal(); err == nil {
			t.Errorf("ClientHello %s: no error", name)
		}
	}
	shCases := map[string]func(m *ServerHello){
		"random 33 bytes":           func(m *ServerHello) { m.Random = append(m.Random, 0) },
		"session_id 33 bytes":       func(m *ServerHello) { m.SessionID = helloBytes(33, 1) },
		"ALPN 256 bytes":            func(m *ServerHello) { m.ALPN = strings.Repeat("a", 256) },
		"key_share without data":    func(m *ServerHello) { m.KeyShare.Data = nil },
		"SelectedGroup outside HRR": func(m *ServerHello) { m.SelectedGroup = 0x17 },
		"cookie outside HRR":        func(m *ServerHello) { m.Cookie = []byte{1} },
		"SelectedPSK without Has":   func(m *ServerHello) { m.HasSelectedPSK = false },
		"reneg without support":     func(m *ServerHello) { m.SecureRenegotiationSupported = false },
		"HRR with KeyShare": func(m *ServerHello) {
			m.Random = bytes.Clone(HelloRetryRequestRandom[:])
		},
	}
	for name, mutate := range shCases {
		m := richServerHello()
		mutate(m)
		if _, err := m.Marshal(); err == nil {
			t.Errorf("ServerHello %s: no error", name)
		}
	}
}

// TestHelloUnmarshalResets checks that decoding into a used struct leaves nothing
// of the previous message behind, and that the result does not alias the
// input.
func TestHelloUnmarshalResets(t *testing.T) {
	m := richClientHello()
	raw, err := minimalClientHello().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, minimalClientHello()) {
		t.Fatalf("stale fields: %+v", m)
	}
	m.Random[0] ^= 0xff
	if raw[6] == m.Random[0] {
		t.Fatal("Random aliases the input")
	}

	sh := richServerHello()
	shRaw := helloHex(t, rfc8448HelloRetryRequest)
	if err := sh.Unmarshal(shRaw); err != nil {
		t.Fatal(err)
	}
	if sh.ALPN != "" || sh.HasSelectedPSK || sh.KeyShare.Group != 0 {
		t.Fatalf("stale fields: %+v", sh)
	}
}
