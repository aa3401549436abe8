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
	// BTAdjustment is a dispute's withdrawal or reinstatement of funds.
	BTAdjustment    BTType = "adjustment"
	BTPayout        BTType = "payout"
	BTPayoutCancel  BTType = "payout_cancel"
	BTPayoutFailure BTType = "payout_failure"
)

// reportingCategory is each type's reporting_category; a transaction's
// Category overrides it where one type has several (adjustments).
var reportingCategory = map[BTType]string{
	BTCharge: "charge", BTPayment: "charge", BTRefund: "refund", BTPaymentRefund: "refund",
	BTTransfer: "transfer", BTTransferRefund: "transfer_reversal",
	BTApplicationFee: "platform_earning", BTApplicationFeeRefund: "platform_earning_refund",
	BTAdjustment: "other_adjustment", BTPayout: "payout", BTPayoutCancel: "payout_reversal",
	BTPayoutFailure: "payout_reversal",
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
	// Category is the reporting_category when the type alone does not say
	// it (a dispute's adjustments: dispute, dispute_reversal).
	Category string
	// Payout is the automatic payout that paid these funds out, for
	// GET /v1/balance_transactions?payout=po_….
	Payout string
}

func (bt *BalanceTransaction) net() int64 { return bt.Amount - bt.StripeFee - bt.AppFee }

// dueJobs queues the balance.available announcement of funds that were
// pending when booked.
func (bt *BalanceTransaction) dueJobs(sc *schedule) {
	if bt.AvailableOn > bt.Created && bt.AvailableOn > sc.Through {
		sc.add(job{At: bt.AvailableOn, Kind: jobFundsAvailable, ID: bt.Acct})
	}
}

func (bt *BalanceTransaction) render(st *state) obj {
	status := "pending"
	if bt.AvailableOn <= st.now() {
		status = "available"
	}
	category := bt.Category
	if category == "" {
		category = reportingCategory[bt.Type]
	}
	feeDesc := "Stripe processing fees"
	if bt.Type == BTAdjustment {
		feeDesc = "Dispute fee"
	}
	details := []any{}
	if bt.StripeFee != 0 {
		details = append(details, obj{{"amount", bt.StripeFee}, {"application", nil}, {"currency", bt.Currency},
			{"description", feeDesc}, {"type", "stripe_fee"}})
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
		{"net", bt.net()}, {"reporting_category", category},
		{"source", ref(bt.Source)}, {"status", status}, {"type", string(bt.Type)},
	}
}

// stripeFee is the processing fee on amount in currency: basis points
// rounded half up, plus the fixed part.
func (s *Server) stripeFee(currency string, amount int64) int64 {
	f := s.feeFor(currency)
	return (amount*f.BasisPoints+5000)/10000 + f.Fixed
}

// feeFor is the fee schedule's row for currency.
func (s *Server) feeFor(currency string) Fee {
	if f, ok := s.opts.Fees[currency]; ok {
		return f
	}
	if s.opts.FallbackFee != nil {
		return *s.opts.FallbackFee
	}
	return DefaultFees["usd"]
}

// availableOn is when funds received now become available: the start of the
// UTC day after the configured delay, as Stripe's daily payout rollover does.
func (s *Server) availableOn(now int64) int64 {
	return startOfDay(time.Unix(now, 0).UTC().Add(s.opts.AvailableAfter))
}

// availableOn is when funds booked now on acct become available. An
// account whose settings.payouts.schedule.delay_days was changed from the
// default uses its own delay; the rest use Options.AvailableAfter, which
// may be finer than a day in tests.
func (c *call) availableOn(acct string) int64 {
	if a, ok := c.st.Objects.get(acct).(*Account); ok && a.PayoutDelayDays > 0 && a.PayoutDelayDays != c.s.payoutDelayDays() {
		return startOfDay(time.Unix(c.now, 0).UTC().AddDate(0, 0, int(a.PayoutDelayDays)))
	}
	return c.s.availableOn(c.now)
}

func startOfDay(t time.Time) int64 {
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
	bt.dueJobs(c.st.sched)
	return bt
}

// balances sums an account's transactions into available and pending
// amounts per currency, now.
func (st *state) balances(acct string) (avail, pending map[string]int64) {
	return st.balancesAt(acct, st.now())
}

// balancesAt is balances as they stood at time at (unix seconds): the
// scheduler announces funds at the time they became available, however far
// the clock has since moved.
func (st *state) balancesAt(acct string, at int64) (avail, pending map[string]int64) {
	avail, pending = map[string]int64{}, map[string]int64{}
	for _, o := range st.Lists[listKey{acct, "balance_transaction"}] {
		bt := o.(*BalanceTransaction)
		if bt.Created > at {
			continue
		}
		if bt.AvailableOn <= at {
			avail[bt.Currency] += bt.net()
		} else {
			pending[bt.Currency] += bt.net()
			avail[bt.Currency] += 0
		}
	}
	return avail, pending
}

// Balance is an account's balance at one moment: what GET /v1/balance
// answers and what a balance.available event carries. It is computed from
// the balance transactions, never stored.
type Balance struct {
	Meta
	Available map[string]int64
	Pending   map[string]int64
}

func (b *Balance) render(st *state) obj {
	cur := make([]string, 0, len(b.Available))
	for k := range b.Available {
		cur = append(cur, k)
	}
	sort.Strings(cur)
	amounts := func(m map[string]int64) []any {
		out := []any{}
		for _, k := range cur {
			out = append(out, obj{{"amount", m[k]}, {"currency", k}, {"source_types", obj{{"card", m[k]}}}})
		}
		return out
	}
	return obj{{"object", "balance"}, {"available", amounts(b.Available)}, {"livemode", false}, {"pending", amounts(b.Pending)}}
}

// balanceOf is acct's balance now; an account without transactions shows
// zero in its default currency.
func (st *state) balanceOf(acct string) *Balance {
	return st.balanceAt(acct, st.now())
}

// balanceAt is acct's balance as it stood at time at.
func (st *state) balanceAt(acct string, at int64) *Balance {
	avail, pending := st.balancesAt(acct, at)
	if len(avail) == 0 {
		if a, ok := st.Objects.get(acct).(*Account); ok {
			avail[a.DefaultCurrency] = 0
		}
	}
	return &Balance{Meta: Meta{Acct: acct, Created: at}, Available: avail, Pending: pending}
}

func handleBalanceRetrieve(c *call) (any, *Error) {
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.st.balanceOf(c.acct), nil
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
	payout, _ := c.p.str("payout")
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("balance_transaction", "/v1/balance_transactions", c.st.Lists[listKey{c.acct, "balance_transaction"}], func(o object) bool {
		bt := o.(*BalanceTransaction)
		return created(bt.Created) && (typ == "" || string(bt.Type) == typ) &&
			(source == "" || bt.Source == source) && (currency == "" || bt.Currency == currency) &&
			(payout == "" || bt.Payout == payout)
	})
}
