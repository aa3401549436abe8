package wallet_test

import (
	"errors"
	"testing"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/wallet"
)

// FuzzCheckCSRF checks the CSRF token of the wallet page, which arrives
// in a form field or header next to the session cookie: the token of a
// cookie passes with that cookie; made up, altered in any byte, cut, or
// sent with another (or no) cookie it is refused as csrf_invalid,
// errs.Forbidden, never with another error and never with a panic.
func FuzzCheckCSRF(f *testing.F) {
	seeds := []struct {
		cookie, token string
		pos           uint
		b             byte
	}{
		{"Wq0vG5u8x3rQpXyZ1bC2dE4fH6jK8mN0pR2tV4wY6zA", "", 0, 'x'},
		{"Wq0vG5u8x3rQpXyZ1bC2dE4fH6jK8mN0pR2tV4wY6zA", "AAAA", 42, 'A'},
		{"", "", 0, 0},
		{"", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", 3, '-'},
		{"c", "c", 1, 0xff},
		{"\x00", "\x00", 0, 1},
		{"\xff\xfe", "=", 7, '='},
	}
	for _, s := range seeds {
		f.Add(s.cookie, s.token, s.pos, s.b)
	}
	f.Fuzz(func(t *testing.T, cookie, token string, pos uint, b byte) {
		good := wallet.CSRFToken(cookie)
		if err := wallet.CheckCSRF(cookie, token); err == nil {
			if cookie == "" || token != good {
				t.Fatalf("CheckCSRF(%q, %q) passed; the cookie's token is %q", cookie, token, good)
			}
		} else {
			checkCSRFRefusal(t, err)
		}
		if cookie == "" {
			if err := wallet.CheckCSRF(cookie, good); err == nil {
				t.Fatal("a request without a session cookie passed the CSRF check")
			}
			return
		}
		if err := wallet.CheckCSRF(cookie, good); err != nil {
			t.Fatalf("the token of cookie %q is refused: %v", cookie, err)
		}
		if err := wallet.CheckCSRF(cookie+"x", good); err == nil {
			t.Fatalf("the token of cookie %q passed with another cookie", cookie)
		}
		i := int(pos % uint(len(good)))
		if good[i] != b {
			altered := good[:i] + string([]byte{b}) + good[i+1:]
			if err := wallet.CheckCSRF(cookie, altered); err == nil {
				t.Fatalf("token %q altered at byte %d to %q passed", good, i, altered)
			} else {
				checkCSRFRefusal(t, err)
			}
		}
		if err := wallet.CheckCSRF(cookie, good[:i]); err == nil {
			t.Fatalf("token %q cut to %q passed", good, good[:i])
		}
	})
}

// checkCSRFRefusal fails unless err is the page's csrf_invalid error.
func checkCSRFRefusal(tb testing.TB, err error) {
	tb.Helper()
	var se *wallet.SessionError
	if !errors.As(err, &se) || !errs.Is(err, errs.Forbidden) || se.Err.Reason != "csrf_invalid" {
		tb.Fatalf("refused with %T %v, not csrf_invalid", err, err)
	}
}
