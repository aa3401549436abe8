package emulator

import (
	"sort"
	"time"
)

// BTType is a balance transaction's type.
type BTType string

// Balance transaction types the emulator creates.
const (
	BTCharge               BTType = "charge"
	BTPayment              BTType = "payment"
	BTRefund               BTType = "refund"
	BTPaymentRefund        BTType = "payment_refund"
	BTTransfer             BTType = "transfer"
	BTTransferRefund       BTType = "transfer_refund"
	BTApplicationFee       BTType = "application_fee"
	BTApplicationFeeRefund BTType = "application_fee_refund"
)

var reportingCategory = map[BTType]string{
	BTCharge: "charge", BTPayment: "charge", BTRefund: "refund", BTPaymentRefund: "refund",
	BTTransfer: "transfer", BTTransferRefund: "transfer_reversal",
	BTApplicationFee: "platform_earning", BTApplicationFeeRefund: "platform_earning_refund",
}

// BalanceTransaction is one movement of an account's balance. An account's
// balance is the sum of its transactions' net amounts; those whose
// AvailableOn has passed are available, the rest pending.
type BalanceTransaction struct {
	Meta
	Type        BTType
	Amount      int64
	StripeFee   int64
	AppFee      int64
	Currency    string
	Source      string
	AvailableOn int64
	Description string
}

func (bt *BalanceTransaction) net() int64 { return bt.Amount - bt.StripeFee - bt.AppFee }

func (bt *BalanceTransaction) render(st *state) obj {
	status := "pending"
	if bt.AvailableOn <= st.now() {
		status = "available"
	}
	details := []any{}
	if bt.StripeFee != 0 {
		details = append(details, obj{{"amount", bt.StripeFee}, {"application", nil}, {"currency", bt.Currency},
			{"description", "Stripe processing fees"}, {"type", "stripe_fee"}})
	}
	if bt.AppFee != 0 {
		details = append(details, obj{{"amount", bt.AppFee}, {"application", "ca_emulator"}, {"currency", bt.Currency},
			{"description", "Application fee"}, {"type", "application_fee"}})
	}
	return obj{
		{"id", bt.ID}, {"object", "balance_transaction"},
		{"amount", bt.Amount}, {"available_on", bt.AvailableOn}, {"balance_type", "payments"},
		{"created", bt.Created}, {"currency", bt.Currency}, {"description", strOrNil(bt.Description)},
		{"exchange_rate", nil}, {"fee", bt.StripeFee + bt.AppFee}, {"fee_details", details},
		{"net", bt.net()}, {"reporting_category", reportingCategory[bt.Type]},
		{"source", ref(bt.Source)}, {"status", status}, {"type", string(bt.Type)},
	}
}

// stripeFee is the processing fee on amount in currency: basis points
// rounded half up, plus the fixed part.
func (s *Server) stripeFee(currency string, amount int64) int64 {
	f, ok := s.opts.Fees[currency]
	if !ok {
		if s.opts.FallbackFee != nil {
			f = *s.opts.FallbackFee
		} else {
			f = DefaultFees["usd"]
		}
	}
	return (amount*f.BasisPoints+5000)/10000 + f.Fixed
}

// availableOn is when funds received now become available: the start of the
// UTC day after the configured delay, as Stripe's daily payout rollover does.
func (s *Server) availableOn(now int64) int64 {
	t := time.Unix(now, 0).UTC().Add(s.opts.AvailableAfter)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()
}

// addBT records a balance transaction on acct.
func (c *call) addBT(acct string, typ BTType, amount, stripeFee, appFee int64, currency, source string, availableOn int64) *BalanceTransaction {
	bt := &BalanceTransaction{
		Meta: Meta{ID: c.st.newID("txn"), Acct: acct, Created: c.now},
		Type: typ, Amount: amount, StripeFee: stripeFee, AppFee: appFee,
		Currency: currency, Source: source, AvailableOn: availableOn,
	}
	c.st.put(bt)
	return bt
}

// balances sums an account's transactions into available and pending
// amounts per currency.
func (st *state) balances(acct string) (avail, pending map[string]int64) {
	avail, pending = map[string]int64{}, map[string]int64{}
	now := st.now()
	for _, o := range st.Lists[listKey{acct, "balance_transaction"}] {
		bt := o.(*BalanceTransaction)
		if bt.AvailableOn <= now {
			avail[bt.Currency] += bt.net()
		} else {
			pending[bt.Currency] += bt.net()
			avail[bt.Currency] += 0
		}
	}
	return avail, pending
}

func handleBalanceRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	avail, pending := c.st.balances(c.acct)
	if len(avail) == 0 {
		if a, ok := c.st.Objects[c.acct].(*Account); ok {
			avail[a.DefaultCurrency] = 0
		}
	}
	amounts := func(m map[string]int64) []any {
		cur := make([]string, 0, len(avail))
		for k := range avail {
			cur = append(cur, k)
		}
		sort.Strings(cur)
		out := []any{}
		for _, k := range cur {
			out = append(out, obj{{"amount", m[k]}, {"currency", k}, {"source_types", obj{{"card", m[k]}}}})
		}
		return out
	}
	return obj{{"object", "balance"}, {"available", amounts(avail)}, {"livemode", false}, {"pending", amounts(pending)}}, nil
}

func handleBalanceTransactionRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return get[*BalanceTransaction](c.st, c.acct, c.r.PathValue("id"), "balance transaction", "id")
}

func handleBalanceTransactionList(c *call) (any, *Error) {
	typ, _ := c.p.str("type")
	source, _ := c.p.str("source")
	currency, _ := c.p.str("currency")
	c.p.ignore("payout")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("balance_transaction", "/v1/balance_transactions", c.st.Lists[listKey{c.acct, "balance_transaction"}], func(o object) bool {
		bt := o.(*BalanceTransaction)
		return created(bt.Created) && (typ == "" || string(bt.Type) == typ) &&
			(source == "" || bt.Source == source) && (currency == "" || bt.Currency == currency)
	})
}
