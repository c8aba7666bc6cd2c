package reprise

import "bytes"

// taggedID is a session ID of the shape the server issues (store_guard.go)
// whose random part is b repeated.
func taggedID(b byte) []byte {
	id := append(bytes.Repeat([]byte{b}, sessionIDLen-sessionIDTagLen), make([]byte, sessionIDTagLen)...)
	tag := sessionIDTag(id[:sessionIDLen-sessionIDTagLen])
	copy(id[sessionIDLen-sessionIDTagLen:], tag[:])
	return id
}
