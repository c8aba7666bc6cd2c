package reprise

import (
	"net"
	"sync"
	"syscall"
)

// writeBeforeClose writes b, the last bytes before the connection is
// closed, asking the kernel to hold them for more (MSG_MORE) where conn is
// a TCP socket. The close that follows then sends its FIN in the same
// segment (Linux adds the FIN to a segment still queued), so Close's
// close_notify costs the two ends one segment rather than two. Anything
// else, wrappers of TCP connections included, gets a plain Write: MSG_MORE
// means something else on other sockets (it corks a UDP datagram) and
// fails on what is not a socket.
func writeBeforeClose(conn net.Conn, b []byte) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		_, err := conn.Write(b)
		return err
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		_, err := conn.Write(b)
		return err
	}
	w := heldWriters.Get().(*heldWriter)
	w.b, w.err = b, nil
	if err = rc.Write(w.write); err == nil {
		err = w.err
	}
	w.b = nil
	heldWriters.Put(w)
	return err
}

// heldWriter is the state of one writeBeforeClose. They are pooled, each
// with its method value made once, because RawConn.Write's function
// escapes: a closure would cost allocations on every Close.
type heldWriter struct {
	b     []byte
	err   error
	write func(fd uintptr) bool // (*heldWriter).send, bound once
}

var heldWriters = sync.Pool{New: func() any {
	w := new(heldWriter)
	w.write = w.send
	return w
}}

// send is RawConn.Write's function: false asks it to wait until the
// socket is writable (within the write deadline) and call again.
func (w *heldWriter) send(fd uintptr) bool {
	for len(w.b) > 0 {
		n, err := syscall.SendmsgN(int(fd), w.b, nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
		switch err {
		case nil:
			w.b = w.b[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			w.err = err
			return true
		}
	}
	return true
}
