package reprise

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// memPipe returns two connected in-memory net.Conns with unbounded buffers,
// so both sides can write a whole flight without the other reading (unlike
// net.Pipe). Tests and benchmarks use it for reprise and crypto/tls alike.
func memPipe() (net.Conn, net.Conn) {
	a2b, b2a := newMemBuf(), newMemBuf()
	return &memConn{r: b2a, w: a2b}, &memConn{r: a2b, w: b2a}
}

type memBuf struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func newMemBuf() *memBuf {
	b := &memBuf{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

type memConn struct {
	r, w     *memBuf
	deadline time.Time
}

func (c *memConn) Read(p []byte) (int, error) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	for len(c.r.buf) == 0 {
		if c.r.closed {
			return 0, io.EOF
		}
		if !c.deadline.IsZero() && time.Now().After(c.deadline) {
			return 0, os.ErrDeadlineExceeded
		}
		c.r.cond.Wait()
	}
	n := copy(p, c.r.buf)
	c.r.buf = c.r.buf[n:]
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.w.closed {
		return 0, io.ErrClosedPipe
	}
	c.w.buf = append(c.w.buf, p...)
	c.w.cond.Broadcast()
	return len(p), nil
}

func (c *memConn) Close() error {
	for _, b := range []*memBuf{c.r, c.w} {
		b.mu.Lock()
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
	}
	return nil
}

func (c *memConn) LocalAddr() net.Addr                { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr               { return memAddr{} }
func (c *memConn) SetDeadline(t time.Time) error      { c.deadline = t; return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { c.deadline = t; return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem:0" }
