package emulator_test

import (
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"
)

// TestChargeCurrencies: a PaymentIntent in a currency Stripe does not
// take card payments in is refused on param currency, on create and on
// update, and one below the currency's minimum charge with
// amount_too_small on param amount (zero-decimal jpy counting whole yen);
// at the minimum it is accepted, and a currency without a minimum of its
// own only needs a positive amount.
func TestChargeCurrencies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	create := func(amount int64, currency string) (*stripe.PaymentIntent, error) {
		return e.sc.V1PaymentIntents.Create(ctx(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(amount), Currency: stripe.String(currency)})
	}
	for _, tc := range []struct {
		amount   int64
		currency string
		param    string
		code     string
		message  string
	}{
		{1000, "xyz", "currency", "", "Invalid currency: xyz. Stripe currently supports these currencies: usd, aed, afn,"},
		{1000, "XYZ", "currency", "", "Invalid currency: xyz."},
		{1000, "tnd", "currency", "", "Invalid currency: tnd."}, // three-decimal: API support, not a presentment currency
		{1000, "hrk", "currency", "", "Invalid currency: hrk."}, // withdrawn for the euro
		{49, "usd", "amount", "amount_too_small", "Amount must be at least $0.50 usd"},
		{49, "eur", "amount", "amount_too_small", "Amount must be at least €0.50 eur"},
		{29, "gbp", "amount", "amount_too_small", "Amount must be at least £0.30 gbp"},
		{49, "jpy", "amount", "amount_too_small", "Amount must be at least ¥50 jpy"},
		{17499, "huf", "amount", "amount_too_small", "Amount must be at least 175.00 Ft huf"},
		{999, "mxn", "amount", "amount_too_small", "Amount must be at least $10 mxn"},
		{0, "usd", "amount", "amount_too_small", "Amount must be at least $0.50 usd"},
		{0, "krw", "amount", "", "Invalid positive integer"},
	} {
		_, err := create(tc.amount, tc.currency)
		se := stripeErr(t, err)
		if se.HTTPStatusCode != 400 || se.Type != stripe.ErrorTypeInvalidRequest || se.Param != tc.param || string(se.Code) != tc.code ||
			!strings.HasPrefix(se.Msg, tc.message) {
			t.Errorf("%d %s: %d %s %s %q %q; want 400 invalid_request_error on %s, code %q, %q", tc.amount, tc.currency,
				se.HTTPStatusCode, se.Type, se.Param, se.Code, se.Msg, tc.param, tc.code, tc.message)
		}
	}
	for _, ok := range []struct {
		amount   int64
		currency string
	}{{50, "usd"}, {30, "gbp"}, {50, "jpy"}, {17500, "huf"}, {1, "krw"}, {100, "xcg"}, {50, "USD"}} {
		pi, err := create(ok.amount, ok.currency)
		mustf(t, err, "%d %s", ok.amount, ok.currency)
		if pi.Amount != ok.amount || string(pi.Currency) != strings.ToLower(ok.currency) {
			t.Errorf("created %d %s", pi.Amount, pi.Currency)
		}
	}

	// Update is held to the same rules, and changes nothing when refused.
	pi, err := create(1000, "usd")
	mustf(t, err, "create")
	_, err = e.sc.V1PaymentIntents.Update(ctx(), pi.ID, &stripe.PaymentIntentUpdateParams{Currency: stripe.String("xyz")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "currency" {
		t.Errorf("update to xyz: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Update(ctx(), pi.ID, &stripe.PaymentIntentUpdateParams{Amount: stripe.Int64(40)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "amount" || se.Code != "amount_too_small" {
		t.Errorf("update to 40: %+v", se)
	}
	_, err = e.sc.V1PaymentIntents.Update(ctx(), pi.ID, &stripe.PaymentIntentUpdateParams{Amount: stripe.Int64(40), Currency: stripe.String("jpy")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "amount" || !strings.Contains(se.Msg, "¥50 jpy") {
		t.Errorf("update to 40 jpy: %+v", se)
	}
	got, err := e.sc.V1PaymentIntents.Retrieve(ctx(), pi.ID, nil)
	mustf(t, err, "retrieve")
	if got.Amount != 1000 || got.Currency != "usd" {
		t.Errorf("refused updates changed it: %d %s", got.Amount, got.Currency)
	}
	got, err = e.sc.V1PaymentIntents.Update(ctx(), pi.ID, &stripe.PaymentIntentUpdateParams{Amount: stripe.Int64(500), Currency: stripe.String("jpy")})
	mustf(t, err, "update to 500 jpy")
	if got.Amount != 500 || got.Currency != "jpy" {
		t.Errorf("updated %d %s", got.Amount, got.Currency)
	}
}
