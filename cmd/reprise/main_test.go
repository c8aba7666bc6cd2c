package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-tls/reprise/internal/peertest"
)

// reprisePath is the binary built once for every test: the tests run the
// command as users and scripts do, as a process with arguments.
var reprisePath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reprise-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	reprisePath = filepath.Join(dir, "reprise")
	build := exec.Command("go", "build", "-o", reprisePath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building reprise:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test
// reading at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProc is a running `reprise serve`.
type serveProc struct {
	cmd            *exec.Cmd
	addr           string
	stdout, stderr *syncBuffer
	done           chan struct{}
	err            error
}

var listeningRE = regexp.MustCompile(`listening on (\S+)`)

// startServe runs `reprise serve --addr 127.0.0.1:0 args...` and waits for
// its "listening on" line, which names the port the kernel chose.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	p := &serveProc{
		cmd:    exec.Command(reprisePath, args...),
		stdout: &syncBuffer{},
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("serve %v\nstdout:\n%s\nstderr:\n%s", args, p.stdout, p.stderr)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(p.stdout.String() + p.stderr.String()); m != nil {
			p.addr = m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("serve %v exited: %v\nstdout:\n%s\nstderr:\n%s", args, p.err, p.stdout, p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve %v did not start listening", args)
	return nil
}

// wait waits for the server to exit and returns its exit error.
func (p *serveProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit")
		return nil
	}
}

// result is a finished reprise command.
type result struct {
	stdout, stderr string
	code           int
}

// runReprise runs the binary to completion.
func runReprise(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, reprisePath, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("reprise %v: %v", args, err)
	}
	return r
}

// mustSucceed runs the binary and fails the test unless it exits 0.
func mustSucceed(t *testing.T, args ...string) result {
	t.Helper()
	r := runReprise(t, args...)
	if r.code != 0 {
		t.Fatalf("reprise %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// jsonKeys is the contract's field order for a connection's JSON line.
var jsonKeys = []string{"conn", "version", "cipher", "resumed", "resumption", "refused", "ems", "alpn", "server_name", "session_id", "handshake_ms", "early_data"}

// parseReports decodes JSON lines, checking that each has exactly the
// contract's fields in the contract's order.
func parseReports(t *testing.T, out string) []connReport {
	t.Helper()
	var reports []connReport
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		var keys []string
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("not a JSON object: %q", line)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			keys = append(keys, tok.(string))
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		}
		if strings.Join(keys, ",") != strings.Join(jsonKeys, ",") {
			t.Fatalf("JSON keys %v, want %v", keys, jsonKeys)
		}
		var r connReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	return reports
}

// wantResumptions checks the resumption field of each report in order.
func wantResumptions(t *testing.T, reports []connReport, want ...string) {
	t.Helper()
	var got []string
	for _, r := range reports {
		got = append(got, r.Resumption)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("resumption per connection: %v, want %v", got, want)
	}
	for i, r := range reports {
		if r.Conn != i+1 {
			t.Errorf("report %d numbered conn %d", i, r.Conn)
		}
		if r.Resumed != (r.Resumption != "none") {
			t.Errorf("conn %d: resumed=%v but resumption=%q", r.Conn, r.Resumed, r.Resumption)
		}
	}
}

// TestConnectResumesBySessionID is the FTPS case: no tickets, so every
// reconnection resumes by session ID.
func TestConnectResumesBySessionID(t *testing.T) {
	s := startServe(t, "--max-version", "1.2")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--servername", "localhost",
		"--reconnect", "3", "--no-ticket", "--json")
	reports := parseReports(t, r.stdout)
	wantResumptions(t, reports, "none", "session-id", "session-id", "session-id")
	for _, rep := range reports {
		if rep.Version != "TLS1.2" || !rep.EMS || rep.ServerName != "localhost" || len(rep.SessionID) != 64 || rep.Refused != "" {
			t.Errorf("unexpected report %+v", rep)
		}
	}
	if reports[1].SessionID != reports[0].SessionID {
		t.Errorf("resumed session ID %s differs from the first %s", reports[1].SessionID, reports[0].SessionID)
	}
}

func TestConnectResumesByTicket(t *testing.T) {
	s := startServe(t, "--max-version", "1.2", "--session-cache", "off")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--max-version", "1.2", "--reconnect", "3", "--json")
	wantResumptions(t, parseReports(t, r.stdout), "none", "ticket", "ticket", "ticket")
}

// TestConnectResumesByPSK: TLS 1.3 over the hybrid group resumes by PSK
// on every reconnection, and the server reports the same.
func TestConnectResumesByPSK(t *testing.T) {
	s := startServe(t, "--min-version", "1.3", "--groups", "x25519mlkem768", "--json")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--servername", "localhost",
		"--min-version", "1.3", "--max-version", "1.3", "--groups", "x25519mlkem768", "--reconnect", "3", "--json")
	reports := parseReports(t, r.stdout)
	wantResumptions(t, reports, "none", "psk", "psk", "psk")
	for _, rep := range reports {
		if rep.Version != "TLS1.3" || rep.Cipher != "TLS_AES_128_GCM_SHA256" || rep.ServerName != "localhost" || rep.Refused != "" {
			t.Errorf("unexpected report %+v", rep)
		}
	}
	server := waitReports(t, s, 4)
	wantResumptions(t, server, "none", "psk", "psk", "psk")

	// Both hellos name the hybrid group in the trace.
	r = mustSucceed(t, "connect", s.addr, "--insecure", "--groups", "x25519mlkem768", "--trace")
	for _, want := range []string{"-> ClientHello ", "<- ServerHello "} {
		line := ""
		for _, l := range strings.Split(r.stdout+r.stderr, "\n") {
			if strings.Contains(l, want) {
				line = l
			}
		}
		if !strings.Contains(line, "key_share=X25519MLKEM768") {
			t.Errorf("trace %q line %q does not name X25519MLKEM768:\n%s", want, line, r.stdout+r.stderr)
		}
	}
}

// TestServerExplainsRefusedPSK: a TLS 1.3 session taken to a server with
// other ticket keys is declined; that server says why.
func TestServerExplainsRefusedPSK(t *testing.T) {
	issuer := startServe(t, "--min-version", "1.3")
	sess := filepath.Join(t.TempDir(), "session.pem")
	mustSucceed(t, "connect", issuer.addr, "--insecure", "--sess-out", sess)

	other := startServe(t, "--min-version", "1.3", "--json")
	r := mustSucceed(t, "connect", other.addr, "--insecure", "--sess-in", sess, "--json")
	if c := parseReports(t, r.stdout); len(c) != 1 || c[0].Resumption != "none" || c[0].Refused != "server-declined" {
		t.Errorf("client view: %+v, want refused server-declined", c)
	}
	if s := waitReports(t, other, 1); s[0].Refused != "ticket-key-unknown" || s[0].Version != "TLS1.3" {
		t.Errorf("server view: %+v, want refused ticket-key-unknown", s[0])
	}
	r = mustSucceed(t, "connect", issuer.addr, "--insecure", "--sess-in", sess, "--json")
	wantResumptions(t, parseReports(t, r.stdout), "psk")
}

func TestConnectHumanOutput(t *testing.T) {
	s := startServe(t, "--max-version", "1.2")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--reconnect", "1", "--no-ticket")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	re := regexp.MustCompile(`^conn (\d): TLS1\.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 resumed=(none|session-id) ems=true [0-9.]+ms$`)
	if len(lines) != 2 || !re.MatchString(lines[0]) || !re.MatchString(lines[1]) || !strings.Contains(lines[1], "resumed=session-id") {
		t.Errorf("human output:\n%s", r.stdout)
	}
}

// TestSessionFileAcrossProcesses hands a session from one process to
// another through --sess-out and --sess-in.
func TestSessionFileAcrossProcesses(t *testing.T) {
	s := startServe(t, "--max-version", "1.2")
	sess := filepath.Join(t.TempDir(), "session.pem")
	mustSucceed(t, "connect", s.addr, "--insecure", "--no-ticket", "--sess-out", sess)
	st, err := os.Stat(sess)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("session file mode %v, want 0600", st.Mode().Perm())
	}
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--no-ticket", "--sess-in", sess, "--json")
	wantResumptions(t, parseReports(t, r.stdout), "session-id")
}

// TestServerReportsRefusalReason: the client learns only that the server
// declined; the server's own JSON line says why.
func TestServerReportsRefusalReason(t *testing.T) {
	withCache := startServe(t, "--max-version", "1.2")
	sess := filepath.Join(t.TempDir(), "session.pem")
	mustSucceed(t, "connect", withCache.addr, "--insecure", "--no-ticket", "--sess-out", sess)

	noCache := startServe(t, "--max-version", "1.2", "--session-cache", "off", "--json")
	r := mustSucceed(t, "connect", noCache.addr, "--insecure", "--no-ticket", "--sess-in", sess, "--json")
	client := parseReports(t, r.stdout)
	if len(client) != 1 || client[0].Resumption != "none" || client[0].Refused != "server-declined" {
		t.Errorf("client view: %+v, want resumption none, refused server-declined", client)
	}
	server := waitReports(t, noCache, 1)
	if server[0].Resumption != "none" || server[0].Refused != "cache-off" || server[0].Conn != 1 {
		t.Errorf("server view: %+v, want refused cache-off", server[0])
	}
}

// waitReports waits until serve --json has printed n lines.
func waitReports(t *testing.T, s *serveProc, n int) []connReport {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(s.stdout.String(), "\n") >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	reports := parseReports(t, s.stdout.String())
	if len(reports) != n {
		t.Fatalf("serve printed %d JSON lines, want %d:\n%s", len(reports), n, s.stdout)
	}
	return reports
}

// TestSharedTicketKeys: two servers given one key file resume each
// other's tickets, as a fleet behind a load balancer must.
func TestSharedTicketKeys(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "ticket.key")
	mustSucceed(t, "ticketkey", "new", "--bits", "128", "--out", keys)
	a := startServe(t, "--max-version", "1.2", "--ticket-keys", keys)
	b := startServe(t, "--max-version", "1.2", "--ticket-keys", keys, "--ticket-key-format", "nginx")
	sess := filepath.Join(dir, "session.pem")
	mustSucceed(t, "connect", a.addr, "--insecure", "--sess-out", sess)
	r := mustSucceed(t, "connect", b.addr, "--insecure", "--sess-in", sess, "--json")
	wantResumptions(t, parseReports(t, r.stdout), "ticket")

	// A server with other keys cannot open the ticket, and says so.
	c := startServe(t, "--max-version", "1.2", "--json")
	mustSucceed(t, "connect", c.addr, "--insecure", "--sess-in", sess)
	if got := waitReports(t, c, 1)[0].Refused; got != "ticket-key-unknown" {
		t.Errorf("server without the key refused with %q, want ticket-key-unknown", got)
	}
}

func TestTicketKeyFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		size int
	}{
		{[]string{"--bits", "128"}, 48},
		{[]string{"--bits", "256"}, 80},
		{nil, 80},
	} {
		r := mustSucceed(t, append([]string{"ticketkey", "new"}, tc.args...)...)
		if len(r.stdout) != tc.size {
			t.Errorf("ticketkey new %v: %d bytes, want %d", tc.args, len(r.stdout), tc.size)
		}
	}
	r := mustSucceed(t, "ticketkey", "new", "--format", "haproxy", "--bits", "128")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("haproxy file has %d lines, want 3:\n%s", len(lines), r.stdout)
	}
	for _, l := range lines {
		if len(l) != 64 { // base64 of 48 bytes
			t.Errorf("haproxy line %q is %d characters, want 64", l, len(l))
		}
	}
	path := filepath.Join(dir, "haproxy.keys")
	mustSucceed(t, "ticketkey", "new", "--format", "haproxy", "--out", path)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode().Perm())
	}
	s := startServe(t, "--max-version", "1.2", "--ticket-keys", path, "--ticket-key-format", "haproxy")
	mustSucceed(t, "connect", s.addr, "--insecure", "--reconnect", "1")
}

func TestWWWPage(t *testing.T) {
	s := startServe(t, "--max-version", "1.2", "--alpn", "http/1.1")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--servername", "localhost", "--no-ticket",
		"--alpn", "h2,http/1.1", "--reconnect", "1", "--send", `GET / HTTP/1.0\r\n\r\n`)
	out := r.stdout
	for _, want := range []string{
		"HTTP/1.0 200 OK", "Protocol:        TLS1.2", "Cipher suite:    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		"Resumed:         no, no session offered", "Resumed:         yes, by session-id",
		"Extended master secret: yes", "SNI:             localhost", "ALPN:            http/1.1",
		"accept_good      2", "hits             1", "tickets_issued   0", "Refusals by reason",
		"alpn=http/1.1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
}

func TestWWWPageShowsRefusals(t *testing.T) {
	s := startServe(t, "--max-version", "1.2")
	sess := filepath.Join(t.TempDir(), "s.pem")
	mustSucceed(t, "connect", s.addr, "--insecure", "--servername", "localhost", "--sess-out", sess)
	// Another name: the ticket was made for localhost (RFC 6066, Section 3).
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--servername", "other.example", "--sess-in", sess,
		"--send", `GET / HTTP/1.0\r\n\r\n`)
	for _, want := range []string{"refused=server-declined", "no, offered session refused: sni-mismatch", "sni-mismatch         1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestEcho(t *testing.T) {
	s := startServe(t, "--max-version", "1.2", "--echo")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--send", `hello\n`)
	if !strings.Contains(r.stdout, "\nhello\n") {
		t.Errorf("echo reply missing:\n%s", r.stdout)
	}
}

func TestTrace(t *testing.T) {
	s := startServe(t, "--max-version", "1.2")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--max-version", "1.2", "--no-ticket", "--reconnect", "1", "--trace", "--json")
	if len(parseReports(t, r.stdout)) != 2 {
		t.Errorf("--trace --json: stdout must hold only the JSON lines:\n%s", r.stdout)
	}
	for _, want := range []string{"  -> ClientHello session_id=0 ", "  <- ServerHello session_id=32 ", "  <- Certificate",
		"  -> ClientHello session_id=32 ", "  <- Finished"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("trace lacks %q:\n%s", want, r.stderr)
		}
	}
	// The resumed connection is abbreviated: one Certificate in all.
	if n := strings.Count(r.stderr, "<- Certificate"); n != 1 {
		t.Errorf("%d Certificate messages, want 1 (the second handshake resumes):\n%s", n, r.stderr)
	}
}

func TestKeyLog(t *testing.T) {
	dir := t.TempDir()
	serverLog, clientLog := filepath.Join(dir, "server.log"), filepath.Join(dir, "client.log")
	s := startServe(t, "--max-version", "1.2", "--keylog", serverLog)
	mustSucceed(t, "connect", s.addr, "--insecure", "--keylog", clientLog)
	time.Sleep(100 * time.Millisecond) // the server writes as its handshake ends
	for _, f := range []string{serverLog, clientLog} {
		data, err := os.ReadFile(f)
		if err != nil || !strings.HasPrefix(string(data), "CLIENT_RANDOM ") {
			t.Errorf("%s: %v %q", f, err, data)
		}
	}
}

func TestClientCertificates(t *testing.T) {
	client := peertest.ClientCert(t, peertest.ECDSAP256)
	s := startServe(t, "--max-version", "1.2", "--verify-client", "require", "--client-ca", client.CAFile, "--json")
	r := runReprise(t, "connect", s.addr, "--insecure")
	if r.code == 0 {
		t.Errorf("connect without a client certificate succeeded against --verify-client require")
	}
	mustSucceed(t, "connect", s.addr, "--insecure", "--cert", client.CertFile, "--key", client.KeyFile)
	if got := waitReports(t, s, 1); got[0].Conn != 2 {
		t.Errorf("the verified connection is conn %d, want 2", got[0].Conn)
	}
}

func TestSignals(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "k")
	mustSucceed(t, "ticketkey", "new", "--out", keys)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		s := startServe(t, "--ticket-keys", keys)
		s.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, s.stdout, "reloaded ticket keys from "+keys)
		s.cmd.Process.Signal(sig)
		if err := s.wait(t); err != nil {
			t.Errorf("%v: exit %v, want 0", sig, err)
		}
	}
}

func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSelfSignedFingerprint(t *testing.T) {
	s := startServe(t)
	if !regexp.MustCompile(`SHA-256 fingerprint ([0-9A-F]{2}:){31}[0-9A-F]{2}\n`).MatchString(s.stdout.String()) {
		t.Errorf("no fingerprint line:\n%s", s.stdout)
	}
}

func TestDemo(t *testing.T) {
	r := mustSucceed(t, "demo")
	for _, want := range []string{"TLS 1.2 full", "TLS 1.2 session-ID", "session-id", "TLS 1.2 ticket", "refused: sni-mismatch"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestUsage(t *testing.T) {
	r := runReprise(t)
	if r.code != 2 || !strings.Contains(r.stderr, "usage:") {
		t.Errorf("no arguments: exit %d\n%s", r.code, r.stderr)
	}
	r = runReprise(t, "help")
	if r.code != 0 || !strings.Contains(r.stdout, "reprise connect HOST:PORT") {
		t.Errorf("help: exit %d\n%s", r.code, r.stdout)
	}
	r = runReprise(t, "connect", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "-reconnect") {
		t.Errorf("connect -h: exit %d\n%s", r.code, r.stdout)
	}
}

// TestTicketKeyReload: SIGHUP puts a new key file into service; tickets
// under the old key are then refused with the reason, and a broken file
// leaves the keys in use alone.
func TestTicketKeyReload(t *testing.T) {
	dir := t.TempDir()
	keys, sess := filepath.Join(dir, "keys"), filepath.Join(dir, "s.pem")
	mustSucceed(t, "ticketkey", "new", "--out", keys)
	s := startServe(t, "--max-version", "1.2", "--session-cache", "off", "--ticket-keys", keys, "--json")
	mustSucceed(t, "connect", s.addr, "--insecure", "--sess-out", sess)

	mustSucceed(t, "ticketkey", "new", "--out", keys)
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, s.stderr, "reloaded ticket keys from "+keys)
	mustSucceed(t, "connect", s.addr, "--insecure", "--sess-in", sess)
	if got := waitReports(t, s, 2)[1].Refused; got != "ticket-key-unknown" {
		t.Errorf("old ticket after reload: refused %q, want ticket-key-unknown", got)
	}

	if err := os.WriteFile(keys, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, s.stderr, "failed, keeping the old keys")
	r := mustSucceed(t, "connect", s.addr, "--insecure", "--reconnect", "1", "--json")
	wantResumptions(t, parseReports(t, r.stdout), "none", "ticket")
}
