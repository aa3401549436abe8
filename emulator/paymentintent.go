package emulator

import (
	"reflect"
	"strings"
)

// PIStatus is a PaymentIntent's status.
type PIStatus string

// PaymentIntent statuses.
const (
	PIRequiresPaymentMethod PIStatus = "requires_payment_method"
	PIRequiresConfirmation  PIStatus = "requires_confirmation"
	PIRequiresAction        PIStatus = "requires_action"
	PIRequiresCapture       PIStatus = "requires_capture"
	PICanceled              PIStatus = "canceled"
	PISucceeded             PIStatus = "succeeded"
)

// lastError is a stored last_payment_error / last_setup_error.
type lastError struct {
	Type          ErrorType
	Code          string
	DeclineCode   string
	Message       string
	PaymentMethod string
	Charge        string
}

func (e *lastError) render(st *state) any {
	if e == nil {
		return nil
	}
	o := obj{{"type", string(e.Type)}, {"code", e.Code}, {"message", e.Message}}
	if e.DeclineCode != "" {
		o = append(o, field{"decline_code", e.DeclineCode})
	}
	if e.Charge != "" {
		o = append(o, field{"charge", e.Charge})
	}
	o = append(o, field{"doc_url", "https://stripe.com/docs/error-codes/" + dashed(e.Code)})
	if pm, ok := st.Objects.get(e.PaymentMethod).(*PaymentMethod); ok {
		o = append(o, field{"payment_method", pm.render(st)})
	}
	return o
}

// PaymentIntent is a payment from a customer, on the platform or (direct
// charges) on a connected account.
type PaymentIntent struct {
	Meta
	cow                // events share its versions; call c.touch before changing it
	Amount             int64
	AmountCapturable   int64
	AmountReceived     int64
	Currency           string
	Status             PIStatus
	CaptureMethod      string
	ConfirmationMethod string
	PaymentMethod      string
	LatestCharge       string
	Secret             string
	// ActionURL is the base URL (scheme://host) of the request that
	// created the intent; next_action sends the customer to its challenge
	// under it (see actionURL). The name is kept for snapshots, which
	// before 2026-11 held the whole URL here.
	ActionURL string
	// x holds the fields most intents leave empty: read them with extra,
	// change them with edit. Snapshot files store them with the rest
	// (piWire).
	x             *piExtra
	Authenticated bool // the current payment method passed 3-D Secure
}

// piExtra is the part of a PaymentIntent that most intents leave empty,
// kept apart so that such an intent is 240 bytes instead of 416. It is
// never changed once an intent points to it (versions of the intent may
// share it): edit gives the intent a new one.
type piExtra struct {
	Customer         string
	Description      string
	Metadata         Metadata
	AppFeeAmount     int64
	TransferDest     string
	TransferAmount   int64
	OnBehalfOf       string
	TransferGroup    string
	LastError        *lastError
	SetupFutureUsage string
	ReceiptEmail     string
	ReturnURL        string
	CanceledAt       int64
	CancelReason     string
	HasAppFee        bool
	HasTransferAmt   bool
}

// extra returns the intent's rarely set fields, as a value: to change one,
// use edit.
func (pi *PaymentIntent) extra() piExtra {
	if pi.x == nil {
		return piExtra{}
	}
	return *pi.x
}

// edit gives the intent its own copy of its rarely set fields and returns
// it to be changed. Call it for each change (pi.edit().Customer = id),
// after c.touch: a copy edit returned before may since be shared.
func (pi *PaymentIntent) edit() *piExtra {
	x := new(piExtra)
	if pi.x != nil {
		*x = *pi.x
	}
	pi.x = x
	return x
}

// setExtra sets the intent's rarely set fields, keeping none when all are
// empty.
func (pi *PaymentIntent) setExtra(x piExtra) {
	pi.x = nil
	if !reflect.ValueOf(x).IsZero() {
		pi.x = &x
	}
}

// lastError is the intent's last_payment_error, or nil.
func (pi *PaymentIntent) lastError() *lastError {
	if pi.x == nil {
		return nil
	}
	return pi.x.LastError
}

var cardOnly = []string{"card"}

func (pi *PaymentIntent) render(st *state) obj {
	x := pi.extra()
	var appFee, td, nextAction any
	if x.HasAppFee {
		appFee = x.AppFeeAmount
	}
	if x.TransferDest != "" {
		t := obj{}
		if x.HasTransferAmt {
			t = append(t, field{"amount", x.TransferAmount})
		}
		td = append(t, field{"destination", ref(x.TransferDest)})
	}
	if pi.Status == PIRequiresAction {
		nextAction = nextActionFor(actionURL(pi.ActionURL, pi.ID), x.ReturnURL)
	}
	var canceledAt any
	if x.CanceledAt != 0 {
		canceledAt = x.CanceledAt
	}
	return obj{
		{"id", pi.ID}, {"object", "payment_intent"},
		{"amount", pi.Amount}, {"amount_capturable", pi.AmountCapturable},
		{"amount_details", obj{{"tip", obj{}}}}, {"amount_received", pi.AmountReceived},
		{"application", nil}, {"application_fee_amount", appFee}, {"automatic_payment_methods", nil},
		{"canceled_at", canceledAt}, {"cancellation_reason", strOrNil(x.CancelReason)},
		{"capture_method", pi.CaptureMethod}, {"client_secret", pi.Secret},
		{"confirmation_method", pi.ConfirmationMethod}, {"created", pi.Created}, {"currency", pi.Currency},
		{"customer", ref(x.Customer)}, {"customer_account", nil}, {"description", strOrNil(x.Description)},
		{"excluded_payment_method_types", nil}, {"last_payment_error", x.LastError.render(st)},
		{"latest_charge", ref(pi.LatestCharge)}, {"livemode", false}, {"metadata", x.Metadata.orEmpty()},
		{"next_action", nextAction}, {"on_behalf_of", ref(x.OnBehalfOf)},
		{"payment_method", ref(pi.PaymentMethod)}, {"payment_method_configuration_details", nil},
		{"payment_method_options", obj{{"card", obj{{"installments", nil}, {"mandate_options", nil},
			{"network", nil}, {"request_three_d_secure", "automatic"}}}}},
		{"payment_method_types", cardOnly}, {"processing", nil}, {"receipt_email", strOrNil(x.ReceiptEmail)},
		{"review", nil}, {"setup_future_usage", strOrNil(x.SetupFutureUsage)}, {"shipping", nil},
		{"statement_descriptor", nil}, {"statement_descriptor_suffix", nil},
		{"status", string(pi.Status)}, {"transfer_data", td}, {"transfer_group", strOrNil(x.TransferGroup)},
	}
}

// nextActionFor is the next_action of an intent awaiting 3-D Secure: a
// redirect when the integration gave a return_url, otherwise Stripe.js's
// use_stripe_sdk. Both lead to the emulator's challenge endpoint.
func nextActionFor(actionURL, returnURL string) obj {
	if returnURL != "" {
		return obj{{"redirect_to_url", obj{{"return_url", returnURL}, {"url", actionURL}}}, {"type", "redirect_to_url"}}
	}
	return obj{{"type", "use_stripe_sdk"}, {"use_stripe_sdk", obj{{"type", "three_d_secure_redirect"}, {"stripe_js", actionURL}}}}
}

func handlePaymentIntentCreate(c *call) (any, *Error) {
	amount, hasAmount := c.p.integer("amount")
	if !hasAmount {
		c.p.fail(missingParam("amount"))
	}
	currency := strings.ToLower(c.p.required("currency"))
	pi := &PaymentIntent{Amount: amount, Currency: currency, Status: PIRequiresPaymentMethod,
		CaptureMethod: "automatic_async", ConfirmationMethod: "automatic"}
	if v, ok := c.p.enum([]string{"automatic", "automatic_async", "manual"}, "capture_method"); ok {
		pi.CaptureMethod = v
	}
	if v, ok := c.p.enum([]string{"automatic", "manual"}, "confirmation_method"); ok {
		pi.ConfirmationMethod = v
	}
	confirm, _ := c.p.boolean("confirm")
	off := c.offSessionParam()
	var x piExtra
	c.piFields(pi, &x)
	if v, ok := c.p.str("transfer_data", "destination"); ok {
		x.TransferDest = v
	}
	if v, ok := c.p.integer("transfer_data", "amount"); ok {
		x.TransferAmount, x.HasTransferAmt = v, true
	}
	if v, ok := c.p.str("on_behalf_of"); ok {
		x.OnBehalfOf = v
	}
	x.ReturnURL, _ = c.p.str("return_url")
	pi.setExtra(x)
	c.p.ignore("payment_method_types", "automatic_payment_methods", "payment_method_options", "use_stripe_sdk",
		"error_on_requires_action", "mandate_data", "shipping", "statement_descriptor", "statement_descriptor_suffix", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if err := c.validatePI(pi, confirm, off); err != nil {
		return nil, err
	}
	pi.Meta = Meta{ID: c.st.newID("pi"), Acct: c.acct, Created: c.now}
	pi.Secret = pi.ID + "_secret_" + c.st.randString(25)
	pi.ID = pi.Secret[:len(pi.ID)] // the secret starts with the id: one allocation for both
	pi.ActionURL = c.baseURL()
	if pi.PaymentMethod != "" {
		pm, _ := c.paymentMethodFor(pi.PaymentMethod, "payment_method")
		pi.PaymentMethod = pm.ID
		pi.Status = PIRequiresConfirmation
	}
	c.st.put(pi)
	c.emit("payment_intent.created", pi)
	if confirm {
		return c.confirmPI(pi, off)
	}
	return pi, nil
}

// offSessionParam reads off_session, which Stripe accepts as a boolean or as
// "one_off" / "recurring".
func (c *call) offSessionParam() bool {
	v, ok := c.p.str("off_session")
	if !ok {
		return false
	}
	switch v {
	case "true", "one_off", "recurring":
		return true
	case "false", "":
		return false
	}
	c.p.fail(invalidRequest("off_session", "Invalid off_session: must be a boolean, one_off or recurring"))
	return false
}

// piFields reads the parameters create and update share, into pi and its
// rarely set fields x.
func (c *call) piFields(pi *PaymentIntent, x *piExtra) {
	if v, ok := c.p.str("customer"); ok {
		x.Customer = v
	}
	if v, ok := c.p.str("payment_method"); ok {
		pi.PaymentMethod = v
	}
	if v, ok := c.p.str("description"); ok {
		x.Description = v
	}
	if v, ok := c.p.str("receipt_email"); ok {
		x.ReceiptEmail = v
	}
	if v, ok := c.p.enum([]string{"off_session", "on_session", ""}, "setup_future_usage"); ok {
		x.SetupFutureUsage = v
	}
	if v, ok := c.p.integer("application_fee_amount"); ok {
		x.AppFeeAmount, x.HasAppFee = v, true
	}
	if v, ok := c.p.str("transfer_group"); ok {
		x.TransferGroup = v
	}
	x.Metadata = c.p.metadata(x.Metadata)
}

// validatePI checks a PaymentIntent's currency and amount (currency.go),
// then its Connect rules and references.
func (c *call) validatePI(pi *PaymentIntent, confirm, off bool) *Error {
	if err := checkChargeCurrency("currency", pi.Currency); err != nil {
		return err
	}
	if err := checkChargeAmount(pi.Amount, pi.Currency); err != nil {
		return err
	}
	if err := c.checkCharging(pi); err != nil {
		return err
	}
	if off && !confirm && pi.Status == PIRequiresPaymentMethod {
		return invalidRequest("off_session", "You can only set `off_session` when `confirm` is true.")
	}
	if pi.extra().HasAppFee {
		if pi.extra().AppFeeAmount < 0 || pi.extra().AppFeeAmount > pi.Amount {
			return invalidRequest("application_fee_amount", "The application fee amount must be between 0 and the amount of the PaymentIntent.")
		}
		if c.acct == c.platform && pi.extra().TransferDest == "" {
			return invalidRequest("application_fee_amount", "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).")
		}
	}
	if pi.extra().TransferDest != "" {
		if c.acct != c.platform {
			return invalidRequest("transfer_data[destination]", "transfer_data[destination] cannot be used on a connected account.")
		}
		if _, err := c.connectedAccount(pi.extra().TransferDest, "transfer_data[destination]"); err != nil {
			return err
		}
		if pi.extra().HasTransferAmt && (pi.extra().TransferAmount < 0 || pi.extra().TransferAmount > pi.Amount) {
			return invalidRequest("transfer_data[amount]", "transfer_data[amount] must be between 0 and the amount of the PaymentIntent.")
		}
		if pi.extra().HasTransferAmt && pi.extra().HasAppFee {
			return invalidRequest("application_fee_amount", "You cannot specify both `application_fee_amount` and `transfer_data[amount]`.")
		}
	} else if pi.extra().HasTransferAmt {
		return missingParam("transfer_data[destination]")
	}
	if pi.extra().OnBehalfOf != "" {
		if _, err := c.connectedAccount(pi.extra().OnBehalfOf, "on_behalf_of"); err != nil {
			return err
		}
		if pi.extra().TransferDest != "" && pi.extra().OnBehalfOf != pi.extra().TransferDest {
			return invalidRequest("on_behalf_of", "The `on_behalf_of` parameter must match `transfer_data[destination]` for card payments.")
		}
	}
	if pi.extra().Customer != "" {
		if _, err := c.customerFor(pi.extra().Customer, "customer"); err != nil {
			return err
		}
	}
	if pi.PaymentMethod != "" {
		if err := c.checkPaymentMethod(pi.PaymentMethod, "payment_method"); err != nil {
			return err
		}
		if pm, ok := c.st.Objects.get(pi.PaymentMethod).(*PaymentMethod); ok && pm.Customer != "" && pm.Customer != pi.extra().Customer {
			return invalidRequest("payment_method", "The provided PaymentMethod belongs to a different Customer. Please provide the Customer that %s is attached to.", pm.ID)
		}
	}
	return nil
}

// baseURL is scheme://host of the request, the same string for every
// request to the same host (see state.intern).
func (c *call) baseURL() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return c.st.intern(scheme + "://" + c.r.Host)
}

// authenticatePath is where an intent's 3-D Secure challenge is served.
const authenticatePath = "/_emulator/authenticate/"

// actionURL is where next_action sends the customer to authenticate intent
// id, given the intent's ActionURL: the base URL of the request that
// created it, or, in snapshots written before 2026-11, the whole URL.
// Storing only the base, which intents share, saves a string per intent.
func actionURL(stored, id string) string {
	if strings.HasSuffix(stored, id) && strings.HasSuffix(stored[:len(stored)-len(id)], authenticatePath) {
		return stored
	}
	return stored + authenticatePath + id
}

func (c *call) intent() (*PaymentIntent, *Error) {
	return get[*PaymentIntent](c.st, c.acct, c.r.PathValue("id"), "payment_intent", "intent")
}

func unexpectedState(action string, pi *PaymentIntent, allowed ...string) *Error {
	e := stateError("payment_intent_unexpected_state",
		"You cannot %s this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of the following statuses may be %s: %s.",
		action, pi.Status, pastTense(action), strings.Join(allowed, ", "))
	e.PaymentIntent = pi
	e.validation = false
	return e
}

func pastTense(action string) string {
	if strings.HasSuffix(action, "e") {
		return action + "d"
	}
	return action + "ed"
}

func handlePaymentIntentConfirm(c *call) (any, *Error) {
	pi, err := c.intent()
	if err != nil {
		return nil, err
	}
	next := *pi
	if v, ok := c.p.str("payment_method"); ok {
		next.PaymentMethod = v
	}
	off := c.offSessionParam()
	x, changed := next.extra(), false
	if v, ok := c.p.str("return_url"); ok {
		x.ReturnURL, changed = v, true
	}
	if v, ok := c.p.enum([]string{"off_session", "on_session", ""}, "setup_future_usage"); ok {
		x.SetupFutureUsage, changed = v, true
	}
	if v, ok := c.p.str("receipt_email"); ok {
		x.ReceiptEmail, changed = v, true
	}
	if changed {
		next.setExtra(x)
	}
	c.p.ignore("payment_method_types", "payment_method_options", "use_stripe_sdk", "error_on_requires_action",
		"mandate_data", "shipping", "expand", "capture_method")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	switch pi.Status {
	case PIRequiresPaymentMethod, PIRequiresConfirmation, PIRequiresAction:
	default:
		return nil, unexpectedState("confirm", pi, "requires_payment_method", "requires_confirmation", "requires_action")
	}
	if next.PaymentMethod == "" {
		return nil, invalidRequestCode("payment_intent_unexpected_state", "payment_method",
			"You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with %s, specify a payment method attached to this customer along with the customer ID.", pi.extra().Customer)
	}
	if err := c.validatePI(&next, true, off); err != nil {
		return nil, err
	}
	if next.PaymentMethod != pi.PaymentMethod {
		pm, _ := c.paymentMethodFor(next.PaymentMethod, "payment_method")
		next.PaymentMethod = pm.ID
		next.Authenticated = false
	}
	c.touch(pi)
	next.cow = cow{} // copied from pi while an event may have held it
	*pi = next
	return c.confirmPI(pi, off)
}

// confirmPI runs a confirmation: authentication as the test card demands,
// then the charge.
func (c *call) confirmPI(pi *PaymentIntent, off bool) (any, *Error) {
	pm := c.st.Objects.get(pi.PaymentMethod).(*PaymentMethod)
	tc := pm.card()
	c.touch(pi) // the intent as created or as it last failed stays in its events
	if pi.lastError() != nil {
		pi.edit().LastError = nil
	}
	if !pi.Authenticated && needsAuth(tc, pm, off) {
		if off {
			return c.failPI(pi, pm, authRequired())
		}
		pi.Status = PIRequiresAction
		c.emit("payment_intent.requires_action", pi)
		return pi, nil
	}
	return c.chargePI(pi, pm, off)
}

// needsAuth applies the authentication rules of Stripe's 3-D Secure test
// cards.
func needsAuth(tc *testCard, pm *PaymentMethod, off bool) bool {
	switch tc.Behavior {
	case cardAuthAlways:
		return true
	case cardAuthUnlessSetUp, cardAuthThenDecline:
		return !(off && pm.SetUpOffSession)
	case cardAuthOnSession:
		return !off
	}
	return false
}

// chargePI creates the charge for a confirmed PaymentIntent.
func (c *call) chargePI(pi *PaymentIntent, pm *PaymentMethod, off bool) (any, *Error) {
	tc := pm.card()
	switch tc.Behavior {
	case cardDeclines, cardDeclinesCharges, cardAuthThenDecline:
		return c.failPI(pi, pm, tc.decline())
	}
	ch := c.newCharge(pi, pm)
	ch.Status = ChargeSucceeded
	pi.LatestCharge = ch.ID
	if pi.extra().SetupFutureUsage == "off_session" {
		pm.SetUpOffSession = true
	}
	if pi.extra().SetupFutureUsage != "" && pi.extra().Customer != "" && pm.Customer == "" {
		pm.Customer = pi.extra().Customer
		c.emit("payment_method.attached", pm)
	}
	if pi.CaptureMethod == "manual" {
		pi.Status = PIRequiresCapture
		pi.AmountCapturable = pi.Amount
		c.emit("charge.succeeded", ch)
		c.emit("payment_intent.amount_capturable_updated", pi)
		return pi, nil
	}
	ch.Captured, ch.AmountCaptured = true, pi.Amount
	c.settle(ch, pi.Amount, tc.Behavior == cardBypassPending)
	pi.Status, pi.AmountReceived = PISucceeded, pi.Amount
	c.emit("charge.succeeded", ch)
	c.emit("payment_intent.succeeded", pi)
	return pi, nil
}

func (c *call) newCharge(pi *PaymentIntent, pm *PaymentMethod) *Charge {
	ch := &Charge{
		Meta:   Meta{ID: c.st.newID("ch"), Acct: pi.Acct, Created: c.now},
		Amount: pi.Amount, Currency: pi.Currency, PaymentIntent: pi.ID, PaymentMethod: pm.ID,
	}
	ch.setExtra(chargeExtra{Customer: pi.extra().Customer, Description: pi.extra().Description, Metadata: pi.extra().Metadata,
		AppFeeAmount: pi.extra().AppFeeAmount, HasAppFee: pi.extra().HasAppFee, TransferDest: pi.extra().TransferDest,
		TransferAmount: pi.extra().TransferAmount, HasTransferAmt: pi.extra().HasTransferAmt,
		OnBehalfOf: pi.extra().OnBehalfOf, TransferGroup: pi.extra().TransferGroup})
	c.st.put(ch)
	return ch
}

// failPI records a declined attempt: a failed charge, the intent back to
// requires_payment_method with last_payment_error, and a 402 card_error
// carrying the intent.
func (c *call) failPI(pi *PaymentIntent, pm *PaymentMethod, e *Error) (any, *Error) {
	ch := c.newCharge(pi, pm)
	ch.Status = ChargeFailed
	x := ch.edit()
	x.FailureCode, x.FailureMessage, x.DeclineCode = e.Code, e.Message, e.DeclineCode
	pi.LatestCharge = ch.ID
	pi.Status = PIRequiresPaymentMethod
	pi.Authenticated = false
	pi.edit().LastError = &lastError{Type: ErrorTypeCard, Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message,
		PaymentMethod: pm.ID, Charge: ch.ID}
	c.emit("charge.failed", ch)
	c.emit("payment_intent.payment_failed", pi)
	e.Charge = ch.ID
	e.PaymentIntent = pi
	e.PaymentMethod = pm
	return nil, e
}

func handlePaymentIntentCapture(c *call) (any, *Error) {
	pi, err := c.intent()
	if err != nil {
		return nil, err
	}
	amount, hasAmount := c.p.integer("amount_to_capture")
	fee, hasFee := c.p.integer("application_fee_amount")
	md := c.p.metadata(pi.extra().Metadata)
	c.p.ignore("final_capture", "statement_descriptor", "statement_descriptor_suffix", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if pi.Status != PIRequiresCapture {
		return nil, unexpectedState("capture", pi, "requires_capture")
	}
	if !hasAmount {
		amount = pi.AmountCapturable
	}
	if amount <= 0 || amount > pi.AmountCapturable {
		return nil, invalidRequest("amount_to_capture", "The amount to capture must be a positive integer no greater than the amount capturable (%d).", pi.AmountCapturable)
	}
	if hasFee && (fee < 0 || fee > amount) {
		return nil, invalidRequest("application_fee_amount", "The application fee amount must not exceed the amount captured.")
	}
	if hasFee && c.acct == c.platform && pi.extra().TransferDest == "" {
		// Stripe's wording on capture (stripe-dotnet#1795).
		return nil, invalidRequest("application_fee_amount", "Can only apply an application_fee_amount when the PaymentIntent was made on behalf of another account (using an OAuth key or the Stripe-Account header), or when using the transfer_data[destination] parameter.")
	}
	ch := c.st.Objects.get(pi.LatestCharge).(*Charge)
	c.touch(pi)
	c.touch(ch)
	x := pi.extra()
	if hasFee {
		x.AppFeeAmount, x.HasAppFee = fee, true
		cx := ch.edit()
		cx.AppFeeAmount, cx.HasAppFee = fee, true
	}
	x.Metadata = md
	pi.setExtra(x)
	ch.Captured, ch.AmountCaptured = true, amount
	ch.AmountRefunded = ch.Amount - amount // the uncaptured rest is released
	tc := c.st.Objects.get(ch.PaymentMethod).(*PaymentMethod).card()
	c.settle(ch, amount, tc.Behavior == cardBypassPending)
	pi.Status, pi.AmountReceived, pi.AmountCapturable = PISucceeded, amount, 0
	c.emit("charge.captured", ch)
	c.emit("payment_intent.succeeded", pi)
	return pi, nil
}

func handlePaymentIntentCancel(c *call) (any, *Error) {
	pi, err := c.intent()
	if err != nil {
		return nil, err
	}
	reason, _ := c.p.enum([]string{"duplicate", "fraudulent", "requested_by_customer", "abandoned"}, "cancellation_reason")
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	switch pi.Status {
	case PIRequiresPaymentMethod, PIRequiresConfirmation, PIRequiresAction, PIRequiresCapture:
	default:
		return nil, unexpectedState("cancel", pi, "requires_payment_method", "requires_capture", "requires_confirmation", "requires_action")
	}
	if pi.Status == PIRequiresCapture {
		ch := c.st.Objects.get(pi.LatestCharge).(*Charge)
		c.touch(ch)
		ch.AmountRefunded = ch.Amount
		c.emit("charge.refunded", ch)
	}
	c.touch(pi)
	pi.Status, pi.AmountCapturable = PICanceled, 0
	x := pi.edit()
	x.CanceledAt, x.CancelReason = c.now, reason
	c.emit("payment_intent.canceled", pi)
	return pi, nil
}

func handlePaymentIntentRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand", "client_secret")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.intent()
}

func handlePaymentIntentUpdate(c *call) (any, *Error) {
	pi, err := c.intent()
	if err != nil {
		return nil, err
	}
	next := *pi
	if v, ok := c.p.integer("amount"); ok {
		next.Amount = v
	}
	if v, ok := c.p.str("currency"); ok {
		next.Currency = strings.ToLower(v)
	}
	if v, ok := c.p.enum([]string{"automatic", "automatic_async", "manual"}, "capture_method"); ok {
		next.CaptureMethod = v
	}
	x := pi.extra()
	c.piFields(&next, &x)
	next.setExtra(x)
	c.p.ignore("payment_method_types", "payment_method_options", "shipping", "statement_descriptor",
		"statement_descriptor_suffix", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	was := pi.extra()
	onlyMetadata := next.Amount == pi.Amount && next.Currency == pi.Currency && next.PaymentMethod == pi.PaymentMethod &&
		x.Customer == was.Customer && x.AppFeeAmount == was.AppFeeAmount && next.CaptureMethod == pi.CaptureMethod
	switch pi.Status {
	case PIRequiresPaymentMethod, PIRequiresConfirmation, PIRequiresAction:
	default:
		if !onlyMetadata {
			return nil, unexpectedState("update", pi, "requires_payment_method", "requires_confirmation", "requires_action")
		}
	}
	if err := c.validatePI(&next, false, false); err != nil {
		return nil, err
	}
	if next.PaymentMethod != pi.PaymentMethod {
		pm, _ := c.paymentMethodFor(next.PaymentMethod, "payment_method")
		next.PaymentMethod, next.Authenticated = pm.ID, false
		if next.Status == PIRequiresPaymentMethod {
			next.Status = PIRequiresConfirmation
		}
	}
	c.touch(pi)
	next.cow = cow{} // copied from pi while an event may have held it
	*pi = next       // Stripe has no payment_intent.updated event
	return pi, nil
}

func handlePaymentIntentList(c *call) (any, *Error) {
	cus, _ := c.p.str("customer")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("payment_intent", "/v1/payment_intents", c.st.Lists[listKey{c.acct, "payment_intent"}], func(o object) bool {
		pi := o.(*PaymentIntent)
		return created(pi.Created) && (cus == "" || pi.extra().Customer == cus)
	})
}

func handlePaymentIntentSearch(c *call) (any, *Error) {
	return c.searchPage("/v1/payment_intents/search", c.st.Lists[listKey{c.acct, "payment_intent"}],
		[]string{"amount", "currency", "customer", "status", "metadata"},
		func(o object, f, k string) (string, bool) {
			pi := o.(*PaymentIntent)
			switch f {
			case "amount":
				return itoa(pi.Amount), true
			case "currency":
				return pi.Currency, true
			case "customer":
				return pi.extra().Customer, true
			case "status":
				return string(pi.Status), true
			}
			return metaGet(pi.extra().Metadata, f, k)
		})
}
