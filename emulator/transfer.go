package emulator

// Transfer moves funds from a platform to one of its connected accounts.
// Each transfer creates a payment (py_…) on the destination account.
type Transfer struct {
	Meta
	Amount         int64
	AmountReversed int64
	Currency       string
	Destination    string
	DestPayment    string
	SourceTxn      string
	TransferGroup  string
	Description    string
	Metadata       Metadata
	BalanceTxn     string
}

func (t *Transfer) render(st *state) obj {
	var revs []any
	for _, o := range st.Lists[listKey{t.Acct, "transfer_reversal"}] {
		if r := o.(*TransferReversal); r.Transfer == t.ID {
			revs = append([]any{r.render(st)}, revs...)
		}
	}
	if revs == nil {
		revs = []any{}
	}
	return obj{
		{"id", t.ID}, {"object", "transfer"},
		{"amount", t.Amount}, {"amount_reversed", t.AmountReversed},
		{"balance_transaction", ref(t.BalanceTxn)}, {"created", t.Created}, {"currency", t.Currency},
		{"description", strOrNil(t.Description)}, {"destination", ref(t.Destination)},
		{"destination_payment", ref(t.DestPayment)}, {"livemode", false}, {"metadata", t.Metadata.orEmpty()},
		{"reversals", obj{{"object", "list"}, {"data", revs}, {"has_more", false}, {"total_count", len(revs)},
			{"url", "/v1/transfers/" + t.ID + "/reversals"}}},
		{"reversed", t.AmountReversed > 0 && t.AmountReversed == t.Amount},
		{"source_transaction", ref(t.SourceTxn)}, {"source_type", "card"},
		{"transfer_group", strOrNil(t.TransferGroup)},
	}
}

// TransferReversal returns (part of) a transfer to the platform.
type TransferReversal struct {
	Meta
	Amount     int64
	Currency   string
	Transfer   string
	Refund     string // the refund that caused it (reverse_transfer), if any
	Metadata   Metadata
	BalanceTxn string
}

func (r *TransferReversal) render(st *state) obj {
	return obj{
		{"id", r.ID}, {"object", "transfer_reversal"},
		{"amount", r.Amount}, {"balance_transaction", ref(r.BalanceTxn)}, {"created", r.Created},
		{"currency", r.Currency}, {"destination_payment_refund", nil}, {"metadata", r.Metadata.orEmpty()},
		{"source_refund", ref(r.Refund)}, {"transfer", ref(r.Transfer)},
	}
}

// newTransfer books a transfer from the calling platform to dest: the
// platform's debit, and the destination's payment and its credit. Funds
// become available on both sides at availableOn.
func (c *call) newTransfer(amount int64, currency, dest, sourceTxn, group, desc string, md Metadata, availableOn int64) *Transfer {
	tr := &Transfer{
		Meta:   Meta{ID: c.st.newID("tr"), Acct: c.platform, Created: c.now},
		Amount: amount, Currency: currency, Destination: dest, SourceTxn: sourceTxn,
		TransferGroup: group, Description: desc, Metadata: md,
	}
	py := &Charge{
		Meta:   Meta{ID: c.st.newID("py"), Acct: dest, Created: c.now},
		Amount: amount, AmountCaptured: amount, Currency: currency, Status: ChargeSucceeded, Captured: true,
		AvailableOn: availableOn,
	}
	py.setExtra(chargeExtra{SourceTransfer: tr.ID})
	tr.DestPayment = py.ID
	tr.BalanceTxn = c.addBT(c.platform, BTTransfer, -amount, 0, 0, currency, tr.ID, availableOn).ID
	py.BalanceTxn = c.addBT(dest, BTPayment, amount, 0, 0, currency, py.ID, availableOn).ID
	c.st.put(tr)
	c.st.put(py)
	c.emit("transfer.created", tr)
	return tr
}

// reverse books a reversal of amount of tr.
func (c *call) reverse(tr *Transfer, amount int64, refund string, md Metadata) *TransferReversal {
	r := &TransferReversal{
		Meta:   Meta{ID: c.st.newID("trr"), Acct: tr.Acct, Created: c.now},
		Amount: amount, Currency: tr.Currency, Transfer: tr.ID, Refund: refund, Metadata: md,
	}
	r.BalanceTxn = c.addBT(tr.Acct, BTTransferRefund, amount, 0, 0, tr.Currency, r.ID, c.now).ID
	c.addBT(tr.Destination, BTPaymentRefund, -amount, 0, 0, tr.Currency, tr.DestPayment, c.now)
	if py, ok := c.st.Objects.get(tr.DestPayment).(*Charge); ok {
		c.touch(py)
		py.AmountRefunded += amount
	}
	tr.AmountReversed += amount
	c.st.put(r)
	if tr.AmountReversed == tr.Amount {
		c.emit("transfer.reversed", tr)
	} else {
		c.emit("transfer.updated", tr)
	}
	return r
}

func handleTransferCreate(c *call) (any, *Error) {
	amount, hasAmount := c.p.integer("amount")
	if !hasAmount {
		c.p.fail(missingParam("amount"))
	}
	currency := c.p.required("currency")
	dest := c.p.required("destination")
	source, _ := c.p.str("source_transaction")
	group, _ := c.p.str("transfer_group")
	desc, _ := c.p.str("description")
	md := c.p.metadata(nil)
	c.p.ignore("source_type", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if c.acct != c.platform {
		return nil, invalidRequest("destination", "Transfers can only be created by a platform to its connected accounts.")
	}
	if amount <= 0 {
		return nil, invalidRequest("amount", "Invalid positive integer")
	}
	a, err := c.connectedAccount(dest, "destination")
	if err != nil {
		return nil, err
	}
	if a.capabilityStatus("transfers") != "active" {
		return nil, noTransfersCapability()
	}
	availableOn := c.now
	if source != "" {
		ch, err := get[*Charge](c.st, c.platform, source, "charge", "source_transaction")
		if err != nil {
			return nil, err
		}
		if ch.Status != ChargeSucceeded || !ch.Captured {
			return nil, invalidRequest("source_transaction", "The source_transaction %s has not succeeded.", ch.ID)
		}
		if ch.Currency != currency {
			return nil, invalidRequest("currency", "The currency of source_transaction's balance transaction (%s) must be the same as the transfer currency (%s).", ch.Currency, currency)
		}
		// AmountRefunded includes what a partial capture released.
		refunded := ch.AmountRefunded - (ch.Amount - ch.AmountCaptured)
		if left := ch.AmountCaptured - refunded - ch.extra().Transferred; amount > left {
			return nil, invalidRequestCode("balance_insufficient", "amount", "Insufficient funds in source_transaction %s: only %d %s can be transferred.", ch.ID, left, currency)
		}
		c.touch(ch)
		ch.edit().Transferred += amount
		availableOn = ch.AvailableOn
	} else {
		avail, _ := c.st.balances(c.platform)
		if avail[currency] < amount {
			return nil, invalidRequestCode("balance_insufficient", "",
				"You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card.")
		}
	}
	return c.newTransfer(amount, currency, dest, source, group, desc, md, availableOn), nil
}

// noTransfersCapability is Stripe's answer to a transfer to an account
// whose transfers capability is not active: a 400 with this code and
// message, and no param, as Stripe answers POST /v1/transfers. (A
// destination charge to such an account is refused by checkCharging.)
func noTransfersCapability() *Error {
	return invalidRequestCode("insufficient_capabilities_for_transfer", "",
		"Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments")
}

func (c *call) transfer(id, param string) (*Transfer, *Error) {
	return get[*Transfer](c.st, c.acct, id, "transfer", param)
}

func handleTransferRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.transfer(c.r.PathValue("id"), "transfer")
}

func handleTransferUpdate(c *call) (any, *Error) {
	tr, err := c.transfer(c.r.PathValue("id"), "transfer")
	if err != nil {
		return nil, err
	}
	md := c.p.metadata(tr.Metadata)
	desc, hasDesc := c.p.str("description")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	tr.Metadata = md
	if hasDesc {
		tr.Description = desc
	}
	c.emit("transfer.updated", tr)
	return tr, nil
}

func handleTransferList(c *call) (any, *Error) {
	dest, _ := c.p.str("destination")
	group, _ := c.p.str("transfer_group")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("transfer", "/v1/transfers", c.st.Lists[listKey{c.acct, "transfer"}], func(o object) bool {
		t := o.(*Transfer)
		return created(t.Created) && (dest == "" || t.Destination == dest) && (group == "" || t.TransferGroup == group)
	})
}

func handleTransferReversalCreate(c *call) (any, *Error) {
	tr, err := c.transfer(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, err
	}
	amount, hasAmount := c.p.integer("amount")
	md := c.p.metadata(nil)
	c.p.ignore("description", "refund_application_fee", "expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	left := tr.Amount - tr.AmountReversed
	if !hasAmount {
		amount = left
	}
	if amount <= 0 || amount > left {
		return nil, invalidRequest("amount", "You cannot reverse more than the %d %s remaining on transfer %s.", left, tr.Currency, tr.ID)
	}
	return c.reverse(tr, amount, "", md), nil
}

func handleTransferReversalList(c *call) (any, *Error) {
	tr, err := c.transfer(c.r.PathValue("id"), "id")
	if err != nil {
		return nil, err
	}
	return c.listPage("transfer_reversal", "/v1/transfers/"+tr.ID+"/reversals", c.st.Lists[listKey{c.acct, "transfer_reversal"}], func(o object) bool {
		return o.(*TransferReversal).Transfer == tr.ID
	})
}

func handleTransferReversalRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	r, err := get[*TransferReversal](c.st, c.acct, c.r.PathValue("rid"), "transfer reversal", "id")
	if err != nil || r.Transfer != c.r.PathValue("id") {
		return nil, noSuch("transfer reversal", "id", c.r.PathValue("rid"))
	}
	return r, nil
}
