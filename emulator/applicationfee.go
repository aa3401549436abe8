package emulator

// ApplicationFee is the platform's fee on a connected account's charge. It
// lives on the platform; Account is the connected account that paid it.
type ApplicationFee struct {
	Meta
	Account        string
	Amount         int64
	AmountRefunded int64
	Currency       string
	Charge         string
	Originating    string
	BalanceTxn     string
}

func (f *ApplicationFee) render(st *state) obj {
	var refunds []any
	for _, o := range st.Lists[listKey{f.Acct, "fee_refund"}] {
		if r := o.(*FeeRefund); r.Fee == f.ID {
			refunds = append([]any{r.render(st)}, refunds...)
		}
	}
	if refunds == nil {
		refunds = []any{}
	}
	return obj{
		{"id", f.ID}, {"object", "application_fee"},
		{"account", ref(f.Account)}, {"amount", f.Amount}, {"amount_refunded", f.AmountRefunded},
		{"application", "ca_emulator"}, {"balance_transaction", ref(f.BalanceTxn)}, {"charge", ref(f.Charge)},
		{"created", f.Created}, {"currency", f.Currency}, {"fee_source", obj{{"charge", f.Charge}, {"type", "charge"}}},
		{"livemode", false}, {"originating_transaction", ref(f.Originating)},
		{"refunded", f.AmountRefunded > 0 && f.AmountRefunded == f.Amount},
		{"refunds", obj{{"object", "list"}, {"data", refunds}, {"has_more", false}, {"total_count", len(refunds)},
			{"url", "/v1/application_fees/" + f.ID + "/refunds"}}},
	}
}

// FeeRefund returns (part of) an application fee to the connected account.
type FeeRefund struct {
	Meta
	Amount     int64
	Currency   string
	Fee        string
	Metadata   Metadata
	BalanceTxn string
}

func (r *FeeRefund) render(st *state) obj {
	return obj{
		{"id", r.ID}, {"object", "fee_refund"},
		{"amount", r.Amount}, {"balance_transaction", ref(r.BalanceTxn)}, {"created", r.Created},
		{"currency", r.Currency}, {"fee", ref(r.Fee)}, {"metadata", r.Metadata.orEmpty()},
	}
}

// newApplicationFee books the platform's fee on charge ch (owned by payer).
func (c *call) newApplicationFee(ch *Charge, payer, originating string, amount int64) *ApplicationFee {
	f := &ApplicationFee{
		Meta:    Meta{ID: c.st.newID("fee"), Acct: c.platform, Created: c.now},
		Account: payer, Amount: amount, Currency: ch.Currency, Charge: ch.ID, Originating: originating,
	}
	f.BalanceTxn = c.addBT(c.platform, BTApplicationFee, amount, 0, 0, ch.Currency, f.ID, ch.AvailableOn).ID
	c.st.put(f)
	c.emit("application_fee.created", f)
	return f
}

// refundFee returns amount of fee f to the connected account that paid it.
func (c *call) refundFee(f *ApplicationFee, amount int64, md Metadata) *FeeRefund {
	r := &FeeRefund{
		Meta:   Meta{ID: c.st.newID("fr"), Acct: f.Acct, Created: c.now},
		Amount: amount, Currency: f.Currency, Fee: f.ID, Metadata: md,
	}
	r.BalanceTxn = c.addBT(f.Acct, BTApplicationFeeRefund, -amount, 0, 0, f.Currency, r.ID, c.now).ID
	c.addBT(f.Account, BTApplicationFeeRefund, amount, 0, 0, f.Currency, r.ID, c.now)
	f.AmountRefunded += amount
	c.st.put(r)
	c.emit("application_fee.refunded", f)
	return r
}

func (c *call) fee(id, param string) (*ApplicationFee, *Error) {
	return get[*ApplicationFee](c.st, c.acct, id, "application fee", param)
}

func handleApplicationFeeRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.fee(c.r.PathValue("id"), "id")
}

func handleApplicationFeeList(c *call) (any, *Error) {
	charge, _ := c.p.str("charge")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("application_fee", "/v1/application_fees", c.st.Lists[listKey{c.acct, "application_fee"}], func(o object) bool {
		f := o.(*ApplicationFee)
		return created(f.Created) && (charge == "" || f.Charge == charge || f.Originating == charge)
	})
}

func handleFeeRefundCreate(c *call) (any, *Error) {
	f, err := c.fee(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, err
	}
	amount, hasAmount := c.p.integer("amount")
	md := c.p.metadata(nil)
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	left := f.Amount - f.AmountRefunded
	if !hasAmount {
		amount = left
	}
	if amount <= 0 || amount > left {
		return nil, invalidRequest("amount", "You cannot refund more than the %d %s remaining on application fee %s.", left, f.Currency, f.ID)
	}
	return c.refundFee(f, amount, md), nil
}

func handleFeeRefundList(c *call) (any, *Error) {
	f, err := c.fee(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, err
	}
	return c.listPage("fee_refund", "/v1/application_fees/"+f.ID+"/refunds", c.st.Lists[listKey{c.acct, "fee_refund"}], func(o object) bool {
		return o.(*FeeRefund).Fee == f.ID
	})
}

func handleFeeRefundRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	r, err := get[*FeeRefund](c.st, c.acct, c.r.PathValue("rid"), "fee refund", "id")
	if err != nil || r.Fee != c.r.PathValue("id") {
		return nil, noSuch("fee refund", "id", c.r.PathValue("rid"))
	}
	return r, nil
}
