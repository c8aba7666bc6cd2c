package reprise

import (
	"bytes"
	"net"
	"testing"
)

// TestHandshakeMessagesKeepTheirBytes: handshake messages read from
// records share an array with the records that follow them
// (bufferHandshake, readHandshakeMsg), so a message returned earlier must
// keep its bytes while later records are buffered after it, including a
// message that spans records, and appending to it must not reach them.
func TestHandshakeMessagesKeepTheirBytes(t *testing.T) {
	msg := func(typ byte, body ...byte) []byte {
		return append([]byte{typ, 0, 0, byte(len(body))}, body...)
	}
	record := func(data []byte) []byte {
		return append([]byte{22, 3, 3, 0, byte(len(data))}, data...)
	}
	a := msg(1, bytes.Repeat([]byte{0xaa}, 10)...)
	b := msg(2, bytes.Repeat([]byte{0xbb}, 8)...)
	c := msg(11, bytes.Repeat([]byte{0xcc}, 40)...)
	records := [][]byte{record(a), record(append(append([]byte{}, b...), c[:20]...)), record(c[20:])}

	client, server := net.Pipe()
	defer client.Close()
	go func() {
		for _, r := range records {
			if _, err := client.Write(r); err != nil {
				return
			}
		}
	}()
	conn := Server(server, testServerConfig(t))
	defer conn.Close()

	var got [][]byte
	for _, want := range [][]byte{a, b, c} {
		m, err := conn.readHandshakeMsg()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m, want) {
			t.Fatalf("read %x, want %x", m, want)
		}
		if cap(m) != len(m) {
			t.Errorf("message of %d bytes has capacity %d", len(m), cap(m))
		}
		got = append(got, m)
	}
	_ = append(got[0], 0xff, 0xff, 0xff, 0xff)
	for i, want := range [][]byte{a, b, c} {
		if !bytes.Equal(got[i], want) {
			t.Errorf("message %d became %x, want %x", i, got[i], want)
		}
	}
}
