package money

import (
	"math"
	"strings"
)

// ParseAmount reads a decimal string in cur's major unit, such as "12.34"
// for EUR (1234 cents), "1234" for JPY or "-1.234" for BHD, and returns the
// exact Amount. The accepted form is an optional sign ("+" or "-"), one or
// more ASCII digits, and optionally a "." followed by one to
// cur.Exponent() digits.
//
// It never rounds: more fraction digits than the currency has ("12.345" EUR,
// "12.0" JPY, even "12.340" EUR) is an error, because a silently dropped digit
// would change what someone asked to be charged. Exponent notation ("1e3"),
// grouping ("1,000"), spaces, a bare "." (".5", "5.") and anything else are
// rejected too. Errors are *FieldErrors for the field "amount" that quote s:
// ErrInvalid for a malformed string or a zero cur, ErrOverflow for a value
// outside int64.
func ParseAmount(s string, cur Currency) (Amount, error) {
	if cur.IsZero() {
		return Amount{}, invalid("currency", "", "no currency for amount %q", s)
	}
	exp := cur.Exponent()
	rest := s
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	intPart, frac, hasPoint := strings.Cut(rest, ".")
	switch {
	case intPart == "":
		return Amount{}, invalid("amount", s, "want digits before the decimal point")
	case !allDigits(intPart) || !allDigits(frac):
		return Amount{}, invalid("amount", s, "want a plain decimal number such as %s", example(cur))
	case hasPoint && frac == "":
		return Amount{}, invalid("amount", s, "want digits after the decimal point")
	case len(frac) > exp:
		if exp == 0 {
			return Amount{}, invalid("amount", s, "%s has no minor unit; give a whole number", cur.Code())
		}
		return Amount{}, invalid("amount", s, "%s allows at most %d decimals, got %d", cur.Code(), exp, len(frac))
	}

	// Accumulate the magnitude in a uint64, which holds 2^63 (the magnitude
	// of math.MinInt64) and so lets the most negative amount parse.
	const limit = uint64(math.MaxInt64) + 1
	var mag uint64
	digits := intPart + frac + strings.Repeat("0", exp-len(frac))
	for i := 0; i < len(digits); i++ {
		d := uint64(digits[i] - '0')
		if mag > (limit-d)/10 {
			return Amount{}, overflow("amount", s, "too large for %s", cur.Code())
		}
		mag = mag*10 + d
	}
	if !neg && mag == limit {
		return Amount{}, overflow("amount", s, "too large for %s", cur.Code())
	}
	v := int64(mag) // mag == limit wraps to math.MinInt64, the intended value when neg
	if neg {
		v = -v
	}
	return Amount{Value: v, Currency: cur}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// example shows the shape of a valid amount in cur for error messages.
func example(cur Currency) string {
	if e := cur.Exponent(); e > 0 {
		return "12." + "3456"[:min(e, 4)]
	}
	return "12"
}

// Decimal returns a's value in its currency's major unit with exactly
// Exponent fraction digits and no currency code: "12.34" and "-0.05" for
// EUR, "1234" for JPY, "1.234" for BHD. It is the form ParseAmount reads
// back to the same Amount, and the form Tender's API and CSV exports use.
func (a Amount) Decimal() string {
	return formatDecimal(a.Value, a.Currency.Exponent())
}

func formatDecimal(v int64, exp int) string {
	// Negating in uint64 gives 2^63 for math.MinInt64 instead of overflowing.
	mag := uint64(v)
	if v < 0 {
		mag = -mag
	}
	var buf [24]byte // sign + 20 digits + point, with room to spare
	i := len(buf)
	for n := 0; n <= exp || mag > 0; n++ {
		if n == exp && exp > 0 {
			i--
			buf[i] = '.'
		}
		i--
		buf[i] = byte('0' + mag%10)
		mag /= 10
	}
	if v < 0 {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
