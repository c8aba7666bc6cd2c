// Command reprise is TLS 1.2 and 1.3 session resumption, from the command
// line: a test server that explains every handshake (serve), a client that
// resumes and says how or why not (connect), ticket key files that nginx and
// HAProxy also read (ticketkey), a tour of every resumption path (demo), and
// a diagnosis of how a server resumes and why not (probe).
//
// The names, flags and JSON fields are a contract that scripts rely on:
// change none of them. Every failure is one line
// "reprise: ..." on stderr and a non-zero exit status: 1 for a failure at run
// time, 2 for bad usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `reprise: TLS 1.2 and 1.3 built around session resumption

usage:
  reprise serve   [--addr 127.0.0.1:4433] [--cert F --key F] [--min-version 1.2] [--max-version 1.3]
                  [--ciphers LIST] [--groups LIST] [--alpn LIST]
                  [--session-cache on|off] [--session-timeout 5m] [--session-id-context S]
                  [--tickets on|off|single-use] [--ticket-keys FILE] [--ticket-key-format auto|nginx|haproxy|envoy]
                  [--ticket-secret FILE [--ticket-period 12h]] [--ticket-format reprise|openssl]
                  [--store memory|redis://HOST:PORT/DB|bolt:PATH] [--verify-client none|request|require] [--client-ca F]
                  [--www | --echo] [--metrics ADDR] [--keylog F] [--json]
  reprise connect HOST:PORT [--servername N] [--insecure] [--ca F] [--cert F --key F]
                  [--min-version V] [--max-version V] [--ciphers LIST] [--groups LIST] [--alpn LIST]
                  [--starttls ftp] [--reconnect N] [--no-ticket] [--sess-out F] [--sess-in F] [--sess-format reprise|openssl]
                  [--send TEXT] [--trace] [--keylog F] [--json]
  reprise probe   HOST:PORT [--servername N] [--starttls ftp [--ftp-login USER:PASS]] [--max-version V] [--json]
  reprise ticketkey new [--bits 128|256] [--format nginx|haproxy|envoy] [--out FILE]
  reprise ticketkey derive --secret FILE [--at TIME] [--period 12h] [--format nginx|haproxy|envoy] [--out FILE]
  reprise demo
  reprise version
  reprise bench   HOST:PORT [--mode full|resume] [--duration 10s] [--concurrency N] [--max-version V] [--json]

Run "reprise COMMAND -h" for a command's flags.
`

// usageError is bad input on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status, so tests
// can call it too.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve":
		err = runServe(rest, stdout, stderr)
	case "connect":
		err = runConnect(rest, stdout, stderr)
	case "ticketkey":
		err = runTicketKey(rest, stdout, stderr)
	case "demo":
		err = runDemo(rest, stdout, stderr)
	case "bench":
		err = runBench(rest, stdout, stderr)
	case "version", "--version":
		err = runVersion(rest, stdout, stderr)
	case "probe":
		err = runProbe(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "reprise: unknown command %q (try \"reprise help\")\n", cmd)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errReported):
		return 1
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "reprise: %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "reprise: %s: %v\n", args[0], err)
	return 1
}

// errReported means the failure has already been printed.
var errReported = errors.New("reported")
