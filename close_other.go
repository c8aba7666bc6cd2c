//go:build !linux

package reprise

import "net"

// writeBeforeClose writes b, the last bytes before the connection is
// closed (close_linux.go holds them for the FIN where it can).
func writeBeforeClose(conn net.Conn, b []byte) error {
	_, err := conn.Write(b)
	return err
}
