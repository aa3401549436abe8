package money_test

import (
	"errors"
	"math"
	"testing"

	"github.com/tenderpay/tender/internal/money"
)

var (
	eur = money.MustParseCurrency("EUR")
	usd = money.MustParseCurrency("USD")
	jpy = money.MustParseCurrency("JPY")
	bhd = money.MustParseCurrency("BHD")
)

func TestAddSub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		a, b         money.Amount
		sum, diff    int64
		sumErr, dErr error
	}{
		{name: "small", a: money.New(1234, eur), b: money.New(66, eur), sum: 1300, diff: 1168},
		{name: "negative", a: money.New(-5, eur), b: money.New(10, eur), sum: 5, diff: -15},
		{name: "zero", a: money.Zero(jpy), b: money.New(0, jpy), sum: 0, diff: 0},
		{name: "max", a: money.New(math.MaxInt64-1, eur), b: money.New(1, eur), sum: math.MaxInt64, diff: math.MaxInt64 - 2},
		{name: "min", a: money.New(math.MinInt64+1, eur), b: money.New(1, eur), sum: math.MinInt64 + 2, diff: math.MinInt64},
		{name: "sum overflows", a: money.New(math.MaxInt64, eur), b: money.New(1, eur), sumErr: money.ErrOverflow, diff: math.MaxInt64 - 1},
		{name: "diff overflows", a: money.New(math.MinInt64, eur), b: money.New(1, eur), sum: math.MinInt64 + 1, dErr: money.ErrOverflow},
		{name: "diff overflows up", a: money.New(math.MaxInt64, eur), b: money.New(-1, eur), sum: math.MaxInt64 - 1, dErr: money.ErrOverflow},
		{name: "sum overflows down", a: money.New(math.MinInt64, eur), b: money.New(-1, eur), sumErr: money.ErrOverflow, diff: math.MinInt64 + 1},
		{name: "mismatch", a: money.New(1, eur), b: money.New(1, usd), sumErr: money.ErrCurrencyMismatch, dErr: money.ErrCurrencyMismatch},
		{name: "no currency", a: money.Amount{Value: 1}, b: money.New(1, eur), sumErr: money.ErrInvalid, dErr: money.ErrInvalid},
		{name: "both no currency", a: money.Amount{}, b: money.Amount{}, sumErr: money.ErrInvalid, dErr: money.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.a.Add(tt.b)
			check(t, "Add", got, err, money.New(tt.sum, tt.a.Currency), tt.sumErr)
			got, err = tt.a.Sub(tt.b)
			check(t, "Sub", got, err, money.New(tt.diff, tt.a.Currency), tt.dErr)
		})
	}
}

func check(t *testing.T, op string, got money.Amount, err error, want money.Amount, wantErr error) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Errorf("%s = %v, %v; want error %v", op, got, err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s = %v, %v; want %v", op, got, err, want)
	}
}

func TestNeg(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64 + 1} {
		got, err := money.New(v, eur).Neg()
		if err != nil || got != money.New(-v, eur) {
			t.Errorf("New(%d).Neg() = %v, %v", v, got, err)
		}
	}
	if _, err := money.New(math.MinInt64, eur).Neg(); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("Neg(MinInt64) err = %v, want ErrOverflow", err)
	}
}

func TestCmp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b    money.Amount
		want    int
		wantErr error
	}{
		{a: money.New(1, eur), b: money.New(2, eur), want: -1},
		{a: money.New(2, eur), b: money.New(2, eur), want: 0},
		{a: money.New(3, eur), b: money.New(2, eur), want: +1},
		{a: money.New(math.MinInt64, eur), b: money.New(math.MaxInt64, eur), want: -1},
		{a: money.New(1, eur), b: money.New(1, usd), wantErr: money.ErrCurrencyMismatch},
		{a: money.Amount{}, b: money.Amount{}, wantErr: money.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := tt.a.Cmp(tt.b)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%v.Cmp(%v) err = %v, want %v", tt.a, tt.b, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%v.Cmp(%v) = %d, %v; want %d", tt.a, tt.b, got, err, tt.want)
		}
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v                  int64
		zero, neg, positiv bool
	}{
		{0, true, false, false},
		{1, false, false, true},
		{-1, false, true, false},
		{math.MinInt64, false, true, false},
	}
	for _, tt := range tests {
		a := money.New(tt.v, eur)
		if a.IsZero() != tt.zero || a.IsNegative() != tt.neg || a.IsPositive() != tt.positiv {
			t.Errorf("%v: IsZero %v IsNegative %v IsPositive %v", a, a.IsZero(), a.IsNegative(), a.IsPositive())
		}
	}
}
