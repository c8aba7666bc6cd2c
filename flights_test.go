package reprise

import (
	"strings"
	"testing"
)

// recordFlight runs one connection and returns the client's view of the
// message flow, e.g. "-> ClientHello", "<- ServerHello".
func recordFlight(t *testing.T, ccfg, scfg *Config) []string {
	t.Helper()
	var flow []string
	c := ccfg.Clone()
	c.Tracer = func(ev TraceEvent) { flow = append(flow, strings.Fields(ev.String())[0]+" "+ev.Message) }
	connect12(t, c, scfg)
	return flow
}

// TestFlights12 checks the message order of RFC 5246, Section 7.3
// (Figures 1 and 2) and RFC 5077, Section 3.1 and 3.2, as the client
// sees it.
func TestFlights12(t *testing.T) {
	full := []string{"-> ClientHello", "<- ServerHello", "<- Certificate", "<- ServerKeyExchange", "<- ServerHelloDone",
		"-> ClientKeyExchange", "-> ChangeCipherSpec", "-> Finished", "<- ChangeCipherSpec", "<- Finished"}
	fullTicket := []string{"-> ClientHello", "<- ServerHello", "<- Certificate", "<- ServerKeyExchange", "<- ServerHelloDone",
		"-> ClientKeyExchange", "-> ChangeCipherSpec", "-> Finished", "<- NewSessionTicket", "<- ChangeCipherSpec", "<- Finished"}
	abbreviated := []string{"-> ClientHello", "<- ServerHello", "<- ChangeCipherSpec", "<- Finished", "-> ChangeCipherSpec", "-> Finished"}
	renewed := []string{"-> ClientHello", "<- ServerHello", "<- NewSessionTicket", "<- ChangeCipherSpec", "<- Finished", "-> ChangeCipherSpec", "-> Finished"}
	clientAuth := []string{"-> ClientHello", "<- ServerHello", "<- Certificate", "<- ServerKeyExchange", "<- CertificateRequest", "<- ServerHelloDone",
		"-> Certificate", "-> ClientKeyExchange", "-> CertificateVerify", "-> ChangeCipherSpec", "-> Finished", "<- NewSessionTicket", "<- ChangeCipherSpec", "<- Finished"}

	check := func(name string, got, want []string) {
		t.Helper()
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s flow:\n got %v\nwant %v", name, got, want)
		}
	}

	scfg := testServerConfig(t)
	ccfg := resumeClient(t, false)
	check("full, session ID", recordFlight(t, ccfg, scfg), full)
	check("abbreviated, session ID", recordFlight(t, ccfg, scfg), abbreviated)

	ccfg = resumeClient(t, true)
	check("full, ticket", recordFlight(t, ccfg, scfg), fullTicket)
	check("abbreviated, ticket", recordFlight(t, ccfg, scfg), abbreviated)

	old, _ := NewTicketKeys(256, 1)
	s1 := testServerConfig(t)
	s1.TicketKeys = old
	ccfg = resumeClient(t, true)
	recordFlight(t, ccfg, s1)
	newKeys, _ := NewTicketKeys(256, 1)
	s2 := testServerConfig(t)
	s2.TicketKeys = &TicketKeys{ring: mustRing(t, append(newKeys.ring.Keys(), old.ring.Keys()...))}
	check("abbreviated, ticket renewed", recordFlight(t, ccfg, s2), renewed)

	sa := testServerConfig(t)
	sa.ClientAuth = RequireAnyClientCert
	ca := testClientConfig(t)
	ca.MaxVersion = VersionTLS12
	ca.Certificates = []Certificate{testClientCert(t)}
	check("full, client certificate", recordFlight(t, ca, sa), clientAuth)
}
