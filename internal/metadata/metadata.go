// Package metadata holds the rules of the metadata every Tender object
// carries, which are Stripe's: up to 50 keys of up to 40 characters
// without square brackets, values of up to 500 characters, and an update
// that merges, where a null or empty value removes its key.
package metadata

import (
	"maps"
	"strings"

	"github.com/tenderpay/tender/internal/errs"
)

// Limits, as Stripe's.
const (
	MaxKeys     = 50
	MaxKeyLen   = 40
	MaxValueLen = 500
)

// Apply returns current with updates merged in, or an errs.Invalid naming
// the parameter at fault. current is not changed.
func Apply(current map[string]string, updates map[string]*string) (map[string]string, error) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range updates {
		switch {
		case k == "" || len(k) > MaxKeyLen || strings.ContainsAny(k, "[]"):
			return nil, errs.Invalidf("metadata", "metadata keys must be 1 to %d characters without square brackets: %q", MaxKeyLen, k)
		case v == nil || *v == "":
			delete(out, k)
		case len(*v) > MaxValueLen:
			return nil, errs.Invalidf("metadata["+k+"]", "metadata values must be at most %d characters", MaxValueLen)
		default:
			out[k] = *v
		}
	}
	if len(out) > MaxKeys {
		return nil, errs.Invalidf("metadata", "at most %d metadata keys are allowed", MaxKeys)
	}
	return out, nil
}
