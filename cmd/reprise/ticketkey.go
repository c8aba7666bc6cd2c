package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/reprise-tls/reprise"
)

const (
	ticketKeyNewUsage    = "ticketkey new [--bits 128|256] [--format nginx|haproxy|envoy] [--out FILE]"
	ticketKeyDeriveUsage = "ticketkey derive --secret FILE [--at TIME] [--period DURATION] [--format nginx|haproxy|envoy] [--out FILE]"
)

func runTicketKey(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "derive" {
		return runTicketKeyDerive(args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "new" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stdout, "usage: reprise %s\n       reprise %s\n", ticketKeyNewUsage, ticketKeyDeriveUsage)
			return nil
		}
		return usageErrorf("want \"%s\" or \"%s\"", ticketKeyNewUsage, ticketKeyDeriveUsage)
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
	format, err := parseWriteFormat(*formatName, *out, stdout)
	if err != nil {
		return err
	}
	if format == reprise.TicketKeyFormatEnvoy && *bits != 256 {
		return usageErrorf("--format envoy: Envoy keys are 80 bytes, want --bits 256")
	}
	data, err := reprise.NewTicketKeyFile(nil, *bits, format)
	if err != nil {
		return err
	}
	return writeKeyFile(*out, data, stdout)
}

// runTicketKeyDerive writes the key file of one period of a fleet's
// derived ticket keys (see reprise.NewDerivedTicketKeys): what every
// `reprise serve --ticket-secret` node of the fleet seals with at that
// time, for nginx or HAProxy nodes to share.
func runTicketKeyDerive(args []string, stdout io.Writer) error {
	fs := newFlagSet("ticketkey derive")
	secretFile := fs.String("secret", "", "fleet secret file: one line of base64, at least 32 bytes (head -c 32 /dev/urandom | base64)")
	atText := fs.String("at", "", "time whose period's key to write: RFC 3339 (2026-01-02T15:04:05Z) or @UNIX-SECONDS; default now")
	period := fs.Duration("period", 0, "key period, as given to reprise serve --ticket-period (default 12h)")
	formatName := fs.String("format", "nginx", "file format: nginx (the period's key, binary) or haproxy (previous, current and next keys, base64 lines)")
	out := fs.String("out", "", "file to write (mode 0600); default stdout, which nginx's binary format refuses when it is a terminal")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("unexpected argument %q", pos[0])
	}
	if *secretFile == "" {
		return usageErrorf("--secret FILE is required")
	}
	at := time.Now()
	if *atText != "" {
		if at, err = parseTime(*atText); err != nil {
			return usageErrorf("--at %q: %v", *atText, err)
		}
	}
	format, err := parseWriteFormat(*formatName, *out, stdout)
	if err != nil {
		return err
	}
	secret, err := reprise.LoadFleetSecret(*secretFile)
	if err != nil {
		return err
	}
	data, err := reprise.DerivedTicketKeyFile(secret, *period, at, format)
	if err != nil {
		return err
	}
	return writeKeyFile(*out, data, stdout)
}

// parseTime reads RFC 3339 or @UNIX-SECONDS.
func parseTime(s string) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		secs, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("want @UNIX-SECONDS")
		}
		return time.Unix(secs, 0), nil
	}
	return time.Parse(time.RFC3339, s)
}

func parseWriteFormat(name, out string, stdout io.Writer) (reprise.TicketKeyFormat, error) {
	var format reprise.TicketKeyFormat
	switch strings.ToLower(name) {
	case "nginx":
		format = reprise.TicketKeyFormatNginx
	case "haproxy":
		format = reprise.TicketKeyFormatHAProxy
	case "envoy":
		format = reprise.TicketKeyFormatEnvoy
	default:
		return 0, usageErrorf("--format %q: want nginx, haproxy or envoy", name)
	}
	if out == "" && format != reprise.TicketKeyFormatHAProxy && isTerminal(stdout) {
		// Binary key bytes would garble the terminal and leave the secret
		// in its scrollback.
		return 0, usageErrorf("an %s key file is binary: write it with --out FILE or redirect stdout", strings.ToLower(name))
	}
	return format, nil
}

func writeKeyFile(out string, data []byte, stdout io.Writer) error {
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	return writeSecretFile(out, data)
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
