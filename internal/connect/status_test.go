package connect_test

import (
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/connect"
)

func TestStatusOf(t *testing.T) {
	due := func(fields ...string) *stripe.AccountRequirements {
		return &stripe.AccountRequirements{CurrentlyDue: fields}
	}
	for _, tt := range []struct {
		name string
		acct stripe.Account
		want connect.Status
	}{
		{"onboarding not finished", stripe.Account{Requirements: due("individual.first_name")}, connect.StatusPending},
		{"not submitted, even if enabled", stripe.Account{ChargesEnabled: true, PayoutsEnabled: true}, connect.StatusPending},
		{"submitted, charges disabled", stripe.Account{DetailsSubmitted: true, PayoutsEnabled: true,
			Requirements: &stripe.AccountRequirements{DisabledReason: "requirements.past_due", PastDue: []string{"external_account"}}}, connect.StatusRestricted},
		{"submitted, payouts disabled", stripe.Account{DetailsSubmitted: true, ChargesEnabled: true}, connect.StatusRestricted},
		{"enabled with requirements due", stripe.Account{DetailsSubmitted: true, ChargesEnabled: true, PayoutsEnabled: true,
			Requirements: due("company.tax_id")}, connect.StatusPending},
		{"enabled, only eventually due", stripe.Account{DetailsSubmitted: true, ChargesEnabled: true, PayoutsEnabled: true,
			Requirements: &stripe.AccountRequirements{EventuallyDue: []string{"company.tax_id"}}}, connect.StatusEnabled},
		{"enabled", stripe.Account{DetailsSubmitted: true, ChargesEnabled: true, PayoutsEnabled: true}, connect.StatusEnabled},
	} {
		if got := connect.StatusOf(&tt.acct); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
