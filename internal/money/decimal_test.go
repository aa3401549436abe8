package money_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/money"
)

func TestParseAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		cur  money.Currency
		want int64
	}{
		{"12.34", eur, 1234},
		{"12.3", eur, 1230},
		{"12", eur, 1200},
		{"0", eur, 0},
		{"0.00", eur, 0},
		{"-0", eur, 0},
		{"+1.05", eur, 105},
		{"-1.05", eur, -105},
		{"-0.05", eur, -5},
		{"007.50", eur, 750},
		{"1234", jpy, 1234},
		{"-1234", jpy, -1234},
		{"1.234", bhd, 1234},
		{"1.2", bhd, 1200},
		{"92233720368547758.07", eur, math.MaxInt64},
		{"-92233720368547758.08", eur, math.MinInt64},
		{"9223372036854775807", jpy, math.MaxInt64},
		{"-9223372036854775808", jpy, math.MinInt64},
	}
	for _, tt := range tests {
		got, err := money.ParseAmount(tt.in, tt.cur)
		if err != nil || got != money.New(tt.want, tt.cur) {
			t.Errorf("ParseAmount(%q, %s) = %v, %v; want %d", tt.in, tt.cur, got, err, tt.want)
		}
	}
}

func TestParseAmountErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		cur     money.Currency
		wantErr error
		inMsg   string // part of the message that says why
	}{
		{"12.345", eur, money.ErrInvalid, "at most 2 decimals"},
		{"12.340", eur, money.ErrInvalid, "at most 2 decimals"}, // no silent dropping, even of a zero
		{"12.0", jpy, money.ErrInvalid, "no minor unit"},
		{"1.2345", bhd, money.ErrInvalid, "at most 3 decimals"},
		{"", eur, money.ErrInvalid, "digits before"},
		{"-", eur, money.ErrInvalid, "digits before"},
		{".5", eur, money.ErrInvalid, "digits before"},
		{"5.", eur, money.ErrInvalid, "after the decimal point"},
		{"1e3", eur, money.ErrInvalid, "plain decimal"},
		{"1.5e2", eur, money.ErrInvalid, "plain decimal"},
		{"1,000.00", eur, money.ErrInvalid, "plain decimal"},
		{"1_000", eur, money.ErrInvalid, "plain decimal"},
		{" 12.34", eur, money.ErrInvalid, "such as 12.34"},
		{"12.34 ", eur, money.ErrInvalid, "plain decimal"},
		{"12.34EUR", eur, money.ErrInvalid, "plain decimal"},
		{"1.5x", bhd, money.ErrInvalid, "such as 12.345"},
		{"x", jpy, money.ErrInvalid, "such as 12"},
		{"--1", eur, money.ErrInvalid, "plain decimal"},
		{"+-1", eur, money.ErrInvalid, "plain decimal"},
		{"1.2.3", eur, money.ErrInvalid, "plain decimal"},
		{"0x10", eur, money.ErrInvalid, "plain decimal"},
		{"NaN", eur, money.ErrInvalid, "plain decimal"},
		{"Inf", eur, money.ErrInvalid, "plain decimal"},
		{"١٢", eur, money.ErrInvalid, "plain decimal"}, // Arabic-Indic digits
		{"92233720368547758.08", eur, money.ErrOverflow, "too large"},
		{"-92233720368547758.09", eur, money.ErrOverflow, "too large"},
		{"9223372036854775808", jpy, money.ErrOverflow, "too large"},
		{"99999999999999999999999", jpy, money.ErrOverflow, "too large"},
	}
	for _, tt := range tests {
		_, err := money.ParseAmount(tt.in, tt.cur)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseAmount(%q, %s) err = %v, want %v", tt.in, tt.cur, err, tt.wantErr)
			continue
		}
		var fe *money.FieldError
		if !errors.As(err, &fe) || fe.Field != "amount" || fe.Value != tt.in {
			t.Errorf("ParseAmount(%q, %s) = %#v, want a FieldError for amount %q", tt.in, tt.cur, err, tt.in)
		}
		if !strings.Contains(err.Error(), tt.inMsg) {
			t.Errorf("ParseAmount(%q, %s) error %q does not say %q", tt.in, tt.cur, err, tt.inMsg)
		}
	}
	if _, err := money.ParseAmount("1", money.Currency{}); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("ParseAmount without currency: err = %v, want ErrInvalid", err)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a       money.Amount
		decimal string
		str     string
	}{
		{money.New(1234, eur), "12.34", "12.34 EUR"},
		{money.New(5, eur), "0.05", "0.05 EUR"},
		{money.New(-5, eur), "-0.05", "-0.05 EUR"},
		{money.New(0, eur), "0.00", "0.00 EUR"},
		{money.New(-100, eur), "-1.00", "-1.00 EUR"},
		{money.New(1234, jpy), "1234", "1234 JPY"},
		{money.New(0, jpy), "0", "0 JPY"},
		{money.New(-7, jpy), "-7", "-7 JPY"},
		{money.New(1234, bhd), "1.234", "1.234 BHD"},
		{money.New(5, bhd), "0.005", "0.005 BHD"},
		{money.New(-1000, bhd), "-1.000", "-1.000 BHD"},
		{money.New(math.MaxInt64, eur), "92233720368547758.07", "92233720368547758.07 EUR"},
		{money.New(math.MinInt64, eur), "-92233720368547758.08", "-92233720368547758.08 EUR"},
		{money.New(math.MinInt64, jpy), "-9223372036854775808", "-9223372036854775808 JPY"},
		{money.Amount{Value: 1234}, "1234", "1234 (no currency)"},
	}
	for _, tt := range tests {
		if got := tt.a.Decimal(); got != tt.decimal {
			t.Errorf("Decimal(%d %s) = %q, want %q", tt.a.Value, tt.a.Currency, got, tt.decimal)
		}
		if got := tt.a.String(); got != tt.str {
			t.Errorf("String(%d %s) = %q, want %q", tt.a.Value, tt.a.Currency, got, tt.str)
		}
	}
}

// FuzzParseAmount checks that ParseAmount never panics, that whatever it
// accepts formats back to a string it reads as the same amount, and that
// every int64 survives Decimal then ParseAmount.
func FuzzParseAmount(f *testing.F) {
	f.Add("12.34", int64(1234), "EUR")
	f.Add("-0.05", int64(-5), "eur")
	f.Add("1234", int64(math.MinInt64), "JPY")
	f.Add("1.234", int64(math.MaxInt64), "BHD")
	f.Add("1e3", int64(0), "KWD")
	f.Add("+007.5", int64(-1), "USD")
	f.Fuzz(func(t *testing.T, s string, v int64, code string) {
		cur, err := money.ParseCurrency(code)
		if err != nil {
			cur = eur
		}
		if a, err := money.ParseAmount(s, cur); err == nil {
			b, err := money.ParseAmount(a.Decimal(), cur)
			if err != nil || b != a {
				t.Fatalf("ParseAmount(%q) = %v, but its Decimal %q parses to %v, %v", s, a, a.Decimal(), b, err)
			}
		}
		a := money.New(v, cur)
		b, err := money.ParseAmount(a.Decimal(), cur)
		if err != nil || b != a {
			t.Fatalf("%d %s: Decimal %q parses to %v, %v", v, cur, a.Decimal(), b, err)
		}
	})
}
