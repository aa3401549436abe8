package ledger

import (
	"strconv"
	"time"

	"github.com/tenderpay/tender/internal/nullable"
)

// EntryView is an entry as the API shows it.
type EntryView struct {
	ID       string        `json:"id"`
	Object   string        `json:"object"`
	Cause    string        `json:"cause"`
	Kind     EntryKind     `json:"kind"`
	Merchant *string       `json:"merchant"`
	Payment  *string       `json:"payment"`
	Refund   *string       `json:"refund"`
	Transfer *string       `json:"transfer"`
	Reverses *string       `json:"reverses"`
	Created  time.Time     `json:"created_at"`
	Posted   time.Time     `json:"posted_at"`
	Postings []PostingView `json:"postings"`
}

// PostingView is a posting as the API shows it.
type PostingView struct {
	Account     AccountView `json:"account"`
	Amount      int64       `json:"amount"`
	Currency    string      `json:"currency"`
	Role        Role        `json:"role"`
	AvailableOn *time.Time  `json:"available_on"`
}

// AccountView names an account as the API shows it.
type AccountView struct {
	Owner   Owner       `json:"owner"`
	OwnerID *string     `json:"owner_id"`
	Kind    AccountKind `json:"kind"`
}

// View returns the entry as the API shows it.
func (e *Entry) View() EntryView {
	v := EntryView{
		ID: e.ID, Object: "ledger_entry", Cause: e.Cause, Kind: e.Kind,
		Merchant: nullable.String(e.MerchantID), Payment: nullable.String(e.PaymentID),
		Refund: nullable.String(e.RefundID), Transfer: nullable.String(e.TransferID), Reverses: nullable.String(e.Reverses),
		Created: e.At, Posted: e.Posted, Postings: make([]PostingView, len(e.Postings)),
	}
	for i, p := range e.Postings {
		v.Postings[i] = PostingView{
			Account: AccountView{Owner: p.Account.Owner, OwnerID: nullable.String(p.Account.OwnerID), Kind: p.Account.Kind},
			Amount:  p.Amount.Value, Currency: p.Amount.Currency.Lower(), Role: p.Role, AvailableOn: nullable.Time(p.AvailableOn),
		}
	}
	return v
}

// BalanceView is a balance as the API shows it.
type BalanceView struct {
	Object    string  `json:"object"`
	Owner     Owner   `json:"owner"`
	Merchant  *string `json:"merchant"`
	Currency  string  `json:"currency"`
	Pending   int64   `json:"pending"`
	Available int64   `json:"available"`
	Gross     int64   `json:"gross"`
	Fees      int64   `json:"fees"`
	PaidOut   int64   `json:"paid_out"`
	Net       int64   `json:"net"`
}

// View returns the balance as the API shows it.
func (b Balance) View() BalanceView {
	return BalanceView{Object: "balance", Owner: b.Owner, Merchant: nullable.String(b.OwnerID), Currency: b.Currency.Lower(),
		Pending: b.Pending.Value, Available: b.Available.Value, Gross: b.Gross.Value, Fees: b.Fees.Value,
		PaidOut: b.PaidOut.Value, Net: b.Net.Value}
}

// ReportLineView is a line of the transactions report as the API shows
// it in JSON.
type ReportLineView struct {
	Object         string    `json:"object"`
	Entry          string    `json:"entry"`
	Created        time.Time `json:"created_at"`
	Kind           EntryKind `json:"kind"`
	Cause          string    `json:"cause"`
	Merchant       *string   `json:"merchant"`
	Payment        *string   `json:"payment"`
	Refund         *string   `json:"refund"`
	Transfer       *string   `json:"transfer"`
	Currency       string    `json:"currency"`
	Gross          int64     `json:"gross"`
	StripeFee      int64     `json:"stripe_fee"`
	ApplicationFee int64     `json:"application_fee"`
	NetMerchant    int64     `json:"net_merchant"`
	NetPlatform    int64     `json:"net_platform"`
}

// View returns the line as the API shows it.
func (l ReportLine) View() ReportLineView {
	return ReportLineView{
		Object: "transaction", Entry: l.EntryID, Created: l.At, Kind: l.Kind, Cause: l.Cause,
		Merchant: nullable.String(l.MerchantID), Payment: nullable.String(l.PaymentID),
		Refund: nullable.String(l.RefundID), Transfer: nullable.String(l.TransferID), Currency: l.Currency.Lower(),
		Gross: l.Gross.Value, StripeFee: l.StripeFee.Value, ApplicationFee: l.ApplicationFee.Value,
		NetMerchant: l.NetMerchant.Value, NetPlatform: l.NetPlatform.Value,
	}
}

// ReportHeader is the header line of the report as CSV; Record is a line
// in the same columns.
var ReportHeader = []string{"created_at", "entry", "kind", "cause", "merchant", "payment", "refund", "transfer", "currency",
	"gross", "stripe_fee", "application_fee", "net_merchant", "net_platform"}

// Record returns the line as CSV fields in ReportHeader's columns, reusing
// rec's storage (pass the previous line's to write many without
// allocating a slice each). Times are RFC 3339 in UTC, amounts integers in
// the currency's minor unit, as in JSON, and empty references empty.
func (l ReportLine) Record(rec []string) []string {
	return append(rec[:0], l.At.UTC().Format(time.RFC3339Nano), l.EntryID, string(l.Kind), l.Cause, l.MerchantID, l.PaymentID,
		l.RefundID, l.TransferID, l.Currency.Lower(), strconv.FormatInt(l.Gross.Value, 10), strconv.FormatInt(l.StripeFee.Value, 10),
		strconv.FormatInt(l.ApplicationFee.Value, 10), strconv.FormatInt(l.NetMerchant.Value, 10), strconv.FormatInt(l.NetPlatform.Value, 10))
}
