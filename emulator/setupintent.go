package emulator

// SIStatus is a SetupIntent's status.
type SIStatus string

// SetupIntent statuses.
const (
	SIRequiresPaymentMethod SIStatus = "requires_payment_method"
	SIRequiresConfirmation  SIStatus = "requires_confirmation"
	SIRequiresAction        SIStatus = "requires_action"
	SICanceled              SIStatus = "canceled"
	SISucceeded             SIStatus = "succeeded"
)

// SetupIntent sets a card up for future payments, authenticating it when
// the card demands.
type SetupIntent struct {
	Meta
	Status        SIStatus
	Customer      string
	PaymentMethod string
	Usage         string
	Description   string
	Metadata      Metadata
	OnBehalfOf    string
	Secret        string
	ReturnURL     string
	ActionURL     string // the base URL, as PaymentIntent.ActionURL
	LastError     *lastError
	CancelReason  string
}

func (si *SetupIntent) render(st *state) obj {
	var nextAction any
	if si.Status == SIRequiresAction {
		nextAction = nextActionFor(actionURL(si.ActionURL, si.ID), si.ReturnURL)
	}
	return obj{
		{"id", si.ID}, {"object", "setup_intent"},
		{"application", nil}, {"automatic_payment_methods", nil},
		{"cancellation_reason", strOrNil(si.CancelReason)}, {"client_secret", si.Secret},
		{"created", si.Created}, {"customer", ref(si.Customer)}, {"customer_account", nil},
		{"description", strOrNil(si.Description)}, {"excluded_payment_method_types", nil},
		{"flow_directions", nil}, {"last_setup_error", si.LastError.render(st)}, {"latest_attempt", nil},
		{"livemode", false}, {"mandate", nil}, {"metadata", si.Metadata.orEmpty()}, {"next_action", nextAction},
		{"on_behalf_of", ref(si.OnBehalfOf)}, {"payment_method", ref(si.PaymentMethod)},
		{"payment_method_configuration_details", nil},
		{"payment_method_options", obj{{"card", obj{{"mandate_options", nil}, {"network", nil}, {"request_three_d_secure", "automatic"}}}}},
		{"payment_method_types", cardOnly}, {"single_use_mandate", nil},
		{"status", string(si.Status)}, {"usage", si.Usage},
	}
}

func (c *call) setupIntent() (*SetupIntent, *Error) {
	return get[*SetupIntent](c.st, c.acct, c.r.PathValue("id"), "setup_intent", "intent")
}

func handleSetupIntentCreate(c *call) (any, *Error) {
	si := &SetupIntent{Status: SIRequiresPaymentMethod, Usage: "off_session"}
	si.Customer, _ = c.p.str("customer")
	si.PaymentMethod, _ = c.p.str("payment_method")
	if v, ok := c.p.enum([]string{"off_session", "on_session"}, "usage"); ok {
		si.Usage = v
	}
	si.Description, _ = c.p.str("description")
	si.OnBehalfOf, _ = c.p.str("on_behalf_of")
	si.ReturnURL, _ = c.p.str("return_url")
	si.Metadata = c.p.metadata(nil)
	confirm, _ := c.p.boolean("confirm")
	c.p.ignore("payment_method_types", "automatic_payment_methods", "payment_method_options", "use_stripe_sdk",
		"mandate_data", "single_use", "flow_directions", "attach_to_self", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if err := c.validateSI(si); err != nil {
		return nil, err
	}
	si.Meta = Meta{ID: c.st.newID("seti"), Acct: c.acct, Created: c.now}
	si.Secret = si.ID + "_secret_" + c.st.randString(32)
	si.ID = si.Secret[:len(si.ID)] // the secret starts with the id: one allocation for both
	si.ActionURL = c.baseURL()
	if si.PaymentMethod != "" {
		pm, _ := c.paymentMethodFor(si.PaymentMethod, "payment_method")
		si.PaymentMethod = pm.ID
		si.Status = SIRequiresConfirmation
	}
	c.st.put(si)
	c.emit("setup_intent.created", si)
	if confirm {
		return c.confirmSI(si)
	}
	return si, nil
}

func (c *call) validateSI(si *SetupIntent) *Error {
	if si.Customer != "" {
		if _, err := c.customerFor(si.Customer, "customer"); err != nil {
			return err
		}
	}
	if si.OnBehalfOf != "" {
		if _, err := c.connectedAccount(si.OnBehalfOf, "on_behalf_of"); err != nil {
			return err
		}
	}
	if si.PaymentMethod != "" {
		if err := c.checkPaymentMethod(si.PaymentMethod, "payment_method"); err != nil {
			return err
		}
		if pm, ok := c.st.Objects.get(si.PaymentMethod).(*PaymentMethod); ok && pm.Customer != "" && pm.Customer != si.Customer {
			return invalidRequest("payment_method", "The provided PaymentMethod is already attached to another Customer.")
		}
	}
	return nil
}

func handleSetupIntentConfirm(c *call) (any, *Error) {
	si, err := c.setupIntent()
	if err != nil {
		return nil, err
	}
	next := *si
	if v, ok := c.p.str("payment_method"); ok {
		next.PaymentMethod = v
	}
	if v, ok := c.p.str("return_url"); ok {
		next.ReturnURL = v
	}
	c.p.ignore("payment_method_options", "use_stripe_sdk", "mandate_data", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	switch si.Status {
	case SIRequiresPaymentMethod, SIRequiresConfirmation, SIRequiresAction:
	default:
		e := stateError("setup_intent_unexpected_state", "You cannot confirm this SetupIntent because it has a status of %s.", si.Status)
		e.SetupIntent, e.validation = si, false
		return nil, e
	}
	if next.PaymentMethod == "" {
		return nil, invalidRequestCode("setup_intent_unexpected_state", "payment_method", "You cannot confirm this SetupIntent because it's missing a payment method.")
	}
	if err := c.validateSI(&next); err != nil {
		return nil, err
	}
	if next.PaymentMethod != si.PaymentMethod {
		pm, _ := c.paymentMethodFor(next.PaymentMethod, "payment_method")
		next.PaymentMethod = pm.ID
	}
	*si = next
	return c.confirmSI(si)
}

// confirmSI applies the test card's setup behaviour: decline, ask for
// authentication, or succeed and attach.
func (c *call) confirmSI(si *SetupIntent) (any, *Error) {
	pm := c.st.Objects.get(si.PaymentMethod).(*PaymentMethod)
	tc := pm.card()
	si.LastError = nil
	switch tc.Behavior {
	case cardDeclines:
		e := tc.decline()
		si.Status = SIRequiresPaymentMethod
		si.LastError = &lastError{Type: ErrorTypeCard, Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message, PaymentMethod: pm.ID}
		c.emit("setup_intent.setup_failed", si)
		e.SetupIntent, e.PaymentMethod = si, pm
		return nil, e
	case cardAuthUnlessSetUp, cardAuthAlways, cardAuthThenDecline:
		si.Status = SIRequiresAction
		c.emit("setup_intent.requires_action", si)
		return si, nil
	}
	c.succeedSI(si, pm)
	return si, nil
}

// succeedSI completes a setup: the card is set up for the intent's usage and
// attached to the intent's customer.
func (c *call) succeedSI(si *SetupIntent, pm *PaymentMethod) {
	si.Status = SISucceeded
	if si.Usage == "off_session" {
		pm.SetUpOffSession = true
	}
	if si.Customer != "" && pm.Customer == "" {
		pm.Customer = si.Customer
		c.emit("payment_method.attached", pm)
	}
	c.emit("setup_intent.succeeded", si)
}

func handleSetupIntentRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand", "client_secret")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.setupIntent()
}

func handleSetupIntentUpdate(c *call) (any, *Error) {
	si, err := c.setupIntent()
	if err != nil {
		return nil, err
	}
	next := *si
	if v, ok := c.p.str("customer"); ok {
		next.Customer = v
	}
	if v, ok := c.p.str("payment_method"); ok {
		next.PaymentMethod = v
	}
	if v, ok := c.p.str("description"); ok {
		next.Description = v
	}
	next.Metadata = c.p.metadata(si.Metadata)
	c.p.ignore("payment_method_types", "payment_method_options", "attach_to_self", "flow_directions", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if err := c.validateSI(&next); err != nil {
		return nil, err
	}
	if next.PaymentMethod != si.PaymentMethod {
		pm, _ := c.paymentMethodFor(next.PaymentMethod, "payment_method")
		next.PaymentMethod = pm.ID
		if next.Status == SIRequiresPaymentMethod {
			next.Status = SIRequiresConfirmation
		}
	}
	*si = next
	return si, nil
}

func handleSetupIntentCancel(c *call) (any, *Error) {
	si, err := c.setupIntent()
	if err != nil {
		return nil, err
	}
	reason, _ := c.p.enum([]string{"abandoned", "duplicate", "requested_by_customer"}, "cancellation_reason")
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if si.Status == SISucceeded || si.Status == SICanceled {
		e := stateError("setup_intent_unexpected_state", "You cannot cancel this SetupIntent because it has a status of %s.", si.Status)
		e.SetupIntent, e.validation = si, false
		return nil, e
	}
	si.Status, si.CancelReason = SICanceled, reason
	c.emit("setup_intent.canceled", si)
	return si, nil
}

func handleSetupIntentList(c *call) (any, *Error) {
	cus, _ := c.p.str("customer")
	pm, _ := c.p.str("payment_method")
	c.p.ignore("attach_to_self")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("setup_intent", "/v1/setup_intents", c.st.Lists[listKey{c.acct, "setup_intent"}], func(o object) bool {
		si := o.(*SetupIntent)
		return created(si.Created) && (cus == "" || si.Customer == cus) && (pm == "" || si.PaymentMethod == pm)
	})
}
