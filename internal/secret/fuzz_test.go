package secret_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/secret"
)

// fuzzKeys are fixed master keys, so that a crasher Go saves under
// testdata/fuzz replays the same signatures.
var fuzzKeys = struct{ current, previous, other string }{
	current:  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	previous: "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
	other:    "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8",
}

// FuzzSignVerify checks the signatures behind every signed token that
// comes back from a browser (OAuth states, authentication links): a
// signature Sign made verifies, under the current key and after a
// rotation; the same signature altered in any one byte, for another
// purpose or message, or under a key the keyring does not hold is
// refused; and nothing panics on any input.
func FuzzSignVerify(f *testing.F) {
	seeds := []struct {
		purpose, msg, sig string
		pos               uint
		b                 byte
	}{
		{"connect/oauth-state", `eyJwIjoicGx0XzEifQ`, "", 0, 'x'},
		{"tender/payment-authentication-link", "pal_01H", "", 50, 'A'},
		{"tender/payment-authentication-link", "pal_01H", "", 59, 'B'}, // the last character
		{"", "", "", 0, 0},
		{"p", "m", "0123456789abcdef.AAAA", 17, '.'},
		{"p", "m\x00", "..", 1, 0xff},
		{"p\x00m", "", "\xff\xfe", 3, '='},
	}
	for _, s := range seeds {
		f.Add(s.purpose, []byte(s.msg), s.sig, s.pos, s.b)
	}
	current := fuzzKeyring(f, fuzzKeys.current)
	rotated := fuzzKeyring(f, fuzzKeys.other, fuzzKeys.current)
	stranger := fuzzKeyring(f, fuzzKeys.previous)
	f.Fuzz(func(t *testing.T, purpose string, msg []byte, sig string, pos uint, b byte) {
		// Any bytes as a signature: refused or not, never a panic.
		if current.Verify(purpose, msg, sig) && sig != current.Sign(purpose, msg) {
			t.Fatalf("Verify accepted %q, which Sign did not make, for %q %q", sig, purpose, msg)
		}

		good := current.Sign(purpose, msg)
		if !current.Verify(purpose, msg, good) {
			t.Fatalf("Verify refused its own signature %q", good)
		}
		if !rotated.Verify(purpose, msg, good) {
			t.Fatalf("a signature of the previous key %q is refused after rotation", good)
		}
		if stranger.Verify(purpose, msg, good) {
			t.Fatalf("a keyring without the key accepted %q", good)
		}
		if current.Verify(purpose+"x", msg, good) || current.Verify(purpose, append(bytes.Clone(msg), 'x'), good) {
			t.Fatalf("%q verified for another purpose or message", good)
		}

		i := int(pos % uint(len(good)))
		if good[i] != b {
			altered := good[:i] + string([]byte{b}) + good[i+1:]
			if current.Verify(purpose, msg, altered) {
				t.Fatalf("%q, altered at byte %d to %q, still verifies", good, i, altered)
			}
		}
		if current.Verify(purpose, msg, good[:i]) || current.Verify(purpose, msg, good+strings.Repeat("A", int(pos%4)+1)) {
			t.Fatalf("%q cut or lengthened still verifies", good)
		}
	})
}

func fuzzKeyring(tb testing.TB, current string, previous ...string) *secret.Keyring {
	tb.Helper()
	k, err := secret.ParseKeyring(current, previous)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
