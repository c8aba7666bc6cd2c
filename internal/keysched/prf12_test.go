package keysched

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"testing"
)

// TestPRF12KnownAnswer uses the P_SHA256 and P_SHA384 vectors posted to the
// IETF TLS working group list (msg03416) and used by many TLS test suites.
func TestPRF12KnownAnswer(t *testing.T) {
	cases := []struct {
		h            crypto.Hash
		secret, seed string
		want         string
	}{
		{
			crypto.SHA256, "9bbe436ba940f017b17652849a71db35", "a0ba9f936cda311827a6f796ffd5198c",
			`e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
			6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
			4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
			87347b66`,
		},
		{
			crypto.SHA384, "b80b733d6ceefcdc71566ea48e5567df", "cd665cf6a8447dd6ff8b27555edb7465",
			`7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd
			e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd
			8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425
			9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6
			91c8f3a26854308d5eaa3be85e0990703d73e56f`,
		},
	}
	for _, c := range cases {
		want := unhex(t, c.want)
		out := make([]byte, len(want))
		PRF12(c.h, unhex(t, c.secret), "test label", unhex(t, c.seed), out)
		checkHex(t, c.h.String(), out, c.want)
		// A shorter output is a prefix of a longer one.
		short := make([]byte, 33)
		PRF12(c.h, unhex(t, c.secret), "test label", unhex(t, c.seed), short)
		if !bytes.Equal(short, want[:33]) {
			t.Errorf("%v: 33-byte output is not a prefix", c.h)
		}
		PRF12(c.h, unhex(t, c.secret), "test label", unhex(t, c.seed), nil) // must not panic
	}
}

// referencePRF is a second, deliberately naive TLS 1.2 PRF written straight
// from RFC 5246 Section 5's definition: every A(i) is recomputed from A(0).
func referencePRF(h crypto.Hash, secret []byte, label string, seed []byte, n int) []byte {
	mac := func(data ...[]byte) []byte {
		m := hmac.New(h.New, secret)
		for _, d := range data {
			m.Write(d)
		}
		return m.Sum(nil)
	}
	fullSeed := append([]byte(label), seed...)
	var a func(i int) []byte
	a = func(i int) []byte {
		if i == 0 {
			return fullSeed
		}
		return mac(a(i - 1))
	}
	var out []byte
	for i := 1; len(out) < n; i++ {
		out = append(out, mac(a(i), fullSeed)...)
	}
	return out[:n]
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestTLS12DerivationsAgainstReference checks each TLS 1.2 derivation against
// the reference PRF with the labels and seeds spelled out from the RFCs, and
// pins the SHA-256 results so a change to both would still be caught.
func TestTLS12DerivationsAgainstReference(t *testing.T) {
	preMaster := bytes.Repeat([]byte{0x03, 0x03, 0xab}, 16)
	clientRandom := bytes.Repeat([]byte{0xc1}, 32)
	serverRandom := bytes.Repeat([]byte{0x5e}, 32)
	sessionHash := hashOf(crypto.SHA256, []byte("ClientHello..ClientKeyExchange"))

	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		ms := MasterSecret12(h, preMaster, clientRandom, serverRandom)
		if want := referencePRF(h, preMaster, "master secret", concat(clientRandom, serverRandom), 48); !bytes.Equal(ms, want) {
			t.Errorf("%v MasterSecret12 = %x, want %x", h, ms, want)
		}
		ems := ExtendedMasterSecret(h, preMaster, sessionHash)
		if want := referencePRF(h, preMaster, "extended master secret", sessionHash, 48); !bytes.Equal(ems, want) {
			t.Errorf("%v ExtendedMasterSecret = %x, want %x", h, ems, want)
		}
		kb := KeyBlock(h, ms, clientRandom, serverRandom, 104)
		if want := referencePRF(h, ms, "key expansion", concat(serverRandom, clientRandom), 104); !bytes.Equal(kb, want) {
			t.Errorf("%v KeyBlock = %x, want %x", h, kb, want)
		}
		for _, fromClient := range []bool{true, false} {
			label := "server finished"
			if fromClient {
				label = "client finished"
			}
			fin := Finished12(h, ms, fromClient, sessionHash)
			if want := referencePRF(h, ms, label, sessionHash, 12); !bytes.Equal(fin, want) {
				t.Errorf("%v Finished12(%v) = %x, want %x", h, fromClient, fin, want)
			}
		}
		exp := ExportKeyingMaterial12(h, ms, clientRandom, serverRandom, "EXPORTER-x", []byte("ctx"), true, 40)
		if want := referencePRF(h, ms, "EXPORTER-x", concat(clientRandom, serverRandom, []byte{0, 3}, []byte("ctx")), 40); !bytes.Equal(exp, want) {
			t.Errorf("%v exporter with context = %x, want %x", h, exp, want)
		}
		exp = ExportKeyingMaterial12(h, ms, clientRandom, serverRandom, "EXPORTER-x", nil, false, 40)
		if want := referencePRF(h, ms, "EXPORTER-x", concat(clientRandom, serverRandom), 40); !bytes.Equal(exp, want) {
			t.Errorf("%v exporter without context = %x, want %x", h, exp, want)
		}
		// RFC 5705: an empty context differs from no context.
		if bytes.Equal(exp, ExportKeyingMaterial12(h, ms, clientRandom, serverRandom, "EXPORTER-x", nil, true, 40)) {
			t.Errorf("%v: empty and absent exporter context agree", h)
		}
	}

	// Pinned SHA-256 outputs for the inputs above, also computed outside Go
	// (Python's hmac module) when they were recorded.
	h := crypto.SHA256
	ms := MasterSecret12(h, preMaster, clientRandom, serverRandom)
	checkHex(t, "master secret", ms, pinnedMasterSecret12)
	checkHex(t, "extended master secret", ExtendedMasterSecret(h, preMaster, sessionHash), pinnedExtendedMasterSecret)
	checkHex(t, "client finished", Finished12(h, ms, true, sessionHash), pinnedClientFinished12)
}

const (
	pinnedMasterSecret12       = "ab544663ad9eeaeec33654791d60b362bc807f21f507d9762d33a6ef746fa3d18d994b8b8160ddfed56d364c7438dfc5"
	pinnedExtendedMasterSecret = "aa14661c10ed9eacd7994607f98d2c0fecdedb156c6c27fa472d999c9b06856cf2587e6042ce22f359665811c7d21dc5"
	pinnedClientFinished12     = "70e3adf306aba569b432c392"
)

func TestExportKeyingMaterial12Limits(t *testing.T) {
	ms := make([]byte, 48)
	if got := ExportKeyingMaterial12(crypto.SHA256, ms, nil, nil, "L", make([]byte, 0x10000), true, 16); got != nil {
		t.Error("oversized context accepted")
	}
	if got := ExportKeyingMaterial12(crypto.SHA256, ms, nil, nil, "L", nil, false, -1); got != nil {
		t.Error("negative length accepted")
	}
	if got := ExportKeyingMaterial12(crypto.SHA256, ms, nil, nil, "L", make([]byte, 0xffff), true, 16); len(got) != 16 {
		t.Error("largest context rejected")
	}
	if got := KeyBlock(crypto.SHA256, ms, nil, nil, -5); len(got) != 0 {
		t.Error("negative key block length")
	}
}

// TestPRFReuse: one PRF used for several derivations, long seeds and short
// ones in any order, gives what a fresh PRF gives for each.
func TestPRFReuse(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		master := bytes.Repeat([]byte{0x4d}, 48)
		clientRandom := bytes.Repeat([]byte{0xc1}, 32)
		serverRandom := bytes.Repeat([]byte{0x5e}, 32)
		th1, th2 := bytes.Repeat([]byte{1}, h.Size()), bytes.Repeat([]byte{2}, h.Size())
		longSeed := bytes.Repeat([]byte{0x10}, 300)
		p := NewPRF12(h, master)
		for round := range 2 {
			if got, want := p.KeyBlock(clientRandom, serverRandom, 104), KeyBlock(h, master, clientRandom, serverRandom, 104); !bytes.Equal(got, want) {
				t.Errorf("%v round %d: key block differs from a fresh PRF's", h, round)
			}
			long := make([]byte, 200)
			p.Fill("EXPORTER-test", longSeed, long)
			wantLong := make([]byte, 200)
			PRF12(h, master, "EXPORTER-test", longSeed, wantLong)
			if !bytes.Equal(long, wantLong) {
				t.Errorf("%v round %d: long seed output differs from a fresh PRF's", h, round)
			}
			if got, want := p.Finished(true, th1), Finished12(h, master, true, th1); !bytes.Equal(got, want) {
				t.Errorf("%v round %d: client Finished differs from a fresh PRF's", h, round)
			}
			if got, want := p.Finished(false, th2), Finished12(h, master, false, th2); !bytes.Equal(got, want) {
				t.Errorf("%v round %d: server Finished differs from a fresh PRF's", h, round)
			}
		}
		// The point of a PRF made once: using it allocates only the result.
		if allocs := testing.AllocsPerRun(10, func() { p.Finished(true, th1) }); allocs > 1 {
			t.Errorf("%v: Finished on a made PRF allocates %.0f times, want only its result", h, allocs)
		}
	}
}
