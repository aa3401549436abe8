package standing

import "testing"

// TestDeclineTable: the table says what the issue asks of it (soft:
// insufficient funds, processing errors, try_again_later; hard: stolen,
// lost, expired, do_not_honor), failures without a decline code are read
// by their code, and a code Tender does not know is soft.
func TestDeclineTable(t *testing.T) {
	for _, tt := range []struct {
		code, decline string
		want          Decline
	}{
		{"card_declined", "insufficient_funds", Soft},
		{"card_declined", "try_again_later", Soft},
		{"card_declined", "generic_decline", Soft},
		{"card_declined", "card_velocity_exceeded", Soft},
		{"processing_error", "", Soft},
		{"card_declined", "stolen_card", Hard},
		{"card_declined", "lost_card", Hard},
		{"card_declined", "do_not_honor", Hard},
		{"card_declined", "fraudulent", Hard},
		{"expired_card", "", Hard},
		{"incorrect_cvc", "", Hard},
		{"account_invalid", "", Hard},
		{"card_declined", "a_code_stripe_adds_next_year", Soft},
	} {
		if got := classify(tt.code, tt.decline); got != tt.want {
			t.Errorf("%s/%s: %s, want %s", tt.code, tt.decline, got, tt.want)
		}
	}
	for code, d := range declines {
		if d != Soft && d != Hard {
			t.Errorf("%s: %q", code, d)
		}
	}
}

func TestPolicyRetries(t *testing.T) {
	p := DefaultPolicy
	first := date(2027, 1, 5)
	for next, want := range map[int]string{2: "2027-01-07", 3: "2027-01-10"} {
		at, ok := p.retryAt(next, first)
		if !ok || at.Format("2006-01-02") != want {
			t.Errorf("try %d: %s %v, want %s", next, at, ok, want)
		}
	}
	if _, ok := p.retryAt(4, first); ok {
		t.Error("a fourth try under max_tries 3")
	}
	for _, bad := range []Policy{
		{RetryDays: []int{5, 2}, MaxTries: 3, PauseAfter: 3},
		{RetryDays: []int{0}, MaxTries: 3, PauseAfter: 3},
		{RetryDays: []int{31}, MaxTries: 3, PauseAfter: 3},
		{MaxTries: 0, PauseAfter: 3},
		{MaxTries: 3, PauseAfter: 0},
		{MaxTries: 3, PauseAfter: 3, LeadDays: 8},
	} {
		if err := bad.validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
