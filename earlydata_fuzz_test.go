package reprise

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/reprise-tls/reprise/internal/record"
	"github.com/reprise-tls/reprise/internal/wire"
)

// earlyFuzzLimit is the max_early_data_size of the fuzzed server.
const earlyFuzzLimit = 1 << 10

// sealEarlyRecords turns chunks of [type][len16][payload] into TLS 1.3
// records sealed under the client early traffic keys of secret.
func sealEarlyRecords(in []byte, secret []byte) []byte {
	suite := suiteByID(TLS_AES_128_GCM_SHA256)
	rc, _ := suite.trafficCipher13(secret)
	var hc record.HalfConn
	hc.SetVersion(VersionTLS13)
	hc.SetCipher(rc)
	var out []byte
	for len(in) >= 3 {
		typ, n := record.ContentType(in[0]), int(binary.BigEndian.Uint16(in[1:3]))
		in = in[3:]
		n = min(n, len(in), record.MaxPlaintext)
		if typ == record.ChangeCipherSpec {
			// Always in the clear in TLS 1.3 (RFC 8446, Section 5).
			out = append(out, byte(typ), 3, 3, byte(n>>8), byte(n))
			out = append(out, in[:n]...)
		} else if sealed, err := hc.Seal(out, typ, VersionTLS12, in[:n]); err == nil {
			out = sealed
		}
		in = in[n:]
	}
	return out
}

func chunk(typ record.ContentType, payload []byte) []byte {
	return append([]byte{byte(typ), byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// FuzzEarlyDataRead: the server's early data path (ReadEarlyData, with
// acceptEarlyDataLocked and readEarlyRecordLocked) reads whatever a client
// sends under its early traffic keys, then raw bytes (trailing). Nothing
// may panic; it returns at most max_early_data_size bytes, ends with
// io.EOF only after EndOfEarlyData, and fails with an alert otherwise.
func FuzzEarlyDataRead(f *testing.F) {
	eoed, _ := new(wire.EndOfEarlyData).Marshal()
	fin, _ := (&wire.Finished{VerifyData: bytes.Repeat([]byte{7}, 32)}).Marshal()
	seeds := [][]byte{
		joinChunks(chunk(record.ApplicationData, []byte("GET / HTTP/1.1\r\n\r\n")), chunk(record.Handshake, eoed)),
		joinChunks(chunk(record.ChangeCipherSpec, []byte{1}), chunk(record.ApplicationData, []byte("x")), chunk(record.ApplicationData, nil), chunk(record.Handshake, eoed)),
		joinChunks(chunk(record.ApplicationData, bytes.Repeat([]byte{'a'}, earlyFuzzLimit+1))),
		joinChunks(chunk(record.Handshake, eoed[:2]), chunk(record.Handshake, eoed[2:])),
		joinChunks(chunk(record.Handshake, fin)),
		joinChunks(chunk(record.Handshake, append(joinChunks(eoed), fin...))),
		joinChunks(chunk(record.Alert, []byte{1, 0})),
	}
	for _, s := range seeds {
		f.Add(s, []byte(nil))
	}
	f.Add(seeds[0], []byte{23, 3, 3, 0, 20, 1, 2, 3})
	secret := bytes.Repeat([]byte{0x42}, 32)
	hsSecret := bytes.Repeat([]byte{0x43}, 32)
	f.Fuzz(func(t *testing.T, records, trailing []byte) {
		a, b := memPipe()
		a.Write(append(sealEarlyRecords(records, secret), trailing...))
		a.Close()
		c := Server(b, earlyServerConfigFuzz())
		c.firstRecord = false
		c.vers = VersionTLS13
		c.in.SetVersion(VersionTLS13)
		c.out.SetVersion(VersionTLS13)
		suite := suiteByID(TLS_AES_128_GCM_SHA256)
		hsIn, _ := suite.trafficCipher13(hsSecret)
		earlyIn, _ := suite.trafficCipher13(secret)
		c.in.SetCipher(hsIn)
		c.early = &earlyState{}
		c.startEarlyRead(earlyIn, earlyFuzzLimit)
		buf := make([]byte, 100)
		total := 0
		for range 1000 {
			n, err := c.ReadEarlyData(buf)
			total += n
			if total > earlyFuzzLimit {
				t.Fatalf("read %d bytes of early data, more than %d", total, earlyFuzzLimit)
			}
			if err == io.EOF {
				if c.early.reading {
					t.Fatal("io.EOF while early data still reads")
				}
				return
			}
			if err != nil {
				var ae *AlertError
				if !errors.As(err, &ae) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
					t.Logf("non-alert error %v", err)
				}
				return
			}
		}
	})
}

func earlyServerConfigFuzz() *Config { return &Config{MaxEarlyData: earlyFuzzLimit} }

func joinChunks(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
