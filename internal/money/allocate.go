package money

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Allocate splits total minor units into len(weights) parts in proportion to
// weights, such that the parts sum to exactly total: no minor unit is lost
// or invented. It is how a charge is split between recipients and how a
// partial refund is spread back over the splits and fees of a payment.
//
// Method (largest remainder): each part first gets the floor of
// |total| × weight / sum(weights), computed exactly in 128 bits; the units
// left over (fewer than len(weights)) go one each to the parts with the
// largest remainders of that division, and between equal remainders to the
// lowest index. So 100 split 1:1:1 is 34, 33, 33, and the result depends only
// on the inputs, never on map or sort order. A part with weight 0 always
// gets 0.
//
// A negative total is split as its magnitude and every part negated, so
// refunding -100 over 1:1:1 gives -34, -33, -33, the mirror of the charge.
// A zero total gives all zeros.
//
// It returns an ErrInvalid *FieldError if weights is empty, has a negative
// weight, or has only zeros, and ErrOverflow if the weights sum past int64.
func Allocate(total int64, weights []int64) ([]int64, error) {
	if len(weights) == 0 {
		return nil, invalid("weights", "[]", "need at least one weight")
	}
	var sum uint64
	for i, w := range weights {
		if w < 0 {
			return nil, invalid("weights", strconv.FormatInt(w, 10), "weight %d is negative", i)
		}
		sum += uint64(w)
		if sum > math.MaxInt64 {
			return nil, overflow("weights", strconv.Itoa(len(weights))+" weights", "sum overflows int64")
		}
	}
	if sum == 0 {
		return nil, invalid("weights", strconv.Itoa(len(weights))+" zeros", "all weights are zero")
	}

	// Work with the magnitude in uint64 so math.MinInt64 (2^63) is allowed.
	mag := uint64(total)
	if total < 0 {
		mag = -mag
	}
	parts := make([]int64, len(weights))
	rems := make([]uint64, len(weights))
	left := mag
	for i, w := range weights {
		// mag×w/sum <= mag < 2^64, so hi < sum and Div64 cannot panic.
		hi, lo := bits.Mul64(mag, uint64(w))
		q, r := bits.Div64(hi, lo, sum)
		parts[i], rems[i] = int64(q), r
		left -= q
	}

	// left < len(weights), since each part lost less than one unit. The
	// remainders share the denominator sum, so they compare directly.
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(rems[b], rems[a]); c != 0 {
			return c // larger remainder first
		}
		return cmp.Compare(a, b) // then lower index
	})
	for _, i := range order[:left] {
		parts[i]++
	}

	// For total == math.MinInt64 a part can hold 2^63, which int64 stores as
	// math.MinInt64; negating it leaves it there, which is the right value.
	if total < 0 {
		for i := range parts {
			parts[i] = -parts[i]
		}
	}
	return parts, nil
}
