package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/reprise-tls/reprise"
)

// newFlagSet makes a subcommand's flag set. Package flag would print its
// error and the whole usage on a bad flag; the contract is one line, so
// errors are returned instead and the usage is shown only for -h.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args and returns the positional arguments. Unlike
// FlagSet.Parse it accepts flags after positional ones, because the
// contract writes `reprise connect HOST:PORT --json`.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fmt.Fprintf(stdout, "usage of reprise %s:\n", fs.Name())
				fs.PrintDefaults()
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// tlsOptions are the flags serve and connect share.
type tlsOptions struct {
	minVersion, maxVersion string
	ciphers, groups, alpn  string
	certFile, keyFile      string
	keylog                 string
}

func (o *tlsOptions) register(fs *flag.FlagSet, defaultMax string) {
	fs.StringVar(&o.minVersion, "min-version", "1.2", "lowest protocol version: 1.2 or 1.3")
	fs.StringVar(&o.maxVersion, "max-version", defaultMax, "highest protocol version: 1.2 or 1.3")
	fs.StringVar(&o.ciphers, "ciphers", "", "comma-separated IANA cipher suite names, in preference order")
	fs.StringVar(&o.groups, "groups", "", "comma-separated key exchange groups: x25519, p256, p384, x25519mlkem768")
	fs.StringVar(&o.alpn, "alpn", "", "comma-separated ALPN protocols, in preference order")
	fs.StringVar(&o.certFile, "cert", "", "PEM certificate chain file")
	fs.StringVar(&o.keyFile, "key", "", "PEM private key file")
	fs.StringVar(&o.keylog, "keylog", "", "append TLS secrets to this file in NSS key log format (for Wireshark)")
}

// apply fills cfg from the options. It returns a function that closes
// the key log file.
func (o *tlsOptions) apply(cfg *reprise.Config) (closeKeyLog func(), err error) {
	closeKeyLog = func() {}
	if cfg.MinVersion, err = parseVersion("min-version", o.minVersion); err != nil {
		return closeKeyLog, err
	}
	if cfg.MaxVersion, err = parseVersion("max-version", o.maxVersion); err != nil {
		return closeKeyLog, err
	}
	if cfg.MinVersion > cfg.MaxVersion {
		return closeKeyLog, usageErrorf("--min-version %s is above --max-version %s", o.minVersion, o.maxVersion)
	}
	if cfg.CipherSuites, err = parseCiphers(o.ciphers); err != nil {
		return closeKeyLog, err
	}
	if cfg.CurvePreferences, err = parseGroups(o.groups); err != nil {
		return closeKeyLog, err
	}
	cfg.NextProtos = splitList(o.alpn)
	for _, p := range cfg.NextProtos {
		if len(p) > 255 {
			return closeKeyLog, usageErrorf("--alpn: protocol %.20q... is longer than 255 bytes", p)
		}
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return closeKeyLog, usageErrorf("--cert and --key go together")
	}
	if o.certFile != "" {
		cert, err := reprise.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return closeKeyLog, fmt.Errorf("loading --cert %s / --key %s: %w", o.certFile, o.keyFile, err)
		}
		cfg.Certificates = []reprise.Certificate{cert}
	}
	if o.keylog != "" {
		f, err := os.OpenFile(o.keylog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return closeKeyLog, fmt.Errorf("--keylog: %w", err)
		}
		cfg.KeyLogWriter = f
		closeKeyLog = func() { f.Close() }
	}
	return closeKeyLog, nil
}

func parseVersion(flagName, v string) (uint16, error) {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(v), "tls")) {
	case "1.2":
		return reprise.VersionTLS12, nil
	case "1.3":
		return reprise.VersionTLS13, nil
	}
	return 0, usageErrorf("--%s %q: want 1.2 or 1.3", flagName, v)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseCiphers(s string) ([]uint16, error) {
	var out []uint16
	for _, name := range splitList(s) {
		id, ok := reprise.CipherSuiteByName(strings.ToUpper(name))
		if !ok {
			return nil, usageErrorf("--ciphers: unknown cipher suite %q (use IANA names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)", name)
		}
		out = append(out, id)
	}
	return out, nil
}

func parseGroups(s string) ([]reprise.CurveID, error) {
	var out []reprise.CurveID
	for _, name := range splitList(s) {
		switch strings.ToLower(name) {
		case "x25519":
			out = append(out, reprise.X25519)
		case "p256", "p-256", "secp256r1", "prime256v1":
			out = append(out, reprise.CurveP256)
		case "p384", "p-384", "secp384r1":
			out = append(out, reprise.CurveP384)
		case "x25519mlkem768":
			out = append(out, reprise.X25519MLKEM768)
		default:
			return nil, usageErrorf("--groups: unknown group %q (want x25519, p256, p384 or x25519mlkem768)", name)
		}
	}
	return out, nil
}

// parseOnOff reads an on|off flag value.
func parseOnOff(flagName, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "yes", "true":
		return true, nil
	case "off", "no", "false":
		return false, nil
	}
	return false, usageErrorf("--%s %q: want on or off", flagName, v)
}

// loadCAFile reads a PEM bundle of trusted certificates.
func loadCAFile(flagName, path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flagName, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--%s %s: no PEM certificates in the file", flagName, path)
	}
	return pool, nil
}

// clientOptions are the flags of the commands that act as a client
// (connect and bench) on top of tlsOptions.
type clientOptions struct {
	tlsOptions
	serverName string
	insecure   bool
	caFile     string
	noTicket   bool
}

func (o *clientOptions) registerClient(fs *flag.FlagSet) {
	o.register(fs, "1.3")
	fs.StringVar(&o.serverName, "servername", "", "server name for SNI and certificate verification (default: the host)")
	fs.BoolVar(&o.insecure, "insecure", false, "accept any server certificate (testing only)")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of trusted CA certificates (default: the system roots)")
	fs.BoolVar(&o.noTicket, "no-ticket", false, "offer no session ticket: TLS 1.2 resumes by session ID")
}

// clientConfig builds the client Config for host from the flags. The
// returned function closes the key log file; call it even on error.
func (o *clientOptions) clientConfig(host string) (*reprise.Config, func(), error) {
	cfg := &reprise.Config{}
	closeKeyLog, err := o.apply(cfg)
	if err != nil {
		return nil, closeKeyLog, err
	}
	cfg.ServerName = o.serverName
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.InsecureSkipVerify = o.insecure
	if o.caFile != "" {
		if cfg.RootCAs, err = loadCAFile("ca", o.caFile); err != nil {
			return nil, closeKeyLog, err
		}
	}
	cfg.SessionTicketsDisabled = o.noTicket
	return cfg, closeKeyLog, nil
}

// checkHostPort checks a HOST:PORT argument and returns the host.
func checkHostPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return "", usageErrorf("bad address %q: want HOST:PORT", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		if _, err := net.LookupPort("tcp", port); err != nil {
			return "", usageErrorf("bad port in %q", addr)
		}
	}
	return host, nil
}
