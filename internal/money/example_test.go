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

// An Amount's Value is what Stripe's "amount" field carries, with no
// conversion: 10000 IDR is 1000000 on the wire, as in Tender.
func ExampleCurrency_Exponent() {
	for _, code := range []string{"usd", "jpy", "bhd", "idr", "isk"} {
		cur := money.MustParseCurrency(code)
		a, _ := money.ParseAmount("10000", cur)
		fmt.Println(cur, cur.Exponent(), a.Value)
	}
	// Output:
	// USD 2 1000000
	// JPY 0 10000
	// BHD 3 10000000
	// IDR 2 1000000
	// ISK 2 1000000
}
