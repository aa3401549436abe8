package stripeapi

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stripe/stripe-go/v85"
)

// secretKeyRE matches Stripe secret and restricted keys, whatever account
// they belong to. Publishable keys (pk_…) are public and left alone.
var secretKeyRE = regexp.MustCompile(`\b([sr]k_(?:test|live)_)[0-9A-Za-z_]+`)

// clientSecretRE matches the client secrets of PaymentIntents and
// SetupIntents, which let a browser confirm the intent. stripe-go's error
// strings carry them when an intent is attached to the error.
var clientSecretRE = regexp.MustCompile(`\b((?:pi|seti)_[0-9A-Za-z]+_secret_)[0-9A-Za-z]+`)

// redactKeys replaces every Stripe secret or restricted key, and every
// intent's client secret, in s with its prefix and a marker. Stripe masks
// keys in its own messages already; this also covers keys that reach an
// error string some other way.
func redactKeys(s string) string {
	if strings.Contains(s, "k_test_") || strings.Contains(s, "k_live_") {
		s = secretKeyRE.ReplaceAllString(s, "${1}[REDACTED]")
	}
	if strings.Contains(s, "_secret_") {
		s = clientSecretRE.ReplaceAllString(s, "${1}[REDACTED]")
	}
	return s
}

// newRedacter returns a redactor that also removes key itself, in case it
// does not look like a Stripe key.
func newRedacter(key string) func(string) string {
	return func(s string) string {
		if key != "" {
			s = strings.ReplaceAll(s, key, "[REDACTED]")
		}
		return redactKeys(s)
	}
}

// redactedError is an error whose message has secrets removed; the original
// stays reachable through Unwrap for errors.As. A *stripe.Error is
// summarised on one line rather than shown as stripe-go's JSON, which holds
// the whole PaymentIntent or PaymentMethod attached to a decline.
type redactedError struct{ err error }

func (e *redactedError) Error() string {
	if se, ok := e.err.(*stripe.Error); ok {
		return redactKeys(summary(se))
	}
	return redactKeys(e.err.Error())
}

func (e *redactedError) Unwrap() error { return e.err }

func summary(se *stripe.Error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stripe: %d", se.HTTPStatusCode)
	for _, f := range [][2]string{
		{"type", string(se.Type)}, {"code", string(se.Code)}, {"decline_code", string(se.DeclineCode)},
		{"param", se.Param}, {"request_id", se.RequestID}, {"error", se.OAuthError},
	} {
		if f[1] != "" {
			fmt.Fprintf(&b, " %s=%s", f[0], f[1])
		}
	}
	msg := se.Msg
	if msg == "" {
		msg = se.OAuthErrorDescription
	}
	if msg != "" {
		b.WriteString(": " + msg)
	}
	return b.String()
}
