package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/reprise-tls/reprise"
)

// Explicit FTPS (RFC 4217) for `connect --starttls ftp` and `probe
// --starttls ftp`: the plaintext greeting and AUTH TLS before the
// handshake, and for the probe a login and one data connection.

const (
	// ftpMaxLine bounds one reply line, ftpMaxLines a multi-line reply:
	// a server cannot make us buffer without bound.
	ftpMaxLine  = 4096
	ftpMaxLines = 200
	ftpTimeout  = 10 * time.Second
)

// ftpControl is an FTP control connection: plaintext until AUTH TLS, then
// over TLS.
type ftpControl struct {
	conn  net.Conn // the TCP connection, later the *reprise.Conn
	r     *bufio.Reader
	trace io.Writer // the dialogue, or nil
}

// ftpStartTLS reads the greeting of the FTP server on raw and asks for
// TLS with AUTH TLS (RFC 4217, Section 4); when it returns nil, the TLS
// handshake may start on raw.
func ftpStartTLS(raw net.Conn, trace io.Writer) (*ftpControl, error) {
	f := &ftpControl{conn: raw, r: bufio.NewReaderSize(raw, ftpMaxLine), trace: trace}
	raw.SetDeadline(time.Now().Add(ftpTimeout))
	defer raw.SetDeadline(time.Time{})
	if code, msg, err := f.read(); err != nil {
		return nil, err
	} else if code != 220 {
		return nil, fmt.Errorf("ftp: greeting %d %s", code, msg)
	}
	code, msg, err := f.command("AUTH TLS")
	if err != nil {
		return nil, err
	}
	if code != 234 {
		return nil, fmt.Errorf("ftp: AUTH TLS refused: %d %s", code, msg)
	}
	// Anything buffered now came in clear after 234: refuse it rather
	// than mix it into the TLS stream.
	if f.r.Buffered() > 0 {
		return nil, errors.New("ftp: server sent data after 234, before the TLS handshake")
	}
	return f, nil
}

// secure continues the dialogue over the TLS connection.
func (f *ftpControl) secure(conn *reprise.Conn) {
	f.conn = conn
	f.r = bufio.NewReaderSize(conn, ftpMaxLine)
}

// login sends USER and PASS, then PBSZ 0 and PROT P so that data
// connections are protected (RFC 4217, Section 9).
func (f *ftpControl) login(user, pass string) error {
	code, msg, err := f.command("USER " + user)
	if err == nil && code == 331 {
		code, msg, err = f.command("PASS " + pass)
	}
	if err != nil {
		return err
	}
	if code != 230 {
		return fmt.Errorf("ftp: login refused: %d %s", code, msg)
	}
	for _, cmd := range []string{"PBSZ 0", "PROT P"} {
		code, msg, err := f.command(cmd)
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("ftp: %s: %d %s", cmd, code, msg)
		}
	}
	return nil
}

// list runs LIST over one protected data connection made with cfg and
// returns the server's final reply code and text (226 when the transfer
// completed, 522 when vsftpd's require_ssl_reuse refused a data connection
// that did not resume) and the data connection's handshake state.
func (f *ftpControl) list(host string, cfg *reprise.Config) (int, string, reprise.ConnectionState, error) {
	var st reprise.ConnectionState
	code, msg, err := f.command("PASV")
	if err != nil {
		return 0, "", st, err
	}
	if code != 227 {
		return 0, "", st, fmt.Errorf("ftp: PASV: %d %s", code, msg)
	}
	port, err := pasvPort(msg)
	if err != nil {
		return 0, "", st, err
	}
	// Connect to the control connection's host, not to the address in the
	// reply, so a server cannot send the probe elsewhere.
	raw, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), ftpTimeout)
	if err != nil {
		return 0, "", st, err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(ftpTimeout))
	if code, msg, err = f.command("LIST"); err != nil {
		return 0, "", st, err
	}
	if code != 150 && code != 125 {
		return code, msg, st, nil
	}
	data := reprise.Client(raw, cfg)
	if err := data.Handshake(); err == nil {
		io.Copy(io.Discard, io.LimitReader(data, 1<<20))
	}
	st = data.ConnectionState()
	data.Close()
	code, msg, err = f.read()
	return code, msg, st, err
}

// pasvPort takes the port out of "227 Entering Passive Mode
// (h1,h2,h3,h4,p1,p2)" (RFC 959, Section 4.1.2).
func pasvPort(msg string) (int, error) {
	open, end := strings.IndexByte(msg, '('), strings.IndexByte(msg, ')')
	if open < 0 || end < open {
		return 0, fmt.Errorf("ftp: cannot parse PASV reply %q", msg)
	}
	fields := strings.Split(msg[open+1:end], ",")
	if len(fields) != 6 {
		return 0, fmt.Errorf("ftp: cannot parse PASV reply %q", msg)
	}
	hi, err1 := strconv.Atoi(strings.TrimSpace(fields[4]))
	lo, err2 := strconv.Atoi(strings.TrimSpace(fields[5]))
	if err1 != nil || err2 != nil || hi < 0 || hi > 255 || lo < 0 || lo > 255 || hi|lo == 0 {
		return 0, fmt.Errorf("ftp: bad port in PASV reply %q", msg)
	}
	return hi<<8 | lo, nil
}

// command sends one command and reads its reply.
func (f *ftpControl) command(cmd string) (int, string, error) {
	f.conn.SetDeadline(time.Now().Add(ftpTimeout))
	shown := cmd
	if strings.HasPrefix(cmd, "PASS ") {
		shown = "PASS ****"
	}
	f.tracef("  ftp -> %s", shown)
	if _, err := io.WriteString(f.conn, cmd+"\r\n"); err != nil {
		return 0, "", fmt.Errorf("ftp: %w", err)
	}
	return f.read()
}

// read reads one reply, "ddd text" or a multi-line reply from "ddd-" to
// "ddd " (RFC 959, Section 4.2), and returns its code and first line's text.
func (f *ftpControl) read() (int, string, error) {
	first, err := f.line()
	if err != nil {
		return 0, "", err
	}
	code, err := ftpReplyCode(first)
	if err != nil {
		return 0, "", err
	}
	if first[3] == '-' {
		for n := 0; ; n++ {
			if n == ftpMaxLines {
				return 0, "", errors.New("ftp: multi-line reply too long")
			}
			next, err := f.line()
			if err != nil {
				return 0, "", err
			}
			if len(next) >= 4 && next[:3] == first[:3] && next[3] == ' ' {
				break
			}
		}
	}
	return code, first[4:], nil
}

func (f *ftpControl) line() (string, error) {
	b, isPrefix, err := f.r.ReadLine()
	if err != nil {
		return "", fmt.Errorf("ftp: reading reply: %w", err)
	}
	if isPrefix {
		return "", errors.New("ftp: reply line too long")
	}
	f.tracef("  ftp <- %s", b)
	return string(b), nil
}

func ftpReplyCode(line string) (int, error) {
	if len(line) < 4 || (line[3] != ' ' && line[3] != '-') {
		return 0, fmt.Errorf("ftp: malformed reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("ftp: malformed reply %q", line)
	}
	return code, nil
}

func (f *ftpControl) tracef(format string, args ...any) {
	if f.trace != nil {
		fmt.Fprintf(f.trace, format+"\n", args...)
	}
}
