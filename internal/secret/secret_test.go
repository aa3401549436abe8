package secret_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/secret"
)

func keyring(t *testing.T, current string, previous ...string) *secret.Keyring {
	t.Helper()
	k, err := secret.ParseKeyring(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := keyring(t, secret.NewKey())
	const where = "platform:plt_1:stripe_secret_key"
	sealed := k.Seal("sk_test_abc123", where)
	if strings.Contains(sealed, "sk_test") || !strings.HasPrefix(sealed, "v1."+k.CurrentKeyID()+".") {
		t.Fatalf("sealed = %q", sealed)
	}
	if again := k.Seal("sk_test_abc123", where); again == sealed {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	got, err := k.Open(sealed, where)
	if err != nil || got != "sk_test_abc123" {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	k := keyring(t, secret.NewKey())
	const where = "platform:plt_1:stripe_secret_key"
	sealed := k.Seal("sk_test_abc123", where)
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	if flipped[len(flipped)-3] == '.' {
		flipped[len(flipped)-3] = 'A'
	}
	for name, tc := range map[string]struct {
		sealed, where string
		want          error
	}{
		"other row":       {sealed, "platform:plt_2:stripe_secret_key", secret.ErrCorrupt},
		"other column":    {sealed, "platform:plt_1:webhook_secret", secret.ErrCorrupt},
		"tampered":        {string(flipped), where, secret.ErrCorrupt},
		"truncated":       {sealed[:len(sealed)-10], where, secret.ErrCorrupt},
		"not sealed":      {"sk_test_abc123", where, secret.ErrCorrupt},
		"empty":           {"", where, secret.ErrCorrupt},
		"unknown version": {"v2" + sealed[2:], where, secret.ErrCorrupt},
		"unknown key":     {keyring(t, secret.NewKey()).Seal("x", where), where, secret.ErrNoKey},
	} {
		if got, err := k.Open(tc.sealed, tc.where); !errors.Is(err, tc.want) || got != "" {
			t.Errorf("%s: Open = %q, %v; want %v", name, got, err, tc.want)
		}
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := secret.NewKey(), secret.NewKey()
	const where = "platform:plt_1:stripe_secret_key"
	old := keyring(t, oldKey)
	sealed := old.Seal("sk_live_xyz", where)

	rotated := keyring(t, newKey, oldKey)
	if !rotated.NeedsReseal(sealed) || old.NeedsReseal(sealed) {
		t.Fatal("NeedsReseal does not tell old from current")
	}
	resealed, err := rotated.Reseal(sealed, where)
	if err != nil || rotated.NeedsReseal(resealed) {
		t.Fatalf("Reseal = %q, %v", resealed, err)
	}
	if got, err := keyring(t, newKey).Open(resealed, where); err != nil || got != "sk_live_xyz" {
		t.Fatalf("open after dropping the old key = %q, %v", got, err)
	}
	if _, err := keyring(t, newKey).Open(sealed, where); !errors.Is(err, secret.ErrNoKey) {
		t.Fatalf("value under a dropped key: %v, want ErrNoKey", err)
	}
}

func TestParseKeyErrorsNameWhatIsAccepted(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	valid := secret.NewKey()
	for _, tc := range []struct {
		current  string
		previous []string
		want     string
	}{
		{"", nil, "base64 of 32 bytes"},
		{"not base64!!", nil, "not base64"},
		{short, nil, "got 16 bytes"},
		{valid, []string{short}, "previous key 1"},
	} {
		_, err := secret.ParseKeyring(tc.current, tc.previous)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseKeyring(%q, %q) = %v; want %q", tc.current, tc.previous, err, tc.want)
		}
		if err != nil && tc.current != "" && strings.Contains(err.Error(), tc.current) {
			t.Errorf("error repeats the key: %v", err)
		}
	}
	// URL alphabet and missing padding are accepted too.
	raw := make([]byte, 32)
	raw[0] = 0xfb // encodes to '-' or '+' depending on alphabet
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw)} {
		if _, err := secret.ParseKeyring(s, nil); err != nil {
			t.Errorf("ParseKeyring(%q) = %v", s, err)
		}
	}
}

func TestSignAndVerify(t *testing.T) {
	oldKey, _ := secret.DecodeKey(secret.NewKey())
	newKey, _ := secret.DecodeKey(secret.NewKey())
	before, _ := secret.NewKeyring(oldKey)
	after, _ := secret.NewKeyring(newKey, oldKey)
	stranger, _ := secret.NewKeyring(newKey)

	msg := []byte("plt_1|mer_1|link_1|1700000000")
	sig := before.Sign("connect-state", msg)
	if !before.Verify("connect-state", msg, sig) || !after.Verify("connect-state", msg, sig) {
		t.Fatal("a signature does not verify with its key")
	}
	for name, ok := range map[string]bool{
		"other purpose":    before.Verify("wallet-session", msg, sig),
		"other message":    before.Verify("connect-state", []byte("plt_2|mer_1|link_1|1700000000"), sig),
		"key not held":     stranger.Verify("connect-state", msg, sig),
		"truncated":        before.Verify("connect-state", msg, sig[:len(sig)-2]),
		"no key id":        before.Verify("connect-state", msg, sig[strings.Index(sig, ".")+1:]),
		"empty":            before.Verify("connect-state", msg, ""),
		"purpose into msg": before.Verify("connect-stat", append([]byte("e"), msg...), sig),
	} {
		if ok {
			t.Errorf("%s: verified", name)
		}
	}
	if s2 := after.Sign("connect-state", msg); !strings.HasPrefix(s2, after.CurrentKeyID()+".") || !after.Verify("connect-state", msg, s2) {
		t.Errorf("signature under the new key: %q", s2)
	}
}
