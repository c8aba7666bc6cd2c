package sslsession

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fixtures returns the DER of every session the openssl binary produced
// in testdata (see testdata/make.sh), by file name.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	pems, _ := filepath.Glob("testdata/*.pem")
	for _, name := range pems {
		if filepath.Base(name) == "cert.pem" {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(data)
		if b == nil || b.Type != "SSL SESSION PARAMETERS" {
			t.Fatalf("%s: no SSL SESSION PARAMETERS block", name)
		}
		out[filepath.Base(name)] = b.Bytes
	}
	ders, _ := filepath.Glob("testdata/*.der")
	for _, name := range ders {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(name)] = data
	}
	if len(out) < 7 {
		t.Fatalf("found %d fixtures, want 7; run testdata/make.sh", len(out))
	}
	return out
}

// TestRoundTripOpenSSLFixtures decodes what OpenSSL wrote and writes it
// back byte for byte.
func TestRoundTripOpenSSLFixtures(t *testing.T) {
	for name, der := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			s, err := Unmarshal(der)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			again, err := s.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if !bytes.Equal(again, der) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, der)
			}
		})
	}
}

// TestFixtureFields checks the fields against what `openssl sess_id -text`
// and the servers' configuration say they are.
func TestFixtureFields(t *testing.T) {
	f := fixtures(t)
	cert, err := os.ReadFile("testdata/cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	certBlock, _ := pem.Decode(cert)

	for _, tc := range []struct {
		file       string
		version    uint16
		ticket     bool
		ems        bool
		ageAdd     bool
		peer       bool
		hostname   string
		sidCtxLen  int
		sessionID  int
		timeout    int64
		masterSize int
	}{
		{"client-tls12-ticket.pem", 0x0303, true, true, false, true, "", 0, 32, 7200, 48},
		{"client-tls12-id.pem", 0x0303, false, true, false, true, "", 0, 32, 7200, 48},
		{"client-tls13.pem", 0x0304, true, false, true, true, "", 0, 32, 7200, 48},
		{"nginx-tls12.pem", 0x0303, true, true, false, true, "localhost", 0, 32, 7200, 48},
		{"nginx-tls13.pem", 0x0304, true, false, true, true, "localhost", 0, 32, 7200, 48},
		// nginx's own state: no peer (no client certificate), its session
		// ID context (SHA-1, 20 bytes), its 300 s default timeout.
		{"server-tls12.der", 0x0303, false, true, false, false, "localhost", 20, 0, 300, 48},
		{"server-tls13.der", 0x0304, false, false, true, false, "localhost", 20, 32, 300, 48},
	} {
		t.Run(tc.file, func(t *testing.T) {
			s, err := Unmarshal(f[tc.file])
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case s.SSLVersion != tc.version:
				t.Errorf("version %#x, want %#x", s.SSLVersion, tc.version)
			case (len(s.Ticket) > 0) != tc.ticket:
				t.Errorf("ticket %d bytes, want ticket %v", len(s.Ticket), tc.ticket)
			case (s.Flags&FlagExtendedMasterSecret != 0) != tc.ems:
				t.Errorf("flags %#x, want EMS %v", s.Flags, tc.ems)
			case (s.TicketAgeAdd != 0) != tc.ageAdd:
				t.Errorf("age_add %d, want one %v", s.TicketAgeAdd, tc.ageAdd)
			case (s.Peer != nil) != tc.peer:
				t.Errorf("peer present %v, want %v", s.Peer != nil, tc.peer)
			case tc.peer && !bytes.Equal(s.Peer, certBlock.Bytes):
				t.Errorf("peer is not testdata/cert.pem")
			case string(s.Hostname) != tc.hostname:
				t.Errorf("hostname %q, want %q", s.Hostname, tc.hostname)
			case s.SIDCtx == nil || len(s.SIDCtx) != tc.sidCtxLen:
				t.Errorf("sid_ctx %x (nil %v), want %d bytes present", s.SIDCtx, s.SIDCtx == nil, tc.sidCtxLen)
			case len(s.SessionID) != tc.sessionID:
				t.Errorf("session ID %d bytes, want %d", len(s.SessionID), tc.sessionID)
			case s.Timeout != tc.timeout:
				t.Errorf("timeout %d, want %d", s.Timeout, tc.timeout)
			case len(s.MasterKey) != tc.masterSize:
				t.Errorf("master key %d bytes, want %d", len(s.MasterKey), tc.masterSize)
			case s.Cipher != 0xc02c && s.Cipher != 0x1302:
				t.Errorf("cipher %#x", s.Cipher)
			case !s.HasKexGroup || s.KexGroup != 0x1d:
				t.Errorf("kex_group %#x (present %v), want X25519", s.KexGroup, s.HasKexGroup)
			case tc.peer && s.VerifyResult != 0:
				t.Errorf("verify result %d, want X509_V_OK", s.VerifyResult)
			case s.Time < 1700000000:
				t.Errorf("time %d", s.Time)
			}
		})
	}
}

// TestMarshalKeepsEveryField fills every field, including the tolerated
// ones and a future tag, and checks that the encoding decodes to the same.
func TestMarshalKeepsEveryField(t *testing.T) {
	cert, _ := os.ReadFile("testdata/cert.pem")
	certBlock, _ := pem.Decode(cert)
	s := &Session{
		SSLVersion: 0x0303, Cipher: 0xc02f,
		SessionID: bytes.Repeat([]byte{1}, 32), MasterKey: bytes.Repeat([]byte{2}, 48),
		KeyArg: []byte{}, Time: -5, Timeout: 1 << 40, Peer: certBlock.Bytes,
		SIDCtx: []byte("ctx"), VerifyResult: -1, Hostname: []byte("example.com"),
		PSKIdentityHint: []byte("hint"), PSKIdentity: []byte("id"),
		TicketLifetimeHint: 1<<64 - 1, Ticket: []byte("ticket"), CompID: []byte{0},
		SRPUsername: []byte("srp"), Flags: FlagExtendedMasterSecret | 1<<40,
		TicketAgeAdd: 0xffffffff, MaxEarlyData: 16384, ALPN: []byte("h2"),
		MaxFragmentLenMode: 2, TicketAppData: []byte("app"), KexGroup: 0, HasKexGroup: true,
		PeerRPK: []byte("rpk"),
		Unknown: [][]byte{{0xb5, 0x03, 0x02, 0x01, 0x07}, {0x9e, 0x00}},
	}
	der, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(der)
	if err != nil {
		t.Fatal(err)
	}
	again, err := got.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, der) || got.KeyArg == nil || !got.HasKexGroup || got.Time != -5 || got.TicketLifetimeHint != 1<<64-1 || len(got.Unknown) != 2 {
		t.Fatalf("fields lost: %+v", got)
	}
}

// TestUnmarshalRefuses lists encodings d2i_SSL_SESSION refuses, or that
// are not DER, each with the field the error must name.
func TestUnmarshalRefuses(t *testing.T) {
	base := &Session{SSLVersion: 0x0303, Cipher: 0xc02f, SessionID: []byte{}, MasterKey: bytes.Repeat([]byte{2}, 48), SIDCtx: []byte{}}
	good, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(good); err != nil {
		t.Fatalf("base: %v", err)
	}
	seq := func(body ...byte) []byte { return append([]byte{0x30, byte(len(body))}, body...) }
	head := []byte{0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x02, 0xc0, 0x2f, 0x04, 0x00, 0x04, 0x01, 0x09}
	with := func(extra ...byte) []byte { return seq(append(append([]byte{}, head...), extra...)...) }
	for _, tc := range []struct {
		name  string
		der   []byte
		field string
	}{
		{"empty", nil, "SSLSession"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "SSLSession"},
		{"version 2", seq(0x02, 0x01, 0x02), "version"},
		{"cipher of 3 bytes", seq(0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x03, 1, 2, 3), "cipher"},
		{"session ID of 33 bytes", seq(append([]byte{0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x02, 0xc0, 0x2f, 0x04, 33}, append(make([]byte, 33), 0x04, 0x00)...)...), "sessionID"},
		{"tags out of order", with(0xa2, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x05), "SSLSession"},
		{"tag twice", with(0xa1, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x05), "SSLSession"},
		{"universal tag after the fixed fields", with(0x04, 0x00), "SSLSession"},
		{"time not an integer", with(0xa1, 0x02, 0x04, 0x00), "time"},
		{"time with two integers", with(0xa1, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x05), "time"},
		{"negative flags", with(0xad, 0x03, 0x02, 0x01, 0xff), "flags"},
		{"age_add above 32 bits", with(0xae, 0x07, 0x02, 0x05, 0x01, 0, 0, 0, 0), "ticketAgeAdd"},
		{"non-minimal integer", with(0xa1, 0x04, 0x02, 0x02, 0x00, 0x05), "time"},
		{"peer not a SEQUENCE", with(0xa3, 0x02, 0x04, 0x00), "peer"},
		{"primitive explicit tag", with(0x81, 0x01, 0x05), "time"},
		{"compression ID of 2 bytes", with(0xab, 0x04, 0x04, 0x02, 0x01, 0x01), "compressionID"},
		{"high tag number", with(0xbf, 0x1f, 0x00), "SSLSession"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unmarshal(tc.der)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if e.Field != tc.field {
				t.Fatalf("error names %q, want %q (%v)", e.Field, tc.field, err)
			}
		})
	}
}
