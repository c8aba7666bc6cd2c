package reprise

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSessionEncodingPinned pins MarshalBinary's layout byte for byte, so
// that a change to it is deliberate: sessions in external stores and
// tickets in flight are encoded this way, and a new layout must bump
// sessionFormat (old encodings then fail to decode and cost one full
// handshake each, never a misread session).
func TestSessionEncodingPinned(t *testing.T) {
	s := &Session{
		version:     VersionTLS13,
		cipherSuite: TLS_AES_128_GCM_SHA256,
		secret:      []byte{0xaa, 0xbb, 0xcc},
		ems:         true,
		verified:    true,
		isClient:    true,
		id:          []byte{1, 2},
		idContext:   []byte("ctx"),
		created:     time.Unix(0x01020304, 0),
		lifetime:    7200 * time.Second,
		serverName:  "a.example",
		alpn:        "h2",
		peerCerts:   [][]byte{{0x30, 0x01}, {0x30}},
		ageAdd:      0x11223344,
		maxEarly:    0x4000,
		ticket:      []byte{0xde, 0xad},
		Extra:       []byte("x"),
	}
	want := strings.Join([]string{
		"0001",                               // format 1
		"0d",                                 // flags: ems | verified | client
		"0304",                               // version TLS 1.3
		"1301",                               // TLS_AES_128_GCM_SHA256
		"0000000001020304",                   // created, Unix seconds
		"00001c20",                           // lifetime 7200 s
		"11223344",                           // age_add
		"00004000",                           // max_early_data
		"03aabbcc",                           // secret
		"020102",                             // session_id
		"03637478",                           // id_context "ctx"
		"09612e6578616d706c65",               // server_name "a.example"
		"026832",                             // alpn "h2"
		"0002dead",                           // ticket
		"000009" + "0000023001" + "00000130", // certificate_list: two certificates
		"000178",                             // extra "x"
	}, "")
	got, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Fatalf("session encoding changed (bump sessionFormat if that is meant):\n got %x\nwant %s", got, want)
	}
	// The server's encoding for a ticket leaves the client's ticket out.
	sealed, err := s.marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sealed, bytes.Replace(got, []byte{0, 2, 0xde, 0xad}, []byte{0, 0}, 1)) {
		t.Fatalf("encoding without the ticket: %x", sealed)
	}

	wantBytes, _ := hex.DecodeString(want)
	var back Session
	if err := back.UnmarshalBinary(wantBytes); err != nil {
		t.Fatal(err)
	}
	s.created = s.created.Local()
	back.created = back.created.Local()
	if !reflect.DeepEqual(&back, s) {
		t.Fatalf("decoded %+v\nwant    %+v", back, *s)
	}
}
