// Package stripeevents receives the events Stripe sends Tender. This file
// verifies them: a delivery is Stripe's only if its Stripe-Signature
// header carries an HMAC of its raw body, under one of its endpoint's
// signing secrets, made within Tolerance of Tender's clock.
package stripeevents

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"
)

// Tolerance is how far a signature's time may be from Tender's clock, either
// way: Stripe's default, which bounds how long a captured delivery can be
// replayed.
const Tolerance = 300 * time.Second

// Why a delivery was refused. Each is counted apart, and none says more to
// the sender than that the signature was refused.
var (
	ErrNotSigned    = errors.New("stripeevents: no Stripe-Signature header")
	ErrBadHeader    = errors.New("stripeevents: Stripe-Signature header unreadable")
	ErrStale        = errors.New("stripeevents: signature made too far from now")
	ErrNoSecret     = errors.New("stripeevents: no signing secret configured for this endpoint")
	ErrBadSignature = errors.New("stripeevents: no signature matches a secret of this endpoint")
)

// Verify checks header, a Stripe-Signature value ("t=<unix>,v1=<hex>[,v1=…]"),
// over body, the request's raw bytes, against each of secrets (several
// while a secret is rolled), at now. It returns the index of the secret
// that matched, so an operator can see when an old secret is no longer
// used, or one of the errors above.
func Verify(body []byte, header string, secrets []string, now time.Time) (int, error) {
	if header == "" {
		return -1, ErrNotSigned
	}
	signed, err := signedAt(header)
	if err != nil {
		return -1, err
	}
	if d := now.Sub(signed); d > Tolerance || d < -Tolerance {
		return -1, ErrStale
	}
	if len(secrets) == 0 {
		return -1, ErrNoSecret
	}
	for i, secret := range secrets {
		// The HMAC and the comparison of every v1 are stripe-go's; the time
		// is checked above against Tender's clock, which the library cannot
		// be given.
		err := webhook.ValidatePayloadIgnoringTolerance(body, header, secret)
		if err == nil {
			return i, nil
		}
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			return -1, ErrBadHeader
		}
	}
	return -1, ErrBadSignature
}

// signedAt reads the header's one t=, which every signature covers.
func signedAt(header string) (time.Time, error) {
	var at time.Time
	seen := false
	for part := range strings.SplitSeq(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return time.Time{}, ErrBadHeader
		}
		if key != "t" {
			continue
		}
		unix, err := strconv.ParseInt(value, 10, 64)
		if err != nil || seen || unix <= 0 {
			return time.Time{}, ErrBadHeader
		}
		at, seen = time.Unix(unix, 0), true
	}
	if !seen {
		return time.Time{}, ErrBadHeader
	}
	return at, nil
}
