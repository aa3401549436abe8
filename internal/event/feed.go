package event

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tenderpay/tender/internal/errs"
	"github.com/tenderpay/tender/internal/store"
)

// Query selects events of one platform. Zero fields match everything.
type Query struct {
	// Type is one type ("payment.succeeded") or a family ("payment.*").
	Type string
	// ObjectID is the id of the object the events are about.
	ObjectID string
	// CreatedFrom and CreatedUntil bound the events' creation times: from
	// inclusive, until exclusive.
	CreatedFrom, CreatedUntil time.Time
	// After, when not nil, lists the events whose sequence is greater, in
	// ascending order: how a consumer tails the feed. Page's cursors are
	// not used then, only its limit.
	After *int64
	// Page pages newest first with event ids as cursors, as every list does.
	Page store.Page
}

// List returns the events q selects and whether more lie beyond them in the
// direction of travel. Returns errs.Invalid naming the cursor if a cursor is
// not one of the platform's events (perhaps no longer kept).
func (s *Store) List(ctx context.Context, platformID string, q Query) ([]*Event, bool, error) {
	if err := awaitNumbered(ctx, s.db, platformID); err != nil {
		return nil, false, err
	}
	where := []string{"platform_id = $1", numbered}
	args := []any{platformID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if family, ok := strings.CutSuffix(q.Type, ".*"); ok {
		// substr, not LIKE: '_' in "checkout_link" is a LIKE wildcard.
		add(fmt.Sprintf("substr(type, 1, %d) = $?", len(family)+1), family+".")
	} else if q.Type != "" {
		add("type = $?", q.Type)
	}
	if q.ObjectID != "" {
		add("object_id = $?", q.ObjectID)
	}
	if !q.CreatedFrom.IsZero() {
		add("created_at >= $?", store.TimeOf(q.CreatedFrom))
	}
	if !q.CreatedUntil.IsZero() {
		add("created_at < $?", store.TimeOf(q.CreatedUntil))
	}
	page := q.Page
	order := "DESC"
	switch {
	case q.After != nil:
		page = store.Page{Limit: q.Page.Limit}
		add("seq > $?", *q.After)
		order = "ASC"
	case page.StartingAfter != "" || page.EndingBefore != "":
		cursor, param, cmp := page.StartingAfter, "starting_after", "<"
		if cursor == "" {
			cursor, param, cmp, order = page.EndingBefore, "ending_before", ">", "ASC"
		}
		seq, err := s.sequenceOf(ctx, platformID, cursor)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, errs.Invalidf(param, "No such event: %q; the feed may no longer keep it.", cursor)
		}
		if err != nil {
			return nil, false, err
		}
		add("seq "+cmp+" $?", seq)
	}
	query := `SELECT ` + cols + ` FROM events WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY seq %s LIMIT %d", order, page.Limit+1)
	rows, err := store.All(ctx, s.db, scan, query, args...)
	if err != nil {
		return nil, false, err
	}
	out, more := store.Trim(page, rows)
	return out, more, nil
}

func (s *Store) sequenceOf(ctx context.Context, platformID, eventID string) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT seq FROM events WHERE platform_id = $1 AND id = $2 AND `+numbered, platformID, eventID).Scan(&seq)
	return seq, err
}

// Oldest returns the lowest sequence the platform's feed still holds, or 0
// when it holds none: a consumer whose last seen sequence is below it - 1
// has missed events that were pruned.
func (s *Store) Oldest(ctx context.Context, platformID string) (int64, error) {
	var seq sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(seq) FROM events WHERE platform_id = $1 AND `+numbered, platformID).Scan(&seq)
	return seq.Int64, err
}

// Latest returns the highest sequence the platform has numbered (0 for
// none), whether or not that event is still kept.
func Latest(ctx context.Context, q store.Querier, platformID string) (int64, error) {
	var seq sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT last FROM event_sequences WHERE platform_id = $1 AND object_id = ''`, platformID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq.Int64, err
}

// DefaultRetention is how long events are kept unless configured
// (TENDER_EVENT_RETENTION).
const DefaultRetention = 30 * 24 * time.Hour

// pruneBatch bounds the rows one DELETE removes, so that pruning a large
// backlog never holds a long transaction against the writers of new events.
const pruneBatch = 5000

// Prune deletes events created before before, in batches, and returns how
// many. Their numbers are never reused (the counters stay).
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	return store.DeleteInBatches(ctx, s.db, pruneBatch, `DELETE FROM events WHERE (platform_id, id) IN
		(SELECT platform_id, id FROM events WHERE created_at < $1 LIMIT $2)`, store.TimeOf(before))
}

// PruneArgs is the periodic job that deletes events past their retention.
type PruneArgs struct{}

// Kind implements river.JobArgs.
func (PruneArgs) Kind() string { return "event.prune" }

// PruneWorker runs PruneArgs jobs. Pruning twice is harmless.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	Store     *Store
	Retention time.Duration
	NowFunc   func() time.Time
}

// Work implements river.Worker.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.Store.Prune(ctx, w.NowFunc().Add(-w.Retention))
	return err
}
