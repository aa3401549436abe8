package emulator

// ChargeStatus is a charge's status.
type ChargeStatus string

// Charge statuses.
const (
	ChargeSucceeded ChargeStatus = "succeeded"
	ChargeFailed    ChargeStatus = "failed"
)

// Charge is one attempt to move money from a card, made by a PaymentIntent;
// or, with ID prefix py_, the payment a destination charge's transfer
// creates on the connected account.
type Charge struct {
	Meta
	cow            // events share its versions; call c.touch before changing it
	Amount         int64
	AmountCaptured int64
	AmountRefunded int64
	Currency       string
	Status         ChargeStatus
	Customer       string
	PaymentIntent  string
	PaymentMethod  string
	Description    string
	Metadata       Metadata
	FailureCode    string
	FailureMessage string
	DeclineCode    string
	BalanceTxn     string
	AppFee         string
	AppFeeAmount   int64
	Transfer       string
	TransferDest   string
	TransferAmount int64
	OnBehalfOf     string
	TransferGroup  string
	SourceTransfer string
	AvailableOn    int64 // when this charge's funds become available
	Transferred    int64 // amount sent on by transfers with source_transaction
	Dispute        string
	DisputeDue     int64 // when a dispute test card's dispute opens; 0 once it has
	// The flags come last, together, so that they share one word.
	Captured       bool
	HasAppFee      bool
	HasTransferAmt bool
}

func (ch *Charge) render(st *state) obj {
	var pmd, outcome any
	if pm, ok := st.Objects[ch.PaymentMethod].(*PaymentMethod); ok {
		tc := pm.card()
		pmd = obj{{"card", obj{
			{"amount_authorized", ch.Amount}, {"authorization_code", nil}, {"brand", tc.Brand},
			{"checks", obj{{"address_line1_check", nil}, {"address_postal_code_check", nil}, {"cvc_check", nil}}},
			{"country", tc.Country}, {"exp_month", pm.ExpMonth}, {"exp_year", pm.ExpYear},
			{"fingerprint", pm.fingerprint()}, {"funding", tc.Funding}, {"installments", nil},
			{"last4", tc.Number[len(tc.Number)-4:]}, {"mandate", nil}, {"network", tc.Brand},
			{"network_token", obj{{"used", false}}}, {"network_transaction_id", nil},
			{"regulated_status", "unregulated"}, {"three_d_secure", nil}, {"wallet", nil},
		}}, {"type", "card"}}
	}
	if ch.PaymentIntent != "" {
		outcome = obj{{"advice_code", nil}, {"network_advice_code", nil}, {"network_decline_code", nil},
			{"network_status", "approved_by_network"}, {"reason", nil}, {"risk_level", "normal"}, {"risk_score", 20},
			{"seller_message", "Payment complete."}, {"type", "authorized"}}
		if ch.Status == ChargeFailed {
			outcome = obj{{"advice_code", nil}, {"network_advice_code", nil}, {"network_decline_code", nil},
				{"network_status", "declined_by_network"}, {"reason", strOrNil(ch.DeclineCode)}, {"risk_level", "normal"},
				{"risk_score", 20}, {"seller_message", "The bank did not return any further details with this decline."},
				{"type", "issuer_declined"}}
		}
	}
	var td any
	if ch.TransferDest != "" {
		var amt any
		if ch.HasTransferAmt {
			amt = ch.TransferAmount
		}
		td = obj{{"amount", amt}, {"destination", ref(ch.TransferDest)}}
	}
	var appFeeAmount any
	if ch.HasAppFee {
		appFeeAmount = ch.AppFeeAmount
	}
	o := obj{
		{"id", ch.ID}, {"object", "charge"},
		{"amount", ch.Amount}, {"amount_captured", ch.AmountCaptured}, {"amount_refunded", ch.AmountRefunded},
		{"application", nil}, {"application_fee", ref(ch.AppFee)}, {"application_fee_amount", appFeeAmount},
		{"balance_transaction", ref(ch.BalanceTxn)},
		{"billing_details", obj{{"address", nullAddress()}, {"email", nil}, {"name", nil}, {"phone", nil}, {"tax_id", nil}}},
		{"calculated_statement_descriptor", "EMULATOR"}, {"captured", ch.Captured}, {"created", ch.Created},
		{"currency", ch.Currency}, {"customer", ref(ch.Customer)}, {"description", strOrNil(ch.Description)},
		{"disputed", ch.Dispute != ""}, {"failure_balance_transaction", nil}, {"failure_code", strOrNil(ch.FailureCode)},
		{"failure_message", strOrNil(ch.FailureMessage)}, {"fraud_details", obj{}}, {"livemode", false},
		{"metadata", ch.Metadata.orEmpty()}, {"on_behalf_of", ref(ch.OnBehalfOf)}, {"outcome", outcome},
		{"paid", ch.Status == ChargeSucceeded}, {"payment_intent", ref(ch.PaymentIntent)},
		{"payment_method", strOrNil(ch.PaymentMethod)}, {"payment_method_details", pmd},
		{"receipt_email", nil}, {"receipt_number", nil}, {"receipt_url", nil},
		{"refunded", ch.AmountRefunded > 0 && ch.AmountRefunded == ch.Amount},
		{"review", nil}, {"shipping", nil}, {"source_transfer", ref(ch.SourceTransfer)},
		{"statement_descriptor", nil}, {"statement_descriptor_suffix", nil},
		{"status", string(ch.Status)}, {"transfer_data", td},
		{"transfer_group", strOrNil(ch.TransferGroup)},
	}
	if ch.Transfer != "" { // optional but not nullable in the spec
		o = append(o, field{"transfer", ref(ch.Transfer)})
	}
	return o
}

func handleChargeRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return get[*Charge](c.st, c.acct, c.r.PathValue("id"), "charge", "charge")
}

func handleChargeList(c *call) (any, *Error) {
	cus, _ := c.p.str("customer")
	pi, _ := c.p.str("payment_intent")
	group, _ := c.p.str("transfer_group")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("charge", "/v1/charges", c.st.Lists[listKey{c.acct, "charge"}], func(o object) bool {
		ch := o.(*Charge)
		return created(ch.Created) && (cus == "" || ch.Customer == cus) &&
			(pi == "" || ch.PaymentIntent == pi) && (group == "" || ch.TransferGroup == group)
	})
}

// settle books a captured amount: the balance transaction on the charge's
// account with Stripe's fee, the application fee for the platform, and for
// destination charges the transfer to the connected account.
func (c *call) settle(ch *Charge, amount int64, bypassPending bool) {
	ch.AvailableOn = c.availableOn(ch.Acct)
	if bypassPending {
		ch.AvailableOn = c.now
	}
	fee := c.s.stripeFee(ch.Currency, amount)
	appFee := min(ch.AppFeeAmount, amount) // capped at the captured amount
	direct := ch.Acct != c.platform
	var btAppFee int64
	if direct && ch.HasAppFee {
		btAppFee = appFee
	}
	bt := c.addBT(ch.Acct, BTCharge, amount, fee, btAppFee, ch.Currency, ch.ID, ch.AvailableOn)
	ch.BalanceTxn = bt.ID
	if bypassPending {
		// The funds are available at once (4000 0000 0000 0077), and Stripe
		// announces it as it does funds that waited.
		c.emit("balance.available", c.st.balanceAt(ch.Acct, c.now))
	}
	switch {
	case direct && ch.HasAppFee && appFee > 0:
		ch.AppFee = c.newApplicationFee(ch, ch.Acct, ch.ID, appFee).ID
	case ch.TransferDest != "":
		c.destinationTransfer(ch, amount, appFee)
	}
	c.disputeLater(ch)
}

// destinationTransfer moves a destination charge's funds to the connected
// account. With an application fee the whole amount is transferred and the
// fee comes back to the platform, as Stripe documents for destination
// charges; with transfer_data[amount] only that amount is transferred.
func (c *call) destinationTransfer(ch *Charge, amount, appFee int64) {
	amt := amount
	if ch.HasTransferAmt {
		amt = min(ch.TransferAmount, amount)
	}
	tr := c.newTransfer(amt, ch.Currency, ch.TransferDest, ch.ID, ch.TransferGroup, "", nil, ch.AvailableOn)
	ch.Transfer = tr.ID
	if ch.HasAppFee && appFee > 0 {
		py := c.st.Objects[tr.DestPayment].(*Charge)
		c.touch(py)
		py.AppFeeAmount, py.HasAppFee = appFee, true
		bt := c.st.Objects[py.BalanceTxn].(*BalanceTransaction)
		bt.AppFee = appFee
		fee := c.newApplicationFee(py, py.Acct, ch.ID, appFee)
		py.AppFee, ch.AppFee = fee.ID, fee.ID
	}
}
