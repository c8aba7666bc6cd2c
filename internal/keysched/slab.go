package keysched

// slab hands out pieces of one allocation: the values a handshake derives
// one after another (transcript hashes, a stage's secrets, the two TLS 1.2
// Finished) then cost one allocation instead of one each. Each piece is
// capped at its length, and a slab never hands out the same bytes twice, so
// a piece behaves like a fresh slice owned by the caller; it only keeps the
// rest of its allocation alive.
type slab []byte

// take returns n zero bytes from s, making room for perAlloc pieces of n
// bytes first when fewer than n are left.
func (s *slab) take(n, perAlloc int) []byte {
	if len(*s) < n {
		*s = make([]byte, n*perAlloc)
	}
	piece := (*s)[:n:n]
	*s = (*s)[n:]
	return piece
}
