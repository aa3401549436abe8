package emulator

import "reflect"

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
	PaymentIntent  string
	PaymentMethod  string
	BalanceTxn     string
	AvailableOn    int64 // when this charge's funds become available
	// x holds the fields most charges leave empty: read them with extra,
	// change them with edit. Snapshot files store them with the rest
	// (chargeWire).
	x        *chargeExtra
	Captured bool
}

// chargeExtra is the part of a Charge that most charges leave empty, kept
// apart so that such a charge is half the size. It is never changed once
// a charge points to it (versions of the charge may share it): edit gives
// the charge a new one.
type chargeExtra struct {
	Customer       string
	Description    string
	Metadata       Metadata
	FailureCode    string
	FailureMessage string
	DeclineCode    string
	AppFee         string
	AppFeeAmount   int64
	Transfer       string
	TransferDest   string
	TransferAmount int64
	OnBehalfOf     string
	TransferGroup  string
	SourceTransfer string
	Transferred    int64 // amount sent on by transfers with source_transaction
	Dispute        string
	DisputeDue     int64 // when a dispute test card's dispute opens; 0 once it has
	HasAppFee      bool
	HasTransferAmt bool
}

// extra returns the charge's rarely set fields, as a value: to change one,
// use edit.
func (ch *Charge) extra() chargeExtra {
	if ch.x == nil {
		return chargeExtra{}
	}
	return *ch.x
}

// setExtra sets the charge's rarely set fields, keeping none when all are
// empty.
func (ch *Charge) setExtra(x chargeExtra) {
	ch.x = nil
	if !reflect.ValueOf(x).IsZero() {
		ch.x = &x
	}
}

// edit gives the charge its own copy of its rarely set fields and returns
// it to be changed. Call it for each change (ch.edit().Dispute = id), after
// c.touch: a copy edit returned before may since be shared.
func (ch *Charge) edit() *chargeExtra {
	x := new(chargeExtra)
	if ch.x != nil {
		*x = *ch.x
	}
	ch.x = x
	return x
}

func (ch *Charge) render(st *state) obj {
	x := ch.extra()
	var pmd, outcome any
	if pm, ok := st.Objects.get(ch.PaymentMethod).(*PaymentMethod); ok {
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
				{"network_status", "declined_by_network"}, {"reason", strOrNil(x.DeclineCode)}, {"risk_level", "normal"},
				{"risk_score", 20}, {"seller_message", "The bank did not return any further details with this decline."},
				{"type", "issuer_declined"}}
		}
	}
	var td any
	if x.TransferDest != "" {
		var amt any
		if x.HasTransferAmt {
			amt = x.TransferAmount
		}
		td = obj{{"amount", amt}, {"destination", ref(x.TransferDest)}}
	}
	var appFeeAmount any
	if x.HasAppFee {
		appFeeAmount = x.AppFeeAmount
	}
	o := obj{
		{"id", ch.ID}, {"object", "charge"},
		{"amount", ch.Amount}, {"amount_captured", ch.AmountCaptured}, {"amount_refunded", ch.AmountRefunded},
		{"application", nil}, {"application_fee", ref(x.AppFee)}, {"application_fee_amount", appFeeAmount},
		{"balance_transaction", ref(ch.BalanceTxn)},
		{"billing_details", obj{{"address", nullAddress()}, {"email", nil}, {"name", nil}, {"phone", nil}, {"tax_id", nil}}},
		{"calculated_statement_descriptor", "EMULATOR"}, {"captured", ch.Captured}, {"created", ch.Created},
		{"currency", ch.Currency}, {"customer", ref(x.Customer)}, {"description", strOrNil(x.Description)},
		{"disputed", x.Dispute != ""}, {"failure_balance_transaction", nil}, {"failure_code", strOrNil(x.FailureCode)},
		{"failure_message", strOrNil(x.FailureMessage)}, {"fraud_details", obj{}}, {"livemode", false},
		{"metadata", x.Metadata.orEmpty()}, {"on_behalf_of", ref(x.OnBehalfOf)}, {"outcome", outcome},
		{"paid", ch.Status == ChargeSucceeded}, {"payment_intent", ref(ch.PaymentIntent)},
		{"payment_method", strOrNil(ch.PaymentMethod)}, {"payment_method_details", pmd},
		{"receipt_email", nil}, {"receipt_number", nil}, {"receipt_url", nil},
		{"refunded", ch.AmountRefunded > 0 && ch.AmountRefunded == ch.Amount},
		{"review", nil}, {"shipping", nil}, {"source_transfer", ref(x.SourceTransfer)},
		{"statement_descriptor", nil}, {"statement_descriptor_suffix", nil},
		{"status", string(ch.Status)}, {"transfer_data", td},
		{"transfer_group", strOrNil(x.TransferGroup)},
	}
	if x.Transfer != "" { // optional but not nullable in the spec
		o = append(o, field{"transfer", ref(x.Transfer)})
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
		return created(ch.Created) && (cus == "" || ch.extra().Customer == cus) &&
			(pi == "" || ch.PaymentIntent == pi) && (group == "" || ch.extra().TransferGroup == group)
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
	x := ch.extra()
	appFee := min(x.AppFeeAmount, amount) // capped at the captured amount
	direct := ch.Acct != c.platform
	var btAppFee int64
	if direct && x.HasAppFee {
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
	case direct && x.HasAppFee && appFee > 0:
		ch.edit().AppFee = c.newApplicationFee(ch, ch.Acct, ch.ID, appFee).ID
	case x.TransferDest != "":
		c.destinationTransfer(ch, amount, appFee)
	}
	c.disputeLater(ch)
}

// destinationTransfer moves a destination charge's funds to the connected
// account. With an application fee the whole amount is transferred and the
// fee comes back to the platform, as Stripe documents for destination
// charges; with transfer_data[amount] only that amount is transferred.
func (c *call) destinationTransfer(ch *Charge, amount, appFee int64) {
	x := ch.extra()
	amt := amount
	if x.HasTransferAmt {
		amt = min(x.TransferAmount, amount)
	}
	tr := c.newTransfer(amt, ch.Currency, x.TransferDest, ch.ID, x.TransferGroup, "", nil, ch.AvailableOn)
	ch.edit().Transfer = tr.ID
	if x.HasAppFee && appFee > 0 {
		py := c.st.Objects.get(tr.DestPayment).(*Charge)
		c.touch(py)
		px := py.edit()
		px.AppFeeAmount, px.HasAppFee = appFee, true
		bt := c.st.Objects.get(py.BalanceTxn).(*BalanceTransaction)
		bt.AppFee = appFee
		fee := c.newApplicationFee(py, py.Acct, ch.ID, appFee)
		py.edit().AppFee = fee.ID
		ch.edit().AppFee = fee.ID
	}
}
