package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reprise-tls/reprise"
	"github.com/reprise-tls/reprise/internal/diag"
	"github.com/reprise-tls/reprise/internal/wire"
)

// `reprise probe` diagnoses how a server resumes, from real handshakes:
// each finding comes from one or two connections made for it, and the
// whole probe makes at most probeMaxConnections, each bounded by
// probeConnTimeout. Some findings need the client to break its own rules
// (offer an EMS session without EMS, a TLS 1.3 ticket under another name,
// psk_ke alone); it does that through internal/diag, which only this
// module can use, never through the public Config.
//
// The probe does not verify the server's certificate: it diagnoses
// resumption, not trust (use `reprise connect` for that).

const (
	probeMaxConnections = 30
	probeConnTimeout    = 5 * time.Second
	// probeTicketWait is the longest a TLS 1.3 probe connection waits for
	// NewSessionTickets after the handshake; probeTicketQuiet ends the
	// wait early once tickets came and no more arrive for that long.
	probeTicketWait  = time.Second
	probeTicketQuiet = 100 * time.Millisecond
	probeTicketPoll  = 10 * time.Millisecond
	// probeOtherName is the server name a session is offered under to see
	// whether the server binds resumption to SNI (.invalid never exists,
	// RFC 6761, Section 6.4).
	probeOtherName = "reprise-probe.invalid"
)

// probeReport is the JSON object of `probe --json`. The field names are
// the command-line contract: do not change them; new findings go before
// connections.
// A *bool or *int64 that is nil is null (not tested); details says why.
type probeReport struct {
	Address    string   `json:"address"`
	ServerName string   `json:"server_name"`
	StartTLS   string   `json:"starttls"`
	Versions   []string `json:"versions"`

	SessionID           *bool  `json:"session_id"`
	Tickets             *bool  `json:"tickets"`
	TicketLifetimeHint  *int64 `json:"ticket_lifetime_hint"`
	TicketRenewal       *bool  `json:"ticket_renewal"`
	EMS                 *bool  `json:"ems"`
	EMSDowngradeRefused *bool  `json:"ems_downgrade_refused"`
	SNIBound            *bool  `json:"sni_bound"`

	TLS13PSK            *bool             `json:"tls13_psk"`
	TLS13Tickets        *int64            `json:"tls13_tickets"`
	TLS13TicketsResumed *int64            `json:"tls13_tickets_on_resumption"`
	TLS13TicketLifetime *int64            `json:"tls13_ticket_lifetime"`
	TLS13AgeAdd         *bool             `json:"tls13_age_add"`
	TicketReuse         *bool             `json:"ticket_reuse"`
	PSKKE               *bool             `json:"psk_ke"`
	PSKDHEKE            *bool             `json:"psk_dhe_ke"`
	FTPReuseRequired    *bool             `json:"ftp_reuse_required"`
	Connections         int               `json:"connections"`
	Details             map[string]string `json:"details"`
}

// probeFindings names the findings, by their JSON names, in output order.
var probeFindings = []string{
	"session_id", "tickets", "ticket_lifetime_hint", "ticket_renewal", "ems", "ems_downgrade_refused",
	"sni_bound", "tls13_psk", "tls13_tickets", "tls13_tickets_on_resumption", "tls13_ticket_lifetime",
	"tls13_age_add", "ticket_reuse", "psk_ke", "psk_dhe_ke", "ftp_reuse_required",
}

type probeOptions struct {
	serverName string
	starttls   string
	ftpLogin   string
	maxVersion string
	json       bool
}

func runProbe(args []string, stdout, stderr io.Writer) error {
	var o probeOptions
	fs := newFlagSet("probe")
	fs.StringVar(&o.serverName, "servername", "", "server name for SNI (default: the host)")
	fs.StringVar(&o.starttls, "starttls", "", "protocol to upgrade first: ftp (explicit FTPS, AUTH TLS)")
	fs.StringVar(&o.ftpLogin, "ftp-login", "anonymous:anonymous@", "USER:PASS for the --starttls ftp data-connection check")
	fs.StringVar(&o.maxVersion, "max-version", "1.3", "highest protocol version to probe: 1.2 or 1.3")
	fs.BoolVar(&o.json, "json", false, "print one JSON object")
	pos, err := parseFlags(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want exactly one HOST:PORT, got %d arguments", len(pos))
	}
	host, err := checkHostPort(pos[0])
	if err != nil {
		return err
	}
	if o.starttls != "" && o.starttls != "ftp" {
		return usageErrorf("--starttls %q: only ftp is supported", o.starttls)
	}
	user, pass, ok := strings.Cut(o.ftpLogin, ":")
	if !ok || user == "" {
		return usageErrorf("--ftp-login %q: want USER:PASS", o.ftpLogin)
	}
	maxV, err := parseVersion("max-version", o.maxVersion)
	if err != nil {
		return err
	}
	p := &prober{addr: pos[0], host: host, serverName: o.serverName, ftp: o.starttls == "ftp",
		user: user, pass: pass, maxVersion: maxV}
	if p.serverName == "" {
		p.serverName = host
	}
	r, err := p.run()
	if err != nil {
		return err
	}
	if o.json {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(line, '\n'))
		return err
	}
	r.writeHuman(stdout)
	return nil
}

// prober makes the probe's connections and counts them.
type prober struct {
	addr, host, serverName string
	ftp                    bool
	user, pass             string
	maxVersion             uint16
	conns                  int
}

var errProbeBudget = errors.New("probe: connection budget used up")

// probeConn is one finished handshake, still open, with the tickets the
// server sent on it.
type probeConn struct {
	conn    *reprise.Conn
	ctrl    *ftpControl // with --starttls ftp
	state   reprise.ConnectionState
	mu      sync.Mutex
	tickets []diag.Ticket
}

func (pc *probeConn) ticketList() []diag.Ticket {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return append([]diag.Ticket(nil), pc.tickets...)
}

// probeConfig says how one probe connection differs from a plain client.
type probeConfig struct {
	version    uint16 // the only version offered
	noTickets  bool
	offer      *reprise.Session
	serverName string // "" means the probed name
	knobs      diag.ClientKnobs
	emsOff     bool
}

// connect makes one connection: TCP, AUTH TLS with --starttls ftp, and
// the handshake, within probeConnTimeout. A TLS 1.3 connection also waits
// briefly for the server's tickets.
func (p *prober) connect(pcfg probeConfig) (*probeConn, error) {
	if p.conns >= probeMaxConnections {
		return nil, errProbeBudget
	}
	p.conns++
	pc := &probeConn{}
	cfg := &reprise.Config{
		ServerName:             p.serverName,
		InsecureSkipVerify:     true,
		MinVersion:             pcfg.version,
		MaxVersion:             pcfg.version,
		SessionTicketsDisabled: pcfg.noTickets,
		Session:                pcfg.offer,
	}
	if pcfg.serverName != "" {
		cfg.ServerName = pcfg.serverName
	}
	if pcfg.emsOff {
		cfg.ExtendedMasterSecret = reprise.EMSDisable
	}
	knobs := pcfg.knobs
	knobs.OnTicket = func(t diag.Ticket) {
		pc.mu.Lock()
		pc.tickets = append(pc.tickets, t)
		pc.mu.Unlock()
	}
	diag.Set(cfg, knobs)

	ctx, cancel := context.WithTimeout(context.Background(), probeConnTimeout)
	defer cancel()
	d := net.Dialer{Timeout: probeConnTimeout}
	raw, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	if p.ftp {
		if pc.ctrl, err = ftpStartTLS(raw, nil); err != nil {
			raw.Close()
			return nil, err
		}
	}
	pc.conn = reprise.Client(raw, cfg)
	err = pc.conn.HandshakeContext(ctx)
	pc.state = pc.conn.ConnectionState()
	if err != nil {
		pc.conn.Close()
		return pc, err
	}
	if pc.ctrl != nil {
		pc.ctrl.secure(pc.conn)
	}
	if pcfg.version == reprise.VersionTLS13 && !pcfg.noTickets {
		pc.awaitTickets()
	}
	return pc, nil
}

// awaitTickets reads until the server's NewSessionTickets have come (RFC
// 8446, Section 4.6.1: they follow the handshake): at most
// probeTicketWait, and probeTicketQuiet after the last one. Read returns
// only with application data, so it reads in short slices and counts the
// tickets between them.
func (pc *probeConn) awaitTickets() {
	deadline := time.Now().Add(probeTicketWait)
	buf := make([]byte, 1024)
	seen, lastNew := 0, time.Now()
	for now := time.Now(); now.Before(deadline); now = time.Now() {
		if n := len(pc.ticketList()); n != seen {
			seen, lastNew = n, now
		} else if seen > 0 && now.Sub(lastNew) >= probeTicketQuiet {
			break
		}
		pc.conn.SetReadDeadline(now.Add(probeTicketPoll))
		var ne net.Error
		if _, err := pc.conn.Read(buf); err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			break
		}
	}
	pc.conn.SetReadDeadline(time.Time{})
}

func (pc *probeConn) close() {
	if pc != nil && pc.conn != nil {
		pc.conn.Close()
	}
}

func yes(v bool) *bool { return &v }

func num(v int64) *int64 { return &v }

// run makes every check and returns the report. It fails only when the
// server cannot be reached at all.
func (p *prober) run() (*probeReport, error) {
	r := &probeReport{Address: p.addr, ServerName: p.serverName, StartTLS: "", Versions: []string{}, Details: map[string]string{}}
	if p.ftp {
		r.StartTLS = "ftp"
	}
	s12, err12 := p.probe12(r)
	s13, err13 := p.probe13(r)
	if len(r.Versions) == 0 {
		// Nothing to diagnose: the server is unreachable or speaks no
		// TLS we offer.
		if err13 == nil {
			return nil, fmt.Errorf("probe %s: no handshake succeeded: TLS 1.2: %w", p.addr, err12)
		}
		return nil, fmt.Errorf("probe %s: no handshake succeeded: TLS 1.2: %v; TLS 1.3: %w", p.addr, err12, err13)
	}
	p.probeSNI(r, s12, s13)
	p.probeFTP(r)
	r.Connections = p.conns
	return r, nil
}

// probe12 checks TLS 1.2: support, EMS, session IDs, tickets (lifetime
// hint, renewal) and the EMS downgrade. It returns a resumable session
// for the SNI check, or nil.
func (p *prober) probe12(r *probeReport) (*reprise.Session, error) {
	skip := func(why string, fields ...string) {
		for _, f := range fields {
			r.Details[f] = why
		}
	}
	all := []string{"session_id", "tickets", "ticket_lifetime_hint", "ticket_renewal", "ems", "ems_downgrade_refused"}

	// A full handshake offering tickets: versions, EMS, a ticket.
	full, err := p.connect(probeConfig{version: reprise.VersionTLS12})
	if err != nil {
		full.close()
		skip("TLS 1.2 handshake failed: "+err.Error(), all...)
		return nil, err
	}
	full.close()
	r.Versions = append(r.Versions, "TLS1.2")
	r.EMS = yes(full.state.ExtendedMasterSecret)
	if full.state.ExtendedMasterSecret {
		r.Details["ems"] = "the server negotiated extended_master_secret (RFC 7627)"
	} else {
		r.Details["ems"] = "the server did not answer extended_master_secret: sessions are not bound to their handshake, and clients that require EMS for resumption (Windows SChannel since 2019) never resume"
	}
	ticketSession := full.conn.Session()

	// Session IDs: a full handshake without the ticket extension, then
	// one offering its session ID.
	var idSession *reprise.Session
	first, err := p.connect(probeConfig{version: reprise.VersionTLS12, noTickets: true})
	first.close()
	switch {
	case err != nil:
		r.Details["session_id"] = "full handshake without tickets failed: " + err.Error()
	case len(first.state.SessionID) == 0:
		r.SessionID = yes(false)
		r.Details["session_id"] = "the server sent an empty session ID: it does not cache sessions"
	default:
		idSession = first.conn.Session()
		second, err := p.connect(probeConfig{version: reprise.VersionTLS12, noTickets: true, offer: idSession})
		second.close()
		switch {
		case err != nil:
			r.Details["session_id"] = "resumption attempt failed: " + err.Error()
		case second.state.Resumption == reprise.ResumedSessionID:
			r.SessionID = yes(true)
			r.Details["session_id"] = "a session ID from a full handshake resumed the next connection"
		default:
			r.SessionID = yes(false)
			r.Details["session_id"] = "the server issued a session ID but made a full handshake when it was offered"
			if p.ftp {
				// vsftpd forks per control connection, and its session
				// cache lives in that process.
				r.Details["session_id"] += " on a new control connection (an FTP server may keep sessions per control connection: see ftp_reuse_required)"
			}
		}
	}

	// Tickets: the first connection's ticket, offered.
	tickets := full.ticketList()
	switch {
	case len(tickets) == 0 || ticketSession == nil || !ticketSession.HasTicket():
		r.Tickets = yes(false)
		r.Details["tickets"] = "the server sent no NewSessionTicket (RFC 5077): tickets are off"
		skip("no TLS 1.2 ticket", "ticket_lifetime_hint", "ticket_renewal")
	default:
		r.TicketLifetimeHint = num(int64(tickets[0].Lifetime))
		r.Details["ticket_lifetime_hint"] = fmt.Sprintf("ticket_lifetime_hint %d s (0 means unspecified, RFC 5077, Section 3.3)", tickets[0].Lifetime)
		again, err := p.connect(probeConfig{version: reprise.VersionTLS12, offer: ticketSession})
		again.close()
		switch {
		case err != nil:
			r.Details["tickets"] = "resumption attempt failed: " + err.Error()
			r.Details["ticket_renewal"] = "no ticket resumption"
		case again.state.Resumption == reprise.ResumedTicket:
			r.Tickets = yes(true)
			r.Details["tickets"] = "a ticket from a full handshake resumed the next connection"
			renewed := len(again.ticketList()) > 0
			r.TicketRenewal = yes(renewed)
			if renewed {
				r.Details["ticket_renewal"] = "the resumed connection received a new ticket"
			} else {
				r.Details["ticket_renewal"] = "the resumed connection kept its ticket (no NewSessionTicket)"
			}
		default:
			r.Tickets = yes(false)
			r.Details["tickets"] = "the server issued a ticket but made a full handshake when it was offered"
			r.Details["ticket_renewal"] = "no ticket resumption"
		}
	}

	// The EMS downgrade: an EMS session offered by a hello without EMS.
	// RFC 7627, Section 5.3: the server MUST abort.
	offer := idSession
	if r.SessionID == nil || !*r.SessionID {
		offer = ticketSession
		if r.Tickets == nil || !*r.Tickets {
			offer = nil
		}
	}
	switch {
	case !full.state.ExtendedMasterSecret:
		r.Details["ems_downgrade_refused"] = "not tested: the server does not negotiate EMS"
	case offer == nil:
		r.Details["ems_downgrade_refused"] = "not tested: no TLS 1.2 session resumes"
	default:
		down, err := p.connect(probeConfig{version: reprise.VersionTLS12, noTickets: offer == idSession, offer: offer,
			emsOff: true, knobs: diag.ClientKnobs{OfferEMSSessionWithoutEMS: true}})
		down.close()
		var ae *reprise.AlertError
		switch {
		case errors.Is(err, reprise.ErrEMSDowngrade):
			r.EMSDowngradeRefused = yes(false)
			r.Details["ems_downgrade_refused"] = "the server resumed an EMS session for a hello without EMS (RFC 7627, Section 5.3 says it MUST abort)"
		case errors.As(err, &ae):
			r.EMSDowngradeRefused = yes(true)
			r.Details["ems_downgrade_refused"] = "the server aborted with " + err.Error() + " (RFC 7627, Section 5.3)"
		case err != nil:
			r.Details["ems_downgrade_refused"] = "the attempt failed: " + err.Error()
		case down.state.DidResume:
			r.EMSDowngradeRefused = yes(false)
			r.Details["ems_downgrade_refused"] = "the server resumed an EMS session for a hello without EMS"
		default:
			r.EMSDowngradeRefused = yes(true)
			r.Details["ems_downgrade_refused"] = "the server made a full handshake (RFC 7627, Section 5.3 says it MUST abort)"
		}
	}
	switch {
	case r.SessionID != nil && *r.SessionID:
		return idSession, nil
	case r.Tickets != nil && *r.Tickets:
		return ticketSession, nil
	}
	return nil, nil
}

// probe13 checks TLS 1.3: support, tickets per connection and their
// fields, PSK resumption, reuse of a ticket, and the PSK modes. It
// returns an unused ticket for the SNI check, or nil.
func (p *prober) probe13(r *probeReport) (*reprise.Session, error) {
	all := []string{"tls13_psk", "tls13_tickets", "tls13_tickets_on_resumption", "tls13_ticket_lifetime", "tls13_age_add", "ticket_reuse", "psk_ke", "psk_dhe_ke"}
	skip := func(why string, fields ...string) {
		for _, f := range fields {
			r.Details[f] = why
		}
	}
	if p.maxVersion < reprise.VersionTLS13 {
		skip("not tested: --max-version 1.2", all...)
		return nil, nil
	}
	full, err := p.connect(probeConfig{version: reprise.VersionTLS13})
	full.close()
	if err != nil {
		skip("TLS 1.3 handshake failed: "+err.Error(), all...)
		return nil, err
	}
	r.Versions = append(r.Versions, "TLS1.3")
	tickets := full.ticketList()
	r.TLS13Tickets = num(int64(len(tickets)))
	r.Details["tls13_tickets"] = fmt.Sprintf("%d NewSessionTicket after a full handshake", len(tickets))
	var unused []*reprise.Session
	for s := full.conn.TakeSession(); s != nil; s = full.conn.TakeSession() {
		unused = append(unused, s)
	}
	if len(tickets) == 0 || len(unused) == 0 {
		r.TLS13PSK = yes(false)
		r.Details["tls13_psk"] = "the server sent no usable NewSessionTicket: TLS 1.3 cannot resume"
		skip("no TLS 1.3 ticket", "tls13_tickets_on_resumption", "tls13_ticket_lifetime", "tls13_age_add", "ticket_reuse", "psk_ke", "psk_dhe_ke")
		return nil, nil
	}
	r.TLS13TicketLifetime = num(int64(tickets[0].Lifetime))
	r.Details["tls13_ticket_lifetime"] = fmt.Sprintf("ticket_lifetime %d s", tickets[0].Lifetime)
	ageAdd := false
	for _, t := range tickets {
		ageAdd = ageAdd || t.AgeAdd != 0
	}
	r.TLS13AgeAdd = yes(ageAdd)
	if ageAdd {
		r.Details["tls13_age_add"] = "ticket_age_add is set, so the ticket age is obscured on the wire (RFC 8446, Section 4.6.1)"
	} else {
		r.Details["tls13_age_add"] = "ticket_age_add is 0 in every ticket: the ticket age is sent in clear"
	}
	take := func() *reprise.Session {
		if len(unused) == 0 {
			return nil
		}
		s := unused[0]
		unused = unused[1:]
		return s
	}

	// PSK resumption with psk_dhe_ke, the client's default.
	ticket := take()
	resumed, err := p.connect(probeConfig{version: reprise.VersionTLS13, offer: ticket})
	resumed.close()
	switch {
	case err != nil:
		skip("resumption attempt failed: "+err.Error(), "tls13_psk", "psk_dhe_ke", "tls13_tickets_on_resumption", "ticket_reuse")
	case resumed.state.Resumption != reprise.ResumedPSK:
		r.TLS13PSK, r.PSKDHEKE = yes(false), yes(false)
		r.Details["tls13_psk"] = "the server made a full handshake when its ticket was offered"
		r.Details["psk_dhe_ke"] = "a ticket offered with psk_dhe_ke was not accepted"
		skip("no TLS 1.3 resumption", "tls13_tickets_on_resumption", "ticket_reuse")
	default:
		r.TLS13PSK, r.PSKDHEKE = yes(true), yes(true)
		r.Details["tls13_psk"] = "a ticket from a full handshake resumed the next connection"
		r.Details["psk_dhe_ke"] = "resumed with psk_dhe_ke (a fresh key exchange with the PSK)"
		n := len(resumed.ticketList())
		r.TLS13TicketsResumed = num(int64(n))
		r.Details["tls13_tickets_on_resumption"] = fmt.Sprintf("%d NewSessionTicket after a resumption", n)
		for s := resumed.conn.TakeSession(); s != nil; s = resumed.conn.TakeSession() {
			unused = append(unused, s)
		}
		// The same ticket again: RFC 8446, Appendix C.4 says clients
		// SHOULD NOT reuse a ticket; a server with single-use tickets (or
		// 0-RTT anti-replay on every ticket) refuses it.
		again, err := p.connect(probeConfig{version: reprise.VersionTLS13, offer: ticket})
		again.close()
		switch {
		case err != nil:
			r.Details["ticket_reuse"] = "the attempt failed: " + err.Error()
		case again.state.DidResume:
			r.TicketReuse = yes(true)
			r.Details["ticket_reuse"] = "a ticket already used resumed again: tickets are not single-use"
		default:
			r.TicketReuse = yes(false)
			r.Details["ticket_reuse"] = "a ticket already used was refused: tickets are single-use"
		}
	}

	// psk_ke alone: resumption without a fresh key exchange.
	if ticket := take(); ticket == nil {
		r.Details["psk_ke"] = "not tested: no unused ticket left"
	} else {
		plain, err := p.connect(probeConfig{version: reprise.VersionTLS13, offer: ticket,
			knobs: diag.ClientKnobs{PSKModes: []uint8{wire.PSKModePlain}}})
		plain.close()
		switch {
		case err != nil:
			r.PSKKE = yes(false)
			r.Details["psk_ke"] = "a hello offering only psk_ke failed: " + err.Error()
		case plain.state.DidResume && plain.state.CurveID == 0:
			r.PSKKE = yes(true)
			r.Details["psk_ke"] = "resumed with psk_ke: no fresh key exchange, so no forward secrecy for the resumed connection"
		default:
			r.PSKKE = yes(false)
			r.Details["psk_ke"] = "a ticket offered with psk_ke alone was not accepted (full handshake)"
		}
	}
	return take(), nil
}

// probeSNI offers a resumable session under another server name: a
// server that binds sessions to SNI (RFC 6066, Section 3; RFC 8446,
// Section 4.6.1) makes a full handshake.
func (p *prober) probeSNI(r *probeReport, s12, s13 *reprise.Session) {
	other := probeOtherName
	try := func(version uint16, s *reprise.Session, knobs diag.ClientKnobs) bool {
		pc, err := p.connect(probeConfig{version: version, offer: s, serverName: other, knobs: knobs,
			noTickets: version == reprise.VersionTLS12 && !s.HasTicket()})
		pc.close()
		name := reprise.VersionName(version)
		switch {
		case err != nil:
			r.Details["sni_bound"] = fmt.Sprintf("%s handshake with server name %q failed: %v", name, other, err)
			return false
		case pc.state.DidResume:
			r.SNIBound = yes(false)
			r.Details["sni_bound"] = fmt.Sprintf("a %s session made for %q resumed under %q", name, p.serverName, other)
		default:
			r.SNIBound = yes(true)
			r.Details["sni_bound"] = fmt.Sprintf("a %s session made for %q was not resumed under %q", name, p.serverName, other)
		}
		return true
	}
	switch {
	case s12 != nil:
		try(reprise.VersionTLS12, s12, diag.ClientKnobs{OfferSessionUnderAnyName: true})
	case s13 != nil:
		try(reprise.VersionTLS13, s13, diag.ClientKnobs{OfferSessionUnderAnyName: true})
	default:
		r.Details["sni_bound"] = "not tested: no session resumes"
	}
}

// probeFTP is vsftpd's require_ssl_reuse check: a data connection that
// resumes the control connection's session must be accepted, and one that
// offers no session refused (522). Each runs under its own logged-in
// control connection, because vsftpd ends the control connection after a
// 522.
func (p *prober) probeFTP(r *probeReport) {
	const field = "ftp_reuse_required"
	if !p.ftp {
		r.Details[field] = "not tested: no --starttls ftp"
		return
	}
	version := reprise.VersionTLS12
	if slices.Contains(r.Versions, "TLS1.3") {
		version = reprise.VersionTLS13
	}
	// list logs in on a new control connection and runs LIST over a data
	// connection that resumes the control session or offers none.
	list := func(resume bool) (int, string, reprise.ConnectionState, error) {
		var st reprise.ConnectionState
		ctrl, err := p.connect(probeConfig{version: version})
		if err != nil {
			ctrl.close()
			return 0, "", st, fmt.Errorf("control connection: %w", err)
		}
		defer ctrl.close()
		if err := ctrl.ctrl.login(p.user, p.pass); err != nil {
			return 0, "", st, err
		}
		data := &reprise.Config{ServerName: p.serverName, InsecureSkipVerify: true, MinVersion: version, MaxVersion: version}
		if resume {
			if data.Session = ctrl.conn.TakeSession(); data.Session == nil {
				return 0, "", st, errors.New("the control connection has no session to resume")
			}
		} else {
			data.DisableSessionOffer = true
		}
		if p.conns >= probeMaxConnections {
			return 0, "", st, errProbeBudget
		}
		p.conns++
		return ctrl.ctrl.list(p.host, data)
	}
	resCode, resMsg, st, err := list(true)
	if err != nil {
		r.Details[field] = "not tested: data connection resuming the control session: " + err.Error()
		return
	}
	if !st.DidResume || resCode >= 400 {
		r.Details[field] = fmt.Sprintf("not tested: a data connection offering the control session got %d %s (resumed: %v)", resCode, resMsg, st.DidResume)
		return
	}
	freshCode, freshMsg, _, err := list(false)
	switch {
	case err != nil:
		r.Details[field] = "not tested: data connection without resumption: " + err.Error()
	case freshCode >= 400:
		r.FTPReuseRequired = yes(true)
		r.Details[field] = fmt.Sprintf("%s data connection without resumption: %d %s; resuming the control session: %d %s",
			reprise.VersionName(version), freshCode, freshMsg, resCode, resMsg)
	default:
		r.FTPReuseRequired = yes(false)
		r.Details[field] = fmt.Sprintf("%s data connection without resumption was accepted (%d %s)", reprise.VersionName(version), freshCode, freshMsg)
	}
}

// writeHuman prints one line per finding: name, value, why.
func (r *probeReport) writeHuman(w io.Writer) {
	fmt.Fprintf(w, "%-28s %s\n", "address", r.Address)
	versions := strings.Join(r.Versions, " ")
	if versions == "" {
		versions = "none"
	}
	fmt.Fprintf(w, "%-28s %s\n", "versions", versions)
	values := r.values()
	for _, name := range probeFindings {
		fmt.Fprintf(w, "%-28s %-10s %s\n", name, values[name], r.Details[name])
	}
	fmt.Fprintf(w, "%-28s %d\n", "connections", r.Connections)
}

// values renders each finding's value for the human output.
func (r *probeReport) values() map[string]string {
	b := func(v *bool) string {
		switch {
		case v == nil:
			return "n/a"
		case *v:
			return "yes"
		}
		return "no"
	}
	n := func(v *int64) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprint(*v)
	}
	return map[string]string{
		"session_id": b(r.SessionID), "tickets": b(r.Tickets), "ticket_lifetime_hint": n(r.TicketLifetimeHint),
		"ticket_renewal": b(r.TicketRenewal), "ems": b(r.EMS), "ems_downgrade_refused": b(r.EMSDowngradeRefused),
		"sni_bound": b(r.SNIBound), "tls13_psk": b(r.TLS13PSK), "tls13_tickets": n(r.TLS13Tickets),
		"tls13_tickets_on_resumption": n(r.TLS13TicketsResumed), "tls13_ticket_lifetime": n(r.TLS13TicketLifetime),
		"tls13_age_add": b(r.TLS13AgeAdd), "ticket_reuse": b(r.TicketReuse), "psk_ke": b(r.PSKKE),
		"psk_dhe_ke": b(r.PSKDHEKE), "ftp_reuse_required": b(r.FTPReuseRequired),
	}
}
