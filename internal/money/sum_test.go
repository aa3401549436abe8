package money_test

import (
	"errors"
	"maps"
	"math"
	"testing"

	"github.com/tenderpay/tender/internal/money"
)

func TestSum(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      []money.Amount
		want    money.Amount
		wantErr error
	}{
		{name: "one", in: []money.Amount{money.New(5, eur)}, want: money.New(5, eur)},
		{name: "several", in: []money.Amount{money.New(1000, eur), money.New(-100, eur), money.New(-59, eur)}, want: money.New(841, eur)},
		{name: "to zero", in: []money.Amount{money.New(-1000, usd), money.New(1000, usd)}, want: money.Zero(usd)},
		{name: "zero start", in: []money.Amount{money.Zero(jpy)}, want: money.Zero(jpy)},
		{name: "none", in: nil, wantErr: money.ErrInvalid},
		{name: "no currency", in: []money.Amount{{Value: 1}}, wantErr: money.ErrInvalid},
		{name: "no currency later", in: []money.Amount{money.New(1, eur), {Value: 1}}, wantErr: money.ErrInvalid},
		// The values would cancel out, but euros and dollars do not.
		{name: "mixed", in: []money.Amount{money.New(-1000, eur), money.New(1000, usd)}, wantErr: money.ErrCurrencyMismatch},
		{name: "mixed later", in: []money.Amount{money.New(1, eur), money.New(1, eur), money.New(1, bhd)}, wantErr: money.ErrCurrencyMismatch},
		{name: "overflow", in: []money.Amount{money.New(math.MaxInt64, eur), money.New(1, eur), money.New(-1, eur)}, wantErr: money.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := money.Sum(tt.in...)
			check(t, "Sum", got, err, tt.want, tt.wantErr)
		})
	}
}

func TestSumByCurrency(t *testing.T) {
	t.Parallel()
	got, err := money.SumByCurrency(money.New(-1000, eur), money.New(1000, usd), money.New(1000, eur), money.New(-1, usd))
	want := map[money.Currency]money.Amount{eur: money.Zero(eur), usd: money.New(999, usd)}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("SumByCurrency = %v, %v; want %v", got, err, want)
	}
	if got, err := money.SumByCurrency(); err != nil || len(got) != 0 {
		t.Errorf("SumByCurrency() = %v, %v; want an empty map", got, err)
	}
	if _, err := money.SumByCurrency(money.New(1, eur), money.Amount{Value: 1}); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("no currency: err = %v, want ErrInvalid", err)
	}
	if _, err := money.SumByCurrency(money.New(math.MinInt64, eur), money.New(-1, eur)); !errors.Is(err, money.ErrOverflow) {
		t.Errorf("overflow: err = %v, want ErrOverflow", err)
	}
}
