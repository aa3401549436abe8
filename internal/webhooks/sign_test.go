package webhooks

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// The reference library's own test vector.
func TestSignKnownAnswer(t *testing.T) {
	t.Parallel()
	key, err := ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`), key)
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestSignOrder(t *testing.T) {
	t.Parallel()
	newKey, oldKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	ts := time.Unix(1700000000, 0)
	both := Sign("msg_1", ts, []byte("{}"), newKey, oldKey)
	want := Sign("msg_1", ts, []byte("{}"), newKey) + " " + Sign("msg_1", ts, []byte("{}"), oldKey)
	if both != want {
		t.Errorf("Sign(new, old) = %q, want %q", both, want)
	}
	if got := Sign("msg_1", ts, []byte("{}")); got != "" {
		t.Errorf("Sign with no keys = %q, want empty", got)
	}
}

func TestSecretRoundTrip(t *testing.T) {
	t.Parallel()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("NewSecret = %q, want whsec_ prefix", s)
	}
	key, err := ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret(NewSecret()): %v", err)
	}
	if len(key) != 32 {
		t.Errorf("key is %d bytes, want 32", len(key))
	}
	if got := "whsec_" + base64.StdEncoding.EncodeToString(key); got != s {
		t.Errorf("re-encoded %q, want %q", got, s)
	}
	if s2, _ := NewSecret(); s2 == s {
		t.Error("two NewSecret calls returned the same secret")
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	enc := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, n)) }
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"24 bytes", "whsec_" + enc(24), true},
		{"64 bytes", "whsec_" + enc(64), true},
		{"23 bytes", "whsec_" + enc(23), false},
		{"65 bytes", "whsec_" + enc(65), false},
		{"empty key", "whsec_", false},
		{"no prefix", enc(32), false},
		{"other prefix", "whsk_" + enc(32), false},
		{"prefix case", "WHSEC_" + enc(32), false},
		{"bad base64", "whsec_" + enc(32)[1:], false},
		{"url base64", "whsec_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := ParseSecret(tt.secret)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseSecret: %v", err)
				}
				if len(key) == 0 {
					t.Fatal("ParseSecret returned no key")
				}
				return
			}
			if err == nil {
				t.Fatal("ParseSecret accepted it")
			}
			if payload := strings.TrimPrefix(tt.secret, "whsec_"); payload != "" && strings.Contains(err.Error(), payload[:8]) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}
