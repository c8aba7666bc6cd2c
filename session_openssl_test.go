package reprise

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/sslsession"
)

// opensslFixture reads a file that the openssl binary (or nginx) made; see
// internal/sslsession/testdata/make.sh.
func opensslFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("internal", "sslsession", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// opensslFixtureDER is the DER inside a PEM fixture.
func opensslFixtureDER(t testing.TB, name string) []byte {
	t.Helper()
	b, _ := pem.Decode(opensslFixture(t, name))
	if b == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return b.Bytes
}

// TestOpenSSLSessionFilesRoundTrip reads the session files openssl
// s_client wrote, as clients' sessions, and writes them back: everything
// but the key exchange group (which reprise does not keep) is what OpenSSL
// wrote, byte for byte, once a ticket's lifetime is taken as its hint.
func TestOpenSSLSessionFilesRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		file    string
		version uint16
		ticket  bool
		ems     bool
	}{
		{"client-tls12-ticket.pem", VersionTLS12, true, true},
		{"client-tls12-id.pem", VersionTLS12, false, true},
		{"client-tls13.pem", VersionTLS13, true, false},
		{"nginx-tls12.pem", VersionTLS12, true, true},
		{"nginx-tls13.pem", VersionTLS13, true, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			der := opensslFixtureDER(t, tc.file)
			s, err := ParseOpenSSLSessionPEM(opensslFixture(t, tc.file), "")
			if err != nil {
				t.Fatal(err)
			}
			if s.Version() != tc.version || s.HasTicket() != tc.ticket || s.ExtendedMasterSecret() != tc.ems || !s.isClient || !s.verified {
				t.Fatalf("session %+v", s)
			}
			if certs, err := s.PeerCertificates(); err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "localhost" {
				t.Fatalf("peer certificates %v, %v", certs, err)
			}
			out, err := s.MarshalOpenSSL()
			if err != nil {
				t.Fatal(err)
			}
			want, _ := sslsession.Unmarshal(der)
			want.KexGroup, want.HasKexGroup = 0, false
			// A client keeps a ticket for its lifetime hint at most.
			if len(want.Ticket) > 0 {
				want.Timeout = min(want.Timeout, int64(want.TicketLifetimeHint))
				want.TicketLifetimeHint = uint64(want.Timeout)
			}
			wantDER, _ := want.Marshal()
			if !bytes.Equal(out, wantDER) {
				t.Fatalf("re-encoded differently:\n got %x\nwant %x", out, wantDER)
			}
			// And through reprise's own format and back.
			own, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back Session
			if err := back.UnmarshalBinary(own); err != nil {
				t.Fatal(err)
			}
			if again, _ := back.MarshalOpenSSL(); !bytes.Equal(again, wantDER) {
				t.Fatal("reprise's format lost a field OpenSSL's has")
			}
		})
	}
}

func TestParseSessionPEMReadsBothFormats(t *testing.T) {
	s, err := ParseSessionPEM(opensslFixture(t, "client-tls13.pem"))
	if err != nil || s.Version() != VersionTLS13 {
		t.Fatalf("OpenSSL's PEM: %v, %v", s, err)
	}
	own, err := s.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	if s2, err := ParseSessionPEM(own); err != nil || !bytes.Equal(s2.secret, s.secret) {
		t.Fatalf("reprise's PEM: %v", err)
	}
	ossl, err := s.MarshalOpenSSLPEM()
	if err != nil || !bytes.HasPrefix(ossl, []byte("-----BEGIN SSL SESSION PARAMETERS-----")) {
		t.Fatalf("MarshalOpenSSLPEM: %q, %v", ossl, err)
	}
}

// TestUnmarshalOpenSSLSessionServerName: OpenSSL's client records no server
// name unless the server acknowledged SNI; the caller's name fills in, a
// recorded name wins.
func TestUnmarshalOpenSSLSessionServerName(t *testing.T) {
	s, err := UnmarshalOpenSSLSession(opensslFixtureDER(t, "client-tls13.pem"), "example.net")
	if err != nil || s.ServerName() != "example.net" {
		t.Fatalf("no recorded name: %q, %v", s.ServerName(), err)
	}
	s, err = UnmarshalOpenSSLSession(opensslFixtureDER(t, "nginx-tls13.pem"), "example.net")
	if err != nil || s.ServerName() != "localhost" {
		t.Fatalf("recorded name: %q, %v", s.ServerName(), err)
	}
}

// TestUnmarshalOpenSSLSessionRefuses: sessions reprise cannot resume
// correctly are errors, not sessions.
func TestUnmarshalOpenSSLSessionRefuses(t *testing.T) {
	base, err := sslsession.Unmarshal(opensslFixtureDER(t, "client-tls12-ticket.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(o *sslsession.Session)
	}{
		{"TLS 1.0", func(o *sslsession.Session) { o.SSLVersion = 0x0301 }},
		{"short master secret", func(o *sslsession.Session) { o.MasterKey = o.MasterKey[:47] }},
		{"no master secret", func(o *sslsession.Session) { o.MasterKey = nil }},
		{"compression", func(o *sslsession.Session) { o.CompID = []byte{1} }},
		{"no time", func(o *sslsession.Session) { o.Time = 0 }},
		{"negative timeout", func(o *sslsession.Session) { o.Timeout = -1 }},
		{"huge timeout", func(o *sslsession.Session) { o.Timeout = 1 << 62 }},
		{"nothing to offer", func(o *sslsession.Session) { o.Ticket, o.SessionID = nil, []byte{} }},
		{"TLS 1.3 PSK of the wrong size", func(o *sslsession.Session) { o.SSLVersion, o.Cipher = VersionTLS13, TLS_AES_128_GCM_SHA256 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := *base
			tc.mutate(&o)
			der, err := o.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if s, err := UnmarshalOpenSSLSession(der, "localhost"); err == nil {
				t.Fatalf("accepted: %+v", s)
			}
		})
	}
}

// TestOpenSSLTimesAndLifetimes: a TLS 1.3 client session lives no longer
// than its ticket's lifetime hint.
func TestOpenSSLTimesAndLifetimes(t *testing.T) {
	o, _ := sslsession.Unmarshal(opensslFixtureDER(t, "client-tls13.pem"))
	o.TicketLifetimeHint = 60
	der, _ := o.Marshal()
	s, err := UnmarshalOpenSSLSession(der, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if s.Lifetime() != time.Minute || s.Created().Unix() != o.Time {
		t.Fatalf("lifetime %v created %v", s.Lifetime(), s.Created())
	}
}
