package stripeapi_test

import (
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/stripeapi"
)

func TestIdempotencyKeyReadableAndStable(t *testing.T) {
	t.Parallel()
	got := stripeapi.IdempotencyKey("attempt", "att_01J9Z3", "create")
	if got != "attempt:att_01J9Z3:create" {
		t.Fatalf("key %q", got)
	}
	if again := stripeapi.IdempotencyKey("attempt", "att_01J9Z3", "create"); again != got {
		t.Fatalf("not stable: %q then %q", got, again)
	}
}

func TestIdempotencyKeyDistinct(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300)
	sets := [][]string{
		{"attempt", "att_1", "create"},
		{"attempt", "att_1", "confirm"},
		{"attempt", "att_2", "create"},
		{"attempt:att_1", "create"}, // would join like the first if ':' were allowed
		{"attempt", "att_1:create"},
		{"a b", "c"},
		{"a", "b c"},
		{"sha256", "x"},
		{long},
		{long + "y"},
		{long, "y"},
		{"é"},
		{"e"},
	}
	seen := map[string][]string{}
	for _, parts := range sets {
		k := stripeapi.IdempotencyKey(parts...)
		if len(k) > 255 {
			t.Errorf("%q: key of %d characters", parts, len(k))
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("%q and %q share key %q", prev, parts, k)
		}
		seen[k] = parts
	}
}

func TestIdempotencyKeyHashesLongOrUnusualParts(t *testing.T) {
	t.Parallel()
	for _, parts := range [][]string{
		{strings.Repeat("x", 201)},
		{"attempt", "with space"},
		{"sha256", "abc"},
	} {
		k := stripeapi.IdempotencyKey(parts...)
		if !strings.HasPrefix(k, "sha256:") || len(k) != len("sha256:")+64 {
			t.Errorf("%q: key %q, want a sha256 key", parts, k)
		}
	}
}

func TestIdempotencyKeyPanicsOnMissingParts(t *testing.T) {
	t.Parallel()
	for _, parts := range [][]string{nil, {"attempt", "", "create"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%q: no panic", parts)
				}
			}()
			stripeapi.IdempotencyKey(parts...)
		}()
	}
}
