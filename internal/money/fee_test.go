package money_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenderpay/tender/internal/money"
)

func TestFeeRuleValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rule  money.FeeRule
		field string // "" for a valid rule
	}{
		{"zero", money.FeeRule{}, ""},
		{"full", money.FeeRule{BasisPoints: 10000, Fixed: 30, Min: 50, Max: 500}, ""},
		{"min equals max", money.FeeRule{Min: 50, Max: 50}, ""},
		{"min without max", money.FeeRule{Min: 50}, ""},
		{"negative bps", money.FeeRule{BasisPoints: -1}, "basis_points"},
		{"bps over 100 %", money.FeeRule{BasisPoints: 10001}, "basis_points"},
		{"negative fixed", money.FeeRule{Fixed: -30}, "fixed"},
		{"negative min", money.FeeRule{Min: -1}, "min"},
		{"negative max", money.FeeRule{Max: -1}, "max"},
		{"min over max", money.FeeRule{Min: 501, Max: 500}, "min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.rule.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v", tt.rule, err)
				}
				return
			}
			var fe *money.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, money.ErrInvalid) {
				t.Fatalf("Validate(%+v) = %v, want ErrInvalid for %s", tt.rule, err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Validate(%+v) error %q does not name %s", tt.rule, err, tt.field)
			}
			// An invalid rule computes nothing.
			if _, err := tt.rule.Fee(1000); !errors.Is(err, money.ErrInvalid) {
				t.Errorf("Fee with invalid rule: err = %v", err)
			}
			if _, err := money.GrossUp(1000, tt.rule); !errors.Is(err, money.ErrInvalid) {
				t.Errorf("GrossUp with invalid rule: err = %v", err)
			}
		})
	}
}

func TestFee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rule   money.FeeRule
		amount int64
		want   int64
	}{
		{"no fee", money.FeeRule{}, 1000, 0},
		{"2.9 % + 30", money.FeeRule{BasisPoints: 290, Fixed: 30}, 10000, 320},
		{"exact", money.FeeRule{BasisPoints: 250}, 1000, 25},
		// Half up: 250 bps of 100 is 2.5 → 3; of 99 is 2.475 → 2; of 102 is 2.55 → 3.
		{"half rounds up", money.FeeRule{BasisPoints: 250}, 100, 3},
		{"below half rounds down", money.FeeRule{BasisPoints: 250}, 99, 2},
		{"above half rounds up", money.FeeRule{BasisPoints: 250}, 102, 3},
		{"1 bp of 5000 is 0.5", money.FeeRule{BasisPoints: 1}, 5000, 1},
		{"1 bp of 4999 is 0.4999", money.FeeRule{BasisPoints: 1}, 4999, 0},
		{"100 %", money.FeeRule{BasisPoints: 10000}, 12345, 12345},
		{"min raises", money.FeeRule{BasisPoints: 100, Min: 50}, 1000, 50},
		{"max lowers", money.FeeRule{BasisPoints: 1000, Max: 500}, 100000, 500},
		{"fixed then max", money.FeeRule{BasisPoints: 100, Fixed: 600, Max: 500}, 1000, 500},
		{"capped at amount by fixed", money.FeeRule{Fixed: 30}, 20, 20},
		{"capped at amount by min", money.FeeRule{Min: 50}, 30, 30},
		{"zero amount", money.FeeRule{BasisPoints: 290, Fixed: 30, Min: 50}, 0, 0},
		{"huge fixed saturates", money.FeeRule{BasisPoints: 10000, Fixed: math.MaxInt64}, 1000, 1000},
		// amount × bps would overflow int64 here; the split arithmetic does not.
		{"max amount, 100 %", money.FeeRule{BasisPoints: 10000}, math.MaxInt64, math.MaxInt64},
		// 9223372036854775807 × 1 / 10000 = 922337203685477.5807 → ...478
		{"max amount, 1 bp", money.FeeRule{BasisPoints: 1}, math.MaxInt64, 922337203685478},
		// × 9999 / 10000 = 9222449699651090329.4193 → ...329
		{"max amount, 9999 bps", money.FeeRule{BasisPoints: 9999}, math.MaxInt64, 9222449699651090329},
	}
	for _, tt := range tests {
		got, err := tt.rule.Fee(tt.amount)
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v.Fee(%d) = %d, %v; want %d", tt.name, tt.rule, tt.amount, got, err, tt.want)
		}
	}
	if _, err := (money.FeeRule{BasisPoints: 100}).Fee(-1); !errors.Is(err, money.ErrInvalid) {
		t.Errorf("Fee(-1) err = %v, want ErrInvalid", err)
	}
}

// FuzzFee checks, for any rule and amount, that Fee does not panic, rejects
// exactly the invalid rules and negative amounts, and returns a fee between
// 0 and the amount that respects the rule's maximum.
func FuzzFee(f *testing.F) {
	f.Add(int64(290), int64(30), int64(0), int64(0), int64(10000))
	f.Add(int64(10000), int64(math.MaxInt64), int64(0), int64(0), int64(math.MaxInt64))
	f.Add(int64(1), int64(0), int64(50), int64(40), int64(5000))
	f.Add(int64(-1), int64(0), int64(0), int64(0), int64(1))
	f.Add(int64(250), int64(0), int64(math.MaxInt64), int64(0), int64(-7))
	f.Fuzz(func(t *testing.T, bps, fixed, minFee, maxFee, amount int64) {
		rule := money.FeeRule{BasisPoints: bps, Fixed: fixed, Min: minFee, Max: maxFee}
		fee, err := rule.Fee(amount)
		if verr := rule.Validate(); verr != nil || amount < 0 {
			if !errors.Is(err, money.ErrInvalid) {
				t.Fatalf("%+v.Fee(%d) = %d, %v; want ErrInvalid", rule, amount, fee, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%+v.Fee(%d): %v", rule, amount, err)
		}
		if fee < 0 || fee > amount {
			t.Fatalf("%+v.Fee(%d) = %d, outside [0, amount]", rule, amount, fee)
		}
		if maxFee != 0 && fee > maxFee {
			t.Fatalf("%+v.Fee(%d) = %d, above max", rule, amount, fee)
		}
		if fee < min(minFee, amount) {
			t.Fatalf("%+v.Fee(%d) = %d, below min", rule, amount, fee)
		}
	})
}

func TestGrossUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		net  int64
		rule money.FeeRule
		want int64
	}{
		{"no fee", 1000, money.FeeRule{}, 1000},
		{"zero net", 0, money.FeeRule{BasisPoints: 290, Fixed: 30}, 0},
		// 10000 + fee: 10330 - (299.57→300 + 30) = 10000; 10329 - (299.54→300 + 30) = 9999.
		{"2.9 % + 30", 10000, money.FeeRule{BasisPoints: 290, Fixed: 30}, 10330},
		{"fixed only", 1000, money.FeeRule{Fixed: 30}, 1030},
		{"max caps the fee", 1000000, money.FeeRule{BasisPoints: 1000, Max: 500}, 1000500},
		{"min", 100, money.FeeRule{BasisPoints: 100, Min: 50}, 150},
		{"100 % with max", 100, money.FeeRule{BasisPoints: 10000, Max: 5}, 105},
		{"100 % with only a min is fine for 0", 0, money.FeeRule{BasisPoints: 10000, Min: 1}, 0},
		{"largest net without fee", math.MaxInt64, money.FeeRule{}, math.MaxInt64},
	}
	for _, tt := range tests {
		got, err := money.GrossUp(tt.net, tt.rule)
		if err != nil || got != tt.want {
			t.Errorf("%s: GrossUp(%d, %+v) = %d, %v; want %d", tt.name, tt.net, tt.rule, got, err, tt.want)
		}
	}

	errs := []struct {
		name string
		net  int64
		rule money.FeeRule
		want error
	}{
		{"negative net", -1, money.FeeRule{}, money.ErrInvalid},
		{"100 % without max", 1, money.FeeRule{BasisPoints: 10000}, money.ErrOverflow},
		{"net too large for the fee", math.MaxInt64, money.FeeRule{Fixed: 1}, money.ErrOverflow},
	}
	for _, tt := range errs {
		if got, err := money.GrossUp(tt.net, tt.rule); !errors.Is(err, tt.want) {
			t.Errorf("%s: GrossUp(%d, %+v) = %d, %v; want %v", tt.name, tt.net, tt.rule, got, err, tt.want)
		}
	}
}

// TestGrossUpProperty checks GrossUp's contract on many random rules and
// nets: the gross covers the fee, and one minor unit less would not.
func TestGrossUpProperty(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same cases on every run
	for range 20000 {
		rule := money.FeeRule{
			BasisPoints: rng.Int64N(10001),
			Fixed:       pick(rng, 0, 30, rng.Int64N(1000)),
			Min:         pick(rng, 0, 0, rng.Int64N(1000)),
		}
		rule.Max = pick(rng, 0, rule.Min+rng.Int64N(5000), 0)
		net := pick(rng, rng.Int64N(100), rng.Int64N(1_000_000), rng.Int64N(math.MaxInt64/2))
		checkGrossUp(t, net, rule)
	}
}

func pick(rng *rand.Rand, a, b, c int64) int64 {
	return [...]int64{a, b, c}[rng.IntN(3)]
}

func checkGrossUp(t *testing.T, net int64, rule money.FeeRule) {
	t.Helper()
	gross, err := money.GrossUp(net, rule)
	if err != nil {
		if !errors.Is(err, money.ErrOverflow) {
			t.Fatalf("GrossUp(%d, %+v): %v", net, rule, err)
		}
		// Only acceptable when even the largest gross does not cover it.
		fee, _ := rule.Fee(math.MaxInt64)
		if math.MaxInt64-fee >= net {
			t.Fatalf("GrossUp(%d, %+v) overflowed, but MaxInt64 nets %d", net, rule, math.MaxInt64-fee)
		}
		return
	}
	fee, err := rule.Fee(gross)
	if err != nil || gross-fee < net {
		t.Fatalf("GrossUp(%d, %+v) = %d, which nets %d (fee %d, %v)", net, rule, gross, gross-fee, fee, err)
	}
	if gross > net {
		less, _ := rule.Fee(gross - 1)
		if gross-1-less >= net {
			t.Fatalf("GrossUp(%d, %+v) = %d, but %d already nets %d", net, rule, gross, gross-1, gross-1-less)
		}
	}
}

// FuzzGrossUp is the property above for arbitrary inputs.
func FuzzGrossUp(f *testing.F) {
	f.Add(int64(10000), int64(290), int64(30), int64(0), int64(0))
	f.Add(int64(1), int64(10000), int64(0), int64(0), int64(0))
	f.Add(int64(math.MaxInt64), int64(1), int64(0), int64(0), int64(7))
	f.Fuzz(func(t *testing.T, net, bps, fixed, minFee, maxFee int64) {
		rule := money.FeeRule{BasisPoints: bps, Fixed: fixed, Min: minFee, Max: maxFee}
		if rule.Validate() != nil || net < 0 {
			if _, err := money.GrossUp(net, rule); !errors.Is(err, money.ErrInvalid) {
				t.Fatalf("GrossUp(%d, %+v) err = %v, want ErrInvalid", net, rule, err)
			}
			return
		}
		checkGrossUp(t, net, rule)
	})
}
