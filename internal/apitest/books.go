package apitest

import (
	"context"
	"net/http"
	"sort"

	"github.com/stripe/stripe-go/v85"

	"github.com/tenderpay/tender/internal/ledger"
)

// StripeBalances is an account's balance at the emulator per currency,
// pending and available together, with what it paid out ("" is the
// platform's own).
func (e *Env) StripeBalances(acct string) map[string]int64 {
	e.tb.Helper()
	params := &stripe.BalanceRetrieveParams{}
	if acct != "" {
		params.SetStripeAccount(acct)
	}
	sc := e.StripeClient()
	b, err := sc.V1Balance.Retrieve(context.Background(), params)
	if err != nil {
		e.tb.Fatal(err)
	}
	out := map[string]int64{}
	for _, a := range append(b.Pending, b.Available...) {
		if a.Amount != 0 {
			out[string(a.Currency)] += a.Amount
		}
	}
	// Payouts took money out of the balance to the bank. Tender books
	// those it heard of from Stripe's events; one it has not (an Env whose
	// endpoints are not set up) is added back, as if not made.
	list := &stripe.PayoutListParams{}
	if acct != "" {
		list.SetStripeAccount(acct)
	}
	for po, err := range sc.V1Payouts.List(context.Background(), list).All(context.Background()) {
		if err != nil {
			e.tb.Fatal(err)
		}
		known := e.count(`SELECT COUNT(*) FROM payouts WHERE platform_id = $1 AND stripe_payout_id = $2`, e.PlatformID, po.ID) > 0
		if !known && po.Status != stripe.PayoutStatusFailed && po.Status != stripe.PayoutStatusCanceled {
			out[string(po.Currency)] += po.Amount
		}
	}
	for cur, v := range out {
		if v == 0 {
			delete(out, cur)
		}
	}
	return out
}

// CheckBooks asserts what the books must always show: every entry
// balances in each currency, no cause is posted twice, each owner's
// balance (GET /v1/balances) is the sum of its postings, and the ledger's
// balance of the platform and of each merchant's connected account
// (accounts: merchant id → acct_…) equals Stripe's, per currency, to the
// unit.
func (e *Env) CheckBooks(accounts map[string]string) {
	e.tb.Helper()
	if n := e.count(`SELECT COUNT(*) FROM (SELECT e.id, a.currency FROM ledger_entries e JOIN ledger_postings p ON p.platform_id = e.platform_id
		AND p.entry_id = e.id JOIN ledger_accounts a ON a.platform_id = p.platform_id AND a.id = p.account_id WHERE e.platform_id = $1
		GROUP BY e.id, a.currency HAVING SUM(p.amount) <> 0) x`, e.PlatformID); n != 0 {
		e.tb.Errorf("%d entries do not balance", n)
	}
	if n := e.count(`SELECT COUNT(*) - COUNT(DISTINCT cause) FROM ledger_entries WHERE platform_id = $1`, e.PlatformID); n != 0 {
		e.tb.Errorf("%d causes posted twice", n)
	}
	var list struct {
		Data []ledger.BalanceView `json:"data"`
	}
	if r := e.Do("GET", "/v1/balances", nil); r.Status != http.StatusOK {
		e.tb.Fatalf("GET /v1/balances: %d %s", r.Status, r.Body)
	} else {
		r.Decode(e.tb, &list)
	}
	books := map[string]map[string]int64{} // acct ("" the platform) → currency → pending + available
	for _, b := range list.Data {
		acct := ""
		if b.Owner == ledger.OwnerMerchant {
			acct = accounts[*b.Merchant]
		}
		if books[acct] == nil {
			books[acct] = map[string]int64{}
		}
		books[acct][b.Currency] += b.Pending + b.Available
		if b.Gross-b.Fees-b.PaidOut != b.Net {
			e.tb.Errorf("%s %s: gross %d − fees %d − paid out %d is not its net %d", b.Owner, b.Currency, b.Gross, b.Fees, b.PaidOut, b.Net)
		}
		if b.Pending+b.Available != b.Net {
			e.tb.Errorf("%s %s: pending %d + available %d is not its net %d", b.Owner, b.Currency, b.Pending, b.Available, b.Net)
		}
		var sum int64
		owner := "platform"
		if b.Merchant != nil {
			owner = *b.Merchant
		}
		e.sumPostings(owner, b.Currency, &sum)
		if sum != b.Net {
			e.tb.Errorf("%s %s: balance %d, its postings add up to %d", owner, b.Currency, b.Net, sum)
		}
	}
	for _, acct := range append([]string{""}, sortedValues(accounts)...) {
		want := e.StripeBalances(acct)
		got := books[acct]
		for cur := range merge(want, got) {
			if got[cur] != want[cur] {
				e.tb.Errorf("account %q %s: the books say %d, Stripe %d", acct, cur, got[cur], want[cur])
			}
		}
	}
}

func (e *Env) sumPostings(owner, currency string, sum *int64) {
	e.tb.Helper()
	q := `SELECT COALESCE(SUM(p.amount), 0) FROM ledger_postings p JOIN ledger_accounts a ON a.platform_id = p.platform_id AND a.id = p.account_id
		WHERE p.platform_id = $1 AND a.kind = 'balance' AND a.currency = $2 AND `
	args := []any{e.PlatformID, currency}
	if owner == "platform" {
		q += `a.owner = 'platform'`
	} else {
		q += `a.owner = 'merchant' AND a.owner_id = $3`
		args = append(args, owner)
	}
	if err := e.App.DB.QueryRowContext(context.Background(), q, args...).Scan(sum); err != nil {
		e.tb.Fatal(err)
	}
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func merge(a, b map[string]int64) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// count runs a COUNT query on Tender's database.
func (e *Env) count(query string, args ...any) int {
	e.tb.Helper()
	var n int
	if err := e.App.DB.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		e.tb.Fatal(err)
	}
	return n
}
