package standing

// Decline is what a failed charge of a cycle means for dunning.
type Decline string

// Kinds of decline.
const (
	// Soft: the card may pay later (funds, a busy issuer, a limit that
	// resets); the cycle is retried on the platform's schedule.
	Soft Decline = "soft"
	// Hard: this card will not pay (lost, stolen, expired, refused for
	// good); the cycle fails at once and the customer must act: another
	// card, or their bank. Retrying would only add declines, which issuers
	// count against the merchant.
	Hard Decline = "hard"
)

// declines is Tender's table of Stripe's decline codes
// (docs.stripe.com/declines/codes). A code not in it is soft: Stripe's
// own retries try every decline but those it knows will not pass, so an
// unknown one is given the platform's few retries rather than none.
var declines = map[string]Decline{
	// The issuer may say yes later.
	"insufficient_funds":              Soft,
	"processing_error":                Soft,
	"try_again_later":                 Soft,
	"issuer_not_available":            Soft,
	"reenter_transaction":             Soft,
	"approve_with_id":                 Soft,
	"call_issuer":                     Soft,
	"card_velocity_exceeded":          Soft,
	"withdrawal_count_limit_exceeded": Soft,
	"generic_decline":                 Soft,
	"no_action_taken":                 Soft,
	"duplicate_transaction":           Soft,
	"offline_pin_required":            Soft,
	"online_or_offline_pin_required":  Soft,

	// This card will not pay: the customer must act.
	"do_not_honor":                      Hard,
	"do_not_try_again":                  Hard,
	"expired_card":                      Hard,
	"lost_card":                         Hard,
	"stolen_card":                       Hard,
	"pickup_card":                       Hard,
	"fraudulent":                        Hard,
	"merchant_blacklist":                Hard,
	"restricted_card":                   Hard,
	"security_violation":                Hard,
	"revocation_of_authorization":       Hard,
	"revocation_of_all_authorizations":  Hard,
	"stop_payment_order":                Hard,
	"incorrect_number":                  Hard,
	"invalid_number":                    Hard,
	"incorrect_cvc":                     Hard,
	"invalid_cvc":                       Hard,
	"incorrect_zip":                     Hard,
	"invalid_expiry_month":              Hard,
	"invalid_expiry_year":               Hard,
	"invalid_account":                   Hard,
	"invalid_amount":                    Hard,
	"card_not_supported":                Hard,
	"currency_not_supported":            Hard,
	"testmode_decline":                  Hard,
	"highest_risk_level":                Hard,
	"transaction_not_allowed":           Hard,
	"not_permitted":                     Hard,
	"service_not_allowed":               Hard,
	"new_account_information_available": Hard,
}

// failures classifies failures that carry no decline code (Stripe's
// error code is the reason, as for expired_card or processing_error), and
// those that are not the card's: the merchant's account refused, or the
// request was malformed, which retrying the same card cannot mend.
var failures = map[string]Decline{
	"processing_error": Soft,
	"expired_card":     Hard,
	"incorrect_cvc":    Hard,
	"incorrect_number": Hard,
	"invalid_request":  Hard,
	"account_invalid":  Hard,
}

// classify is what a failure of a cycle's charge means: by its decline
// code when it has one, else by its failure code.
func classify(failureCode, declineCode string) Decline {
	if d, ok := declines[declineCode]; ok {
		return d
	}
	if d, ok := failures[failureCode]; ok {
		return d
	}
	return Soft
}
