// Package id makes Tender's object identifiers: a type prefix, an underscore
// and 24 characters of Crockford base32 (lower case) holding 50 bits of
// millisecond time and 70 random bits. Because the time comes first, ids sort
// in creation order, so lists can page by id alone; within one process ids
// are strictly increasing (see New), and across processes 69 or 70 random
// bits make a collision within one millisecond vanishingly unlikely.
package id

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
	"strings"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Prefixes of Tender's object types.
const (
	Platform = "plt"
	APIKey   = "key"
	Request  = "req"
)

// New returns a new id with the given type prefix. Ids made by one process
// are strictly increasing, even within a millisecond: the random part of
// the next id in the same millisecond is the previous one plus one, so
// events written in quick succession keep their order.
func New(prefix string) string {
	return gen.next(prefix, time.Now())
}

var gen generator

// generator hands out monotonic ids.
type generator struct {
	mu     sync.Mutex
	lastMS uint64
	rnd    [14]byte // 5-bit digits, most significant first
}

func (g *generator) next(prefix string, t time.Time) string {
	g.mu.Lock()
	ms := uint64(max(t.UnixMilli(), 0))
	switch {
	case ms > g.lastMS:
		g.fill()
	case g.increment():
		// Same millisecond, or the clock stepped back: stay on the last
		// millisecond and count up from the last id.
		ms = g.lastMS
	default:
		// 2^69 ids in one millisecond: borrow the next one.
		ms = g.lastMS + 1
		g.fill()
	}
	g.lastMS = ms
	rnd := g.rnd
	g.mu.Unlock()
	return format(prefix, ms, rnd)
}

// format writes an id: the prefix, 50 bits of milliseconds and 14 random
// 5-bit digits.
func format(prefix string, ms uint64, rnd [14]byte) string {
	var b strings.Builder
	b.Grow(len(prefix) + 25)
	b.WriteString(prefix)
	b.WriteByte('_')
	for i := 9; i >= 0; i-- { // 10 characters × 5 bits = 50 bits of time
		b.WriteByte(alphabet[(ms>>(uint(i)*5))&31])
	}
	for _, r := range rnd { // 14 characters × 5 random bits each
		b.WriteByte(alphabet[r])
	}
	return b.String()
}

// fill draws a fresh random part. The top bit is left clear so that many
// increments fit before the part overflows.
func (g *generator) fill() {
	_, _ = rand.Read(g.rnd[:]) // crypto/rand.Read never fails (Go 1.24+)
	for i := range g.rnd {
		g.rnd[i] &= 31
	}
	g.rnd[0] &= 15
}

// increment adds one to the random part; false if it overflowed.
func (g *generator) increment() bool {
	for i := len(g.rnd) - 1; i >= 0; i-- {
		if g.rnd[i] < 31 {
			g.rnd[i]++
			return true
		}
		g.rnd[i] = 0
	}
	return false
}

// HasPrefix reports whether s looks like an id of the given type.
func HasPrefix(s, prefix string) bool {
	return len(s) == len(prefix)+25 && strings.HasPrefix(s, prefix+"_")
}

// Valid reports whether s could be an id of the given type: the prefix, an
// underscore and 24 characters of the lower-case alphabet. A string that
// is not could name no object, so callers can refuse it before looking it
// up, whatever bytes it holds.
func Valid(s, prefix string) bool {
	if !HasPrefix(s, prefix) {
		return false
	}
	for i := len(prefix) + 1; i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// A request that may be run again after a crash (one with an
// Idempotency-Key) must make the same objects each time it runs, so that
// what it asked Stripe for under keys derived from their ids is found
// again rather than made twice. Its context carries a seed, and For
// derives ids from it: the seed's first use for the time, and a hash of
// the seed, the prefix and a count of ids of that prefix for the rest.
// A rerun runs the same code in the same order, so it draws the same ids.

type seedKey struct{}

type seeded struct {
	seed string
	ms   uint64
	mu   sync.Mutex
	n    map[string]int
}

// WithSeed returns a context in which For derives ids from seed, with
// first as their time. An empty seed leaves ctx as it is.
func WithSeed(ctx context.Context, seed string, first time.Time) context.Context {
	if seed == "" {
		return ctx
	}
	return context.WithValue(ctx, seedKey{}, &seeded{seed: seed, ms: uint64(max(first.UnixMilli(), 0)), n: map[string]int{}})
}

// For returns an id with the given prefix: derived from the seed ctx
// carries (see WithSeed), the same on every run of the same request, or a
// new one (New) when it carries none.
func For(ctx context.Context, prefix string) string {
	s, _ := ctx.Value(seedKey{}).(*seeded)
	if s == nil {
		return New(prefix)
	}
	s.mu.Lock()
	n := s.n[prefix]
	s.n[prefix] = n + 1
	s.mu.Unlock()
	h := sha256.Sum256([]byte(s.seed + "\x00" + prefix + "\x00" + strconv.Itoa(n)))
	var rnd [14]byte
	for i := range rnd {
		rnd[i] = h[i] & 31
	}
	rnd[0] &= 15
	return format(prefix, s.ms, rnd)
}
