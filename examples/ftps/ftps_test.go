package main

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzReply: the example's reply reader never panics on what a server
// sends, and what parses has a valid code.
func FuzzReply(f *testing.F) {
	for _, r := range []string{
		"220 (vsFTPd 3.0.3)\r\n",
		"227 Entering Passive Mode (127,0,0,1,117,48).\r\n",
		"522 SSL connection failed: session reuse required\r\n",
		"211-Features:\r\n EPRT\r\n PBSZ\r\n211 End\r\n",
	} {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &client{r: bufio.NewReaderSize(bytes.NewReader(data), maxLine), host: "127.0.0.1"}
		for range 4 {
			code, _, err := c.read()
			if err != nil {
				return
			}
			if code < 100 || code > 599 {
				t.Fatalf("code %d", code)
			}
		}
	})
}
