package stripeapi

import (
	"regexp"
	"strings"
)

// secretKeyRE matches Stripe secret and restricted keys, whatever account
// they belong to. Publishable keys (pk_…) are public and left alone.
var secretKeyRE = regexp.MustCompile(`\b([sr]k_(?:test|live)_)[0-9A-Za-z_]+`)

// redactKeys replaces every Stripe secret or restricted key in s with its
// prefix and a marker. Stripe masks keys in its own messages already; this
// also covers keys that reach an error string some other way.
func redactKeys(s string) string {
	if !strings.Contains(s, "k_test_") && !strings.Contains(s, "k_live_") {
		return s
	}
	return secretKeyRE.ReplaceAllString(s, "${1}[REDACTED]")
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

// redactedError is an error whose message has secret keys removed; the
// original stays reachable through Unwrap for errors.As.
type redactedError struct{ err error }

func (e *redactedError) Error() string { return redactKeys(e.err.Error()) }
func (e *redactedError) Unwrap() error { return e.err }
