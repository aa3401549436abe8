package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/apitest"
	"github.com/tenderpay/tender/internal/app"
	"github.com/tenderpay/tender/internal/connect"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/payment"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

var (
	usd = money.MustParseCurrency("usd")
	// ledgerT0 is when the books' charges happen; their funds are
	// available a week later. The clock stands between a refund two days
	// on and that week's end.
	ledgerT0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ledgerWk = ledgerT0.Add(7 * 24 * time.Hour)
	refundAt = ledgerT0.Add(48 * time.Hour)
)

// ledgerEnv is the API on a clock, with a direct charge of 10.00 to one
// merchant refunded by half and a destination charge of 10.00 to another
// posted by hand, as the payment package will post them.
type ledgerEnv struct {
	*apitest.Env
	t                   *testing.T
	clock               *apitest.Clock
	direct, destination string // merchants
	payDirect, payDest  string
}

func newLedgerEnv(t *testing.T, db *store.DB) *ledgerEnv {
	t.Helper()
	clock := apitest.NewClock(refundAt.Add(time.Hour))
	le := &ledgerEnv{Env: apitest.New(t, db, app.Config{Now: clock.Now}), t: t, clock: clock,
		direct: id.New(connect.MerchantPrefix), destination: id.New(connect.MerchantPrefix),
		payDirect: id.New(payment.PaymentPrefix), payDest: id.New(payment.PaymentPrefix)}
	md, mt := ledger.MerchantBalance(le.direct), ledger.MerchantBalance(le.destination)
	c, plat, stripe := ledger.CustomerPayments(), ledger.PlatformBalance(), ledger.StripeFees()
	refund := id.New(payment.RefundPrefix)
	le.post(le.PlatformID,
		ledgerEntry(ledger.EntryCharge, "payment:"+le.payDirect+":charge", le.direct, le.payDirect, "", ledgerT0,
			pst(c, -1000, ledger.RoleGross, time.Time{}), pst(md, 1000, ledger.RoleGross, ledgerWk)),
		ledgerEntry(ledger.EntryApplicationFee, "payment:"+le.payDirect+":application_fee", le.direct, le.payDirect, "", ledgerT0,
			pst(md, -100, ledger.RoleApplicationFee, ledgerWk), pst(plat, 100, ledger.RoleApplicationFee, ledgerWk)),
		ledgerEntry(ledger.EntryStripeFee, "payment:"+le.payDirect+":stripe_fee", le.direct, le.payDirect, "", ledgerT0,
			pst(md, -59, ledger.RoleStripeFee, ledgerWk), pst(stripe, 59, ledger.RoleStripeFee, time.Time{})),
		ledgerEntry(ledger.EntryRefund, "refund:"+refund+":refund", le.direct, le.payDirect, refund, refundAt,
			pst(c, 500, ledger.RoleRefund, time.Time{}), pst(md, -500, ledger.RoleRefund, refundAt)),
		ledgerEntry(ledger.EntryApplicationFeeRefund, "refund:"+refund+":application_fee_refund", le.direct, le.payDirect, refund, refundAt,
			pst(plat, -50, ledger.RoleApplicationFeeRefund, refundAt), pst(md, 50, ledger.RoleApplicationFeeRefund, refundAt)),

		ledgerEntry(ledger.EntryCharge, "payment:"+le.payDest+":charge", le.destination, le.payDest, "", ledgerT0.Add(time.Hour),
			pst(c, -1000, ledger.RoleGross, time.Time{}), pst(plat, 1000, ledger.RoleGross, ledgerWk)),
		ledgerEntry(ledger.EntryTransfer, "payment:"+le.payDest+":transfer", le.destination, le.payDest, "", ledgerT0.Add(time.Hour),
			pst(plat, -1000, ledger.RoleTransfer, ledgerWk), pst(mt, 1000, ledger.RoleTransfer, ledgerWk)),
		ledgerEntry(ledger.EntryApplicationFee, "payment:"+le.payDest+":application_fee", le.destination, le.payDest, "", ledgerT0.Add(time.Hour),
			pst(mt, -100, ledger.RoleApplicationFee, ledgerWk), pst(plat, 100, ledger.RoleApplicationFee, ledgerWk)),
		ledgerEntry(ledger.EntryStripeFee, "payment:"+le.payDest+":stripe_fee", le.destination, le.payDest, "", ledgerT0.Add(time.Hour),
			pst(plat, -59, ledger.RoleStripeFee, ledgerWk), pst(stripe, 59, ledger.RoleStripeFee, time.Time{})),
	)
	return le
}

func pst(acct ledger.AccountRef, v int64, role ledger.Role, avail time.Time) ledger.Posting {
	return ledger.Posting{Account: acct, Amount: money.New(v, usd), Role: role, AvailableOn: avail}
}

func ledgerEntry(kind ledger.EntryKind, cause, merchant, pay, refund string, at time.Time, ps ...ledger.Posting) ledger.Entry {
	return ledger.Entry{Cause: cause, Kind: kind, At: at, MerchantID: merchant, PaymentID: pay, RefundID: refund, Postings: ps}
}

// post posts entries on platformID in one transaction.
func (le *ledgerEnv) post(platformID string, entries ...ledger.Entry) {
	le.t.Helper()
	ctx := context.Background()
	err := le.App.DB.InTx(ctx, func(tx *sql.Tx) error {
		for _, e := range entries {
			e.PlatformID = platformID
			if posted, err := le.App.Ledger.Post(ctx, tx, e); err != nil || !posted {
				return fmt.Errorf("post %s: %v, %w", e.Cause, posted, err)
			}
		}
		return nil
	})
	if err != nil {
		le.t.Fatal(err)
	}
}

// get fails the test unless GET path answers 200, and decodes it into out.
func (le *ledgerEnv) get(path string, out any, opts ...apitest.Option) *apitest.Response {
	le.t.Helper()
	r := le.Do("GET", path, nil, opts...)
	if r.Status != 200 {
		le.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	if out != nil {
		r.Decode(le.t, out)
	}
	return r
}

// otherKey is a key of another platform.
func (le *ledgerEnv) otherKey() string {
	le.t.Helper()
	ctx := context.Background()
	other, err := le.App.Platforms.Create(ctx, "Other")
	if err != nil {
		le.t.Fatal(err)
	}
	_, key, err := le.App.Platforms.CreateKey(ctx, other.ID, platform.ModeTest, "")
	if err != nil {
		le.t.Fatal(err)
	}
	return key
}

type balancesBody struct {
	Object string               `json:"object"`
	AsOf   time.Time            `json:"as_of"`
	Data   []ledger.BalanceView `json:"data"`
}

func TestLedgerBalancesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		le := newLedgerEnv(t, db)
		var b balancesBody
		le.get("/v1/balances", &b)
		// The platform: +100 −50 of the direct charge's fee; +1000 −1000
		// +100 −59 of the destination charge.
		want := []ledger.BalanceView{
			{Object: "balance", Owner: "platform", Currency: "usd", Pending: 141, Available: -50, Gross: 0, Fees: -91, Net: 91},
			{Object: "balance", Owner: "merchant", Merchant: &le.direct, Currency: "usd", Pending: 841, Available: -450, Gross: 500, Fees: 109, Net: 391},
			{Object: "balance", Owner: "merchant", Merchant: &le.destination, Currency: "usd", Pending: 900, Available: 0, Gross: 1000, Fees: 100, Net: 900},
		}
		if le.direct > le.destination {
			want[1], want[2] = want[2], want[1] // merchants by id
		}
		if !b.AsOf.Equal(le.clock.Now()) || !equalBalances(b.Data, want) {
			t.Fatalf("balances as of %v: %+v\nwant %+v", b.AsOf, b.Data, want)
		}
		le.clock.Advance(7 * 24 * time.Hour)
		le.get("/v1/balances?merchant="+le.destination, &b)
		if want := []ledger.BalanceView{{Object: "balance", Owner: "merchant", Merchant: &le.destination, Currency: "usd",
			Available: 900, Gross: 1000, Fees: 100, Net: 900}}; !equalBalances(b.Data, want) {
			t.Fatalf("a week on, one merchant: %+v", b.Data)
		}
		le.get("/v1/balances?merchant="+id.New(connect.MerchantPrefix), &b)
		if len(b.Data) != 0 {
			t.Fatalf("a merchant without entries: %+v", b.Data)
		}
		le.get("/v1/balances", &b, apitest.WithKey(le.otherKey()))
		if len(b.Data) != 0 {
			t.Fatalf("another platform sees %+v", b.Data)
		}
		for _, q := range []string{"merchant=" + le.payDirect, "merchant=mer_%00", "merchant=x"} {
			if r := le.Do("GET", "/v1/balances?"+q, nil); r.Status != 400 || r.Err().Param != "merchant" {
				t.Errorf("GET /v1/balances?%s = %d %s", q, r.Status, r.Body)
			}
		}
	})
}

func equalBalances(got, want []ledger.BalanceView) bool {
	return slices.EqualFunc(got, want, func(a, b ledger.BalanceView) bool {
		return (a.Merchant == nil) == (b.Merchant == nil) && (a.Merchant == nil || *a.Merchant == *b.Merchant) &&
			a.Object == b.Object && a.Owner == b.Owner && a.Currency == b.Currency && a.Pending == b.Pending &&
			a.Available == b.Available && a.Gross == b.Gross && a.Fees == b.Fees && a.Net == b.Net
	})
}

type entriesBody struct {
	HasMore bool               `json:"has_more"`
	Data    []ledger.EntryView `json:"data"`
}

func causes(es []ledger.EntryView) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Cause)
	}
	return out
}

func TestLedgerEntriesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		le := newLedgerEnv(t, db)
		var all entriesBody
		le.get("/v1/ledger/entries?limit=100", &all)
		if len(all.Data) != 9 || all.HasMore {
			t.Fatalf("%d entries, more %v", len(all.Data), all.HasMore)
		}
		// Newest first: the refund, then the destination charge's, then
		// the direct charge's.
		if c := all.Data[0].Cause; !strings.HasSuffix(c, ":application_fee_refund") {
			t.Fatalf("newest is %s", c)
		}
		e := all.Data[8]
		if e.Object != "ledger_entry" || e.Kind != ledger.EntryCharge || *e.Merchant != le.direct || *e.Payment != le.payDirect ||
			e.Refund != nil || e.Reverses != nil || !e.Created.Equal(ledgerT0) || len(e.Postings) != 2 {
			t.Fatalf("oldest entry %+v", e)
		}
		if p := e.Postings[1]; p.Account.Owner != "merchant" || *p.Account.OwnerID != le.direct || p.Account.Kind != "balance" ||
			p.Amount != 1000 || p.Currency != "usd" || p.Role != "gross" || !p.AvailableOn.Equal(ledgerWk) {
			t.Fatalf("posting %+v", p)
		}
		if p := e.Postings[0]; p.Account.OwnerID != nil || p.AvailableOn != nil {
			t.Fatalf("customers' posting %+v", p)
		}

		var page entriesBody
		le.get("/v1/ledger/entries?limit=4", &page)
		if !page.HasMore || !slices.Equal(causes(page.Data), causes(all.Data[:4])) {
			t.Fatalf("first page %v", causes(page.Data))
		}
		le.get("/v1/ledger/entries?limit=4&starting_after="+page.Data[3].ID, &page)
		if !page.HasMore || !slices.Equal(causes(page.Data), causes(all.Data[4:8])) {
			t.Fatalf("second page %v", causes(page.Data))
		}
		le.get("/v1/ledger/entries?limit=4&ending_before="+all.Data[4].ID, &page)
		if page.HasMore || !slices.Equal(causes(page.Data), causes(all.Data[:4])) {
			t.Fatalf("page before %v, more %v", causes(page.Data), page.HasMore)
		}
		le.get("/v1/ledger/entries?merchant="+le.destination, &page)
		if len(page.Data) != 4 {
			t.Fatalf("destination merchant: %v", causes(page.Data))
		}
		le.get("/v1/ledger/entries?payment="+le.payDirect, &page)
		if len(page.Data) != 5 {
			t.Fatalf("direct payment: %v", causes(page.Data))
		}
		from := url.QueryEscape(ledgerT0.Add(time.Hour).Format(time.RFC3339))
		until := url.QueryEscape(refundAt.Format(time.RFC3339))
		le.get("/v1/ledger/entries?created_at[gte]="+from+"&created_at[lt]="+until, &page)
		if len(page.Data) != 4 || *page.Data[0].Payment != le.payDest {
			t.Fatalf("from the destination charge until the refund: %v", causes(page.Data))
		}

		other := le.otherKey()
		le.get("/v1/ledger/entries", &page, apitest.WithKey(other))
		if len(page.Data) != 0 {
			t.Fatalf("another platform lists %v", causes(page.Data))
		}
		for q, param := range map[string]string{
			"merchant=" + le.payDirect:                     "merchant",
			"payment=" + le.direct:                         "payment",
			"payment=pay_%00":                              "payment",
			"created_at[gte]=yesterday":                    "created_at[gte]",
			"limit=101":                                    "limit",
			"starting_after=" + le.payDirect:               "starting_after",
			"starting_after=" + id.New(ledger.EntryPrefix): "starting_after",
			"ending_before=" + all.Data[0].ID + "&limit=x": "limit",
			"starting_after=a&ending_before=b":             "starting_after",
		} {
			if r := le.Do("GET", "/v1/ledger/entries?"+q, nil); r.Status != 400 || r.Err().Param != param {
				t.Errorf("GET /v1/ledger/entries?%s = %d %s; want 400 naming %s", q, r.Status, r.Body, param)
			}
		}
		// Another platform cannot page by this one's entries.
		if r := le.Do("GET", "/v1/ledger/entries?starting_after="+all.Data[0].ID, nil, apitest.WithKey(other)); r.Status != 400 || r.Err().Param != "starting_after" {
			t.Errorf("another platform paged by our entry: %d %s", r.Status, r.Body)
		}
	})
}

type reportBody struct {
	HasMore bool                    `json:"has_more"`
	From    time.Time               `json:"from"`
	Until   time.Time               `json:"until"`
	Data    []ledger.ReportLineView `json:"data"`
}

func TestTransactionsReportAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		le := newLedgerEnv(t, db)
		// A cause that needs quoting in CSV, in an entry of its own.
		odd := `manual:"adjustment", one`
		le.post(le.PlatformID, ledgerEntry(ledger.EntryCharge, odd, "", "", "", refundAt.Add(30*time.Minute),
			pst(ledger.CustomerPayments(), -7, ledger.RoleGross, time.Time{}), pst(ledger.PlatformBalance(), 7, ledger.RoleGross, refundAt)))

		// No period: the month to date.
		var rep reportBody
		le.get("/v1/reports/transactions", &rep)
		if !rep.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !rep.Until.Equal(le.clock.Now()) || len(rep.Data) != 10 || rep.HasMore {
			t.Fatalf("default period %v – %v: %d lines, more %v", rep.From, rep.Until, len(rep.Data), rep.HasMore)
		}
		if l := rep.Data[0]; l.Object != "transaction" || l.Cause != odd || l.Gross != 7 || l.NetPlatform != 7 || l.Merchant != nil {
			t.Fatalf("newest line %+v", l)
		}
		// The direct charge's fee, and the report's sums: the ledger's
		// definitions through the API.
		var gross, stripeFee, appFee, netMerchant, netPlatform int64
		for _, l := range rep.Data {
			gross, stripeFee, appFee, netMerchant, netPlatform = gross+l.Gross, stripeFee+l.StripeFee, appFee+l.ApplicationFee,
				netMerchant+l.NetMerchant, netPlatform+l.NetPlatform
		}
		if gross != 1507 || stripeFee != 118 || appFee != 150 || netMerchant != 1291 || netPlatform != 98 {
			t.Fatalf("sums gross %d, stripe_fee %d, application_fee %d, net_merchant %d, net_platform %d",
				gross, stripeFee, appFee, netMerchant, netPlatform)
		}
		// JSON pages of entries.
		le.get("/v1/reports/transactions?limit=3", &rep)
		first := rep.Data
		if len(first) != 3 || !rep.HasMore {
			t.Fatalf("first page: %d lines, more %v", len(first), rep.HasMore)
		}
		le.get("/v1/reports/transactions?limit=3&starting_after="+first[2].Entry, &rep)
		if len(rep.Data) != 3 || !rep.HasMore || rep.Data[0].Entry == first[2].Entry {
			t.Fatalf("second page %+v", rep.Data)
		}
		le.get("/v1/reports/transactions?limit=3&ending_before="+rep.Data[0].Entry, &rep)
		if !slices.EqualFunc(rep.Data, first, func(a, b ledger.ReportLineView) bool { return a.Entry == b.Entry }) {
			t.Fatalf("back to the first page: %+v", rep.Data)
		}
		// A merchant's report, for a period.
		period := "created_at[gte]=" + url.QueryEscape(ledgerT0.Format(time.RFC3339)) + "&created_at[lt]=" + url.QueryEscape(refundAt.Format(time.RFC3339))
		le.get("/v1/reports/transactions?merchant="+le.direct+"&"+period, &rep)
		if len(rep.Data) != 3 || rep.Data[0].Kind != ledger.EntryStripeFee || rep.Data[0].StripeFee != 59 || rep.Data[0].NetMerchant != -59 {
			t.Fatalf("the direct merchant's charge: %+v", rep.Data)
		}

		// CSV, asked for by Accept or by the path: the same bytes.
		byAccept := le.get("/v1/reports/transactions?"+period, nil, apitest.WithHeader("Accept", "text/csv"))
		byPath := le.get("/v1/reports/transactions.csv?"+period, nil)
		if ct := byAccept.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || byPath.Header.Get("Content-Type") != ct {
			t.Fatalf("Content-Type %q, %q", ct, byPath.Header.Get("Content-Type"))
		}
		if !bytes.Equal(byAccept.Body, byPath.Body) {
			t.Fatalf("by Accept:\n%s\nby path:\n%s", byAccept.Body, byPath.Body)
		}
		records, err := csv.NewReader(bytes.NewReader(byPath.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(records[0], ledger.ReportHeader) || len(records) != 1+7 {
			t.Fatalf("CSV for the period: %d records, header %v", len(records), records[0])
		}
		// Oldest first, every column.
		if want := []string{ledgerT0.Format(time.RFC3339Nano), "", "charge", "payment:" + le.payDirect + ":charge", le.direct, le.payDirect, "", "",
			"usd", "1000", "0", "0", "1000", "0"}; !slices.Equal(records[1][2:], want[2:]) || records[1][0] != want[0] || !id.Valid(records[1][1], ledger.EntryPrefix) {
			t.Fatalf("first line %q, want %q", records[1], want)
		}
		// Quoting, RFC 4180: the odd cause is quoted, its quotes doubled.
		le.clock.Advance(time.Hour)
		all := le.get("/v1/reports/transactions.csv", nil)
		if !bytes.Contains(all.Body, []byte(`,"manual:""adjustment"", one",`)) {
			t.Fatalf("the odd cause is not quoted as RFC 4180 says:\n%s", all.Body)
		}
		records, err = csv.NewReader(bytes.NewReader(all.Body)).ReadAll()
		if err != nil || len(records) != 11 || records[10][3] != odd {
			t.Fatalf("month to date: %d records, %v", len(records), err)
		}
		// JSON unless text/csv is preferred.
		for accept, wantCSV := range map[string]bool{
			"":                                     false,
			"application/json":                     false,
			"*/*":                                  false,
			"text/csv;q=0.5, application/json":     false,
			"application/json, text/csv":           false,
			"text/csv, application/json":           true,
			"text/csv;q=1, application/json;q=0.9": true,
			"text/html, TEXT/CSV":                  true,
			"text/csv;q=0":                         false,
		} {
			r := le.get("/v1/reports/transactions", nil, apitest.WithHeader("Accept", accept))
			if got := strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv"); got != wantCSV {
				t.Errorf("Accept %q: Content-Type %s", accept, r.Header.Get("Content-Type"))
			}
		}

		// Another platform's report is empty, in both forms.
		other := le.otherKey()
		le.get("/v1/reports/transactions", &rep, apitest.WithKey(other))
		if len(rep.Data) != 0 {
			t.Fatalf("another platform's report: %+v", rep.Data)
		}
		if r := le.get("/v1/reports/transactions.csv", nil, apitest.WithKey(other)); string(r.Body) != strings.Join(ledger.ReportHeader, ",")+"\n" {
			t.Fatalf("another platform's CSV: %q", r.Body)
		}

		// Bad input names its field, as JSON, whatever was asked for.
		csvAccept := apitest.WithHeader("Accept", "text/csv")
		for _, tt := range []struct {
			path, param string
		}{
			{"/v1/reports/transactions?merchant=" + le.payDirect, "merchant"},
			{"/v1/reports/transactions.csv?merchant=%00", "merchant"},
			{"/v1/reports/transactions?created_at[gte]=2026-13-01", "created_at[gte]"},
			{"/v1/reports/transactions.csv?created_at[lt]=soon", "created_at[lt]"},
			{"/v1/reports/transactions?created_at[gte]=2026-11-03T00:00:00Z&created_at[lt]=2026-11-02T00:00:00Z", "created_at[gte]"},
			{"/v1/reports/transactions?created_at[gte]=2027-01-01T00:00:00Z", "created_at[gte]"}, // the end defaults to now, before it
			{"/v1/reports/transactions?limit=0", "limit"},
			{"/v1/reports/transactions?starting_after=" + id.New(ledger.EntryPrefix), "starting_after"},
			{"/v1/reports/transactions.csv?limit=5", "limit"},
			{"/v1/reports/transactions.csv?starting_after=" + first[0].Entry, "starting_after"},
		} {
			for _, opts := range [][]apitest.Option{nil, {csvAccept}} {
				r := le.Do("GET", tt.path, nil, opts...)
				if r.Status != 400 || r.Err().Param != tt.param || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					t.Errorf("GET %s (%d options) = %d %s; want 400 naming %s", tt.path, len(opts), r.Status, r.Body, tt.param)
				}
			}
		}
	})
}

// TestTransactionsReportCSVStreams: a CSV longer than a flush and than a
// chunk of the ledger's reads is whole, in order, one line per entry.
func TestTransactionsReportCSVStreams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		le := newLedgerEnv(t, db)
		const n = ledger.ReportChunk/2 + 150 // two postings each
		var entries []ledger.Entry
		for i := range n {
			entries = append(entries, ledgerEntry(ledger.EntryCharge, "bulk:"+strconv.Itoa(i), "", "", "", ledgerT0.Add(time.Duration(i)*time.Second),
				pst(ledger.CustomerPayments(), -int64(i+1), ledger.RoleGross, time.Time{}), pst(ledger.PlatformBalance(), int64(i+1), ledger.RoleGross, ledgerWk)))
		}
		le.post(le.PlatformID, entries...)
		r := le.get("/v1/reports/transactions.csv", nil)
		records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// The 9 entries of the two charges are interleaved by time.
		var bulk []string
		for _, rec := range records[1:] {
			if strings.HasPrefix(rec[3], "bulk:") {
				bulk = append(bulk, rec[3])
			}
		}
		if len(records) != 1+n+9 || len(bulk) != n {
			t.Fatalf("%d records, %d of them bulk; want %d", len(records), len(bulk), 1+n+9)
		}
		for i, c := range bulk {
			if c != "bulk:"+strconv.Itoa(i) {
				t.Fatalf("line %d is %s", i, c)
			}
		}
	})
}
