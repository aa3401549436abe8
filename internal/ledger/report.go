package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"time"

	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
)

// ReportQuery selects the entries of a transactions report.
type ReportQuery struct {
	// MerchantID makes it the merchant's report (the entries naming it);
	// empty, the platform's (all its entries).
	MerchantID string
	// From and Until bound the entries' At: from inclusive, until
	// exclusive. Zero leaves that end open.
	From, Until time.Time
}

// ReportLine is one entry's effect in one currency (see the package
// comment for the definitions of its amounts).
type ReportLine struct {
	EntryID                                     string
	At                                          time.Time
	Kind                                        EntryKind
	Cause                                       string
	MerchantID, PaymentID, RefundID, TransferID string
	Currency                                    money.Currency
	Gross                                       money.Amount
	StripeFee                                   money.Amount
	ApplicationFee                              money.Amount
	NetMerchant                                 money.Amount
	NetPlatform                                 money.Amount
}

// ReportChunk is how many postings one statement of Report reads on
// SQLite. Each chunk is a short statement of its own, so a report of any
// length holds SQLite's one connection, and a read transaction (which
// stops WAL checkpoints), for one chunk at a time: other requests get the
// connection between chunks.
const ReportChunk = 2000

// Report returns the lines of the platform's entries q selects, oldest
// first (by At, then id; an entry's lines by currency code), read from the
// database as they are consumed: nothing is collected, so memory stays
// flat for any range. The sequence ends after the first error, which it
// yields.
//
// On SQLite the postings are read in chunks of ReportChunk after the last
// entry given, each chunk its own statement, so an entry posted while the
// report is read appears if its place is still ahead. A chunk is the join
// of entries and postings in the order of the entries' index, cut by
// LIMIT, which SQLite (no statistics, nested loops only) always runs as a
// walk of that index from the cursor with each entry's postings looked
// up; the cut may fall inside an entry, which the next chunk reads again,
// whole.
//
// On PostgreSQL the report is one statement, read to its end. Its planner
// chooses by statistics, and no form of chunk is safe from them: with
// current statistics it hash-joined a chunk of entries with a scan of
// every posting of the platform, and with none (a table just filled) it
// sorted everything after the cursor, each once a chunk, so a report's
// time grew with the square of its length. One statement is planned and
// run once: at worst the server sorts the period's postings once, on its
// own disk. It holds a snapshot, which on PostgreSQL blocks no writer.
func (s *Store) Report(ctx context.Context, platformID string, q ReportQuery) iter.Seq2[ReportLine, error] {
	return func(yield func(ReportLine, error) bool) {
		limit := s.chunk
		switch {
		case limit > 0: // a test's
		case s.db.Dialect == store.Postgres:
			limit = 0 // one statement
		default:
			limit = ReportChunk
		}
		var last *key
		for {
			sel := selectEntries(platformID, EntryFilter{MerchantID: q.MerchantID, From: q.From, Until: q.Until})
			if last != nil {
				sel.after(*last, "ASC")
			}
			where, args := sel.build()
			query := `SELECT ` + lineCols + ` FROM ledger_entries e ` + postingsJoin + ` WHERE ` + where + ` ORDER BY e.created_at, e.id`
			if limit > 0 {
				query += fmt.Sprintf(" LIMIT %d", limit)
			}
			r, err := s.lines(ctx, query, args, limit, func(_ int, l ReportLine) bool { return yield(l, nil) })
			switch {
			case err != nil:
				yield(ReportLine{}, err)
				return
			case r.stopped || limit == 0 || r.rows < limit:
				return
			case r.entries == 0:
				// One entry has more postings than a chunk: read it
				// again with room for it.
				limit *= 2
			default:
				last = &r.last
			}
		}
	}
}

// ReportPage returns one page of the report, newest first, for the API:
// page.Limit counts entries (an entry in two currencies is two lines), and
// the cursors are entry ids. It returns whether more entries lie beyond.
// Returns errs.Invalid naming the cursor if it is not one of the
// platform's entries.
func (s *Store) ReportPage(ctx context.Context, platformID string, q ReportQuery, page store.Page) ([]ReportLine, bool, error) {
	sel := selectEntries(platformID, EntryFilter{MerchantID: q.MerchantID, From: q.From, Until: q.Until})
	order, err := s.pageOrder(ctx, platformID, sel, page)
	if err != nil {
		return nil, false, err
	}
	// The page's entries are chosen (and limited) first, then joined to
	// their postings: at most 101 entries, whose postings are looked up.
	where, args := sel.build()
	query := `SELECT ` + lineCols + ` FROM (SELECT ` + entryCols + ` FROM ledger_entries e WHERE ` + where +
		fmt.Sprintf(" ORDER BY e.created_at %s, e.id %s LIMIT %d", order, order, page.Limit+1) + `) e ` + postingsJoin +
		fmt.Sprintf(" ORDER BY e.created_at %s, e.id %s", order, order)
	var out []ReportLine
	r, err := s.lines(ctx, query, args, 0, func(i int, l ReportLine) bool {
		if i < page.Limit {
			out = append(out, l)
		}
		return true
	})
	if err != nil {
		return nil, false, err
	}
	if page.EndingBefore != "" {
		// Read oldest first towards the cursor; shown newest first, with
		// each entry's lines kept in currency order.
		out = reverseEntries(out)
	}
	return out, r.entries > page.Limit, nil
}

const (
	lineCols = `e.id, e.created_at, e.kind, e.cause, e.merchant_id, e.payment_id, e.refund_id, e.transfer_id,
		a.owner, a.kind, a.currency, p.role, p.amount`
	postingsJoin = `JOIN ledger_postings p ON p.platform_id = e.platform_id AND p.entry_id = e.id
		JOIN ledger_accounts a ON a.platform_id = p.platform_id AND a.id = p.account_id`
)

// read is what lines read: how many rows, how many entries it gave to
// yield and the place of the last, and whether yield stopped it.
type read struct {
	rows, entries int
	last          key
	stopped       bool
}

// lines runs query, which selects lineCols with each entry's postings
// together, and gives each entry's lines to yield with the entry's index
// in this read, adding the rows up as they come: one entry's postings at
// a time are held. If limit rows come back the last entry may have been
// cut short, so it is left out (the caller reads on from the last entry
// given).
func (s *Store) lines(ctx context.Context, query string, args []any, limit int, yield func(int, ReportLine) bool) (r read, err error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	var acc *accumulator
	var accKey key
	give := func() bool {
		if !acc.flush(r.entries, yield) {
			r.stopped = true
			return false
		}
		r.entries++
		r.last = accKey
		return true
	}
	for rows.Next() {
		var pr postingRow
		var at store.Time
		var merchant, payment, refund, transfer sql.NullString
		if err := rows.Scan(&pr.entry.EntryID, &at, &pr.entry.Kind, &pr.entry.Cause, &merchant, &payment, &refund, &transfer,
			&pr.owner, &pr.kind, &pr.currency, &pr.role, &pr.amount); err != nil {
			return r, err
		}
		r.rows++
		if acc == nil || acc.head.EntryID != pr.entry.EntryID {
			if acc != nil && !give() {
				return r, nil
			}
			pr.entry.At = at.Time
			pr.entry.MerchantID, pr.entry.PaymentID, pr.entry.RefundID, pr.entry.TransferID = merchant.String, payment.String, refund.String, transfer.String
			acc = &accumulator{head: pr.entry, lines: map[money.Currency]*ReportLine{}}
			accKey = key{created: at, id: pr.entry.EntryID}
		}
		if err := acc.add(pr); err != nil {
			return r, err
		}
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	if acc != nil && (limit == 0 || r.rows < limit) && !give() {
		return r, nil
	}
	return r, rows.Close()
}

// postingRow is one posting as the report reads it, with its entry.
type postingRow struct {
	entry                 ReportLine
	owner, kind, currency string
	role                  string
	amount                int64
}

// accumulator adds up one entry's postings into its lines, one per
// currency.
type accumulator struct {
	head  ReportLine
	lines map[money.Currency]*ReportLine
}

// add counts one posting into its currency's line: the report's
// definitions, in one place.
func (a *accumulator) add(r postingRow) error {
	cur, err := money.ParseCurrency(r.currency)
	if err != nil {
		return fmt.Errorf("ledger entry %s: %w", a.head.EntryID, err)
	}
	l := a.lines[cur]
	if l == nil {
		l = new(ReportLine)
		*l = a.head
		l.Currency = cur
		for _, f := range []*money.Amount{&l.Gross, &l.StripeFee, &l.ApplicationFee, &l.NetMerchant, &l.NetPlatform} {
			*f = money.Zero(cur)
		}
		a.lines[cur] = l
	}
	amount := money.New(r.amount, cur)
	var to *money.Amount
	switch {
	case Owner(r.owner) == OwnerCustomers && AccountKind(r.kind) == AccountPayments:
		// What customers paid is what left their account.
		if amount, err = amount.Neg(); err != nil {
			return err
		}
		to = &l.Gross
	case Owner(r.owner) == OwnerStripe && AccountKind(r.kind) == AccountProcessingFees:
		to = &l.StripeFee
	case Owner(r.owner) == OwnerMerchant && AccountKind(r.kind) == AccountBalance:
		to = &l.NetMerchant
	case Owner(r.owner) == OwnerPlatform && AccountKind(r.kind) == AccountBalance:
		if Role(r.role) == RoleApplicationFee || Role(r.role) == RoleApplicationFeeRefund {
			if l.ApplicationFee, err = l.ApplicationFee.Add(amount); err != nil {
				return err
			}
		}
		to = &l.NetPlatform
	default:
		return nil // a bank's payouts: in no column
	}
	*to, err = to.Add(amount)
	return err
}

// flush gives the entry's lines to yield in currency order; false if
// yield stopped.
func (a *accumulator) flush(i int, yield func(int, ReportLine) bool) bool {
	for _, cur := range sortedCurrencies(a.lines) {
		if !yield(i, *a.lines[cur]) {
			return false
		}
	}
	return true
}

// reverseEntries reverses the order of entries in lines, keeping each
// entry's lines in their order.
func reverseEntries(lines []ReportLine) []ReportLine {
	out := make([]ReportLine, 0, len(lines))
	for end := len(lines); end > 0; {
		start := end - 1
		for start > 0 && lines[start-1].EntryID == lines[end-1].EntryID {
			start--
		}
		out = append(out, lines[start:end]...)
		end = start
	}
	return out
}
