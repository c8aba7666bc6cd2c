package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reprise-tls/reprise"
)

func runTicketKey(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "new" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "usage: reprise ticketkey new [--bits 128|256] [--format nginx|haproxy|envoy] [--out FILE]")
			return nil
		}
		return usageErrorf("want \"ticketkey new [--bits 128|256] [--format nginx|haproxy|envoy] [--out FILE]\"")
	}
	fs := newFlagSet("ticketkey new")
	bits := fs.Int("bits", 256, "key size: 128 (AES-128, 48-byte record) or 256 (AES-256, 80-byte record)")
	formatName := fs.String("format", "nginx", "file format: nginx (one binary key), haproxy (three base64 lines) or envoy (one 80-byte key, the same bytes as nginx's)")
	out := fs.String("out", "", "file to write (mode 0600); default stdout, which nginx's binary format refuses when it is a terminal")
	pos, err := parseFlags(fs, args[1:], stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if *bits != 128 && *bits != 256 {
		return usageErrorf("--bits %d: want 128 or 256", *bits)
	}
	var format reprise.TicketKeyFormat
	switch strings.ToLower(*formatName) {
	case "nginx":
		format = reprise.TicketKeyFormatNginx
	case "haproxy":
		format = reprise.TicketKeyFormatHAProxy
	case "envoy":
		format = reprise.TicketKeyFormatEnvoy
		if *bits != 256 {
			return usageErrorf("--format envoy: Envoy keys are 80 bytes, want --bits 256")
		}
	default:
		return usageErrorf("--format %q: want nginx, haproxy or envoy", *formatName)
	}
	if *out == "" && format != reprise.TicketKeyFormatHAProxy && isTerminal(stdout) {
		// Binary key bytes would garble the terminal and leave the secret
		// in its scrollback.
		return usageErrorf("an %s key file is binary: write it with --out FILE or redirect stdout", strings.ToLower(*formatName))
	}
	data, err := reprise.NewTicketKeyFile(nil, *bits, format)
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(data)
		return err
	}
	return writeSecretFile(*out, data)
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
