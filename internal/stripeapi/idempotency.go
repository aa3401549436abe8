package stripeapi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// maxReadableKey bounds keys kept readable; Stripe accepts up to 255
// characters.
const maxReadableKey = 200

// IdempotencyKey returns the Idempotency-Key for one request Tender makes to
// Stripe, derived only from Tender's own ids and the step, e.g.
//
//	IdempotencyKey("attempt", attemptID, "create")
//
// The key is deterministic, never random, because its job is to survive the
// process: stripe-go's random key protects the retries inside one call, but
// when a job dies after Stripe charged the card and before Tender recorded
// it, the job's next run must send the same key so that Stripe replays the
// first response instead of charging twice. Stripe keeps keys for at least 24
// hours only, after which the same key is a new request; that is why Tender
// saves the PaymentIntent's id before confirming it, and a run that finds an
// id re-reads the PaymentIntent rather than creating another.
//
// Parts made of letters, digits, '_', '-' and '.' are joined with ':' and
// kept readable (Stripe's Dashboard shows keys); anything else, or a key
// longer than 200 characters, becomes "sha256:" and the hex SHA-256 of the
// length-prefixed parts. Different parts always give different keys.
//
// It panics when given no parts or an empty part: a key missing the id it
// should be derived from would be shared by unrelated requests, and Stripe
// would answer one with the other's result.
func IdempotencyKey(parts ...string) string {
	if len(parts) == 0 {
		panic("stripeapi: IdempotencyKey needs at least one part")
	}
	readable := parts[0] != "sha256"
	n := len(parts) - 1
	for _, p := range parts {
		if p == "" {
			panic("stripeapi: IdempotencyKey given an empty part")
		}
		n += len(p)
		if readable && !plain(p) {
			readable = false
		}
	}
	if readable && n <= maxReadableKey {
		return strings.Join(parts, ":")
	}
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// plain reports whether p can appear in a readable key without making two
// different lists of parts join to the same string.
func plain(p string) bool {
	for _, r := range p {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}
