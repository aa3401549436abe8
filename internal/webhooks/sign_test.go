package webhooks

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
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

// TestInterop sends signed messages to receivers built on the Standard
// Webhooks reference library, which read the headers Send writes.
func TestInterop(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret, otherSecret := mustSecret(t), mustSecret(t), mustSecret(t)
	oldKey, newKey := mustParse(t, oldSecret), mustParse(t, newSecret)
	sender := NewSender(2*time.Second, true)

	tests := []struct {
		name     string
		keys     [][]byte
		receiver string // the one secret the receiver knows
		tamper   func(*Message)
		ok       bool
	}{
		{name: "single secret", keys: [][]byte{newKey}, receiver: newSecret, ok: true},
		{name: "rotation, receiver knows new", keys: [][]byte{newKey, oldKey}, receiver: newSecret, ok: true},
		{name: "rotation, receiver knows old", keys: [][]byte{newKey, oldKey}, receiver: oldSecret, ok: true},
		{name: "unrelated secret", keys: [][]byte{newKey, oldKey}, receiver: otherSecret},
		{name: "old secret after rotation ended", keys: [][]byte{newKey}, receiver: oldSecret},
		{name: "tampered body", keys: [][]byte{newKey}, receiver: newSecret, tamper: func(m *Message) { m.Body = []byte(`{"amount":9999}`) }},
		{name: "tampered id", keys: [][]byte{newKey}, receiver: newSecret, tamper: func(m *Message) { m.ID = "msg_other" }},
		{name: "tampered timestamp", keys: [][]byte{newKey}, receiver: newSecret, tamper: func(m *Message) { m.Timestamp = m.Timestamp.Add(time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := verifyingReceiver(t, tt.receiver)
			// Now, because the library rejects timestamps off by more than
			// five minutes.
			msg := Message{ID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Timestamp: time.Now(), Body: []byte(`{"amount":1000}`)}
			msg.Signature = Sign(msg.ID, msg.Timestamp, msg.Body, tt.keys...)
			if tt.tamper != nil {
				tt.tamper(&msg)
			}
			res := sender.Send(context.Background(), srv.URL, msg)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.OK() != tt.ok {
				t.Errorf("receiver answered %d %q; want verified=%v", res.Status, res.Body, tt.ok)
			}
		})
	}
}

// verifyingReceiver starts a server that answers 204 when the reference
// library verifies a request with secret, and 401 with the reason otherwise.
func verifyingReceiver(tb testing.TB, secret string) *httptest.Server {
	tb.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func mustSecret(tb testing.TB) string {
	tb.Helper()
	s, err := NewSecret()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustParse(tb testing.TB, secret string) []byte {
	tb.Helper()
	key, err := ParseSecret(secret)
	if err != nil {
		tb.Fatal(err)
	}
	return key
}
