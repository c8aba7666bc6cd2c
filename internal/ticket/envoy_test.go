package ticket

import (
	"bytes"
	"errors"
	"testing"
)

// TestEnvoyKeyLayout: Envoy's 80-byte key is name 16 | HMAC 32 | AES 32,
// byte for byte nginx's 80-byte record.
func TestEnvoyKeyLayout(t *testing.T) {
	raw := make([]byte, 80)
	for i := range raw {
		raw[i] = byte(i)
	}
	keys, err := ParseKeyFile(raw, FormatEnvoy)
	if err != nil || len(keys) != 1 {
		t.Fatalf("ParseKeyFile: %v, %d keys", err, len(keys))
	}
	k := keys[0]
	if !bytes.Equal(k.Name[:], raw[:16]) || !bytes.Equal(k.HMACKey, raw[16:48]) || !bytes.Equal(k.AESKey, raw[48:80]) {
		t.Fatalf("layout: %+v", k)
	}
	nginx, err := ParseKeyFile(raw, FormatNginx)
	if err != nil || !bytes.Equal(nginx[0].AESKey, k.AESKey) || !bytes.Equal(nginx[0].HMACKey, k.HMACKey) {
		t.Fatal("the same 80 bytes read differently as nginx's key")
	}
	out, err := MarshalKeyFile(keys, FormatEnvoy)
	if err != nil || !bytes.Equal(out, raw) {
		t.Fatalf("MarshalKeyFile: %v", err)
	}
	two := append(append([]byte{}, raw...), bytes.Repeat([]byte{0xee}, 80)...)
	if keys, err := ParseEnvoy(two); err != nil || len(keys) != 2 || keys[0].Name[0] != 0 {
		t.Fatalf("two records: %v", err)
	}
}

func TestEnvoyKeyRefusals(t *testing.T) {
	for _, n := range []int{0, 48, 96, 79, 81} {
		if _, err := ParseKeyFile(make([]byte, n), FormatEnvoy); !errors.Is(err, ErrKeyFileSize) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	k128 := mustKey(t, 1, 128)
	if _, err := MarshalKeyFile([]Key{k128}, FormatEnvoy); !errors.Is(err, ErrKeyFileMixedSizes) {
		t.Errorf("128-bit key written as Envoy's: %v", err)
	}
	if FormatEnvoy.String() != "envoy" {
		t.Error(FormatEnvoy.String())
	}
}
