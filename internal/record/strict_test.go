package record

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/reprise-tls/reprise/internal/alert"
)

// byteCounter counts the bytes read through it.
type byteCounter struct {
	r io.Reader
	n int
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

var errNotHandshake = errors.New("not a handshake record")

func onlyHandshake(h []byte) error {
	if ContentType(h[0]) != Handshake {
		return errNotHandshake
	}
	return nil
}

// TestReadRecordCheckedStopsAtHeader: a header that the check, or the
// content type, rejects is reported after exactly HeaderLen bytes, not
// after the length it declares.
func TestReadRecordCheckedStopsAtHeader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input []byte
		check func([]byte) error
		want  error
		alert alert.Alert
	}{
		{"check refuses", []byte("GET / HTTP/1.1\r\n"), onlyHandshake, errNotHandshake, 0},
		{"unknown content type", append(header(ContentType(0x42), 0x0303, 100), make([]byte, 10)...), nil, nil, alert.UnexpectedMessage},
		{"SSLv2", []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00}, nil, nil, alert.UnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &byteCounter{r: iotest.OneByteReader(bytes.NewReader(tc.input))}
			var buf []byte
			_, err := ReadRecordChecked(r, &buf, tc.check)
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var re *Error
			if tc.want == nil && (!errors.As(err, &re) || re.Alert != tc.alert) {
				t.Fatalf("got %v, want alert %v", err, tc.alert)
			}
			if r.n != HeaderLen {
				t.Fatalf("read %d bytes, want the %d-byte header only", r.n, HeaderLen)
			}
		})
	}
}

// FuzzReadRecordChecked: whatever the stream, a rejected header costs
// exactly HeaderLen bytes, and an accepted record is a known content type.
func FuzzReadRecordChecked(f *testing.F) {
	f.Add(append(header(Handshake, 0x0301, 4), 1, 0, 0, 0))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15})
	f.Add(header(ApplicationData, 0x0303, 0x4000))
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := &byteCounter{r: bytes.NewReader(stream)}
		var buf []byte
		rec, err := ReadRecordChecked(r, &buf, onlyHandshake)
		if err != nil {
			if len(stream) >= HeaderLen && (errors.Is(err, errNotHandshake) || errors.As(err, new(*Error))) && r.n != HeaderLen {
				t.Fatalf("rejected after %d bytes", r.n)
			}
			return
		}
		if ContentType(rec[0]) != Handshake || !bytes.Equal(rec, stream[:len(rec)]) {
			t.Fatalf("accepted % x", rec[:HeaderLen])
		}
	})
}
