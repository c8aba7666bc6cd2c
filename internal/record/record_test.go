package record

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/reprise-tls/reprise/internal/alert"
)

// wantAlert fails the test unless err is an *Error carrying want.
func wantAlert(t *testing.T, err error, want alert.Alert) {
	t.Helper()
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("got error %v, want a *record.Error with alert %v", err, want)
	}
	if re.Alert != want {
		t.Fatalf("got alert %v (%v), want %v", re.Alert, err, want)
	}
}

func header(typ ContentType, version uint16, length int) []byte {
	return appendHeader(nil, typ, version, length)
}

func TestReadRecordSequence(t *testing.T) {
	var stream []byte
	stream = append(stream, header(Handshake, 0x0301, 3)...)
	stream = append(stream, 1, 2, 3)
	stream = append(stream, header(ApplicationData, 0x0303, 0)...)
	big := bytes.Repeat([]byte{0xaa}, MaxCiphertext12)
	stream = append(stream, header(ApplicationData, 0x0303, len(big))...)
	stream = append(stream, big...)

	for _, name := range []string{"whole", "one-byte"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(stream)
			if name == "one-byte" {
				r = iotest.OneByteReader(r)
			}
			var buf []byte
			want := [][]byte{stream[:8], stream[8:13], stream[13:]}
			for i, w := range want {
				rec, err := ReadRecord(r, &buf)
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if !bytes.Equal(rec, w) {
					t.Fatalf("record %d: got %d bytes, want %d", i, len(rec), len(w))
				}
			}
			if _, err := ReadRecord(r, &buf); err != io.EOF {
				t.Fatalf("after the last record: got %v, want io.EOF", err)
			}
			if cap(buf) > HeaderLen+MaxCiphertext12 {
				t.Errorf("buffer grew to %d bytes, more than one maximum record", cap(buf))
			}
		})
	}
}

func TestReadRecordTruncated(t *testing.T) {
	full := append(header(Handshake, 0x0303, 4), 1, 2, 3, 4)
	for n := 1; n < len(full); n++ {
		var buf []byte
		_, err := ReadRecord(bytes.NewReader(full[:n]), &buf)
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%d of %d bytes: got %v, want io.ErrUnexpectedEOF", n, len(full), err)
		}
	}
	var buf []byte
	if _, err := ReadRecord(bytes.NewReader(nil), &buf); err != io.EOF {
		t.Errorf("empty stream: got %v, want io.EOF", err)
	}
}

// countingReader counts the bytes handed out.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadRecordOverflowReadsNoBody(t *testing.T) {
	stream := append(header(ApplicationData, 0x0303, MaxCiphertext12+1), make([]byte, MaxCiphertext12+1)...)
	r := &countingReader{r: iotest.OneByteReader(bytes.NewReader(stream))}
	var buf []byte
	_, err := ReadRecord(r, &buf)
	wantAlert(t, err, alert.RecordOverflow)
	if r.n != HeaderLen {
		t.Errorf("read %d bytes, want only the %d-byte header", r.n, HeaderLen)
	}
	if cap(buf) > 512 {
		t.Errorf("allocated %d bytes for a rejected record", cap(buf))
	}
}

// stuckReader returns (0, nil) forever.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestReadRecordNoProgress(t *testing.T) {
	var buf []byte
	if _, err := ReadRecord(stuckReader{}, &buf); err != io.ErrNoProgress {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

func TestReadRecordTransportError(t *testing.T) {
	boom := errors.New("boom")
	var buf []byte
	r := io.MultiReader(bytes.NewReader([]byte{22, 3}), iotest.ErrReader(boom))
	if _, err := ReadRecord(r, &buf); err != boom {
		t.Fatalf("got %v, want the transport's error", err)
	}
}

// timeoutError is a net.Error-style timeout, as a read deadline gives.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// gappyReader hands out its stream in the pieces given, with a timeout
// between each piece and the next.
type gappyReader struct {
	pieces [][]byte
	gap    bool
}

func (g *gappyReader) Read(p []byte) (int, error) {
	if len(g.pieces) == 0 {
		return 0, io.EOF
	}
	if g.gap {
		g.gap = false
		return 0, timeoutError{}
	}
	n := copy(p, g.pieces[0])
	if g.pieces[0] = g.pieces[0][n:]; len(g.pieces[0]) == 0 {
		g.pieces, g.gap = g.pieces[1:], true
	}
	return n, nil
}

// TestReadRecordResumesAfterTimeout: a read that times out inside a record,
// in its header or its body, keeps what arrived; the next call completes
// the record, and the one after reads the next record from its start.
func TestReadRecordResumesAfterTimeout(t *testing.T) {
	first := append(header(ApplicationData, 0x0303, 600), bytes.Repeat([]byte{0xaa}, 600)...)
	second := append(header(Handshake, 0x0303, 3), 1, 2, 3)
	stream := append(append([]byte(nil), first...), second...)
	for _, cuts := range [][]int{{2}, {5}, {7}, {3, 300}, {5, 6, 605}, {605, 607}, {1, 2, 3, 4, 5, 6, 7, 8}} {
		var pieces [][]byte
		last := 0
		for _, c := range cuts {
			pieces = append(pieces, stream[last:c])
			last = c
		}
		pieces = append(pieces, stream[last:])
		r := &gappyReader{pieces: pieces}
		var buf []byte
		var got [][]byte
		for timeouts := 0; len(got) < 2; {
			rec, err := ReadRecord(r, &buf)
			if _, ok := err.(timeoutError); ok {
				if timeouts++; timeouts > len(cuts) {
					t.Fatalf("cuts %v: more timeouts than gaps", cuts)
				}
				continue
			}
			if err != nil {
				t.Fatalf("cuts %v: %v", cuts, err)
			}
			got = append(got, append([]byte(nil), rec...))
		}
		if !bytes.Equal(got[0], first) || !bytes.Equal(got[1], second) {
			t.Errorf("cuts %v: records differ from those sent", cuts)
		}
		if _, err := ReadRecord(r, &buf); err != io.EOF {
			t.Errorf("cuts %v: after the last record got %v, want io.EOF", cuts, err)
		}
	}
}

func FuzzReadRecord(f *testing.F) {
	hello := append(header(Handshake, 0x0301, 4), 1, 0, 0, 0)
	f.Add(hello, uint8(0))
	f.Add(append(hello, header(ApplicationData, 0x0303, 0)...), uint8(1))
	f.Add(header(ApplicationData, 0x0303, 0xffff), uint8(2))
	f.Add([]byte{22, 3}, uint8(0))
	f.Fuzz(func(t *testing.T, stream []byte, mode uint8) {
		var r io.Reader = bytes.NewReader(stream)
		switch mode % 3 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.DataErrReader(r)
		}
		var buf []byte
		consumed := 0
		// Each successful call consumes at least a header, so this loop
		// ends; the bound is a backstop.
		for i := 0; i <= len(stream); i++ {
			rec, err := ReadRecord(r, &buf)
			if err != nil {
				return
			}
			if len(rec) < HeaderLen || len(rec) > HeaderLen+MaxCiphertext12 {
				t.Fatalf("record of %d bytes", len(rec))
			}
			if got := int(rec[3])<<8 | int(rec[4]); got != len(rec)-HeaderLen {
				t.Fatalf("length field %d, record body %d", got, len(rec)-HeaderLen)
			}
			if !bytes.Equal(rec, stream[consumed:consumed+len(rec)]) {
				t.Fatal("record differs from the stream")
			}
			consumed += len(rec)
		}
		t.Fatal("ReadRecord kept returning records")
	})
}
