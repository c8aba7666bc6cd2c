package ticket

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// opensslPath finds the openssl binary; missing it skips the test locally but
// fails in CI, where the cross-check must run.
func opensslPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl binary not found, and CI=true requires the cross-check")
		}
		t.Skip("openssl binary not found")
	}
	return p
}

func runOpenSSL(t *testing.T, bin string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %v: %v: %s", args, err, stderr.Bytes())
	}
	return out
}

// TestOpenSSLCrossCheck checks the ticket format against OpenSSL's own AES-CBC
// (with its default PKCS#7 padding) and HMAC-SHA256, in both directions.
func TestOpenSSLCrossCheck(t *testing.T) {
	bin := opensslPath(t)
	for _, bits := range []int{128, 256} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			k := mustKey(t, 5, bits)
			r := mustRing(t, k)
			cipherName := fmt.Sprintf("-aes-%d-cbc", bits)
			aesHex, macHex := hex.EncodeToString(k.AESKey), hex.EncodeToString(k.HMACKey)
			state := bytes.Repeat([]byte("session state "), 15) // 210 bytes

			// reprise seals, openssl decrypts and MACs.
			tk := mustSeal(t, r, state)
			iv, ct, mac := tk[16:32], tk[32:len(tk)-32], tk[len(tk)-32:]
			pt := runOpenSSL(t, bin, ct, "enc", "-d", cipherName, "-K", aesHex, "-iv", hex.EncodeToString(iv))
			if !bytes.Equal(pt, state) {
				t.Errorf("openssl enc -d gave %d bytes, want the sealed state", len(pt))
			}
			wantMAC := runOpenSSL(t, bin, tk[:len(tk)-32], "dgst", "-sha256", "-binary", "-mac", "HMAC", "-macopt", "hexkey:"+macHex)
			if !bytes.Equal(mac, wantMAC) {
				t.Errorf("MAC %x, openssl says %x", mac, wantMAC)
			}

			// openssl encrypts and MACs, reprise opens.
			iv2 := bytes.Repeat([]byte{0x42}, 16)
			ct2 := runOpenSSL(t, bin, state, "enc", "-e", cipherName, "-K", aesHex, "-iv", hex.EncodeToString(iv2))
			body := append(append(append([]byte(nil), k.Name[:]...), iv2...), ct2...)
			mac2 := runOpenSSL(t, bin, body, "dgst", "-sha256", "-binary", "-mac", "HMAC", "-macopt", "hexkey:"+macHex)
			got, st := r.Open(append(body, mac2...))
			if st != Opened || !bytes.Equal(got, state) {
				t.Errorf("ticket built by openssl: %v, state equal %v", st, bytes.Equal(got, state))
			}
		})
	}
}
