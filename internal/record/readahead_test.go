package record

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// segmentReader hands out its stream one segment per Read at most, as a
// socket hands out what has arrived, and counts the reads.
type segmentReader struct {
	segments [][]byte
	reads    int
}

func (s *segmentReader) Read(p []byte) (int, error) {
	s.reads++
	if len(s.segments) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.segments[0])
	if s.segments[0] = s.segments[0][n:]; len(s.segments[0]) == 0 {
		s.segments = s.segments[1:]
	}
	return n, nil
}

// TestReadAheadOneReadPerFlight: records that arrived together cost one
// read of the transport, and a maximum-size record no more reads than
// without read-ahead.
func TestReadAheadOneReadPerFlight(t *testing.T) {
	var flight []byte
	flight = append(flight, header(ChangeCipherSpec, 0x0303, 1)...)
	flight = append(flight, 1)
	flight = append(flight, header(Handshake, 0x0303, 40)...)
	flight = append(flight, bytes.Repeat([]byte{0x14}, 40)...)
	flight = append(flight, header(ApplicationData, 0x0303, 100)...)
	flight = append(flight, bytes.Repeat([]byte{0x17}, 100)...)
	big := append(header(ApplicationData, 0x0303, MaxCiphertext12), bytes.Repeat([]byte{0xaa}, MaxCiphertext12)...)

	r := &segmentReader{segments: [][]byte{flight, big}}
	a := &ReadAhead{R: r}
	var buf []byte
	want := [][]byte{flight[:6], flight[6:51], flight[51:], big}
	for i, w := range want {
		rec, err := ReadRecord(a, &buf)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(rec, w) {
			t.Fatalf("record %d differs from the one sent", i)
		}
		if i == 2 && r.reads != 1 {
			t.Errorf("a flight of three records took %d reads, want 1", r.reads)
		}
	}
	// The big record: one read fills the buffer with its header and the
	// start of its body, one more reads the rest straight into buf.
	if r.reads != 3 {
		t.Errorf("%d reads in all, want 3", r.reads)
	}
	if a.Buffered() != 0 || a.buf != nil {
		t.Errorf("after the last record %d bytes buffered (buffer held: %v), want none", a.Buffered(), a.buf != nil)
	}
	if _, err := ReadRecord(a, &buf); err != io.EOF {
		t.Fatalf("after the last record: got %v, want io.EOF", err)
	}
}

// TestReadAheadResumesAfterTimeout is TestReadRecordResumesAfterTimeout
// through a ReadAhead: a deadline that passes inside a record loses
// nothing, whether the record's bytes wait in the ReadAhead or in buf.
func TestReadAheadResumesAfterTimeout(t *testing.T) {
	first := append(header(ApplicationData, 0x0303, 600), bytes.Repeat([]byte{0xaa}, 600)...)
	second := append(header(Handshake, 0x0303, 3), 1, 2, 3)
	big := append(header(ApplicationData, 0x0303, 3*ReadAheadSize), bytes.Repeat([]byte{0xbb}, 3*ReadAheadSize)...)
	stream := append(append(append([]byte(nil), first...), second...), big...)
	records := [][]byte{first, second, big}
	for _, cuts := range [][]int{{2}, {5}, {7}, {3, 300}, {5, 6, 605}, {605, 607}, {613, 620, 5000}, {1, 2, 3, 4, 5, 6, 7, 8}} {
		var pieces [][]byte
		last := 0
		for _, c := range cuts {
			pieces = append(pieces, stream[last:c])
			last = c
		}
		pieces = append(pieces, stream[last:])
		a := &ReadAhead{R: &gappyReader{pieces: pieces}}
		var buf []byte
		var got [][]byte
		for timeouts := 0; len(got) < len(records); {
			rec, err := ReadRecord(a, &buf)
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
		for i := range records {
			if !bytes.Equal(got[i], records[i]) {
				t.Errorf("cuts %v: record %d differs from the one sent", cuts, i)
			}
		}
		if _, err := ReadRecord(a, &buf); err != io.EOF {
			t.Errorf("cuts %v: after the last record got %v, want io.EOF", cuts, err)
		}
	}
}

// badCountReader claims to have read n bytes whatever it was given.
type badCountReader struct{ n int }

func (b badCountReader) Read(p []byte) (int, error) { return b.n, nil }

// TestReadAheadInvalidCount: a transport that reports a byte count
// outside its buffer is an error, never a panic or bytes from nowhere.
func TestReadAheadInvalidCount(t *testing.T) {
	for _, n := range []int{-1, ReadAheadSize + 1, 1 << 20} {
		a := &ReadAhead{R: badCountReader{n}}
		var buf []byte
		if _, err := ReadRecord(a, &buf); !errors.Is(err, errInvalidCount) {
			t.Errorf("count %d: got %v, want %v", n, err, errInvalidCount)
		}
		// The same for a read large enough to go to the transport directly.
		if _, err := a.Read(make([]byte, ReadAheadSize)); !errors.Is(err, errInvalidCount) {
			t.Errorf("count %d, direct read: got %v, want %v", n, err, errInvalidCount)
		}
	}
}

// TestReadAheadDataThenError: a transport that returns its last bytes
// together with an error gets both to the caller, the bytes first.
func TestReadAheadDataThenError(t *testing.T) {
	rec := append(header(Handshake, 0x0303, 3), 1, 2, 3)
	a := &ReadAhead{R: iotest.DataErrReader(bytes.NewReader(rec))}
	var buf []byte
	got, err := ReadRecord(a, &buf)
	if err != nil || !bytes.Equal(got, rec) {
		t.Fatalf("got %x, %v; want the record", got, err)
	}
	if _, err := ReadRecord(a, &buf); err != io.EOF {
		t.Fatalf("after the record: got %v, want io.EOF", err)
	}
}

// FuzzReadAhead: records read through a ReadAhead, from a stream cut into
// arbitrary segments, are the records read from the stream directly.
func FuzzReadAhead(f *testing.F) {
	hello := append(header(Handshake, 0x0301, 4), 1, 0, 0, 0)
	f.Add(hello, []byte{3})
	f.Add(append(append(hello, header(ChangeCipherSpec, 0x0303, 1)...), 1), []byte{0, 7, 1})
	f.Add(append(header(ApplicationData, 0x0303, 5000), make([]byte, 5000)...), []byte{200, 9})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		var direct [][]byte
		r := bytes.NewReader(stream)
		var buf []byte
		for {
			rec, err := ReadRecord(r, &buf)
			if err != nil {
				break
			}
			direct = append(direct, append([]byte(nil), rec...))
		}
		// Segment sizes from cuts, in units of 32 bytes so that large
		// records are cut too; 0 means one byte.
		var segments [][]byte
		for rest := stream; len(rest) > 0; {
			n := 1
			if len(cuts) > 0 {
				n = max(1, int(cuts[0])*32)
				cuts = cuts[1:]
			}
			n = min(n, len(rest))
			segments = append(segments, rest[:n])
			rest = rest[n:]
		}
		a := &ReadAhead{R: &segmentReader{segments: segments}}
		buf = nil
		for i := 0; ; i++ {
			rec, err := ReadRecord(a, &buf)
			if err != nil {
				if i != len(direct) {
					t.Fatalf("read-ahead stopped after %d records (%v), direct reading after %d", i, err, len(direct))
				}
				return
			}
			if i >= len(direct) || !bytes.Equal(rec, direct[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
	})
}
