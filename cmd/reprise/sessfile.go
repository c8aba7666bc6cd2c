package main

import (
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reprise-tls/reprise"
)

// maxSessionFile bounds what --sess-in reads: a session with a ticket and
// a certificate is a few kilobytes; a wrong path must not be read whole.
const maxSessionFile = 1 << 20

// readSessionFile reads a session for --sess-in: reprise's own PEM
// ("REPRISE SESSION") or OpenSSL's ("SSL SESSION PARAMETERS", from
// `openssl s_client -sess_out`), of either TLS version. serverName is the
// name the connection uses: OpenSSL's file records one only when the
// server acknowledged SNI, and reprise offers a TLS 1.3 session only for
// the name it was made for.
func readSessionFile(path, serverName string) (*reprise.Session, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSessionFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSessionFile {
		return nil, fmt.Errorf("larger than %d bytes; is this a session file?", maxSessionFile)
	}
	if b, _ := pem.Decode(data); b != nil && b.Type == reprise.PEMOpenSSLSessionType {
		return reprise.UnmarshalOpenSSLSession(b.Bytes, serverName)
	}
	return reprise.ParseSessionPEM(data)
}

// sessionFileFormats are --sess-format's values.
const (
	sessFormatReprise = "reprise"
	sessFormatOpenSSL = "openssl"
)

func checkSessFormat(format string) error {
	switch strings.ToLower(format) {
	case sessFormatReprise, sessFormatOpenSSL:
		return nil
	}
	return usageErrorf("--sess-format %q: want reprise or openssl", format)
}

// writeSessionFile writes s for --sess-out, mode 0600 (it holds the
// session's secret): in reprise's PEM, or in OpenSSL's, which `openssl
// s_client -sess_in` resumes with and `openssl sess_id -text` prints.
func writeSessionFile(path string, s *reprise.Session, format string) error {
	var data []byte
	var err error
	if strings.ToLower(format) == sessFormatOpenSSL {
		data, err = s.MarshalOpenSSLPEM()
	} else {
		data, err = s.MarshalPEM()
	}
	if err != nil {
		return err
	}
	return writeSecretFile(path, data)
}

// applyTicketFormat sets serve's --ticket-format. Minting OpenSSL's
// format is for a fleet shared with nginx, which binds tickets to its
// session ID context; so unless --session-id-context says otherwise, the
// context becomes nginx's for the certificate served, and is printed.
func (o *serveOptions) applyTicketFormat(cfg *reprise.Config, info io.Writer) error {
	switch strings.ToLower(o.ticketFormat) {
	case "", "reprise":
		cfg.TicketFormat = reprise.TicketFormatReprise
		return nil
	case "openssl":
		cfg.TicketFormat = reprise.TicketFormatOpenSSL
	default:
		return usageErrorf("--ticket-format %q: want reprise or openssl", o.ticketFormat)
	}
	if o.sessionIDContext != "" {
		return nil
	}
	var leaves [][]byte
	for _, c := range cfg.Certificates {
		switch {
		case c.Leaf != nil:
			leaves = append(leaves, c.Leaf.Raw)
		case len(c.Certificate) > 0:
			leaves = append(leaves, c.Certificate[0])
		}
	}
	cfg.SessionIDContext = reprise.NginxSessionIDContext(leaves...)
	fmt.Fprintf(info, "tickets in OpenSSL's format; session ID context %x, nginx's for this certificate\n", cfg.SessionIDContext)
	return nil
}
