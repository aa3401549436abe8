package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/id"
	"github.com/tenderpay/tender/internal/money"
	"github.com/tenderpay/tender/internal/store"
)

// Store posts entries and reads the books.
type Store struct {
	db  *store.DB
	now func() time.Time
	// chunk is how many postings one statement of Report reads;
	// ReportChunk unless a test sets it.
	chunk int
	// known is the ids of accounts known to exist, by platform and
	// accountKey: an account is never deleted or changed, so once its row
	// has committed its id can be used without reading it again.
	known sync.Map
}

// NewStore returns a Store on db; now is the clock (time.Now if nil),
// which stamps when entries are written and when a reversal happened.
func NewStore(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// Post writes e in tx, the caller's transaction, so the entry commits with
// the change it records or not at all. It returns whether it wrote it:
// an entry with the same cause already posted is left as it is and Post
// returns false, or, if its kind, references or postings (compared as a
// set) differ from e's, a conflict (errs.Conflict, reason
// ledger_cause_conflict), since a cause must mean one thing. At is the
// first post's.
//
// Returns errs.Invalid naming the field for an entry that cannot be
// posted: no cause, an unknown kind (or a reversal, which only Reverse
// posts), no time, no postings, a posting of zero, in no currency, to an
// account outside the chart or to a merchant the entry does not name, a
// balance posting without available_on, or postings that do not add up
// to zero in each currency (reason entry_unbalanced).
func (s *Store) Post(ctx context.Context, tx *sql.Tx, e Entry) (posted bool, err error) {
	if e.Kind == EntryReversal {
		return false, errs.Invalidf("kind", "A reversal is posted by Reverse, which names the entry it reverses.")
	}
	e.Reverses = ""
	if err := validate(&e); err != nil {
		return false, err
	}
	return s.post(ctx, tx, e)
}

// Reverse posts, in tx, the negation of the platform's entry with cause
// as a new entry of kind reversal with cause reversalCause: the same
// accounts, roles and available_on, each amount negated, the same
// references, and Reverses naming the original. It happens now (the
// Store's clock). Reversing again under the same reversalCause is a no-op
// (false).
//
// Returns errs.NotFound naming cause if there is no such entry,
// errs.Invalid if it is itself a reversal (post the entry again under a
// new cause instead) or reversalCause is not a cause, and errs.Conflict
// if the entry was already reversed under another cause (an entry is
// reversed at most once) or reversalCause names another entry.
func (s *Store) Reverse(ctx context.Context, tx *sql.Tx, platformID, cause, reversalCause string) (posted bool, err error) {
	orig, err := entryByCause(ctx, tx, platformID, cause)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errs.NotFoundf("cause", "No ledger entry with cause %q.", cause)
	}
	if err != nil {
		return false, err
	}
	if orig.Kind == EntryReversal {
		return false, errs.Invalidf("cause", "Entry %s (cause %q) is a reversal; post the entry again under a new cause instead.", orig.ID, cause)
	}
	if reversalCause == cause {
		return false, errs.Invalidf("cause", "A reversal needs a cause of its own.")
	}
	rev := Entry{
		PlatformID: platformID, Cause: reversalCause, Kind: EntryReversal, At: s.now(),
		MerchantID: orig.MerchantID, PaymentID: orig.PaymentID, RefundID: orig.RefundID, TransferID: orig.TransferID,
		Reverses: orig.ID,
	}
	for _, p := range orig.Postings {
		neg, err := p.Amount.Neg()
		if err != nil {
			return false, err
		}
		p.Amount = neg
		rev.Postings = append(rev.Postings, p)
	}
	if err := validate(&rev); err != nil {
		return false, err
	}
	posted, err = s.post(ctx, tx, rev)
	if errs.Is(err, errs.NotFound) {
		// Nothing has reversalCause: the conflict was on the original,
		// reversed before under another cause.
		var by string
		if qerr := tx.QueryRowContext(ctx, `SELECT cause FROM ledger_entries WHERE platform_id = $1 AND reverses = $2`,
			platformID, orig.ID).Scan(&by); qerr != nil {
			return false, qerr
		}
		return false, errs.E(errs.Conflict, "Ledger entry %s (cause %q) was already reversed, by cause %q.", orig.ID, cause, by).
			WithReason("ledger_entry_reversed")
	}
	return posted, err
}

// post writes a validated entry, or compares it with the one its cause
// already has. It returns errs.NotFound when the entry was not written
// and nothing has its cause (another unique index refused it: an entry
// reversed before), for Reverse to explain.
func (s *Store) post(ctx context.Context, tx *sql.Tx, e Entry) (bool, error) {
	e.ID = id.New(EntryPrefix)
	now := store.TimeOf(s.now())
	// DO NOTHING rather than catching a unique violation, which on
	// PostgreSQL would abort the caller's transaction. A racing post of
	// the same cause waits here for the other's commit, then finds it.
	var inserted string
	err := tx.QueryRowContext(ctx, `INSERT INTO ledger_entries (platform_id, id, cause, kind, merchant_id, payment_id, refund_id, transfer_id,
		reverses, created_at, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING id`,
		e.PlatformID, e.ID, e.Cause, string(e.Kind), null(e.MerchantID), null(e.PaymentID), null(e.RefundID), null(e.TransferID),
		null(e.Reverses), store.TimeOf(e.At), now).Scan(&inserted)
	if errors.Is(err, sql.ErrNoRows) {
		return false, same(ctx, tx, e)
	}
	if err != nil {
		return false, fmt.Errorf("ledger entry %q: %w", e.Cause, err)
	}
	ids, err := s.accounts(ctx, tx, e.PlatformID, e.Postings, now)
	if err != nil {
		return false, fmt.Errorf("ledger entry %q: %w", e.Cause, err)
	}
	var values strings.Builder
	args := []any{e.PlatformID, e.ID}
	for i, p := range e.Postings {
		if i > 0 {
			values.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&values, "($1, $2, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, i+1, ids[accountKey(p)], p.Amount.Value, string(p.Role), store.TimeOf(p.AvailableOn))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_postings (platform_id, entry_id, line, account_id, amount, role, available_on)
		VALUES `+values.String(), args...); err != nil {
		return false, fmt.Errorf("ledger entry %q: postings: %w", e.Cause, err)
	}
	return true, nil
}

// accountKey names a posting's account (owner, owner id, kind, currency).
func accountKey(p Posting) string {
	return string(p.Account.Owner) + "|" + p.Account.OwnerID + "|" + string(p.Account.Kind) + "|" + p.Amount.Currency.Lower()
}

// accounts returns the ids of the accounts of postings, by accountKey,
// making those used for the first time: those known to exist from the
// cache, and for the rest one statement to find them all, and, only when
// some are new, one to insert those and one to find them. What was found
// is cached once tx commits (found in tx, an account may be one tx made).
func (s *Store) accounts(ctx context.Context, tx *sql.Tx, platformID string, postings []Posting, now store.Time) (map[string]string, error) {
	ids := make(map[string]string, len(postings))
	var refs []Posting
	for _, p := range postings {
		k := accountKey(p)
		if _, ok := ids[k]; ok {
			continue
		}
		if id, ok := s.known.Load(platformID + "|" + k); ok {
			ids[k] = id.(string)
			continue
		}
		ids[k] = ""
		refs = append(refs, p)
	}
	if len(refs) == 0 {
		return ids, nil
	}
	found, err := s.findOrMakeAccounts(ctx, tx, platformID, refs, now)
	if err != nil {
		return nil, err
	}
	maps.Copy(ids, found)
	store.OnCommit(tx, func() {
		for k, id := range found {
			s.known.Store(platformID+"|"+k, id)
		}
	})
	return ids, nil
}

// findOrMakeAccounts returns the ids of refs' accounts, making those that
// do not exist yet.
func (s *Store) findOrMakeAccounts(ctx context.Context, tx *sql.Tx, platformID string, refs []Posting, now store.Time) (map[string]string, error) {
	ids, err := findAccounts(ctx, tx, platformID, refs)
	if err != nil || len(ids) == len(refs) {
		return ids, err
	}
	// Two first uses racing: one inserts, the other's insert waits for its
	// commit and does nothing, and its second look finds the row.
	var values strings.Builder
	args := []any{platformID, now}
	for _, p := range refs {
		if _, ok := ids[accountKey(p)]; ok {
			continue
		}
		if len(args) > 2 {
			values.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&values, "($1, $%d, $%d, $%d, $%d, $%d, $2)", n+1, n+2, n+3, n+4, n+5)
		args = append(args, id.New(AccountPrefix), string(p.Account.Owner), p.Account.OwnerID, string(p.Account.Kind), p.Amount.Currency.Lower())
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_accounts (platform_id, id, owner, owner_id, kind, currency, created_at)
		VALUES `+values.String()+` ON CONFLICT DO NOTHING`, args...); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	if ids, err = findAccounts(ctx, tx, platformID, refs); err == nil && len(ids) != len(refs) {
		err = fmt.Errorf("accounts: %d of %d found after making them", len(ids), len(refs))
	}
	return ids, err
}

// findAccounts returns the ids of the accounts of postings that exist.
func findAccounts(ctx context.Context, tx *sql.Tx, platformID string, refs []Posting) (map[string]string, error) {
	var cond strings.Builder
	args := []any{platformID}
	for i, p := range refs {
		if i > 0 {
			cond.WriteString(" OR ")
		}
		n := len(args)
		fmt.Fprintf(&cond, "(owner = $%d AND owner_id = $%d AND kind = $%d AND currency = $%d)", n+1, n+2, n+3, n+4)
		args = append(args, string(p.Account.Owner), p.Account.OwnerID, string(p.Account.Kind), p.Amount.Currency.Lower())
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, owner, owner_id, kind, currency FROM ledger_accounts WHERE platform_id = $1 AND (`+cond.String()+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	ids := make(map[string]string, len(refs))
	for rows.Next() {
		var id, owner, ownerID, kind, cur string
		if err := rows.Scan(&id, &owner, &ownerID, &kind, &cur); err != nil {
			return nil, err
		}
		ids[owner+"|"+ownerID+"|"+kind+"|"+cur] = id
	}
	return ids, rows.Err()
}

// same returns nil if the entry already posted under e's cause is e (its
// kind, references and postings; not its time), a conflict if it is not,
// and errs.NotFound if there is none.
func same(ctx context.Context, tx *sql.Tx, e Entry) error {
	old, err := entryByCause(ctx, tx, e.PlatformID, e.Cause)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFoundf("cause", "No ledger entry with cause %q.", e.Cause)
	}
	if err != nil {
		return err
	}
	if diff := difference(old, &e); diff != "" {
		return (&errs.Error{Code: errs.Conflict, Reason: "ledger_cause_conflict", Param: "cause",
			Message: fmt.Sprintf("Ledger cause %q was posted before as entry %s with other %s; a cause must mean one thing.", e.Cause, old.ID, diff)})
	}
	return nil
}

// difference names what differs between two entries of one cause, or
// returns "".
func difference(a, b *Entry) string {
	switch {
	case a.Kind != b.Kind:
		return "kind"
	case a.MerchantID != b.MerchantID || a.PaymentID != b.PaymentID || a.RefundID != b.RefundID || a.TransferID != b.TransferID:
		return "references"
	case a.Reverses != b.Reverses:
		return "entry reversed"
	case !slices.Equal(postingKeys(a.Postings), postingKeys(b.Postings)):
		return "postings"
	}
	return ""
}

// postingKeys are postings as comparable values in one order, as stored
// (times to the microsecond).
func postingKeys(ps []Posting) []string {
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = fmt.Sprintf("%s|%s|%s|%s|%d|%s|%d", p.Account.Owner, p.Account.OwnerID, p.Account.Kind,
			p.Amount.Currency.Code(), p.Amount.Value, p.Role, store.TimeOf(p.AvailableOn).UnixMicro())
	}
	slices.Sort(keys)
	return keys
}

// entryByCause reads the platform's entry with cause and its postings.
// Returns sql.ErrNoRows if there is none.
func entryByCause(ctx context.Context, q store.Querier, platformID, cause string) (*Entry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, `SELECT `+entryCols+` FROM ledger_entries e WHERE platform_id = $1 AND cause = $2`,
		platformID, cause))
	if err != nil {
		return nil, err
	}
	if err := loadPostings(ctx, q, platformID, []*Entry{e}); err != nil {
		return nil, err
	}
	return e, nil
}

const entryCols = `e.platform_id, e.id, e.cause, e.kind, e.merchant_id, e.payment_id, e.refund_id, e.transfer_id, e.reverses, e.created_at, e.posted_at`

func scanEntry(row store.Scanner) (*Entry, error) {
	var e Entry
	var kind string
	var merchant, payment, refund, transfer, reverses sql.NullString
	var at, posted store.Time
	if err := row.Scan(&e.PlatformID, &e.ID, &e.Cause, &kind, &merchant, &payment, &refund, &transfer, &reverses, &at, &posted); err != nil {
		return nil, err
	}
	e.Kind, e.At, e.Posted = EntryKind(kind), at.Time, posted.Time
	e.MerchantID, e.PaymentID, e.RefundID, e.TransferID, e.Reverses = merchant.String, payment.String, refund.String, transfer.String, reverses.String
	return &e, nil
}

// loadPostings reads the postings of entries, all of one platform, in
// their order.
func loadPostings(ctx context.Context, q store.Querier, platformID string, entries []*Entry) error {
	if len(entries) == 0 {
		return nil
	}
	byID := make(map[string]*Entry, len(entries))
	args := []any{platformID}
	marks := make([]string, len(entries))
	for i, e := range entries {
		byID[e.ID] = e
		e.Postings = nil
		args = append(args, e.ID)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	rows, err := q.QueryContext(ctx, `SELECT p.entry_id, a.owner, a.owner_id, a.kind, a.currency, p.amount, p.role, p.available_on
		FROM ledger_postings p JOIN ledger_accounts a ON a.platform_id = p.platform_id AND a.id = p.account_id
		WHERE p.platform_id = $1 AND p.entry_id IN (`+strings.Join(marks, ", ")+`) ORDER BY p.entry_id, p.line`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var entryID, owner, ownerID, kind, cur, role string
		var p Posting
		var avail store.Time
		if err := rows.Scan(&entryID, &owner, &ownerID, &kind, &cur, &p.Amount.Value, &role, &avail); err != nil {
			return err
		}
		if p.Amount.Currency, err = money.ParseCurrency(cur); err != nil {
			return fmt.Errorf("ledger entry %s: %w", entryID, err)
		}
		p.Account, p.Role, p.AvailableOn = AccountRef{Owner: Owner(owner), OwnerID: ownerID, Kind: AccountKind(kind)}, Role(role), avail.Time
		if e := byID[entryID]; e != nil {
			e.Postings = append(e.Postings, p)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

func null(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func sortedCurrencies[V any](m map[money.Currency]V) []money.Currency {
	return slices.SortedFunc(maps.Keys(m), func(a, b money.Currency) int { return cmp.Compare(a.Code(), b.Code()) })
}
