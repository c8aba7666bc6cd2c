package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/reprise-tls/reprise"
)

// connReport is one finished handshake, the JSON line of `connect --json`
// and `serve --json`. The field order and names are the command-line
// contract: do not change them.
type connReport struct {
	Conn        int     `json:"conn"`
	Version     string  `json:"version"`
	Cipher      string  `json:"cipher"`
	Resumed     bool    `json:"resumed"`
	Resumption  string  `json:"resumption"`
	Refused     string  `json:"refused"`
	EMS         bool    `json:"ems"`
	ALPN        string  `json:"alpn"`
	ServerName  string  `json:"server_name"`
	SessionID   string  `json:"session_id"`
	HandshakeMS float64 `json:"handshake_ms"`
	EarlyData   string  `json:"early_data"` // TLS 1.3 0-RTT: accepted, rejected or none
}

func newConnReport(n int, cs reprise.ConnectionState, took time.Duration) connReport {
	resumption := string(cs.Resumption)
	if resumption == "" {
		resumption = string(reprise.ResumedNone)
	}
	return connReport{
		Conn:        n,
		Version:     reprise.VersionName(cs.Version),
		Cipher:      reprise.CipherSuiteName(cs.CipherSuite),
		Resumed:     cs.DidResume,
		Resumption:  resumption,
		Refused:     string(cs.Refused),
		EMS:         cs.ExtendedMasterSecret,
		ALPN:        cs.NegotiatedProtocol,
		ServerName:  cs.ServerName,
		SessionID:   hex.EncodeToString(cs.SessionID),
		HandshakeMS: math.Round(float64(took.Microseconds())/10) / 100,
		EarlyData:   cs.EarlyData.String(),
	}
}

// writeJSON writes r as one line.
func (r connReport) writeJSON(w io.Writer) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}

// humanLine is the one-line summary, e.g.
// "conn 1: TLS1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 resumed=session-id ems=true 1.9ms".
func (r connReport) humanLine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conn %d: %s %s resumed=%s ems=%t", r.Conn, r.Version, r.Cipher, r.Resumption, r.EMS)
	if r.Refused != "" {
		fmt.Fprintf(&b, " refused=%s", r.Refused)
	}
	if r.ALPN != "" {
		fmt.Fprintf(&b, " alpn=%s", r.ALPN)
	}
	if r.EarlyData != "" && r.EarlyData != "none" {
		fmt.Fprintf(&b, " early_data=%s", r.EarlyData)
	}
	fmt.Fprintf(&b, " %.1fms", r.HandshakeMS)
	return b.String()
}
