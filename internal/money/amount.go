package money

import (
	"fmt"
	"math"
	"strconv"
)

// Amount is a quantity of money: Value units of Currency's minor unit (cents
// for EUR, yen for JPY, fils for BHD). Amounts may be negative, which the
// ledger uses for refunds and reversals.
//
// The zero Amount has no currency and is invalid on purpose: operations that
// combine amounts reject it with ErrInvalid rather than treat a missing
// currency as a match.
type Amount struct {
	Value    int64
	Currency Currency
}

// New returns value minor units of cur. It is the same as the composite
// literal and exists so that call sites read as money.New(1234, eur).
func New(value int64, cur Currency) Amount { return Amount{Value: value, Currency: cur} }

// Zero returns no money in cur, the starting point of a sum.
func Zero(cur Currency) Amount { return Amount{Currency: cur} }

// IsZero reports whether a's value is zero, whatever its currency.
func (a Amount) IsZero() bool { return a.Value == 0 }

// IsNegative reports whether a's value is below zero.
func (a Amount) IsNegative() bool { return a.Value < 0 }

// IsPositive reports whether a's value is above zero.
func (a Amount) IsPositive() bool { return a.Value > 0 }

// sameCurrency checks that a and b can be combined.
func (a Amount) sameCurrency(b Amount) error {
	if a.Currency.IsZero() || b.Currency.IsZero() {
		return invalid("currency", "", "amount has no currency")
	}
	if a.Currency != b.Currency {
		return fmt.Errorf("money: %s and %s: %w", a.Currency, b.Currency, ErrCurrencyMismatch)
	}
	return nil
}

// Add returns a+b. It returns ErrCurrencyMismatch if the currencies differ,
// ErrInvalid if either has no currency, and ErrOverflow if the sum does not
// fit in an int64.
func (a Amount) Add(b Amount) (Amount, error) {
	if err := a.sameCurrency(b); err != nil {
		return Amount{}, err
	}
	s, ok := addInt64(a.Value, b.Value)
	if !ok {
		return Amount{}, overflow("amount", a.String(), "adding %s overflows int64", b)
	}
	return Amount{Value: s, Currency: a.Currency}, nil
}

// Sub returns a-b, with the same errors as Add.
func (a Amount) Sub(b Amount) (Amount, error) {
	if err := a.sameCurrency(b); err != nil {
		return Amount{}, err
	}
	d, ok := subInt64(a.Value, b.Value)
	if !ok {
		return Amount{}, overflow("amount", a.String(), "subtracting %s overflows int64", b)
	}
	return Amount{Value: d, Currency: a.Currency}, nil
}

// Neg returns -a. It returns ErrOverflow only for math.MinInt64, whose
// negation does not fit in an int64.
func (a Amount) Neg() (Amount, error) {
	if a.Value == math.MinInt64 {
		return Amount{}, overflow("amount", a.String(), "negation overflows int64")
	}
	return Amount{Value: -a.Value, Currency: a.Currency}, nil
}

// Cmp compares a and b and returns -1 if a < b, 0 if a == b, and +1 if
// a > b. Amounts in different currencies have no order: it returns
// ErrCurrencyMismatch for them and ErrInvalid if either has no currency.
func (a Amount) Cmp(b Amount) (int, error) {
	if err := a.sameCurrency(b); err != nil {
		return 0, err
	}
	switch {
	case a.Value < b.Value:
		return -1, nil
	case a.Value > b.Value:
		return +1, nil
	default:
		return 0, nil
	}
}

// String returns a in decimal followed by its currency code, such as
// "12.34 EUR", "1234 JPY" or "-1.234 BHD", for logs and messages. An
// Amount without a currency shows its raw value: "1234 (no currency)".
func (a Amount) String() string {
	if a.Currency.IsZero() {
		return strconv.FormatInt(a.Value, 10) + " (no currency)"
	}
	return a.Decimal() + " " + a.Currency.Code()
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened iff a and b have the same sign and s has the other.
	return s, (s > a) == (b > 0)
}

func subInt64(a, b int64) (int64, bool) {
	d := a - b
	return d, (d < a) == (b > 0)
}
