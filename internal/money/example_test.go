package money_test

import (
	"fmt"

	"github.com/tenderpay/tender/internal/money"
)

func ExampleParseAmount() {
	eur := money.MustParseCurrency("eur") // as Stripe sends it
	a, err := money.ParseAmount("12.34", eur)
	fmt.Println(a.Value, a, a.Decimal(), err)
	_, err = money.ParseAmount("12.345", eur)
	fmt.Println(err)
	// Output:
	// 1234 12.34 EUR 12.34 <nil>
	// money: amount "12.345": EUR allows at most 2 decimals, got 3
}

func ExampleFeeRule_Fee() {
	rule := money.FeeRule{BasisPoints: 290, Fixed: 30} // 2.9 % + 30 cents
	fee, _ := rule.Fee(10000)
	fmt.Println(fee)
	// Output: 320
}

func ExampleAllocate() {
	parts, _ := money.Allocate(100, []int64{1, 1, 1})
	fmt.Println(parts)
	// Output: [34 33 33]
}

func ExampleGrossUp() {
	gross, _ := money.GrossUp(10000, money.FeeRule{BasisPoints: 290, Fixed: 30})
	fmt.Println(gross)
	// Output: 10330
}

func ExampleAmount_StripeAmount() {
	isk := money.MustParseCurrency("ISK")
	v, _ := money.New(500, isk).StripeAmount()
	fmt.Println(isk.Exponent(), isk.StripeExponent(), v)
	// Output: 0 2 50000
}
