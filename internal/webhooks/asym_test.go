package webhooks

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestSigningKeys(t *testing.T) {
	private, public, err := NewSigningKey()
	if err != nil || !strings.HasPrefix(private, "whsk_") || !strings.HasPrefix(public, "whpk_") {
		t.Fatalf("NewSigningKey = %q, %q, %v", private, public, err)
	}
	key, err := ParseSigningKey(private)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(public)
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("public key %v does not match the private key: %v", pub, err)
	}
	// The 64-byte form other tools write reads as the same key.
	long := "whsk_" + base64.StdEncoding.EncodeToString(key)
	if k, err := ParseSigningKey(long); err != nil || !k.Equal(key) {
		t.Fatalf("64-byte form: %v", err)
	}
	for _, bad := range []string{"whsec_" + base64.StdEncoding.EncodeToString(key.Seed()), "whsk_***",
		"whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 31)), "whsk_" + base64.StdEncoding.EncodeToString(make([]byte, 33))} {
		if _, err := ParseSigningKey(bad); err == nil || strings.Contains(err.Error(), bad[5:]) {
			t.Errorf("ParseSigningKey(%q) = %v", bad, err)
		}
	}
	if _, err := ParsePublicKey("whpk_" + base64.StdEncoding.EncodeToString(make([]byte, 31))); err == nil {
		t.Error("a 31-byte public key parsed")
	}

	secret, _ := NewSecret()
	ts := time.Unix(1674087231, 0)
	body := []byte(`{"type":"payment.created"}`)
	header, err := SignWith("evt_1", ts, body, secret, private)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Fields(header)
	hmacKey, _ := ParseSecret(secret)
	if len(parts) != 2 || parts[0] != Sign("evt_1", ts, body, hmacKey) || !strings.HasPrefix(parts[1], "v1a,") {
		t.Fatalf("SignWith = %q", header)
	}
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(parts[1], "v1a,"))
	if !ed25519.Verify(pub, []byte("evt_1.1674087231."+string(body)), sig) {
		t.Fatal("the v1a signature does not verify over id.timestamp.body")
	}
	if _, err := SignWith("evt_1", ts, body, "whsk_nope"); err == nil {
		t.Fatal("signed with a broken key")
	}
}
