package emulator

// cardBehavior is how a test card responds to setups and payments.
type cardBehavior string

const (
	// cardSucceeds: payments and setups succeed.
	cardSucceeds cardBehavior = "succeeds"
	// cardDeclines: attaching, setting up and charging all decline.
	cardDeclines cardBehavior = "declines"
	// cardDeclinesCharges: attaching and setting up succeed; charges decline.
	cardDeclinesCharges cardBehavior = "declines_charges"
	// cardAuthUnlessSetUp: every payment needs authentication unless the
	// card was set up for off-session use; then off-session payments succeed.
	cardAuthUnlessSetUp cardBehavior = "auth_unless_set_up"
	// cardAuthAlways: every payment and setup needs authentication;
	// off-session payments fail with authentication_required.
	cardAuthAlways cardBehavior = "auth_always"
	// cardAuthOnSession: on-session payments need authentication; off-session
	// payments succeed (the card counts as already set up).
	cardAuthOnSession cardBehavior = "auth_on_session"
	// cardAuthThenDecline: needs authentication, then declines with
	// insufficient_funds.
	cardAuthThenDecline cardBehavior = "auth_then_decline"
	// cardBypassPending: succeeds, and funds are available at once.
	cardBypassPending cardBehavior = "bypass_pending"
)

// testCard is one row of Stripe's test card documentation.
type testCard struct {
	Number   string
	Token    string // the pm_card_… test PaymentMethod
	Brand    string
	Funding  string
	Country  string
	Behavior cardBehavior
	// Code and DeclineCode are the error's code and decline_code when the
	// card declines; Message is Stripe's message for it.
	Code        string
	DeclineCode string
	Message     string
	// Doc is the Stripe documentation page the row comes from.
	Doc string
}

// testCards is the emulator's one table of test cards, each row as the
// Stripe page in its Doc field describes it. Declines carry the error code
// and decline code of that page's table; where the page says "n/a" the
// decline code is empty (expired_card, incorrect_cvc, processing_error).
var testCards = []testCard{
	{"4242424242424242", "pm_card_visa", "visa", "credit", "US", cardSucceeds, "", "", "",
		"https://docs.stripe.com/testing#cards"},
	{"4000056655665556", "pm_card_visa_debit", "visa", "debit", "US", cardSucceeds, "", "", "",
		"https://docs.stripe.com/testing#cards"},
	{"5555555555554444", "pm_card_mastercard", "mastercard", "credit", "US", cardSucceeds, "", "", "",
		"https://docs.stripe.com/testing#cards"},
	{"378282246310005", "pm_card_amex", "amex", "credit", "US", cardSucceeds, "", "", "",
		"https://docs.stripe.com/testing#cards"},
	{"4000000000000002", "pm_card_chargeDeclined", "visa", "credit", "US", cardDeclines,
		"card_declined", "generic_decline", "Your card was declined.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000009995", "pm_card_chargeDeclinedInsufficientFunds", "visa", "credit", "US", cardDeclines,
		"card_declined", "insufficient_funds", "Your card has insufficient funds.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000009987", "pm_card_chargeDeclinedLostCard", "visa", "credit", "US", cardDeclines,
		"card_declined", "lost_card", "Your card was declined.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000009979", "pm_card_chargeDeclinedStolenCard", "visa", "credit", "US", cardDeclines,
		"card_declined", "stolen_card", "Your card was declined.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000000069", "pm_card_chargeDeclinedExpiredCard", "visa", "credit", "US", cardDeclines,
		"expired_card", "", "Your card has expired.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000000127", "pm_card_chargeDeclinedIncorrectCvc", "visa", "credit", "US", cardDeclines,
		"incorrect_cvc", "", "Your card's security code is incorrect.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000000119", "pm_card_chargeDeclinedProcessingError", "visa", "credit", "US", cardDeclines,
		"processing_error", "", "An error occurred while processing your card. Try again in a little bit.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000000000000341", "pm_card_chargeCustomerFail", "visa", "credit", "US", cardDeclinesCharges,
		"card_declined", "generic_decline", "Your card was declined.",
		"https://docs.stripe.com/testing#declined-payments"},
	{"4000002500003155", "pm_card_authenticationRequiredOnSetup", "visa", "credit", "IE", cardAuthUnlessSetUp,
		"authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.",
		"https://docs.stripe.com/testing#authentication-and-setup"},
	{"4000002760003184", "pm_card_authenticationRequired", "visa", "credit", "DE", cardAuthAlways,
		"authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.",
		"https://docs.stripe.com/testing#authentication-and-setup"},
	{"4000003800000446", "pm_card_authenticationRequiredSetupForOffSession", "visa", "credit", "US", cardAuthOnSession,
		"authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.",
		"https://docs.stripe.com/testing#authentication-and-setup"},
	{"4000008260003178", "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", "visa", "credit", "GB", cardAuthThenDecline,
		"card_declined", "insufficient_funds", "Your card has insufficient funds.",
		"https://docs.stripe.com/testing#authentication-and-setup"},
	{"4000000000003220", "pm_card_threeDSecure2Required", "visa", "credit", "US", cardAuthAlways,
		"authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.",
		"https://docs.stripe.com/testing#regulatory-cards"},
	{"4000000000000077", "pm_card_bypassPending", "visa", "credit", "US", cardBypassPending, "", "", "",
		"https://docs.stripe.com/testing#available-balance"},
	{"4000000000000259", "pm_card_createDispute", "visa", "credit", "US", cardSucceeds, "", "", "",
		"https://docs.stripe.com/testing#disputes"},
	{"4000000000001976", "pm_card_createDisputeInquiry", "visa", "credit", "US", cardSucceeds, "", "", "",
		"https://docs.stripe.com/testing#disputes"},
}

var cardsByNumber, cardsByToken = indexCards()

func indexCards() (map[string]*testCard, map[string]*testCard) {
	byNum, byTok := map[string]*testCard{}, map[string]*testCard{}
	for i := range testCards {
		c := &testCards[i]
		byNum[c.Number], byTok[c.Token] = c, c
	}
	for alias, token := range tokenAliases {
		byTok[alias] = byTok[token]
	}
	return byNum, byTok
}

// tokenAliases are the other pm_card_… names Stripe's testing page uses
// for rows of testCards: the declines table names the Visa variants.
var tokenAliases = map[string]string{
	"pm_card_visa_chargeDeclined":                  "pm_card_chargeDeclined",
	"pm_card_visa_chargeDeclinedInsufficientFunds": "pm_card_chargeDeclinedInsufficientFunds",
	"pm_card_visa_chargeDeclinedLostCard":          "pm_card_chargeDeclinedLostCard",
	"pm_card_visa_chargeDeclinedStolenCard":        "pm_card_chargeDeclinedStolenCard",
}

// tokenCards maps the tok_… test tokens (card[token] when creating a
// PaymentMethod) to their cards' numbers.
var tokenCards = map[string]string{
	"tok_visa":                                 "4242424242424242",
	"tok_visa_debit":                           "4000056655665556",
	"tok_mastercard":                           "5555555555554444",
	"tok_amex":                                 "378282246310005",
	"tok_chargeDeclined":                       "4000000000000002",
	"tok_visa_chargeDeclined":                  "4000000000000002",
	"tok_chargeDeclinedInsufficientFunds":      "4000000000009995",
	"tok_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
	"tok_visa_chargeDeclinedLostCard":          "4000000000009987",
	"tok_visa_chargeDeclinedStolenCard":        "4000000000009979",
	"tok_chargeDeclinedExpiredCard":            "4000000000000069",
	"tok_visa_chargeDeclinedExpiredCard":       "4000000000000069",
	"tok_chargeDeclinedIncorrectCvc":           "4000000000000127",
	"tok_visa_chargeDeclinedIncorrectCvc":      "4000000000000127",
	"tok_chargeDeclinedProcessingError":        "4000000000000119",
	"tok_visa_chargeDeclinedProcessingError":   "4000000000000119",
	"tok_chargeCustomerFail":                   "4000000000000341",
	"tok_visa_chargeCustomerFail":              "4000000000000341",
	"tok_bypassPending":                        "4000000000000077",
	"tok_createDispute":                        "4000000000000259",
}

// luhnValid reports whether a card number passes the Luhn check; Stripe
// answers incorrect_number for one that does not (4242424242424241).
func luhnValid(number string) bool {
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(number) >= 12 && sum%10 == 0
}

// cardDecline is the card_error a declining card answers with.
func (tc *testCard) decline() *Error {
	return &Error{Status: 402, Type: ErrorTypeCard, Code: tc.Code, DeclineCode: tc.DeclineCode, Message: tc.Message}
}

func authRequired() *Error {
	return &Error{Status: 402, Type: ErrorTypeCard, Code: "authentication_required", DeclineCode: "authentication_required",
		Message: "Your card was declined. This transaction requires authentication."}
}
