package payment

import (
	"testing"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/money"
)

func TestFeePolicyParamsValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		p     FeePolicyParams
		param string // "" for valid
	}{
		{"empty is no fee", FeePolicyParams{}, ""},
		{"usd and jpy", FeePolicyParams{Rules: map[string]Rule{"usd": {BasisPoints: 290, Fixed: 30}, "JPY": {BasisPoints: 300}}}, ""},
		{"unknown currency", FeePolicyParams{Rules: map[string]Rule{"xyz": {}}}, "rules[xyz]"},
		{"same currency twice", FeePolicyParams{Rules: map[string]Rule{"usd": {}, "USD": {}}}, "rules[usd]"},
		{"basis points over 100 %", FeePolicyParams{Rules: map[string]Rule{"eur": {BasisPoints: 10001}}}, "rules[eur][basis_points]"},
		{"negative fixed", FeePolicyParams{Rules: map[string]Rule{"eur": {Fixed: -1}}}, "rules[eur][fixed]"},
		{"min above max", FeePolicyParams{Rules: map[string]Rule{"eur": {Min: 50, Max: 10}}}, "rules[eur][min]"},
		{"payer", FeePolicyParams{StripeFeePayer: "customer"}, "stripe_fee_payer"},
		{"100 % covered by the customer", FeePolicyParams{CustomerCoversFees: true, Rules: map[string]Rule{"gbp": {BasisPoints: 10000}}}, "rules[gbp][basis_points]"},
		{"100 % with a max can be covered", FeePolicyParams{CustomerCoversFees: true, Rules: map[string]Rule{"gbp": {BasisPoints: 10000, Max: 100}}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := tt.p.validate()
			if tt.param == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				for code := range rules {
					if c, _ := money.ParseCurrency(code); c.Lower() != code {
						t.Errorf("rule kept under %q, want the lower-case code", code)
					}
				}
				if tt.p.StripeFeePayer == "" {
					t.Errorf("stripe_fee_payer not defaulted")
				}
				return
			}
			if e := errs.As(err); e.Code != errs.Invalid || e.Param != tt.param {
				t.Fatalf("validate: %v; want invalid %s", err, tt.param)
			}
		})
	}
}

func TestFeeFor(t *testing.T) {
	t.Parallel()
	usd, jpy, eur := money.MustParseCurrency("usd"), money.MustParseCurrency("jpy"), money.MustParseCurrency("eur")
	stripeLike := map[string]Rule{"usd": {BasisPoints: 290, Fixed: 30}, "jpy": {BasisPoints: 360}}
	for _, tt := range []struct {
		name      string
		policy    FeePolicy
		amount    int64
		cur       money.Currency
		wantGross int64
		wantFee   int64
		param     string
	}{
		{"no rules, no fee", FeePolicy{}, 1000, usd, 1000, 0, ""},
		{"2.9 % + 30 on $10", FeePolicy{Rules: stripeLike}, 1000, usd, 1000, 59, ""},
		// 2.9 % of 1050 is 30.45, rounded half up to 30; + 30.
		{"rounding down below half", FeePolicy{Rules: stripeLike}, 1050, usd, 1050, 60, ""},
		// 2.9 % of 50 is 1.45 → 1; + 30 = 31.
		{"small charge", FeePolicy{Rules: stripeLike}, 50, usd, 50, 31, ""},
		// 3.6 % of ¥1250 is 45 exactly: yen has no minor unit.
		{"yen", FeePolicy{Rules: stripeLike}, 1250, jpy, 1250, 45, ""},
		{"fee capped at the amount", FeePolicy{Rules: map[string]Rule{"usd": {Fixed: 500}}}, 300, usd, 300, 300, ""},
		{"minimum", FeePolicy{Rules: map[string]Rule{"usd": {BasisPoints: 100, Min: 25}}}, 1000, usd, 1000, 25, ""},
		{"maximum", FeePolicy{Rules: map[string]Rule{"usd": {BasisPoints: 1000, Max: 200}}}, 10000, usd, 10000, 200, ""},
		// Covering 2.9 % + 30 on $10: gross 1061 takes 31 (30.769 → 31) + 30
		// = 61 and leaves exactly 1000; 1060 would leave 999.
		{"customer covers", FeePolicy{Rules: stripeLike, CustomerCoversFees: true}, 1000, usd, 1061, 61, ""},
		{"no rule for the currency", FeePolicy{Rules: stripeLike}, 1000, eur, 0, 0, "currency"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.FeeFor(tt.amount, tt.cur)
			if tt.param != "" {
				if e := errs.As(err); e.Code != errs.Invalid || e.Param != tt.param {
					t.Fatalf("FeeFor: %v; want invalid %s", err, tt.param)
				}
				return
			}
			if err != nil || got.Amount != tt.wantGross || got.Fee != tt.wantFee {
				t.Fatalf("FeeFor(%d %s) = %+v, %v; want amount %d fee %d", tt.amount, tt.cur, got, err, tt.wantGross, tt.wantFee)
			}
			if tt.policy.CustomerCoversFees && got.Amount-got.Fee < tt.amount {
				t.Errorf("the merchant gets %d, less than the %d asked", got.Amount-got.Fee, tt.amount)
			}
		})
	}
}
