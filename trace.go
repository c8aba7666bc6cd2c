package reprise

import (
	"fmt"
	"strings"

	"github.com/reprise-tls/reprise/internal/alert"
	"github.com/reprise-tls/reprise/internal/wire"
)

// TraceEvent is one message of a handshake, for `reprise connect --trace`
// and for debugging why a connection did or did not resume.
type TraceEvent struct {
	Sent    bool   // we sent it (else received)
	Message string // "ClientHello", "ChangeCipherSpec", "Alert", ...
	Detail  string // what matters for resumption, e.g. "session_id=32 ext=[session_ticket extended_master_secret]"
}

func (e TraceEvent) String() string {
	dir := "<-"
	if e.Sent {
		dir = "->"
	}
	if e.Detail == "" {
		return dir + " " + e.Message
	}
	return dir + " " + e.Message + " " + e.Detail
}

// Tracer receives a connection's message flow. Set Config.Tracer.
type Tracer func(TraceEvent)

func (c *Conn) trace(ev TraceEvent) {
	if f := c.config.Tracer; f != nil {
		f(ev)
	}
}

func (c *Conn) traceCCS(sent bool) {
	if c.config.Tracer != nil {
		c.trace(TraceEvent{Sent: sent, Message: "ChangeCipherSpec"})
	}
}

func (c *Conn) traceAlert(sent bool, a alert.Alert) {
	if c.config.Tracer != nil {
		c.trace(TraceEvent{Sent: sent, Message: "Alert", Detail: a.String()})
	}
}

func (c *Conn) traceMessage(sent bool, msg []byte) {
	if c.config.Tracer == nil || len(msg) < 4 {
		return
	}
	c.trace(TraceEvent{Sent: sent, Message: msgName(msg[0]), Detail: messageDetail(msg)})
}

var extNames = map[uint16]string{
	wire.ExtServerName: "server_name", wire.ExtSupportedGroups: "supported_groups",
	wire.ExtECPointFormats: "ec_point_formats", wire.ExtSignatureAlgorithms: "signature_algorithms",
	wire.ExtALPN: "alpn", wire.ExtEncryptThenMAC: "encrypt_then_mac",
	wire.ExtExtendedMasterSecret: "extended_master_secret", wire.ExtSessionTicket: "session_ticket",
	wire.ExtPreSharedKey: "pre_shared_key", wire.ExtEarlyData: "early_data",
	wire.ExtSupportedVersions: "supported_versions", wire.ExtCookie: "cookie",
	wire.ExtPSKKeyExchangeModes: "psk_key_exchange_modes", wire.ExtKeyShare: "key_share",
	wire.ExtRenegotiationInfo: "renegotiation_info", wire.ExtStatusRequest: "status_request",
	wire.ExtSignatureAlgorithmsCert: "signature_algorithms_cert", wire.ExtPadding: "padding",
}

// resumptionExts are the extensions a trace names: those that decide
// whether and how a handshake resumes.
var resumptionExts = map[uint16]bool{
	wire.ExtSessionTicket: true, wire.ExtExtendedMasterSecret: true, wire.ExtPreSharedKey: true,
	wire.ExtPSKKeyExchangeModes: true, wire.ExtKeyShare: true, wire.ExtSupportedVersions: true,
	wire.ExtEarlyData: true, wire.ExtServerName: true, wire.ExtALPN: true, wire.ExtEncryptThenMAC: true,
}

func extList(exts []uint16) string {
	var names []string
	for _, e := range exts {
		if resumptionExts[e] {
			names = append(names, extNames[e])
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

// messageDetail summarises the fields of a message that matter for
// resumption.
func messageDetail(msg []byte) string {
	switch msg[0] {
	case wire.TypeClientHello:
		var h wire.ClientHello
		if h.Unmarshal(msg) != nil {
			return ""
		}
		d := fmt.Sprintf("session_id=%d ticket=%d ext=%s", len(h.SessionID), len(h.SessionTicket), extList(h.Extensions))
		if len(h.KeyShares) > 0 {
			var groups []string
			for _, ks := range h.KeyShares {
				groups = append(groups, CurveName(CurveID(ks.Group)))
			}
			d += " key_share=" + strings.Join(groups, ",")
		}
		if len(h.PSKIdentities) > 0 {
			d += fmt.Sprintf(" psk_identities=%d", len(h.PSKIdentities))
		}
		return d
	case wire.TypeServerHello:
		var h wire.ServerHello
		if h.Unmarshal(msg) != nil {
			return ""
		}
		name := ""
		if h.IsHelloRetryRequest() {
			name = "HelloRetryRequest "
		}
		d := fmt.Sprintf("%ssession_id=%d suite=%s ext=%s", name, len(h.SessionID), CipherSuiteName(h.CipherSuite), extList(h.Extensions))
		if h.KeyShare.Group != 0 {
			d += " key_share=" + CurveName(CurveID(h.KeyShare.Group))
		}
		if h.SelectedGroup != 0 {
			d += " selected_group=" + CurveName(CurveID(h.SelectedGroup))
		}
		if h.HasSelectedPSK {
			d += fmt.Sprintf(" selected_psk=%d", h.SelectedPSK)
		}
		return d
	case wire.TypeNewSessionTicket:
		return fmt.Sprintf("len=%d", len(msg)-4)
	}
	return ""
}
