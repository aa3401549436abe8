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
		{"EUR", 2}, {"USD", 2}, {"GBP", 2},
		// Stripe's zero-decimal list, all of it.
		{"BIF", 0}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"JPY", 0}, {"KMF", 0},
		{"KRW", 0}, {"MGA", 0}, {"PYG", 0}, {"RWF", 0}, {"UGX", 0}, {"VND", 0},
		{"VUV", 0}, {"XAF", 0}, {"XOF", 0}, {"XPF", 0},
		// Stripe's three-decimal list, all of it.
		{"BHD", 3}, {"JOD", 3}, {"KWD", 3}, {"OMR", 3}, {"TND", 3},
		// Stripe's special cases: ISK is 0 in ISO and CLDR but 2 on Stripe;
		// HUF and TWD are 2 for charges.
		{"ISK", 2}, {"HUF", 2}, {"TWD", 2},
		// CLDR says 0 and the library's exponent would have charged 100x
		// too little on Stripe; ISO 4217 and Stripe say 2.
		{"IDR", 2}, {"COP", 2}, {"PKR", 2}, {"AMD", 2}, {"LBP", 2}, {"TZS", 2},
		// ISO 4217 says 3; Stripe lists neither as three-decimal.
		{"IQD", 2}, {"LYD", 2},
		// Supported by Stripe, unknown to the library's data.
		{"SLE", 2}, {"XCG", 2}, {"STD", 2},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			c := money.MustParseCurrency(tt.code)
			if got := c.Exponent(); got != tt.want {
				t.Errorf("%s.Exponent() = %d, want %d", tt.code, got, tt.want)
			}
			if got := money.MustParseCurrency(strings.ToLower(tt.code)).Exponent(); got != tt.want {
				t.Errorf("%s.Exponent() = %d, want %d", strings.ToLower(tt.code), got, tt.want)
			}
		})
	}
}

func TestParseCurrency(t *testing.T) {
	t.Parallel()
	good := []string{
		"EUR", "eur", "Eur", "usd", "jpy", "bhd",
		"sle", "XCG", "std", // Stripe's supplement to the library's CLDR 32 data
		"STN", // STD's successor in ISO 4217, which the library knows
	}
	for _, in := range good {
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
		"MRU", // newer than the library's data and not supported by Stripe
		"VES", // likewise
		"SLX", // not a code, although SLE and SLL are
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
	if !c.IsZero() || c.Code() != "" || c.Lower() != "" || c.Exponent() != 0 {
		t.Errorf("zero Currency: IsZero %v Code %q Lower %q Exponent %d",
			c.IsZero(), c.Code(), c.Lower(), c.Exponent())
	}
	if got := c.String(); got != "(no currency)" {
		t.Errorf("zero Currency String() = %q", got)
	}
	if money.MustParseCurrency("EUR").IsZero() {
		t.Error("EUR IsZero")
	}
}

// TestParseChargeCurrency: a currency Stripe takes card payments in parses,
// in either case, to the same Currency as ParseCurrency; legal tender Stripe
// does not take (withdrawn, sanctioned, or only with API support: the
// three-decimal ones) is refused naming the code, and so is what
// ParseCurrency refuses.
func TestParseChargeCurrency(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"usd", "EUR", "gbp", "jpy", "krw", "huf", "isk", "ugx", "sle", "std", "XCG", "bgn"} {
		c, err := money.ParseChargeCurrency(in)
		if err != nil || c != money.MustParseCurrency(in) {
			t.Errorf("ParseChargeCurrency(%q) = %v, %v; want %s", in, c, err, strings.ToUpper(in))
		}
	}
	for _, in := range []string{"hrk", "IQD", "irr", "kpw", "lyd", "cup", "stn", "bhd", "jod", "kwd", "omr", "tnd", "zzz", "us", ""} {
		c, err := money.ParseChargeCurrency(in)
		var fe *money.FieldError
		if !errors.Is(err, money.ErrInvalid) || !errors.As(err, &fe) || fe.Field != "currency" || fe.Value != in || !c.IsZero() {
			t.Errorf("ParseChargeCurrency(%q) = %v, %v; want an ErrInvalid naming currency %q", in, c, err, in)
		}
	}
	if _, err := money.ParseChargeCurrency("hrk"); err == nil || !strings.Contains(err.Error(), "Stripe takes no card payments in HRK") {
		t.Errorf("hrk: %v", err)
	}
}
