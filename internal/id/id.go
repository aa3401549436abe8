// Package id makes Tender's object identifiers: a type prefix, an underscore
// and 24 characters of Crockford base32 (lower case) holding 50 bits of
// millisecond time and 70 random bits. Because the time comes first, ids sort
// in creation order, so lists can page by id alone; 70 random bits make a
// collision within one millisecond vanishingly unlikely.
package id

import (
	"crypto/rand"
	"strings"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Prefixes of Tender's object types.
const (
	Platform = "plt"
	APIKey   = "key"
	Request  = "req"
)

// New returns a new id with the given type prefix.
func New(prefix string) string {
	return newAt(prefix, time.Now())
}

func newAt(prefix string, t time.Time) string {
	var rnd [14]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
	ms := uint64(t.UnixMilli())
	var b strings.Builder
	b.Grow(len(prefix) + 25)
	b.WriteString(prefix)
	b.WriteByte('_')
	for i := 9; i >= 0; i-- { // 10 characters × 5 bits = 50 bits of time
		b.WriteByte(alphabet[(ms>>(uint(i)*5))&31])
	}
	for _, r := range rnd { // 14 characters × 5 random bits each
		b.WriteByte(alphabet[r&31])
	}
	return b.String()
}

// HasPrefix reports whether s looks like an id of the given type.
func HasPrefix(s, prefix string) bool {
	return len(s) == len(prefix)+25 && strings.HasPrefix(s, prefix+"_")
}
