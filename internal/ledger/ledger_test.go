package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/ledger"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/platform"
	"github.com/tenderpay/tender/internal/store"
	"github.com/tenderpay/tender/internal/storetest"
)

var (
	usd = money.MustParseCurrency("usd")
	eur = money.MustParseCurrency("eur")
	// t0 is when the examples' charges happen; their funds become
	// available a week later.
	t0    = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	week  = t0.Add(7 * 24 * time.Hour)
	clock = func() time.Time { return t0.Add(24 * time.Hour) }
)

// books is a ledger on a test database with two platforms.
type books struct {
	t    *testing.T
	db   *store.DB
	l    *ledger.Store
	a, b string // platform ids
}

func newBooks(t *testing.T, db *store.DB) *books {
	t.Helper()
	plats := platform.NewService(db, time.Now)
	a, err := plats.Create(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	b, err := plats.Create(context.Background(), "B")
	if err != nil {
		t.Fatal(err)
	}
	return &books{t: t, db: db, l: ledger.NewStore(db, clock), a: a.ID, b: b.ID}
}

// post posts e in a transaction of its own and returns what Post did.
func (bk *books) post(e ledger.Entry) (bool, error) {
	var posted bool
	err := bk.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		posted, err = bk.l.Post(context.Background(), tx, e)
		return err
	})
	return posted, err
}

// mustPost posts entries that must be new.
func (bk *books) mustPost(entries ...ledger.Entry) {
	bk.t.Helper()
	for _, e := range entries {
		if posted, err := bk.post(e); err != nil || !posted {
			bk.t.Fatalf("Post(%s) = %v, %v", e.Cause, posted, err)
		}
	}
}

func (bk *books) reverse(platformID, cause, reversalCause string) (bool, error) {
	var posted bool
	err := bk.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		posted, err = bk.l.Reverse(context.Background(), tx, platformID, cause, reversalCause)
		return err
	})
	return posted, err
}

// rows counts the ledger's rows, to show a refused post wrote none.
func (bk *books) rows() [3]int {
	bk.t.Helper()
	var n [3]int
	for i, table := range []string{"ledger_accounts", "ledger_entries", "ledger_postings"} {
		if err := bk.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n[i]); err != nil {
			bk.t.Fatal(err)
		}
	}
	return n
}

func (bk *books) entries(platformID string, f ledger.EntryFilter, page store.Page) []*ledger.Entry {
	bk.t.Helper()
	if page.Limit == 0 {
		page.Limit = 100
	}
	es, _, err := bk.l.Entries(context.Background(), platformID, f, page)
	if err != nil {
		bk.t.Fatal(err)
	}
	return es
}

func (bk *books) balances(platformID string, f ledger.BalanceFilter, now time.Time) []ledger.Balance {
	bk.t.Helper()
	bs, err := bk.l.Balances(context.Background(), platformID, f, now)
	if err != nil {
		bk.t.Fatal(err)
	}
	return bs
}

func (bk *books) report(platformID string, q ledger.ReportQuery) []ledger.ReportLine {
	bk.t.Helper()
	var out []ledger.ReportLine
	for l, err := range bk.l.Report(context.Background(), platformID, q) {
		if err != nil {
			bk.t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func p(acct ledger.AccountRef, v int64, role ledger.Role, avail time.Time) ledger.Posting {
	return ledger.Posting{Account: acct, Amount: money.New(v, usd), Role: role, AvailableOn: avail}
}

// charge is a direct charge of 1000 to merchant m.
func charge(platformID, m, cause string) ledger.Entry {
	return ledger.Entry{PlatformID: platformID, Cause: cause, Kind: ledger.EntryCharge, At: t0, MerchantID: m, PaymentID: "pay_1",
		Postings: []ledger.Posting{
			p(ledger.CustomerPayments(), -1000, ledger.RoleGross, time.Time{}),
			p(ledger.MerchantBalance(m), 1000, ledger.RoleGross, week),
		}}
}

func TestPost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		bk.mustPost(charge(bk.a, m, "payment:pay_1:charge"))
		es := bk.entries(bk.a, ledger.EntryFilter{}, store.Page{})
		if len(es) != 1 {
			t.Fatalf("%d entries", len(es))
		}
		e := es[0]
		if !id.Valid(e.ID, ledger.EntryPrefix) || e.Cause != "payment:pay_1:charge" || e.Kind != ledger.EntryCharge || !e.At.Equal(t0) ||
			e.MerchantID != m || e.PaymentID != "pay_1" || e.RefundID != "" || !e.Posted.Equal(clock()) || len(e.Postings) != 2 {
			t.Fatalf("entry %+v", e)
		}
		if got := e.Postings[1]; got.Account != ledger.MerchantBalance(m) || got.Amount != money.New(1000, usd) ||
			got.Role != ledger.RoleGross || !got.AvailableOn.Equal(week) {
			t.Fatalf("posting %+v", got)
		}
		if !e.Postings[0].AvailableOn.IsZero() {
			t.Fatalf("customers' posting available on %v", e.Postings[0].AvailableOn)
		}
		// Two entries in one currency on the same accounts use the same
		// accounts: one per owner, kind and currency.
		bk.mustPost(charge(bk.a, m, "payment:pay_2:charge"))
		if n := bk.rows(); n != [3]int{2, 2, 4} {
			t.Fatalf("rows (accounts, entries, postings) = %v", n)
		}
		// An entry balanced in each of two currencies is one entry.
		bk.mustPost(ledger.Entry{PlatformID: bk.a, Cause: "fx", Kind: ledger.EntryCharge, At: t0, Postings: []ledger.Posting{
			p(ledger.CustomerPayments(), -10, ledger.RoleGross, time.Time{}),
			p(ledger.PlatformBalance(), 10, ledger.RoleGross, t0),
			{Account: ledger.CustomerPayments(), Amount: money.New(-7, eur), Role: ledger.RoleGross},
			{Account: ledger.PlatformBalance(), Amount: money.New(7, eur), Role: ledger.RoleGross, AvailableOn: t0},
		}})
	})
}

// TestPostRefused: an entry that cannot be right is refused naming what is
// wrong, and nothing is written.
func TestPostRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		with := func(change func(e *ledger.Entry)) ledger.Entry {
			e := charge(bk.a, m, "payment:pay_1:charge")
			change(&e)
			return e
		}
		tests := []struct {
			name   string
			entry  ledger.Entry
			param  string
			reason string
		}{
			{"unbalanced", with(func(e *ledger.Entry) { e.Postings[1].Amount.Value = 999 }), "postings", "entry_unbalanced"},
			{"one-sided", with(func(e *ledger.Entry) { e.Postings = e.Postings[1:] }), "postings", "entry_unbalanced"},
			// −1000 euros and +1000 dollars are not zero, whatever the numbers say.
			{"mixed currencies", with(func(e *ledger.Entry) { e.Postings[0].Amount.Currency = eur }), "postings", "entry_unbalanced"},
			{"zero posting", with(func(e *ledger.Entry) {
				e.Postings = append(e.Postings, p(ledger.StripeFees(), 0, ledger.RoleStripeFee, time.Time{}))
			}), "postings[2][amount]", ""},
			{"no postings", with(func(e *ledger.Entry) { e.Postings = nil }), "postings", ""},
			{"no cause", with(func(e *ledger.Entry) { e.Cause = "" }), "cause", ""},
			{"cause with a line break", with(func(e *ledger.Entry) { e.Cause = "a\nb" }), "cause", ""},
			{"cause too long", with(func(e *ledger.Entry) { e.Cause = strings.Repeat("c", 256) }), "cause", ""},
			{"no platform", with(func(e *ledger.Entry) { e.PlatformID = "" }), "platform_id", ""},
			{"unknown kind", with(func(e *ledger.Entry) { e.Kind = "gift" }), "kind", ""},
			{"a reversal by Post", with(func(e *ledger.Entry) { e.Kind = ledger.EntryReversal }), "kind", ""},
			{"no time", with(func(e *ledger.Entry) { e.At = time.Time{} }), "at", ""},
			{"no currency", with(func(e *ledger.Entry) { e.Postings[0].Amount.Currency = money.Currency{} }), "postings[0][amount]", ""},
			{"unknown role", with(func(e *ledger.Entry) { e.Postings[0].Role = "tip" }), "postings[0][role]", ""},
			{"balance without available_on", with(func(e *ledger.Entry) { e.Postings[1].AvailableOn = time.Time{} }), "postings[1][available_on]", ""},
			{"account outside the chart", with(func(e *ledger.Entry) { e.Postings[0].Account.Kind = ledger.AccountBalance }), "postings[0][account]", ""},
			{"unknown owner", with(func(e *ledger.Entry) { e.Postings[0].Account.Owner = "tax" }), "postings[0][account]", ""},
			{"merchant without id", with(func(e *ledger.Entry) { e.Postings[1].Account.OwnerID = "" }), "postings[1][account]", ""},
			{"platform with an owner id", with(func(e *ledger.Entry) {
				e.Postings[1].Account = ledger.AccountRef{Owner: ledger.OwnerPlatform, OwnerID: m, Kind: ledger.AccountBalance}
			}), "postings[1][account]", ""},
			{"another merchant's balance", with(func(e *ledger.Entry) { e.MerchantID = id.New("mer") }), "merchant_id", ""},
			{"a merchant's balance, no merchant named", with(func(e *ledger.Entry) { e.MerchantID = "" }), "merchant_id", ""},
		}
		before := bk.rows()
		for _, tt := range tests {
			posted, err := bk.post(tt.entry)
			e, ok := errors.AsType[*errs.Error](err)
			if posted || !ok || e.Code != errs.Invalid || e.Param != tt.param || tt.reason != "" && e.Reason != tt.reason {
				t.Errorf("%s: Post = %v, %v; want invalid %s %s", tt.name, posted, err, tt.param, tt.reason)
			}
		}
		if after := bk.rows(); after != before {
			t.Fatalf("refused posts wrote rows: %v, then %v", before, after)
		}
	})
}

// TestDuplicateCause: a cause posted again is a no-op if it is the same
// entry, and a conflict if it is not.
func TestDuplicateCause(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		first := charge(bk.a, m, "payment:pay_1:charge")
		bk.mustPost(first)
		before := bk.rows()

		again := charge(bk.a, m, "payment:pay_1:charge")
		again.At = t0.Add(time.Hour)                                                // a rerun's clock: not compared
		again.Postings[0], again.Postings[1] = again.Postings[1], again.Postings[0] // postings are a set
		if posted, err := bk.post(again); posted || err != nil {
			t.Fatalf("same cause, same entry: %v, %v; want false, nil", posted, err)
		}
		for name, change := range map[string]func(e *ledger.Entry){
			"amounts":      func(e *ledger.Entry) { e.Postings[0].Amount.Value, e.Postings[1].Amount.Value = -900, 900 },
			"role":         func(e *ledger.Entry) { e.Postings[1].Role = ledger.RoleTransfer },
			"available_on": func(e *ledger.Entry) { e.Postings[1].AvailableOn = week.Add(time.Second) },
			"currency": func(e *ledger.Entry) {
				e.Postings[0].Amount.Currency, e.Postings[1].Amount.Currency = eur, eur
			},
			"account": func(e *ledger.Entry) {
				e.MerchantID = id.New("mer")
				e.Postings[1].Account = ledger.MerchantBalance(e.MerchantID)
			},
			"kind":    func(e *ledger.Entry) { e.Kind = ledger.EntryTransfer },
			"payment": func(e *ledger.Entry) { e.PaymentID = "pay_2" },
			"extra posting": func(e *ledger.Entry) {
				e.Postings = append(e.Postings, p(ledger.CustomerPayments(), -1, ledger.RoleGross, time.Time{}), p(ledger.PlatformBalance(), 1, ledger.RoleGross, t0))
			},
		} {
			e := charge(bk.a, m, "payment:pay_1:charge")
			change(&e)
			posted, err := bk.post(e)
			if ee, ok := errors.AsType[*errs.Error](err); posted || !ok || ee.Code != errs.Conflict || ee.Reason != "ledger_cause_conflict" {
				t.Errorf("same cause, other %s: %v, %v; want a conflict", name, posted, err)
			}
		}
		if after := bk.rows(); after != before {
			t.Fatalf("posting a cause again wrote rows: %v, then %v", before, after)
		}
		if es := bk.entries(bk.a, ledger.EntryFilter{}, store.Page{}); len(es) != 1 || !es[0].At.Equal(t0) {
			t.Fatalf("entries after the repeats: %+v", es)
		}
		// Causes are the platform's: another platform posts the same one.
		bk.mustPost(charge(bk.b, m, "payment:pay_1:charge"))
	})
}

// TestConcurrentPosts: posts of one cause racing write it once, and first
// uses of an account racing make it once.
func TestConcurrentPosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		const n = 8
		var wg sync.WaitGroup
		posted := make([]bool, n)
		failed := make([]error, n)
		for i := range n {
			wg.Go(func() {
				cause := "payment:pay_1:charge"
				if i%2 == 1 {
					cause = "payment:pay_" + strconv.Itoa(100+i) + ":charge"
				}
				posted[i], failed[i] = bk.post(charge(bk.a, m, cause))
			})
		}
		wg.Wait()
		written := 0
		for i := range n {
			if failed[i] != nil {
				t.Fatalf("post %d: %v", i, failed[i])
			}
			if posted[i] && i%2 == 0 {
				written++
			}
		}
		if written != 1 {
			t.Fatalf("the one cause was written %d times", written)
		}
		if got := bk.rows(); got != [3]int{2, 1 + n/2, 2 * (1 + n/2)} {
			t.Fatalf("rows (accounts, entries, postings) = %v", got)
		}
	})
}

func TestReverse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		orig := charge(bk.a, m, "payment:pay_1:charge")
		orig.RefundID, orig.TransferID = "ref_1", "trf_1"
		bk.mustPost(orig)
		if posted, err := bk.reverse(bk.a, orig.Cause, "correction:1"); !posted || err != nil {
			t.Fatalf("Reverse = %v, %v", posted, err)
		}
		es := bk.entries(bk.a, ledger.EntryFilter{}, store.Page{})
		if len(es) != 2 {
			t.Fatalf("%d entries", len(es))
		}
		rev, first := es[0], es[1] // the reversal happened later (now)
		if rev.Kind != ledger.EntryReversal || rev.Cause != "correction:1" || rev.Reverses != first.ID || !rev.At.Equal(clock()) ||
			rev.MerchantID != m || rev.PaymentID != "pay_1" || rev.RefundID != "ref_1" || rev.TransferID != "trf_1" {
			t.Fatalf("reversal %+v of %+v", rev, first)
		}
		for i, p := range rev.Postings {
			o := first.Postings[i]
			if p.Account != o.Account || p.Amount.Value != -o.Amount.Value || p.Role != o.Role || !p.AvailableOn.Equal(o.AvailableOn) {
				t.Errorf("posting %d: %+v reverses %+v", i, p, o)
			}
		}
		// Together they leave nothing, pending or available.
		for _, now := range []time.Time{t0, week} {
			for _, b := range bk.balances(bk.a, ledger.BalanceFilter{}, now) {
				if !b.Net.IsZero() || !b.Pending.IsZero() || !b.Available.IsZero() || !b.Gross.IsZero() {
					t.Errorf("at %v after the reversal: %+v", now, b)
				}
			}
		}

		before := bk.rows()
		if posted, err := bk.reverse(bk.a, orig.Cause, "correction:1"); posted || err != nil {
			t.Fatalf("Reverse again, same cause = %v, %v; want false, nil", posted, err)
		}
		for name, tt := range map[string]struct {
			platform, cause, reversal string
			code                      errs.Code
			reason                    string
		}{
			"reversed twice":           {bk.a, orig.Cause, "correction:2", errs.Conflict, "ledger_entry_reversed"},
			"a reversal reversed":      {bk.a, "correction:1", "correction:3", errs.Invalid, "parameter_invalid"},
			"no such cause":            {bk.a, "payment:pay_9:charge", "correction:4", errs.NotFound, "resource_missing"},
			"another platform's cause": {bk.b, orig.Cause, "correction:5", errs.NotFound, "resource_missing"},
			"its own cause":            {bk.a, orig.Cause, orig.Cause, errs.Invalid, "parameter_invalid"},
			"a cause taken":            {bk.a, orig.Cause, "payment:pay_2:charge", errs.Conflict, "ledger_cause_conflict"},
		} {
			if name == "a cause taken" {
				bk.mustPost(charge(bk.a, m, "payment:pay_2:charge"))
				before = bk.rows()
			}
			posted, err := bk.reverse(tt.platform, tt.cause, tt.reversal)
			if e, ok := errors.AsType[*errs.Error](err); posted || !ok || e.Code != tt.code || e.Reason != tt.reason {
				t.Errorf("%s: Reverse = %v, %v; want %s %s", name, posted, err, tt.code, tt.reason)
			}
			if after := bk.rows(); after != before {
				t.Errorf("%s: wrote rows: %v, then %v", name, before, after)
			}
		}
	})
}

// TestNoUpdatePath: entries and postings are immutable because nothing in
// the package changes them: no statement of its source updates or deletes
// a row.
func TestNoUpdatePath(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	writes := regexp.MustCompile(`(?i)\b(UPDATE|DELETE|TRUNCATE|REPLACE\s+INTO|DROP|ALTER)\b`)
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if strings.Contains(s, "ledger_") {
				seen++
			}
			if m := writes.FindString(s); m != "" {
				t.Errorf("%s: a statement with %s: %q", name, m, s)
			}
			return true
		})
	}
	if seen < 5 {
		t.Fatalf("found %d statements on ledger tables; is the scan reading the package?", seen)
	}
}

// TestPlatformsApart: a platform sees nothing of another's books.
func TestPlatformsApart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		bk.mustPost(charge(bk.a, m, "payment:pay_1:charge"))
		a := bk.entries(bk.a, ledger.EntryFilter{}, store.Page{})
		if es := bk.entries(bk.b, ledger.EntryFilter{}, store.Page{}); len(es) != 0 {
			t.Errorf("B lists %d entries", len(es))
		}
		if es := bk.entries(bk.b, ledger.EntryFilter{MerchantID: m}, store.Page{}); len(es) != 0 {
			t.Errorf("B lists %d entries of A's merchant", len(es))
		}
		if bs := bk.balances(bk.b, ledger.BalanceFilter{}, week); len(bs) != 0 {
			t.Errorf("B has balances %+v", bs)
		}
		if ls := bk.report(bk.b, ledger.ReportQuery{}); len(ls) != 0 {
			t.Errorf("B's report has %d lines", len(ls))
		}
		_, _, err := bk.l.Entries(context.Background(), bk.b, ledger.EntryFilter{}, store.Page{Limit: 10, StartingAfter: a[0].ID})
		if e, ok := errors.AsType[*errs.Error](err); !ok || e.Param != "starting_after" {
			t.Errorf("B paged by A's entry: %v", err)
		}
		_, _, err = bk.l.ReportPage(context.Background(), bk.b, ledger.ReportQuery{}, store.Page{Limit: 10, EndingBefore: a[0].ID})
		if e, ok := errors.AsType[*errs.Error](err); !ok || e.Param != "ending_before" {
			t.Errorf("B paged the report by A's entry: %v", err)
		}
	})
}

func TestEntriesFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m1, m2 := id.New("mer"), id.New("mer")
		var causes []string
		for i := range 5 {
			m := m1
			if i%2 == 1 {
				m = m2
			}
			e := charge(bk.a, m, fmt.Sprintf("payment:pay_%d:charge", i))
			e.PaymentID = fmt.Sprintf("pay_%d", i)
			// Posted in an order other than their times': lists follow At.
			e.At = t0.Add(time.Duration((i*3)%5) * time.Hour)
			bk.mustPost(e)
			causes = append(causes, e.Cause)
		}
		// Newest first by At: i*3%5 = 0,3,1,4,2 hours, so i = 3,1,4,2,0.
		byTime := []string{causes[3], causes[1], causes[4], causes[2], causes[0]}
		causesOf := func(es []*ledger.Entry) []string {
			var out []string
			for _, e := range es {
				out = append(out, e.Cause)
			}
			return out
		}
		if got := causesOf(bk.entries(bk.a, ledger.EntryFilter{}, store.Page{})); !slices.Equal(got, byTime) {
			t.Fatalf("newest first: %v, want %v", got, byTime)
		}
		if got := causesOf(bk.entries(bk.a, ledger.EntryFilter{MerchantID: m2}, store.Page{})); !slices.Equal(got, []string{causes[3], causes[1]}) {
			t.Errorf("merchant: %v", got)
		}
		if got := causesOf(bk.entries(bk.a, ledger.EntryFilter{PaymentID: "pay_4"}, store.Page{})); !slices.Equal(got, []string{causes[4]}) {
			t.Errorf("payment: %v", got)
		}
		f := ledger.EntryFilter{From: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}
		if got := causesOf(bk.entries(bk.a, f, store.Page{})); !slices.Equal(got, []string{causes[4], causes[2]}) {
			t.Errorf("from 1h until 3h: %v", got)
		}
		// A cursor outside the period: the period's bound is the tighter.
		for _, page := range []store.Page{{Limit: 10, StartingAfter: bk.entries(bk.a, ledger.EntryFilter{PaymentID: "pay_3"}, store.Page{})[0].ID},
			{Limit: 10, EndingBefore: bk.entries(bk.a, ledger.EntryFilter{PaymentID: "pay_0"}, store.Page{})[0].ID}} {
			if got := causesOf(bk.entries(bk.a, f, page)); !slices.Equal(got, []string{causes[4], causes[2]}) {
				t.Errorf("from 1h until 3h, %+v: %v", page, got)
			}
		}
		// Pages of two, forwards and back.
		all := bk.entries(bk.a, ledger.EntryFilter{}, store.Page{})
		page, more, err := bk.l.Entries(context.Background(), bk.a, ledger.EntryFilter{}, store.Page{Limit: 2, StartingAfter: all[1].ID})
		if err != nil || !more || !slices.Equal(causesOf(page), byTime[2:4]) {
			t.Errorf("starting_after: %v, %v, %v", causesOf(page), more, err)
		}
		page, more, err = bk.l.Entries(context.Background(), bk.a, ledger.EntryFilter{}, store.Page{Limit: 2, EndingBefore: all[4].ID})
		if err != nil || !more || !slices.Equal(causesOf(page), byTime[2:4]) {
			t.Errorf("ending_before: %v, %v, %v", causesOf(page), more, err)
		}
		page, more, err = bk.l.Entries(context.Background(), bk.a, ledger.EntryFilter{}, store.Page{Limit: 2, StartingAfter: all[3].ID})
		if err != nil || more || !slices.Equal(causesOf(page), byTime[4:]) {
			t.Errorf("last page: %v, %v, %v", causesOf(page), more, err)
		}
	})
}

// TestPendingAvailable: funds count as pending until their available_on,
// then as available.
func TestPendingAvailable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		m := id.New("mer")
		bk.mustPost(charge(bk.a, m, "payment:pay_1:charge"))
		early := charge(bk.a, m, "payment:pay_2:charge")
		early.Postings[1].Amount.Value, early.Postings[0].Amount.Value = 300, -300
		early.Postings[1].AvailableOn = t0.Add(48 * time.Hour)
		bk.mustPost(early)
		for _, tt := range []struct {
			now                time.Time
			pending, available int64
		}{
			{t0, 1300, 0},
			{t0.Add(48*time.Hour - time.Microsecond), 1300, 0},
			{t0.Add(48 * time.Hour), 1000, 300}, // available on the instant
			{week, 0, 1300},
		} {
			bs := bk.balances(bk.a, ledger.BalanceFilter{Owner: ledger.OwnerMerchant, MerchantID: m}, tt.now)
			if len(bs) != 1 || bs[0].Pending.Value != tt.pending || bs[0].Available.Value != tt.available || bs[0].Net.Value != 1300 {
				t.Errorf("at %v: %+v; want pending %d, available %d", tt.now, bs, tt.pending, tt.available)
			}
		}
		if _, err := bk.l.Balances(context.Background(), bk.a, ledger.BalanceFilter{Owner: ledger.OwnerStripe}, t0); !errs.Is(err, errs.Invalid) {
			t.Errorf("Stripe's balance: %v", err)
		}
	})
}

// TestReportChunks: the report reads its entries in chunks, in order,
// across chunk boundaries, and stops reading when its consumer stops.
func TestReportChunks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		ledger.SetReportChunk(bk.l, 3)
		m := id.New("mer")
		var want []string
		for i := range 10 {
			e := charge(bk.a, m, fmt.Sprintf("payment:pay_%02d:charge", i))
			e.At = t0.Add(time.Duration(i) * time.Minute)
			bk.mustPost(e)
			want = append(want, e.Cause)
		}
		// Two entries at one instant are ordered by id, and in two
		// currencies are two lines.
		twin := ledger.Entry{PlatformID: bk.a, Cause: "twin", Kind: ledger.EntryCharge, At: t0.Add(3 * time.Minute), Postings: []ledger.Posting{
			{Account: ledger.CustomerPayments(), Amount: money.New(-7, eur), Role: ledger.RoleGross},
			{Account: ledger.PlatformBalance(), Amount: money.New(7, eur), Role: ledger.RoleGross, AvailableOn: t0},
			p(ledger.CustomerPayments(), -10, ledger.RoleGross, time.Time{}),
			p(ledger.PlatformBalance(), 10, ledger.RoleGross, t0),
		}}
		bk.mustPost(twin)
		want = slices.Insert(want, 4, "twin", "twin")
		var got []string
		var currencies []string
		for _, l := range bk.report(bk.a, ledger.ReportQuery{}) {
			got = append(got, l.Cause)
			if l.Cause == "twin" {
				currencies = append(currencies, l.Currency.Code())
			}
		}
		if !slices.Equal(got, want) || !slices.Equal(currencies, []string{"EUR", "USD"}) {
			t.Fatalf("report %v (twin in %v); want %v", got, currencies, want)
		}
		if got := bk.report(bk.a, ledger.ReportQuery{MerchantID: m, From: t0.Add(2 * time.Minute), Until: t0.Add(8 * time.Minute)}); len(got) != 6 ||
			got[0].Cause != want[2] || got[5].Cause != want[9] {
			t.Fatalf("merchant's report for 2–8 min: %d lines", len(got))
		}
		read := 0
		for _, err := range bk.l.Report(context.Background(), bk.a, ledger.ReportQuery{}) {
			if err != nil {
				t.Fatal(err)
			}
			if read++; read == 4 {
				break
			}
		}
		// A page counts entries, so the twin's two lines are one.
		lines, more, err := bk.l.ReportPage(context.Background(), bk.a, ledger.ReportQuery{}, store.Page{Limit: 7})
		if err != nil || !more || len(lines) != 8 || lines[0].Cause != want[11] || lines[6].Cause != "twin" || lines[7].Cause != "twin" {
			t.Fatalf("page of 7 entries: %d lines, %v, %v", len(lines), more, err)
		}
	})
}

// TestRolesPartitioned: every role counts towards exactly one of a
// balance's gross, its fees and what it paid out, so net = gross − fees −
// paid_out.
func TestRolesPartitioned(t *testing.T) {
	all := []ledger.Role{ledger.RoleGross, ledger.RoleStripeFee, ledger.RoleApplicationFee, ledger.RoleTransfer,
		ledger.RoleTransferReversal, ledger.RoleRefund, ledger.RoleApplicationFeeRefund, ledger.RoleStripeFeeCover,
		ledger.RoleDispute, ledger.RoleDisputeFee, ledger.RolePayout}
	sets := [][]ledger.Role{ledger.GrossRoles, ledger.FeeRoles, ledger.PayoutRoles}
	n := 0
	for _, r := range all {
		in := 0
		for _, set := range sets {
			if slices.Contains(set, r) {
				in++
			}
		}
		if in != 1 {
			t.Errorf("role %s is in %d sets, want 1", r, in)
		}
	}
	for _, set := range sets {
		n += len(set)
	}
	if n != len(all) {
		t.Errorf("%d roles in the sets, %d roles", n, len(all))
	}
}

// TestAccountsMadeInARolledBackTransaction: the ids of accounts are
// remembered only once the transaction that found or made them commits.
// Two entries in one transaction that rolls back (the second finds the
// account the first made) leave nothing remembered, so the next post,
// with the row gone, makes the account again.
func TestAccountsMadeInARolledBackTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bk := newBooks(t, db)
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			for _, cause := range []string{"payment:pay_1:charge", "payment:pay_2:charge"} {
				if _, err := bk.l.Post(ctx, tx, charge(bk.a, "mer_new", cause)); err != nil {
					return err
				}
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if n := bk.rows(); n != [3]int{} {
			t.Fatalf("a rolled-back transaction left rows %v", n)
		}
		bk.mustPost(charge(bk.a, "mer_new", "payment:pay_3:charge"), charge(bk.a, "mer_new", "payment:pay_4:charge"))
		if n := bk.rows(); n != [3]int{2, 2, 4} {
			t.Fatalf("rows %v, want 2 accounts, 2 entries, 4 postings", n)
		}
		bs := bk.balances(bk.a, ledger.BalanceFilter{Owner: ledger.OwnerMerchant, MerchantID: "mer_new"}, week)
		if len(bs) != 1 || bs[0].Available.Value != 2000 {
			t.Fatalf("balances %+v, want 2000 available", bs)
		}
	})
}
