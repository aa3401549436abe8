package emulator

import (
	"encoding/gob"
	"sort"
	"time"
)

func init() { gob.Register(&Payout{}) }

// PayoutStatus is a payout's status.
type PayoutStatus string

// Payout statuses: pending until submitted to the bank, then in_transit
// until it arrives (paid) or the bank returns it (failed); only a pending
// manual payout can be canceled.
const (
	PayoutPending   PayoutStatus = "pending"
	PayoutInTransit PayoutStatus = "in_transit"
	PayoutPaid      PayoutStatus = "paid"
	PayoutFailed    PayoutStatus = "failed"
	PayoutCanceled  PayoutStatus = "canceled"
)

// Payout moves funds from an account's available balance to one of its
// bank accounts. A payout made at any time of a UTC day is submitted to the
// bank (in_transit) at the start of the next day and arrives at the start
// of the day after: two days, as Stripe's standard payouts in the US take
// two business days (the emulator has no weekends or holidays).
type Payout struct {
	Meta
	Amount              int64
	Currency            string
	ArrivalDate         int64
	Automatic           bool
	Description         string
	Destination         string
	StatementDescriptor string
	Status              PayoutStatus
	SubmitAt            int64
	BalanceTxn          string
	FailureTxn          string
	FailureCode         string
	Metadata            Metadata
}

// payoutFailures are Stripe's messages for the failure codes its test bank
// accounts produce (docs.stripe.com/api/payouts/failures).
var payoutFailures = map[string]string{
	"account_closed": "The bank account has been closed.",
	"debit_not_authorized": "Debit transactions are not approved on the bank account. (Stripe requires bank accounts " +
		"to be set up for both credit and debit payouts.)",
	"insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
	"invalid_currency": "The bank was unable to process this payout because of its currency. This is probably " +
		"because the bank account cannot accept payments in that currency.",
	"no_account": "The bank account details on file are probably incorrect. No bank account could be located with those details.",
}

func (p *Payout) render(st *state) obj {
	reconciliation := "not_applicable"
	if p.Automatic {
		reconciliation = "in_progress"
		if p.Status == PayoutPaid {
			reconciliation = "completed"
		}
	}
	trace := "unsupported"
	if p.Status == PayoutPending || p.Status == PayoutInTransit {
		trace = "pending"
	}
	var failureMsg any
	if p.FailureCode != "" {
		failureMsg = payoutFailures[p.FailureCode]
	}
	return obj{
		{"id", p.ID}, {"object", "payout"},
		{"amount", p.Amount}, {"application_fee", nil}, {"application_fee_amount", nil},
		{"arrival_date", p.ArrivalDate}, {"automatic", p.Automatic}, {"balance_transaction", ref(p.BalanceTxn)},
		{"created", p.Created}, {"currency", p.Currency}, {"description", strOrNil(p.Description)},
		{"destination", ref(p.Destination)}, {"failure_balance_transaction", ref(p.FailureTxn)},
		{"failure_code", strOrNil(p.FailureCode)}, {"failure_message", failureMsg}, {"livemode", false},
		{"metadata", p.Metadata.orEmpty()}, {"method", "standard"}, {"original_payout", nil},
		{"payout_method", nil}, {"reconciliation_status", reconciliation}, {"reversed_by", nil},
		{"source_type", "card"}, {"statement_descriptor", strOrNil(p.StatementDescriptor)},
		{"status", string(p.Status)}, {"trace_id", obj{{"status", trace}, {"value", nil}}},
		{"type", "bank_account"},
	}
}

// dueJobs queues the payout's next step.
func (p *Payout) dueJobs(sc *schedule) {
	switch p.Status {
	case PayoutPending:
		sc.add(job{At: p.SubmitAt, Kind: jobPayoutSubmit, ID: p.ID})
	case PayoutInTransit:
		sc.add(job{At: p.ArrivalDate, Kind: jobPayoutArrive, ID: p.ID})
	}
}

// newPayout books a payout of amount from acct's available balance to ba.
func (c *call) newPayout(acct string, amount int64, ba *BankAccount, automatic bool, desc, stmt string, md Metadata) *Payout {
	p := &Payout{
		Meta:   Meta{ID: c.st.newID("po"), Acct: acct, Created: c.now},
		Amount: amount, Currency: ba.Currency, Automatic: automatic, Description: desc,
		Destination: ba.ID, StatementDescriptor: stmt, Status: PayoutPending, Metadata: md,
		SubmitAt: nextDayStart(c.now), ArrivalDate: nextDayStart(c.now) + 86400,
	}
	bt := c.addBT(acct, BTPayout, -amount, 0, 0, ba.Currency, p.ID, c.now)
	bt.Description = "STRIPE PAYOUT"
	p.BalanceTxn = bt.ID
	c.st.put(p)
	p.dueJobs(c.st.sched)
	c.emit("payout.created", p)
	return p
}

// returnPayout books the funds of a failed or canceled payout back into
// the available balance.
func (c *call) returnPayout(p *Payout, typ BTType) {
	bt := c.addBT(p.Acct, typ, p.Amount, 0, 0, p.Currency, p.ID, c.now)
	bt.Description = "Payout reversal for " + p.ID
	p.FailureTxn = bt.ID
}

// submitPayout sends a pending payout to the bank.
func (c *call) submitPayout(id string) {
	p, ok := c.st.Objects.get(id).(*Payout)
	if !ok || p.Status != PayoutPending {
		return
	}
	p.Status = PayoutInTransit
	p.dueJobs(c.st.sched)
	c.emit("payout.updated", p)
}

// arrivePayout ends a payout in transit: paid, or failed when its bank
// account is one of Stripe's failing test accounts. A failure returns the
// funds and marks the bank account errored, which stops scheduled payouts
// to it, as Stripe does.
func (c *call) arrivePayout(id string) {
	p, ok := c.st.Objects.get(id).(*Payout)
	if !ok || p.Status != PayoutInTransit {
		return
	}
	ba, _ := c.st.Objects.get(p.Destination).(*BankAccount)
	if code := ba.failureCode(); code != "" {
		p.Status, p.FailureCode = PayoutFailed, code
		c.returnPayout(p, BTPayoutFailure)
		ba.Status = "errored"
		c.emit("payout.failed", p)
		return
	}
	p.Status = PayoutPaid
	c.emit("payout.paid", p)
	if p.Automatic {
		c.emit("payout.reconciliation_completed", p)
	}
}

// automaticPayouts pays out, at the start of a UTC day, the available
// balance of every account whose payout schedule falls on that day.
func (c *call) automaticPayouts() {
	for _, a := range c.st.allAccounts() {
		if a.PayoutsEnabled && payoutDay(a, c.now) {
			c.payOut(a)
		}
	}
}

// payOut pays out each currency's available balance to the account's
// default bank account in that currency, and marks the transactions it
// covers with the payout.
func (c *call) payOut(a *Account) {
	avail, _ := c.st.balancesAt(a.ID, c.now)
	currencies := make([]string, 0, len(avail))
	for cur := range avail {
		currencies = append(currencies, cur)
	}
	sort.Strings(currencies)
	for _, cur := range currencies {
		ba := c.defaultBankAccount(a, cur)
		if avail[cur] <= 0 || ba == nil || ba.Status == "errored" {
			continue
		}
		p := c.newPayout(a.ID, avail[cur], ba, true, "STRIPE PAYOUT", "", nil)
		for _, o := range c.st.Lists[listKey{a.ID, "balance_transaction"}] {
			if bt := o.(*BalanceTransaction); bt.Currency == cur && bt.Payout == "" && bt.AvailableOn <= c.now {
				bt.Payout = p.ID
			}
		}
	}
}

// payoutDay reports whether an account's payout schedule pays out on the
// UTC day starting at t: every day (daily, the default), on the weekly
// anchor (Monday unless set), on the monthly anchor (the 1st unless set;
// the last day of shorter months), never when manual.
func payoutDay(a *Account, t int64) bool {
	day := time.Unix(t, 0).UTC()
	switch a.PayoutInterval {
	case "", "daily":
		return true
	case "weekly":
		anchor := a.WeeklyAnchor
		if anchor == "" {
			anchor = "monday"
		}
		return lowerWeekday(day) == anchor
	case "monthly":
		anchor := max(a.MonthlyAnchor, 1)
		last := time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return int64(day.Day()) == min(anchor, int64(last))
	}
	return false
}

func lowerWeekday(t time.Time) string {
	return [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}[t.Weekday()]
}

// allAccounts lists every account, platforms and connected ones, by id.
func (st *state) allAccounts() []*Account {
	var out []*Account
	for k, l := range st.Lists {
		if k.Kind != "account" {
			continue
		}
		for _, o := range l {
			out = append(out, o.(*Account))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *call) payout() (*Payout, *Error) {
	return get[*Payout](c.st, c.acct, c.r.PathValue("id"), "payout", "payout")
}

// handlePayoutCreate makes a manual payout from the available balance.
func handlePayoutCreate(c *call) (any, *Error) {
	amount, hasAmount := c.p.integer("amount")
	if !hasAmount {
		c.p.fail(missingParam("amount"))
	}
	currency := c.p.required("currency")
	desc, _ := c.p.str("description")
	dest, _ := c.p.str("destination")
	method, _ := c.p.enum([]string{"standard", "instant"}, "method")
	sourceType, _ := c.p.enum([]string{"bank_account", "card", "fpx"}, "source_type")
	stmt, _ := c.p.str("statement_descriptor")
	md := c.p.metadata(nil)
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	if amount <= 0 {
		return nil, invalidRequest("amount", "Invalid positive integer")
	}
	if method == "instant" {
		return nil, invalidRequest("method", "Instant payouts need a debit card as destination; the emulator's accounts pay out to bank accounts only.")
	}
	a, ok := c.st.Objects.get(c.acct).(*Account)
	if !ok || !a.PayoutsEnabled {
		return nil, invalidRequestCode("payouts_not_allowed", "", "Payouts have been disabled on this account. Check the account's requirements to see if any additional information needs to be provided.")
	}
	ba, err := c.payoutDestination(a, dest, currency)
	if err != nil {
		return nil, err
	}
	if avail, _ := c.st.balances(c.acct); sourceType != "" && sourceType != "card" || avail[currency] < amount {
		return nil, invalidRequestCode("balance_insufficient", "amount",
			"You have insufficient funds in your Stripe account for this transfer. Your card balance is too low. "+
				"You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).")
	}
	return c.newPayout(c.acct, amount, ba, false, desc, stmt, md), nil
}

// payoutDestination is the bank account a manual payout goes to: the one
// named, or the default one for the currency.
func (c *call) payoutDestination(a *Account, dest, currency string) (*BankAccount, *Error) {
	if dest == "" {
		if ba := c.defaultBankAccount(a, currency); ba != nil {
			return ba, nil
		}
		return nil, invalidRequest("currency", "You do not have any external accounts in that currency (%s).", currency)
	}
	c.bankAccounts(a)
	ba, err := get[*BankAccount](c.st, a.ID, dest, "external account", "destination")
	if err != nil {
		return nil, err
	}
	if ba.Currency != currency {
		return nil, invalidRequest("destination", "The external account %s is in %s, not %s.", ba.ID, ba.Currency, currency)
	}
	return ba, nil
}

func handlePayoutRetrieve(c *call) (any, *Error) {
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	return c.payout()
}

func handlePayoutUpdate(c *call) (any, *Error) {
	p, err := c.payout()
	if err != nil {
		return nil, err
	}
	md := c.p.metadata(p.Metadata)
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	p.Metadata = md
	c.emit("payout.updated", p)
	return p, nil
}

func handlePayoutList(c *call) (any, *Error) {
	status, _ := c.p.str("status")
	dest, _ := c.p.str("destination")
	arrival, err := c.rangeFilter("arrival_date")
	if err != nil {
		return nil, err
	}
	created, err := c.createdFilter()
	if err != nil {
		return nil, err
	}
	return c.listPage("payout", "/v1/payouts", c.st.Lists[listKey{c.acct, "payout"}], func(o object) bool {
		p := o.(*Payout)
		return created(p.Created) && arrival(p.ArrivalDate) && (status == "" || string(p.Status) == status) &&
			(dest == "" || p.Destination == dest)
	})
}

// handlePayoutCancel cancels a pending manual payout; its funds return to
// the available balance. Stripe cannot cancel automatic payouts.
func handlePayoutCancel(c *call) (any, *Error) {
	p, err := c.payout()
	if err != nil {
		return nil, err
	}
	c.p.ignore("expand")
	if err := c.p.finish(); err != nil {
		return nil, err
	}
	switch {
	case p.Automatic:
		return nil, stateError("", "Automatic payouts cannot be canceled (payout %s).", p.ID)
	case p.Status != PayoutPending:
		return nil, stateError("", "Payout %s cannot be canceled: only pending payouts can, and its status is %s.", p.ID, p.Status)
	}
	p.Status = PayoutCanceled
	c.returnPayout(p, BTPayoutCancel)
	c.emit("payout.canceled", p)
	return p, nil
}
