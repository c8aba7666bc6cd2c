// Command ftps is an explicit FTPS client (RFC 4217) built on reprise: it
// logs in with AUTH TLS, PBSZ 0 and PROT P, and every data connection
// (PASV, then LIST, RETR or STOR) resumes the control connection's TLS
// session, as servers with vsftpd's require_ssl_reuse=YES (Debian's
// default), ProFTPD's and FileZilla Server's equivalent demand. Go's
// crypto/tls cannot do this against such a server with session IDs
// (its TLS 1.2 client resumes only by ticket) and gets "522 SSL connection
// failed: session reuse required".
//
// The hand-over is one line per data connection:
//
//	dataConfig.Session = ctrl.TakeSession()
//
// which in TLS 1.2 offers the control connection's session (by session
// ID, or by ticket when the server issued one) and in TLS 1.3 an unused
// ticket of the control connection.
//
// Usage:
//
//	ftps -addr HOST:PORT [-servername N] [-ca FILE | -insecure] [-user U -pass P]
//	     [-max-version 1.2|1.3] [-no-ticket] [-v]
//	     [-list DIR] [-get REMOTE -out LOCAL] [-put LOCAL -to REMOTE]
//
// The operations run in the order list, get, put.
package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/reprise-tls/reprise"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ftps:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, serverName, caFile string
	insecure                 bool
	user, pass               string
	maxVersion               string
	noTicket, verbose        bool
	list, get, out, put, to  string
}

func run(args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("ftps", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "", "server HOST:PORT (explicit FTPS, usually port 21)")
	fs.StringVar(&o.serverName, "servername", "", "name to verify the certificate against (default: the host)")
	fs.StringVar(&o.caFile, "ca", "", "PEM file of CA certificates to trust (default: the system's)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the server's certificate")
	fs.StringVar(&o.user, "user", "anonymous", "login name")
	fs.StringVar(&o.pass, "pass", "anonymous@", "password")
	fs.StringVar(&o.maxVersion, "max-version", "1.3", "highest TLS version: 1.2 or 1.3")
	fs.BoolVar(&o.noTicket, "no-ticket", false, "ask for no tickets: TLS 1.2 then resumes by session ID")
	fs.BoolVar(&o.verbose, "v", false, "print the FTP dialogue and each handshake's resumption")
	fs.StringVar(&o.list, "list", "", "list this directory")
	fs.StringVar(&o.get, "get", "", "download this remote file (with -out)")
	fs.StringVar(&o.out, "out", "", "local file for -get (prints its SHA-256)")
	fs.StringVar(&o.put, "put", "", "upload this local file (with -to)")
	fs.StringVar(&o.to, "to", "", "remote name for -put")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.addr == "" || (o.get != "") != (o.out != "") || (o.put != "") != (o.to != "") {
		fs.Usage()
		return errors.New("need -addr, and -get with -out, -put with -to")
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	var log io.Writer
	if o.verbose {
		log = stderr
	}
	c, err := dial(o.addr, cfg, o.user, o.pass, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.list != "" {
		if err := c.List(o.list, stdout); err != nil {
			return err
		}
	}
	if o.get != "" {
		sum, err := c.download(o.get, o.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s  %s\n", sum, o.out)
	}
	if o.put != "" {
		f, err := os.Open(o.put)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := c.Store(o.to, f); err != nil {
			return err
		}
	}
	for i, st := range c.Data {
		if !st.DidResume {
			return fmt.Errorf("data connection %d did not resume the control session (%s)", i+1, describe(st))
		}
	}
	return nil
}

// download retrieves remote into the file out and returns its SHA-256.
func (c *client) download(remote, out string) (string, error) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = c.Retrieve(remote, io.MultiWriter(f, h))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// config is the control connection's Config; each data connection clones
// it and adds the session to resume.
func (o *options) config() (*reprise.Config, error) {
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return nil, err
	}
	cfg := &reprise.Config{
		ServerName:             o.serverName,
		InsecureSkipVerify:     o.insecure,
		SessionTicketsDisabled: o.noTicket,
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	switch o.maxVersion {
	case "1.2":
		cfg.MaxVersion = reprise.VersionTLS12
	case "1.3":
		cfg.MaxVersion = reprise.VersionTLS13
	default:
		return nil, fmt.Errorf("-max-version %q: want 1.2 or 1.3", o.maxVersion)
	}
	if o.caFile != "" {
		pemBytes, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("-ca %s: no certificates", o.caFile)
		}
	}
	return cfg, nil
}
