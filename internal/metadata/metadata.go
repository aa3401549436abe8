// Package metadata holds the rules of the metadata every Tender object
// carries, which are Stripe's: up to 50 keys of up to 40 characters
// without square brackets, values of up to 500 characters, and an update
// that merges, where a null or empty value removes its key. Keys and values
// are text (internal/text): valid UTF-8 without control characters, except
// that a value may hold tabs and line breaks (a platform's own notes or an
// address); lengths count characters, as Stripe's do.
package metadata

import (
	"maps"
	"strings"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/text"
)

// Limits, as Stripe's.
const (
	MaxKeys     = 50
	MaxKeyLen   = 40
	MaxValueLen = 500
)

// Rule is the text rule of a metadata field, which its `text` tag on a
// request type declares as "500,multiline,keys=40".
var Rule = text.Rule{Max: MaxValueLen, Multiline: true, KeyMax: MaxKeyLen}

// Apply returns current with updates merged in, or an errs.Invalid naming
// the parameter at fault. current is not changed.
func Apply(current map[string]string, updates map[string]*string) (map[string]string, error) {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range updates {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		switch {
		case v == nil || *v == "":
			delete(out, k)
		default:
			if err := text.Check("metadata["+k+"]", *v, Rule); err != nil {
				return nil, err
			}
			out[k] = *v
		}
	}
	if len(out) > MaxKeys {
		return nil, errs.Invalidf("metadata", "at most %d metadata keys are allowed", MaxKeys)
	}
	return out, nil
}

// checkKey refuses a key Stripe would; the error names metadata, not the
// key, since the key is what is wrong.
func checkKey(k string) error {
	if err := text.Check("metadata keys", k, text.Rule{Max: MaxKeyLen}); err != nil {
		e := errs.As(err)
		e.Param = "metadata"
		return e
	}
	if k == "" || strings.ContainsAny(k, "[]") {
		return errs.Invalidf("metadata", "metadata keys must be 1 to %d characters without square brackets: %q", MaxKeyLen, k)
	}
	return nil
}
