package emulator

import (
	"testing"

	tendermoney "github.com/tenderpay/tender/internal/money"
)

// TestChargeCurrenciesMatchTender: the emulator and Tender's money package
// keep Stripe's list of charge currencies each as its own data (the
// emulator imports nothing of Tender's); they must agree on every
// three-letter code, on which currencies are zero- and three-decimal, and
// every currency with a minimum charge must be chargeable.
func TestChargeCurrenciesMatchTender(t *testing.T) {
	t.Parallel()
	if len(chargeCurrencySet) != len(chargeCurrencies) {
		t.Errorf("chargeCurrencies has %d codes, %d distinct", len(chargeCurrencies), len(chargeCurrencySet))
	}
	code := []byte("aaa")
	for a := byte('a'); a <= 'z'; a++ {
		for b := byte('a'); b <= 'z'; b++ {
			for c := byte('a'); c <= 'z'; c++ {
				code[0], code[1], code[2] = a, b, c
				s := string(code)
				_, err := tendermoney.ParseChargeCurrency(s)
				if (err == nil) != chargeCurrencySet[s] {
					t.Errorf("%s: Tender's ParseChargeCurrency says %v, the emulator's list %v", s, err, chargeCurrencySet[s])
				}
				if known, _ := tendermoney.ParseCurrency(s); !known.IsZero() && known.Exponent() != exponent(s) {
					t.Errorf("%s: Tender's exponent %d, the emulator's %d", s, known.Exponent(), exponent(s))
				}
			}
		}
	}
	for cur, m := range minimumCharges {
		if !chargeCurrencySet[cur] || m.Amount <= 0 || m.Shown == "" {
			t.Errorf("minimum charge %s %+v: not a charge currency, or no amount", cur, m)
		}
	}
}
