package emulator

// Refund returns (part of) a captured charge to the customer. Card refunds
// in test mode succeed at once.
type Refund struct {
	Meta
	Amount        int64
	Currency      string
	Charge        string
	PaymentIntent string
	Reason        string
	Metadata      Metadata
	BalanceTxn    string
	Reversal      string // transfer reversal made by reverse_transfer
	FeeRefund     string // fee refund made by refund_application_fee
}

func (r *Refund) render(st *state) obj {
	return obj{
		{"id", r.ID}, {"object", "refund"},
		{"amount", r.Amount}, {"balance_transaction", ref(r.BalanceTxn)}, {"charge", ref(r.Charge)},
		{"created", r.Created}, {"currency", r.Currency},
		{"destination_details", obj{{"card", obj{{"reference_status", "pending"}, {"reference_type", "acquirer_reference_number"}, {"type", "refund"}}}, {"type", "card"}}},
		{"metadata", r.Metadata.orEmpty()}, {"payment_intent", ref(r.PaymentIntent)},
		{"reason", strOrNil(r.Reason)}, {"receipt_number", nil}, {"source_transfer_reversal", nil},
		{"status", "succeeded"}, {"transfer_reversal", ref(r.Reversal)},
	}
}

func handleRefundCreate(c *call) (any, *Error) {
	chID, _ := c.p.str("charge")
	piID, _ := c.p.str("payment_intent")
	amount, hasAmount := c.p.integer("amount")
	reason, _ := c.p.enum([]string{"duplicate", "fraudulent", "requested_by_customer"}, "reason")
	refundFee, _ := c.p.boolean("refund_application_fee")
	reverse, _ := c.p.boolean("reverse_transfer")
	md := c.p.metadata(nil)
	c.p.ignore("instructions_email", "origin", "expand")
	if chID == "" && piID == "" {
		c.p.fail(invalidRequest("charge", "One of the following params should be provided for this request: payment_intent or charge."))
	}
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	ch, err := c.refundableCharge(chID, piID)
	if err != nil {
		return nil, err
	}
	// AmountRefunded includes what a partial capture released.
	left := ch.AmountCaptured - (ch.AmountRefunded - (ch.Amount - ch.AmountCaptured))
	if !hasAmount {
		amount = left
	}
	if amount <= 0 || amount > left {
		return nil, invalidRequestCode("amount_too_large", "amount", "Refund amount (%s) is greater than unrefunded amount on charge (%s)", money(amount, ch.Currency), money(left, ch.Currency))
	}
	if reverse && ch.extra().Transfer == "" {
		return nil, invalidRequest("reverse_transfer", "The charge %s has no transfer to reverse.", ch.ID)
	}
	if refundFee && ch.extra().AppFee == "" {
		return nil, invalidRequest("refund_application_fee", "The charge %s has no application fee to refund.", ch.ID)
	}
	return c.refund(ch, amount, reason, md, refundFee, reverse), nil
}

// refundableCharge finds the captured charge a refund request names.
func (c *call) refundableCharge(chID, piID string) (*Charge, *Error) {
	if piID != "" {
		pi, err := get[*PaymentIntent](c.st, c.acct, piID, "payment_intent", "payment_intent")
		if err != nil {
			return nil, err
		}
		if pi.Status != PISucceeded {
			return nil, invalidRequestCode("charge_not_refundable", "payment_intent", "This PaymentIntent (%s) does not have a successful charge to refund.", pi.ID)
		}
		if chID != "" && chID != pi.LatestCharge {
			return nil, invalidRequest("charge", "The charge %s does not belong to PaymentIntent %s.", chID, pi.ID)
		}
		chID = pi.LatestCharge
	}
	ch, err := get[*Charge](c.st, c.acct, chID, "charge", "charge")
	if err != nil {
		return nil, err
	}
	if ch.Status != ChargeSucceeded || !ch.Captured {
		return nil, invalidRequestCode("charge_not_refundable", "charge", "Charge %s has not been captured and cannot be refunded.", ch.ID)
	}
	if err := c.chargeDisputed(ch); err != nil {
		return nil, err
	}
	return ch, nil
}

// refund books a refund and, when asked, the proportional transfer reversal
// and application fee refund (rounded down; the last refund takes the rest).
func (c *call) refund(ch *Charge, amount int64, reason string, md Metadata, refundFee, reverse bool) *Refund {
	r := &Refund{
		Meta:   Meta{ID: c.st.newID("re"), Acct: ch.Acct, Created: c.now},
		Amount: amount, Currency: ch.Currency, Charge: ch.ID, PaymentIntent: ch.PaymentIntent,
		Reason: reason, Metadata: md,
	}
	r.BalanceTxn = c.addBT(ch.Acct, BTRefund, -amount, 0, 0, ch.Currency, r.ID, c.now).ID
	c.touch(ch)
	ch.AmountRefunded += amount
	full := ch.AmountRefunded == ch.Amount
	if reverse {
		tr := c.st.Objects.get(ch.extra().Transfer).(*Transfer)
		part := proportional(tr.Amount-tr.AmountReversed, tr.Amount, amount, ch.AmountCaptured, full)
		if part > 0 {
			r.Reversal = c.reverse(tr, part, r.ID, nil).ID
		}
	}
	if refundFee {
		f := c.st.Objects.get(ch.extra().AppFee).(*ApplicationFee)
		part := proportional(f.Amount-f.AmountRefunded, f.Amount, amount, ch.AmountCaptured, full)
		if part > 0 {
			r.FeeRefund = c.refundFee(f, part, nil).ID
		}
	}
	c.st.put(r)
	c.emit("refund.created", r)
	c.emit("charge.refunded", ch)
	return r
}

// proportional is the share of total matching amount/captured, never more
// than left; the final refund takes all that is left.
func proportional(left, total, amount, captured int64, final bool) int64 {
	if final {
		return left
	}
	return min(left, total*amount/captured)
}

func handleRefundRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return get[*Refund](c.st, c.acct, c.r.PathValue("id"), "refund", "refund")
}

func handleRefundUpdate(c *call) (any, *Error) {
	r, err := get[*Refund](c.st, c.acct, c.r.PathValue("id"), "refund", "refund")
	if err != nil {
		return nil, err
	}
	md := c.p.metadata(r.Metadata)
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	r.Metadata = md
	c.emit("refund.updated", r)
	return r, nil
}

func handleRefundList(c *call) (any, *Error) {
	chID, _ := c.p.str("charge")
	piID, _ := c.p.str("payment_intent")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("refund", "/v1/refunds", c.st.Lists[listKey{c.acct, "refund"}], func(o object) bool {
		r := o.(*Refund)
		return created(r.Created) && (chID == "" || r.Charge == chID) && (piID == "" || r.PaymentIntent == piID)
	})
}
