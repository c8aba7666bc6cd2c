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

const (
	// commandTimeout bounds each command and its reply.
	commandTimeout = 30 * time.Second
	// transferTimeout bounds a data connection's idle time.
	transferTimeout = 60 * time.Second
	// maxReplyLines bounds a multi-line reply (RFC 959, Section 4.2), so a
	// server cannot make us read forever.
	maxReplyLines = 1000
	// maxLine bounds one reply line.
	maxLine = 4096
)

// client is an explicit FTPS client (RFC 4217): a control connection
// upgraded with AUTH TLS, and data connections that each resume the
// control connection's TLS session.
type client struct {
	ctrl *reprise.Conn
	r    *bufio.Reader
	cfg  *reprise.Config // the control connection's; data connections clone it
	host string          // data connections go to the control connection's host
	log  io.Writer       // the dialogue and each data connection's resumption, or nil

	// spare holds TLS 1.3 tickets that data connections received: when
	// the control connection's own tickets run out, the next data
	// connection resumes with one of these (still a resumption of the
	// control connection's session, as require_ssl_reuse wants).
	spare []*reprise.Session
	// Data records how each data connection's handshake went.
	Data []reprise.ConnectionState
}

// dial connects to addr, reads the greeting, upgrades the control
// connection with AUTH TLS (RFC 4217, Section 4), logs in, and sets up
// protected data connections: PBSZ 0 and PROT P (Section 9).
func dial(addr string, cfg *reprise.Config, user, pass string, log io.Writer) (*client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := net.DialTimeout("tcp", addr, commandTimeout)
	if err != nil {
		return nil, err
	}
	c := &client{r: bufio.NewReaderSize(raw, maxLine), cfg: cfg, host: host, log: log}
	raw.SetDeadline(time.Now().Add(commandTimeout))
	if _, _, err := c.expect(220); err != nil {
		raw.Close()
		return nil, err
	}
	if err := c.send(raw, "AUTH TLS"); err != nil {
		raw.Close()
		return nil, err
	}
	if _, _, err := c.expect(234); err != nil {
		raw.Close()
		return nil, err
	}
	// RFC 4217, Section 4: the TLS handshake starts right after 234. No
	// bytes may be buffered beyond the reply, or they were sent in clear.
	if c.r.Buffered() > 0 {
		raw.Close()
		return nil, errors.New("ftps: server sent data after 234, before the TLS handshake")
	}
	c.ctrl = reprise.Client(raw, cfg)
	if err := c.ctrl.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("ftps: control handshake: %w", err)
	}
	c.r = bufio.NewReaderSize(c.ctrl, maxLine)
	c.logf("control: %s", describe(c.ctrl.ConnectionState()))
	code, _, err := c.command("USER " + user)
	if err == nil && code == 331 {
		code, _, err = c.command("PASS " + pass)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	if code != 230 {
		c.Close()
		return nil, fmt.Errorf("ftps: login refused: %d", code)
	}
	for _, cmd := range []string{"PBSZ 0", "PROT P", "TYPE I"} {
		if _, _, err := c.commandExpect(cmd, 200); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Close says QUIT and closes the control connection.
func (c *client) Close() error {
	c.command("QUIT")
	return c.ctrl.Close()
}

// Retrieve copies remote into w (RETR).
func (c *client) Retrieve(remote string, w io.Writer) error {
	return c.transfer("RETR "+remote, func(data *reprise.Conn) error {
		_, err := io.Copy(w, data)
		return err
	})
}

// List copies the listing of dir into w (LIST).
func (c *client) List(dir string, w io.Writer) error {
	return c.transfer("LIST "+dir, func(data *reprise.Conn) error {
		_, err := io.Copy(w, data)
		return err
	})
}

// Store copies r to remote (STOR).
func (c *client) Store(remote string, r io.Reader) error {
	return c.transfer("STOR "+remote, func(data *reprise.Conn) error {
		if _, err := io.Copy(data, r); err != nil {
			return err
		}
		// close_notify tells the server the file is complete (RFC 4217,
		// Section 10); then read to its close, taking in any TLS 1.3
		// tickets it sent on the way.
		if err := data.CloseWrite(); err != nil {
			return err
		}
		io.Copy(io.Discard, io.LimitReader(data, 1<<20))
		return nil
	})
}

// transfer runs one command with a data connection: PASV, connect, the
// command, its 150 reply, the TLS handshake offering the control
// connection's session, the transfer, and the final 226.
func (c *client) transfer(cmd string, move func(*reprise.Conn) error) error {
	dataAddr, err := c.passive()
	if err != nil {
		return err
	}
	raw, err := net.DialTimeout("tcp", dataAddr, commandTimeout)
	if err != nil {
		return err
	}
	defer raw.Close()
	code, msg, err := c.command(cmd)
	if err != nil {
		return err
	}
	if code != 150 && code != 125 {
		return fmt.Errorf("ftps: %s: %d %s", verb(cmd), code, msg)
	}

	// The hand-over: the data connection resumes the control connection's
	// session. TakeSession gives each data connection a ticket of its own
	// in TLS 1.3 (RFC 8446, Appendix C.4); in TLS 1.2 it is the control
	// connection's session every time.
	dcfg := c.cfg.Clone()
	dcfg.ClientSessionCache = nil
	dcfg.Session = c.nextSession()
	data := reprise.Client(raw, dcfg)
	data.SetDeadline(time.Now().Add(transferTimeout))
	herr := data.Handshake()
	st := data.ConnectionState()
	c.Data = append(c.Data, st)
	if herr != nil {
		c.logf("data: handshake failed: %v", herr)
	} else {
		c.logf("data: %s", describe(st))
		herr = move(data)
		c.keepSpareTickets(data)
		data.Close()
	}
	// The server's verdict comes on the control connection: 226 when the
	// transfer completed, 522 when the data connection did not resume and
	// require_ssl_reuse is on.
	c.ctrl.SetDeadline(time.Now().Add(commandTimeout))
	code, msg, err = c.read()
	if err != nil {
		return err
	}
	if code != 226 && code != 250 {
		return fmt.Errorf("ftps: %s: %d %s", verb(cmd), code, msg)
	}
	if herr != nil {
		return fmt.Errorf("ftps: %s: %w", verb(cmd), herr)
	}
	return nil
}

// nextSession is the session the next data connection offers: an unused
// ticket of the control connection, else one a data connection received.
func (c *client) nextSession() *reprise.Session {
	if s := c.ctrl.TakeSession(); s != nil {
		return s
	}
	if n := len(c.spare); n > 0 {
		s := c.spare[n-1]
		c.spare = c.spare[:n-1]
		return s
	}
	return nil
}

// keepSpareTickets keeps the fresh TLS 1.3 tickets a data connection
// received, for when the control connection's run out.
func (c *client) keepSpareTickets(data *reprise.Conn) {
	if data.ConnectionState().Version != reprise.VersionTLS13 {
		return
	}
	for s := data.TakeSession(); s != nil && len(c.spare) < 8; s = data.TakeSession() {
		c.spare = append(c.spare, s)
	}
}

// passive sends PASV and returns the address to connect to: the port the
// server chose, on the control connection's host (the address in the
// reply is ignored, so a server cannot point us elsewhere).
func (c *client) passive() (string, error) {
	_, msg, err := c.commandExpect("PASV", 227)
	if err != nil {
		return "", err
	}
	open, end := strings.IndexByte(msg, '('), strings.IndexByte(msg, ')')
	if open < 0 || end < open {
		return "", fmt.Errorf("ftps: cannot parse PASV reply %q", msg)
	}
	f := strings.Split(msg[open+1:end], ",")
	if len(f) != 6 {
		return "", fmt.Errorf("ftps: cannot parse PASV reply %q", msg)
	}
	hi, err1 := strconv.Atoi(strings.TrimSpace(f[4]))
	lo, err2 := strconv.Atoi(strings.TrimSpace(f[5]))
	if err1 != nil || err2 != nil || hi < 0 || hi > 255 || lo < 0 || lo > 255 {
		return "", fmt.Errorf("ftps: bad port in PASV reply %q", msg)
	}
	return net.JoinHostPort(c.host, strconv.Itoa(hi<<8|lo)), nil
}

// command sends one command on the control connection and reads its reply.
func (c *client) command(cmd string) (int, string, error) {
	c.ctrl.SetDeadline(time.Now().Add(commandTimeout))
	if err := c.send(c.ctrl, cmd); err != nil {
		return 0, "", err
	}
	return c.read()
}

func (c *client) commandExpect(cmd string, want int) (int, string, error) {
	code, msg, err := c.command(cmd)
	if err == nil && code != want {
		err = fmt.Errorf("ftps: %s: %d %s", verb(cmd), code, msg)
	}
	return code, msg, err
}

func (c *client) send(w io.Writer, cmd string) error {
	shown := cmd
	if strings.HasPrefix(cmd, "PASS ") {
		shown = "PASS ****"
	}
	c.logf("-> %s", shown)
	_, err := io.WriteString(w, cmd+"\r\n")
	return err
}

func (c *client) expect(want int) (int, string, error) {
	code, msg, err := c.read()
	if err == nil && code != want {
		err = fmt.Errorf("ftps: got %d %s, want %d", code, msg, want)
	}
	return code, msg, err
}

// read reads one reply: "ddd text", or a multi-line reply from "ddd-" to
// "ddd " (RFC 959, Section 4.2).
func (c *client) read() (int, string, error) {
	line, err := c.line()
	if err != nil {
		return 0, "", err
	}
	code, err := replyCode(line)
	if err != nil {
		return 0, "", err
	}
	text := line[4:]
	if line[3] == '-' {
		for n := 0; ; n++ {
			if n == maxReplyLines {
				return 0, "", errors.New("ftps: multi-line reply too long")
			}
			next, err := c.line()
			if err != nil {
				return 0, "", err
			}
			if len(next) >= 4 && next[:3] == line[:3] && next[3] == ' ' {
				break
			}
		}
	}
	return code, text, nil
}

func (c *client) line() (string, error) {
	b, isPrefix, err := c.r.ReadLine()
	if err != nil {
		return "", fmt.Errorf("ftps: reading reply: %w", err)
	}
	if isPrefix {
		return "", errors.New("ftps: reply line too long")
	}
	c.logf("<- %s", b)
	return string(b), nil
}

func replyCode(line string) (int, error) {
	if len(line) < 4 || (line[3] != ' ' && line[3] != '-') {
		return 0, fmt.Errorf("ftps: malformed reply %q", line)
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil || code < 100 || code > 599 {
		return 0, fmt.Errorf("ftps: malformed reply %q", line)
	}
	return code, nil
}

func verb(cmd string) string {
	v, _, _ := strings.Cut(cmd, " ")
	return v
}

func (c *client) logf(format string, args ...any) {
	if c.log != nil {
		fmt.Fprintf(c.log, format+"\n", args...)
	}
}

// describe is one line about a handshake's outcome.
func describe(st reprise.ConnectionState) string {
	v := "TLS1.2"
	if st.Version == reprise.VersionTLS13 {
		v = "TLS1.3"
	}
	s := fmt.Sprintf("%s %s resumed=%v", v, reprise.CipherSuiteName(st.CipherSuite), st.DidResume)
	if st.DidResume {
		s += " via " + string(st.Resumption)
	}
	if st.Refused != "" {
		s += " refused=" + string(st.Refused)
	}
	return s
}
