package main

import (
	"bufio"
	"bytes"
	"net"
	"testing"
)

// ftpReplies are real vsftpd 3.0.3 replies, the fuzz seeds.
var ftpReplies = []string{
	"220 (vsFTPd 3.0.3)\r\n",
	"234 Proceed with negotiation.\r\n",
	"227 Entering Passive Mode (127,0,0,1,117,48).\r\n",
	"522 SSL connection failed: session reuse required\r\n",
	"211-Features:\r\n EPRT\r\n EPSV\r\n PBSZ\r\n PROT\r\n211 End\r\n",
	"226 Directory send OK.\r\n",
}

// FuzzFTPReply: a server's replies never panic the reader, and whatever
// parses has a valid code; a PASV reply yields a port or an error.
func FuzzFTPReply(f *testing.F) {
	for _, r := range ftpReplies {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		ctrl := &ftpControl{conn: a, r: bufio.NewReaderSize(bytes.NewReader(data), ftpMaxLine)}
		for range 4 {
			code, msg, err := ctrl.read()
			if err != nil {
				break
			}
			if code < 100 || code > 599 {
				t.Fatalf("code %d", code)
			}
			if port, err := pasvPort(msg); err == nil && (port <= 0 || port > 65535) {
				t.Fatalf("port %d from %q", port, msg)
			}
		}
	})
}

func TestPASVPort(t *testing.T) {
	for msg, want := range map[string]int{
		"Entering Passive Mode (127,0,0,1,117,48).": 30000,
		"Entering Passive Mode (127,0,0,1,0,0).":    -1,
		"Entering Passive Mode (127,0,0,1,256,1).":  -1,
		"Entering Passive Mode (1,2,3,4,5).":        -1,
		"no parentheses":                            -1,
	} {
		got, err := pasvPort(msg)
		if (err != nil) != (want < 0) || (err == nil && got != want) {
			t.Errorf("pasvPort(%q) = %d, %v; want %d", msg, got, err, want)
		}
	}
}
