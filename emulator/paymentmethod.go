package emulator

import "strings"

// PaymentMethod is a card of one account, optionally attached to a customer.
type PaymentMethod struct {
	Meta
	Number          string // the test card's number; its row in testCards
	ExpMonth        int64
	ExpYear         int64
	Customer        string
	BillingName     string
	BillingEmail    string
	Metadata        Metadata
	SetUpOffSession bool // a SetupIntent with usage=off_session succeeded for it
}

func (pm *PaymentMethod) card() *testCard { return cardsByNumber[pm.Number] }

// fingerprint is stable per card number and account, as Stripe's is.
func (pm *PaymentMethod) fingerprint() string {
	return "fp" + pm.Number[len(pm.Number)-4:] + strings.ToUpper(pm.card().Brand[:2]) + "Emu0000"
}

func (pm *PaymentMethod) render(st *state) obj {
	tc := pm.card()
	return obj{
		{"id", pm.ID}, {"object", "payment_method"},
		{"allow_redisplay", "unspecified"},
		{"billing_details", obj{{"address", nullAddress()}, {"email", strOrNil(pm.BillingEmail)},
			{"name", strOrNil(pm.BillingName)}, {"phone", nil}, {"tax_id", nil}}},
		{"card", obj{
			{"brand", tc.Brand},
			{"checks", obj{{"address_line1_check", nil}, {"address_postal_code_check", nil}, {"cvc_check", nil}}},
			{"country", tc.Country}, {"display_brand", tc.Brand},
			{"exp_month", pm.ExpMonth}, {"exp_year", pm.ExpYear},
			{"fingerprint", pm.fingerprint()}, {"funding", tc.Funding},
			{"generated_from", nil}, {"last4", tc.Number[len(tc.Number)-4:]},
			{"networks", obj{{"available", []string{tc.Brand}}, {"preferred", nil}}},
			{"regulated_status", "unregulated"},
			{"three_d_secure_usage", obj{{"supported", true}}},
			{"wallet", nil},
		}},
		{"created", pm.Created}, {"customer", ref(pm.Customer)}, {"customer_account", nil},
		{"livemode", false}, {"metadata", pm.Metadata.orEmpty()}, {"type", "card"},
	}
}

func nullAddress() obj {
	return obj{{"city", nil}, {"country", nil}, {"line1", nil}, {"line2", nil}, {"postal_code", nil}, {"state", nil}}
}

// newPaymentMethod stores a fresh card PaymentMethod on the calling account.
func (c *call) newPaymentMethod(tc *testCard) *PaymentMethod {
	pm := &PaymentMethod{
		Meta:   Meta{ID: c.st.newID("pm"), Acct: c.acct, Created: c.now},
		Number: tc.Number, ExpMonth: 12, ExpYear: int64(timeYear(c.now) + 3),
	}
	c.st.put(pm)
	return pm
}

func timeYear(unix int64) int { return 1970 + int(unix/31556952) }

// paymentMethodFor resolves a payment_method parameter: an id on the calling
// account, or a pm_card_… test token, which makes a new PaymentMethod as
// Stripe does.
func (c *call) paymentMethodFor(id, param string) (*PaymentMethod, *Error) {
	if tc, ok := cardsByToken[id]; ok {
		return c.newPaymentMethod(tc), nil
	}
	return get[*PaymentMethod](c.st, c.acct, id, "PaymentMethod", param)
}

// checkPaymentMethod validates a payment_method parameter without creating
// anything, so handlers can validate before they change state.
func (c *call) checkPaymentMethod(id, param string) *Error {
	if _, ok := cardsByToken[id]; ok {
		return nil
	}
	_, err := get[*PaymentMethod](c.st, c.acct, id, "PaymentMethod", param)
	return err
}

func handlePaymentMethodCreate(c *call) (any, *Error) {
	if c.p.has("payment_method") || c.p.has("customer") {
		return c.clonePaymentMethod()
	}
	typ := c.p.required("type")
	number, hasNumber := c.p.str("card", "number")
	token, hasToken := c.p.str("card", "token")
	expMonth, _ := c.p.integer("card", "exp_month")
	expYear, _ := c.p.integer("card", "exp_year")
	c.p.ignore("card") // cvc and anything else under card
	name, _ := c.p.str("billing_details", "name")
	email, _ := c.p.str("billing_details", "email")
	c.p.ignore("billing_details", "allow_redisplay")
	md := c.p.metadata(nil)
	if typ != "" && typ != "card" {
		c.p.fail(invalidRequest("type", "The emulator supports only type=card, not %s.", typ))
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	var tc *testCard
	switch {
	case hasToken:
		num, ok := tokenCards[token]
		if !ok {
			return nil, noSuch("token", "card[token]", token)
		}
		tc = cardsByNumber[num]
	case hasNumber:
		num := strings.ReplaceAll(number, " ", "")
		var ok bool
		if !luhnValid(num) {
			return nil, &Error{Status: 402, Type: ErrorTypeCard, Code: "incorrect_number", Param: "card[number]",
				Message: "Your card number is incorrect."}
		}
		if tc, ok = cardsByNumber[num]; !ok {
			return nil, &Error{Status: 402, Type: ErrorTypeCard, Code: "card_declined", DeclineCode: "test_mode_live_card", Param: "card[number]",
				Message: "Your card was declined. Your request was in test mode, but used a non test (live) card. For a list of valid test cards, visit: https://stripe.com/docs/testing."}
		}
	default:
		return nil, missingParam("card")
	}
	pm := c.newPaymentMethod(tc)
	if expMonth > 0 {
		pm.ExpMonth = expMonth
	}
	if expYear > 0 {
		pm.ExpYear = expYear
	}
	pm.BillingName, pm.BillingEmail, pm.Metadata = name, email, md
	return pm, nil
}

// clonePaymentMethod copies a platform customer's card onto the connected
// account named by Stripe-Account. The clone comes back unattached, as
// Stripe's "share payment methods across multiple accounts" guide shows: it
// can be attached to a customer on the connected account afterwards.
func (c *call) clonePaymentMethod() (any, *Error) {
	pmID := c.p.required("payment_method")
	cusID, _ := c.p.str("customer")
	c.p.ignore("type")
	md := c.p.metadata(nil)
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if c.acct == c.platform {
		if cusID != "" {
			return nil, invalidRequest("customer", "The customer parameter can only be used with a Stripe-Account header to clone a PaymentMethod onto a connected account.")
		}
		return nil, invalidRequest("payment_method", "The payment_method parameter can only be used with a Stripe-Account header to clone a PaymentMethod onto a connected account.")
	}
	src, err := get[*PaymentMethod](c.st, c.platform, pmID, "PaymentMethod", "payment_method")
	if err != nil {
		return nil, err
	}
	if cusID != "" {
		if _, err := get[*Customer](c.st, c.platform, cusID, "customer", "customer"); err != nil {
			return nil, err
		}
		if src.Customer != cusID {
			return nil, invalidRequest("payment_method", "The payment method %s does not belong to the customer %s.", pmID, cusID)
		}
	} else if src.Customer != "" {
		return nil, missingParam("customer")
	}
	pm := c.newPaymentMethod(src.card())
	pm.ExpMonth, pm.ExpYear = src.ExpMonth, src.ExpYear
	pm.BillingName, pm.BillingEmail = src.BillingName, src.BillingEmail
	pm.SetUpOffSession = src.SetUpOffSession
	pm.Metadata = md
	return pm, nil
}

// handlePaymentMethodRetrieve answers a PaymentMethod of the calling
// account. A pm_card_… test id stands for a PaymentMethod here as wherever
// a PaymentMethod is taken: retrieving it makes a new, unattached one with
// its own pm_ id each time, which can then be attached or paid with.
func handlePaymentMethodRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.paymentMethodFor(c.r.PathValue("id"), "payment_method")
}

// handleCustomerPaymentMethodRetrieve finds a PaymentMethod only if it is
// attached to the customer in the path.
func handleCustomerPaymentMethodRetrieve(c *call) (any, *Error) {
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	cu, err := c.customerFor(c.r.PathValue("customer"), "customer")
	if err != nil {
		return nil, err
	}
	pm, err := get[*PaymentMethod](c.st, c.acct, c.r.PathValue("id"), "PaymentMethod", "payment_method")
	if err != nil || pm.Customer != cu.ID {
		return nil, noSuch("PaymentMethod", "payment_method", c.r.PathValue("id"))
	}
	return pm, nil
}

func handlePaymentMethodUpdate(c *call) (any, *Error) {
	pm, err := get[*PaymentMethod](c.st, c.acct, c.r.PathValue("id"), "PaymentMethod", "payment_method")
	if err != nil {
		return nil, err
	}
	md := c.p.metadata(pm.Metadata)
	name, hasName := c.p.str("billing_details", "name")
	email, hasEmail := c.p.str("billing_details", "email")
	c.p.ignore("billing_details", "allow_redisplay")
	expMonth, hasMonth := c.p.integer("card", "exp_month")
	expYear, hasYear := c.p.integer("card", "exp_year")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	pm.Metadata = md
	if hasName {
		pm.BillingName = name
	}
	if hasEmail {
		pm.BillingEmail = email
	}
	if hasMonth {
		pm.ExpMonth = expMonth
	}
	if hasYear {
		pm.ExpYear = expYear
	}
	c.emit("payment_method.updated", pm)
	return pm, nil
}

// handlePaymentMethodAttach attaches a PaymentMethod, or a pm_card_… test
// PaymentMethod (which makes a new one, as Stripe's docs do with
// pm_card_visa), to a customer. Declining test cards cannot be attached.
func handlePaymentMethodAttach(c *call) (any, *Error) {
	cusID := c.p.required("customer")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	if err := c.checkPaymentMethod(id, "payment_method"); err != nil {
		return nil, err
	}
	cu, err := c.customerFor(cusID, "customer")
	if err != nil {
		return nil, err
	}
	pm, _ := c.paymentMethodFor(id, "payment_method")
	if pm.Customer == cu.ID {
		return pm, nil
	}
	if pm.Customer != "" {
		return nil, invalidRequest("", "The payment method you provided has already been attached to a customer.")
	}
	if tc := pm.card(); tc.Behavior == cardDeclines {
		e := tc.decline()
		e.PaymentMethod = pm
		return nil, e
	}
	pm.Customer = cu.ID
	c.emit("payment_method.attached", pm)
	return pm, nil
}

func handlePaymentMethodDetach(c *call) (any, *Error) {
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	pm, err := get[*PaymentMethod](c.st, c.acct, c.r.PathValue("id"), "PaymentMethod", "payment_method")
	if err != nil {
		return nil, err
	}
	if pm.Customer == "" {
		return nil, invalidRequest("", "The payment method %s is not attached to a customer and cannot be detached.", pm.ID)
	}
	pm.Customer = ""
	c.emit("payment_method.detached", pm)
	return pm, nil
}

func handlePaymentMethodList(c *call) (any, *Error) {
	cusID, _ := c.p.str("customer")
	if v := c.r.PathValue("customer"); v != "" {
		cusID = v
	}
	typ, _ := c.p.str("type")
	if typ != "" && typ != "card" {
		return obj{{"object", "list"}, {"data", []any{}}, {"has_more", false}, {"url", "/v1/payment_methods"}}, c.p.finish()
	}
	if cusID != "" {
		if _, err := c.customerFor(cusID, "customer"); err != nil {
			return nil, err
		}
	}
	url := "/v1/payment_methods"
	if c.r.PathValue("customer") != "" {
		url = "/v1/customers/" + cusID + "/payment_methods"
	}
	return c.listPage("payment_method", url, c.st.Lists[listKey{c.acct, "payment_method"}], func(o object) bool {
		pm := o.(*PaymentMethod)
		if cusID == "" {
			return pm.Customer != ""
		}
		return pm.Customer == cusID
	})
}
