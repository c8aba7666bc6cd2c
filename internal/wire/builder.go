package wire

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Builder appends the encodings of RFC 8446, Section 3 (big-endian
// integers, vectors with a length prefix of one to three bytes) to one
// buffer. It has the methods of cryptobyte.Builder that the encoders here
// use, with one difference: the contents of a length-prefixed vector are
// written through the same Builder, not a child one, and the length is
// filled in when the continuation returns. cryptobyte allocates a child
// Builder for every length prefix, which was a sixth of the allocations of
// a resumed handshake; building a message here allocates its buffer and
// the Builder, nothing else.
//
// The first error (a vector longer than its prefix allows, or one set
// with SetError) is kept and every later call does nothing; Bytes
// returns it.
type Builder struct {
	buf   []byte
	err   error
	fixed bool // never grow buf: NewFixedBuilder
}

// NewBuilder returns a Builder that appends to buf, growing it as needed.
func NewBuilder(buf []byte) *Builder { return &Builder{buf: buf} }

// NewFixedBuilder returns a Builder that appends to buf and fails rather
// than grow it, for encodings that hold secrets: growing would leave a
// copy of what was written so far in the old array, beyond the reach of
// whoever wipes the result.
func NewFixedBuilder(buf []byte) *Builder { return &Builder{buf: buf, fixed: true} }

var errBuilderFull = errors.New("wire: fixed-size Builder is full")

// room reports whether n more bytes may be written.
func (b *Builder) room(n int) bool {
	if b.err != nil {
		return false
	}
	if b.fixed && cap(b.buf)-len(b.buf) < n {
		b.err = errBuilderFull
		return false
	}
	return true
}

// newBuilder returns a Builder with room for size bytes, so that building a
// message of about that size does not grow the buffer step by step.
func newBuilder(size int) *Builder { return NewBuilder(make([]byte, 0, size)) }

// Bytes returns the bytes written, or the first error.
func (b *Builder) Bytes() ([]byte, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.buf, nil
}

// BytesOrPanic returns the bytes written and panics on an error. Only for
// encodings whose lengths are fixed by the code that builds them.
func (b *Builder) BytesOrPanic() []byte {
	if b.err != nil {
		panic(b.err)
	}
	return b.buf
}

// SetError makes Bytes fail with err, unless an error is already set.
func (b *Builder) SetError(err error) {
	if b.err == nil {
		b.err = err
	}
}

// AddUint8 appends v.
func (b *Builder) AddUint8(v uint8) {
	if b.room(1) {
		b.buf = append(b.buf, v)
	}
}

// AddUint16 appends v, big-endian.
func (b *Builder) AddUint16(v uint16) {
	if b.room(2) {
		b.buf = binary.BigEndian.AppendUint16(b.buf, v)
	}
}

// AddUint24 appends the low 24 bits of v, big-endian.
func (b *Builder) AddUint24(v uint32) {
	if b.room(3) {
		b.buf = append(b.buf, byte(v>>16), byte(v>>8), byte(v))
	}
}

// AddUint32 appends v, big-endian.
func (b *Builder) AddUint32(v uint32) {
	if b.room(4) {
		b.buf = binary.BigEndian.AppendUint32(b.buf, v)
	}
}

// AddUint64 appends v, big-endian.
func (b *Builder) AddUint64(v uint64) {
	if b.room(8) {
		b.buf = binary.BigEndian.AppendUint64(b.buf, v)
	}
}

// AddBytes appends v as it is.
func (b *Builder) AddBytes(v []byte) {
	if b.room(len(v)) {
		b.buf = append(b.buf, v...)
	}
}

// AddUint8LengthPrefixed appends a vector with a 1-byte length whose
// contents f writes.
func (b *Builder) AddUint8LengthPrefixed(f func(*Builder)) { b.addLengthPrefixed(1, f) }

// AddUint16LengthPrefixed appends a vector with a 2-byte length whose
// contents f writes.
func (b *Builder) AddUint16LengthPrefixed(f func(*Builder)) { b.addLengthPrefixed(2, f) }

// AddUint24LengthPrefixed appends a vector with a 3-byte length whose
// contents f writes.
func (b *Builder) AddUint24LengthPrefixed(f func(*Builder)) { b.addLengthPrefixed(3, f) }

// AddOptionalUint16LengthPrefixed is AddUint16LengthPrefixed, except that
// the vector, length and all, is left out when f writes nothing: the
// optional extensions block of a hello (RFC 5246, Sections 7.4.1.2 and
// 7.4.1.3).
func (b *Builder) AddOptionalUint16LengthPrefixed(f func(*Builder)) {
	start := len(b.buf)
	b.addLengthPrefixed(2, f)
	if b.err == nil && len(b.buf) == start+2 {
		b.buf = b.buf[:start]
	}
}

func (b *Builder) addLengthPrefixed(prefixLen int, f func(*Builder)) {
	if !b.room(prefixLen) {
		return
	}
	start := len(b.buf)
	b.buf = append(b.buf, 0, 0, 0)[:start+prefixLen]
	f(b)
	if b.err != nil {
		return
	}
	n := len(b.buf) - start - prefixLen
	if n >= 1<<(8*prefixLen) {
		b.err = errors.New("wire: vector of " + strconv.Itoa(n) + " bytes exceeds its " +
			strconv.Itoa(prefixLen) + "-byte length prefix")
		return
	}
	for i := prefixLen - 1; i >= 0; i-- {
		b.buf[start+i] = byte(n)
		n >>= 8
	}
}
