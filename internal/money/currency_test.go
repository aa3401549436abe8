package money_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/money"
)

func TestCurrencyExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want int
	}{
		{"JPY", 0}, {"KRW", 0},
		{"EUR", 2}, {"USD", 2}, {"GBP", 2},
		{"BHD", 3}, {"KWD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3},
		// Stripe's special cases, as the library has them.
		{"ISK", 0}, {"HUF", 2}, {"TWD", 2}, {"UGX", 0},
		// CLDR digits where ISO 4217 says 2: pinned so that a library update
		// that changes them is noticed, since stored amounts depend on them.
		{"IDR", 0}, {"COP", 0}, {"PKR", 0},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			if got := money.MustParseCurrency(tt.code).Exponent(); got != tt.want {
				t.Errorf("%s.Exponent() = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

func TestParseCurrency(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"EUR", "eur", "Eur", "usd", "jpy", "bhd"} {
		c, err := money.ParseCurrency(in)
		if err != nil {
			t.Errorf("ParseCurrency(%q): %v", in, err)
			continue
		}
		if got, want := c.Code(), strings.ToUpper(in); got != want {
			t.Errorf("ParseCurrency(%q).Code() = %q, want %q", in, got, want)
		}
		if got, want := c.Lower(), strings.ToLower(in); got != want {
			t.Errorf("ParseCurrency(%q).Lower() = %q, want %q", in, got, want)
		}
		if got, want := c.String(), strings.ToUpper(in); got != want {
			t.Errorf("ParseCurrency(%q).String() = %q, want %q", in, got, want)
		}
	}
	if money.MustParseCurrency("usd") != money.MustParseCurrency("USD") {
		t.Error(`"usd" and "USD" parse to different Currencies`)
	}

	bad := []string{
		"", "US", "USDX", " usd", "us1", "u$d", "€UR", "ZZZ",
		"XXX", // "no currency"
		"XAU", // gold: not legal tender, and ISO gives it no exponent
		"XTS", // reserved for testing
		"DEM", // withdrawn
		"MRU", // newer than the library's CLDR 32 data; see ParseCurrency
	}
	for _, in := range bad {
		_, err := money.ParseCurrency(in)
		if err == nil {
			t.Errorf("ParseCurrency(%q) succeeded, want error", in)
			continue
		}
		if !errors.Is(err, money.ErrInvalid) {
			t.Errorf("ParseCurrency(%q) = %v, want ErrInvalid", in, err)
		}
		var fe *money.FieldError
		if !errors.As(err, &fe) || fe.Field != "currency" || fe.Value != in {
			t.Errorf("ParseCurrency(%q) = %#v, want FieldError for currency %q", in, err, in)
		}
		if !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseCurrency(%q) error %q does not name the input", in, err)
		}
	}
}

func TestMustParseCurrencyPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("MustParseCurrency(\"ZZZ\") did not panic")
		}
	}()
	money.MustParseCurrency("ZZZ")
}

func TestZeroCurrency(t *testing.T) {
	t.Parallel()
	var c money.Currency
	if !c.IsZero() || c.Code() != "" || c.Lower() != "" || c.Exponent() != 0 || c.StripeExponent() != 0 {
		t.Errorf("zero Currency: IsZero %v Code %q Lower %q Exponent %d StripeExponent %d",
			c.IsZero(), c.Code(), c.Lower(), c.Exponent(), c.StripeExponent())
	}
	if got := c.String(); got != "(no currency)" {
		t.Errorf("zero Currency String() = %q", got)
	}
	if money.MustParseCurrency("EUR").IsZero() {
		t.Error("EUR IsZero")
	}
}

func TestStripeExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code string
		want int
	}{
		{"USD", 2}, {"EUR", 2}, {"JPY", 0}, {"KRW", 0}, {"UGX", 0}, {"MGA", 0}, {"XOF", 0},
		{"BHD", 3}, {"KWD", 3}, {"JOD", 3}, {"OMR", 3}, {"TND", 3},
		{"ISK", 2}, {"HUF", 2}, {"TWD", 2}, {"IDR", 2}, {"COP", 2},
		{"IQD", 2}, {"LYD", 2}, // ISO says 3; Stripe lists neither as three-decimal
	}
	for _, tt := range tests {
		if got := money.MustParseCurrency(tt.code).StripeExponent(); got != tt.want {
			t.Errorf("%s.StripeExponent() = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestStripeAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   string
		tender int64 // Amount.Value
		stripe int64 // Stripe's "amount"
	}{
		{"USD", 1234, 1234},
		{"JPY", 500, 500},
		{"BHD", 1230, 1230},
		{"ISK", 500, 50000}, // Stripe's ISK special case: two decimals, always 00
		{"IDR", 10000, 1000000},
		{"LYD", 1230, 123},
		{"EUR", -5, -5},
		{"ISK", 0, 0},
	}
	for _, tt := range tests {
		cur := money.MustParseCurrency(tt.code)
		got, err := money.New(tt.tender, cur).StripeAmount()
		if err != nil || got != tt.stripe {
			t.Errorf("New(%d, %s).StripeAmount() = %d, %v; want %d", tt.tender, tt.code, got, err, tt.stripe)
		}
		back, err := money.FromStripe(tt.stripe, cur)
		if err != nil || back != money.New(tt.tender, cur) {
			t.Errorf("FromStripe(%d, %s) = %v, %v; want %d", tt.stripe, tt.code, back, err, tt.tender)
		}
	}
}

func TestStripeAmountErrors(t *testing.T) {
	t.Parallel()
	if _, err := money.New(1235, money.MustParseCurrency("LYD")).StripeAmount(); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("LYD 1.235 to Stripe: err = %v, want ErrInvalid (Stripe has two decimals)", err)
	}
	if _, err := money.New(1<<62, money.MustParseCurrency("ISK")).StripeAmount(); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("huge ISK to Stripe: err = %v, want ErrOverflow", err)
	}
	if _, err := (money.Amount{Value: 1}).StripeAmount(); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("no currency to Stripe: err = %v, want ErrInvalid", err)
	}
	// 10000.50 IDR from Stripe has sen that Tender's IDR (CLDR: 0 digits) cannot hold.
	if _, err := money.FromStripe(1000050, money.MustParseCurrency("IDR")); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("FromStripe(1000050, IDR): err = %v, want ErrInvalid", err)
	}
	if _, err := money.FromStripe(1<<62, money.MustParseCurrency("LYD")); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("FromStripe(huge, LYD): err = %v, want ErrOverflow", err)
	}
	if _, err := money.FromStripe(1, money.Currency{}); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("FromStripe without currency: err = %v, want ErrInvalid", err)
	}
}
