package reprise

import (
	"net"
	"syscall"
)

// writeBeforeClose writes b, the last bytes before the connection is
// closed, asking the kernel to hold them for more (MSG_MORE) where conn is
// a socket. The close that follows then sends its FIN in the same segment
// (Linux adds the FIN to a segment still queued), so Close's close_notify
// costs the two ends one segment rather than two. Anything that is not a
// socket gets a plain Write.
func writeBeforeClose(conn net.Conn, b []byte) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		_, err := conn.Write(b)
		return err
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		_, err := conn.Write(b)
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(b) > 0 {
			var n int
			n, werr = syscall.SendmsgN(int(fd), b, nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
			switch werr {
			case nil:
				b = b[n:]
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait until writable, within the deadline
			default:
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}
