package money

// Sum returns the total of amounts, which must all be in one currency. A
// sum across currencies is an error, never a number: it returns
// ErrCurrencyMismatch naming the first pair that differs. It returns
// ErrInvalid if amounts is empty (a sum of nothing has no currency; start
// from Zero(cur) to add up what may be nothing) or if one has no currency,
// and ErrOverflow if the total, or any running total on the way to it,
// does not fit in an int64.
func Sum(amounts ...Amount) (Amount, error) {
	if len(amounts) == 0 {
		return Amount{}, invalid("amount", "", "a sum of no amounts has no currency")
	}
	total := amounts[0]
	if total.Currency.IsZero() {
		return Amount{}, invalid("currency", "", "amount has no currency")
	}
	for _, a := range amounts[1:] {
		var err error
		if total, err = total.Add(a); err != nil {
			return Amount{}, err
		}
	}
	return total, nil
}

// SumByCurrency returns the total of amounts in each currency they hold,
// for a caller that holds several on purpose (a ledger entry's postings
// balance per currency). Totals are never combined across currencies. It
// returns ErrInvalid if an amount has no currency and ErrOverflow as Sum
// does; an empty amounts gives an empty map.
func SumByCurrency(amounts ...Amount) (map[Currency]Amount, error) {
	totals := make(map[Currency]Amount)
	for _, a := range amounts {
		if a.Currency.IsZero() {
			return nil, invalid("currency", "", "amount has no currency")
		}
		t, ok := totals[a.Currency]
		if !ok {
			t = Zero(a.Currency)
		}
		var err error
		if totals[a.Currency], err = t.Add(a); err != nil {
			return nil, err
		}
	}
	return totals, nil
}
