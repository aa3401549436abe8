package money

import (
	"math"
	"strconv"
)

// FeeRule is how a platform's application fee is computed on a charge: a
// percentage in basis points plus a fixed part, bounded below and above.
// All amounts are minor units of the charge's currency, so a platform keeps
// one rule per currency (30 cents is not 30 yen).
//
// The zero FeeRule charges nothing.
type FeeRule struct {
	// BasisPoints is the percentage part in hundredths of a percent:
	// 290 is 2.9 %. It must be between 0 and 10000 (100 %).
	BasisPoints int64
	// Fixed is added to the percentage part, in minor units; at least 0.
	Fixed int64
	// Min is the smallest fee, in minor units; 0 means no minimum.
	Min int64
	// Max is the largest fee, in minor units; 0 means no maximum (a rule
	// that should charge nothing says so with zero BasisPoints and Fixed).
	Max int64
}

// Validate returns an ErrInvalid *FieldError naming the first field that is
// out of range: "basis_points" outside 0..10000, a negative "fixed", "min"
// or "max", or "min" above a non-zero max.
func (r FeeRule) Validate() error {
	switch {
	case r.BasisPoints < 0 || r.BasisPoints > 10000:
		return invalid("basis_points", strconv.FormatInt(r.BasisPoints, 10), "must be between 0 and 10000 (100 %%)")
	case r.Fixed < 0:
		return invalid("fixed", strconv.FormatInt(r.Fixed, 10), "must not be negative")
	case r.Min < 0:
		return invalid("min", strconv.FormatInt(r.Min, 10), "must not be negative")
	case r.Max < 0:
		return invalid("max", strconv.FormatInt(r.Max, 10), "must not be negative")
	case r.Max != 0 && r.Min > r.Max:
		return invalid("min", strconv.FormatInt(r.Min, 10), "must not exceed max %d", r.Max)
	}
	return nil
}

// Fee returns the fee on a charge of amount minor units:
//
//	fee = round(amount × BasisPoints / 10000) + Fixed
//	then raised to Min, lowered to Max (if set), and lowered to amount.
//
// Rounding: the percentage part is rounded half up, which for the
// non-negative amounts accepted here is half away from zero: 2.5 cents
// becomes 3, 2.4999 becomes 2. It is the commercial rounding a merchant
// checking an invoice with a calculator expects; banker's rounding would be
// fairer across many charges but surprising on any single one. The
// product amount × BasisPoints can exceed int64 (it needs up to 77 bits),
// so it is never formed: amount is split as q×10000 + r, giving
// q×BasisPoints + r×BasisPoints/10000 exactly, both parts in range.
//
// The fee never exceeds the amount, even when Fixed or Min would (a 50-cent
// minimum on a 30-cent charge takes 30 cents), because Stripe refuses an
// application fee larger than its charge, and it is never negative.
//
// It returns an ErrInvalid *FieldError if the rule is invalid (see Validate)
// or amount is negative; refunds are split with Allocate, not charged a fee.
func (r FeeRule) Fee(amount int64) (int64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	if amount < 0 {
		return 0, invalid("amount", strconv.FormatInt(amount, 10), "a fee is taken on a charge, which is not negative")
	}
	return r.fee(amount), nil
}

// fee is Fee for a valid rule and a non-negative amount.
func (r FeeRule) fee(amount int64) int64 {
	q, rem := amount/10000, amount%10000
	// q×bps <= amount because bps <= 10000; rem×bps < 10^8.
	part := q*r.BasisPoints + (rem*r.BasisPoints)/10000
	if 2*((rem*r.BasisPoints)%10000) >= 10000 {
		part++ // round half up; cannot pass amount, since then bps < 10000
	}
	fee := part
	if fee > math.MaxInt64-r.Fixed {
		fee = math.MaxInt64 // saturate: the result is capped at amount below
	} else {
		fee += r.Fixed
	}
	fee = max(fee, r.Min)
	if r.Max != 0 {
		fee = min(fee, r.Max)
	}
	return min(fee, amount)
}

// GrossUp returns the smallest gross charge whose net after the rule's fee,
// gross - rule.Fee(gross), is at least net: the amount to charge when the
// customer covers the fee. The net can exceed the requested one by a minor
// unit or so, because the fee rounds; it is never less.
//
// It returns an ErrInvalid *FieldError if the rule is invalid or net is
// negative, and ErrOverflow if no int64 gross is large enough, which is also
// the answer for a 100 % fee without a maximum.
func GrossUp(net int64, rule FeeRule) (int64, error) {
	if err := rule.Validate(); err != nil {
		return 0, err
	}
	if net < 0 {
		return 0, invalid("net", strconv.FormatInt(net, 10), "must not be negative")
	}
	netOf := func(gross int64) int64 { return gross - rule.fee(gross) }
	// netOf is non-decreasing: raising gross by one raises the rounded
	// percentage part by at most one (BasisPoints <= 10000), and the
	// clamps to Min, Max and gross keep that. So binary search finds the
	// smallest gross, and netOf(gross) >= net needs gross >= net.
	lo, hi := net, int64(math.MaxInt64)
	if netOf(hi) < net {
		return 0, overflow("net", strconv.FormatInt(net, 10), "no gross amount covers the fee")
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if netOf(mid) >= net {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}
