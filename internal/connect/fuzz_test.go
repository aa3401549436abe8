package connect

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tenderpay/tender/internal/secret"
)

// FuzzVerifyState checks the OAuth and Express states that come back
// from Stripe through the merchant's browser: a state Tender signed
// round-trips for its purpose only; altered in any byte, cut, or made up,
// it is refused with the page error for an invalid or expired state (never
// another error, never a panic).
func FuzzVerifyState(f *testing.F) {
	seeds := []struct {
		platform, link, nonce string
		expiresIn             int64 // seconds from now
		raw                   string
		pos                   uint
		b                     byte
	}{
		{"plt_1", "cl_1", "nonce", 600, "", 0, 'x'},
		{"plt_1", "cl_1", "", 1, "", 30, '.'},
		{"plt_1", "cl_1", "n", -1, "", 5, 0},    // expired when signed
		{"", "cl_1", "n", 600, "e30.", 0, 'e'},  // no platform
		{"plt_1", "", "n", 600, ".", 100, 0xff}, // no link
		{"p\x00", "l\"}", "\xff", 1 << 40, "eyJwIjoicCJ9.0123456789abcdef.AAAA", 7, 'A'},
		{"plt_1", "cl_1", "n", 600, "not a state", 2, '='},
		{"plt_1", "cl_1", "n", 600, "....", 2, '-'},
		{"plt_1", "cl_1", "n", 600, "bnVsbA.x", 2, '_'}, // "null"
	}
	for _, s := range seeds {
		f.Add(s.platform, s.link, s.nonce, s.expiresIn, s.raw, s.pos, s.b)
	}
	key, err := secret.DecodeKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
	if err != nil {
		f.Fatal(err)
	}
	keys, err := secret.NewKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewService(Config{Keys: keys, NowFunc: func() time.Time { return now }})

	f.Fuzz(func(t *testing.T, platform, link, nonce string, expiresIn int64, raw string, pos uint, b byte) {
		for _, purpose := range []string{purposeOAuth, purposeExpress} {
			if st, err := s.verifyState(purpose, raw); err == nil {
				// Only a state Tender signed gets through.
				if s.signState(purpose, st) != raw {
					t.Fatalf("%s: accepted %q, which Tender did not sign (it reads %+v)", purpose, raw, st)
				}
			} else {
				checkStateError(t, raw, err)
			}
		}

		want := state{Platform: platform, Link: link, Nonce: nonce, Expires: now.Unix() + expiresIn}
		if expiresIn > 1<<40 || expiresIn < -(1<<40) {
			want.Expires = now.Unix() + 600 // keep clear of overflow; far enough either way
		}
		raw = s.signState(purposeOAuth, want)
		got, err := s.verifyState(purposeOAuth, raw)
		switch {
		case platform == "" || link == "":
			if !errors.Is(err, errStateInvalid) {
				t.Fatalf("a state without platform or link: %+v, %v", got, err)
			}
		case want.Expires <= now.Unix():
			if !errors.Is(err, errStateExpired) {
				t.Fatalf("a state past its expiry: %+v, %v", got, err)
			}
		case err != nil:
			t.Fatalf("Tender's own state %q refused: %v", raw, err)
		case got != want && utf8.ValidString(platform) && utf8.ValidString(link) && utf8.ValidString(nonce):
			// Tender's ids and nonces are ASCII; JSON would replace
			// invalid UTF-8, so only valid text must come back as it was.
			t.Fatalf("state %+v came back as %+v", want, got)
		}
		if _, err := s.verifyState(purposeExpress, raw); !errors.Is(err, errStateInvalid) {
			t.Fatalf("an OAuth state passed as an Express one: %v", err)
		}

		i := int(pos % uint(len(raw)))
		if raw[i] != b {
			altered := raw[:i] + string([]byte{b}) + raw[i+1:]
			if _, err := s.verifyState(purposeOAuth, altered); !errors.Is(err, errStateInvalid) {
				t.Fatalf("%q altered at byte %d to %q: %v, not refused as invalid", raw, i, altered, err)
			}
		}
		if _, err := s.verifyState(purposeOAuth, raw[:i]); !errors.Is(err, errStateInvalid) {
			t.Fatalf("%q cut to %q: %v, not refused as invalid", raw, raw[:i], err)
		}
	})
}

// checkStateError fails unless err is one of the page errors a state
// can get: any other would show the merchant an internal error.
func checkStateError(tb testing.TB, raw string, err error) {
	tb.Helper()
	if !errors.Is(err, errStateInvalid) && !errors.Is(err, errStateExpired) {
		tb.Fatalf("%q refused with %T %v, not a state page error", raw, err, err)
	}
}
