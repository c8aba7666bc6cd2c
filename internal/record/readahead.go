package record

import (
	"errors"
	"io"
	"sync"
)

// ReadAheadSize is the buffer a ReadAhead reads into: larger than any
// ClientHello seen in practice (post-quantum key shares included), so that
// a client's whole flight arrives in one read, and small enough that a
// connection blocked in Read, which holds one, costs little.
const ReadAheadSize = 4 << 10

// readAheadBufs holds the buffers of ReadAheads that have nothing buffered,
// so that a connection between reads holds none and a busy server
// allocates none per connection.
var readAheadBufs = sync.Pool{New: func() any { return new([ReadAheadSize]byte) }}

// ReadAhead is an io.Reader over R that takes from R as much as R has, up
// to ReadAheadSize bytes, in each read and hands it out in whatever pieces
// its caller asks for. ReadRecord asks for the 5-byte header and then the
// fragment; through a ReadAhead, a record, or a whole flight of records,
// that has arrived costs one read system call instead of two per record.
//
// A read of at least ReadAheadSize bytes with nothing buffered goes to R
// directly, so large records are not copied twice. An error from R is
// returned once what was read before it has been handed out, and R is
// asked again on the next call: a read deadline that passes loses nothing.
// Bytes read ahead belong to the ReadAhead: reading R directly afterwards
// misses them. The zero value with R set is ready to use; it is not safe
// for concurrent use.
type ReadAhead struct {
	R io.Reader

	buf  *[ReadAheadSize]byte // nil while nothing is buffered
	r, w int                  // buf[r:w] is what has not been handed out
	err  error                // R's error, returned once buf is drained
}

var errInvalidCount = errors.New("tls: transport returned an invalid byte count")

// Read implements io.Reader.
func (a *ReadAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if a.r == a.w {
		if err := a.err; err != nil {
			a.err = nil
			return 0, err
		}
		if len(p) >= ReadAheadSize {
			n, err := a.R.Read(p)
			if n < 0 || n > len(p) {
				return 0, errInvalidCount
			}
			return n, err
		}
		if a.buf == nil {
			a.buf = readAheadBufs.Get().(*[ReadAheadSize]byte)
		}
		n, err := a.R.Read(a.buf[:])
		if n < 0 || n > len(a.buf) {
			a.release()
			return 0, errInvalidCount
		}
		if n == 0 {
			a.release()
			return 0, err
		}
		a.r, a.w, a.err = 0, n, err
	}
	n := copy(p, a.buf[a.r:a.w])
	a.r += n
	if a.r == a.w {
		a.release()
	}
	return n, nil
}

// Buffered returns how many bytes have been read from R and not yet
// handed out.
func (a *ReadAhead) Buffered() int { return a.w - a.r }

// release gives the empty buffer back to the pool.
func (a *ReadAhead) release() {
	if a.buf != nil {
		readAheadBufs.Put(a.buf)
		a.buf = nil
	}
	a.r, a.w = 0, 0
}
