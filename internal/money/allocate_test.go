package money_test

import (
	"errors"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/tenderpay/tender/internal/money"
)

func TestAllocate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		total   int64
		weights []int64
		want    []int64
	}{
		{"thirds", 100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{"two thirds left", 101, []int64{1, 1, 1}, []int64{34, 34, 33}},
		{"exact", 100, []int64{1, 3}, []int64{25, 75}},
		{"largest remainder wins", 10, []int64{1, 2, 4}, []int64{1, 3, 6}}, // 1.43, 2.86, 5.71
		{"tie goes to lower index", 1, []int64{5, 5}, []int64{1, 0}},
		{"single weight", 12345, []int64{7}, []int64{12345}},
		{"zero weight gets nothing", 100, []int64{0, 1, 0, 1}, []int64{0, 50, 0, 50}},
		{"zero weight gets nothing, odd", 101, []int64{1, 0, 1}, []int64{51, 0, 50}},
		{"zero total", 0, []int64{1, 2, 3}, []int64{0, 0, 0}},
		{"negative total mirrors", -100, []int64{1, 1, 1}, []int64{-34, -33, -33}},
		{"more parts than units", 2, []int64{1, 1, 1, 1, 1}, []int64{1, 1, 0, 0, 0}},
		{"refund of split and fee", 5000, []int64{8000, 1700, 300}, []int64{4000, 850, 150}},
		{"odd refund of split and fee", 3333, []int64{8000, 1700, 300}, []int64{2666, 567, 100}},
		{"max total", math.MaxInt64, []int64{1, 1}, []int64{math.MaxInt64/2 + 1, math.MaxInt64 / 2}},
		{"min total", math.MinInt64, []int64{1, 1}, []int64{math.MinInt64 / 2, math.MinInt64 / 2}},
		{"min total, one part", math.MinInt64, []int64{3}, []int64{math.MinInt64}},
		{"huge weights", 1000, []int64{math.MaxInt64 - 1, 1}, []int64{1000, 0}},
	}
	for _, tt := range tests {
		got, err := money.Allocate(tt.total, tt.weights)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: Allocate(%d, %v) = %v, %v; want %v", tt.name, tt.total, tt.weights, got, err, tt.want)
		}
	}
}

func TestAllocateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		weights []int64
		want    error
	}{
		{"nil", nil, money.ErrInvalid},
		{"empty", []int64{}, money.ErrInvalid},
		{"all zero", []int64{0, 0}, money.ErrInvalid},
		{"negative", []int64{1, -1, 2}, money.ErrInvalid},
		{"sum overflows", []int64{math.MaxInt64, 1}, money.ErrOverflow},
	}
	for _, tt := range tests {
		_, err := money.Allocate(100, tt.weights)
		var fe *money.FieldError
		if !errors.Is(err, tt.want) || !errors.As(err, &fe) || fe.Field != "weights" {
			t.Errorf("%s: Allocate(100, %v) err = %v, want %v for weights", tt.name, tt.weights, err, tt.want)
		}
	}
}

// FuzzAllocate checks that the parts always sum to exactly the total, share
// its sign, and are each within one minor unit of the exact proportional
// share.
func FuzzAllocate(f *testing.F) {
	f.Add(int64(100), int64(1), int64(1), int64(1))
	f.Add(int64(-7), int64(0), int64(3), int64(5))
	f.Add(int64(math.MinInt64), int64(math.MaxInt64/3), int64(1), int64(2))
	f.Add(int64(math.MaxInt64), int64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, total, w0, w1, w2 int64) {
		weights := []int64{w0, w1, w2}
		parts, err := money.Allocate(total, weights)
		if err != nil {
			if w0 >= 0 && w1 >= 0 && w2 >= 0 && w0|w1|w2 != 0 && uint64(w0)+uint64(w1)+uint64(w2) <= math.MaxInt64 {
				t.Fatalf("Allocate(%d, %v): %v", total, weights, err)
			}
			return
		}
		var sum int64 // parts share total's sign, so partial sums stay in range
		for i, p := range parts {
			sum += p
			if (total > 0 && p < 0) || (total < 0 && p > 0) || (weights[i] == 0 && p != 0) {
				t.Fatalf("Allocate(%d, %v) = %v: part %d has the wrong sign or weight", total, weights, parts, i)
			}
		}
		if sum != total {
			t.Fatalf("Allocate(%d, %v) = %v, sums to %d", total, weights, parts, sum)
		}
		// |part - total×w/W| < 1, i.e. |part×W - total×w| < W, in exact integers.
		wsum := big.NewInt(w0 + w1 + w2)
		for i, p := range parts {
			diff := new(big.Int).Mul(big.NewInt(p), wsum)
			diff.Sub(diff, new(big.Int).Mul(big.NewInt(total), big.NewInt(weights[i])))
			if diff.CmpAbs(wsum) >= 0 {
				t.Fatalf("Allocate(%d, %v) = %v: part %d is a unit or more from its share", total, weights, parts, i)
			}
		}
	})
}
