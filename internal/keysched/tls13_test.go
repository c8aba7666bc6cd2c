package keysched

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"testing"
)

// TestRFC8448Simple1RTT walks the key schedule of RFC 8448 Section 3 from the
// trace's messages and ECDHE secret, checking every value the trace prints.
func TestRFC8448Simple1RTT(t *testing.T) {
	h := crypto.SHA256
	tr := NewTranscript()
	tr.Write(unhex(t, rfc8448S3ClientHello))
	tr.SetHash(h)
	tr.Write(unhex(t, rfc8448S3ServerHello))
	helloHash := tr.Sum()
	checkHex(t, "transcript CH..SH", helloHash, "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8")

	early := NewEarlySecret(h, nil)
	checkHex(t, "early secret", early.secret, "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a")
	checkHex(t, "derived (early)", DeriveSecret(h, early.secret, "derived", emptyHash(h)), "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba")

	hs := early.HandshakeSecret(unhex(t, rfc8448S3SharedSecret))
	checkHex(t, "handshake secret", hs.secret, "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac")
	cHS := hs.ClientHandshakeTrafficSecret(helloHash)
	sHS := hs.ServerHandshakeTrafficSecret(helloHash)
	checkHex(t, "c hs traffic", cHS, "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21")
	checkHex(t, "s hs traffic", sHS, "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")

	key, iv := TrafficKey(h, sHS, 16, 12)
	checkHex(t, "server hs key", key, "3fce516009c21727d0f2e4e86ee403bc")
	checkHex(t, "server hs iv", iv, "5d313eb2671276ee13000b30")
	key, iv = TrafficKey(h, cHS, 16, 12)
	checkHex(t, "client hs key", key, "dbfaa693d1762c5b666af5d950258d01")
	checkHex(t, "client hs iv", iv, "5bd3c71b836e0b76bb73265f")

	ms := hs.MasterSecret()
	checkHex(t, "master secret", ms.secret, "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919")

	tr.Write(unhex(t, rfc8448S3EncryptedExtensions))
	tr.Write(unhex(t, rfc8448S3Certificate))
	tr.Write(unhex(t, rfc8448S3CertificateVerify))
	checkHex(t, "server finished key", FinishedKey13(h, sHS), "008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8")
	serverFinished := unhex(t, rfc8448S3ServerFinished)
	if got := Finished13(h, sHS, tr.Sum()); !hmac.Equal(got, serverFinished[4:]) {
		t.Errorf("server Finished: got %x want %x", got, serverFinished[4:])
	}
	tr.Write(serverFinished)
	serverFinishedHash := tr.Sum()
	checkHex(t, "transcript CH..server Finished", serverFinishedHash, "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13")

	cAP := ms.ClientApplicationTrafficSecret(serverFinishedHash)
	sAP := ms.ServerApplicationTrafficSecret(serverFinishedHash)
	checkHex(t, "c ap traffic", cAP, "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
	checkHex(t, "s ap traffic", sAP, "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
	checkHex(t, "exp master", ms.ExporterMasterSecret(serverFinishedHash), "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50")
	key, iv = TrafficKey(h, sAP, 16, 12)
	checkHex(t, "server ap key", key, "9f02283b6c9c07efc26bb9f2ac92e356")
	checkHex(t, "server ap iv", iv, "cf782b88dd83549aadf1e984")
	key, iv = TrafficKey(h, cAP, 16, 12)
	checkHex(t, "client ap key", key, "17422dda596ed5d9acd890e3c63f5051")
	checkHex(t, "client ap iv", iv, "5b78923dee08579033e523d9")

	checkHex(t, "client finished key", FinishedKey13(h, cHS), "b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4")
	clientFinished := unhex(t, rfc8448S3ClientFinished)
	if got := Finished13(h, cHS, serverFinishedHash); !hmac.Equal(got, clientFinished[4:]) {
		t.Errorf("client Finished: got %x want %x", got, clientFinished[4:])
	}
	tr.Write(clientFinished)
	clientFinishedHash := tr.Sum()
	checkHex(t, "transcript CH..client Finished", clientFinishedHash, "209145a96ee8e2a122ff810047cc952684658d6049e86429426db87c54ad143d")
	rms := ms.ResumptionMasterSecret(clientFinishedHash)
	checkHex(t, "res master", rms, "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c")
	// The trace's NewSessionTicket carries ticket_nonce 00 00.
	checkHex(t, "resumption PSK", ResumptionPSK(h, rms, []byte{0, 0}), "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3")
}

// TestRFC8448Resumed0RTT checks RFC 8448 Section 4: the PSK from Section 3's
// resumption master secret, the binder over the truncated ClientHello
// (computed with SumWith, as a client does), the early secrets, and the rest
// of the resumed schedule.
func TestRFC8448Resumed0RTT(t *testing.T) {
	h := crypto.SHA256
	psk := ResumptionPSK(h, unhex(t, "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c"), []byte{0, 0})
	early := NewEarlySecret(h, psk)
	checkHex(t, "early secret", early.secret, "9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c")
	binderKey := early.ResumptionBinderKey()
	checkHex(t, "res binder key", binderKey, "69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256")
	checkHex(t, "binder finished key", FinishedKey13(h, binderKey), "5588673e72cb59c87d220caffe94f2dea9a3b1609f7d50e90a48227db9ed7eaa")

	clientHello := unhex(t, rfc8448S4ClientHello)
	const bindersLen = 2 + 1 + 32
	truncated := clientHello[:len(clientHello)-bindersLen]

	tr := NewTranscript()
	tr.SetHash(h) // a resuming client knows the PSK's hash before it writes
	binderHash := tr.SumWith(truncated)
	checkHex(t, "truncated ClientHello hash", binderHash, "63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14")
	binder := Finished13(h, binderKey, binderHash)
	if !hmac.Equal(binder, clientHello[len(clientHello)-32:]) {
		t.Errorf("binder: got %x want %x", binder, clientHello[len(clientHello)-32:])
	}
	if s := tr.Sum(); !bytes.Equal(s, emptyHash(h)) {
		t.Errorf("SumWith changed the transcript: Sum = %x", s)
	}

	tr.Write(clientHello)
	clientHelloHash := tr.Sum()
	checkHex(t, "transcript CH", clientHelloHash, "08ad0fa05d7c7233b1775ba2ff9f4c5b8b59276b7f227f13a976245f5d960913")
	cET := early.ClientEarlyTrafficSecret(clientHelloHash)
	checkHex(t, "c e traffic", cET, "3fbbe6a60deb66c30a32795aba0eff7eaa10105586e7be5c09678d63b6caab62")
	checkHex(t, "e exp master", early.EarlyExporterMasterSecret(clientHelloHash), "b2026866610937d7423e5be90862ccf24c0e6091186d34f812089ff5be2ef7df")
	key, iv := TrafficKey(h, cET, 16, 12)
	checkHex(t, "early key", key, "920205a5b7bf2115e6fc5c2942834f54")
	checkHex(t, "early iv", iv, "6d475f0993c8e564610db2b9")

	tr.Write(unhex(t, rfc8448S4ServerHello))
	helloHash := tr.Sum()
	hs := early.HandshakeSecret(unhex(t, rfc8448S4SharedSecret))
	checkHex(t, "handshake secret", hs.secret, "005cb112fd8eb4ccc623bb88a07c64b3ede1605363fc7d0df8c7ce4ff0fb4ae6")
	cHS := hs.ClientHandshakeTrafficSecret(helloHash)
	sHS := hs.ServerHandshakeTrafficSecret(helloHash)
	checkHex(t, "c hs traffic", cHS, "2faac08f851d35fea3604fcb4de82dc62c9b164a70974d0462e27f1ab278700f")
	checkHex(t, "s hs traffic", sHS, "fe927ae271312e8bf0275b581c54eef020450dc4ecffaa05a1a35d27518e7803")
	key, iv = TrafficKey(h, sHS, 16, 12)
	checkHex(t, "server hs key", key, "27c6bdc0a3dcea39a47326d79bc9e4ee")
	checkHex(t, "server hs iv", iv, "9569ecdd4d0536705e9ef725")
	key, iv = TrafficKey(h, cHS, 16, 12)
	checkHex(t, "client hs key", key, "b1530806f4adfeac83f1413032bbfa82")
	checkHex(t, "client hs iv", iv, "eb50c16be7654abf99dd06d9")

	tr.Write(unhex(t, rfc8448S4EncryptedExtensions))
	serverFinished := unhex(t, rfc8448S4ServerFinished)
	if got := Finished13(h, sHS, tr.Sum()); !hmac.Equal(got, serverFinished[4:]) {
		t.Errorf("server Finished: got %x want %x", got, serverFinished[4:])
	}
	tr.Write(serverFinished)
	serverFinishedHash := tr.Sum()

	ms := hs.MasterSecret()
	checkHex(t, "master secret", ms.secret, "e2d32d4ed66dd37897a0e80c84107503ce58bf8aad4cb55a5002d77ecb890ece")
	cAP := ms.ClientApplicationTrafficSecret(serverFinishedHash)
	sAP := ms.ServerApplicationTrafficSecret(serverFinishedHash)
	checkHex(t, "c ap traffic", cAP, "2abbf2b8e381d23dbebe1dd2a7d16a8bf484cb4950d23fb7fb7fa8547062d9a1")
	checkHex(t, "s ap traffic", sAP, "cc21f1bf8feb7dd5fa505bd9c4b468a9984d554a993dc49e6d285598fb672691")
	checkHex(t, "exp master", ms.ExporterMasterSecret(serverFinishedHash), "3fd93d4ffddc98e64b14dd107aedf8ee4add23f4510f58a4592d0b201bee56b4")
	key, iv = TrafficKey(h, sAP, 16, 12)
	checkHex(t, "server ap key", key, "e857c690a34c5a9129d833619684f95e")
	checkHex(t, "server ap iv", iv, "0685d6b561aab9ef1013faf9")
	key, iv = TrafficKey(h, cAP, 16, 12)
	checkHex(t, "client ap key", key, "3cf122f301c6358ca7989553250efd72")
	checkHex(t, "client ap iv", iv, "ab1aec26aa78b8fc1176b9ac")

	// EndOfEarlyData is part of the transcript the client Finished covers.
	tr.Write(unhex(t, rfc8448S4EndOfEarlyData))
	clientFinished := unhex(t, rfc8448S4ClientFinished)
	if got := Finished13(h, cHS, tr.Sum()); !hmac.Equal(got, clientFinished[4:]) {
		t.Errorf("client Finished: got %x want %x", got, clientFinished[4:])
	}
	tr.Write(clientFinished)
	checkHex(t, "res master", ms.ResumptionMasterSecret(tr.Sum()), "5e95bdf1f89005ea2e9aa0ba85e728e3c19c5fe0c699e3f5bee59faebd0b5406")
}

// TestPSKKEWithoutDHE checks that a nil shared secret means Hash.length zeros
// (psk_ke mode, RFC 8446 Section 7.1), and the external binder label differs.
func TestPSKKEWithoutDHE(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		early := NewEarlySecret(h, bytes.Repeat([]byte{7}, h.Size()))
		a := early.HandshakeSecret(nil)
		b := early.HandshakeSecret(make([]byte, h.Size()))
		if !bytes.Equal(a.secret, b.secret) {
			t.Errorf("%v: nil shared secret is not zeros", h)
		}
		if len(a.secret) != h.Size() {
			t.Errorf("%v: handshake secret is %d bytes", h, len(a.secret))
		}
		if bytes.Equal(early.ResumptionBinderKey(), early.ExternalBinderKey()) {
			t.Errorf("%v: resumption and external binder keys are equal", h)
		}
		if !bytes.Equal(NewEarlySecret(h, nil).secret, NewEarlySecret(h, make([]byte, h.Size())).secret) {
			t.Errorf("%v: nil PSK is not zeros", h)
		}
		// A nil PSK takes the precomputed Early Secret and "derived"
		// secret; an explicit zero PSK computes them.
		shared := bytes.Repeat([]byte{9}, 32)
		pre, computed := NewEarlySecret(h, nil), NewEarlySecret(h, make([]byte, h.Size()))
		if pre.derived == nil || computed.derived != nil {
			t.Fatalf("%v: the precomputed secrets are not (only) used for a nil PSK", h)
		}
		if !bytes.Equal(pre.HandshakeSecret(shared).secret, computed.HandshakeSecret(shared).secret) {
			t.Errorf("%v: handshake secret from the precomputed early secret differs", h)
		}
	}
}

// TestExpandLabelEncoding checks the HkdfLabel bytes against a hand-built
// encoding (RFC 8446 Section 7.1), with SHA-384.
func TestExpandLabelEncoding(t *testing.T) {
	h := crypto.SHA384
	secret := bytes.Repeat([]byte{0x42}, 48)
	ctx := []byte{1, 2, 3}
	info := []byte{0x00, 0x20, byte(len("tls13 key")), 't', 'l', 's', '1', '3', ' ', 'k', 'e', 'y', 3, 1, 2, 3}
	// HKDF-Expand for output no longer than one block is HMAC(PRK, info || 0x01).
	mac := hmac.New(h.New, secret)
	mac.Write(info)
	mac.Write([]byte{1})
	want := mac.Sum(nil)[:32]
	if got := ExpandLabel(h, secret, "key", ctx, 32); !bytes.Equal(got, want) {
		t.Errorf("ExpandLabel = %x, want %x", got, want)
	}
}

func TestExpandLabelRejectsUnencodable(t *testing.T) {
	cases := []struct {
		name    string
		label   string
		context []byte
		length  int
	}{
		{"long label", string(make([]byte, 250)), nil, 32},
		{"long context", "key", make([]byte, 256), 32},
		{"negative length", "key", nil, -1},
		{"too long output", "key", nil, 255*32 + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			ExpandLabel(crypto.SHA256, make([]byte, 32), c.label, c.context, c.length)
		})
	}
	// The largest encodable values work.
	ExpandLabel(crypto.SHA256, make([]byte, 32), string(make([]byte, 249)), make([]byte, 255), 255*32)
}

func TestNextTrafficSecret(t *testing.T) {
	h := crypto.SHA256
	secret := unhex(t, "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
	next := NextTrafficSecret(h, secret)
	if want := ExpandLabel(h, secret, "traffic upd", nil, 32); !bytes.Equal(next, want) {
		t.Errorf("NextTrafficSecret = %x, want %x", next, want)
	}
	if bytes.Equal(next, secret) || bytes.Equal(NextTrafficSecret(h, next), next) {
		t.Error("key update did not change the secret")
	}
}

func TestExportKeyingMaterial13(t *testing.T) {
	h := crypto.SHA256
	exp := unhex(t, "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50")
	// RFC 8446 Section 7.5 spelled out with the package's own pieces.
	inner := DeriveSecret(h, exp, "EXPORTER-test", emptyHash(h))
	ctxHash := h.New()
	ctxHash.Write([]byte("ctx"))
	want := ExpandLabel(h, inner, "exporter", ctxHash.Sum(nil), 42)
	if got := ExportKeyingMaterial13(h, exp, "EXPORTER-test", []byte("ctx"), 42); !bytes.Equal(got, want) {
		t.Errorf("exporter = %x, want %x", got, want)
	}
	// No context and empty context are the same in TLS 1.3.
	if !bytes.Equal(ExportKeyingMaterial13(h, exp, "L", nil, 16), ExportKeyingMaterial13(h, exp, "L", []byte{}, 16)) {
		t.Error("nil and empty context differ")
	}
	for _, c := range []struct {
		label  string
		length int
	}{{"", 16}, {string(make([]byte, 250)), 16}, {"L", -1}, {"L", 255*32 + 1}} {
		if got := ExportKeyingMaterial13(h, exp, c.label, nil, c.length); got != nil {
			t.Errorf("label len %d, length %d: got %x, want nil", len(c.label), c.length, got)
		}
	}
}

// FuzzExportKeyingMaterial13 checks application-supplied exporter inputs
// never panic and produce exactly the requested length or nil.
func FuzzExportKeyingMaterial13(f *testing.F) {
	f.Add("EXPORTER-Channel-Binding", []byte{}, 32)
	f.Add("EXPORTER-test", []byte("ctx"), 42)
	f.Add("", []byte(nil), 0)
	f.Fuzz(func(t *testing.T, label string, context []byte, length int) {
		if length > 1<<16 || length < -1<<16 {
			return
		}
		out := ExportKeyingMaterial13(crypto.SHA384, make([]byte, 48), label, context, length)
		if out != nil && len(out) != length {
			t.Fatalf("got %d bytes, want %d", len(out), length)
		}
	})
}

// HandshakeTrafficKeys must agree with the separate derivations it merges.
func TestHandshakeTrafficKeys(t *testing.T) {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		secret := bytes.Repeat([]byte{0x5a}, h.Size())
		key, iv, fk := HandshakeTrafficKeys(h, secret, 16, 12)
		wantKey, wantIV := TrafficKey(h, secret, 16, 12)
		if !bytes.Equal(key, wantKey) || !bytes.Equal(iv, wantIV) || !bytes.Equal(fk, FinishedKey13(h, secret)) {
			t.Errorf("%v: HandshakeTrafficKeys differs from TrafficKey and FinishedKey13", h)
		}
		th := bytes.Repeat([]byte{1}, h.Size())
		if !bytes.Equal(FinishedMAC(h, fk, th), Finished13(h, secret, th)) {
			t.Errorf("%v: FinishedMAC differs from Finished13", h)
		}
	}
}
