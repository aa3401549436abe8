package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
)

// EntryFilter selects a platform's entries. Zero fields match everything.
type EntryFilter struct {
	MerchantID string
	PaymentID  string
	// From and Until bound the entries' At: from inclusive, until
	// exclusive.
	From, Until time.Time
}

// selection is the WHERE clause of a query on ledger_entries e: the
// platform, the filter, and a cursor, with their arguments from $1.
type selection struct {
	platformID, merchantID, paymentID string
	from, until                       time.Time
	// cursor, with order ASC, selects the entries after it; with DESC,
	// those before it.
	cursor *key
	order  string
}

func selectEntries(platformID string, f EntryFilter) *selection {
	return &selection{platformID: platformID, merchantID: f.MerchantID, paymentID: f.PaymentID, from: f.From, until: f.Until}
}

// after selects the entries beyond k in order (ASC: later; DESC:
// earlier).
func (s *selection) after(k key, order string) { s.cursor, s.order = &k, order }

// build returns the clause and its arguments. Each end of the range of
// times is one condition, the tighter of the filter's bound and the
// cursor, because SQLite seeks its index by one lower and one upper bound
// and filters by any other: with both "created_at >= from" and the
// cursor's row value, it seeks from the period's start and steps over
// every entry before the cursor, once a chunk. And there is always a
// lower bound, so SQLite reads the index on (…, created_at, id) in
// order; without any, it would rather read every posting and sort them.
func (s *selection) build() (string, []any) {
	where := []string{"e.platform_id = $1"}
	args := []any{s.platformID}
	add := func(cond string, vs ...any) {
		for _, v := range vs {
			args = append(args, v)
			cond = strings.Replace(cond, "$?", fmt.Sprintf("$%d", len(args)), 1)
		}
		where = append(where, cond)
	}
	if s.merchantID != "" {
		add("e.merchant_id = $?", s.merchantID)
	}
	if s.paymentID != "" {
		add("e.payment_id = $?", s.paymentID)
	}
	// A row value, which both databases compare column by column and
	// seek the (platform_id, …, created_at, id) indexes by.
	switch c := s.cursor; {
	case c != nil && s.order == "ASC" && (s.from.IsZero() || !c.created.Before(store.TimeOf(s.from).Time)):
		add("(e.created_at, e.id) > ($?, $?)", c.created, c.id)
	case !s.from.IsZero():
		add("e.created_at >= $?", store.TimeOf(s.from))
	default:
		add("e.created_at >= $?", int64(math.MinInt64))
	}
	switch c := s.cursor; {
	case c != nil && s.order == "DESC" && (s.until.IsZero() || c.created.Before(store.TimeOf(s.until).Time)):
		add("(e.created_at, e.id) < ($?, $?)", c.created, c.id)
	case !s.until.IsZero():
		add("e.created_at < $?", store.TimeOf(s.until))
	}
	return strings.Join(where, " AND "), args
}

// key is an entry's place in the order of lists: its time, then its id.
type key struct {
	created store.Time
	id      string
}

// keyOf returns the place of the platform's entry entryID, for a cursor
// named param. Returns errs.Invalid naming param if there is no such
// entry.
func (s *Store) keyOf(ctx context.Context, platformID, entryID, param string) (key, error) {
	k := key{id: entryID}
	err := s.db.QueryRowContext(ctx, `SELECT created_at FROM ledger_entries WHERE platform_id = $1 AND id = $2`,
		platformID, entryID).Scan(&k.created)
	if errors.Is(err, sql.ErrNoRows) {
		return k, errs.Invalidf(param, "No such ledger entry: %q.", entryID)
	}
	return k, err
}

// pageOrder applies page's cursor to sel and returns the order to read in:
// newest first, or oldest first towards ending_before (Trim reverses).
func (s *Store) pageOrder(ctx context.Context, platformID string, sel *selection, page store.Page) (string, error) {
	cursor, param, order := page.StartingAfter, "starting_after", "DESC"
	if cursor == "" && page.EndingBefore != "" {
		cursor, param, order = page.EndingBefore, "ending_before", "ASC"
	}
	if cursor != "" {
		k, err := s.keyOf(ctx, platformID, cursor, param)
		if err != nil {
			return "", err
		}
		sel.after(k, order)
	}
	return order, nil
}

// Entries returns one page of the platform's entries f selects, newest
// first (by At, then id), each with its postings, and whether more lie
// beyond it. Returns errs.Invalid naming the cursor if it is not one of
// the platform's entries.
func (s *Store) Entries(ctx context.Context, platformID string, f EntryFilter, page store.Page) ([]*Entry, bool, error) {
	sel := selectEntries(platformID, f)
	order, err := s.pageOrder(ctx, platformID, sel, page)
	if err != nil {
		return nil, false, err
	}
	where, args := sel.build()
	query := `SELECT ` + entryCols + ` FROM ledger_entries e WHERE ` + where +
		fmt.Sprintf(" ORDER BY e.created_at %s, e.id %s LIMIT %d", order, order, page.Limit+1)
	rows, err := store.All(ctx, s.db, scanEntry, query, args...)
	if err != nil {
		return nil, false, err
	}
	out, more := store.Trim(page, rows)
	if err := loadPostings(ctx, s.db, platformID, out); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// BalanceFilter selects whose balances to report.
type BalanceFilter struct {
	// Owner is OwnerPlatform or OwnerMerchant; empty means both.
	Owner Owner
	// MerchantID, with Owner OwnerMerchant, is one merchant; empty means
	// every merchant.
	MerchantID string
}

// Balance is what one owner holds in one currency, and its lifetime gross,
// fees and net (see the package comment for the definitions).
type Balance struct {
	Owner Owner
	// OwnerID is the merchant's id, empty for the platform.
	OwnerID   string
	Currency  money.Currency
	Pending   money.Amount
	Available money.Amount
	Gross     money.Amount
	Fees      money.Amount
	PaidOut   money.Amount
	Net       money.Amount
}

// Balances returns, as of now, the balances f selects: the platform's
// first, then each merchant's by id, each in its currencies in order of
// their codes. An owner with no postings in a currency has no balance in
// it. Returns errs.Invalid naming owner for an owner without a balance.
func (s *Store) Balances(ctx context.Context, platformID string, f BalanceFilter, now time.Time) ([]Balance, error) {
	args := []any{platformID, store.TimeOf(now)}
	where := "p.platform_id = $1 AND a.kind = 'balance'"
	switch {
	case f.Owner == "":
	case f.Owner == OwnerPlatform:
		where += " AND a.owner = 'platform'"
	case f.Owner == OwnerMerchant && f.MerchantID == "":
		where += " AND a.owner = 'merchant'"
	case f.Owner == OwnerMerchant:
		args = append(args, f.MerchantID)
		where += " AND a.owner = 'merchant' AND a.owner_id = $3"
	default:
		return nil, errs.Invalidf("owner", "Only the platform and merchants have balances, not %q.", f.Owner)
	}
	// CAST: PostgreSQL sums BIGINTs as NUMERIC; back in BIGINT, a total
	// that does not fit is an error on both databases, never a wrapped
	// number.
	query := `SELECT a.owner, a.owner_id, a.currency,
		CAST(SUM(CASE WHEN p.available_on > $2 THEN p.amount ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN p.available_on > $2 THEN 0 ELSE p.amount END) AS BIGINT),
		CAST(SUM(CASE WHEN p.role IN (` + roleList(GrossRoles) + `) THEN p.amount ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN p.role IN (` + roleList(FeeRoles) + `) THEN -p.amount ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN p.role IN (` + roleList(PayoutRoles) + `) THEN -p.amount ELSE 0 END) AS BIGINT),
		CAST(SUM(p.amount) AS BIGINT)
		FROM ledger_postings p JOIN ledger_accounts a ON a.platform_id = p.platform_id AND a.id = p.account_id
		WHERE ` + where + `
		GROUP BY a.owner, a.owner_id, a.currency
		ORDER BY CASE a.owner WHEN 'platform' THEN 0 ELSE 1 END, a.owner_id, a.currency`
	return store.All(ctx, s.db, scanBalance, query, args...)
}

func scanBalance(row store.Scanner) (Balance, error) {
	var b Balance
	var owner, cur string
	var pending, available, gross, fees, paidOut, net int64
	if err := row.Scan(&owner, &b.OwnerID, &cur, &pending, &available, &gross, &fees, &paidOut, &net); err != nil {
		return b, err
	}
	c, err := money.ParseCurrency(cur)
	if err != nil {
		return b, err
	}
	b.Owner, b.Currency = Owner(owner), c
	b.Pending, b.Available, b.Gross, b.Fees, b.PaidOut, b.Net = money.New(pending, c), money.New(available, c),
		money.New(gross, c), money.New(fees, c), money.New(paidOut, c), money.New(net, c)
	return b, nil
}

// roleList is roles as SQL string literals; roles are this package's
// constants, never input.
func roleList(roles []Role) string {
	quoted := make([]string, len(roles))
	for i, r := range roles {
		quoted[i] = "'" + string(r) + "'"
	}
	return strings.Join(quoted, ", ")
}
