package keysched

import (
	"bytes"
	"crypto"
	"crypto/hkdf"
	"testing"
)

// scribbleCheck overwrites each value in turn and checks that the others
// still hold what want says: values taken from one slab share an
// allocation but never bytes. It also checks each is capped at its length,
// so an append cannot run into the next.
func scribbleCheck(t *testing.T, what string, got, want [][]byte) {
	t.Helper()
	for i := range got {
		if cap(got[i]) != len(got[i]) {
			t.Errorf("%s %d: cap %d, len %d", what, i, cap(got[i]), len(got[i]))
		}
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s %d = %x, want %x", what, i, got[i], want[i])
		}
	}
	for i := range got {
		for k := range got[i] {
			got[i][k] ^= 0xff
		}
		for j := range got {
			if j != i && !bytes.Equal(got[j], want[j]) {
				t.Fatalf("overwriting %s %d changed %s %d", what, i, what, j)
			}
		}
		for k := range got[i] {
			got[i][k] ^= 0xff
		}
	}
}

// TestSlabValuesAreIndependent: transcript hashes, a stage's secrets and
// TLS 1.2 Finished values come from slabs; more of each than one slab
// holds are all correct and independent.
func TestSlabValuesAreIndependent(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		tr := NewTranscript()
		tr.SetHash(h)
		var sums, wantSums [][]byte
		var written [][]byte
		for i := range 2*sumsPerAlloc + 1 {
			msg := bytes.Repeat([]byte{byte(i)}, i+1)
			tr.Write(msg)
			written = append(written, msg)
			extra := []byte{byte(i), 0xee}
			sums = append(sums, tr.Sum(), tr.SumWith(extra))
			wantSums = append(wantSums, hashOf(h, written...), hashOf(h, append(written, extra)...))
		}
		scribbleCheck(t, h.String()+" transcript sum", sums, wantSums)

		ms := NewEarlySecret(h, nil).HandshakeSecret(nil).MasterSecret()
		var secrets, wantSecrets [][]byte
		for i := range 2*secretsPerStage + 1 {
			th := bytes.Repeat([]byte{byte(i)}, h.Size())
			secrets = append(secrets, ms.ExporterMasterSecret(th))
			wantSecrets = append(wantSecrets, DeriveSecret(h, ms.secret, labelExporterMaster, th))
		}
		scribbleCheck(t, h.String()+" master secret output", secrets, wantSecrets)

		master := bytes.Repeat([]byte{0x4d}, 48)
		p := NewPRF12(h, master)
		var fins, wantFins [][]byte
		for i := range 5 {
			th := bytes.Repeat([]byte{byte(i)}, h.Size())
			fins = append(fins, p.Finished(i%2 == 0, th))
			wantFins = append(wantFins, Finished12(h, master, i%2 == 0, th))
		}
		scribbleCheck(t, h.String()+" Finished", fins, wantFins)
	}
}

// TestExpandLabelLongInputs: labels and contexts longer than an
// expander's scratch (exporter labels, long ticket nonces) take the
// other buffer and still encode HkdfLabel as RFC 8446 Section 7.1 says.
func TestExpandLabelLongInputs(t *testing.T) {
	h := crypto.SHA256
	secret := bytes.Repeat([]byte{0x42}, 32)
	label, ctx := string(bytes.Repeat([]byte{'l'}, 249)), bytes.Repeat([]byte{7}, 255)
	info := []byte{0, 32, byte(6 + len(label))}
	info = append(info, "tls13 "+label...)
	info = append(append(info, byte(len(ctx))), ctx...)
	want, err := hkdf.Expand(h.New, secret, string(info), 32)
	if err != nil {
		t.Fatal(err)
	}
	if got := ExpandLabel(h, secret, label, ctx, 32); !bytes.Equal(got, want) {
		t.Errorf("ExpandLabel = %x, want %x", got, want)
	}
	if got := ResumptionPSK(h, secret, ctx); !bytes.Equal(got, ExpandLabel(h, secret, "resumption", ctx, 32)) {
		t.Errorf("ResumptionPSK with a 255-byte nonce = %x", got)
	}
}
